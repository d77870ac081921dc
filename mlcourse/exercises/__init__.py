"""Exercises, Kaggle-Learn style: each has ``check()``, ``hint()`` and ``solution()``.

In a notebook::

    from mlcourse.exercises import day01 as ex

    def mse(y, y_hat):
        ____          # <- your code here (the blank means "not attempted yet")

    ex.q1.check()     # looks up ``mse`` in the notebook and explains what is right or wrong

``check()`` never raises for the learner's mistakes: untouched starter code gets "not
attempted yet", a wrong answer gets an explanation in plain words (wrong shape, NaN, wrong
sign...), a right one gets a confirmation. Tests call ``evaluate(answer)`` directly.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np


class _Blank:
    """The placeholder of starter code: ``answer = ____``."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    def __bool__(self) -> bool:
        return False


____ = _Blank()
_MISSING = object()


class NotAttempted(Exception):
    """The learner has not filled in the starter code yet."""


class Wrong(Exception):
    """A wrong answer; the message explains what is wrong, for a beginner."""


@dataclass
class CheckResult:
    """The outcome of a check: ``status`` is ``"correct"``, ``"incorrect"`` or ``"not_attempted"``."""

    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        icon = {"correct": "✅ Correct:", "incorrect": "❌ Not yet:",
                "not_attempted": "✏️  Not attempted yet:"}[self.status]
        return f"{icon} {self.message}"


def _is_blank(value: Any) -> bool:
    return value is ____ or isinstance(value, _Blank)


def call(fn: Any, *args: Any, what: str = "your function") -> Any:
    """Call the learner's function; turn its failures into plain explanations.

    Raises:
        NotAttempted: the function still contains the blank ``____`` or raises
            ``NotImplementedError``.
        Wrong: it is not callable, or it raised an exception.
    """
    if _is_blank(fn):
        raise NotAttempted("fill in the blank ____ and run the cell again.")
    if not callable(fn):
        raise Wrong(f"{what} should be a function, but it is a {type(fn).__name__}.")
    try:
        out = fn(*args)
    except NotImplementedError:
        raise NotAttempted("your function still raises NotImplementedError.") from None
    except Exception as exc:
        msg = str(exc)
        if "____" in msg or "_Blank" in msg:
            raise NotAttempted("your function still contains the blank ____.") from None
        advice = " Run it on a small example in a cell of its own to see where it breaks."
        if "broadcast" in msg:
            advice = (" Read the two shapes in the message from the right: the last axes must be"
                      " equal or 1. Turning a vector into a column with `v[:, None]` often fixes it.")
        raise Wrong(f"{what} raised {type(exc).__name__}: {msg}.{advice}") from None
    if _is_blank(out):
        raise NotAttempted("your function still returns the blank ____.")
    return out


def as_array(value: Any, what: str = "your answer") -> np.ndarray:
    """Convert an answer to a float NumPy array, or explain why it cannot be one."""
    if _is_blank(value):
        raise NotAttempted("fill in the blank ____ and run the cell again.")
    if value is None:
        raise Wrong(f"{what} is None. Did you forget a `return` (or to assign the variable)?")
    if isinstance(value, (str, bytes)):
        raise Wrong(f"{what} should be a number or an array of numbers, but it is text: {value!r:.60}. "
                    "Remove the quotes.")
    if hasattr(value, "detach"):  # torch tensors
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be a number or an array of numbers, "
                    f"but it is a {type(value).__name__}: {value!r:.60}") from None
    return arr


def tolerance_for(value: Any) -> dict[str, float]:
    """``rtol``/``atol`` for :func:`check_close` that fit the answer's precision.

    A right answer computed in float32 (or float16) differs from a float64 reference by its own
    rounding: about 1e-7 (1e-3) of each number, and more after a sum or an exp of inputs near
    1000 (whose float32 spacing is 6e-5). It must not be called wrong for that.
    """
    name = str(getattr(value, "dtype", "float64"))
    if name.endswith("float16") or name.endswith("bfloat16"):
        return {"rtol": 1e-2, "atol": 1e-3}
    if name.endswith("float32"):
        return {"rtol": 1e-4, "atol": 1e-5}
    return {"rtol": 1e-6, "atol": 1e-8}


