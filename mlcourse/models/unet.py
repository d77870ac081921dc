"""A small U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections.

The encoder applies two 3x3 convolutions per level and halves the resolution between
levels (max-pooling) while doubling the channels; the decoder goes back up (nearest-neighbour
upsampling + a 3x3 convolution), concatenates the encoder's feature map of the same level
(the *skip connection*, which brings back the fine detail the pooling threw away) and again
applies two convolutions. A final 1x1 convolution gives ``out_channels`` values per pixel.

Day 09 uses it for segmentation (``out_channels`` = number of classes, logits per pixel).
Day 11 reuses it as the noise predictor of a diffusion model: give ``time_dim`` and call
``model(x, t)`` with one time step per image; a sinusoidal embedding of ``t`` is added to
every level.

Shapes: ``(N, in_channels, H, W)`` -> ``(N, out_channels, H, W)`` for any ``H, W`` (sizes
that do not halve evenly are handled by upsampling to the skip's exact size). Normalisation
is GroupNorm, so the output of one image never depends on the rest of the batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _groups(channels: int, max_groups: int = 8) -> int:
    return math.gcd(channels, max_groups)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of time steps ``t`` ``(N,)`` -> ``(N, dim)`` (as in the Transformer)."""
    t = torch.as_tensor(t, dtype=torch.float32).reshape(-1)
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / max(half, 1))
    args = t[:, None] * freqs.to(t.device)[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


class DoubleConv(nn.Module):
    """Two (3x3 convolution -> GroupNorm -> ReLU); optionally conditioned on a time embedding.

    With ``time_dim``, the embedding ``temb`` ``(N, time_dim)`` gives a per-channel scale and
    shift applied after the first GroupNorm (FiLM: ``h * (1 + scale) + shift``), so the
    normalisation cannot wash the condition out.

    Shapes: ``(N, in_channels, H, W)`` -> ``(N, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, time_dim: int | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm1 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.time = nn.Linear(time_dim, 2 * out_channels) if time_dim else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(self.conv1(x))
        if self.time is not None and temb is not None:
            scale, shift = self.time(temb)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        return torch.relu(self.norm2(self.conv2(torch.relu(h))))


class UNet(nn.Module):
    """A small U-Net.

    Args:
        in_channels: channels of the input image (1 for grey).
        out_channels: values per output pixel (classes for segmentation; image channels
            for a diffusion model's noise prediction).
        base: channels of the first level; level ``i`` has ``base * 2**i``.
        depth: number of down-sampling steps (the bottleneck is at ``H / 2**depth``).
        time_dim: if given, ``forward(x, t)`` takes time steps ``t`` ``(N,)`` (for diffusion).

    ``UNet(1, 4, base=16, depth=3)`` has about 0.54M parameters.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base: int = 16,
                 depth: int = 3, time_dim: int | None = None) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.depth, self.time_dim = depth, time_dim
        tdim = 4 * time_dim if time_dim else None
        self.time_mlp = (nn.Sequential(nn.Linear(time_dim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
                         if time_dim else None)
        chans = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([DoubleConv(in_channels, chans[0], tdim)])
        self.down.extend(DoubleConv(chans[i], chans[i + 1], tdim) for i in range(depth))
        self.up_convs = nn.ModuleList(nn.Conv2d(chans[i + 1], chans[i], 3, padding=1)
                                      for i in reversed(range(depth)))
        self.up = nn.ModuleList(DoubleConv(2 * chans[i], chans[i], tdim) for i in reversed(range(depth)))
        self.out = nn.Conv2d(chans[0], out_channels, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        if self.time_mlp is not None:
            if t is None:
                raise ValueError("this U-Net was built with time_dim: call it as model(x, t)")
            temb = self.time_mlp(timestep_embedding(t, self.time_dim).to(x.device))
        else:
            temb = None
        return self.encode_decode(x, temb)

    def encode_decode(self, h: torch.Tensor, temb: torch.Tensor | None) -> torch.Tensor:
        """The U itself: down the encoder, up the decoder with skips, then the 1x1 output conv.

        ``temb`` ``(N, 4 * time_dim)`` is the (already embedded) condition, or ``None``.
        """
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                h = F.max_pool2d(h, 2)
            h = block(h, temb)
            skips.append(h)
        skips.pop()                                           # the bottleneck is not a skip
        for up_conv, block in zip(self.up_convs, self.up):
            skip = skips.pop()
            h = up_conv(F.interpolate(h, size=skip.shape[-2:], mode="nearest"))
            h = block(torch.cat([h, skip], dim=1), temb)
        return self.out(h)


__all__ = ["UNet", "DoubleConv", "timestep_embedding"]
