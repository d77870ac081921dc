"""Regenerate every notebook's Open-in-Colab badge and Colab setup cell.

The repository's address is read from ``[project.urls] Repository`` in ``pyproject.toml``.

    python tools/sync_notebooks.py           # rewrite the notebooks that are out of date
    python tools/sync_notebooks.py --check   # only report; exit 1 if any is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlcourse.colab import repo_url, sync_notebook  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report only; exit 1 if out of date")
    args = ap.parse_args(argv)
    url = repo_url(ROOT / "pyproject.toml")
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text("utf-8"))
        if sync_notebook(nb, url, path.name):
            stale.append(path.name)
            if not args.check:
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", "utf-8")
    verb = "out of date" if args.check else "updated"
    print(f"{len(stale)} notebook(s) {verb}" + (f": {', '.join(stale)}" if stale else "") + f" (address {url})")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
