"""Day 11's exercises: typical wrong answers get the right explanation."""

import textwrap

import numpy as np
import pytest

from mlcourse.exercises import ____, day11


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_references_pass():
    for q in day11.ALL:
        assert q.evaluate(q.reference()).correct


def test_reparameterize_mistakes():
    assert "variance" in _msg(day11.q1, lambda m, lv, e: m + np.exp(lv) * e)
    assert "not the standard deviation" in _msg(day11.q1, lambda m, lv, e: m + lv * e)
    assert "swapped" in _msg(day11.q1, lambda m, lv, e: m * e + np.exp(0.5 * lv))
    assert "plain autoencoder" in _msg(day11.q1, lambda m, lv, e: m)


def test_kl_mistakes():
    ref = day11.q2.reference()
    assert "axis=1" in _msg(day11.q2, lambda m, lv: 0.5 * (m**2 + np.exp(lv) - 1 - lv))
    assert "single number" in _msg(day11.q2, lambda m, lv: ref(m, lv).sum())
    assert "factor 0.5" in _msg(day11.q2, lambda m, lv: 2 * ref(m, lv))
    assert "sign of logvar" in _msg(day11.q2, lambda m, lv: 0.5 * np.sum(m**2 + np.exp(lv) - 1 + lv, axis=1))


def test_alpha_bar_mistakes():
    assert "multiplied the betas" in _msg(day11.q3, np.cumprod)
    assert "running product" in _msg(day11.q3, lambda b: 1 - b)
    assert "approximation" in _msg(day11.q3, lambda b: 1 - np.cumsum(b))
    assert "off by one" in _msg(day11.q3, lambda b: np.concatenate([[1.0], np.cumprod(1 - b)[:-1]]))
    assert "single number" in _msg(day11.q3, lambda b: np.prod(1 - b))


def test_gram_mistakes():
    def unnormalised(f):
        c = f.shape[0]
        g = f.reshape(c, -1)
        return g @ g.T

    def positions(f):
        g = f.reshape(f.shape[0], -1)
        return g.T @ g

    assert "H*W = 30" in _msg(day11.q4, unnormalised)
    assert "compares positions" in _msg(day11.q4, positions)
    assert "not by C*H*W" in _msg(day11.q4, lambda f: unnormalised(f) / f.size)
    assert "covariance" in _msg(day11.q4, lambda f: np.cov(f.reshape(f.shape[0], -1)))
    assert "number of channels C = 4" in _msg(day11.q4, lambda f: unnormalised(f) / f.shape[0])


def _solution(q):
    """The exercise's own solution_code, run as a learner would paste it."""
    scope = {"np": np}
    exec(textwrap.dedent(q.solution_code), scope)
    return scope[q.name]


def test_solutions_as_written_pass_and_names_do_not_clash_with_the_lesson():
    for q in day11.ALL:
        assert q.evaluate(_solution(q)).correct, q.name
    # the lesson defines `reparameterize(mu, logvar)` and `gram(f)`: the exercises must not overwrite them
    assert day11.q1.name == "my_reparameterize" and day11.q4.name == "my_gram"
    assert not {q.name for q in day11.ALL} & {"reparameterize", "gram"}


def test_answers_that_ignore_their_inputs_fail():
    mu, lv, eps = day11._MU, day11._LOGVAR, day11._EPS
    assert "new random inputs" in _msg(day11.q1, lambda m, l, e: mu + np.exp(0.5 * lv) * eps)
    kl = day11.q2.reference()
    assert "new random inputs" in _msg(day11.q2, lambda m, l: kl(m, l) if m.shape == (2, 3) else kl(mu, lv))
    assert "new random inputs" in _msg(day11.q3, lambda b: np.cumprod(1 - day11._BETAS))

    def fixed_shape(f):                          # reshapes with the example's sizes (4, 5, 6)
        g = f.reshape(4, 30)
        return g @ g.T / 30

    # it crashes on most fresh inputs (the crash is reported); on a draw of 120 elements it reshapes
    # but gives a Gram matrix of the wrong size, reported as a miss on new random inputs
    msg = _msg(day11.q4, fixed_shape)
    assert "cannot reshape" in msg or ("new random inputs" in msg and "wrong shape" in msg)


