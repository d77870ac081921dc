"""Residual networks of Day 09: residual blocks with identity or projection shortcuts, a small ResNet.

A residual block computes ``relu(F(x) + s(x))``: ``F`` is two 3x3 convolutions with batch
norm, ``s`` the *shortcut* -- the identity when ``x`` and ``F(x)`` have the same shape, or a
*projection* (a strided 1x1 convolution + batch norm) when the block changes the number of
channels or the resolution. A shortcut that does not produce ``F(x)``'s shape raises a
:class:`ShortcutShapeError` that names both shapes and says how to fix it.

:class:`ResNet` is the CIFAR-style ResNet of He et al. (2016) shrunk for 28x28 images:
a 3x3 stem, three stages of :class:`BasicBlock` (the 2nd and 3rd halve the resolution and
widen), global average pooling and one dense layer. ``residual=False`` removes every
shortcut and gives the *plain* network of the same depth (the degradation experiment).

Shapes: input ``(N, in_channels, H, W)`` float (pixels in [0, 1]); output logits
``(N, num_classes)``. Any ``H, W`` >= 4 works (the head pools globally).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .cnn import Standardize


class ShortcutShapeError(ValueError):
    """A residual branch and its shortcut give tensors of different shapes."""


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


class Residual(nn.Module):
    """``relu(body(x) + shortcut(x))`` for any two modules; checks that the shapes agree.

    Args:
        body: the residual branch ``F``.
        shortcut: the shortcut ``s`` (``None``: the identity).
        activation: apply a ReLU after the sum (as in ResNet); ``False`` returns the sum.
    """

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None,
                 activation: bool = True) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fx, sx = self.body(x), self.shortcut(x)
        if fx.shape != sx.shape:
            raise ShortcutShapeError(
                f"the residual branch gives shape {_shape(fx)} but the shortcut gives "
                f"{_shape(sx)}: they must be equal to be added. Use a projection shortcut "
                "(a 1x1 convolution with the block's stride and output channels) when a block "
                "changes the number of channels or the resolution."
            )
        out = fx + sx
        return torch.relu(out) if self.activation else out


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (batch norm follows it)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def projection(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """The projection shortcut: a strided 1x1 convolution and batch norm."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """ResNet's basic block: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``.

    Args:
        in_channels, out_channels: channels of the input and of the output.
        stride: 2 halves the resolution (in the first convolution and in the shortcut).
        shortcut: ``"identity"``, ``"projection"`` or ``"auto"`` (identity when the shapes
            allow it, else projection). ``"identity"`` with a change of channels or a stride
            raises :class:`ShortcutShapeError` at construction.
        residual: ``False`` drops the shortcut: a *plain* block of the same two layers.

    Shapes: ``(N, in_channels, H, W)`` -> ``(N, out_channels, ceil(H/stride), ceil(W/stride))``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 shortcut: str = "auto", residual: bool = True) -> None:
        super().__init__()
        if shortcut not in ("auto", "identity", "projection"):
            raise ValueError(f"shortcut must be 'auto', 'identity' or 'projection', got {shortcut!r}")
        fits = in_channels == out_channels and stride == 1
        if residual and shortcut == "identity" and not fits:
            raise ShortcutShapeError(
                f"an identity shortcut cannot work here: the block maps {in_channels} channels to "
                f"{out_channels} with stride {stride}, so x and F(x) have different shapes. "
                "Use shortcut='projection' (or 'auto')."
            )
        self.residual = residual
        self.conv1, self.bn1 = conv3x3(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)
        self.conv2, self.bn2 = conv3x3(out_channels, out_channels), nn.BatchNorm2d(out_channels)
        use_projection = residual and (shortcut == "projection" or (shortcut == "auto" and not fits))
        self.shortcut = projection(in_channels, out_channels, stride) if use_projection else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            sx = self.shortcut(x)
            if out.shape != sx.shape:
                raise ShortcutShapeError(
                    f"the residual branch gives shape {_shape(out)} but the shortcut gives "
                    f"{_shape(sx)}: use a projection shortcut."
                )
            out = out + sx
        return torch.relu(out)


class ResNet(nn.Module):
    """A small ResNet (CIFAR-style, He et al. 2016) for small images such as Fashion-MNIST.

    Args:
        in_channels, num_classes: input channels and number of classes.
        widths: channels of the three (or more) stages; each stage after the first halves
            the resolution with a stride-2 block.
        blocks: residual blocks per stage. The depth in weighted layers is
            ``2 * sum(blocks) + 2`` (stem + blocks + the dense head): ``(1, 1, 1)`` is a
            ResNet-8, ``(3, 3, 3)`` a ResNet-20.
        residual: ``False`` gives the plain network of the same depth (no shortcuts).
        stem_stride: 2 halves the resolution in the stem convolution (4x cheaper).
        stem_pool: a 2x2 max-pooling after the stem (as ImageNet ResNets do): the blocks
            work on 14x14, 7x7 and 4x4 maps of a 28x28 image.

    Shapes: ``(N, in_channels, H, W)`` float in [0, 1] -> logits ``(N, num_classes)``.
    ``ResNet()`` (widths 16/32/64, one block per stage) has about 78k parameters.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 widths: Sequence[int] = (16, 32, 64), blocks: Sequence[int] = (1, 1, 1),
                 residual: bool = True, stem_stride: int = 1, stem_pool: bool = False) -> None:
        super().__init__()
        if len(widths) != len(blocks) or not widths:
            raise ValueError(f"widths and blocks need one entry per stage, got {widths} and {blocks}")
        self.depth = 2 * sum(blocks) + 2
        self.residual = residual
        self.stem = nn.Sequential(Standardize(), conv3x3(in_channels, widths[0], stem_stride),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(),
                                  *([nn.MaxPool2d(2)] if stem_pool else []))
        layers, c = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(c, w, stride, residual=residual))
                c = w
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


__all__ = ["ShortcutShapeError", "Residual", "conv3x3", "projection", "BasicBlock", "ResNet"]
