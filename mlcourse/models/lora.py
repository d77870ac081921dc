"""LoRA: low-rank adapters for fine-tuning (Hu et al., 2021), as used on Day 12.

A frozen linear layer ``y = x W^T + b`` gets a trainable low-rank update::

    y = x W^T + b + (alpha / r) * x A^T B^T        A: (r, in_features), B: (out_features, r)

``B`` starts at zero, so an adapted model starts exactly equal to the original; only ``A`` and
``B`` train: ``r * (in + out)`` numbers per layer instead of ``in * out``. After training,
:func:`merge_lora` folds ``(alpha / r) * B A`` into ``W`` and gives back plain ``nn.Linear``
layers: the same function, no extra cost at inference.

Shapes: inputs ``(..., in_features)`` float32, outputs ``(..., out_features)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn as nn


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * dropout(x) @ A^T @ B^T`` with ``base`` frozen."""

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0, dropout: float = 0.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if not 1 <= r <= min(base.in_features, base.out_features):
            raise ValueError(f"rank r must be between 1 and min(in, out) = "
                             f"{min(base.in_features, base.out_features)}, got {r}")
        self.base, self.r, self.scale = base, r, alpha / r
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=w.device, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear (and the paper's code)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scale

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) * B @ A``, shape ``(out_features, in_features)``."""
        return self.scale * self.lora_B @ self.lora_A

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` whose weight is ``W + (alpha / r) B A`` (same outputs in eval mode)."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        device=self.base.weight.device, dtype=self.base.weight.dtype)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` in place of the submodule called ``name`` (e.g. ``"layers.0.self_attn.q_proj"``)."""
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def add_lora(model: nn.Module, targets: Iterable[str], r: int = 8, alpha: float = 16.0,
             dropout: float = 0.0) -> list[str]:
    """Freeze ``model`` and wrap every ``nn.Linear`` whose name ends with one of ``targets``.

    E.g. ``targets=("q_proj", "v_proj")`` for the course Llama, ``("c_attn",)`` for the GPT.
    Returns the names of the wrapped layers; raises ``ValueError`` if none matches. Afterwards
    only the adapters' ``lora_A``/``lora_B`` have ``requires_grad=True``.
    """
    targets = tuple(targets)
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.endswith(targets)]
    if not names:
        linear = sorted({n.rpartition(".")[2] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise ValueError(f"no nn.Linear layer ends with any of {targets}; this model's are named {linear}")
    for p in model.parameters():
        p.requires_grad_(False)
    for n in names:
        replace_module(model, n, LoRALinear(model.get_submodule(n), r, alpha, dropout))
    return names


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every :class:`LoRALinear` in ``model`` by its merged ``nn.Linear`` (in place)."""
    for n, m in list(model.named_modules()):
        if isinstance(m, LoRALinear):
            replace_module(model, n, m.merged())
    return model


def trainable_parameters(model: nn.Module) -> int:
    """The number of parameters with ``requires_grad=True`` (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
