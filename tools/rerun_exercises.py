"""Re-run only the "## Exercises" section of notebooks (after its checks or starters changed).

The exercise cells use only the package and their own imports, so they can be executed on
their own: a kernel (in ``notebooks/``, cpu profile) runs the notebook's setup cell, then every
cell from the "## Exercises" heading to the end; their new outputs are stored, every other cell
keeps its stored output. A cell that fails stops the run and nothing is written: then the
section depends on earlier cells, and the whole notebook must be re-run (``make bench``).

    python tools/rerun_exercises.py notebooks/06_tensors_and_autodiff.ipynb [...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def exercise_section(nb: nbformat.NotebookNode) -> int:
    """Index of the markdown cell that holds the "## Exercises" heading."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and any(line.startswith("## Exercises")
                                                for line in cell.source.splitlines()):
            return i
    raise SystemExit("no '## Exercises' heading")


def rerun(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    start = exercise_section(nb)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    part = nbformat.v4.new_notebook(metadata=nb.metadata)
    part.cells = [nbformat.from_dict(dict(nb.cells[setup]))] + [
        nbformat.from_dict(dict(c)) for c in nb.cells[start:]]
    os.environ.setdefault("MLCOURSE_PROFILE", "cpu")
    NotebookClient(part, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    count = max((c.get("execution_count") or 0 for c in nb.cells[:start] if c.cell_type == "code"),
                default=0)
    for new, i in zip(part.cells[1:], range(start, len(nb.cells))):
        if new.cell_type == "code":
            count += 1
            nb.cells[i].outputs = new.outputs
            nb.cells[i].execution_count = count
            for out in nb.cells[i].outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
    nbformat.write(nb, path)
    print(f"{path.name}: re-ran {len(nb.cells) - start} cells of its exercise section")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        rerun(Path(arg))
