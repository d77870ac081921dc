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

import contextlib
import contextvars
import inspect
import random
import signal
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

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


# State of the check in progress (set by Exercise.evaluate; defaults hold outside a check).
_PRECISION: contextvars.ContextVar[str] = contextvars.ContextVar("precision", default="float64")
_NOTES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("notes", default=None)
_TIME_LIMIT: contextvars.ContextVar[float] = contextvars.ContextVar("time_limit", default=20.0)


class _TimeLimit(BaseException):
    """Raised inside the learner's function when it runs past the time limit.

    A BaseException, so that the learner's own ``except Exception:`` cannot swallow it.
    """


def _note(message: str) -> None:
    """Remember a remark to show with the result (e.g. an input changed in place)."""
    notes = _NOTES.get()
    if notes is not None and message not in notes:
        notes.append(message)


def _copy(value: Any) -> Any:
    """A private copy of an array argument (NumPy, or a torch tensor that needs no gradient)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value).__module__.startswith("torch") and hasattr(value, "clone") \
            and not getattr(value, "requires_grad", True):
        return value.clone()
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return [v.copy() for v in value]
    if isinstance(value, list) and all(isinstance(v, (int, float, str)) for v in value):
        return list(value)  # e.g. token ids: an answer that edits them in place gets a note
    return value


def _same(a: Any, b: Any) -> bool:
    """Whether the argument ``a`` still equals its copy ``b`` (NaNs equal)."""
    if a is b:
        return True
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if not hasattr(a, "shape"):
        return bool(a == b)
    if hasattr(a, "detach"):
        import torch  # already imported: ``a`` is a tensor

        return a.shape == b.shape and bool(torch.equal(a, b) or torch.allclose(a, b, equal_nan=True, rtol=0, atol=0))
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


@contextlib.contextmanager
def _time_limit(seconds: float, what: str) -> Iterator[None]:
    """Stop the block after ``seconds`` with :class:`Wrong` (an infinite loop, usually).

    Uses a timer signal, so it works in the main thread of a POSIX kernel (Linux, macOS,
    Colab), where notebooks run their cells; elsewhere (Windows, a thread) there is no limit.
    Ctrl-C and Jupyter's Interrupt are untouched: they still raise KeyboardInterrupt.
    """
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return
    state = {"active": True}

    def handler(signum: int, frame: Any) -> None:
        if state["active"]:
            raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, handler)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)  # e.g. pytest-timeout's own alarm
    started = time.monotonic()
    try:
        yield
        state["active"] = False
    except _TimeLimit:
        raise Wrong(f"{what} was still running after {seconds:g} seconds, so the check stopped it. "
                    "The usual cause is a loop that never ends: check that every `while` condition "
                    "eventually becomes false (does the loop change the variable it tests?).") from None
    finally:
        state["active"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:  # give an outer alarm back what is left of its time
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


def call(fn: Any, *args: Any, what: str = "your function", copy: bool = True) -> Any:
    """Call the learner's function; turn its failures into plain explanations.

    Array arguments are passed as private copies (``copy=False`` passes them as they are), so
    an answer that changes its input in place is judged on its result; it gets a note that it
    changed its input. The call is stopped after the exercise's time limit.

    Raises:
        NotAttempted: the function still contains the blank ``____`` or raises
            ``NotImplementedError``.
        Wrong: it is not callable, it raised an exception, or it ran past the time limit.
    """
    if _is_blank(fn):
        raise NotAttempted("fill in the blank ____ and run the cell again.")
    if not callable(fn):
        raise Wrong(f"{what} should be a function, but it is a {type(fn).__name__}.")
    passed = [_copy(a) for a in args] if copy else list(args)
    try:
        with _time_limit(_TIME_LIMIT.get(), what):
            out = fn(*passed)
    except (Wrong, NotAttempted):
        raise
    except Exception as exc:
        msg = str(exc)
        # a bare `raise NotImplementedError` is an unwritten answer; PyTorch raises the same class for an
        # operation its dtype lacks ("bitwise_xor_cpu" not implemented for 'Double'), a real mistake
        if isinstance(exc, NotImplementedError) and "not implemented for" not in msg:
            raise NotAttempted("your function still raises NotImplementedError.") from None
        if "____" in msg or "_Blank" in msg:
            raise NotAttempted("your function still contains the blank ____.") from None
        advice = " Run it on a small example in a cell of its own to see where it breaks."
        if "broadcast" in msg:
            advice = (" Read the two shapes in the message from the right: the last axes must be"
                      " equal or 1. Turning a vector into a column with `v[:, None]` often fixes it.")
        elif "bitwise_xor" in msg or "unsupported operand type(s) for ^" in msg:
            advice = " In Python `^` is not a power (it is bitwise XOR): write `x ** 2` for a square."
        elif "matmul" in msg and "mismatch in its core dimension" in msg:
            advice = (" For `A @ B` the last size of A must equal the first size of B (e.g. (N, 3) @ (3, K));"
                      " print both shapes: one of them is probably transposed (`.T`).")
        elif "arrays can be converted to Python scalars" in msg or "0-dimensional arrays" in msg:
            advice = (" `math.exp`, `math.log` and `math.sqrt` take one number only: use `np.exp`, `np.log`"
                      " and `np.sqrt`, which work on whole arrays.")
        elif "only one element tensors can be converted" in msg:
            advice = (" `float()`, `math.exp`, `math.log` and `math.sqrt` take one number only: for a whole tensor"
                      " use `torch.exp`, `torch.log` and `torch.sqrt` (or `** 0.5`), and keep it a tensor.")
        raise Wrong(f"{what} raised {type(exc).__name__}: {msg}.{advice}") from None
    if copy:
        for original, given in zip(args, passed):
            if given is not original and not _same(given, original):
                _note(f"{what} changes its input in place (an argument was modified). The check "
                      "judged the result only, but the caller's data is changed too: compute on a "
                      "copy (e.g. `x = x - m` instead of `x -= m`, or a new list instead of "
                      "`ids.pop()`) unless that is what you want.")
                break
    if _is_blank(out):
        raise NotAttempted("your function still returns the blank ____.")
    return out


def as_array(value: Any, what: str = "your answer") -> np.ndarray:
    """Convert an answer to a float NumPy array, or explain why it cannot be one."""
    if _is_blank(value):
        raise NotAttempted("fill in the blank ____ and run the cell again.")
    if value is None:
        raise Wrong(f"{what} is None. Did you forget a `return` (or to assign the variable)?")
    if isinstance(value, dict):
        raise Wrong(f"{what} is a dict (with keys {', '.join(map(repr, list(value)[:4]))}); return the values "
                    "themselves, e.g. `return a, b`, in the order the exercise asks for.")
    if isinstance(value, (str, bytes)):
        raise Wrong(f"{what} should be a number or an array of numbers, but it is text: {value!r:.60}. "
                    "Remove the quotes.")
    if hasattr(value, "detach"):  # torch tensors
        value = value.detach().cpu()
        value = (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    _remember_precision(value)
    try:
        raw = np.asarray(value)
        if np.iscomplexobj(raw):
            raise Wrong(f"{what} contains complex numbers (dtype {raw.dtype}), but it should be real. "
                        "In Python, a fractional power of a negative number is complex "
                        "(`(-4) ** 0.5` is `1.2e-16+2j`): check the sign of what you take the root or "
                        "power of.")
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(_ragged(value, what) or f"{what} should be a number or an array of numbers, "
                    f"but it is a {type(value).__name__}: {value!r:.60}") from None
    return arr


def _ragged(value: Any, what: str) -> str | None:
    """Explain a tuple or list whose parts have different shapes (e.g. one per-point array
    where a single number was wanted), or None if that is not the problem."""
    if not isinstance(value, (tuple, list)) or len(value) < 2:
        return None
    try:
        shapes = [np.shape(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(set(shapes)) < 2:
        return None
    parts = ", ".join(f"part {k + 1} " + ("is a single number" if s == () else f"has shape {s}")
                      for k, s in enumerate(shapes[:4]))
    return (f"{what} is a {type(value).__name__} whose parts have different shapes: {parts}. "
            "If each part should be one number, reduce the longer one (e.g. with `np.mean` or "
            "`.sum()`); otherwise check which part is computed differently.")


_RANK = {"float16": 0, "bfloat16": 0, "float32": 1, "float64": 2}


def _remember_precision(value: Any) -> None:
    """Record the lowest float precision met in this check (a float32 answer gets a float32 tolerance)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        name = str(getattr(item, "dtype", "float64")).rsplit(".", 1)[-1]
        if name in _RANK and _RANK[name] < _RANK[_PRECISION.get()]:
            _PRECISION.set(name)


