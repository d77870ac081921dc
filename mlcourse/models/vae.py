"""Autoencoder and variational autoencoder (Kingma & Welling, 2014) for 28x28 images (Day 11).

Both are small MLPs: the encoder maps a flattened image (784 pixels in [0, 1]) through a
hidden layer to a latent code; the decoder maps a code back to 784 *logits* (a sigmoid gives
pixel values; the reconstruction loss is a binary cross-entropy from logits, numerically stable).

The VAE's encoder outputs a mean ``mu`` and a log-variance ``logvar`` per latent dimension;
:func:`reparameterize` draws ``z = mu + exp(logvar / 2) * eps`` so gradients flow through
``mu`` and ``logvar``; :func:`vae_loss` is the negative ELBO = reconstruction + KL.

Shapes: images ``(N, 1, 28, 28)`` (or ``(N, 784)``) float in [0, 1]; codes ``(N, latent_dim)``;
decoder output logits ``(N, 1, 28, 28)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``z = mu + sigma * eps`` with ``sigma = exp(logvar / 2)`` and ``eps ~ N(0, I)``; same shape as ``mu``."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) summed over latent dimensions: ``(N, d) -> (N,)``."""
    return 0.5 * torch.sum(mu ** 2 + logvar.exp() - 1 - logvar, dim=1)


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative ELBO per image, averaged over the batch: ``(total, reconstruction, kl)``.

    The reconstruction term is the binary cross-entropy (from logits) summed over the pixels.
    """
    n = x.shape[0]
    recon = F.binary_cross_entropy_with_logits(logits.reshape(n, -1), x.reshape(n, -1),
                                               reduction="sum") / n
    kl = kl_divergence(mu, logvar).mean()
    return recon + beta * kl, recon, kl


class Decoder(nn.Sequential):
    """Code ``(N, latent_dim)`` -> logits ``(N, 1, 28, 28)``."""

    def __init__(self, latent_dim: int = 2, hidden: int = 256) -> None:
        super().__init__(nn.Linear(latent_dim, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 784), nn.Unflatten(1, (1, 28, 28)))


class AutoEncoder(nn.Module):
    """A deterministic autoencoder: ``encode`` -> code ``(N, latent_dim)``, ``forward`` -> logits."""

    def __init__(self, latent_dim: int = 2, hidden: int = 256) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, latent_dim))
        self.decoder = Decoder(latent_dim, hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))


class VAE(nn.Module):
    """A variational autoencoder. ``forward(x)`` returns ``(logits, mu, logvar)``.

    ``VAE(latent_dim=2, hidden=256)`` has about 0.53M parameters.
    """

    def __init__(self, latent_dim: int = 2, hidden: int = 256) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)
        self.decoder = Decoder(latent_dim, hidden)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """``n`` new images ``(n, 1, 28, 28)`` in [0, 1]: decode codes drawn from the prior N(0, I)."""
        z = torch.randn(n, self.latent_dim, device=self.mu.weight.device)
        return torch.sigmoid(self.decoder(z))


__all__ = ["reparameterize", "kl_divergence", "vae_loss", "Decoder", "AutoEncoder", "VAE"]
