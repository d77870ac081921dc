"""Day 04's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import ____, day04


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_softmax_ce_grad_mistakes():
    def naive(z, y):                                   # no max subtraction
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        return p / len(y)
    assert "maximum" in _msg(day04.q1, naive) and "[1000" in _msg(day04.q1, naive)
    assert "probabilities only" in _msg(day04.q1, lambda z, y: day04._ref_softmax(z) / len(y))
    assert "factor N" in _msg(day04.q1, lambda z, y: day04._ref_ce_grad(z, y) * len(y))
    assert "wrong sign" in _msg(day04.q1, lambda z, y: -day04._ref_ce_grad(z, y))
    assert "transposed" in _msg(day04.q1, lambda z, y: day04._ref_ce_grad(z, y).T)

    def add_two(z, y):                                 # subtracts 2 at the label
        g = day04._ref_ce_grad(z, y) * len(y)
        g[np.arange(len(y)), y] -= 1
        return g / len(y)
    assert "sum to 0" in _msg(day04.q1, add_two)


def test_bce_mistakes():
    def naive(z, y):
        p = 1 / (1 + np.exp(-z))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert "log(0)" in _msg(day04.q2, naive)
    assert "minus" in _msg(day04.q2, lambda z, y: -day04._ref_bce(z, y))
    assert "*sum*" in _msg(day04.q2, lambda z, y: day04._ref_bce(z, y) * len(z))
    assert "single number" in _msg(day04.q2, lambda z, y: np.maximum(z, 0) - z * y)


def test_dense_backward_mistakes():
    # the classic: a transposed weight gradient
    msg = _msg(day04.q3, lambda x, W, g: (g @ W.T, g.T @ x, g.sum(axis=0)))
    assert "dW is transposed" in msg and "x.T @ grad_out" in msg
    assert "one row per example" in _msg(day04.q3, lambda x, W, g: (g @ W.T, x.T @ g, g))
    assert "*mean*" in _msg(day04.q3, lambda x, W, g: (g @ W.T, x.T @ g, g.mean(axis=0)))
    assert "wrong axis" in _msg(day04.q3, lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=1)))
    assert "dx is transposed" in _msg(day04.q3, lambda x, W, g: (W @ g.T, x.T @ g, g.sum(axis=0)))
    assert "divided by the batch size" in _msg(day04.q3, lambda x, W, g: (g @ W.T, x.T @ g / len(x), g.sum(0)))
    assert "dx, dW, db" in _msg(day04.q3, lambda x, W, g: x.T @ g)
    # starter code with its blanks left in is "not attempted", not wrong
    assert day04.q3.evaluate(lambda x, W, g: (____, ____, ____)).status == "not_attempted"


def test_centred_gradient_mistakes():
    def forward(f, x, eps=1e-6):
        base, grad = f(), np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]; x[i] = old + eps; grad[i] = (f() - base) / eps; x[i] = old
        return grad
    assert "one-sided" in _msg(day04.q4, forward)

    def not_restored(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]; x[i] = old + eps; fp = f(); x[i] = old - eps; fm = f()
            grad[i] = (fp - fm) / (2 * eps)
        return grad
    assert "left x changed" in _msg(day04.q4, not_restored)

    def half_step(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]; x[i] = old + eps; fp = f(); x[i] = old - eps; fm = f(); x[i] = old
            grad[i] = (fp - fm) / eps
        return grad
    assert "2 * eps" in _msg(day04.q4, half_step)
