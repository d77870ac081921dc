"""Weight-only int8 quantisation of linear layers, per output channel, as used on Day 12.

Each row ``w_o`` of a weight ``W`` (one output channel) is stored as int8 numbers ``q_o`` and one
float32 scale ``s_o = max|w_o| / 127``::

    q_o = round(w_o / s_o)  in [-127, 127]        w_o ≈ s_o * q_o   (error at most s_o / 2)

(symmetric: zero point 0; rounding half to even, as ``torch.quantize_per_channel``). The forward
pass dequantises the weight and multiplies in float32: the memory of the weights shrinks about
4×, the arithmetic is unchanged.

Shapes: ``Int8Linear`` maps ``(..., in_features)`` float32 to ``(..., out_features)`` float32.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mlcourse.models.lora import replace_module


def quantize_per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(q, scale)`` for a float weight ``(out, in)``: ``q`` int8 ``(out, in)``, ``scale`` float32 ``(out,)``."""
    if w.dim() != 2:
        raise ValueError(f"expected a weight of shape (out_features, in_features), got {tuple(w.shape)}")
    w = w.detach().float()
    scale = w.abs().amax(dim=1) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays zero
    q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


class Int8Linear(nn.Module):
    """A linear layer with an int8 weight and a float32 scale per output channel (bias in float32)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        q, scale = quantize_per_channel(linear.weight)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight_int8", q)
        self.register_buffer("scale", scale)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())

    def dequantized_weight(self) -> torch.Tensor:
        """The float32 weight ``scale[:, None] * q``, shape ``(out_features, in_features)``."""
        return self.weight_int8.float() * self.scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.dequantized_weight(), self.bias)


def quantize_linear_layers(model: nn.Module, skip: tuple[str, ...] = ("lm_head",)) -> list[str]:
    """Replace each ``nn.Linear`` of ``model`` (in place) by an :class:`Int8Linear`.

    Layers whose name ends with one of ``skip`` stay in float32: by default the output head,
    which on Day 12's models shares its weight with the token embedding. Returns the names of
    the quantised layers.
    """
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and not n.endswith(skip)]
    for n in names:
        replace_module(model, n, Int8Linear(model.get_submodule(n)))
    return names


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's saved state (``state_dict``; a tied weight counted once)."""
    seen, total = set(), 0
    for t in model.state_dict().values():
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
    return total