def tolerance_for(value: Any) -> dict[str, float]:
    """``rtol``/``atol`` for :func:`check_close` that fit the answer's precision.

    A right answer computed in float32 (or float16) differs from a float64 reference by its own
    rounding: about 1e-7 (1e-3) of each number, and more after a sum or an exp of inputs near
    1000 (whose float32 spacing is 6e-5). It must not be called wrong for that.
    """
    name = str(getattr(value, "dtype", _PRECISION.get()))
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
        elif arr.size == int(np.prod(shape)) and [d for d in arr.shape if d != 1] == [d for d in shape if d != 1]:
            extra = (" The values fit, but there is an extra (or missing) axis of length 1: drop one with"
                     " `.squeeze(axis)` or `keepdims=False`, or add one with `[:, None]`.")
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


def pair_str(a: float, e: float) -> tuple[str, str]:
    """Format two different numbers with just enough digits to show that they differ."""
    a, e = float(a), float(e)
    for digits in range(4, 18):
        sa, se = f"{a:.{digits}g}", f"{e:.{digits}g}"
        if sa != se:
            return sa, se
    return repr(a), repr(e)


def _pattern(a: np.ndarray, e: np.ndarray, what: str, rtol: float, atol: float) -> str | None:
    """Name a mistake that affects every value alike (zeros, sign, factor, offset), or None."""
    if np.all(a == 0) and np.any(np.abs(e) > atol):
        one = "is 0" if a.size == 1 else "is all zeros"
        return (f"{what} {one}, but it should not be. Did you return an array before filling it "
                "in (e.g. the `np.zeros_like` you started from), or multiply by something that is 0?")
    if np.any(e != 0) and np.allclose(a, -e, rtol=rtol, atol=atol):
        return f"{what} has the wrong sign: every value is the negative of what it should be."
    nz = np.abs(e) > atol
    if nz.sum() >= 2:  # one number alone cannot tell a scale mistake from any other
        ratio = a[nz] / e[nz]
        r = ratio.flat[0]
        if (r != 0 and np.allclose(ratio, r, rtol=max(rtol, 1e-6)) and abs(r - 1.0) > 1e-3
                and np.allclose(a, r * e, rtol=rtol, atol=atol)):  # zeros where e is 0, too
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
        sa, se = pair_str(a, e)
        return f"{what} is {sa}, but it should be {se}."
    worst = float(np.max(np.abs(a - e)))
    return f"{what} is not right yet: the largest difference from the correct values is {worst:.3g}."


