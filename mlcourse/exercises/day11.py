"""Exercises of Day 11 -- the reparameterisation step, the VAE's KL term, the diffusion
schedule's alpha-bar, and the Gram matrix of style transfer. All in NumPy."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(11)
_MU = _rng.normal(size=(6, 3))
_LOGVAR = _rng.normal(scale=0.8, size=(6, 3))
_EPS = _rng.normal(size=(6, 3))
_BETAS = np.linspace(1e-3, 0.2, 12)
_FEATS = _rng.normal(size=(4, 5, 6))


def _result(value, shape, what):
    arr = as_array(value, what)
    check_shape(arr, shape, what)
    check_finite(arr, what)
    return arr


class Reparameterize(Exercise):
    name = "reparameterize"
    title = "Exercise 1 — the reparameterisation step"
    hints = (
        "The encoder gives the mean mu and the log-variance log(sigma^2). The standard deviation is sigma = exp(logvar / 2).",
        "z = mu + np.exp(0.5 * logvar) * eps",
    )
    solution_code = """
        def reparameterize(mu, logvar, eps):
            return mu + np.exp(0.5 * logvar) * eps
    """

    def reference(self):
        return lambda mu, logvar, eps: mu + np.exp(0.5 * logvar) * eps

    def verify(self, fn):
        got = _result(call(fn, _MU.copy(), _LOGVAR.copy(), _EPS.copy(), what="`reparameterize`"),
                      _MU.shape, "reparameterize(mu, logvar, eps)")
        if np.allclose(got, _MU + np.exp(_LOGVAR) * _EPS):
            raise Wrong("you scaled eps by exp(logvar), the variance sigma^2; scale by the standard deviation sigma = exp(logvar / 2).")
        if np.allclose(got, _MU + _LOGVAR * _EPS):
            raise Wrong("logvar is the log of the variance, not the standard deviation: use exp(0.5 * logvar) as sigma.")
        if np.allclose(got, _MU * _EPS + np.exp(0.5 * _LOGVAR)):
            raise Wrong("mu and sigma swapped roles: the noise eps is scaled by sigma and then shifted by mu.")
        if np.allclose(got, _MU):
            raise Wrong("you returned mu: without the noise term the code is deterministic and the VAE is a plain autoencoder.")
        check_close(got, _MU + np.exp(0.5 * _LOGVAR) * _EPS, "reparameterize(mu, logvar, eps)")
        return "the randomness sits in eps, so gradients flow through mu and logvar."


class KL(Exercise):
    name = "kl_to_prior"
    title = "Exercise 2 — the VAE's KL term"
    hints = (
        "Per latent dimension, KL(N(mu, sigma^2) || N(0, 1)) = 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), with sigma^2 = exp(logvar).",
        "0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1): one number per image, shape (N,).",
    )
    solution_code = """
        def kl_to_prior(mu, logvar):
            return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1)
    """

    @staticmethod
    def _kl(mu, logvar):
        return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1 - logvar, axis=1)

    def reference(self):
        return self._kl

    def verify(self, fn):
        raw = as_array(call(fn, _MU.copy(), _LOGVAR.copy(), what="`kl_to_prior`"), "kl_to_prior(mu, logvar)")
        if raw.shape == _MU.shape:
            raise Wrong(f"got one value per latent dimension, shape {raw.shape}; sum over the latent axis (axis=1) to get one KL per image, shape ({_MU.shape[0]},).")
        if raw.shape == ():
            raise Wrong(f"got a single number; return one KL per image, shape ({_MU.shape[0]},) (sum over axis=1 only).")
        got = _result(raw, (_MU.shape[0],), "kl_to_prior(mu, logvar)")
        want = self._kl(_MU, _LOGVAR)
        if np.allclose(got, 2 * want):
            raise Wrong("you forgot the factor 0.5 in front of the sum.")
        if np.allclose(got, 0.5 * np.sum(_MU ** 2 + np.exp(_LOGVAR) - 1 + _LOGVAR, axis=1)):
            raise Wrong("the sign of logvar is wrong: the term is -log sigma^2, i.e. `- logvar`.")
        if np.allclose(got, 0.5 * np.sum(_MU ** 2 + _LOGVAR - 1 - np.log(np.abs(_LOGVAR)), axis=1)):
            raise Wrong("logvar is already log sigma^2: the variance is np.exp(logvar).")
        if np.any(got < -1e-12):
            raise Wrong("a KL divergence is never negative, but some of your values are: check the signs.")
        check_close(got, want, "kl_to_prior(mu, logvar)")
        zero = as_array(call(fn, np.zeros((2, 3)), np.zeros((2, 3)), what="`kl_to_prior`"), "kl_to_prior(0, 0)")
        if zero.shape != (2,) or not np.allclose(zero, 0):
            raise Wrong("for mu = 0 and logvar = 0 (the prior itself) the KL must be exactly 0.")
        return "it is 0 only when the code's distribution is exactly the prior N(0, 1)."


class AlphaBar(Exercise):
    name = "alpha_bar"
    title = "Exercise 3 — the noise schedule's alpha-bar"
    hints = (
        "alpha_t = 1 - beta_t, and alpha-bar_t is the product alpha_0 * alpha_1 * ... * alpha_t (including t).",
        "np.cumprod(1 - betas)",
    )
    solution_code = """
        def alpha_bar(betas):
            return np.cumprod(1 - betas)
    """

    def reference(self):
        return lambda betas: np.cumprod(1 - betas)

    def verify(self, fn):
        raw = as_array(call(fn, _BETAS.copy(), what="`alpha_bar`"), "alpha_bar(betas)")
        if raw.shape == ():
            raise Wrong(f"got a single number (the product of everything?); return one alpha-bar per step, shape {_BETAS.shape}: use a cumulative product.")
        got = _result(raw, _BETAS.shape, "alpha_bar(betas)")
        want = np.cumprod(1 - _BETAS)
        if np.allclose(got, np.cumprod(_BETAS)):
            raise Wrong("you multiplied the betas; alpha-bar multiplies the alphas, alpha_t = 1 - beta_t.")
        if np.allclose(got, 1 - _BETAS):
            raise Wrong("that is alpha_t for each step alone; alpha-bar_t is the running product of alpha_0 ... alpha_t (np.cumprod).")
        if np.allclose(got, 1 - np.cumsum(_BETAS)):
            raise Wrong("1 - (sum of betas) is only a first-order approximation; the exact alpha-bar is the product of (1 - beta).")
        if np.allclose(got, np.concatenate([[1.0], want[:-1]])):
            raise Wrong("off by one step: alpha-bar_t includes alpha_t itself, so alpha-bar_0 = 1 - beta_0, not 1.")
        if np.all(np.diff(got) >= 0):
            raise Wrong("alpha-bar must decrease with t (more and more noise), but yours does not.")
        check_close(got, want, "alpha_bar(betas)")
        return "sqrt(alpha-bar_t) is how much of the image is left at step t."


class Gram(Exercise):
    name = "gram"
    title = "Exercise 4 — the Gram matrix of style transfer"
    hints = (
        "Reshape the feature maps (C, H, W) to a matrix F of shape (C, H*W): one row per channel.",
        "G = F @ F.T / (H * W): shape (C, C), entry (i, j) is how often channels i and j fire together.",
    )
    solution_code = """
        def gram(features):
            C, H, W = features.shape
            F = features.reshape(C, H * W)
            return F @ F.T / (H * W)
    """

    @staticmethod
    def _gram(features):
        c, h, w = features.shape
        f = features.reshape(c, h * w)
        return f @ f.T / (h * w)

    def reference(self):
        return self._gram

    def verify(self, fn):
        c, h, w = _FEATS.shape
        raw = as_array(call(fn, _FEATS.copy(), what="`gram`"), "gram(features)")
        if raw.shape == (h * w, h * w):
            raise Wrong(f"got shape {raw.shape}: that compares positions, not channels. Use F @ F.T with F of shape (C, H*W), giving ({c}, {c}).")
        got = _result(raw, (c, c), "gram(features)")
        want = self._gram(_FEATS)
        if np.allclose(got, want * h * w):
            raise Wrong(f"divide by the number of positions H*W = {h * w}, so the Gram matrix does not grow with the image size.")
        if np.allclose(got, want / c):
            raise Wrong("divide by H*W only (the positions), not by C*H*W.")
        f = _FEATS.reshape(c, -1)
        if np.allclose(got, np.cov(f)) or np.allclose(got, np.corrcoef(f)):
            raise Wrong("the Gram matrix does not subtract the mean (it is not a covariance): just F @ F.T / (H*W).")
        check_close(got, want, "gram(features)")
        return "it keeps which features occur together and forgets where: that is 'style'."


q1, q2, q3, q4 = Reparameterize(), KL(), AlphaBar(), Gram()
ALL = [q1, q2, q3, q4]
