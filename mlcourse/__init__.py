"""mlcourse -- the shared helpers of *Deep Learning in 12 Days*.

``import mlcourse`` is light (NumPy only); the frameworks, plots and data are imported the
first time they are used. The names a notebook needs most::

    import mlcourse
    ctx = mlcourse.setup("01_line_fitting")       # seeds, device, one line of facts
    n = mlcourse.pick(smoke=10, cpu=1000)          # sizes per profile
    mlcourse.expect("test_accuracy", acc, at_least=0.99)   # headline results
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.6.0"

from .expect import ExpectationError, expect
from .profiles import PROFILES, ProfileError, active_profile, pick
from .session import Session, seed_everything, setup

_SUBMODULES = {"data", "generators", "plots", "exercises", "timing", "colab", "net", "models",
               "checkpoint", "shapes"}


def __getattr__(name: str) -> Any:
    """Import submodules on first use (``mlcourse.plots``, ``mlcourse.data``, ...)."""
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists but something it imports is missing
    raise AttributeError(f"module 'mlcourse' has no attribute {name!r}")


__all__ = ["__version__", "setup", "pick", "expect", "active_profile", "seed_everything",
           "Session", "PROFILES", "ProfileError", "ExpectationError", *sorted(_SUBMODULES)]
