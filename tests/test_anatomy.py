"""Every notebook follows the course's anatomy (COURSE.md, 'Notebook anatomy')."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT
from mlcourse.colab import SETUP_MARKER, badge, release_ref, repo_url, setup_cell

pytestmark = pytest.mark.repository  # not repeated by the Colab leg: nothing here depends on the installed stack

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
URL = repo_url(ROOT / "pyproject.toml")
REF = release_ref(ROOT / "pyproject.toml")


def _load(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _text(nb: dict, kind: str | None = None) -> str:
    return "\n".join(_src(c) for c in nb["cells"] if kind is None or c["cell_type"] == kind)


def _outputs_text(nb: dict) -> str:
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            parts.append("".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_there_are_notebooks_numbered_once_each():
    assert NOTEBOOKS, "no notebooks"
    days = [p.name[:2] for p in NOTEBOOKS]
    assert len(days) == len(set(days)), f"two notebooks share a day number: {days}"
    assert all("01" <= d <= "12" for d in days)


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return request.param, _load(request.param)


def test_name(nb):
    path, _ = nb
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)


def test_size_under_3_mb(nb):
    path, _ = nb
    assert path.stat().st_size < 3_000_000, f"{path.name}: {path.stat().st_size / 1e6:.1f} MB"


def test_kernelspec_as_jupyterlab_writes_it(nb):
    """JupyterLab rewrites another display name on open, leaving the file changed."""
    _, book = nb
    assert book["metadata"]["kernelspec"] == {"display_name": "Python 3 (ipykernel)", "language": "python",
                                              "name": "python3"}


def test_opening_and_saving_changes_no_byte(nb):
    """Jupyter's own writer gives back the very file, and no widget number changes form."""
    import nbformat

    path, _ = nb
    text = path.read_text(encoding="utf-8")
    assert nbformat.writes(nbformat.reads(text, as_version=4)) == text.rstrip("\n") or \
        nbformat.writes(nbformat.reads(text, as_version=4)) + "\n" == text
    state = json.loads(text).get("metadata", {}).get("widgets", {})

    def floats(node):
        items = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        for value in items:
            if isinstance(value, float) and value.is_integer():
                yield value
            yield from floats(value)

    whole = list(floats(state))
    assert not whole, f"widget state holds {whole[:3]}: JupyterLab would save them as integers"


def test_readable_without_a_kernel(nb):
    """Stored outputs show in nbconvert/GitHub: no dropped GIF, no raw widget repr."""
    path, book = nb
    for cell in book["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            assert "image/gif" not in data or "text/html" in data, \
                f"{path.name}: a bare GIF output (nbconvert drops it): use mlcourse.plots.animate"
            text = "".join(data.get("text/plain", ""))
            assert not text.startswith("interactive("), f"{path.name}: a raw widget repr is stored"
            assert "IPython.core.display.Image object" not in text, f"{path.name}: an image that needs a kernel"


def test_nbconvert_html_shows_every_output(nb):
    """What GitHub/nbviewer readers get: nbconvert's HTML has each animation as an <img>."""
    HTMLExporter = pytest.importorskip("nbconvert").HTMLExporter
    import nbformat

    path, _ = nb
    book = nbformat.read(path, as_version=4)
    html, _ = HTMLExporter().from_notebook_node(book)
    assert "IPython.core.display.Image object" not in html, f"{path.name}: an image nbconvert cannot show"
    assert "interactive(children=" not in html, f"{path.name}: a raw widget repr"
    gifs = sum(out.get("data", {}).get("text/html", "").count("data:image/gif;base64")
               for cell in book.cells for out in cell.get("outputs", []))
    assert html.count('src="data:image/gif;base64,') >= gifs


def test_title_badge_and_setup_cell_in_sync(nb):
    path, book = nb
    first = _src(book["cells"][0])
    assert book["cells"][0]["cell_type"] == "markdown"
    assert re.match(rf"# Day {path.name[:2]} — \S", first), "first line must be '# Day NN — Title'"
    assert badge(URL, path.name) in first, "badge out of sync: run `make sync`"
    code = [c for c in book["cells"] if c["cell_type"] == "code"]
    assert _src(code[0]) == setup_cell(URL, REF), f"the first code cell must be the '{SETUP_MARKER}' cell: run `make sync`"


def test_calls_setup_with_its_name(nb):
    path, book = nb
    assert f'mlcourse.setup("{path.stem}"' in _text(book, "code")


def test_learning_goals_and_times(nb):
    _, book = nb
    md = _text(book, "markdown")
    m = re.search(r"## What you will learn\n+((?:- .*\n?)+)", md)
    assert m, "needs a '## What you will learn' section with a bullet list"
    assert 3 <= len(re.findall(r"^- ", m.group(1), re.M)) <= 6
    assert re.search(r"\*\*Time:\*\*.*CPU.*GPU", md), "state the time on CPU and on GPU"


def test_recap_exercises_reading(nb):
    _, book = nb
    md, code = _text(book, "markdown"), _text(book, "code")
    for heading in ("## Recap", "## Exercises", "## Further reading"):
        assert heading in md, f"missing section {heading!r}"
    assert len(re.findall(r"\bq\d+\.check\(\)", code)) >= 3, "at least 3 exercises with .check()"
    assert "mlcourse.expect(" in code, "headline results are checked with mlcourse.expect()"


def test_outputs_from_an_in_order_cpu_run(nb):
    path, book = nb
    code = [c for c in book["cells"] if c["cell_type"] == "code" and _src(c).strip()]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), "rerun top to bottom and save (make bench)"
    for c in code:
        for o in c.get("outputs", []):
            assert o["output_type"] != "error", f"stored error output: {o.get('ename')}"
    out = _outputs_text(book)
    assert "profile: smoke" not in out, "stored outputs come from a smoke run: commit a cpu run"
    assert re.search(r"profile: (cpu|gpu)", out), "the setup() line is missing from the outputs"


