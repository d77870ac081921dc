"""WaveNet: sound generated one sample at a time (Day 11).

A class-conditioned WaveNet (van den Oord et al. 2016, https://arxiv.org/abs/1609.03499) over
8-bit mu-law codes, small enough to train on a laptop CPU in a minute, and its fast generation
with one ring buffer per layer (Paine et al. 2016, https://arxiv.org/abs/1611.09482).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _describe(x: object) -> str:
    """``"(2, 3) torch.float32"`` for a tensor, the type's name for anything else (for error messages)."""
    return f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__


class WaveNet(nn.Module):
    """An autoregressive model of audio codes: ``p(x_t | x_<t, label)``, one softmax per sample.

    ``forward(codes, y)``: ``codes`` ``(B, T)`` int64 in ``[0, levels)``, where position ``t`` holds
    the *previous* sample ``x_{t-1}`` (the targets shifted right by one, :attr:`start` first);
    ``y`` ``(B,)`` int64 class labels -> logits ``(B, T, levels)`` float32 for ``x_t``.

    Each layer ``i`` with dilation ``d`` is a kernel-2 causal convolution, written as one
    ``Linear`` on the concatenation ``[h_{t-d}, h_t]`` (``(B, T, 2C)`` -> ``(B, T, 2C)``), plus a
    per-layer bias from the label; then the gated unit ``tanh(f) * sigmoid(g)``, a residual
    ``Linear`` back into ``h`` and a skip ``Linear`` into the sum that the output head reads.
    Dilations 1, 2, 4, ... double the reach of every layer: the prediction for ``x_t`` sees
    :attr:`receptive_field` ``= 1 + sum(dilations)`` previous samples, and nothing older.

    ``WaveNet()`` (256 levels, 32 channels, dilations 1..128, 5 classes): 90,176 parameters
    (the last layer's residual ``Linear``, 1,056 of them, feeds nothing: only its skip is read)
    and a receptive field of 256 samples (32 ms at 8 kHz). The logits have the parameters' dtype.
    """

    def __init__(self, levels: int = 256, channels: int = 32,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128), num_classes: int = 5,
                 skip_channels: int = 64) -> None:
        super().__init__()
        if (levels < 2 or channels < 1 or num_classes < 1 or skip_channels < 1 or not dilations
                or any(int(d) != d or d < 1 for d in dilations)):
            raise ValueError(f"WaveNet needs levels >= 2, channels >= 1, num_classes >= 1, skip_channels >= 1 and "
                             f"whole-number dilations >= 1; got levels={levels}, channels={channels}, "
                             f"num_classes={num_classes}, skip_channels={skip_channels}, dilations={dilations}")
        self.levels, self.channels, self.num_classes = levels, channels, num_classes
        self.dilations = tuple(int(d) for d in dilations)
        self.start = levels // 2                                  # 0.0 in mu-law (decodes to ~0): the "previous" of x_0
        self.embed = nn.Embedding(levels, channels)
        self.label = nn.Embedding(num_classes, 2 * channels * len(self.dilations))   # a bias per layer
        self.taps = nn.ModuleList(nn.Linear(2 * channels, 2 * channels) for _ in self.dilations)
        self.res = nn.ModuleList(nn.Linear(channels, channels) for _ in self.dilations)
        self.skips = nn.ModuleList(nn.Linear(channels, skip_channels) for _ in self.dilations)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(skip_channels, skip_channels), nn.ReLU(),
                                  nn.Linear(skip_channels, levels))

    @property
    def receptive_field(self) -> int:
        """How many previous samples the prediction of one sample can see."""
        return 1 + sum(self.dilations)

    def _conditions(self, y: torch.Tensor) -> torch.Tensor:
        """Labels ``(B,)`` -> per-layer biases ``(B, layers, 2C)``."""
        if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.dtype != torch.long:
            raise ValueError(f"WaveNet takes labels of shape (B,) int64, got {_describe(y)}")
        if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}), got {y.min().item()}..{y.max().item()}")
        return self.label(y).view(len(y), len(self.dilations), 2 * self.channels)

    def _layer(self, i: int, past: torch.Tensor, now: torch.Tensor, cond: torch.Tensor):
        """Layer ``i`` on ``h_{t-d}`` and ``h_t`` (``(..., C)`` each) -> (new ``h_t``, skip output)."""
        f, g = (self.taps[i](torch.cat([past, now], -1)) + cond).chunk(2, -1)
        a = torch.tanh(f) * torch.sigmoid(g)                      # the gated activation unit
        return now + self.res[i](a), self.skips[i](a)

    def _check_codes(self, codes: torch.Tensor, ndim: int, shape: str) -> None:
        if not isinstance(codes, torch.Tensor) or codes.ndim != ndim or codes.dtype != torch.long:
            raise ValueError(f"WaveNet takes codes of shape {shape} int64, got {_describe(codes)}")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.levels):
            raise ValueError(f"codes must lie in [0, {self.levels}), got {codes.min().item()}..{codes.max().item()}")

    def forward(self, codes: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, T)`` int64 (position t: the code of sample t-1), labels ``(B,)`` int64 -> logits ``(B, T, levels)``."""
        self._check_codes(codes, 2, "(B, T)")
        cond = self._conditions(y)[:, :, None]                    # (B, layers, 1, 2C): the same at every t
        if len(y) != len(codes):
            raise ValueError(f"one label per sequence: codes {tuple(codes.shape)}, labels {tuple(y.shape)}")
        h, skip = self.embed(codes), 0                            # (B, T, C)
        for i, d in enumerate(self.dilations):
            past = F.pad(h, (0, 0, d, 0))[:, :h.shape[1]]         # h_{t-d}, zeros before the start
            h, s = self._layer(i, past, h, cond[:, i])
            skip = skip + s
        return self.head(skip)

    def start_state(self, y: torch.Tensor) -> dict:
        """The state of :meth:`step` before the first sample, for labels ``y`` ``(B,)`` int64 on the model's device.

        ``{"t": 0, "cond": (B, layers, 2C) label biases, "buffers": [(d_i, B, C) zeros per layer]}``.
        """
        cond, p = self._conditions(y), self.embed.weight
        buffers = [torch.zeros(d, len(y), self.channels, dtype=p.dtype, device=p.device) for d in self.dilations]
        return {"t": 0, "cond": cond, "buffers": buffers}

    @torch.no_grad()
    def step(self, state: dict, prev: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, levels)`` of the next sample, given the previous codes ``prev`` ``(B,)`` int64.

        The same numbers as :meth:`forward` at that position, at the cost of one position: layer
        ``i`` keeps its last ``d`` inputs in a ring buffer, so ``h_{t-d}`` is read, not recomputed.
        Updates ``state`` in place. No gradients: it is for generation (train with :meth:`forward`).
        """
        self._check_codes(prev, 1, "(B,)")
        t, h, skip = state["t"], self.embed(prev), 0
        for i, d in enumerate(self.dilations):
            buf = state["buffers"][i]
            past = buf[t % d].clone()                             # h_{t-d} (zeros while t < d)
            buf[t % d] = h
            h, s = self._layer(i, past, h, state["cond"][:, i])
            skip = skip + s
        state["t"] = t + 1
        return self.head(skip)

    @torch.no_grad()
    def generate(self, y: torch.Tensor, n: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``n`` codes for every label of ``y`` ``(B,)`` -> ``(B, n)`` int64, one step at a time.

        The result is on the model's device; a ``generator``, if given, must be on that device too.
        """
        if n < 1 or temperature <= 0:
            raise ValueError(f"generate needs n >= 1 and temperature > 0, got n={n}, temperature={temperature}")
        device = self.embed.weight.device
        if generator is not None and generator.device.type != device.type:
            raise ValueError(f"the generator is on {generator.device} but the model on {device}: "
                             f"make it with torch.Generator(device={str(device)!r})")
        y = y.to(device)
        state = self.start_state(y)
        prev = torch.full((len(y),), self.start, dtype=torch.long, device=y.device)
        out = torch.empty(len(y), n, dtype=torch.long, device=y.device)
        for t in range(n):
            probs = F.softmax(self.step(state, prev) / temperature, dim=-1)
            prev = torch.multinomial(probs, 1, generator=generator)[:, 0]
            out[:, t] = prev
        return out


__all__ = ["WaveNet"]
