"""Day 01's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day01


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_mse_mistakes():
    assert "*sum*" in _msg(day01.q1, lambda y, p: np.sum((p - y) ** 2))
    assert "absolute" in _msg(day01.q1, lambda y, p: np.mean(np.abs(p - y)))
    assert "RMSE" in _msg(day01.q1, lambda y, p: np.sqrt(np.mean((p - y) ** 2)))
    assert "single number" in _msg(day01.q1, lambda y, p: (p - y) ** 2)
    assert "*before* averaging" in _msg(day01.q1, lambda y, p: np.mean(p - y) ** 2)
    assert day01.q1.evaluate(lambda y, p: [np.mean((p - y) ** 2)]).correct  # a 1-element list is fine


def test_broadcasting_mistakes():
    msg = _msg(day01.q2, lambda x, s, b: x[:, None] * s[None, :] + b)
    assert "expected (5, 20), got (20, 5)" in msg and "transposed" in msg


def test_gradient_mistakes():
    ref = day01.q3.reference()
    assert "wrong sign" in _msg(day01.q3, lambda *a: tuple(-g for g in ref(*a)))
    assert "swapped" in _msg(day01.q3, lambda *a: ref(*a)[::-1])
    assert "factor" in _msg(day01.q3, lambda *a: tuple(g / 2 for g in ref(*a)))
    assert "dw is correct; db is" in _msg(day01.q3, lambda *a: (ref(*a)[0], 0.0))
    assert "one value per point" in _msg(day01.q3, lambda x, y, w, b: (2 * (w * x + b - y) * x, 2 * (w * x + b - y)))


def test_broadcasting_offset_and_reshape():
    assert "off by the same amount" in _msg(day01.q2, lambda x, s, b: s[:, None] * x[None, :])
    assert "other way round" in _msg(day01.q2, lambda x, s, b: (s[:, None] * x[None, :] + b).reshape(len(x), len(s)))
    assert "v[:, None]" in _msg(day01.q2, lambda x, s, b: s * x + b)


def test_least_squares_mistakes():
    ref = day01.q4.reference()
    assert "swapped" in _msg(day01.q4, lambda x, y: ref(x, y)[::-1])
    # forgetting to centre x: slope = mean(x*y)/mean(x**2)
    assert "w is " in _msg(day01.q4, lambda x, y: (np.mean(x * y) / np.mean(x * x), 0.0))
    assert "np.cov divides by N-1" in _msg(day01.q4, lambda x, y: (np.cov(x, y)[0, 1] / np.var(x), 0.0))
    ok = day01.q4.evaluate(lambda x, y: (np.cov(x, y)[0, 1] / np.var(x, ddof=1),
                                         y.mean() - np.cov(x, y)[0, 1] / np.var(x, ddof=1) * x.mean()))
    assert ok.correct
