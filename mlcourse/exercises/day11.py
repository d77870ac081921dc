"""Exercises of Day 11 -- the reparameterisation step, the VAE's KL term, the diffusion
schedule's alpha-bar, the Gram matrix of style transfer, (build it) one reverse step of a
guided DDPM, one deterministic DDIM step, and the style loss over several layers. All in NumPy.

The answers are named ``my_reparameterize`` and ``my_gram``: the notebook's lesson defines its own
``reparameterize`` and ``gram`` (in PyTorch), which doing an exercise must not overwrite."""

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
    if arr.shape != tuple(shape) and arr.size == int(np.prod(shape)) and arr.squeeze().shape == tuple(s for s in shape if s != 1):
        raise Wrong(f"wrong shape for {what}: expected {tuple(shape)}, got {arr.shape}: the right numbers with an extra "
                    "axis of length 1. Drop `keepdims=True` (or index it away).")
    check_shape(arr, shape, what)
    check_finite(arr, what)
    return arr


class Reparameterize(Exercise):
    name = "my_reparameterize"
    title = "Exercise 1 — the reparameterisation step"
    hints = (
        "The encoder gives a mean mu and a log-variance logvar = log(sigma^2); eps is standard normal noise. "
        "Shift and scale the noise: z = mu + sigma * eps.",
        "Get the standard deviation from the log-variance: sigma = sqrt(exp(logvar)) = exp(logvar / 2).",
        "Everything is elementwise on arrays of shape (N, d): no sum, no matrix product. Use np.exp (it works "
        "on whole arrays), not math.exp.",
    )
    solution_code = """
        def my_reparameterize(mu, logvar, eps):
            return mu + np.exp(0.5 * logvar) * eps
    """

    def reference(self):
        return lambda mu, logvar, eps: mu + np.exp(0.5 * logvar) * eps

    def verify(self, fn):
        try:
            raw = call(fn, _MU.copy(), _LOGVAR.copy(), _EPS.copy(), what="`my_reparameterize`")
        except Wrong as exc:
            if "only 0-dimensional arrays" in str(exc) or "only length-1 arrays" in str(exc) or "only size-1" in str(exc):
                raise Wrong(f"{str(exc).split(' Run it on')[0]} A function of the `math` module (math.exp, math.sqrt) "
                            "takes one number, not an array: use NumPy's, np.exp, which works elementwise.") from None
            raise
        arr = as_array(raw, "my_reparameterize(mu, logvar, eps)")
        if arr.shape == _MU.shape and np.isnan(arr).any() and np.isfinite(_MU + np.sqrt(np.abs(_LOGVAR)) * _EPS).all():
            raise Wrong("the result contains NaN: a square root (or a log) of logvar? logvar is a logarithm and can be "
                        "negative; the standard deviation is sigma = exp(logvar / 2).")
        got = _result(raw, _MU.shape, "my_reparameterize(mu, logvar, eps)")
        if np.allclose(got, _MU + np.exp(_LOGVAR) * _EPS):
            raise Wrong("you scaled eps by exp(logvar), the variance sigma^2; scale by the standard deviation sigma = exp(logvar / 2).")
        if np.allclose(got, _MU + _LOGVAR * _EPS):
            raise Wrong("logvar is the log of the variance, not the standard deviation: use exp(0.5 * logvar) as sigma.")
        if np.allclose(got, _MU * _EPS + np.exp(0.5 * _LOGVAR)):
            raise Wrong("mu and sigma swapped roles: the noise eps is scaled by sigma and then shifted by mu.")
        if np.allclose(got, _MU):
            raise Wrong("you returned mu: without the noise term the code is deterministic and the VAE is a plain autoencoder.")
        sigma = np.exp(0.5 * _LOGVAR)
        for wrong, message in (
                (_MU - sigma * _EPS, "the noise term is subtracted: z = mu + sigma * eps."),
                (sigma * _EPS, "mu is missing: the noise scaled by sigma is then shifted by the mean, z = mu + sigma * eps."),
                (_MU + _EPS / sigma, "you divided by sigma (exp(-logvar / 2)); the noise is *multiplied* by sigma = "
                                     "exp(logvar / 2)."),
                ((_MU + sigma) * _EPS, "only sigma multiplies eps: z = mu + sigma * eps (mind the brackets).")):
            if np.allclose(got, wrong):
                raise Wrong(message)
        again = as_array(call(fn, _MU.copy(), _LOGVAR.copy(), _EPS.copy(), what="`my_reparameterize`"), "the result")
        if again.shape == got.shape and not np.allclose(again, got):
            raise Wrong("two calls with the same arguments gave different results: use the noise `eps` you are given, "
                        "do not draw new noise inside the function.")
        check_close(got, _MU + np.exp(0.5 * _LOGVAR) * _EPS, "my_reparameterize(mu, logvar, eps)")
        return "the randomness sits in eps, so gradients flow through mu and logvar."

    def fresh_args(self, rng):
        n, d = (int(v) for v in rng.integers(1, 9, size=2))
        return rng.normal(size=(n, d)), rng.normal(scale=0.8, size=(n, d)), rng.normal(size=(n, d))


