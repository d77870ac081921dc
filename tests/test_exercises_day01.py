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


def test_broadcasting_mistakes():
    msg = _msg(day01.q2, lambda x, s, b: x[:, None] * s[None, :] + b)
    assert "expected (5, 20), got (20, 5)" in msg and "transposed" in msg


def test_gradient_mistakes():
    ref = day01.q3.reference()
    assert "wrong sign" in _msg(day01.q3, lambda *a: tuple(-g for g in ref(*a)))
    assert "swapped" in _msg(day01.q3, lambda *a: ref(*a)[::-1])
    assert "factor" in _msg(day01.q3, lambda *a: tuple(g / 2 for g in ref(*a)))


def test_least_squares_mistakes():
    ref = day01.q4.reference()
    assert "swapped" in _msg(day01.q4, lambda x, y: ref(x, y)[::-1])
    # forgetting to centre x: slope = mean(x*y)/mean(x**2)
    assert "not right" in _msg(day01.q4, lambda x, y: (np.mean(x * y) / np.mean(x * x), 0.0))
