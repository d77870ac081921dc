"""Exercises of Day 01 -- line fitting."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

# The checks' fixed examples (each check sees the same numbers; fresh_args draws new ones).
_rng = np.random.default_rng(1)
_Y = _rng.normal(size=20)
_Y_HAT = _Y + _rng.normal(scale=0.5, size=20)
_X = np.linspace(-2, 2, 20)
_Y3 = 1.5 * _X - 0.3 + _rng.normal(scale=0.1, size=_X.shape)     # Exercise 3's targets
_X4 = _X + 3.0                                                    # not centred, so a forgotten centring shows
_Y4 = -0.8 * _X4 + 2.5 + _rng.normal(scale=0.2, size=_X4.shape)  # Exercise 4's targets
_X5 = _X + 0.5                                                    # Exercise 5: mean 0.5 (not 0 or 1), so dw != db
                                                                  # and mean(sign(r))·mean(x) != mean(sign(r)·x)
_Y5 = 1.5 * _X5 - 0.3 + _rng.normal(scale=0.5, size=_X5.shape)   # residuals of both signs at (1.3, 0.1)


def _fixed_count(out: np.ndarray, want, n: int, what: str, arg: str) -> None:
    """Explain an average taken by dividing by the example's 20 points instead of the ``n`` given."""
    want = np.asarray(want, dtype=np.float64)
    if out.shape == want.shape and np.any(want != 0) and np.allclose(out * len(_X), want * n):
        raise Wrong(f"for {n} points your {what} divides by {len(_X)}, the number of points of the "
                    f"check's example: divide by the number of points you are given, `len({arg})`, or "
                    "let `np.mean` do it.")


def _compare_gradient(out, want, n: int, name: str) -> None:
    """Compare a learner's (dw, db) with the reference's on fresh inputs of ``n`` points."""
    arr = as_array(out, "the gradient (dw, db)")
    _fixed_count(arr.reshape(-1) if arr.size == 2 else arr, want, n, name, "x")
    check_close(arr, np.array(want), "the gradient (dw, db)", names=("dw", "db"))


def _no_extra_axes(out: np.ndarray, shape: tuple) -> None:
    """A (K, N) table must have two axes: (K, 1, N) or (1, K, N) is not forgiven (the shape is the point)."""
    if out.ndim != len(shape) and out.size == int(np.prod(shape)):
        raise Wrong(f"wrong shape for the table of predictions: expected {tuple(shape)}, got {out.shape}. "
                    "The values are laid out right but there are extra axes of length 1: make only "
                    "`slopes` a column, `slopes[:, None]` (shape (K, 1)), and leave `x` as it is (N,).")


class MSE(Exercise):
    name = "mse"
    title = "Exercise 1 — mean squared error"
    hints = (
        "The error of one point is the prediction minus the target, `y_hat - y`. The MSE squares "
        "every error, then averages the squares over all the points.",
        "NumPy works element by element: `(y_hat - y) ** 2` is an array with one squared error per "
        "point, and `np.mean` turns an array into one number (its average).",
        "Square *before* you average: the plain mean of the errors can be 0 even when every point is "
        "off, because positive and negative errors cancel. And take no square root (that would be "
        "the RMSE). Let `np.mean` count the points: do not divide by a fixed number like 20.",
    )
    solution_code = """
        def mse(y, y_hat):
            return np.mean((y_hat - y) ** 2)
    """

    def reference(self):
        return lambda y, y_hat: np.mean((y_hat - y) ** 2)

    def verify(self, fn):
        try:
            raw = call(fn, _Y.copy(), _Y_HAT.copy(), what="`mse`")
        except Wrong as exc:
            if "bitwise_xor" in str(exc):
                raise Wrong("in Python `^` is not a power (it is the bitwise XOR, which NumPy refuses for "
                            "floats): square with `** 2`, e.g. `(y_hat - y) ** 2`.") from None
            raise
        out = as_array(raw, "the value of `mse`")
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
        if np.isclose(out, want / 2):
            raise Wrong("your value is half the MSE: some books put a 1/2 in front of the squared error "
                        "(it makes the gradient simpler), but the MSE is the plain mean of the squares.")
        if np.isclose(out, np.var(_Y_HAT - _Y)):
            raise Wrong("that is `np.var` of the errors: it subtracts the mean error before squaring. The MSE "
                        "squares the errors themselves: `np.mean((y_hat - y) ** 2)`.")
        if out < 0:
            sa = f"{float(out):.4g}"
            raise Wrong(f"the value of `mse` is {sa}, but a mean of squares can never be negative: did you "
                        "forget to square the differences (`** 2`)?")
        check_close(out, want, "the value of `mse`")
        return "the mean of the squared differences."

    def fresh_args(self, rng):
        n = int(rng.integers(3, 15))                   # never the example's 20 points
        self._n = n
        y = rng.normal(size=n) * rng.uniform(0.5, 3.0)
        return y, y + rng.normal(scale=rng.uniform(0.2, 1.0), size=n)

    def fresh_compare(self, out, want):
        arr = as_array(out, "the value of `mse`")
        arr = arr.reshape(()) if arr.size == 1 else arr
        check_shape(arr, (), "the value of `mse`")
        _fixed_count(arr, want, self._n, "`mse`", "y")
        check_close(arr, want, "the value of `mse`")


