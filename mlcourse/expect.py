"""Expectations: the headline results of a notebook, checked per profile.

``expect("test_accuracy", acc, at_least=0.99)`` prints the value, raises
:class:`ExpectationError` when the value misses the bar for the active profile, and, when the
environment variable ``MLCOURSE_RESULTS`` names a file, appends one JSON line to it::

    {"notebook": "01_line_fitting", "profile": "cpu", "metric": "test_accuracy",
     "value": 0.995, "bar": ">= 0.99", "passed": true, "seconds": 12.3}

A bar may be one number for every profile or a dict per profile, e.g.
``at_least={"smoke": 0.5, "cpu": 0.99}`` (``gpu`` falls back to ``cpu``). A profile whose bar
is missing or ``None`` only requires a finite value: that is how a smoke run stays "sane"
without promising a number it is too short to reach.

A bar that a profile is known not to reach (say, a target that needs a GPU's compute) stays the
bar: ``known_miss={"cpu": "why"}`` makes a miss in that profile print ✘ with the reason and be
recorded with ``"passed": false``, without stopping the notebook. A NaN or infinite value still
raises.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Mapping, Union

from . import profiles, state

Bar = Union[float, int, Mapping[str, Union[float, int, None]], None]
RESULTS_ENV = "MLCOURSE_RESULTS"


class ExpectationError(AssertionError):
    """A headline result missed its bar for the active profile."""


def _bar_for(bar: Bar, profile: str) -> float | None:
    if bar is None or isinstance(bar, (int, float)):
        return None if bar is None else float(bar)
    if not isinstance(bar, Mapping):
        raise TypeError(f"a bar must be a number or a dict per profile, got {type(bar).__name__}")
    for key in bar:
        profiles.check_profile(key)
    if profile in bar:
        value = bar[profile]
    elif profile == "gpu":
        value = bar.get("cpu")
    else:
        value = None
    return None if value is None else float(value)


def _as_float(value: object, metric: str) -> float:
    shape = tuple(getattr(value, "shape", ()))
    if shape and math.prod(shape) != 1:
        raise TypeError(
            f"expect({metric!r}, ...) needs one number, got {type(value).__name__} of shape "
            f"{shape}: reduce it first (e.g. `.mean()`), or pick one entry."
        )
    try:
        if hasattr(value, "item"):
            value = value.item()  # numpy / torch / jax scalars
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"expect({metric!r}, ...) needs a number, got {type(value).__name__}: {value!r:.80}"
        ) from None


def expect(
    metric: str,
    value: object,
    *,
    at_least: Bar = None,
    at_most: Bar = None,
    profile: str | None = None,
    fmt: str = ".4g",
    known_miss: Mapping[str, str] | None = None,
) -> float:
    """Print ``metric = value``, check it against the bar of the active profile, record it.

    Args:
        metric: short snake_case name, e.g. ``"test_accuracy"``.
        value: a number (Python, NumPy, torch or JAX scalar).
        at_least: lower bar (number, or dict per profile).
        at_most: upper bar (number, or dict per profile).
        profile: force a profile (tests); default the active one.
        fmt: format spec used when printing the value.
        known_miss: ``{profile: reason}`` for profiles known to miss the bar: there a miss is
            printed and recorded as missed, with the reason, but does not raise.

    Returns:
        The value as a float.

    Raises:
        ExpectationError: the value is NaN/inf, or misses the bar in a profile not listed in
            ``known_miss``.
        ProfileError: an unknown profile name (in ``profile`` or in a bar dict).
    """
    name = profiles.check_profile(profile) if profile is not None else profiles.active_profile()
    for key in known_miss or {}:
        profiles.check_profile(key)
    x = _as_float(value, metric)
    lo, hi = _bar_for(at_least, name), _bar_for(at_most, name)
    parts = []
    if lo is not None:
        parts.append(f">= {lo:g}")
    if hi is not None:
        parts.append(f"<= {hi:g}")
    bar_text = " and ".join(parts) if parts else "finite"
    passed = math.isfinite(x) and (lo is None or x >= lo) and (hi is None or x <= hi)

    reason = (known_miss or {}).get(name) if math.isfinite(x) and not passed else None
    mark = "✔" if passed else "✘"
    print(f"{mark} {metric} = {x:{fmt}}   (expected {bar_text}, profile {name})")
    _record(metric, x, bar_text, passed, name, reason)
    if reason:
        print(f"  missed, as known for the {name!r} profile: {reason}")
    elif not passed:
        raise ExpectationError(
            f"{metric} = {x:{fmt}} misses its bar ({bar_text}) in the {name!r} profile. "
            "Something in the cells above did not learn what it should: rerun the notebook "
            "from the top (Kernel > Restart & Run All) and, if it still fails, compare your "
            "changes with the original notebook."
        )
    return x


def _record(metric: str, value: float, bar: str, passed: bool, profile: str,
            known_miss: str | None = None) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    rec = {
        "notebook": state.notebook_name(),
        "profile": profile,
        "metric": metric,
        "value": value if math.isfinite(value) else str(value),
        "bar": bar,
        "passed": passed,
        "seconds": round(time.perf_counter() - state.started_at(), 3),
    }
    if known_miss:
        rec["known_miss"] = known_miss
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
    except OSError as exc:  # the value is printed above; only the record is lost
        print(f"  (not recorded: cannot write {RESULTS_ENV}={path}: {exc.strerror or exc})")
