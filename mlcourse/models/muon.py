"""Muon for a network's weight matrices, AdamW for its other parameters, in one optimizer (Day 12).

Muon (Jordan et al., 2024, "Muon: An optimizer for hidden layers in neural networks") keeps
SGD's momentum but replaces each weight matrix's update by the nearest (semi-)orthogonal
matrix: all of the update's singular values are moved to about 1, so that rare directions of
the gradient get as large a step as the dominant ones. The orthogonalisation is five steps of
a quintic Newton-Schulz iteration (:func:`orthogonalize`): matrix products only, no SVD.

Embeddings, the output head, biases and the scales of the norms are not hidden-layer matrices
and stay with AdamW. One :class:`Muon` optimizer holds both kinds of parameter group, marked
``muon=True`` or ``muon=False``, so that a training loop, a learning-rate schedule and a
checkpoint see a single optimizer::

    opt = Muon([{"params": matrices, "muon": True, "lr": 0.02},
                {"params": others, "muon": False, "lr": 2e-3, "weight_decay": 0.1}])

The update is PyTorch's ``torch.optim.Muon`` (PyTorch >= 2.9, with ``adjust_lr_fn="original"``:
the step is scaled by ``sqrt(max(1, rows / cols))``), except that it orthogonalises in the
parameter's own dtype: ``torch.optim.Muon`` works in bfloat16, which is fast on a GPU and more
than 20 times slower than float32 on many CPUs. The ``muon=False`` groups follow
``torch.optim.AdamW``. The tests compare both with PyTorch's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)   # Jordan et al.'s quintic: steep at 0, to converge in 5 steps


def orthogonalize(g: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """The matrix ``g`` with its singular values moved close to 1 (Newton-Schulz).

    Args:
        g: (m, n) float tensor (a gradient or a momentum).
        steps: iterations of ``x <- a x + (b x x^T + c (x x^T)^2) x``.

    Returns:
        (m, n), same dtype: ``U S' V^T`` where ``g = U S V^T``. The iteration starts from
        ``g / ||g||_F``; after 5 steps the singular values that are not too small against that
        norm land roughly between 0.5 and 1.5 (the coefficients trade exactness for speed), and
        much smaller ones stay smaller (the bigger the matrix, the more of them).
        eps: guards the division for a zero matrix.
    """
    if g.ndim != 2:
        raise ValueError(f"orthogonalize expects a matrix (2-D), got a tensor of shape {tuple(g.shape)}")
    a, b, c = NS_COEFFICIENTS
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g                               # work with the smaller Gram matrix x x^T
    x = x / x.norm().clamp(min=eps)                      # singular values <= 1, where the iteration converges
    for _ in range(steps):                               # x <- a x + (b G + c G^2) x, with G = x x^T
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(torch.optim.Optimizer):
    """Muon on the parameter groups with ``muon=True``, AdamW on the others.

    Args:
        params: parameters or parameter groups; a group's ``muon`` (default False) picks the rule.
        lr: learning rate (a group's own ``lr`` wins; a schedule may set it at every step).
        momentum: Muon's momentum (Nesterov).
        ns_steps: Newton-Schulz steps of :func:`orthogonalize`.
        betas, eps: AdamW's.
        weight_decay: decoupled, ``p <- p (1 - lr * weight_decay)``, for both rules.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.95, ns_steps: int = 5,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        if lr < 0 or not 0 <= momentum < 1 or ns_steps < 1:
            raise ValueError(f"expected lr >= 0, 0 <= momentum < 1 and ns_steps >= 1; got lr={lr}, "
                             f"momentum={momentum}, ns_steps={ns_steps}")
        defaults = dict(lr=lr, momentum=momentum, ns_steps=ns_steps, betas=betas, eps=eps,
                        weight_decay=weight_decay, muon=False)
        super().__init__(params, defaults)
        if not any(group["muon"] for group in self.param_groups):
            raise ValueError("no parameter group has muon=True, so every parameter would train with AdamW: "
                             "pass the weight matrices as a group {'params': [...], 'muon': True} "
                             "(or use torch.optim.AdamW)")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group, i = self.param_groups[-1], len(self.param_groups) - 1
        shapes = [tuple(p.shape) for p in group["params"] if p.ndim != 2]
        if group["muon"] and shapes:
            self.param_groups.pop()
            raise ValueError(f"Muon orthogonalises weight matrices (2-D), but group {i} (muon=True) holds "
                             f"parameters of shapes {shapes}: put them in a group with muon=False (AdamW).")

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter with a gradient (Muon or AdamW by its group); returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.mul_(1 - lr * wd)
                if group["muon"]:
                    self._muon_update(p, group, lr)
                else:
                    self._adamw_update(p, group, lr)
        return loss

    def _muon_update(self, p: torch.Tensor, group: dict, lr: float) -> None:
        m = group["momentum"]
        buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
        buf.lerp_(p.grad, 1 - m)                             # running mean of the gradients
        update = orthogonalize(p.grad.lerp(buf, m), group["ns_steps"])   # Nesterov: look one step ahead
        p.add_(update, alpha=-lr * math.sqrt(max(1.0, p.shape[0] / p.shape[1])))

    def _adamw_update(self, p: torch.Tensor, group: dict, lr: float) -> None:
        (b1, b2), state = group["betas"], self.state[p]
        if not state:
            state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
        state["step"] += 1
        t, g = state["step"], p.grad
        state["exp_avg"].lerp_(g, 1 - b1)
        state["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - b2 ** t)).add_(group["eps"])
        p.addcdiv_(state["exp_avg"], denom, value=-lr / (1 - b1 ** t))
