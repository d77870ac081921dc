"""The publishers' own files, rebuilt or fetched for tests that must see the real bytes.

Colab learners download Fashion-MNIST from Zalando's (or Keras') servers. This machine and CI
have no internet, but Debian's package ``dataset-fashion-mnist`` holds the same deflate streams
under another gzip header. :func:`rebuild_fashion_mnist` restores the original header (magic,
method 8, FLG with FNAME, the original mtime, XFL 0, OS 3, the file name) and searches the mtime
until the result has the MD5 that Zalando publishes: the output is then byte-for-byte the
official download, proven by the publisher's checksum, not by one we computed ourselves.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")

# Zalando Research, github.com/zalandoresearch/fashion-mnist README ("Get the Data" table);
# the same MD5s are in torchvision's FashionMNIST.resources.
FMNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# Google's TensorFlow Datasets, tensorflow_datasets/url_checksums/fashion_mnist.txt (the same
# four in torchvision's prototype FashionMNIST._CHECKSUMS), for Zalando's S3 URLs.
FMNIST_SHA256_TFDS = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
_MTIME_GUESS = 1504176627  # 2017-08-31, when the files were published; the real ones are near


def debian_fashion_mnist_present() -> bool:
    return all((DEBIAN_FMNIST / f).exists() for f in FMNIST_MD5)


def rebuild_official_gzip(debian_bytes: bytes, name: str, md5: str, search: int = 100_000) -> bytes:
    """The official ``.gz`` for ``name`` from Debian's re-compressed copy; checked by ``md5``."""
    if debian_bytes[:3] != b"\x1f\x8b\x08":
        raise ValueError(f"{name}: not a gzip file")
    flags = debian_bytes[3]
    if flags != 0:
        raise ValueError(f"{name}: expected Debian's bare 10-byte gzip header, FLG={flags}")
    body = debian_bytes[10:]
    fname = name.removesuffix(".gz").encode() + b"\x00"
    for delta in range(search):
        for mtime in {_MTIME_GUESS + delta, _MTIME_GUESS - delta}:
            blob = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + fname + body
            if hashlib.md5(blob).hexdigest() == md5:
                return blob
    raise ValueError(f"{name}: no mtime within {search} s of {_MTIME_GUESS} gives MD5 {md5}")


def rebuild_fashion_mnist(out_dir: Path) -> dict[str, Path]:
    """Write the four official Fashion-MNIST files into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, md5 in FMNIST_MD5.items():
        target = out_dir / name
        if not (target.exists() and hashlib.md5(target.read_bytes()).hexdigest() == md5):
            target.write_bytes(rebuild_official_gzip((DEBIAN_FMNIST / name).read_bytes(), name, md5))
        paths[name] = target
    return paths
