"""Denoising diffusion (DDPM, Ho et al., 2020) as built on Day 11.

The *forward process* adds Gaussian noise in ``T`` small steps with variances ``beta_t``;
with ``alpha_t = 1 - beta_t`` and ``alpha_bar_t = prod_{s<=t} alpha_s`` one can jump to any
step at once::

    x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps,      eps ~ N(0, I)

A network ``eps_model(x_t, t)`` learns to predict ``eps`` (a plain MSE); the *reverse process*
then walks from pure noise ``x_T ~ N(0, I)`` back to ``x_0`` one step at a time.

Time steps are 0-based here: ``t = 0 .. T-1`` (the paper's ``1 .. T``).

DDIM (Song, Meng & Ermon, 2021) samples from the same trained network in far fewer steps,
deterministically when ``eta = 0``: :meth:`Schedule.ddim_sample`, :meth:`Schedule.ddim_invert`.

The noise predictor for images is :class:`mlcourse.models.unet.UNet` built with ``time_dim``
(Day 09's U-Net with a time embedding added at every level); for 2-D toy data it is
:class:`ToyDenoiser`, a small MLP.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .unet import UNet, timestep_embedding


class Schedule:
    """A noise schedule: ``betas``, ``alphas`` and ``alpha_bars``, each a float32 tensor ``(T,)``.

    Args:
        T: number of diffusion steps.
        kind: ``"linear"`` (Ho et al.: ``beta`` from ``beta_start`` to ``beta_end``, rescaled by
            ``1000 / T`` so that a short schedule still ends in almost pure noise; at most 0.999) or
            ``"cosine"`` (Nichol & Dhariwal, 2021: ``alpha_bar`` follows a squared cosine).
    """

    def __init__(self, T: int = 1000, kind: str = "linear", beta_start: float = 1e-4,
                 beta_end: float = 0.02) -> None:
        if T < 1:
            raise ValueError(f"T must be at least 1, got {T}")
        if kind == "linear":
            scale = 1000 / T
            betas = torch.linspace(beta_start * scale, beta_end * scale, T, dtype=torch.float64).clamp(max=0.999)
        elif kind == "cosine":
            s = 0.008
            steps = torch.arange(T + 1, dtype=torch.float64) / T
            f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
            betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
        else:
            raise ValueError(f"unknown schedule {kind!r}: use 'linear' or 'cosine'")
        self.T, self.kind = T, kind
        self.betas = betas.float()
        self.alphas = (1 - betas).float()
        self.alpha_bars = torch.cumprod(1 - betas, dim=0).float()

    def __repr__(self) -> str:
        return f"Schedule(T={self.T}, kind={self.kind!r})"

    @staticmethod
    def _times(x: torch.Tensor, t: int) -> torch.Tensor:
        """The step ``t`` for every item of the batch ``x``: ``(N,)`` int64 on ``x``'s device."""
        return torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)

    def _at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[t]`` reshaped to broadcast against ``like`` ``(N, ...)``."""
        v = values.to(like.device)[t.to(like.device)]
        return v.reshape(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Jump to step ``t`` of the forward process: ``(N, ...)`` clean data -> noisy ``x_t``."""
        if noise is None:
            noise = torch.randn_like(x0)
        ab = self._at(self.alpha_bars, t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def loss(self, eps_model: nn.Module, x0: torch.Tensor, *cond: torch.Tensor) -> torch.Tensor:
        """The DDPM training loss: MSE between the true and the predicted noise at random ``t``.

        ``cond`` (e.g. class labels) is passed on: ``eps_model(x_t, t, *cond)``.
        """
        t = torch.randint(0, self.T, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        return torch.mean((eps_model(self.q_sample(x0, t, noise), t, *cond) - noise) ** 2)

    @torch.no_grad()
    def p_step(self, eps_model: nn.Module, x: torch.Tensor, t: int, clip: float | None = None) -> torch.Tensor:
        """One reverse step ``x_t -> x_{t-1}`` (Ho et al., Algorithm 2).

        Without ``clip``: ``mean = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t)`` and
        ``sigma_t^2 = beta_t``, as in the paper's Algorithm 2. With ``clip``, the clean image implied by
        the predicted noise, ``x0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)``, is first
        clamped to ``[-clip, clip]`` (data never leaves that range) and the step uses the exact
        posterior ``q(x_{t-1} | x_t, x0)``: its mean and its variance
        ``beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)`` (what Ho et al.'s code does for images).
        """
        tt = self._times(x, t)
        beta, alpha, ab = self.betas[t].item(), self.alphas[t].item(), self.alpha_bars[t].item()
        eps = eps_model(x, tt)
        if clip is None:
            mean = (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(alpha)
            var = beta
        else:
            ab_prev = self.alpha_bars[t - 1].item() if t > 0 else 1.0
            x0 = ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-clip, clip)
            mean = (math.sqrt(ab_prev) * beta * x0 + math.sqrt(alpha) * (1 - ab_prev) * x) / (1 - ab)
            var = beta * (1 - ab_prev) / (1 - ab)
        if t == 0:
            return mean
        return mean + math.sqrt(var) * torch.randn_like(x)

    @torch.no_grad()
    def sample(self, eps_model: nn.Module, shape: tuple[int, ...], *, device: str = "cpu",
               keep: int = 0, clip: float | None = None, progress: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the reverse process from pure noise.

        Args:
            eps_model: the trained noise predictor ``(x_t, t) -> eps``.
            shape: shape of the batch to generate, e.g. ``(64, 1, 28, 28)``.
            keep: also return this many snapshots of ``x_t`` (evenly spaced in ``t``, the last
                one the final sample), for animations.
            clip: keep the predicted clean image inside ``[-clip, clip]`` at every step and clamp
                the final sample to it (images live in ``[-1, 1]``); see :meth:`p_step`.

        Returns:
            ``(x_0, snapshots)``: the samples ``shape`` and a list of ``keep`` tensors.
        """
        was_training = eps_model.training
        eps_model.eval()
        x = torch.randn(shape, device=device)
        marks = set(self.ddim_times(min(keep, self.T))) if keep else set()   # evenly spaced, as DDIM walks
        snaps = []
        steps = range(self.T - 1, -1, -1)
        if progress:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc="sampling", mininterval=1)
        for t in steps:
            x = self.p_step(eps_model, x, t, clip)
            if t in marks:
                snaps.append(x.cpu().clone())
        eps_model.train(was_training)
        if clip is not None:
            x = x.clamp(-clip, clip)
        return x, snaps


    def ddim_times(self, steps: int) -> list[int]:
        """``steps`` time steps (Python ints) from ``T-1`` down to ``0``, evenly spaced: the path DDIM walks."""
        if not 1 <= steps <= self.T:
            raise ValueError(f"DDIM needs between 1 and T={self.T} steps, got {steps}")
        return torch.linspace(self.T - 1, 0, steps).round().long().tolist()

    def _ab(self, t: int) -> float:
        """``alpha_bar_t``, with ``t = -1`` meaning clean data (1.0)."""
        return self.alpha_bars[t].item() if t >= 0 else 1.0

    @staticmethod
    def _jump(x: torch.Tensor, eps: torch.Tensor, ab: float, ab_to: float) -> torch.Tensor:
        """The deterministic DDIM move from noise level ``ab`` to ``ab_to`` with the noise ``eps``."""
        x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        return math.sqrt(ab_to) * x0 + math.sqrt(1 - ab_to) * eps

    @torch.no_grad()
    def ddim_step(self, eps_model: nn.Module, x: torch.Tensor, t: int, t_prev: int, eta: float = 0.0,
                  clip: float | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """One DDIM step ``x_t -> x_{t_prev}`` (Song, Meng & Ermon, 2021, eq. 12), any ``t_prev < t``.

        ``x`` (and ``noise``, if given) are ``(N, ...)`` float; the result has the same shape. With the
        predicted noise ``eps`` and the clean image it implies,
        ``x0 = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)`` (clamped to ``[-clip, clip]`` if asked, and
        ``eps`` then recomputed from the clamped ``x0``)::

            sigma  = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev)      (eq. 16)
            x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z

        ``t_prev = -1`` means the end, ``ab_prev = 1`` (it returns ``x0``). ``eta = 0`` is
        deterministic; ``eta = 1`` with ``t_prev = t - 1`` has DDPM's posterior variance.
        """
        if not -1 <= t_prev < t < self.T:
            raise ValueError(f"a DDIM step goes back in time, -1 <= t_prev < t < T={self.T}; "
                             f"got t={t}, t_prev={t_prev}")
        if not 0 <= eta <= 1:
            raise ValueError(f"eta runs from 0 (deterministic DDIM) to 1 (DDPM's variance), got {eta}")
        ab, ab_prev = self._ab(t), self._ab(t_prev)
        eps = eps_model(x, self._times(x, t))
        x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
            eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)       # the noise consistent with the clamped x0
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        out = math.sqrt(ab_prev) * x0 + math.sqrt(max(0.0, 1 - ab_prev - sigma ** 2)) * eps
        if sigma > 0:
            out = out + sigma * (torch.randn_like(x) if noise is None else noise)
        return out

    @torch.no_grad()
    def ddim_sample(self, eps_model: nn.Module, shape: tuple[int, ...], steps: int = 50, *, eta: float = 0.0,
                    device: str = "cpu", clip: float | None = None, x_T: torch.Tensor | None = None) -> torch.Tensor:
        """Sample with DDIM in ``steps`` network calls instead of ``T``.

        Args:
            eps_model: the trained noise predictor ``(x_t, t) -> eps``.
            shape: the batch to generate, e.g. ``(64, 1, 28, 28)``.
            steps: network calls (the times of :meth:`ddim_times`).
            eta: 0 (deterministic) to 1 (DDPM's variance at every step), see :meth:`ddim_step`.
            device: where fresh noise is drawn (a given ``x_T`` stays on its own device).
            clip: keep the predicted clean image inside ``[-clip, clip]`` at every step.
            x_T: the starting noise, of ``shape`` (default: fresh Gaussian noise); with ``eta = 0`` the
                result is a deterministic function of it (see :meth:`ddim_invert` for the way back).

        Returns:
            ``x_0``, float, of ``shape``.
        """
        if x_T is not None and tuple(x_T.shape) != tuple(shape):
            raise ValueError(f"x_T has shape {tuple(x_T.shape)}, but the batch to generate is {tuple(shape)}")
        was_training = eps_model.training
        eps_model.eval()
        try:
            x = torch.randn(shape, device=device) if x_T is None else x_T
            times = self.ddim_times(steps)
            for t, t_prev in zip(times, times[1:] + [-1]):
                x = self.ddim_step(eps_model, x, t, t_prev, eta, clip)
        finally:
            eps_model.train(was_training)
        return x

    @torch.no_grad()
    def ddim_invert(self, eps_model: nn.Module, x0: torch.Tensor, steps: int = 50) -> torch.Tensor:
        """The deterministic DDIM path run forwards: clean ``x0`` ``(N, ...)`` -> the ``x_T`` (same shape,
        dtype and device) that :meth:`ddim_sample` with ``eta = 0`` and the same ``steps`` maps back to
        about ``x0``. Each move uses the noise predicted where it starts, so the round trip is exact
        only as the steps get small (a first-order error)."""
        was_training = eps_model.training
        eps_model.eval()
        try:
            times = self.ddim_times(steps)[::-1]
            x = x0
            for t_from, t in zip([-1] + times[:-1], times):
                eps = eps_model(x, self._times(x, max(t_from, 0)))   # at the data itself: the network's t = 0
                x = self._jump(x, eps, self._ab(t_from), self._ab(t))
        finally:
            eps_model.train(was_training)
        return x


class ConditionalUNet(UNet):
    """The time-conditioned U-Net with a class label added to the time embedding.

    ``forward(x, t, y)``: ``y`` ``(N,)`` holds class indices, or ``num_classes`` for "no label"
    (``y=None`` means no label for the whole batch). Training with labels dropped at random
    (``p_uncond``) gives one network that is both unconditional and conditional, which is what
    *classifier-free guidance* (Ho & Salimans, 2022) needs; see :class:`Guided`.

    ``patch=2`` folds every 2x2 block of pixels into 4 channels before the U-Net
    (``pixel_unshuffle``: ``(N, 1, 28, 28) -> (N, 4, 14, 14)``) and unfolds the output again, so the
    network works at a quarter of the pixels: about 4x less compute for the same widths, which is
    what makes image diffusion trainable on a laptop CPU. ``H`` and ``W`` must be divisible by ``patch``.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base: int = 16, depth: int = 2,
                 time_dim: int = 32, num_classes: int = 10, patch: int = 1) -> None:
        super().__init__(in_channels * patch ** 2, out_channels * patch ** 2, base=base, depth=depth,
                         time_dim=time_dim)
        self.num_classes, self.patch = num_classes, patch
        self.label_emb = nn.Embedding(num_classes + 1, 4 * time_dim)      # the last row: "no label"

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[-1] % self.patch or x.shape[-2] % self.patch:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is not divisible by patch={self.patch}")
        if y is None:
            y = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
        temb = self.time_mlp(timestep_embedding(t, self.time_dim).to(x.device)) + self.label_emb(y)
        h = F.pixel_unshuffle(x, self.patch) if self.patch > 1 else x
        out = self.encode_decode(h, temb)
        return F.pixel_shuffle(out, self.patch) if self.patch > 1 else out


class Guided(nn.Module):
    """Classifier-free guidance: ``eps = (1 + w) eps(x, t, y) - w eps(x, t, no label)``.

    Wraps a :class:`ConditionalUNet` (or a :class:`LatentDenoiser`) as a plain ``(x, t) -> eps`` noise predictor for
    :meth:`Schedule.sample`; ``y`` ``(N,)`` are the requested classes, ``w`` the guidance
    strength (0: plain conditional sampling).
    """

    def __init__(self, model: nn.Module, y: torch.Tensor, w: float = 2.0) -> None:
        super().__init__()
        self.model, self.w = model, float(w)
        self.register_buffer("y", torch.as_tensor(y, dtype=torch.long))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.w == 0:
            return self.model(x, t, self.y)
        none = torch.full_like(self.y, self.model.num_classes)
        eps_c, eps_u = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([self.y, none])).chunk(2)
        return (1 + self.w) * eps_c - self.w * eps_u


