"""Process-wide state shared by :mod:`mlcourse.session` and :mod:`mlcourse.expect`."""

from __future__ import annotations

import os
import time

NOTEBOOK_ENV = "MLCOURSE_NOTEBOOK"
_state: dict[str, object] = {"notebook": None, "t0": time.perf_counter()}


def set_notebook(name: str | None) -> None:
    """Remember the notebook's name and restart its clock (called by ``setup()``)."""
    _state["notebook"] = name
    _state["t0"] = time.perf_counter()


def notebook_name() -> str:
    """The notebook's name: ``MLCOURSE_NOTEBOOK`` if set, else what ``setup()`` was given."""
    return os.environ.get(NOTEBOOK_ENV) or str(_state["notebook"] or "unknown")


def started_at() -> float:
    """``time.perf_counter()`` at the last ``setup()`` (or at import)."""
    return float(_state["t0"])  # type: ignore[arg-type]
