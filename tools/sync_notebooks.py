"""Regenerate every notebook's Open-in-Colab badge and Colab setup cell, and the README's table.

The repository's address is read from ``[project.urls] Repository`` in ``pyproject.toml``, and
the release that the setup cells install (``v`` + ``[project] version``) from the same file.
The README's table of days gets, for each written notebook, a link, its Colab badge and the
CPU/GPU wall times measured by ``make bench`` (``bench/results.json``); days not written yet
are listed as "coming", without links.

    python tools/sync_notebooks.py           # rewrite the notebooks that are out of date
    python tools/sync_notebooks.py --check   # only report; exit 1 if any is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlcourse.colab import release_ref, repo_url, sync_notebook  # noqa: E402


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return "< 1 min" if seconds < 60 else f"{round(seconds / 60)} min"


def _gpu_cell(measured: float | None, estimate: float | None) -> str:
    """A measured gpu time; else the T4 estimate of tools/estimate_t4.py, marked as such."""
    if measured is None and estimate is not None:
        return f"≈ {round(estimate / 60)} min (T4, est.)"
    return _minutes(measured)


def readme_table(readme: str, url: str) -> str:
    """Return ``readme`` with every row of the table of days regenerated."""
    from mlcourse.colab import badge

    results = ROOT / "bench" / "results.json"
    rows = json.loads(results.read_text()) if results.exists() else []
    wall = {(r["notebook"][:2], r["profile"]): r["value"] for r in rows if r["metric"] == "wall_time_s"}
    est_file = ROOT / "bench" / "t4_estimates.json"
    t4 = json.loads(est_file.read_text())["seconds"] if est_file.exists() else {}
    books = {p.name[:2]: p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    out = []
    for line in readme.split("\n"):
        m = re.match(r"^\| (\d\d) \| (.*?) \| (.*?) \|", line)
        if not m:
            out.append(line)
            continue
        day, title, what = m.groups()
        title = re.sub(r"^\[(.*)\]\(.*\)$", r"\1", title)
        if day in books:
            path = books[day]
            first = json.loads(path.read_text("utf-8"))["cells"][0]["source"]
            head = ("".join(first)).split("\n")[0]
            title = head.split("—", 1)[1].strip() if "—" in head else title
            out.append(f"| {day} | [{title}](notebooks/{path.name}) | {what} | "
                       f"{_minutes(wall.get((day, 'cpu')))} | {_gpu_cell(wall.get((day, 'gpu')), t4.get(day))} | "
                       f"{badge(url, path.name)} |")
        else:
            out.append(f"| {day} | {title} | {what} | coming | | |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report only; exit 1 if out of date")
    args = ap.parse_args(argv)
    url = repo_url(ROOT / "pyproject.toml")
    ref = release_ref(ROOT / "pyproject.toml")
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text("utf-8"))
        if sync_notebook(nb, url, path.name, ref):
            stale.append(path.name)
            if not args.check:
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", "utf-8")
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text("utf-8")
    new_readme = readme_table(readme, url)
    if new_readme != readme:
        stale.append("README.md")
        if not args.check:
            readme_path.write_text(new_readme, "utf-8")
    verb = "out of date" if args.check else "updated"
    print(f"{len(stale)} file(s) {verb}" + (f": {', '.join(stale)}" if stale else "") + f" (address {url}, release {ref})")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
