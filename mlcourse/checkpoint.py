"""Checkpoint and resume long PyTorch trainings (Days 11 and 12), so that a Colab disconnect
loses minutes, not the run.

    ckpt = Checkpoint(res_dir / "gpt.pt")
    state = ckpt.load(model, optimizer)         # {} the first time
    step = state.get("step", 0)
    for step in range(step, total):
        ...
        if step % 500 == 0:
            ckpt.save(model, optimizer, step=step + 1, history=history)

Checkpoints live in :func:`checkpoint_dir`: ``$MLCOURSE_CHECKPOINTS``, or ``checkpoints/`` in
the data cache. On Colab that cache (``~/.cache``) is lost when the machine is recycled; to keep
a run across days, mount Google Drive and point ``MLCOURSE_CHECKPOINTS`` there, in a cell run
before the notebook's others::

    import os
    from google.colab import drive; drive.mount("/content/drive")
    os.environ["MLCOURSE_CHECKPOINTS"] = "/content/drive/MyDrive/dl12-checkpoints"

Files are written atomically (a temporary file, then a rename) and read back with
``torch.load(..., weights_only=True)``: only tensors and plain Python containers, never code.
Each file carries the SHA-256 of its contents, so a damaged file (cut short, a flipped byte) is
reported as damaged instead of loading wrong weights; extras that could not be loaded back
(NumPy arrays, paths, dates) are refused when saving, not discovered when resuming.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

CHECKPOINTS_ENV = "MLCOURSE_CHECKPOINTS"
FORMAT = 2  # 2: {"format", "sha256", "data": the torch.save bytes of the payload as uint8}
_START_OVER = "set START_OVER = True in the notebook (or delete the file) to train from scratch"


def _plain(value: Any, where: str) -> Any:
    """``value`` as tensors and plain Python (what ``weights_only=True`` loads), or TypeError.

    NumPy scalars become Python numbers (no information is lost); anything else that
    ``torch.load(..., weights_only=True)`` would refuse is refused now, naming the entry.
    """
    import numpy as np
    import torch

    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    hint = {"ndarray": "`.tolist()` or `torch.from_numpy(...)`", "PosixPath": "`str(path)`",
            "WindowsPath": "`str(path)`", "datetime": "`.isoformat()`"}.get(type(value).__name__,
                                                                              "a number, a string or a tensor")
    raise TypeError(f"cannot checkpoint {where}: a {type(value).__name__} could not be loaded back "
                    f"safely. Store it as {hint}.")


def checkpoint_dir() -> Path:
    """Where checkpoints are kept: ``$MLCOURSE_CHECKPOINTS`` or ``<data cache>/checkpoints``."""
    env = os.environ.get(CHECKPOINTS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from .data import data_dir

    return data_dir() / "checkpoints"


class Checkpoint:
    """One checkpoint file holding a model, an optimizer, and any plain-Python extras."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        """True when a checkpoint has been saved at ``path``."""
        return self.path.exists()

    def save(self, model, optimizer=None, **extra: Any) -> None:
        """Save ``model`` (and ``optimizer``) state dicts plus ``extra`` (step, history, ...).

        ``extra`` values must be tensors, numbers, strings, or lists/dicts of those (NumPy
        scalars are converted); anything else raises ``TypeError`` now, before the file is written.
        """
        import torch

        extra = {k: _plain(v, f"extra {k!r}") for k, v in extra.items()}
        payload = {"model": model.state_dict(), "extra": extra,
                   "torch_rng": torch.get_rng_state()}
        if optimizer is not None:
            payload["optimizer"] = optimizer.state_dict()
            payload["optimizer_defaults"] = _settings(optimizer.defaults)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getvalue()
        wrapped = {"format": FORMAT, "sha256": hashlib.sha256(data).hexdigest(),
                   "data": torch.frombuffer(bytearray(data), dtype=torch.uint8)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".part")
        os.close(fd)
        try:
            torch.save(wrapped, tmp)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load(self, model, optimizer=None, *, restore_rng: bool = True) -> dict[str, Any]:
        """Load a saved state into ``model`` (and ``optimizer``); return the extras.

        Returns ``{}`` when there is no checkpoint yet. Raises ``RuntimeError`` with advice
        when the file is damaged, or does not fit the model or the optimizer (e.g. the sizes
        changed since it was saved); then the model and optimizer are left as they were.
        Hyper-parameters of the optimizer that differ from the saved ones are reported (the
        saved ones are restored, as ``optimizer.load_state_dict`` does).
        """
        if not self.path.exists():
            return {}
        payload = self._read()
        import torch

        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        try:
            model.load_state_dict(payload["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            model.load_state_dict(before)
            raise RuntimeError(
                f"the checkpoint {self.path} does not fit this model (did its sizes change?). "
                f"To start over, {_START_OVER}. Details: {str(exc).splitlines()[0]}"
            ) from None
        if optimizer is not None and "optimizer" in payload:
            changed = _changed_hyperparameters(optimizer, payload["optimizer"], payload.get("optimizer_defaults"))
            try:
                optimizer.load_state_dict(payload["optimizer"])
            except (ValueError, RuntimeError, KeyError) as exc:
                model.load_state_dict(before)  # all or nothing: no half-loaded run
                raise RuntimeError(
                    f"the checkpoint {self.path} holds an optimizer that does not fit this one "
                    f"(another optimizer, or other parameters?). To start over, {_START_OVER}. "
                    f"Details: {str(exc).splitlines()[0]}"
                ) from None
            if changed:
                print(f"[checkpoint] {self.path.name} was trained with {', '.join(changed)}: "
                      f"resuming with the saved values ({_START_OVER} with the new ones).")
        if restore_rng and "torch_rng" in payload:
            torch.set_rng_state(payload["torch_rng"])
        return dict(payload.get("extra", {}))

    def _read(self) -> dict[str, Any]:
        """The payload of the file, checked against its SHA-256; RuntimeError if damaged."""
        import torch

        def damaged(why: str) -> RuntimeError:
            return RuntimeError(f"the checkpoint {self.path} is damaged ({why}): it cannot be "
                                f"resumed. {_START_OVER[0].upper() + _START_OVER[1:]}.")

        try:
            stored = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # cut short, garbage, not a torch file at all
            raise damaged(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no data'}") from None
        if not isinstance(stored, dict):
            raise damaged(f"it holds a {type(stored).__name__}, not a checkpoint")
        if "format" not in stored:
            return stored  # written before checksums (format 1): read as it is
        data = stored.get("data")
        if not isinstance(data, torch.Tensor) or hashlib.sha256(data.numpy().tobytes()).hexdigest() != stored.get("sha256"):
            raise damaged("its contents do not match their SHA-256")
        return torch.load(io.BytesIO(data.numpy().tobytes()), map_location="cpu", weights_only=True)

    def delete(self) -> None:
        """Remove the checkpoint (to start the training over)."""
        self.path.unlink(missing_ok=True)


def _settings(d: dict) -> dict[str, Any]:
    """The plain-valued entries of an optimizer's settings (numbers, strings, tuples of them)."""
    plain = (bool, int, float, str)
    return {k: v for k, v in d.items()
            if isinstance(v, plain) or (isinstance(v, tuple) and all(isinstance(x, plain) for x in v))}


def _changed_hyperparameters(optimizer, saved: dict, saved_defaults: dict | None) -> list[str]:
    """``["lr=0.001 (now 0.003)", ...]`` for the optimizer settings that differ from the saved ones.

    The learning rate is compared as it was given to the optimizer (``optimizer.defaults``),
    not as the param groups hold it: a schedule moves a group's ``lr`` at every step, so the
    saved ``lr`` differs from a fresh optimizer's even when no setting changed. (Checkpoints
    written without the defaults get no learning-rate comparison.)
    """
    out = []
    if saved_defaults is not None and "lr" in saved_defaults and saved_defaults["lr"] != optimizer.defaults.get("lr"):
        out.append(f"lr={saved_defaults['lr']} (now {optimizer.defaults.get('lr')})")
    current = optimizer.state_dict()
    for i, (now, then) in enumerate(zip(current.get("param_groups", []), saved.get("param_groups", []))):
        for key, value in then.items():
            if key in ("params", "lr", "initial_lr") or key not in now or now[key] == value:
                continue
            group = f" (group {i})" if len(current["param_groups"]) > 1 else ""
            out.append(f"{key}={value}{group} (now {now[key]})")
    return out
