"""The exercise core, and every exercise of every day: references pass, nothing ever raises."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import mlcourse.exercises as ex
from mlcourse.exercises import ____, CheckResult, Exercise, Wrong, check_close

DAY_MODULES = sorted(m.name for m in pkgutil.iter_modules(ex.__path__) if m.name.startswith("day"))
ALL = [(mod, i, q) for mod in DAY_MODULES
       for i, q in enumerate(importlib.import_module(f"mlcourse.exercises.{mod}").ALL)]
IDS = [f"{mod}-q{i + 1}" for mod, i, _ in ALL]


def test_every_day_has_at_least_three_exercises():
    assert DAY_MODULES, "no exercise modules found"
    for mod in DAY_MODULES:
        assert len(importlib.import_module(f"mlcourse.exercises.{mod}").ALL) >= 3, mod


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
def test_reference_solution_passes(mod, i, q):
    res = q.evaluate(q.reference())
    assert res.status == "correct", res.message


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
def test_untouched_starter_is_not_attempted(mod, i, q):
    assert q.evaluate(____).status == "not_attempted"
    assert q.evaluate().status == "not_attempted"
    assert q.evaluate(lambda *a, **k: ____).status == "not_attempted"

    def starter(*args, **kwargs):
        raise NotImplementedError

    assert q.evaluate(starter).status == "not_attempted"


BAD_ANSWERS = {
    "None": None,
    "a string": "forty-two",
    "NaN": float("nan"),
    "a function returning None": lambda *a, **k: None,
    "a function that crashes": lambda *a, **k: 1 / 0,
    "a function returning NaN": lambda *a, **k: np.full(3, np.nan),
    "an empty list": [],
}


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
@pytest.mark.parametrize("label", list(BAD_ANSWERS))
def test_bad_answers_get_an_explanation_not_a_traceback(mod, i, q, label):
    res = q.evaluate(BAD_ANSWERS[label])
    assert res.status == "incorrect", (label, res)
    assert len(res.message) > 20 and "Traceback" not in res.message


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
def test_hint_and_solution_print(mod, i, q, capsys):
    q.hint()
    q.hint()
    q.solution()
    out = capsys.readouterr().out
    assert "Hint 1/" in out and "Solution:" in out and q.hints and q.title


def test_check_finds_the_answer_by_name(capsys):
    class Double(Exercise):
        name = "double"
        title = "double it"

        def reference(self):
            return lambda v: 2 * v

        def verify(self, fn):
            check_close(ex.call(fn, 3.0), 6.0, "double(3)")

    q = Double()
    double = lambda v: v + v  # noqa: E731 -- found in this frame's globals? no: locals
    globals()["double"] = double
    try:
        res = q.check()
    finally:
        del globals()["double"]
    assert res.status == "correct" and "Correct" in capsys.readouterr().out
    assert q.check().status == "not_attempted"
    assert repr(res) == "<check: correct>"


def test_check_close_messages():
    def msg(a, e):
        with pytest.raises(Wrong) as info:
            check_close(a, e, "x")
        return str(info.value)

    table = np.arange(640.0).reshape(64, 10)
    assert "expected (64, 10), got (10, 64)" in msg(table.T, table)
    assert "transposed" in msg(table.T, table)
    assert "other way round" in msg(table.reshape(10, 64), table)  # a reshape is not a transpose
    assert "off by the same amount, +0.7" in msg(table + 0.7, table)
    assert "text" in msg("0.3", 0.3)
    check_close([0.5], 0.5, "x")  # a length-1 axis is forgiven
    check_close(np.ones((2, 1)), [1.0, 1.0], "x")
    with pytest.raises(Wrong, match="dw is correct; db is -1 but should be 1 \\(wrong sign\\)"):
        check_close([2.0, -1.0], [2.0, 1.0], "x", names=("dw", "db"))
    assert "NaN" in msg([np.nan, 1.0], [1.0, 1.0])
    assert "wrong sign" in msg([-1.0, -2.0], [1.0, 2.0])
    assert "factor of 2" in msg([2.0, 4.0], [1.0, 2.0])
    assert "should be 3" in msg(2.0, 3.0)
    assert "None" in msg(None, 1.0)
    check_close([1.0, 2.0], [1.0, 2.0], "x")


def test_result_strings():
    assert str(CheckResult("correct", "ok")).startswith("✅")
    assert str(CheckResult("incorrect", "no")).startswith("❌")
    assert "Not attempted" in str(CheckResult("not_attempted", "-"))
    assert repr(____) == "____" and not ____


def test_tolerance_fits_the_answers_precision():
    import numpy as np

    from mlcourse.exercises import tolerance_for

    assert tolerance_for(np.zeros(2)) == {"rtol": 1e-6, "atol": 1e-8}
    assert tolerance_for(np.zeros(2, np.float32))["rtol"] > 1e-6
    assert tolerance_for(np.zeros(2, np.float16))["rtol"] > tolerance_for(np.zeros(2, np.float32))["rtol"]
