"""The course's own small datasets, generated with a seed (no download, same everywhere)."""

from __future__ import annotations

import numpy as np


def noisy_line(
    n: int = 100,
    slope: float = 2.0,
    intercept: float = -1.0,
    noise: float = 1.0,
    x_range: tuple[float, float] = (-3.0, 3.0),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around the line ``y = slope * x + intercept``.

    Returns:
        ``x`` of shape ``(n,)`` float64, uniform in ``x_range``, and ``y`` of shape ``(n,)``
        float64 with Gaussian noise of standard deviation ``noise``.
    """
    if n < 2:
        raise ValueError(f"noisy_line needs at least 2 points, got n={n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(*x_range, size=n)
    y = slope * x + intercept + rng.normal(0.0, noise, size=n)
    return x, y


def spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, turns: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n classic).

    Returns:
        ``X`` of shape ``(n * classes, 2)`` float64 and ``y`` of shape ``(n * classes,)`` int64.
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(classes):
        r = np.linspace(0.05, 1.0, n)
        t = np.linspace(k * 2 * np.pi / classes, k * 2 * np.pi / classes + turns * 2 * np.pi, n)
        t = t + rng.normal(0.0, noise, n)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n, k, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def xor(n: int = 4, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: ``X`` of shape ``(n, 2)`` float64 near the four corners, ``y`` int64.

    With ``n=4`` and ``noise=0`` you get exactly the four points (0,0), (0,1), (1,0), (1,1).
    """
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    idx = np.arange(n) % 4
    X = corners[idx] + rng.normal(0.0, noise, size=(n, 2)) if noise else corners[idx]
    y = (corners[idx, 0] != corners[idx, 1]).astype(np.int64)
    return X, y