def test_guided_step_matches_the_package_sampler():
    torch = pytest.importorskip("torch")
    from mlcourse.models import diffusion as D

    sched = D.Schedule(12, "linear")
    betas = sched.betas.double().numpy()
    rng = np.random.default_rng(0)
    x, eps_c, eps_u = (rng.normal(size=(2, 1, 4, 4)).astype(np.float32) for _ in range(3))
    for t in (7, 0):
        for w in (0.0, 3.0):
            model = lambda xt, tt: torch.from_numpy((1 + w) * eps_c - w * eps_u)   # what D.Guided returns
            torch.manual_seed(1)
            z = torch.randn(x.shape).numpy()
            torch.manual_seed(1)
            pkg = sched.p_step(model, torch.from_numpy(x), t).numpy()
            ours = day11.q5.reference()(x.astype(np.float64), t, eps_c, eps_u, w, betas, z)
            assert np.allclose(ours, pkg, rtol=1e-5, atol=1e-5), (t, w)


GUIDED_STARTER = """
def guided_reverse_step(x_t, t, eps_cond, eps_uncond, w, betas, z):
    eps = ____
    alphas = ____
    alpha_bars = ____
    mean = ____
    return ____
"""


def test_guided_step_mistakes():
    scope = {"np": np, "____": ____}
    exec(GUIDED_STARTER, scope)
    assert day11.q5.evaluate(scope["guided_reverse_step"]).status == "not_attempted"

    def make(variant):
        return lambda x, t, ec, eu, w, b, z: day11._step(x, t, ec, eu, w, b, z, variant)

    q = day11.q5
    assert q.evaluate(make("right")).correct
    assert q.evaluate(lambda *a: make("right")(*a).astype(np.float32)).correct
    assert "wrong way" in _msg(q, make("swap"))
    assert "s = 1 + w" in _msg(q, make("s_convention"))
    assert "no guidance" in _msg(q, make("cond_only"))
    assert "label is ignored" in _msg(q, make("uncond_only"))
    assert "sqrt(1 - alpha-bar_t)" in _msg(q, make("alpha_not_bar"))
    assert "one step off" in _msg(q, make("bar_prev"))
    assert "running product of the alphas" in _msg(q, make("cumsum"))
    assert "0-based" in _msg(q, make("t_minus_1"))
    assert "square root, sqrt(alpha_t)" in _msg(q, make("no_sqrt_alpha"))
    assert "instead of subtracted" in _msg(q, make("plus"))
    assert "standard deviation" in _msg(q, make("var_not_std"))
    assert "posterior variance" in _msg(q, make("posterior_var"))
    assert "no noise was added" in _msg(q, make("no_noise"))
    assert "t = 0, no noise is added" in _msg(q, make("noise_at_0"))
    assert "expected (3, 1, 4, 4)" in _msg(q, lambda x, *a: make("right")(x, *a)[0])
    # right on the example only: the fresh random inputs catch it
    assert "new random inputs" in _msg(q, lambda x, t, ec, eu, w, b, z: make("right")(x, t, ec, eu, 2.0, b, z))


# --- review of the messages (beginners' answers) -------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_reparameterize_names_more_mistakes():
    import math

    assert "np.exp, which works elementwise" in _msg(day11.q1, lambda m, l, e: m + math.exp(0.5 * l) * e)
    assert "do not draw new noise" in _msg(day11.q1, lambda m, l, e: m + np.exp(0.5 * l) * np.random.randn(*m.shape))
    assert "can be negative" in _msg(day11.q1, lambda m, l, e: m + np.sqrt(l) * e)
    assert "subtracted" in _msg(day11.q1, lambda m, l, e: m - np.exp(0.5 * l) * e)
    assert "mu is missing" in _msg(day11.q1, lambda m, l, e: np.exp(0.5 * l) * e)
    assert "divided by sigma" in _msg(day11.q1, lambda m, l, e: m + np.exp(-0.5 * l) * e)


