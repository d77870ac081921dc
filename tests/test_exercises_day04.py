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


def test_dense_backward_order_is_named():
    msg = _msg(day04.q3, lambda x, W, g: (x.T @ g, g.sum(axis=0), g @ W.T))
    assert "you returned (dW, db, dx); return dx, dW, db in that order" in msg
    assert "you returned (db, dW, dx)" in _msg(day04.q3, lambda x, W, g: (g.sum(axis=0), x.T @ g, g @ W.T))
    assert "you returned (dW, dx, db)" in _msg(day04.q3, lambda x, W, g: (x.T @ g, g @ W.T, g.sum(axis=0)))
    # wrong order *and* a wrong value: the arrays are named by their shapes, and it says so
    msg = _msg(day04.q3, lambda x, W, g: (x.T @ g / len(x), g.sum(axis=0), g @ W.T))
    assert "(dW, db, dx) (judging by their shapes)" in msg
    # the right order, as a list, is right
    assert day04.q3.evaluate(lambda x, W, g: [g @ W.T, x.T @ g, g.sum(axis=0)]).correct


def test_centred_gradient_nudging_a_copy_is_explained():
    def copy_nudge(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            xc = x.copy(); xc[i] += eps; fp = f(); xc[i] -= 2 * eps; fm = f()
            grad[i] = (fp - fm) / (2 * eps)
        return grad
    msg = _msg(day04.q4, copy_nudge)
    assert "x was the same every time" in msg and "nudge must be made in x" in msg and "not in a copy" in msg
    assert "all zeros" in msg and "Did you return an array before filling it" not in msg

    def with_argument(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy(); xp[i] += eps; xm[i] -= eps
            grad[i] = (f(xp) - f(xm)) / (2 * eps)
        return grad
    assert "f takes none: call it as `f()`" in _msg(day04.q4, with_argument)
    assert "never calls f()" in _msg(day04.q4, lambda f, x, eps=1e-6: np.zeros_like(x))

    def two_axes_only(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                old = x[i, j]; x[i, j] = old + eps; fp = f(); x[i, j] = old - eps; fm = f(); x[i, j] = old
                grad[i, j] = (fp - fm) / (2 * eps)
        return grad
    assert "not for a 1-D x of shape (5,)" in _msg(day04.q4, two_axes_only)

    # other right answers pass: another eps, a flat loop
    ref = day04.q4.reference()
    assert day04.q4.evaluate(lambda f, x, eps=1e-6: ref(f, x, 1e-5)).correct

    def flat(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for i in range(x.size):
            old = x.flat[i]; x.flat[i] = old + eps; fp = f(); x.flat[i] = old - eps; fm = f(); x.flat[i] = old
            grad.flat[i] = (fp - fm) / (2 * eps)
        return grad
    assert day04.q4.evaluate(flat).correct


def test_float32_answers_are_right():
    assert day04.q1.evaluate(lambda z, y: day04._ref_ce_grad(z.astype(np.float32), y)).correct


def test_blanks_and_fresh_inputs():
    for q in day04.ALL:
        assert q.evaluate(____).status == "not_attempted"
    # the fresh inputs vary every shape (a function written for the example's sizes fails)
    rng = np.random.default_rng(0)
    shapes = {tuple(a.shape for a in day04.q3.fresh_args(rng)) for _ in range(20)}
    assert len(shapes) > 10 and all(len({n for s in sh for n in s}) == 3 for sh in shapes)
    assert len({day04.q4.fresh_args(rng)[1].shape for _ in range(20)} & {(2,), (3,), (4,), (5,)}) > 0


# -- review of the beginners' answers ---------------------------------------------------------

def _softmax_grad(z, y, shift="row", divisor=None):
    m = z.max(axis=1, keepdims=True) if shift == "row" else z.max()
    e = np.exp(z - m)
    p = e / e.sum(axis=1, keepdims=True)
    if shift == "columns":
        p[:, y] -= 1
    else:
        p[np.arange(len(y)), y] -= 1
    return p / (divisor or len(y))


def _bad(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_softmax_grad_global_max_columns_and_fixed_batch_size_are_caught():
    with np.errstate(all="ignore"):
        assert "each row's own" in _bad(day04.q1, lambda z, y: _softmax_grad(z, y, shift="global"))
    assert "`p[:, y] -= 1`" in _bad(day04.q1, lambda z, y: _softmax_grad(z, y, shift="columns"))
    assert "divides by 4" in _bad(day04.q1, lambda z, y: _softmax_grad(z, y, divisor=4))
    assert day04.q1.evaluate(lambda z, y: _softmax_grad(z, y)).correct


def test_bce_overflow_message_names_exp_and_clipping_is_explained():
    with np.errstate(all="ignore"):
        msg = _bad(day04.q2, lambda z, y: np.mean(np.log1p(np.exp(-z)) + (1 - y) * z))
    assert "overflows" in msg and "exp(-z)" in msg

    def clipped(z, y):
        p = np.clip(1 / (1 + np.exp(-np.clip(z, -500, 500))), 1e-12, 1 - 1e-12)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert "Clipping p" in _bad(day04.q2, clipped)


def test_dense_backward_db_with_keepdims_is_named():
    msg = _bad(day04.q3, lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=0, keepdims=True)))
    assert "keepdims=True" in msg


def test_centred_gradient_roundoff_restore_and_precedence_are_explained():
    def nudge_back(f, x, eps=1e-6):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += eps
            fp = f()
            x[i] -= 2 * eps
            fm = f()
            x[i] += eps
            g[i] = (fp - fm) / (2 * eps)
        return g
    res = day04.q4.evaluate(nudge_back)
    if not res.correct:  # x drifted by rounding: the message must say so, not "put it back"
        assert "by rounding only" in res.message and "old = x[i]" in res.message

    def precedence(f, x, eps=1e-6):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            fp = f()
            x[i] = old - eps
            fm = f()
            x[i] = old
            g[i] = (fp - fm) / 2 * eps
        return g
    assert "/ (2 * eps)" in _bad(day04.q4, precedence)


def test_poly_features_mistakes():
    q = day04.q5
    assert "constant column of ones" in _msg(q, lambda x, d: np.column_stack([x ** k for k in range(1, d + 1)]))
    assert "count to degree + 1" in _msg(q, lambda x, d: np.column_stack([x ** k for k in range(d)]))
    assert "transposed" in _msg(q, lambda x, d: np.array([x ** k for k in range(d + 1)]))
    assert "only the highest power" in _msg(q, lambda x, d: x ** d)
    assert "only the highest power" in _msg(q, lambda x, d: (x ** d)[:, None])
    assert "increasing=True" in _msg(q, lambda x, d: np.vander(x, d + 1))
    assert "one power too high" in _msg(q, lambda x, d: x[:, None] ** np.arange(1, d + 2))
    assert "x[:, None]" in _msg(q, lambda x, d: x ** np.arange(d + 1))

    def rescaled(x, d):                             # what Polynomial.fit does inside, but not asked for here
        x = 2 * (x - x.min()) / (x.max() - x.min()) - 1
        return x[:, None] ** np.arange(d + 1)
    assert "rescaled x to [-1, 1]" in _msg(q, rescaled)

    def int_matrix(x, d):                           # an integer table cuts every power to a whole number
        F = np.ones((len(x), d + 1), dtype=int)
        for k in range(1, d + 1):
            F[:, k] = x ** k
        return F
    assert "whole numbers only" in _msg(q, int_matrix)

    # no conversion to float: right for float x, but 19**15 overflows int64 for x = np.arange(20)
    msg = _msg(q, lambda x, d: x[:, None] ** np.arange(d + 1))
    assert "int64" in msg and "np.asarray(x, dtype=float)" in msg

    def float_table_int_powers(x, d):               # the table is float, but x**k was computed in int64
        F = np.ones((len(x), d + 1))
        for k in range(1, d + 1):
            F[:, k] = x ** k
        return F
    assert "wraps around" in _msg(q, float_table_int_powers)
    assert "int64" in _msg(q, lambda x, d: np.vander(x, d + 1, increasing=True))

    # degree 0 must still be a table of one column
    assert "degree 0" in _msg(q, lambda x, d: np.ones(len(x)) if d == 0 else day04._ref_poly_features(x, d))


def test_poly_features_right_answers_pass():
    q = day04.q5
    assert q.evaluate(q.reference()).correct
    assert q.evaluate(lambda x, d: np.vander(np.asarray(x, dtype=float), d + 1, increasing=True)).correct
    assert q.evaluate(lambda x, d: np.polynomial.polynomial.polyvander(x, d)).correct
    assert q.evaluate(lambda x, d: np.stack([np.asarray(x, float) ** k for k in range(d + 1)], axis=1)).correct

    def loop(x, d):
        F = np.ones((len(x), d + 1))
        for k in range(1, d + 1):
            F[:, k] = F[:, k - 1] * x               # x**k as a running product, in float
        return F
    assert q.evaluate(loop).correct
    # float32 answers are right too
    assert q.evaluate(lambda x, d: np.asarray(x, np.float32)[:, None] ** np.arange(d + 1, dtype=np.float32)).correct
    # fresh inputs vary N and the degree
    rng = np.random.default_rng(0)
    shapes = {(len(x), d) for x, d in (q.fresh_args(rng) for _ in range(30))}
    assert len(shapes) > 10


def test_poly_features_layout_and_transform_mistakes():
    q = day04.q5
    f = lambda x: np.asarray(x, dtype=float)
    msg = _msg(q, lambda x, d: np.hstack([f(x) ** k for k in range(d + 1)]))          # one long row
    assert "end to end" in msg and "column_stack" in msg
    msg = _msg(q, lambda x, d: np.array([f(x) ** k for k in range(d + 1)]).reshape(len(x), d + 1))
    assert "wrong places" in msg and "does not turn rows into columns" in msg
    assert "`*` multiplies" in _msg(q, lambda x, d: f(x)[:, None] * np.arange(d + 1))
    centred = lambda x, d: (f(x) - np.mean(x))[:, None] ** np.arange(d + 1)
    assert "centred or scaled" in _msg(q, centred)
    standardised = lambda x, d: ((f(x) - np.mean(x)) / np.std(x))[:, None] ** np.arange(d + 1)
    assert "centred or scaled" in _msg(q, standardised)
    assert "NaN" in _msg(q, lambda x, d: np.exp(np.log(f(x))[:, None] * np.arange(d + 1)))   # no traceback
