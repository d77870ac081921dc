"""Exercises of Day 01 -- line fitting."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(1)
_Y = _rng.normal(size=20)
_Y_HAT = _Y + _rng.normal(scale=0.5, size=20)
_X = np.linspace(-2, 2, 20)


class MSE(Exercise):
    name = "mse"
    title = "Exercise 1 — mean squared error"
    hints = (
        "The error of one point is `y_hat - y`. Square it, then average over all points.",
        "NumPy does it element-wise: `(y_hat - y) ** 2` is an array; `.mean()` averages it.",
    )
    solution_code = """
        def mse(y, y_hat):
            return np.mean((y_hat - y) ** 2)
    """

    def reference(self):
        return lambda y, y_hat: np.mean((y_hat - y) ** 2)

    def verify(self, fn):
        out = as_array(call(fn, _Y.copy(), _Y_HAT.copy(), what="`mse`"), "the value of `mse`")
        out = out.reshape(()) if out.size == 1 else out  # [0.5] is as good as 0.5
        check_shape(out, (), "the value of `mse`")
        check_finite(out, "the value of `mse`")
        want = np.mean((_Y_HAT - _Y) ** 2)
        if np.isclose(out, np.sum((_Y_HAT - _Y) ** 2)):
            raise Wrong("you computed the *sum* of squared errors; the *mean* divides it by the number of points.")
        if np.isclose(out, np.mean(np.abs(_Y_HAT - _Y))):
            raise Wrong("that is the mean *absolute* error: square the differences instead of taking their absolute value.")
        if np.isclose(out, np.sqrt(want)):
            raise Wrong("that is the *root* of the mean squared error (RMSE): leave out the square root.")
        if np.isclose(out, np.mean(_Y_HAT - _Y) ** 2):
            raise Wrong("you averaged the differences first and squared the average: square each "
                        "difference *before* averaging.")
        check_close(out, want, "the value of `mse`")
        return "the mean of the squared differences."


class PredictionsGrid(Exercise):
    name = "predictions_grid"
    title = "Exercise 2 — predictions for many slopes at once (broadcasting)"
    # (an intercept subtracted or forgotten shows up as "off by the same amount")
    hints = (
        "`slopes` has shape (K,) and `x` has shape (N,). You want a (K, N) table: one row per slope.",
        "Make slopes a column: `slopes[:, None]` has shape (K, 1); multiplied by `x` (shape (N,)) it broadcasts to (K, N).",
    )
    solution_code = """
        def predictions_grid(x, slopes, intercept):
            return slopes[:, None] * x[None, :] + intercept
    """

    def reference(self):
        return lambda x, slopes, intercept: slopes[:, None] * x[None, :] + intercept

    def verify(self, fn):
        slopes = np.array([-1.0, 0.0, 0.5, 2.0, 3.0])
        out = as_array(call(fn, _X.copy(), slopes.copy(), 0.7, what="`predictions_grid`"),
                       "the table of predictions")
        check_close(out, slopes[:, None] * _X[None, :] + 0.7, "the table of predictions")
        return "one row per slope, one column per point: shape (K, N)."


class Gradient(Exercise):
    name = "mse_gradient"
    title = "Exercise 3 — the gradient of the MSE"
    hints = (
        "With e = w*x + b - y, the loss is mean(e**2). Its derivative with respect to w is mean(2 * e * x).",
        "And with respect to b it is mean(2 * e). Return them as a pair: `return dw, db`.",
    )
    solution_code = """
        def mse_gradient(x, y, w, b):
            e = w * x + b - y
            return np.mean(2 * e * x), np.mean(2 * e)
    """

    def reference(self):
        def g(x, y, w, b):
            e = w * x + b - y
            return np.mean(2 * e * x), np.mean(2 * e)
        return g

    def verify(self, fn):
        y = 1.5 * _X - 0.3 + _rng.normal(scale=0.1, size=_X.shape)
        out = call(fn, _X.copy(), y, 0.2, 0.4, what="`mse_gradient`")
        arr = as_array(out, "the gradient (dw, db)")
        if arr.ndim == 2 and arr.shape[0] == 2 and arr.shape[1] == len(_X):
            raise Wrong(f"each of dw and db must be one number, but you returned one value per "
                        f"point (shape {arr.shape}): average over the points with np.mean.")
        want = np.array(self.reference()(_X, y, 0.2, 0.4))
        if arr.size == 2 and np.allclose(arr.ravel(), want[::-1]):
            raise Wrong("dw and db are swapped: return `dw, db` in that order.")
        check_close(arr, want, "the gradient (dw, db)", names=("dw", "db"))
        return "that is the direction of steepest ascent; gradient descent steps the other way."


class LeastSquares(Exercise):
    name = "least_squares"
    title = "Exercise 4 — the closed-form line, by hand"
    hints = (
        "The best slope is cov(x, y) / var(x), both with the same divisor; the best intercept makes the line pass through the means.",
        "`w = np.mean((x - x.mean()) * (y - y.mean())) / np.mean((x - x.mean()) ** 2)`, then `b = y.mean() - w * x.mean()`.",
    )
    solution_code = """
        def least_squares(x, y):
            w = np.mean((x - x.mean()) * (y - y.mean())) / np.mean((x - x.mean()) ** 2)
            b = y.mean() - w * x.mean()
            return w, b
    """

    def reference(self):
        def ls(x, y):
            w = np.mean((x - x.mean()) * (y - y.mean())) / np.mean((x - x.mean()) ** 2)
            return w, y.mean() - w * x.mean()
        return ls

    def verify(self, fn):
        x = _X + 3.0  # not centred, so a forgotten centring shows
        y = -0.8 * x + 2.5 + _rng.normal(scale=0.2, size=x.shape)
        arr = as_array(call(fn, x.copy(), y.copy(), what="`least_squares`"), "(w, b)")
        want = np.polyfit(x, y, 1)
        if arr.size == 2 and np.allclose(arr.ravel(), want[::-1], rtol=1e-6):
            raise Wrong("w and b are swapped: return the slope first, then the intercept.")
        n = len(x)
        if arr.size == 2 and any(np.isclose(arr.ravel()[0] / want[0], r) for r in (n / (n - 1), (n - 1) / n)):
            raise Wrong("your slope is off by a factor N/(N-1): np.cov divides by N-1 but np.var "
                        "divides by N. Use the same divisor in both (e.g. np.var(x, ddof=1)).")
        check_close(arr, want, "(w, b)", rtol=1e-6, names=("w", "b"))
        return "the same line as np.polyfit(x, y, 1)."


q1, q2, q3, q4 = MSE(), PredictionsGrid(), Gradient(), LeastSquares()
ALL = [q1, q2, q3, q4]