def test_kl_gram_alpha_bar_and_step_name_more_mistakes():
    kl = lambda m, l: m ** 2 + np.exp(l) - 1 - l  # noqa: E731
    assert "averaged over the latent" in _msg(day11.q2, lambda m, l: 0.5 * kl(m, l).mean(axis=1))
    assert "extra axis of length 1" in _msg(day11.q2, lambda m, l: 0.5 * kl(m, l).sum(axis=1, keepdims=True))
    assert "mu² term is missing" in _msg(day11.q2, lambda m, l: 0.5 * np.sum(np.exp(l) - 1 - l, axis=1))
    assert "you used sigma" in _msg(day11.q2, lambda m, l: 0.5 * np.sum(m ** 2 + np.exp(0.5 * l) - 1 - l, axis=1))
    assert "1 - alpha-bar" in _msg(day11.q3, lambda b: 1 - np.cumprod(1 - b))
    assert "without the root" in _msg(day11.q3, lambda b: np.sqrt(np.cumprod(1 - b)))
    mixed = lambda f: (lambda g: g @ g.T / g.shape[1])(f.reshape(-1, f.shape[0]).T)  # noqa: E731
    assert "reshape to (C, H*W) directly" in _msg(day11.q4, mixed)
    assert "the diagonal" in _msg(day11.q4, lambda f: (f.reshape(f.shape[0], -1) ** 2).mean(1))

    def brackets(x, t, c, u, w, betas, z):
        a, ab = 1 - betas, np.cumprod(1 - betas)
        mean = x / np.sqrt(a[t]) - betas[t] / np.sqrt(1 - ab[t]) * ((1 + w) * c - w * u)
        return mean if t == 0 else mean + np.sqrt(betas[t]) * z
    assert "mind the brackets" in _msg(day11.q5, brackets)


def test_ddim_step_mistakes():
    q = day11.q6
    root = np.sqrt
    assert "swapped" in _msg(q, lambda x, e, a, b: root(a) * (x - root(1 - b) * e) / root(b) + root(1 - a) * e)
    assert "square roots are missing" in _msg(q, lambda x, e, a, b: b * (x - (1 - a) * e) / a + (1 - b) * e)
    assert "x0 itself" in _msg(q, lambda x, e, a, b: (x - root(1 - a) * e) / root(a))
    assert "divided by sqrt(ab_t)" in _msg(q, lambda x, e, a, b: root(b) * (x - root(1 - a) * e) + root(1 - b) * e)
    assert "must be removed" in _msg(q, lambda x, e, a, b: root(b) * (x + root(1 - a) * e) / root(a) + root(1 - b) * e)
    assert "old level" in _msg(q, lambda x, e, a, b: root(b) * (x - root(1 - a) * e) / root(a) + root(1 - a) * e)
    assert "noise term is missing" in _msg(q, lambda x, e, a, b: root(b) * (x - root(1 - a) * e) / root(a))
    # fresh noise added (a DDPM habit) is wrong, and so is a function that ignores its arguments
    rng = np.random.default_rng(0)
    assert q.evaluate(lambda x, e, a, b: day11._ddim(x, e, a, b) + 0.1 * rng.normal(size=x.shape)).status == "incorrect"
    example = np.random.default_rng(116)                 # the check's own example, copied as a beginner might
    fixed = day11._ddim(example.normal(size=(2, 1, 3, 3)), example.normal(size=(2, 1, 3, 3)), 0.3, 0.6)
    assert "new random inputs" in _msg(q, lambda x, e, a, b: fixed if b < 1 else day11._ddim(x, e, a, b))


def gram(f):
    """The right Gram matrix of a (C, H, W) map, for building wrong answers around it."""
    g = f.reshape(f.shape[0], -1)
    return g @ g.T / g.shape[1]


def test_style_loss_mistakes():
    q = day11.q7

    def terms(fs, ts):
        return [((gram(f) - s) ** 2).sum() / (s ** 2).sum() for f, s in zip(fs, ts)]

    def first_only(fs, ts):
        for f, s in zip(fs, ts):
            return ((gram(f) - s) ** 2).sum() / (s ** 2).sum()

    assert "mean" in _msg(q, lambda fs, ts: sum(terms(fs, ts)))
    assert "last layer" in _msg(q, lambda fs, ts: terms(fs, ts)[-1])
    assert "first layer" in _msg(q, first_only)
    assert "one per layer" in _msg(q, lambda fs, ts: np.array(terms(fs, ts)))
    assert "H*W" in _msg(q, lambda fs, ts: np.mean([((f.reshape(f.shape[0], -1) @ f.reshape(f.shape[0], -1).T - s) ** 2).sum()
                                                    / (s ** 2).sum() for f, s in zip(fs, ts)]))
    assert "not squared" in _msg(q, lambda fs, ts: np.mean([np.abs(gram(f) - s).sum() / np.abs(s).sum() for f, s in zip(fs, ts)]))
    assert "square root" in _msg(q, lambda fs, ts: np.mean([np.sqrt(t) for t in terms(fs, ts)]))
    assert "relative errors" in _msg(q, lambda fs, ts: np.mean([((gram(f) - s) ** 2).sum() for f, s in zip(fs, ts)]))
    assert "target's size" in _msg(q, lambda fs, ts: np.mean([((gram(f) - s) ** 2).mean() for f, s in zip(fs, ts)]))
    assert "not by the result's" in _msg(q, lambda fs, ts: np.mean([((gram(f) - s) ** 2).sum() / (gram(f) ** 2).sum()
                                                                    for f, s in zip(fs, ts)]))
    # comparing the feature maps themselves (a content loss) is wrong, with some explanation
    assert q.evaluate(lambda fs, ts: np.mean([((f.reshape(f.shape[0], -1)[:, :s.shape[1]] - s) ** 2).sum() / (s ** 2).sum()
                                              for f, s in zip(fs, ts)])).status == "incorrect"
    assert q.evaluate(lambda fs, ts: np.mean(terms(fs, ts))).correct


