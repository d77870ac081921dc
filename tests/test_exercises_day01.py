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


# -- Exercise 5: the gradient of the mean absolute error --------------------------------------

def _r(x, y, w, b):
    return w * x + b - y


def test_mae_gradient_beginner_mistakes_are_named():
    q = day01.q5
    sign = lambda x, y, w, b: np.sign(_r(x, y, w, b))  # noqa: E731
    # y - prediction instead of prediction - y: both signs flip
    msg = _msg(q, lambda x, y, w, b: (np.mean(np.sign(y - w * x - b) * x), np.mean(np.sign(y - w * x - b))))
    assert "wrong sign" in msg and "prediction minus target" in msg
    # the x factor forgotten in dw
    msg = _msg(q, lambda x, y, w, b: (np.mean(sign(x, y, w, b)), np.mean(sign(x, y, w, b))))
    assert "x factor is missing" in msg
    # the MSE's gradient, 2r, copied from Exercise 3
    msg = _msg(q, lambda x, y, w, b: (np.mean(2 * _r(x, y, w, b) * x), np.mean(2 * _r(x, y, w, b))))
    assert "gradient of the *MSE*" in msg
    # r instead of sign(r)
    assert "*sign* of r" in _msg(q, lambda x, y, w, b: (np.mean(_r(x, y, w, b) * x), np.mean(_r(x, y, w, b))))
    # |r| instead of its derivative
    msg = _msg(q, lambda x, y, w, b: (np.mean(np.abs(_r(x, y, w, b)) * x), np.mean(np.abs(_r(x, y, w, b)))))
    assert "you used |r|" in msg
    # the loss returned instead of its gradient
    assert "the loss itself" in _msg(q, lambda x, y, w, b: np.mean(np.abs(_r(x, y, w, b))))
    # sign of r*x
    msg = _msg(q, lambda x, y, w, b: (np.mean(np.sign(_r(x, y, w, b) * x)), np.mean(sign(x, y, w, b))))
    assert "sign of r·x" in msg
    # a sum instead of a mean
    msg = _msg(q, lambda x, y, w, b: (np.sum(sign(x, y, w, b) * x), np.sum(sign(x, y, w, b))))
    assert "summed over the 20 points" in msg
    # swapped, and one value per point
    ref = q.reference()
    assert "swapped" in _msg(q, lambda *a: ref(*a)[::-1])
    msg = _msg(q, lambda x, y, w, b: (sign(x, y, w, b) * x, sign(x, y, w, b)))
    assert "one value per point" in msg


def test_mae_gradient_fixed_count_fails_on_fresh_inputs():
    def by_twenty(x, y, w, b):
        s = np.sign(w * x + b - y)
        return np.sum(s * x) / 20, np.sum(s) / 20

    msg = _msg(day01.q5, by_twenty)
    assert "new random inputs" in msg and "divides by 20" in msg and "len(x)" in msg


def test_mae_gradient_right_answers_pass():
    q = day01.q5
    assert q.evaluate(q.reference()).correct

    def with_where(x, y, w, b):
        s = np.where(w * x + b - y > 0, 1.0, -1.0)
        return np.array([np.mean(s * x), np.mean(s)])

    def float32(x, y, w, b):
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        s = np.sign(np.float32(w) * x32 + np.float32(b) - y32)
        return np.mean(s * x32), np.mean(s)

    def a_loop(x, y, w, b):
        dw = db = 0.0
        for xi, yi in zip(x, y):
            r = w * xi + b - yi
            dw += (1 if r > 0 else -1) * xi
            db += 1 if r > 0 else -1
        return dw / len(x), db / len(x)

    for answer in (with_where, float32, a_loop):
        res = q.evaluate(answer)
        assert res.correct, (answer.__name__, res.message)


def test_mae_gradient_solution_and_starter():
    from exercise_helpers import defined, starter_code

    q = day01.q5
    assert q.evaluate(defined(q.solution_code, "mae_gradient")).correct
    assert q.evaluate(defined(starter_code("01_line_fitting.ipynb", "mae_gradient"), "mae_gradient")).status \
        == "not_attempted"


def test_mae_gradient_with_the_loss_as_one_of_the_pair_is_named():
    msg = _msg(day01.q5, lambda x, y, w, b: (np.mean(np.abs(w * x + b - y)), np.mean(np.sign(w * x + b - y))))
    assert "is the loss" in msg


def test_mae_gradient_more_beginner_mistakes_are_named():
    # review of the new exercise: each mistake below got a generic (or, for the product of the
    # means, a false "x factor is missing") message before
    q = day01.q5
    sign = lambda x, y, w, b: np.sign(_r(x, y, w, b))  # noqa: E731
    assert "product of the means" in _msg(q, lambda x, y, w, b: (np.mean(sign(x, y, w, b)) * np.mean(x),
                                                                 np.mean(sign(x, y, w, b))))
    assert "twice too large" in _msg(q, lambda x, y, w, b: (np.mean(2 * sign(x, y, w, b) * x),
                                                            np.mean(2 * sign(x, y, w, b))))
    assert "b is missing" in _msg(q, lambda x, y, w, b: (np.mean(np.sign(w * x - y) * x), np.mean(np.sign(w * x - y))))
    msg = _msg(q, lambda x, y, w, b: (np.mean((_r(x, y, w, b) > 0) * x), np.mean(_r(x, y, w, b) > 0)))
    assert "only the points with r > 0" in msg
    msg = _msg(q, lambda x, y, w, b: (np.sign(np.mean(_r(x, y, w, b) * x)), np.sign(np.mean(_r(x, y, w, b)))))
    assert "sign of an average" in msg
    msg = _msg(q, lambda x, y, w, b: (np.mean(sign(x, y, w, b) * x), np.mean(sign(x, y, w, b) * x)))
    assert "db equals dw" in msg
    msg = _msg(q, lambda x, y, w, b: (sign(x, y, w, b) * x, np.mean(sign(x, y, w, b))))
    assert "dw must be one number" in msg and "20 values" in msg


def test_mae_gradient_more_right_answers_pass():
    q = day01.q5

    def r_over_abs_r(x, y, w, b):
        r = w * x + b - y
        return [np.mean(r / np.abs(r) * x), np.mean(r / np.abs(r))]

    def with_matrix(x, y, w, b):
        X = np.column_stack([x, np.ones_like(x)])
        return tuple(X.T @ np.sign(X @ np.array([w, b]) - y) / len(y))

    for answer in (r_over_abs_r, with_matrix):
        res = q.evaluate(answer)
        assert res.correct, (answer.__name__, res.message)
