"""Build a notebook from a light text source (used while writing; the .ipynb is the truth).

Source format: cells separated by lines ``# %% [markdown]`` or ``# %%``; markdown cells
are written as plain text (no leading ``#``).

    python tools/nbbuild.py SOURCE.py notebooks/NN_name.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def build(src: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    }
    kind, lines = None, []

    def flush():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if not text:
            return
        cell = nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        cell.pop("id", None)
        nb.cells.append(cell)

    for line in src.splitlines():
        if line.startswith("# %% [markdown]"):
            flush(); kind, lines = "md", []
        elif line.startswith("# %%"):
            flush(); kind, lines = "code", []
        else:
            lines.append(line)
    flush()
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:03d}"
    return nb


if __name__ == "__main__":
    src, out = sys.argv[1], sys.argv[2]
    nbformat.write(build(Path(src).read_text("utf-8")), out)
    print(f"wrote {out}")