def check_shape(arr: np.ndarray, shape: tuple[int, ...], what: str = "your answer") -> None:
    """Explain a wrong shape: expected vs got, with the likely cause."""
    if tuple(arr.shape) != tuple(shape):
        extra = ""
        if arr.ndim == 2 and tuple(arr.shape[::-1]) == tuple(shape):
            extra = (" Rows and columns are the other way round: check which axis you put first"
                     " (`.T` swaps them if the table is just transposed).")
        elif arr.ndim == 0 and shape:
            extra = " You returned a single number where an array was expected."
        elif shape == () and arr.ndim > 0:
            extra = " Expected a single number: did you forget to take the mean (or the sum)?"
        elif arr.size == int(np.prod(shape)):
            extra = " It has the right number of elements but the wrong arrangement: check your reshape or the axis you summed over."
        raise Wrong(f"wrong shape for {what}: expected {tuple(shape)}, got {tuple(arr.shape)}.{extra}")


def check_finite(arr: np.ndarray, what: str = "your answer") -> None:
    """Explain NaN or infinite values."""
    if np.isnan(arr).any():
        raise Wrong(f"{what} contains NaN (not a number). NaN comes from 0/0, log of a "
                    "negative number, or values that grew too large: print the intermediate steps.")
    if np.isinf(arr).any():
        raise Wrong(f"{what} contains infinity: a value overflowed or you divided by zero.")


def _pattern(a: np.ndarray, e: np.ndarray, what: str, rtol: float, atol: float) -> str | None:
    """Name a mistake that affects every value alike (sign, factor, offset), or None."""
    if np.any(e != 0) and np.allclose(a, -e, rtol=rtol, atol=atol):
        return f"{what} has the wrong sign: every value is the negative of what it should be."
    nz = np.abs(e) > atol
    if nz.sum() >= 2:  # one number alone cannot tell a scale mistake from any other
        ratio = a[nz] / e[nz]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-6) and not np.isclose(ratio.flat[0], 1.0):
            return (f"{what} is off by a constant factor of {ratio.flat[0]:.4g}: "
                    "check for a missing or extra factor (2, 1/n, ...).")
    if a.size >= 2:
        diff = a - e
        if np.allclose(diff, diff.flat[0], rtol=0, atol=max(atol, 1e-9)) and abs(diff.flat[0]) > atol:
            return (f"every value of {what} is off by the same amount, {diff.flat[0]:+.4g}: "
                    "a constant term (an intercept, a bias, a +1) is missing, extra, or has the wrong sign.")
    return None


def _diagnose(a: np.ndarray, e: np.ndarray, what: str, rtol: float, atol: float) -> str:
    """Name the likely mistake when ``a`` (same shape as ``e``) differs from ``e``."""
    found = _pattern(a, e, what, rtol, atol)
    if found:
        return found
    if e.ndim == 0:
        return f"{what} is {float(a):.6g}, but it should be {float(e):.6g}."
    worst = float(np.max(np.abs(a - e)))
    return f"{what} is not right yet: the largest difference from the correct values is {worst:.3g}."


def check_close(actual: Any, expected: Any, what: str = "your answer", *,
                rtol: float = 1e-6, atol: float = 1e-8,
                names: Sequence[str] | None = None) -> None:
    """Compare numbers/arrays; explain shape, NaN, sign, scale and offset mistakes.

    Extra axes of length 1 are forgiven (``[0.5]`` is accepted for ``0.5``). With ``names``
    (one per entry of a small result, e.g. ``("dw", "db")``) each entry is judged on its own.
    """
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape and a.size == e.size and a.squeeze().shape == e.squeeze().shape:
        a = a.reshape(e.shape)  # e.g. (1,) for a scalar, or (2, 1) for a pair
    if a.shape != e.shape and a.ndim == 2 and a.T.shape == e.shape and np.allclose(a.T, e, rtol=rtol, atol=atol):
        raise Wrong(f"wrong shape for {what}: expected {e.shape}, got {a.shape}. It is transposed: "
                    "`.T` of your answer is right. Check which axis you put first.")
    check_shape(a, e.shape, what)
    check_finite(a, what)
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return
    if names is not None and e.ndim == 1 and len(names) == e.size:
        found = _pattern(a, e, what, rtol, atol) if e.size > 2 else None
        if found is None and np.any(e != 0) and np.allclose(a, -e, rtol=rtol, atol=atol):
            found = f"{what} has the wrong sign: every value is the negative of what it should be."
        nz = np.abs(e) > atol
        if found is None and nz.all() and e.size >= 2:
            r = a / e
            if np.allclose(r, r[0], rtol=1e-6) and not np.isclose(r[0], 1.0):
                found = (f"{what} is off by a constant factor of {r[0]:.4g}: check for a missing "
                         "or extra factor (2, 1/n, ...).")
        if found:
            raise Wrong(found)
        notes = []
        for name, ai, ei in zip(names, a, e):
            if np.isclose(ai, ei, rtol=rtol, atol=atol):
                notes.append(f"{name} is correct")
            elif ei != 0 and np.isclose(ai, -ei, rtol=rtol, atol=atol):
                notes.append(f"{name} is {ai:.4g} but should be {ei:.4g} (wrong sign)")
            else:
                notes.append(f"{name} is {ai:.4g} but should be {ei:.4g}")
        raise Wrong("; ".join(notes) + ".")
    raise Wrong(_diagnose(a, e, what, rtol, atol))


