"""Profiles: one switch that decides sizes everywhere.

Three profiles exist:

* ``smoke`` -- CI: every notebook runs top to bottom in seconds, results only have to be sane;
* ``cpu``   -- the default full course on a laptop or a free Colab CPU;
* ``gpu``   -- chosen automatically when a CUDA GPU is found.

The environment variable ``MLCOURSE_PROFILE`` overrides the detection. Notebooks choose
their sizes through one call, :func:`pick`, never by editing numbers::

    epochs = mlcourse.pick(smoke=1, cpu=10, gpu=20)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any, TypeVar

PROFILES: tuple[str, ...] = ("smoke", "cpu", "gpu")
ENV_VAR = "MLCOURSE_PROFILE"

T = TypeVar("T")
_detected: str | None = None


class ProfileError(ValueError):
    """An unknown profile name was given."""


def check_profile(name: str) -> str:
    """Return ``name`` normalised, or raise :class:`ProfileError` listing the valid ones."""
    norm = str(name).strip().lower()
    if norm not in PROFILES:
        raise ProfileError(
            f"unknown profile {name!r}: the valid profiles are {', '.join(PROFILES)} "
            f"(set {ENV_VAR} to one of them, or unset it to detect automatically)"
        )
    return norm


def cuda_available() -> bool:
    """True when a CUDA GPU can be used, found without importing a framework if possible.

    If torch is already imported we ask it; otherwise we look for ``nvidia-smi`` and ask it
    to list the GPUs (cheap, and it keeps ``import mlcourse`` light).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            return bool(torch.cuda.is_available())
        except Exception:  # pragma: no cover - broken CUDA installs
            return False
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def active_profile() -> str:
    """The profile in force: ``MLCOURSE_PROFILE`` if set, else ``gpu`` with CUDA, else ``cpu``."""
    global _detected
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return check_profile(env)
    if _detected is None:
        _detected = "gpu" if cuda_available() else "cpu"
    return _detected


def pick(*, smoke: T, cpu: T, gpu: T | None = None, profile: str | None = None) -> T:
    """Choose a value for the active profile.

    Args:
        smoke: value for CI runs (keep it tiny).
        cpu: value for the full course on a CPU.
        gpu: value on a GPU; defaults to the ``cpu`` value.
        profile: force a profile instead of the active one (mostly for tests).

    Example:
        >>> pick(smoke=1, cpu=10, profile="smoke")
        1
    """
    name = check_profile(profile) if profile is not None else active_profile()
    choices: dict[str, Any] = {"smoke": smoke, "cpu": cpu, "gpu": cpu if gpu is None else gpu}
    return choices[name]
