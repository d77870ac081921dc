"""``setup()``: the first call of every notebook -- seeds, device, one line of facts."""

from __future__ import annotations

import importlib
import os
import platform
import random
import sys
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from . import profiles, state

FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow", "keras", "jax")


@dataclass
class Session:
    """What ``setup()`` decided.

    Attributes:
        notebook: the notebook's name, e.g. ``"01_line_fitting"``.
        profile: ``"smoke"``, ``"cpu"`` or ``"gpu"``.
        device: ``"cuda"`` or ``"cpu"`` (the string torch and our helpers accept).
        seed: the seed given to every random generator.
        rng: a NumPy ``Generator`` seeded with ``seed``; use it instead of ``np.random.*``.
    """

    notebook: str
    profile: str
    device: str
    seed: int
    rng: np.random.Generator = field(repr=False)


def seed_everything(seed: int = 0, frameworks: Iterable[str] = ()) -> None:
    """Seed Python, NumPy and every framework in ``frameworks`` that is already imported.

    JAX has no global seed: make keys with ``jax.random.key(seed)`` (see :func:`jax_key`).
    """
    random.seed(seed)
    np.random.seed(seed)
    names = set(frameworks) | {m for m in FRAMEWORKS if m in sys.modules}
    if "torch" in names:
        import torch

        torch.manual_seed(seed)
    if "tensorflow" in names:
        import tensorflow as tf

        tf.random.set_seed(seed)
    if "keras" in names:
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow" or "tensorflow" in sys.modules:
            keras.utils.set_random_seed(seed)  # seeds Python, NumPy and TensorFlow
        elif backend == "torch":
            import torch

            torch.manual_seed(seed)
        # JAX-backend Keras draws its randomness from keras.random.SeedGenerator, which
        # starts from the global NumPy/Python seeds set above: nothing more to do (and
        # keras.utils.set_random_seed would import TensorFlow for nothing).


class _QuietStderr:
    """Silence file descriptor 2 for a moment (TensorFlow's C++ start-up lines bypass Python)."""

    def __enter__(self):
        try:
            import sys as _sys

            _sys.stderr.flush()
            self._saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:  # no real fd 2 (rare embedded consoles): just do nothing
            self._saved = None
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        return False


_IMPORT_ORDER = ["torch", "jax", "tensorflow", "keras"]


def _preload_triton() -> None:
    """Load triton (PyTorch's GPU compiler), where installed, before TensorFlow.

    Both bring their own LLVM. Loaded after TensorFlow, triton's native library crashes the
    process (seen with tensorflow 2.20, torch 2.13 and triton 3.7 on Python 3.13: the first
    PyTorch optimizer imports it, and the kernel dies); loaded first, both work. CUDA builds of
    PyTorch (Colab's GPU runtimes) come with triton; CPU builds usually without.
    """
    import importlib.util

    if "triton" in sys.modules or "tensorflow" in sys.modules:
        return
    try:
        if importlib.util.find_spec("triton") is not None:
            importlib.import_module("triton")
    except Exception:  # a broken triton install: PyTorch will not use it either
        pass


def _import(name: str) -> None:
    """Import a framework; TensorFlow's harmless start-up log lines are kept out of the notebook."""
    if name in sys.modules:
        return
    if name == "tensorflow" or (name == "keras" and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow"):
        with _QuietStderr():
            importlib.import_module(name)
    else:
        importlib.import_module(name)


def share_gpu_memory() -> None:
    """Let TensorFlow, JAX and PyTorch share one GPU (Days 06 and 07 load all three).

    By default JAX pre-allocates 75 % of the GPU's memory and TensorFlow all of it, as soon as
    they first touch the GPU, leaving nothing for the others. These variables must be set
    before the framework initialises its GPU backend; setting one we already find is skipped,
    so a learner's own choice wins. Harmless without a GPU.
    """
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX: allocate as needed
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")       # TensorFlow: grow as needed


def _tf_memory_growth() -> None:
    """Ask TensorFlow to grow its GPU memory as needed (it may already have started: then skip)."""
    tf = sys.modules["tensorflow"]
    try:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except (RuntimeError, ValueError, AttributeError):  # GPUs already initialised: the env var did it
        pass


def jax_key(seed: int = 0):
    """A JAX PRNG key for ``seed`` (JAX threads randomness explicitly through keys)."""
    import jax

    return jax.random.key(seed)


def _style_plots() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "image.cmap": "viridis",
            "animation.embed_limit": 8.0,
        }
    )


def setup(
    notebook: str | None = None,
    *,
    seed: int = 0,
    frameworks: Iterable[str] = (),
    quiet: bool = False,
) -> Session:
    """Prepare a notebook: seed everything, pick the device, print one line.

    Args:
        notebook: the notebook's name (used in expectation records), e.g. ``"01_line_fitting"``.
        seed: seed for Python, NumPy and the frameworks.
        frameworks: frameworks to import and seed now, from ``torch``, ``tensorflow``,
            ``keras`` and ``jax`` (those already imported are seeded anyway).
        quiet: do not print the summary line.

    Returns:
        A :class:`Session` with the profile, device, seed and a seeded NumPy generator.
    """
    if isinstance(frameworks, str):  # setup(frameworks="torch") means one framework
        frameworks = [f.strip() for f in frameworks.replace(",", " ").split()]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"setup(seed=...) needs a whole number such as 0 or 42, got "
                        f"{type(seed).__name__} {seed!r}")
    wanted = list(frameworks)
    for name in wanted:
        if name not in FRAMEWORKS:
            raise ValueError(f"unknown framework {name!r}: choose from {', '.join(FRAMEWORKS)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up quiet
    share_gpu_memory()
    profile = profiles.active_profile()
    if "tensorflow" in wanted and ("torch" in wanted or "torch" in sys.modules):
        _preload_triton()
    for name in sorted(wanted, key=_IMPORT_ORDER.index):
        _import(name)
    if "tensorflow" in sys.modules:
        _tf_memory_growth()
    seed_everything(seed, wanted)
    device = "cuda" if profile == "gpu" and profiles.cuda_available() else "cpu"
    if profile == "gpu" and device == "cpu" and not quiet:
        print(f"[mlcourse] profile gpu was asked for ({profiles.ENV_VAR}), but no CUDA GPU is "
              "found: running the GPU sizes on the CPU (much slower).")
    name = notebook or os.environ.get(state.NOTEBOOK_ENV) or "notebook"
    state.set_notebook(name)
    _style_plots()
    if not quiet:
        print(summary_line(profile, device, seed))
    return Session(name, profile, device, seed, np.random.default_rng(seed))


def summary_line(profile: str, device: str, seed: int) -> str:
    """One line: profile, device, seed and the versions of what is loaded."""
    from . import __version__

    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    for mod in ("torch", "tensorflow", "keras", "jax"):
        if mod in sys.modules:
            parts.append(f"{mod} {getattr(sys.modules[mod], '__version__', '?')}")
    return (
        f"mlcourse {__version__} | profile: {profile} | device: {device} | seed: {seed} | "
        + ", ".join(parts)
    )