class KL(Exercise):
    name = "kl_to_prior"
    title = "Exercise 2 — the VAE's KL term"
    hints = (
        "Per latent dimension, KL(N(mu, sigma^2) || N(0, 1)) = 0.5 (mu^2 + sigma^2 − 1 − log sigma^2); the KL "
        "of the whole code is the sum over its dimensions.",
        "With logvar = log(sigma^2) you never need sigma itself: sigma^2 is np.exp(logvar), and log(sigma^2) "
        "is logvar as it is.",
        "Sum over the latent axis only (axis=1), not over everything: one number per image, shape (N,). For "
        "mu = 0 and logvar = 0 (the prior itself) every term is 0.",
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
        terms = _MU ** 2 + np.exp(_LOGVAR) - 1 - _LOGVAR
        for wrong, message in (
                (0.5 * terms.mean(axis=1), "you averaged over the latent dimensions; the KL of the code is their *sum* "
                                           "(np.sum(..., axis=1))."),
                (0.5 * np.sum(np.exp(_LOGVAR) - 1 - _LOGVAR, axis=1), "the mu² term is missing: a code whose mean is "
                                                                       "far from 0 costs KL too."),
                (0.5 * np.sum(_MU ** 2 + np.exp(0.5 * _LOGVAR) - 1 - _LOGVAR, axis=1),
                 "the term is sigma², the variance, np.exp(logvar); you used sigma = np.exp(logvar / 2)."),
                (0.5 * np.sum(_MU + np.exp(_LOGVAR) - 1 - _LOGVAR, axis=1), "mu must be squared: mu²."),
                (terms.sum(axis=1) / 2 / _MU.shape[0], "divide by 2 only, not by the number of images: one KL per image.")):
            if np.allclose(got, wrong):
                raise Wrong(message)
        if np.any(got < -1e-12):
            raise Wrong("a KL divergence is never negative, but some of your values are: check the signs.")
        check_close(got, want, "kl_to_prior(mu, logvar)")
        zero = as_array(call(fn, np.zeros((2, 3)), np.zeros((2, 3)), what="`kl_to_prior`"), "kl_to_prior(0, 0)")
        if zero.shape != (2,) or not np.allclose(zero, 0):
            raise Wrong("for mu = 0 and logvar = 0 (the prior itself) the KL must be exactly 0.")
        return "it is 0 only when the code's distribution is exactly the prior N(0, 1)."

    def fresh_args(self, rng):
        n, d = (int(v) for v in rng.integers(1, 9, size=2))
        return rng.normal(size=(n, d)), rng.normal(scale=0.8, size=(n, d))


class AlphaBar(Exercise):
    name = "alpha_bar"
    title = "Exercise 3 — the noise schedule's alpha-bar"
    hints = (
        "alpha_t = 1 − beta_t is the share of the signal's variance that step t keeps.",
        "alpha-bar_t is the running product alpha_0 · alpha_1 · … · alpha_t, including step t itself: the "
        "share of the image left after t + 1 steps.",
        "NumPy computes a running product in one call, np.cumprod (the product twin of np.cumsum). The "
        "answer has one value per step, shape (T,), and decreases.",
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
        if np.allclose(got, 1 - want):
            raise Wrong("that is 1 - alpha-bar, the share of noise; alpha-bar itself is the running product of the "
                        "alphas, np.cumprod(1 - betas), and starts close to 1.")
        if np.allclose(got, np.sqrt(want)):
            raise Wrong("that is sqrt(alpha-bar), the factor in front of x_0; return alpha-bar itself, without the root.")
        if np.all(np.diff(got) >= 0):
            raise Wrong("alpha-bar must decrease with t (more and more noise), but yours does not.")
        check_close(got, want, "alpha_bar(betas)")
        return "sqrt(alpha-bar_t) is how much of the image is left at step t."

    def fresh_args(self, rng):
        T = int(rng.integers(5, 40))
        return (np.linspace(rng.uniform(1e-4, 1e-2), rng.uniform(0.05, 0.3), T),)


def _gram(features):
    """The Gram matrix of feature maps ``(C, H, W)``: ``(C, C)``, normalised by the positions ``H*W``."""
    c = features.shape[0]
    f = features.reshape(c, -1)
    return f @ f.T / f.shape[1]


class Gram(Exercise):
    name = "my_gram"
    title = "Exercise 4 — the Gram matrix of style transfer"
    hints = (
        "Style is which channels fire together, wherever in the image. Flatten each channel's map: a matrix "
        "F of shape (C, H*W), one row per channel.",
        "Entry (i, j) is the dot product of rows i and j of F; all of them at once are F times its own "
        "transpose, shape (C, C).",
        "Divide by the number of positions H*W (not by C*H*W), and do not subtract the mean: it is not a "
        "covariance. Reshape with the sizes read from features.shape, not fixed numbers.",
    )
    solution_code = """
        def my_gram(features):
            C, H, W = features.shape
            F = features.reshape(C, H * W)
            return F @ F.T / (H * W)
    """

    def reference(self):
        return _gram

    def verify(self, fn):
        c, h, w = _FEATS.shape
        raw = as_array(call(fn, _FEATS.copy(), what="`my_gram`"), "my_gram(features)")
        if raw.shape == (h * w, h * w):
            raise Wrong(f"got shape {raw.shape}: that compares positions, not channels. Use F @ F.T with F of shape (C, H*W), giving ({c}, {c}).")
        if raw.shape == (c,):
            raise Wrong(f"got shape ({c},): one number per channel, the products of each channel with itself only (the "
                        "diagonal). Use a matrix product, F @ F.T, to pair every channel with every other.")
        got = _result(raw, (c, c), "my_gram(features)")
        want = _gram(_FEATS)
        if np.allclose(got, want * h * w):
            raise Wrong(f"divide by the number of positions H*W = {h * w}, so the Gram matrix does not grow with the image size.")
        if np.allclose(got, want * h * w / c):
            raise Wrong(f"you divided by the number of channels C = {c}; divide by the number of positions H*W = {h * w}.")
        if np.allclose(got, want / c):
            raise Wrong("divide by H*W only (the positions), not by C*H*W.")
        f = _FEATS.reshape(c, -1)
        g = _FEATS.reshape(h * w, c).T
        if np.allclose(got, g @ g.T / (h * w)):
            raise Wrong("reshaping to (H*W, C) and transposing does not separate the channels: it mixes numbers of "
                        "different channels. The channel axis comes first, so reshape to (C, H*W) directly: "
                        "features.reshape(C, H * W).")
        if np.allclose(got, np.cov(f)) or np.allclose(got, np.corrcoef(f)):
            raise Wrong("the Gram matrix does not subtract the mean (it is not a covariance): just F @ F.T / (H*W).")
        check_close(got, want, "my_gram(features)")
        return "it keeps which features occur together and forgets where: that is 'style'."

    def fresh_args(self, rng):
        return (rng.normal(size=tuple(int(v) for v in rng.integers(2, 8, size=3))),)


# --- 5. build it: one reverse step of a guided DDPM -------------------------------------------

def _step(x, t, eps_c, eps_u, w, betas, z, variant="right"):
    """One DDPM reverse step with classifier-free guidance, and the typical mistakes (``variant``)."""
    eps = {"swap": (1 + w) * eps_u - w * eps_c, "s_convention": eps_u + w * (eps_c - eps_u),
           "cond_only": eps_c, "uncond_only": eps_u}.get(variant, (1 + w) * eps_c - w * eps_u)
    if variant == "t_minus_1":                           # the paper's 1-based t, read as 0-based
        return _step(x, t - 1, eps_c, eps_u, w, betas, z) if t > 0 else _step(x, 0, eps_c, eps_u, w, betas, z, "noise_at_0")
    alphas = 1 - betas
    alpha_bars = 1 - np.cumsum(betas) if variant == "cumsum" else np.cumprod(alphas)
    ab = alpha_bars[t - 1] if (variant == "bar_prev" and t > 0) else (1.0 if variant == "bar_prev" else alpha_bars[t])
    if variant == "alpha_not_bar":
        ab = alphas[t]
    root_a = alphas[t] if variant == "no_sqrt_alpha" else np.sqrt(alphas[t])
    sign = 1 if variant == "plus" else -1
    mean = (x + sign * betas[t] / np.sqrt(1 - ab) * eps) / root_a
    if variant == "brackets":                            # only x_t divided by sqrt(alpha_t)
        mean = x / root_a - betas[t] / np.sqrt(1 - ab) * eps
    if variant == "posterior_var":
        ab_prev = alpha_bars[t - 1] if t > 0 else 1.0
        sigma = np.sqrt(betas[t] * (1 - ab_prev) / (1 - alpha_bars[t]))
    else:
        sigma = betas[t] if variant == "var_not_std" else np.sqrt(betas[t])
    if variant == "no_noise" or (t == 0 and variant != "noise_at_0"):
        return mean
    return mean + sigma * z


def _guided_step(x_t, t, eps_cond, eps_uncond, w, betas, z):
    return _step(x_t, t, eps_cond, eps_uncond, w, betas, z)


_STEP_MISTAKES = (
    ("swap", "the guidance points the wrong way: it should push *away* from the unconditional prediction, "
             "eps = (1 + w) * eps_cond - w * eps_uncond; yours has eps_cond and eps_uncond swapped."),
    ("s_convention", "you used eps_uncond + w * (eps_cond - eps_uncond). That is the same formula with a "
                     "scale s = 1 + w, a convention other code uses; with this exercise's w (the notebook's), "
                     "eps = (1 + w) * eps_cond - w * eps_uncond = eps_uncond + (1 + w) * (eps_cond - eps_uncond)."),
    ("cond_only", "there is no guidance: you used eps_cond alone. The guided noise is "
                  "(1 + w) * eps_cond - w * eps_uncond."),
    ("uncond_only", "you used eps_uncond alone: the label is ignored. The guided noise is "
                    "(1 + w) * eps_cond - w * eps_uncond."),
    ("alpha_not_bar", "the noise term is divided by sqrt(1 - alpha_t); it must be sqrt(1 - alpha-bar_t), with "
                      "alpha-bar_t the running product of the alphas up to t (np.cumprod): the noise in x_t "
                      "accumulated over all steps so far."),
    ("cumsum", "alpha-bar is 1 minus the running sum of the betas; it is the running product of the alphas, "
               "np.cumprod(1 - betas) (1 - sum is only its first-order approximation)."),
    ("t_minus_1", "the step is one off: t is 0-based here (t = T - 1 is the first reverse step, t = 0 the last), so "
                  "read betas[t], alphas[t] and alpha-bar[t], not the entries at t - 1."),
    ("bar_prev", "alpha-bar is one step off: alpha-bar_t includes alpha_t itself (np.cumprod(1 - betas)[t]), "
                 "not only the steps before t."),
    ("brackets", "only x_t is divided by sqrt(alpha_t): the whole bracket is, "
                 "(x_t - beta_t / sqrt(1 - alpha-bar_t) * eps) / sqrt(alpha_t) (mind the brackets)."),
    ("no_sqrt_alpha", "the mean is divided by alpha_t; it must be divided by its square root, sqrt(alpha_t)."),
    ("plus", "the noise is added to x_t instead of subtracted: the mean is "
             "(x_t - beta_t / sqrt(1 - alpha-bar_t) * eps) / sqrt(alpha_t)."),
    ("var_not_std", "the noise z is scaled by beta_t, the variance; scale it by the standard deviation "
                    "sigma_t = sqrt(beta_t)."),
    ("posterior_var", "you used the posterior variance beta_t (1 - alpha-bar_{t-1}) / (1 - alpha-bar_t). Ho et "
                      "al. found it works about as well (the notebook's sampler uses it with clip=1.0), but this "
                      "exercise, like the formula of section 5, uses sigma_t = sqrt(beta_t)."),
    ("no_noise", "no noise was added: for t > 0 the step adds sigma_t * z with sigma_t = sqrt(beta_t); without "
                 "it the samples come out smooth and dull."),
)


class GuidedReverseStep(Exercise):
    name = "guided_reverse_step"
    title = "Exercise 5 — build it: one reverse step of a guided DDPM"
    hints = (
        "Two stages. First combine the two noise predictions into the guided one, pushing away from the "
        "unconditional prediction: (1 + w) times the conditional one minus w times the unconditional one. "
        "Then take one DDPM reverse step (Ho et al., Algorithm 2) with that noise.",
        "The step: mean = (x_t − beta_t / sqrt(1 − alpha-bar_t) · eps) / sqrt(alpha_t), and x_{t−1} = mean + "
        "sigma_t · z with sigma_t = sqrt(beta_t). alpha_t = 1 − beta_t for every step, and alpha-bar is their "
        "running product (exercise 3).",
        "Index the arrays at t (0-based): alpha-bar_t includes alpha_t itself. Mind the square roots: "
        "sqrt(alpha_t) divides the mean, and z is scaled by the standard deviation sqrt(beta_t), not by the "
        "variance beta_t. At t = 0, the very last step, return the mean: no noise is added.",
    )
    solution_code = """
        def guided_reverse_step(x_t, t, eps_cond, eps_uncond, w, betas, z):
            eps = (1 + w) * eps_cond - w * eps_uncond       # classifier-free guidance
            alphas = 1 - betas
            alpha_bars = np.cumprod(alphas)
            mean = (x_t - betas[t] / np.sqrt(1 - alpha_bars[t]) * eps) / np.sqrt(alphas[t])
            if t == 0:
                return mean                                  # the last step adds no noise
            return mean + np.sqrt(betas[t]) * z
    """

    def reference(self):
        return _guided_step

    @staticmethod
    def _inputs(rng, shape, T):
        betas = np.linspace(rng.uniform(1e-4, 1e-2), rng.uniform(0.05, 0.3), T)
        x, eps_c, eps_u, z = (rng.normal(size=shape) for _ in range(4))
        return x, eps_c, eps_u, betas, z

    def verify(self, fn):
        rng = np.random.default_rng(115)
        x, eps_c, eps_u, betas, z = self._inputs(rng, (3, 1, 4, 4), 12)
        t, w = 7, 2.0
        what = "x_{t-1}"
        out = as_array(call(fn, x, t, eps_c, eps_u, w, betas, z, what="`guided_reverse_step`"), what)
        check_shape(out, x.shape, what)
        check_finite(out, what)
        if not np.allclose(out, _step(x, t, eps_c, eps_u, w, betas, z), rtol=1e-4, atol=1e-6):
            for variant, message in _STEP_MISTAKES:
                if np.allclose(out, _step(x, t, eps_c, eps_u, w, betas, z, variant), rtol=1e-4, atol=1e-6):
                    raise Wrong(message)
            check_close(out, _step(x, t, eps_c, eps_u, w, betas, z), what)
        what = "x_{t-1} at the last step, t = 0"
        last = as_array(call(fn, x, 0, eps_c, eps_u, w, betas, z, what="`guided_reverse_step`"), what)
        check_shape(last, x.shape, what)
        check_finite(last, what)
        if np.allclose(last, _step(x, 0, eps_c, eps_u, w, betas, z, "noise_at_0"), rtol=1e-4, atol=1e-6):
            raise Wrong("at the last step, t = 0, no noise is added: return the mean itself (x_0 is the final "
                        "sample, and fresh noise would only blur it).")
        check_close(last, _step(x, 0, eps_c, eps_u, w, betas, z), what)
        return "guidance first, then Algorithm 2 of Ho et al. with the guided noise: x_t -> x_{t-1}."

    def fresh_args(self, rng):
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        T = int(rng.integers(5, 60))
        x, eps_c, eps_u, betas, z = self._inputs(rng, shape, T)
        t = int(rng.integers(0, T)) if rng.random() < 0.8 else 0
        return x, t, eps_c, eps_u, float(rng.uniform(0, 5)), betas, z


# --- 6. one deterministic DDIM step --------------------------------------------------------------

def _ddim(x_t, eps, ab_t, ab_prev, variant="right"):
    """The DDIM step with eta = 0, and the typical mistakes (``variant``)."""
    if variant == "swap":
        ab_t, ab_prev = ab_prev, ab_t
    root = (lambda v: v) if variant == "no_sqrt" else np.sqrt
    x0 = (x_t - root(1 - ab_t) * eps) / root(ab_t)
    if variant == "x0_only":
        return x0
    if variant == "unchanged":
        return x_t
    if variant == "no_divide":
        x0 = x_t - np.sqrt(1 - ab_t) * eps
    if variant == "plus":
        x0 = (x_t + np.sqrt(1 - ab_t) * eps) / np.sqrt(ab_t)
    if variant == "keep_noise_level":
        return np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_t) * eps
    if variant == "no_eps":
        return np.sqrt(ab_prev) * x0
    if variant == "brackets":                            # x_t - sqrt(1 - ab_t) * eps / sqrt(ab_t)
        x0 = x_t - np.sqrt(1 - ab_t) * eps / np.sqrt(ab_t)
    if variant == "half_sqrt":                           # the square root on one factor only
        x0 = (x_t - np.sqrt(1 - ab_t) * eps) / ab_t
    if variant == "minus_eps":
        return np.sqrt(ab_prev) * x0 - np.sqrt(1 - ab_prev) * eps
    if variant == "swap_factors":
        return np.sqrt(1 - ab_prev) * x0 + np.sqrt(ab_prev) * eps
    return root(ab_prev) * x0 + root(1 - ab_prev) * eps


_DDIM_MISTAKES = (
    ("swap", "the two noise levels are swapped: the predicted clean image comes from the *current* level, "
             "x0 = (x_t - sqrt(1 - ab_t) * eps) / sqrt(ab_t), and the result is built at the *target* level ab_prev."),
    ("no_sqrt", "the square roots are missing: x_t = sqrt(ab) * x0 + sqrt(1 - ab) * eps scales by the square roots "
                "of alpha-bar and of 1 - alpha-bar (they are the standard deviations' factors), not by the values."),
    ("unchanged", "you returned x_t unchanged (or rebuilt it at its own level, sqrt(ab_t) * x0 + sqrt(1 - ab_t) * eps): "
                  "the step must move to the level ab_prev: sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps."),
    ("x0_only", "you returned the predicted clean image x0 itself. DDIM walks to the noise level ab_prev: "
                "sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps (only at the very end, ab_prev = 1, is that x0)."),
    ("no_divide", "the predicted clean image must be divided by sqrt(ab_t): "
                  "x0 = (x_t - sqrt(1 - ab_t) * eps) / sqrt(ab_t) (x_t holds x0 scaled down by sqrt(ab_t))."),
    ("plus", "the noise is added where it must be removed: x0 = (x_t - sqrt(1 - ab_t) * eps) / sqrt(ab_t)."),
    ("keep_noise_level", "the noise is put back at the old level, sqrt(1 - ab_t) * eps; at the new level it is "
                         "sqrt(1 - ab_prev) * eps (less noise: that is the step)."),
    ("no_eps", "the noise term is missing: with eta = 0, DDIM puts the *predicted* noise back, scaled to the new "
               "level, sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps; dropping it jumps straight to a scaled x0."),
    ("brackets", "mind the brackets: the whole difference is divided by sqrt(ab_t), "
                 "x0 = (x_t - sqrt(1 - ab_t) * eps) / sqrt(ab_t), not only the noise term."),
    ("half_sqrt", "x0 is divided by ab_t; divide by its square root, sqrt(ab_t) (x_t holds x0 scaled by sqrt(ab_t))."),
    ("minus_eps", "the noise goes back in with a plus sign: x_prev = sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps, "
                  "the forward formula x = sqrt(ab) * x0 + sqrt(1 - ab) * eps at the new level."),
    ("swap_factors", "the two factors are swapped: the clean image is scaled by sqrt(ab_prev) and the noise by "
                     "sqrt(1 - ab_prev) (at ab_prev = 1, the end, only the clean image is left)."),
)


class DDIMStep(Exercise):
    name = "my_ddim_step"
    title = "Exercise 6 — one deterministic DDIM step"
    hints = (
        "Two moves. From x_t and the predicted noise eps, recover the clean image the network implies, by "
        "solving x_t = sqrt(ab_t) * x0 + sqrt(1 - ab_t) * eps for x0.",
        "Then build the less noisy image with the *same* noise at the target level: "
        "x_prev = sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps. No fresh noise: with eta = 0 DDIM is deterministic.",
        "ab_t and ab_prev are plain numbers (alpha-bar at the two time steps, ab_prev > ab_t); x_t and eps are "
        "arrays of one shape. Use np.sqrt.",
    )
    solution_code = """
        def my_ddim_step(x_t, eps, ab_t, ab_prev):
            x0 = (x_t - np.sqrt(1 - ab_t) * eps) / np.sqrt(ab_t)     # the clean image the noise implies
            return np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_prev) * eps
    """

    def reference(self):
        return lambda x_t, eps, ab_t, ab_prev: _ddim(x_t, eps, ab_t, ab_prev)

    def verify(self, fn):
        rng = np.random.default_rng(116)
        x, eps = rng.normal(size=(2, 1, 3, 3)), rng.normal(size=(2, 1, 3, 3))
        ab_t, ab_prev = 0.3, 0.6                 # not summing to 1: distinct mistakes give distinct numbers
        what = "my_ddim_step(x_t, eps, ab_t, ab_prev)"
        out = as_array(call(fn, x, eps, ab_t, ab_prev, what="`my_ddim_step`"), what)
        check_shape(out, x.shape, what)
        check_finite(out, what)
        want = _ddim(x, eps, ab_t, ab_prev)
        again = as_array(call(fn, x, eps, ab_t, ab_prev, what="`my_ddim_step`"), what)
        if not np.allclose(out, again, rtol=0, atol=1e-12):
            raise Wrong("two calls with the same inputs gave different results: DDIM with eta = 0 draws no fresh noise "
                        "(no np.random here); it reuses the predicted noise eps.")
        if not np.allclose(out, want, rtol=1e-5, atol=1e-7):
            for variant, message in _DDIM_MISTAKES:
                if np.allclose(out, _ddim(x, eps, ab_t, ab_prev, variant), rtol=1e-5, atol=1e-7):
                    raise Wrong(message)
            check_close(out, want, what)
        last = as_array(call(fn, x, eps, ab_t, 1.0, what="`my_ddim_step`"), "the last step (ab_prev = 1)")
        check_close(last, (x - np.sqrt(1 - ab_t) * eps) / np.sqrt(ab_t), "the last step (ab_prev = 1)")
        return ("the same noise, moved to a lower level: deterministic, so 10-50 of these steps replace "
                "DDPM's hundreds, and the path can be run backwards (inversion).")

    def fresh_args(self, rng):
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        ab_t = float(rng.uniform(0.01, 0.9))
        return rng.normal(size=shape), rng.normal(size=shape), ab_t, float(rng.uniform(ab_t, 1.0))


# --- 7. the style loss over several layers ------------------------------------------------------


def _style(feats, targets, variant="right"):
    """Mean over the layers of ||G(F) - S||^2 / ||S||^2, and the typical mistakes (``variant``)."""
    terms = []
    for f, s in zip(feats, targets):
        c, hw = f.shape[0], f.shape[1] * f.shape[2]
        flat = f.reshape(hw, c).T if variant == "reshape_positions" else f.reshape(c, -1)
        g = flat @ flat.T
        g = g / {"gram_unnormalised": 1, "gram_by_chw": c * hw, "gram_by_c": c}.get(variant, hw)
        d = g - s
        if variant == "no_square":
            terms.append(np.abs(d).sum() / np.abs(s).sum())
        elif variant == "norm":
            terms.append(np.sqrt((d ** 2).sum() / (s ** 2).sum()))
        elif variant == "no_relative":
            terms.append((d ** 2).sum())
        elif variant == "mean_not_sum":
            terms.append((d ** 2).mean())
        elif variant == "by_gram":
            terms.append((d ** 2).sum() / (g ** 2).sum())
        elif variant == "by_abs_sum":
            terms.append((d ** 2).sum() / np.abs(s).sum())
        elif variant == "by_sum_squared":
            terms.append((d ** 2).sum() / s.sum() ** 2)
        elif variant == "by_norm":
            terms.append((d ** 2).sum() / np.sqrt((s ** 2).sum()))
        elif variant == "elementwise":
            terms.append((d ** 2 / s ** 2).sum())
        else:
            terms.append((d ** 2).sum() / (s ** 2).sum())
    if variant == "sum_layers":
        return float(np.sum(terms))
    if variant == "global_ratio":
        return float(sum(((_gram(f) - s) ** 2).sum() for f, s in zip(feats, targets))
                     / sum((s ** 2).sum() for s in targets))
    if variant == "last_only":
        return float(terms[-1])
    if variant == "first_only":
        return float(terms[0])
    return float(np.mean(terms))


_STYLE_MISTAKES = (
    ("sum_layers", "you added the layers' terms up; the loss is their *mean* (divide the sum by the number of layers), "
                   "so that it does not grow when a layer is added."),
    ("last_only", "only the last layer counts in yours: average the terms of *every* layer in the list (zip the "
                  "features with the targets)."),
    ("first_only", "only the first layer counts in yours: average the terms of *every* layer in the list (a `return` "
                   "inside the loop ends it after the first layer)."),
    ("gram_unnormalised", "the Gram matrix is not divided by the number of positions H*W (exercise 4), so it is not on "
                          "the same scale as the targets."),
    ("gram_by_chw", "the Gram matrix is divided by C*H*W; divide by the number of positions H*W only (exercise 4)."),
    ("gram_by_c", "the Gram matrix is divided by the number of channels C; divide by the number of positions H*W (exercise 4)."),
    ("reshape_positions", "reshaping a (C, H, W) map to (H*W, C) and transposing mixes numbers of different channels (exercise 4): "
                          "reshape to (C, H*W) directly, f.reshape(C, -1)."),
    ("by_abs_sum", "divide by the sum of the *squared* entries of the target, (S**2).sum(), not by the sum of its entries, "
                   "S.sum() (or of their absolute values)."),
    ("by_sum_squared", "divide by the sum of the squared entries, (S**2).sum(), not by the square of their sum, S.sum()**2."),
    ("by_norm", "divide by (S**2).sum(), the squared size of the target, not by its norm, np.sqrt((S**2).sum())."),
    ("elementwise", "divide the two sums, ((G - S)**2).sum() / (S**2).sum(): dividing entry by entry, ((G - S)**2 / S**2).sum(), "
                    "blows up wherever an entry of S is near 0."),
    ("global_ratio", "compute the relative error of each layer first, then average those: one ratio of the summed errors over "
                     "the summed sizes lets the layer with the largest Gram matrices decide alone."),
    ("no_square", "the differences are not squared: each term is the sum of (G - S)**2 divided by the sum of S**2."),
    ("norm", "you took the square root (a norm); the term is the *squared* error: ((G - S)**2).sum() / (S**2).sum()."),
    ("no_relative", "each layer's term must be divided by (S**2).sum(): relative errors, so that a layer with large "
                    "activations does not drown the others."),
    ("mean_not_sum", "each layer's term is ((G - S)**2).sum() / (S**2).sum(); yours takes the mean of the squared "
                     "error and does not divide by the target's size, (S**2).sum()."),
    ("by_gram", "divide by the *target's* size, (S**2).sum(), not by the result's: the target is fixed, the result "
                "moves while we optimise."),
)


class StyleLoss(Exercise):
    name = "my_style_loss"
    title = "Exercise 7 — the style loss over several layers"
    hints = (
        "For every layer: the Gram matrix of its feature maps (exercise 4), compared with the style image's Gram "
        "matrix of the same layer. zip(feats, targets) walks the layers in pairs.",
        "Each layer's term is a relative squared error: ((G - S)**2).sum() / (S**2).sum(). Dividing by the target's "
        "size puts every layer on the same footing, however large its activations.",
        "The loss is the mean of the layers' terms, one float. Use your my_gram (or its formula) for G.",
    )
    solution_code = """
        def my_style_loss(feats, targets):
            terms = []
            for f, s in zip(feats, targets):
                C = f.shape[0]
                F = f.reshape(C, -1)
                G = F @ F.T / F.shape[1]                       # the Gram matrix (exercise 4)
                terms.append(((G - s) ** 2).sum() / (s ** 2).sum())
            return np.mean(terms)
    """

    def reference(self):
        return _style

    @staticmethod
    def _inputs(rng, layers):
        feats, targets = [], []
        for k in range(layers):
            c, h = int(rng.integers(2, 7)), int(rng.integers(2, 6))
            feats.append(np.abs(rng.normal(size=(c, h, h))))
            targets.append(_gram(np.abs(rng.normal(size=(c, h, h))) * rng.uniform(0.5, 3.0)))
        return feats, targets

    def verify(self, fn):
        feats, targets = self._inputs(np.random.default_rng(117), 3)
        what = "my_style_loss(feats, targets)"
        raw = call(fn, [f.copy() for f in feats], [t.copy() for t in targets], what="`my_style_loss`")
        arr = as_array(raw, what)
        if arr.ndim and arr.size == len(feats):
            raise Wrong(f"got {arr.size} numbers, one per layer: the loss is one number, the mean of the layers' terms.")
        if arr.size != 1:
            raise Wrong(f"the loss is one number; got an array of shape {arr.shape}.")
        got = float(arr.reshape(()))
        check_finite(np.asarray(got), what)
        want = _style(feats, targets)
        if got == 0 and want != 0 and got == float(np.sum([_style([f], [t]) for f, t in zip(feats, targets)]) // len(feats)):
            raise Wrong("the result is 0: an integer division (`//` rounds down, here to 0: divide with `/` or use np.mean), "
                        "or a total that is never added to?")
        if not np.isclose(got, want, rtol=1e-5):
            for variant, message in _STYLE_MISTAKES:
                if np.isclose(got, _style(feats, targets, variant), rtol=1e-5):
                    raise Wrong(message)
            check_close(got, want, what)
        return "style is the Gram statistics of every layer at once: fine texture from the shallow layers, larger patterns from the deep ones."

    def fresh_args(self, rng):
        return self._inputs(rng, int(rng.integers(1, 5)))


q1, q2, q3, q4, q5 = Reparameterize(), KL(), AlphaBar(), Gram(), GuidedReverseStep()
q6, q7 = DDIMStep(), StyleLoss()
ALL = [q1, q2, q3, q4, q5, q6, q7]
