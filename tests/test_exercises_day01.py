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


# -- fresh random inputs (issue 14) -----------------------------------------------------------

def test_right_answers_written_other_ways_pass_on_fresh_inputs():
    assert day01.q1.evaluate(lambda y, p: sum((p - y) ** 2) / len(y)).correct
    assert day01.q2.evaluate(lambda x, s, b: np.outer(s, x) + b).correct
    assert day01.q2.evaluate(lambda x, s, b: np.array([k * x + b for k in s])).correct
    e = lambda x, y, w, b: w * x + b - y  # noqa: E731
    assert day01.q3.evaluate(lambda x, y, w, b: np.array([np.mean(2 * e(x, y, w, b) * x),
                                                          np.mean(2 * e(x, y, w, b))])).correct
    assert day01.q4.evaluate(lambda x, y: np.polyfit(x, y, 1)).correct


def test_a_fixed_number_of_points_fails_on_fresh_inputs():
    msg = _msg(day01.q1, lambda y, p: np.sum((p - y) ** 2) / 20)
    assert "new random inputs" in msg and "divides by 20" in msg and "len(y)" in msg
    msg = _msg(day01.q3, lambda x, y, w, b: (np.sum(2 * (w * x + b - y) * x) / 20, np.sum(2 * (w * x + b - y)) / 20))
    assert "divides by 20" in msg and "len(x)" in msg


def test_a_copied_intercept_fails_on_fresh_inputs():
    msg = _msg(day01.q2, lambda x, s, b: s[:, None] * x[None, :] + 0.7)
    assert "new random inputs" in msg and "off by the same amount" in msg


def test_blank_is_not_attempted():
    from mlcourse.exercises import ____

    for q in day01.ALL:
        assert q.evaluate(lambda *a: ____).status == "not_attempted"


# -- review of the beginners' answers ---------------------------------------------------------

def test_mse_caret_half_var_and_negative_are_named():
    assert "`^` is not a power" in _msg(day01.q1, lambda y, p: np.mean((p - y) ^ 2))
    assert "half the MSE" in _msg(day01.q1, lambda y, p: 0.5 * np.mean((p - y) ** 2))
    assert "np.var" in _msg(day01.q1, lambda y, p: np.var(p - y))
    assert "never be negative" in _msg(day01.q1, lambda y, p: np.mean(p - y) if np.mean(p - y) < 0 else -1.0)


def test_a_grid_with_extra_axes_is_not_accepted():
    msg = _msg(day01.q2, lambda x, s, b: s[:, None, None] * x + b)
    assert "expected (5, 20), got (5, 1, 20)" in msg and "extra axes" in msg


def test_a_bias_forgotten_in_dw_only_is_caught_on_the_example():
    msg = _msg(day01.q3, lambda x, y, w, b: (np.mean(2 * (w * x - y) * x), np.mean(2 * (w * x + b - y))))
    assert "dw is " in msg and "db is correct" in msg and "new random inputs" not in msg
