"""The exercise core, and every exercise of every day: references pass, nothing ever raises."""

from __future__ import annotations

import importlib
import textwrap
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


# -- what every exercise must do (issue 14) ---------------------------------------------------

def memoriser(q: Exercise):
    """A learner's function that replays the reference's outputs on the check's fixed inputs."""
    ref, seen = q.reference(), []

    def spy(*args):
        out = ref(*args)
        seen.append(out)
        return out

    q.evaluate(spy)
    outputs = list(seen)

    def memorised(*args):
        return outputs.pop(0) if len(outputs) > 1 else outputs[0]

    return memorised


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
def test_memorised_outputs_fail_on_fresh_inputs(mod, i, q):
    res = q.evaluate(memoriser(q))
    assert res.status == "incorrect", f"an answer that ignores its inputs passes: {res.message}"


def _solution_lines(q: Exercise) -> list[str]:
    """The solution's lines that do the work (no def, no comment), whitespace removed."""
    lines = []
    for line in textwrap.dedent(q.solution_code).splitlines():
        code = line.split("#")[0].strip()
        if code.startswith("return "):
            code = code[len("return "):]
        if len(code) >= 12 and not code.startswith(("def ", "class ", "import ", "from ")):
            lines.append("".join(code.split()))
    return lines


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
def test_hints_are_a_ladder_not_the_solution(mod, i, q):
    assert len(q.hints) >= 2, "a ladder: the idea first, then the key step"
    assert len(set(q.hints)) == len(q.hints) and all(len(h) >= 40 for h in q.hints), \
        "each rung a whole sentence of its own (a stray comma in a tuple of strings splits one)"
    hints = ["".join(h.split()) for h in q.hints]
    for line in _solution_lines(q):
        for n, h in enumerate(hints, 1):
            assert line not in h, f"hint {n} gives away the solution line `{line}`: keep it for solution()"


# -- the engine's behaviours (issue 14: checks that must not mislead a learner) ---------------

class _Square(Exercise):
    """A toy exercise: square every entry of an array."""

    name = "square"
    title = "square it"
    hints = ("Multiply each entry by itself.", "NumPy works entry by entry: `*` or `**`.")
    solution_code = "def square(x):\n    return x ** 2"

    def reference(self):
        return lambda x: x ** 2

    def verify(self, fn):
        x = np.array([1.5, -2.0, 3.25])
        check_close(ex.call(fn, x, what="`square`"), x ** 2, "the squares")
        if not np.array_equal(x, [1.5, -2.0, 3.25]):
            raise AssertionError("the check's own array must never change")
        return "squared."

    def fresh_args(self, rng):
        return (rng.normal(size=int(rng.integers(2, 9))),)


def test_all_zero_answer_is_named_not_a_factor_of_zero():
    res = _Square().evaluate(lambda x: np.zeros_like(x))
    assert res.status == "incorrect" and "all zeros" in res.message and "factor" not in res.message
    with pytest.raises(Wrong, match="is 0, but it should not be"):
        check_close(0.0, 2.5, "x")
    with pytest.raises(Wrong, match="all zeros"):
        check_close([-0.0, 0.0], [1.0, 2.0], "x", names=("a", "b"))


def test_float32_answer_is_judged_at_float32_precision():
    res = _Square().evaluate(lambda x: (x.astype(np.float32) * np.float32(1.0000001)) ** 2)
    assert res.correct, res.message
    res = _Square().evaluate(lambda x: x.astype(np.float32) ** 2 + np.float32(1e-3))
    assert res.status == "incorrect"  # a real mistake is still a mistake in float32
    # Two different numbers are never printed as the same number.
    with pytest.raises(Wrong) as info:
        check_close(2.507710, 2.507735, "x")
    got, want = str(info.value).split(" is ")[1].split(", but it should be ")
    assert got != want.rstrip(".")
    assert ex.pair_str(2.5077101, 2.5077123) == ("2.50771", "2.507712")


def test_in_place_answer_is_judged_on_its_result_with_a_note():
    def in_place(x):
        x **= 2
        return x

    res = _Square().evaluate(in_place)
    assert res.correct and "in place" in res.message


def test_complex_answer_is_refused_with_the_reason():
    res = _Square().evaluate(lambda x: (x ** 2).astype(complex) + 1j)
    assert res.status == "incorrect" and "complex" in res.message
    with pytest.raises(Wrong, match="complex"):
        check_close(np.array([1 + 0.5j]), [1.0], "x")


def test_an_infinite_loop_is_stopped_with_a_plain_message():
    class Slow(_Square):
        time_limit = 0.5

    def forever(x):
        while True:
            try:
                pass
            except Exception:  # a learner's broad except must not swallow the time limit
                pass

    res = Slow().evaluate(forever)
    assert res.status == "incorrect" and "still running after 0.5 seconds" in res.message
    assert Slow().evaluate(lambda x: x ** 2).correct  # the timer is gone afterwards

    def interrupted(x):
        raise KeyboardInterrupt  # Ctrl-C / Jupyter's Interrupt still stops a check

    with pytest.raises(KeyboardInterrupt):
        _Square().evaluate(interrupted)


