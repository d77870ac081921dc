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


def test_checkpoints_written_before_checksums_still_load(tmp_path):
    model = torch.nn.Linear(3, 1)
    torch.save({"model": model.state_dict(), "extra": {"step": 2}}, tmp_path / "old.pt")
    fresh = torch.nn.Linear(3, 1)
    assert Checkpoint(tmp_path / "old.pt").load(fresh) == {"step": 2}
    assert torch.equal(fresh.weight, model.weight)