def test_sync_tool_reports_in_sync():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_sync_rewrites_address(tmp_path):
    from mlcourse.colab import sync_notebook

    book = _load(NOTEBOOKS[0])
    assert sync_notebook(book, "https://github.com/someone/fork", NOTEBOOKS[0].name, "v9.9.9")
    text = _text(book)
    assert "github/someone/fork/blob/main/notebooks/" in text and "git+https://github.com/someone/fork@v9.9.9" in text
    assert URL not in text


def test_setup_cell_pins_the_release_of_this_version():
    """Colab installs the tagged release the notebook was written for, never the moving main."""
    import mlcourse

    assert REF == f"v{mlcourse.__version__}", "pyproject.toml and mlcourse.__version__ disagree"
    for path in NOTEBOOKS:
        setup = _src([c for c in _load(path)["cells"] if c["cell_type"] == "code"][0])
        assert f"git+{URL}@{REF}\"" in setup, f"{path.name}: setup cell not pinned to {REF}"


def test_release_tag_matches_the_package():
    """Where the release tag exists here, the mlcourse it holds is the one in this tree."""
    import subprocess

    git = ["git", "-C", str(ROOT)]
    tag = subprocess.run(git + ["rev-parse", "-q", "--verify", f"refs/tags/{REF}"], capture_output=True, text=True)
    if tag.returncode != 0:
        pytest.skip(f"no tag {REF} in this clone (cut it when releasing: see README, 'Releases')")
    diff = subprocess.run(git + ["diff", "--stat", REF, "--", "mlcourse", "pyproject.toml"],
                          capture_output=True, text=True, check=True).stdout
    assert not diff, f"mlcourse changed since {REF}: bump the version, `make sync`, and tag it\n{diff}"


def _global_names(source: str) -> set[str]:
    """The names a code cell binds at the notebook's top level (not inside functions or classes)."""
    import ast

    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    names: set[str] = set()

    def visit(node) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(child.name)
            elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)
            elif isinstance(child, (ast.alias,)):
                names.add((child.asname or child.name).split(".")[0])
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                                      ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                visit(child)

    visit(ast.parse(code))
    return names


def test_exercise_names_do_not_clash_with_the_lesson(nb):
    """An exercise's function is defined in its own cell only: were a lesson cell to bind the same
    name, re-running that cell would overwrite the learner's answer (or the answer the lesson's)."""
    import importlib

    path, book = nb
    module = importlib.import_module(f"mlcourse.exercises.day{path.name[:2]}")
    cells = [(c["id"], _global_names(_src(c))) for c in book["cells"] if c["cell_type"] == "code"]
    for q in module.ALL:
        binding = [cid for cid, names in cells if q.name in names]
        assert len(binding) == 1, f"{path.name}: `{q.name}` (exercise {q.title!r}) is bound in cells {binding}"


def test_the_colab_leg_shards_cover_every_notebook_once():
    """`make test-colab` splits the notebooks between two shards: each day in exactly one."""
    make = (ROOT / "Makefile").read_text("utf-8")
    shards = [set(re.search(rf"^COLAB_DAYS_{i} := (.*)$", make, re.M).group(1).split()) for i in (0, 1)]
    days = {p.name[:2] for p in NOTEBOOKS}
    assert not shards[0] & shards[1], f"days in both shards: {sorted(shards[0] & shards[1])}"
    assert shards[0] | shards[1] == days, f"days in no shard: {sorted(days - shards[0] - shards[1])}"