def check_close(actual: Any, expected: Any, what: str = "your answer", *,
                rtol: float = 1e-6, atol: float = 1e-8,
                names: Sequence[str] | None = None) -> None:
    """Compare numbers/arrays; explain shape, NaN, sign, scale and offset mistakes.

    Extra axes of length 1 are forgiven (``[0.5]`` is accepted for ``0.5``). With ``names``
    (one per entry of a small result, e.g. ``("dw", "db")``) each entry is judged on its own.
    The tolerance is widened to fit the answer's precision: a float32 answer is compared as
    float32 (see :func:`tolerance_for`).
    """
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=np.float64)
    fit = tolerance_for(None)
    rtol, atol = max(rtol, fit["rtol"]), max(atol, fit["atol"])
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
        found = _pattern(a, e, what, rtol, atol) if e.size > 2 or np.all(a == 0) else None
        if found is None and np.any(e != 0) and np.allclose(a, -e, rtol=rtol, atol=atol):
            found = f"{what} has the wrong sign: every value is the negative of what it should be."
        nz = np.abs(e) > atol
        if found is None and nz.all() and e.size >= 2:
            r = a / e
            if np.allclose(r, r[0], rtol=1e-6) and not np.isclose(r[0], 1.0, rtol=rtol):
                found = (f"{what} is off by a constant factor of {r[0]:.4g}: check for a missing "
                         "or extra factor (2, 1/n, ...).")
        if found:
            raise Wrong(found)
        notes = []
        for name, ai, ei in zip(names, a, e):
            if np.isclose(ai, ei, rtol=rtol, atol=atol):
                notes.append(f"{name} is correct")
            elif ei != 0 and np.isclose(ai, -ei, rtol=rtol, atol=atol):
                notes.append("{} is {} but should be {} (wrong sign)".format(name, *pair_str(ai, ei)))
            else:
                notes.append("{} is {} but should be {}".format(name, *pair_str(ai, ei)))
        raise Wrong("; ".join(notes) + ".")
    raise Wrong(_diagnose(a, e, what, rtol, atol))