class Exercise:
    """One exercise. Subclasses set the class attributes and implement :meth:`verify`.

    Attributes:
        name: the variable or function the learner defines in the notebook.
        title: one line describing the task.
        hints: successive hints, from gentle to explicit.
        solution_code: the reference solution as code the learner can read.
    """

    name: str = "answer"
    title: str = ""
    hints: Sequence[str] = ()
    solution_code: str = ""

    def __init__(self) -> None:
        self._hints_shown = 0

    # -- to implement ---------------------------------------------------------------
    def reference(self) -> Any:
        """The correct answer (a value, or a function), used by the tests."""
        raise NotImplementedError

    def verify(self, answer: Any) -> str | None:
        """Raise :class:`Wrong` (or :class:`NotAttempted`) if ``answer`` is wrong.

        May return a message to show when it is right.
        """
        raise NotImplementedError

    # -- for the learner ------------------------------------------------------------
    def evaluate(self, answer: Any = _MISSING) -> CheckResult:
        """Check ``answer`` and return a :class:`CheckResult` (never raises for wrong answers)."""
        if answer is _MISSING:
            return CheckResult("not_attempted", f"define `{self.name}` in a cell above, run it, then check again.")
        if _is_blank(answer):
            return CheckResult("not_attempted", f"replace the blank ____ in `{self.name}` with your answer and run the cell.")
        try:
            msg = self.verify(answer)
        except NotAttempted as exc:
            return CheckResult("not_attempted", str(exc))
        except Wrong as exc:
            return CheckResult("incorrect", f"{exc} (Need help? Call `.hint()`.)")
        return CheckResult("correct", msg or "well done!")

    def check(self, answer: Any = _MISSING) -> CheckResult:
        """Check your answer: pass it, or let it be found by its name in the notebook."""
        if answer is _MISSING:
            frame = inspect.currentframe()
            caller = frame.f_back.f_globals if frame and frame.f_back else {}
            answer = caller.get(self.name, _MISSING)
        result = self.evaluate(answer)
        print(f"{self.title}\n{result}" if self.title else str(result))
        return _Quiet(result)

    def hint(self, n: int | None = None) -> None:
        """Print the next hint (or hint number ``n``, from 1)."""
        if not self.hints:
            print("No hint for this one: look at the section above it again.")
            return
        if n is None:
            self._hints_shown = min(self._hints_shown + 1, len(self.hints))
            n = self._hints_shown
        n = max(1, min(n, len(self.hints)))
        print(f"💡 Hint {n}/{len(self.hints)}: {self.hints[n - 1]}")

    def solution(self) -> None:
        """Print the reference solution."""
        print("Solution:\n" + textwrap.indent(textwrap.dedent(self.solution_code).strip(), "    "))


class _Quiet(CheckResult):
    """A CheckResult that does not repeat itself as the cell's output (it was printed)."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.status, result.message)

    def __repr__(self) -> str:
        return f"<check: {self.status}>"

    def _repr_html_(self) -> str:
        return ""

    def _ipython_display_(self) -> None:
        return None


__all__ = ["____", "Exercise", "CheckResult", "Wrong", "NotAttempted", "call", "as_array",
           "check_shape", "check_finite", "check_close"]
