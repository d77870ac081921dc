"""Day 11's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day11


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
