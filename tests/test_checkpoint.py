import pytest

torch = pytest.importorskip("torch")

from mlcourse.checkpoint import Checkpoint  # noqa: E402


def _train(model, opt, steps, g):
    for _ in range(steps):
        x = torch.randn(8, 3, generator=g)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_resume_continues_exactly(tmp_path):
    torch.manual_seed(0)
    ref = torch.nn.Linear(3, 1)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=0.1)
    model = torch.nn.Linear(3, 1)
    model.load_state_dict(ref.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    _train(ref, ref_opt, 10, torch.Generator().manual_seed(1))

    g = torch.Generator().manual_seed(1)
    ckpt = Checkpoint(tmp_path / "run.pt")
    assert ckpt.load(model, opt) == {} and not ckpt.exists()
    _train(model, opt, 4, g)
    ckpt.save(model, opt, step=4, history={"loss": [1.0, 0.5]})
    assert not list(tmp_path.glob("*.part"))

    fresh = torch.nn.Linear(3, 1)  # a new session: rebuild, load, continue
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.1)
    extra = Checkpoint(tmp_path / "run.pt").load(fresh, fresh_opt)
    assert extra == {"step": 4, "history": {"loss": [1.0, 0.5]}}
    _train(fresh, fresh_opt, 6, g)
    for a, b in zip(fresh.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_wrong_model_is_explained(tmp_path):
    ckpt = Checkpoint(tmp_path / "m.pt")
    ckpt.save(torch.nn.Linear(3, 1))
    with pytest.raises(RuntimeError, match="does not fit this model.*START_OVER = True.*delete the file"):
        ckpt.load(torch.nn.Linear(4, 1))
    ckpt.delete()
    assert not ckpt.exists()


def test_extras_that_would_not_load_back_are_refused_at_save_time(tmp_path):
    import datetime
    from pathlib import Path

    import numpy as np

    ckpt = Checkpoint(tmp_path / "x.pt")
    model = torch.nn.Linear(2, 1)
    ckpt.save(model, step=np.int64(3), best=np.float32(0.5), hist={"loss": [np.float64(1.5)]})
    extra = ckpt.load(torch.nn.Linear(2, 1))
    assert extra == {"step": 3, "best": 0.5, "hist": {"loss": [1.5]}} and type(extra["step"]) is int
    for bad, advice in ((np.zeros(3), "tolist"), (Path("a"), "str\\(path\\)"),
                        (datetime.datetime(2026, 1, 1), "isoformat")):
        with pytest.raises(TypeError, match=f"cannot checkpoint extra 'bad'.*{advice}"):
            Checkpoint(tmp_path / "y.pt").save(model, bad=bad)
        assert not (tmp_path / "y.pt").exists() and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "flipped byte"])
def test_a_damaged_checkpoint_is_named_and_nothing_is_loaded(tmp_path, damage):
    path = tmp_path / "run.pt"
    Checkpoint(path).save(torch.nn.Linear(50, 50), step=7)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"not a checkpoint at all" * 10)
    elif damage == "empty":
        data = bytearray()
    else:  # one bit flipped in the middle of the file, which is mostly the weights' bytes
        data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    model = torch.nn.Linear(50, 50)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(RuntimeError, match=r"run.pt is damaged .*START_OVER = True"):
        Checkpoint(path).load(model)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before))


def test_an_optimizer_mismatch_leaves_the_model_as_it_was(tmp_path):
    model = torch.nn.Linear(3, 1)
    ckpt = Checkpoint(tmp_path / "o.pt")
    ckpt.save(model, torch.optim.Adam(model.parameters()))
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 1))
    other = torch.nn.Linear(3, 1)
    fresh[0].load_state_dict(other.state_dict())
    target = torch.nn.Linear(3, 1)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    opt = torch.optim.Adam(list(target.parameters()) + [torch.nn.Parameter(torch.zeros(2))])
    with pytest.raises(RuntimeError, match="optimizer that does not fit"):
        ckpt.load(target, opt)
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())


def test_changed_hyperparameters_are_reported(tmp_path, capsys):
    model = torch.nn.Linear(3, 1)
    ckpt = Checkpoint(tmp_path / "h.pt")
    ckpt.save(model, torch.optim.AdamW(model.parameters(), lr=1e-3))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    ckpt.load(model, opt)
    out = capsys.readouterr().out
    assert "lr=0.001 (now 0.003)" in out and "START_OVER" in out
    assert opt.param_groups[0]["lr"] == 1e-3


def test_checkpoints_written_before_checksums_still_load(tmp_path):
    model = torch.nn.Linear(3, 1)
    torch.save({"model": model.state_dict(), "extra": {"step": 2}}, tmp_path / "old.pt")
    fresh = torch.nn.Linear(3, 1)
    assert Checkpoint(tmp_path / "old.pt").load(fresh) == {"step": 2}
    assert torch.equal(fresh.weight, model.weight)