def test_ddim_step_more_mistakes():
    q = day11.q6
    r = np.sqrt
    x0 = lambda x, e, a: (x - r(1 - a) * e) / r(a)
    assert "brackets" in _msg(q, lambda x, e, a, b: r(b) * (x - r(1 - a) * e / r(a)) + r(1 - b) * e)
    assert "divided by ab_t" in _msg(q, lambda x, e, a, b: r(b) * (x - r(1 - a) * e) / a + r(1 - b) * e)
    assert "plus sign" in _msg(q, lambda x, e, a, b: r(b) * x0(x, e, a) - r(1 - b) * e)
    assert "unchanged" in _msg(q, lambda x, e, a, b: x)
    assert "unchanged" in _msg(q, lambda x, e, a, b: r(a) * x0(x, e, a) + r(1 - a) * e)
    assert "ab_prev = 1" not in q.evaluate(lambda x, e, a, b: day11._ddim(x, e, a, b)).message
    assert "factors are swapped" in _msg(q, lambda x, e, a, b: r(1 - b) * x0(x, e, a) + r(b) * e)
    rng = np.random.default_rng()
    assert "no fresh noise" in _msg(q, lambda x, e, a, b: r(b) * x0(x, e, a) + r(1 - b) * rng.normal(size=x.shape))


def test_style_loss_more_mistakes():
    q = day11.q7

    def loss(gram_div, ratio):
        def fn(fs, ts):
            out = []
            for f, s in zip(fs, ts):
                g = f.reshape(f.shape[0], -1)
                out.append(ratio(g @ g.T / gram_div(f), s))
            return np.mean(out)
        return fn

    right = lambda g, s: ((g - s) ** 2).sum() / (s ** 2).sum()
    hw = lambda f: f.shape[1] * f.shape[2]
    assert "C*H*W" in _msg(q, loss(lambda f: f.size, right))
    assert "number of channels C" in _msg(q, loss(lambda f: f.shape[0], right))
    assert "sum of its entries" in _msg(q, loss(hw, lambda g, s: ((g - s) ** 2).sum() / np.abs(s).sum()))
    assert "sum of its entries" in _msg(q, loss(hw, lambda g, s: ((g - s) ** 2).sum() / s.sum()))
    assert "square of their sum" in _msg(q, loss(hw, lambda g, s: ((g - s) ** 2).sum() / s.sum() ** 2))
    assert "not by its norm" in _msg(q, loss(hw, lambda g, s: ((g - s) ** 2).sum() / np.sqrt((s ** 2).sum())))
    assert "entry by entry" in _msg(q, loss(hw, lambda g, s: ((g - s) ** 2 / s ** 2).sum()))

    def positions(fs, ts):
        out = []
        for f, s in zip(fs, ts):
            g = f.reshape(-1, f.shape[0]).T
            out.append(((g @ g.T / g.shape[1] - s) ** 2).sum() / (s ** 2).sum())
        return np.mean(out)

    def global_ratio(fs, ts):
        return sum(((gram(f) - s) ** 2).sum() for f, s in zip(fs, ts)) / sum((s ** 2).sum() for s in ts)

    def floor_division(fs, ts):
        terms = [((gram(f) - s) ** 2).sum() / (s ** 2).sum() for f, s in zip(fs, ts)]
        return sum(terms) // len(terms)

    assert "mixes numbers of different channels" in _msg(q, positions)
    assert "each layer first" in _msg(q, global_ratio)
    msg = _msg(q, floor_division)
    assert "//" in msg or "integer division" in msg, msg
