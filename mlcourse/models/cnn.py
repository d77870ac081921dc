"""Convolutional classifiers of Day 08 (LeNet and a small AlexNet-style net) and their training loop.

Both models are ``nn.Sequential`` stacks, layer for layer the ones Day 08 builds in its
notebook, so weights trained there load here with ``load_state_dict``. They take images as
float tensors of shape ``(N, C, 28, 28)`` with pixel values in ``[0, 1]`` (their first layer,
:class:`Standardize`, centres and scales them) and return logits of shape ``(N, num_classes)``.

Typical use (Day 11 judges generated samples this way)::

    from mlcourse.models import cnn
    ds = mlcourse.data.load_fashion_mnist()
    x, y = cnn.images_to_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    model = cnn.MiniAlexNet()
    cnn.fit(model, x, y, epochs=5, augment=lambda b: cnn.augment_batch(b, shift=1, flip=False))
    probs = cnn.predict_proba(model, samples)          # (N, 10), rows sum to 1

Torch is imported by this module (``import mlcourse`` itself stays light).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FASHION_MEAN = 0.2860
FASHION_STD = 0.3530


class Standardize(nn.Module):
    """``(x - mean) / std`` with fixed numbers (no parameters): pixels in [0, 1] -> about N(0, 1)."""

    def __init__(self, mean: float = FASHION_MEAN, std: float = FASHION_STD) -> None:
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


class LeNet(nn.Sequential):
    """LeNet-5 (LeCun et al., 1998) for 28x28 images, with ReLU and max-pooling.

    Layers: 5x5 conv to 6 maps (padding 2) -> pool -> 5x5 conv to 16 maps -> pool ->
    dense 400 -> 120 -> 84 -> ``num_classes``. About 61.7k parameters for one input channel.

    Input ``(N, in_channels, 28, 28)`` float in [0, 1]; output logits ``(N, num_classes)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__(
            Standardize(),
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 6x14x14
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),                       # 16x5x5
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class MiniAlexNet(nn.Sequential):
    """A small AlexNet-style network for 28x28 images: five convolutions, ReLU, pooling, dropout.

    AlexNet's pattern scaled down: five 3x3 convolutions with ``w, 2w, 3w, 3w, 2w`` channels
    (AlexNet: 96, 256, 384, 384, 256), each followed by batch norm (the modern replacement of
    AlexNet's local response normalisation) and a ReLU; 2x2 max-pooling after the first, the
    second and the fifth (28 -> 14 -> 7 -> 3); then a classifier of two dense layers with
    dropout before each, as in AlexNet. ``width=24``: about 0.23M parameters.

    Input ``(N, in_channels, 28, 28)`` float in [0, 1]; output logits ``(N, num_classes)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 24,
                 dropout: float = 0.3, hidden: int = 256) -> None:
        w = width
        super().__init__(
            Standardize(),
            *_conv_bn_relu(in_channels, w), nn.MaxPool2d(2),                     # w x 14 x 14
            *_conv_bn_relu(w, 2 * w), nn.MaxPool2d(2),                           # 2w x 7 x 7
            *_conv_bn_relu(2 * w, 3 * w),
            *_conv_bn_relu(3 * w, 3 * w),
            *_conv_bn_relu(3 * w, 2 * w), nn.MaxPool2d(2),                       # 2w x 3 x 3
            nn.Flatten(),
            nn.Dropout(dropout), nn.Linear(2 * w * 9, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, num_classes),
        )


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def images_to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 images ``(N, H, W)`` (or ``(N, H, W, C)``) in 0..255 -> float32 ``(N, C, H, W)`` in [0, 1]."""
    arr = np.asarray(x)
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4:
        arr = arr.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C), got {arr.shape}")
    scale = 255.0 if arr.dtype == np.uint8 else 1.0
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32) / scale)


def augment_batch(x: torch.Tensor, shift: int = 2, flip: bool = True,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random translations by up to ``shift`` pixels and random left-right flips, per image.

    ``x`` is ``(N, C, H, W)``; the result has the same shape. Pixels shifted in are zeros.
    """
    n, c, h, w = x.shape
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift))
        di = torch.randint(0, 2 * shift + 1, (n,), generator=generator)
        dj = torch.randint(0, 2 * shift + 1, (n,), generator=generator)
        rows = (di[:, None] + torch.arange(h))[:, None, :, None]      # (N, 1, H, 1)
        cols = (dj[:, None] + torch.arange(w))[:, None, None, :]      # (N, 1, 1, W)
        x = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                   rows, cols]
    return x


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits ``(N, num_classes)`` of ``model`` in evaluation mode, computed in batches."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(x[i:i + batch_size].to(device)).cpu()
                     for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out


def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class probabilities ``(N, num_classes)`` (a softmax over the logits; rows sum to 1)."""
    return torch.softmax(predict_logits(model, x, batch_size), dim=1)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of ``x`` that ``model`` classifies as ``y`` (a float in [0, 1])."""
    pred = predict_logits(model, x, batch_size).argmax(1)
    return float((pred == torch.as_tensor(y)).float().mean())


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 3e-3,
    weight_decay: float = 5e-4,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    progress: bool = True,
    desc: str = "training",
    channels_last: bool = True,
) -> dict[str, list[float]]:
    """Train a classifier with AdamW and a one-cycle learning rate (Day 08's loop).

    Args:
        model: maps ``(B, C, H, W)`` float tensors to logits ``(B, K)``.
        x, y: training images ``(N, C, H, W)`` float32 and labels ``(N,)`` int64.
        epochs, batch_size: passes over the data and images per step.
        lr: the peak learning rate of the one-cycle schedule (warm-up, then cosine decay).
        weight_decay: AdamW's decoupled weight decay.
        augment: optional function applied to each training batch (e.g. :func:`augment_batch`).
        x_val, y_val: optional validation data, evaluated after each epoch.
        progress: show one tqdm bar for the whole run.
        channels_last: store the model's weights and each batch as ``(N, H, W, C)`` in
            memory (same shapes, same results): convolutions run about 1.5x faster on CPUs.

    Returns:
        A history: ``"step_loss"`` (one value per step), ``"train_loss"`` (mean per epoch),
        ``"val_acc"`` (per epoch, when validation data is given).
    """
    from tqdm.auto import tqdm

    y = torch.as_tensor(y)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    steps_per_epoch = math.ceil(len(x) / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch)
    hist: dict[str, list[float]] = {"step_loss": [], "train_loss": []}
    if x_val is not None:
        hist["val_acc"] = []
    bar = tqdm(total=epochs * steps_per_epoch, desc=desc, mininterval=1, disable=not progress)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        losses = []
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb)
            if xb.dim() == 4:
                xb = xb.contiguous(memory_format=fmt)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.update(1)
        hist["step_loss"] += losses
        hist["train_loss"].append(float(np.mean(losses)))
        if x_val is not None:
            hist["val_acc"].append(accuracy(model, x_val, y_val))
            bar.set_postfix(loss=f"{hist['train_loss'][-1]:.3f}", val_acc=f"{hist['val_acc'][-1]:.3f}")
        else:
            bar.set_postfix(loss=f"{hist['train_loss'][-1]:.3f}")
    bar.close()
    return hist


__all__ = ["Standardize", "LeNet", "MiniAlexNet", "count_parameters", "images_to_tensor",
           "augment_batch", "predict_logits", "predict_proba", "accuracy", "fit",
           "FASHION_MEAN", "FASHION_STD"]