class ToyDenoiser(nn.Module):
    """Noise predictor for 2-D points: an MLP on ``[x, embedding(t)]``.

    Shapes: ``x`` ``(N, 2)``, ``t`` ``(N,)`` -> ``(N, 2)``. ``hidden=128``: about 38k parameters.
    """

    def __init__(self, dim: int = 2, hidden: int = 128, time_dim: int = 32) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.net = nn.Sequential(
            nn.Linear(dim + time_dim, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, dim),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, timestep_embedding(t, self.time_dim).to(x.device)], dim=1))


class LatentDenoiser(nn.Module):
    """Noise predictor for latent *vectors*, with a class label: the denoiser of Day 11's latent diffusion.

    ``forward(z, t, y)``: ``z`` ``(N, dim)`` float, ``t`` ``(N,)`` time steps, ``y`` ``(N,)`` class
    indices or ``num_classes`` for "no label" (``y=None``: no label for the whole batch) ->
    predicted noise ``(N, dim)``. The input, the embedded time and the embedded label are summed
    into one ``hidden``-wide vector, then ``blocks`` residual MLP blocks (LayerNorm, Linear, SiLU,
    Linear) and a LayerNorm + Linear back to ``dim``. Train it with labels dropped at random, as
    :class:`ConditionalUNet`, and it works with :class:`Guided`. ``LatentDenoiser(16)`` (hidden 512,
    3 blocks): about 1.9M parameters, all in matrix products on ``(N, 512)``, so it is fast on a CPU.
    """

    def __init__(self, dim: int, hidden: int = 512, blocks: int = 3, time_dim: int = 64,
                 num_classes: int = 10) -> None:
        super().__init__()
        self.dim, self.time_dim, self.num_classes = dim, time_dim, num_classes
        self.inp = nn.Linear(dim, hidden)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label_emb = nn.Embedding(num_classes + 1, hidden)              # the last row: "no label"
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
            for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, dim))

    def forward(self, z: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ValueError(f"LatentDenoiser({self.dim}) takes latents of shape (N, {self.dim}), got {tuple(z.shape)}")
        if y is None:
            y = torch.full((z.shape[0],), self.num_classes, dtype=torch.long, device=z.device)
        h = self.inp(z) + self.time_mlp(timestep_embedding(t, self.time_dim).to(z.device)) + self.label_emb(y)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


__all__ = ["Schedule", "ConditionalUNet", "Guided", "ToyDenoiser", "LatentDenoiser"]
