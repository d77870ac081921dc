"""The Colab setup cell and the Open-in-Colab badge, generated from two settings.

The repository's public address is ``[project.urls] Repository`` in ``pyproject.toml``, and
the release the notebooks are written for is ``v`` + ``[project] version``. ``make sync``
(``python tools/sync_notebooks.py``) rewrites every notebook's badge and setup cell from them;
``tests/test_anatomy.py`` fails when a notebook is out of sync.

The setup cell installs ``mlcourse`` at that release's git tag, not at the moving ``main``:
a notebook saved to Google Drive weeks ago keeps installing the package it was written for.
Cutting a release is described in the README ("Releases").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BADGE_PREFIX = "[![Open In Colab]"
SETUP_MARKER = "# Colab setup"


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def _pyproject(pyproject: str | Path) -> dict:
    import tomllib  # Python 3.11+, as the course requires

    with open(pyproject, "rb") as fh:
        return tomllib.load(fh)


def release_ref(pyproject: str | Path) -> str:
    """The git tag of the release the notebooks are written for: ``v`` + ``[project] version``."""
    return "v" + _pyproject(pyproject)["project"]["version"]


def repo_url(pyproject: str | Path) -> str:
    """Read ``[project.urls] Repository`` from ``pyproject.toml`` (no trailing slash)."""
    data = _pyproject(pyproject)
    try:
        url = data["project"]["urls"]["Repository"]
    except KeyError:
        raise KeyError(f"{pyproject} has no [project.urls] Repository entry") from None
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url)
    if not m:
        raise ValueError(f"the Repository URL must look like https://github.com/OWNER/NAME, got {url!r}")
    return f"https://github.com/{m.group(1)}/{m.group(2)}"


def badge(url: str, notebook: str, branch: str = "main") -> str:
    """Markdown of the Open-in-Colab badge for ``notebooks/<notebook>``."""
    slug = url.removeprefix("https://github.com/")
    return (f"{BADGE_PREFIX}(https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/{notebook})")


def setup_cell(url: str, ref: str) -> str:
    """Source of the first code cell: installs mlcourse on Colab, does nothing elsewhere.

    It installs only mlcourse (at the git tag ``ref``) and its light dependencies: pip keeps
    Colab's torch, tensorflow, jax and keras, which already satisfy everything the course needs.
    """
    return (
        f"{SETUP_MARKER}: on Google Colab this installs the course's helper package `mlcourse`\n"
        f"# at {ref}, the release this notebook was written for (and nothing that Colab already has);\n"
        "# on your own machine it does nothing.\n"
        "import subprocess, sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"mlcourse @ git+{url}@{ref}\"], check=True)"
    )


def sync_notebook(nb: dict, url: str, name: str, ref: str) -> bool:
    """Rewrite the badge line and the setup cell of a notebook dict; True if it changed."""
    changed = False
    want_badge = badge(url, name)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"])
            lines = src.split("\n")
            new = [want_badge if ln.startswith(BADGE_PREFIX) else ln for ln in lines]
            if new != lines:
                cell["source"] = "\n".join(new).splitlines(keepends=True)  # as Jupyter writes it
                changed = True
            break
    want_setup = setup_cell(url, ref)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith(SETUP_MARKER):
            if "".join(cell["source"]) != want_setup:
                cell["source"] = want_setup.splitlines(keepends=True)
                changed = True
            break
    return changed
