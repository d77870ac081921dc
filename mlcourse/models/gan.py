"""GANs of Day 11: a DCGAN for 28x28 images, and the PatchGAN discriminator of Pix2Pix/CycleGAN.

DCGAN (Radford et al., 2016): the generator turns a noise vector into an image with
transposed convolutions, batch norm and ReLU, ending in ``tanh`` (pixels in [-1, 1]); the
discriminator is a strided CNN with LeakyReLU that outputs one *logit* per image ("real?").

PatchGAN (Isola et al., 2017): a fully convolutional discriminator that outputs one logit per
overlapping patch, so it judges local texture and sharpness; used with a U-Net generator.

Shapes: ``Generator``: ``(N, z_dim)`` -> ``(N, 1, 28, 28)``; ``Discriminator``:
``(N, 1, 28, 28)`` -> ``(N,)``; ``PatchDiscriminator(in_channels)``: ``(N, C, 28, 28)`` ->
``(N, 1, 7, 7)``.
"""

from __future__ import annotations

import torch
from torch import nn


class Generator(nn.Module):
    """DCGAN generator: noise ``(N, z_dim)`` -> image ``(N, channels, 28, 28)`` in [-1, 1]."""

    def __init__(self, z_dim: int = 64, base: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, 4 * base * 7 * 7, bias=False), nn.Unflatten(1, (4 * base, 7, 7)),
            nn.BatchNorm2d(4 * base), nn.ReLU(),
            nn.ConvTranspose2d(4 * base, 2 * base, 4, stride=2, padding=1, bias=False),   # 14x14
            nn.BatchNorm2d(2 * base), nn.ReLU(),
            nn.ConvTranspose2d(2 * base, base, 4, stride=2, padding=1, bias=False),       # 28x28
            nn.BatchNorm2d(base), nn.ReLU(),
            nn.Conv2d(base, channels, 3, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """DCGAN discriminator: image ``(N, channels, 28, 28)`` in [-1, 1] -> one logit per image ``(N,)``."""

    def __init__(self, base: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2),          # 14x14
            nn.Conv2d(base, 2 * base, 4, stride=2, padding=1, bias=False),                 # 7x7
            nn.BatchNorm2d(2 * base), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * base * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``(N, in_channels, 28, 28)`` -> a grid of logits ``(N, 1, 7, 7)``, one per patch.

    For Pix2Pix ``in_channels`` counts the input and the output image stacked (a *conditional*
    discriminator judges pairs).
    """

    def __init__(self, in_channels: int = 2, base: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2),       # 14x14
            nn.Conv2d(base, 2 * base, 4, stride=2, padding=1),                              # 7x7
            nn.GroupNorm(8, 2 * base), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * base, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


__all__ = ["Generator", "Discriminator", "PatchDiscriminator"]