@contextlib.contextmanager
def _rng_untouched() -> Iterator[None]:
    """Restore the global random states (Python, NumPy, torch) after a check.

    A check that trains a tiny model, or calls the learner's function, draws random numbers;
    the notebook's next cell must see the same random stream as if no check had run.
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    torch = sys.modules.get("torch")
    t_state = torch.get_rng_state() if torch is not None else None
    cuda = torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized()
    cuda_state = torch.cuda.get_rng_state_all() if cuda else None
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if t_state is not None:
            torch.set_rng_state(t_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)


def _shapes(args: Sequence[Any]) -> str:
    """``(shapes (7, 3) and (4, 3))``-style description of the array arguments, for messages."""
    shapes = [str(tuple(a.shape)) for a in args if hasattr(a, "shape") and len(getattr(a, "shape", ())) > 0]
    if not shapes:
        return ""
    return f" (shape{'s' if len(shapes) > 1 else ''} {', '.join(shapes)})"


class Exercise:
    """One exercise. Subclasses set the class attributes and implement :meth:`verify`.

    Attributes:
        name: the variable or function the learner defines in the notebook.
        title: one line describing the task.
        hints: a ladder, from the idea to the key step; the full code lives in ``solution()``.
        solution_code: the reference solution as code the learner can read.
        time_limit: seconds one call of the learner's function may take (an infinite loop is stopped).
        fresh_trials: how many fresh random inputs :meth:`fresh_args` draws after ``verify`` passes.
        copy_args: pass array arguments as private copies (False where the function must act on
            the very array it gets, e.g. nudging ``x`` that a closure reads).
    """

    name: str = "answer"
    title: str = ""
    hints: Sequence[str] = ()
    solution_code: str = ""
    time_limit: float = 20.0
    fresh_trials: int = 3
    copy_args: bool = True

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

    def fresh_args(self, rng: np.random.Generator) -> tuple | None:
        """New random arguments for the learner's function, drawn at every check (or None).

        ``verify`` tests fixed, readable inputs; these catch an answer that ignores its inputs
        (returns numbers copied from an example, or uses the notebook's variables instead).
        """
        return None

    def fresh_compare(self, out: Any, want: Any) -> None:
        """Compare the learner's output with the reference's on fresh inputs (raise Wrong)."""
        if isinstance(want, (tuple, list)) and not isinstance(want, np.ndarray):
            if hasattr(out, "shape") and len(getattr(out, "shape", ())) >= 1 and out.shape[0] == len(want):
                out = list(out)  # an array of the right values is as good as a tuple
            if not isinstance(out, (tuple, list)) or len(out) != len(want):
                raise Wrong(f"it should return {len(want)} values, but returned {type(out).__name__}.")
            for k, (o, w) in enumerate(zip(out, want)):
                check_close(o, w, f"value {k + 1} of the result")
            return
        check_close(out, want, "the result")

    # -- the check ------------------------------------------------------------------
    def _check_fresh(self, fn: Any) -> None:
        rng = np.random.default_rng()  # new inputs at every check; the global RNGs are not used
        for _ in range(self.fresh_trials):
            args = self.fresh_args(rng)
            if args is None:
                return
            want = self.reference()(*([_copy(a) for a in args] if self.copy_args else args))
            try:
                out = call(fn, *args, what=f"`{self.name}`", copy=self.copy_args)
                self.fresh_compare(out, want)
            except Wrong as exc:
                raise Wrong(f"right on the check's example, but not on new random inputs{_shapes(args)}: "
                            f"{exc} Does your function use its arguments only (not numbers copied from "
                            "an example, nor variables of the notebook)?") from None

    def evaluate(self, answer: Any = _MISSING) -> CheckResult:
        """Check ``answer`` and return a :class:`CheckResult` (never raises for wrong answers).

        The global random states are left as they were, each call of the learner's function is
        stopped after ``time_limit`` seconds, and a function is also tried on fresh random inputs.
        """
        if answer is _MISSING:
            return CheckResult("not_attempted", f"define `{self.name}` in a cell above, run it, then check again.")
        if _is_blank(answer):
            return CheckResult("not_attempted", f"replace the blank ____ in `{self.name}` with your answer and run the cell.")
        notes: list[str] = []
        tokens = (_NOTES.set(notes), _PRECISION.set("float64"), _TIME_LIMIT.set(self.time_limit))
        try:
            with _rng_untouched(), np.errstate(all="ignore"):
                msg = self.verify(answer)
                if callable(answer):
                    self._check_fresh(answer)
        except NotAttempted as exc:
            return CheckResult("not_attempted", str(exc))
        except Wrong as exc:
            return CheckResult("incorrect", f"{exc} (Need help? Call `.hint()`.)")
        finally:
            for var, token in zip((_NOTES, _PRECISION, _TIME_LIMIT), tokens):
                var.reset(token)
        extra = "".join(f"\nNote: {n}" for n in notes)
        return CheckResult("correct", (msg or "well done!") + extra)

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

    def solution_function(self):
        """The function that ``solution_code`` defines (named ``self.name``), run with ``np`` available.

        For exercises whose reference is exactly the printed solution: one copy of the code,
        and the solution a learner is shown is the one the check trusts.
        """
        namespace: dict = {"np": np}
        exec(textwrap.dedent(self.solution_code), namespace)  # noqa: S102 -- our own code, not input
        return namespace[self.name]


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
           "check_shape", "check_finite", "check_close", "tolerance_for", "pair_str"]