class PredictionsGrid(Exercise):
    name = "predictions_grid"
    title = "Exercise 2 — predictions for many slopes at once (broadcasting)"
    # (an intercept subtracted or forgotten shows up as "off by the same amount")
    hints = (
        "`slopes` has shape (K,) and `x` has shape (N,). You want a (K, N) table: row k holds the "
        "predictions of slope number k at every point, `slopes[k] * x + intercept`.",
        "Turn `slopes` into a column of shape (K, 1) with `slopes[:, None]`. Multiplying a (K, 1) "
        "array by an (N,) array broadcasts to a (K, N) table, with no loop.",
        "Broadcasting compares shapes from the right: (K, 1) against (N,) gives (K, N). The intercept "
        "is one number, so adding it to the whole table just works. Got (N, K)? Then you made `x` "
        "the column instead of `slopes`.",
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
        _no_extra_axes(out, (len(slopes), len(_X)))
        check_close(out, slopes[:, None] * _X[None, :] + 0.7, "the table of predictions")
        return "one row per slope, one column per point: shape (K, N)."

    def fresh_args(self, rng):
        n, k = int(rng.integers(6, 15)), int(rng.integers(2, 5))   # not the example's (5, 20)
        return (np.sort(rng.uniform(-3, 3, size=n)), rng.normal(scale=2.0, size=k),
                float(rng.normal(scale=2.0)))

    def fresh_compare(self, out, want):
        _no_extra_axes(as_array(out, "the table of predictions"), np.shape(want))
        check_close(out, want, "the table of predictions")


class Gradient(Exercise):
    name = "mse_gradient"
    title = "Exercise 3 — the gradient of the MSE"
    hints = (
        "Call the error of each point e (its prediction w·x + b minus its target y). The loss is the "
        "mean of e², and the derivative of a mean is the mean of the derivatives.",
        "Chain rule: the derivative of e² is 2e times the derivative of e, and ∂e/∂w = x, ∂e/∂b = 1. "
        "So dw is the mean of 2·e·x and db is the mean of 2·e.",
        "Compute e for all points at once (it is an array like `x`), then average with `np.mean` so "
        "that dw and db are single numbers, not one value per point. Return them in the order dw, db.",
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
        x = _X + 1.0         # not centred: with mean(x) = 0, a b forgotten in dw would not show
        out = call(fn, x.copy(), _Y3.copy(), 0.2, 0.4, what="`mse_gradient`")
        arr = as_array(out, "the gradient (dw, db)")
        if arr.ndim == 2 and arr.shape[0] == 2 and arr.shape[1] == len(_X):
            raise Wrong(f"each of dw and db must be one number, but you returned one value per "
                        f"point (shape {arr.shape}): average over the points with np.mean.")
        want = np.array(self.reference()(x, _Y3, 0.2, 0.4))
        if arr.size == 2 and np.allclose(arr.ravel(), want[::-1]):
            raise Wrong("dw and db are swapped: return `dw, db` in that order.")
        check_close(arr, want, "the gradient (dw, db)", names=("dw", "db"))
        return "that is the direction of steepest ascent; gradient descent steps the other way."

    def fresh_args(self, rng):
        n = int(rng.integers(5, 15))
        self._n = n
        x = rng.uniform(-3, 3, size=n)
        y = rng.normal() * x + rng.normal() + rng.normal(scale=0.3, size=n)
        return x, y, float(rng.normal()), float(rng.normal())

    def fresh_compare(self, out, want):
        _compare_gradient(out, want, self._n, "`mse_gradient`")


class LeastSquares(Exercise):
    name = "least_squares"
    title = "Exercise 4 — the closed-form line, by hand"
    hints = (
        "The best line passes through the point of the means (mean of x, mean of y), and its slope is "
        "the covariance of x and y divided by the variance of x (Section 6).",
        "Centre both arrays first, `dx = x - x.mean()` and `dy = y - y.mean()`: the slope is then the "
        "mean of dx·dy divided by the mean of dx².",
        "Once you have the slope w, the intercept follows from mean(y) = w·mean(x) + b. If you use "
        "`np.cov` (which divides by N−1), divide it by `np.var(x, ddof=1)` so that both use the same "
        "divisor. Return the slope first, then the intercept.",
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
        x, y = _X4, _Y4
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

    def fresh_args(self, rng):
        n = int(rng.integers(6, 15))
        x = rng.uniform(-2, 2, size=n) * rng.uniform(0.5, 2.0) + rng.uniform(-4, 4)
        return x, rng.normal() * x + rng.normal() + rng.normal(scale=0.3, size=n)

    def fresh_compare(self, out, want):
        check_close(as_array(out, "(w, b)"), np.array(want), "(w, b)", names=("w", "b"))


class MAEGradient(Exercise):
    name = "mae_gradient"
    title = "Exercise 5 — the gradient of the mean absolute error"
    hints = (
        "Call the residual of each point r (its prediction w·x + b minus its target y). The loss is "
        "the mean of |r|, and the derivative of a mean is the mean of the derivatives.",
        "The derivative of |r| with respect to r is +1 where r > 0 and -1 where r < 0, whatever the "
        "size of r: `np.sign` gives exactly that, one ±1 per point. It is not 2r (that belongs to "
        "the square) and not |r| itself.",
        "Chain rule: ∂r/∂w = x and ∂r/∂b = 1, so each point adds its sign times its x to dw, and just "
        "its sign to db. Average both over the points with `np.mean` (not a fixed count), and "
        "return dw first, then db.",
    )
    solution_code = """
        def mae_gradient(x, y, w, b):
            r = w * x + b - y                        # residuals, one per point
            return np.mean(np.sign(r) * x), np.mean(np.sign(r))
    """

    def reference(self):
        def g(x, y, w, b):
            s = np.sign(w * x + b - y)
            return np.mean(s * x), np.mean(s)
        return g

    def verify(self, fn):
        x, y, w, b = _X5, _Y5, 1.3, 0.1
        out = call(fn, x.copy(), y.copy(), w, b, what="`mae_gradient`")
        if isinstance(out, (tuple, list)) and len(out) == 2:
            per_point = [name for name, v in zip(("dw", "db"), out) if np.size(v) == len(x) > 1]
            if len(per_point) == 1:
                raise Wrong(f"{per_point[0]} must be one number, but yours has one value per point "
                            f"({len(x)} values): average over the points with np.mean.")
        arr = as_array(out, "the gradient (dw, db)")
        r = w * x + b - y
        s = np.sign(r)
        want = np.array([np.mean(s * x), np.mean(s)])
        if arr.ndim == 2 and arr.shape == (2, len(x)):
            raise Wrong(f"each of dw and db must be one number, but you returned one value per point "
                        f"(shape {arr.shape}): average over the points with np.mean.")
        if arr.size == 1 and np.isclose(arr.ravel()[0], np.mean(np.abs(r))):
            raise Wrong("you returned the loss itself (the mean absolute error). The exercise asks for "
                        "its *gradient*: two numbers, how fast the loss changes with w and with b.")
        if arr.size == 2:
            got = arr.ravel()

            def near(*values):
                return np.allclose(got, values, rtol=1e-4, atol=1e-7)

            if near(*-want):
                raise Wrong("both values have the wrong sign. The residual is prediction minus target, "
                            "r = w·x + b - y; with y - (w·x + b) every sign flips, and the gradient "
                            "would point downhill instead of uphill.")
            if near(*want[::-1]):
                raise Wrong("dw and db are swapped: return `dw, db` in that order.")
            if near(*(2 * want)):
                raise Wrong("your values are twice too large: the factor 2 belongs to the derivative of "
                            "r² (the MSE); the slope of |r| is the sign of r, ±1, with no 2.")
            r_no_b = w * x - y
            if near(np.mean(np.sign(r_no_b) * x), np.mean(np.sign(r_no_b))):
                raise Wrong("b is missing from your residual: r = w·x + b - y (the prediction includes "
                            "the intercept), and its sign is taken after adding b.")
            if near(np.mean((r > 0) * x), np.mean(r > 0)):
                raise Wrong("you counted only the points with r > 0 (a step from 0 to 1). The slope of |r| "
                            "is -1 for r < 0, not 0: points below the line pull the other way. Use "
                            "`np.sign(r)`.")
            if np.allclose(np.abs(got), 1) and not np.allclose(np.abs(want), 1):
                raise Wrong("both your numbers are ±1: you took the sign of an average (or of a sum). "
                            "Take the sign of each residual first, then average: the mean of sign(r)·x "
                            "and the mean of sign(r).")
            if near(np.mean(s) * np.mean(x), np.mean(s)):
                raise Wrong("dw is the mean of the signs times the mean of x, but the mean of a product "
                            "is not the product of the means: multiply each point's sign by its own x, "
                            "then average, np.mean(np.sign(r) * x).")
            if near(np.mean(2 * r * x), np.mean(2 * r)):
                raise Wrong("that is the gradient of the *MSE* (2·r per point). For the absolute value "
                            "the derivative is the sign of r, ±1, whatever the size of r.")
            if near(np.mean(r * x), np.mean(r)):
                raise Wrong("you used the residual r itself; the derivative of |r| is the *sign* of r "
                            "(+1 or -1), not r. (r would be the derivative of r²/2.)")
            if near(np.mean(np.abs(r) * x), np.mean(np.abs(r))):
                raise Wrong("you used |r| where its derivative belongs: the slope of |r| is +1 for r > 0 "
                            "and -1 for r < 0, i.e. `np.sign(r)`.")
            if near(np.mean(s), np.mean(s)):
                raise Wrong("dw equals db: the x factor is missing in dw. By the chain rule ∂r/∂w = x, "
                            "so each point's sign is multiplied by its x before averaging.")
            if near(want[0], want[0]):
                raise Wrong("db equals dw: db has the x factor too. Only w multiplies x, so ∂r/∂b = 1 and "
                            "db is just the mean of sign(r).")
            if np.isclose(got[0], np.mean(np.sign(r * x))) and np.isclose(got[1], want[1]):
                raise Wrong("dw takes the sign of r·x; only r goes through the sign, and x multiplies "
                            "the result: the mean of sign(r)·x.")
            if near(*(len(x) * want)):
                raise Wrong(f"your values are {len(x)} times too large: you summed over the {len(x)} "
                            "points instead of averaging (the loss is a *mean*, so is its gradient).")
            if np.any(np.isclose(got, np.mean(np.abs(r)), rtol=1e-6)) and not np.any(np.isclose(want, np.mean(np.abs(r)))):
                raise Wrong("one of your two numbers is the loss (the mean of |r|), not a derivative: "
                            "return dw and db, both computed from the sign of the residuals.")
        check_close(arr, want, "the gradient (dw, db)", names=("dw", "db"))
        return ("every point pulls with the same force ±1, however far it is: that is why the L1 line "
                "ignores how far away the outliers are.")

    def fresh_args(self, rng):
        n = int(rng.integers(5, 15))                   # never the example's 20 points
        self._n = n
        x = rng.uniform(-3, 3, size=n) + rng.uniform(-1, 2)
        y = rng.normal() * x + rng.normal() + rng.normal(scale=0.5, size=n)
        return x, y, float(rng.normal()), float(rng.normal())

    def fresh_compare(self, out, want):
        _compare_gradient(out, want, self._n, "`mae_gradient`")


q1, q2, q3, q4, q5 = MSE(), PredictionsGrid(), Gradient(), LeastSquares(), MAEGradient()
ALL = [q1, q2, q3, q4, q5]
