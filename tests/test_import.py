"""`import mlcourse` is light: no framework, under a second."""

import json
import subprocess
import sys

from conftest import ROOT

CODE = r"""
import json, sys, time
t = time.perf_counter()
import mlcourse
dt = time.perf_counter() - t
heavy = [m for m in ("torch", "tensorflow", "jax", "keras", "sklearn", "pandas") if m in sys.modules]
print(json.dumps({"seconds": dt, "heavy": heavy, "pyplot": "matplotlib.pyplot" in sys.modules}))
"""


def _run():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_imports_no_framework():
    assert _run()["heavy"] == []


def test_import_is_fast():
    best = min(_run()["seconds"] for _ in range(3))
    assert best < 1.0, f"import mlcourse took {best:.2f} s"


def test_submodules_load_lazily():
    import mlcourse

    assert mlcourse.plots.loss_curve
    assert mlcourse.data.load_mnist
    try:
        mlcourse.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
