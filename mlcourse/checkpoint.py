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
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

CHECKPOINTS_ENV = "MLCOURSE_CHECKPOINTS"


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

        ``extra`` values must be tensors, numbers, strings, or lists/dicts of those.
        """
        import torch

        payload = {"model": model.state_dict(), "extra": extra,
                   "torch_rng": torch.get_rng_state()}
        if optimizer is not None:
            payload["optimizer"] = optimizer.state_dict()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".part")
        os.close(fd)
        try:
            torch.save(payload, tmp)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load(self, model, optimizer=None, *, restore_rng: bool = True) -> dict[str, Any]:
        """Load a saved state into ``model`` (and ``optimizer``); return the extras.

        Returns ``{}`` when there is no checkpoint yet. Raises ``RuntimeError`` with advice
        when the file does not fit the model (e.g. the sizes changed since it was saved).
        """
        if not self.path.exists():
            return {}
        import torch

        payload = torch.load(self.path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(payload["model"])
        except RuntimeError as exc:
            raise RuntimeError(
                f"the checkpoint {self.path} does not fit this model (did its sizes change?). "
                f"To start over, set START_OVER = True in the notebook (or delete the file). "
                f"Details: {str(exc).splitlines()[0]}"
            ) from None
        if optimizer is not None and "optimizer" in payload:
            optimizer.load_state_dict(payload["optimizer"])
        if restore_rng and "torch_rng" in payload:
            torch.set_rng_state(payload["torch_rng"])
        return dict(payload.get("extra", {}))

    def delete(self) -> None:
        """Remove the checkpoint (to start the training over)."""
        self.path.unlink(missing_ok=True)