def test_memorised_answer_fails_on_fresh_random_inputs():
    res = _Square().evaluate(lambda x: np.array([2.25, 4.0, 10.5625]))
    assert res.status == "incorrect" and "new random inputs" in res.message


@pytest.mark.parametrize("mod,i,q", ALL, ids=IDS)
def test_a_check_leaves_the_global_random_states_alone(mod, i, q):
    import random

    import torch

    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone())
    q.evaluate(q.reference())
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


def test_the_time_limit_gives_an_outer_alarm_its_time_back():
    import signal

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this platform")
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert _Square().evaluate(lambda x: x ** 2).correct
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < left <= 30.0 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_crash_on_fresh_inputs_says_the_example_was_right():
    class FiveNumbers(_Square):
        def fresh_args(self, rng):
            return (rng.normal(size=5),)

    def fixed_size(x):
        return x.reshape(3) ** 2  # works for the check's 3 numbers only

    res = FiveNumbers().evaluate(fixed_size)
    assert res.status == "incorrect" and "new random inputs" in res.message and "raised" in res.message


def test_a_factor_is_only_named_when_the_whole_answer_is_that_multiple():
    with pytest.raises(Wrong) as info:  # a one-hot row with its 1 in the wrong column
        check_close([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], "x")
    assert "factor" not in str(info.value)
    with pytest.raises(Wrong) as info:  # label smoothing: a ratio on the 1s, but the 0s moved too
        check_close([[0.91, 0.045, 0.045]], [[1.0, 0.0, 0.0]], "x")
    assert "factor" not in str(info.value)
    with pytest.raises(Wrong, match="factor of 2"):
        check_close([[2.0, 0.0], [4.0, 6.0]], [[1.0, 0.0], [2.0, 3.0]], "x")


@pytest.mark.parametrize("answer,advice", [
    (lambda x: x ^ 2, "`^` is not a power"),
    (lambda x: x @ np.ones((4, 2)), "last size of A must equal the first size of B"),
    (lambda x: np.array([__import__("math").exp(x)]), "`math.exp`, `math.log` and `math.sqrt` take one number"),
    (lambda x: {"squares": x ** 2}, "is a dict"),
])
def test_common_python_slips_get_their_own_advice(answer, advice):
    res = _Square().evaluate(answer)
    assert res.status == "incorrect" and advice in res.message, res.message


def test_a_ratio_near_one_is_not_called_a_factor():
    with pytest.raises(Wrong) as info:
        check_close([1.00005, 2.0001], [1.0, 2.0], "x")
    assert "factor" not in str(info.value)


def test_an_extra_axis_of_length_one_is_named():
    with pytest.raises(Wrong, match="extra .*axis of length 1"):
        ex.check_shape(np.zeros((3, 1, 3)), (3, 3))


def test_a_list_of_numbers_changed_in_place_gets_a_note():
    class Total(Exercise):
        name, title = "total", "sum a list"
        hints = ("add them", "a loop or sum()")

        def reference(self):
            return sum

        def verify(self, fn):
            check_close(ex.call(fn, [1, 2, 3]), 6, "the sum")

    def pops(xs):
        total = 0
        while xs:
            total += xs.pop()
        return total

    res = Total().evaluate(pops)
    assert res.correct and "in place" in res.message


def test_an_array_is_as_good_as_a_tuple_on_fresh_inputs():
    class Pair(_Square):
        def reference(self):
            return lambda x: (x.sum(), x.prod())

        def verify(self, fn):
            check_close(ex.call(fn, np.array([1.0, 2.0])), [3.0, 2.0], "the pair")

    assert Pair().evaluate(lambda x: np.array([x.sum(), x.prod()])).correct


def test_a_tuple_of_parts_with_different_shapes_is_explained():
    """(dw per point, db) instead of two numbers: the shapes of the parts are named, not a repr."""
    from mlcourse.exercises import Wrong, as_array

    with pytest.raises(Wrong, match=r"part 1 has shape \(20,\), part 2 is a single number.*np.mean"):
        as_array((np.ones(20), 0.5), "your gradient")
    with pytest.raises(Wrong, match="should be a number or an array of numbers"):
        as_array(("a", object()), "your answer")


def test_torch_not_implemented_for_a_dtype_is_a_mistake_not_a_blank():
    """`x ^ 2` on a float tensor: PyTorch raises NotImplementedError ("bitwise_xor_cpu" not implemented
    for 'Double'), which must get the XOR advice, not "your function still raises NotImplementedError"."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Wrong, match="bitwise XOR"):
        ex.call(lambda x: x ^ 2, torch.ones(3, dtype=torch.float64))

    def unwritten(x):
        raise NotImplementedError

    with pytest.raises(ex.NotAttempted):
        ex.call(unwritten, torch.ones(3))
