"""Exercises of Day 04 -- backpropagation from scratch."""

from __future__ import annotations

import numpy as np

from . import (____, Exercise, NotAttempted, Wrong, as_array, call, check_close, check_finite, check_shape,
               tolerance_for)

_rng = np.random.default_rng(4)


def _ref_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ref_bce(z, y):
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def _ref_ce_grad(z, y):
    p = _ref_softmax(z)
    p[np.arange(len(y)), y] -= 1
    return p / len(y)


class SoftmaxCEGrad(Exercise):
    name = "softmax_ce_grad"
    title = "Exercise 1 — the gradient of softmax cross-entropy"
    hints = (
        "The gradient of the mean cross-entropy with respect to the logits is simple: the predicted "
        "probabilities minus the one-hot label, averaged over the N examples. The result has the "
        "shape of `z`, (N, K): one row of gradients per example.",
        "In symbols: dL/dz = (softmax(z) - onehot(y)) / N. You never need to build the one-hot "
        "matrix: take the probabilities p and subtract 1 at row n, column y[n], for every n at once "
        "with fancy indexing, `p[np.arange(N), y]`.",
        "The hard part is softmax for logits like 1000: `np.exp(1000)` is inf. Subtract each row's "
        "maximum first (`z.max(axis=1, keepdims=True)`, the keepdims keeps the shape (N, 1) so it "
        "broadcasts over the row): softmax does not change, and the largest exponent becomes exp(0) = 1.",
    )
    solution_code = """
        def softmax_ce_grad(z, y):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1          # softmax - onehot
            return p / len(y)                     # the loss is a mean over the N rows
    """

    def reference(self):
        return _ref_ce_grad

    def verify(self, fn):
        z = _rng.normal(size=(4, 3)) * 2
        y = np.array([0, 2, 1, 2])
        # the last row is far from the others: only a shift by each row's *own* maximum keeps it finite
        big = np.array([[1000.0, 999.0, 998.0], [-1000.0, 0.0, 1000.0], [-1000.0, -999.0, -998.0]])
        yb = np.array([1, 2, 0])
        with np.errstate(all="ignore"):
            out = as_array(call(fn, z.copy(), y.copy(), what="`softmax_ce_grad`"), "the gradient")
            check_shape(out, z.shape, "the gradient for a (4, 3) batch")
            check_finite(out, "the gradient for ordinary logits")
            expected = _ref_ce_grad(z, y)
            if not np.allclose(out.sum(axis=1), 0, atol=max(1e-9, 10 * tolerance_for(None)["atol"])):
                if np.allclose(out, _ref_softmax(z) / len(y)) or np.allclose(out, _ref_softmax(z)):
                    raise Wrong("you returned the probabilities only. The gradient is softmax minus the "
                                "one-hot label: subtract 1 at each row's label, `p[np.arange(N), y] -= 1`.")
                cols = _ref_softmax(z)
                cols[:, y] -= 1
                if np.allclose(out, cols / len(y)) or np.allclose(out, cols):
                    raise Wrong("`p[:, y] -= 1` subtracts 1 in the label columns of *every* row. Pair each "
                                "row with its own label: `p[np.arange(N), y] -= 1`.")
                raise Wrong("each row of the gradient must sum to 0 (the probabilities sum to 1, the "
                            "one-hot label too): subtract exactly 1 at each row's label.")
            if np.allclose(out, expected * len(y)):
                raise Wrong("right up to a factor N = 4: the loss is the *mean* over the examples, so "
                            "every gradient is divided by N.")
            check_close(out, expected, "the gradient for ordinary logits")
            out_big = as_array(call(fn, big.copy(), yb.copy(), what="`softmax_ce_grad`"), "the gradient")
        check_shape(out_big, big.shape, "the gradient for a (3, 3) batch")
        bad = ~np.isfinite(out_big).all(axis=1)
        if bad[:2].any():
            raise Wrong("right for ordinary logits, but NaN or inf for the row [1000, 999, 998]: exp(1000) "
                        "overflows. Subtract each row's maximum before exponentiating.")
        if bad[2]:
            raise Wrong("right for ordinary logits, but NaN for the row [-1000, -999, -998] of a batch that "
                        "also holds the row [1000, 999, 998]: you subtracted the maximum of the whole "
                        "array, so every exp of that row underflows to 0 (0/0). Subtract *each row's own* "
                        "maximum, `z.max(axis=1, keepdims=True)`.")
        want_big = _ref_ce_grad(big, yb)
        if not np.allclose(out_big, want_big) and np.allclose(out_big * len(y), want_big * len(yb)):
            raise Wrong(f"for a batch of {len(yb)} rows your gradient divides by {len(y)}, the number of rows "
                        "of the first example: divide by the batch size you are given, `len(y)`.")
        check_close(out_big, want_big, "the gradient for large logits")
        return "softmax minus one-hot, divided by N — and stable for logits of ±1000."

    def fresh_args(self, rng):
        n, k = (int(v) for v in rng.integers(2, 9, size=2))
        z = rng.normal(size=(n, k)) * 3
        if rng.random() < 0.5:  # sometimes very large logits, where only a stable softmax stays finite
            z += rng.choice([-1, 1]) * 800
        return z, rng.integers(0, k, size=n)


class BCEFromLogits(Exercise):
    name = "bce_loss"
    title = "Exercise 2 — binary cross-entropy from logits"
    hints = (
        "With p = sigmoid(z), the loss of one example is -(y log p + (1 - y) log(1 - p)); the loss of "
        "the batch is the mean of these over the examples (one number).",
        "Written with z instead of p, the same loss is max(z, 0) - z y + log(1 + exp(-|z|)) "
        "(check it for y = 1 and z > 0: it is log(1 + exp(-z)) = -log sigmoid(z)). Compute that "
        "with NumPy, element by element, then average.",
        "Why that form: sigmoid(1000) rounds to exactly 1.0, so log(1 - p) = log(0) = -inf. In the "
        "z form, exp(-|z|) is never larger than 1, so nothing overflows; use `np.log1p(t)` for "
        "log(1 + t), exact even when t is tiny, and `np.abs`, `np.maximum` for |z| and max(z, 0).",
    )
    solution_code = """
        def bce_loss(z, y):
            return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    """

    def reference(self):
        return _ref_bce

    def verify(self, fn):
        z = _rng.normal(size=12) * 2
        y = (_rng.random(12) > 0.5).astype(np.float64)
        y[:2] = [0.0, 1.0]
        want = _ref_bce(z, y)
        with np.errstate(all="ignore"):
            out = as_array(call(fn, z.copy(), y.copy(), what="`bce_loss`"), "the loss")
            check_shape(out, (), "the loss")
            check_finite(out, "the loss of ordinary logits")
            if np.isclose(out, -want):
                raise Wrong("the loss is negative: cross-entropy is *minus* the log-probability of the "
                            "right label. Put a minus sign in front.")
            if np.isclose(out, want * len(z)):
                raise Wrong("you returned the *sum* over the examples; the loss is their *mean*.")
            check_close(out, want, "the loss of ordinary logits")
            zb = np.array([-1000.0, 1000.0, -1000.0, 1000.0, 3.0])
            yb = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
            big = as_array(call(fn, zb, yb, what="`bce_loss`"), "the loss")
        if not np.isfinite(big).all():
            raise Wrong("right for ordinary logits, but not finite for logits of ±1000. Either an `np.exp` "
                        "of +1000 overflows to inf (e.g. `exp(-z)` for z = -1000), or sigmoid(1000) rounds "
                        "to exactly 1.0, so log(1 - p) = log(0) = -inf. Compute the loss from z "
                        "directly, with an exp that never sees a positive number: "
                        "max(z, 0) - z*y + log1p(exp(-|z|)).")
        want_big = _ref_bce(zb, yb)
        if np.size(big) == 1 and np.isfinite(big).all() and float(np.ravel(big)[0]) < 0.5 * want_big:
            raise Wrong(f"right for ordinary logits, but for logits of ±1000 your loss is {float(np.ravel(big)[0]):.4g} "
                        f"instead of {want_big:.4g}. Clipping p (or adding a small eps inside the log) caps "
                        "the loss of a confidently wrong example at -log(eps) (about 28 for eps = 1e-12), but its true loss is |z| = 1000. "
                        "Compute the loss from z directly: max(z, 0) - z*y + log1p(exp(-|z|)).")
        check_close(big, want_big, "the loss for logits of ±1000")
        return "finite and exact even for logits of ±1000."

    def fresh_args(self, rng):
        n = int(rng.integers(3, 16))
        z = rng.normal(size=n) * 3
        z[rng.integers(n)] = rng.choice([-1, 1]) * rng.uniform(500, 1000)  # one huge logit
        return z, rng.integers(0, 2, size=n).astype(np.float64)


class DenseBackward(Exercise):
    name = "dense_backward"
    title = "Exercise 3 — the backward pass of a Dense layer"
    hints = (
        "The forward pass was out = x @ W + b. Each gradient has the shape of what it is the gradient "
        "of: dx like x (N, n_in), dW like W (n_in, n_out), db like b (n_out,). Return them in the "
        "order dx, dW, db.",
        "The chain rule for a matrix product: dW pairs each input with each output gradient, summed "
        "over the examples, so it is a product of x (transposed) and grad_out; dx sends grad_out back "
        "through W (transposed); b is added to every row, so db adds up grad_out over the rows.",
        "Let the shapes choose for you: to get (n_in, n_out) from x (N, n_in) and grad_out (N, n_out), "
        "the N axes must meet in the middle, so x must be transposed; to get (N, n_in) from grad_out "
        "(N, n_out), multiply by W transposed, (n_out, n_in). For db, sum over axis 0, the examples. "
        "No division by N: grad_out already holds the 1/N of a mean loss.",
    )
    solution_code = """
        def dense_backward(x, W, grad_out):
            dW = x.T @ grad_out          # (n_in, n_out)
            db = grad_out.sum(axis=0)    # (n_out,)
            dx = grad_out @ W.T          # (N, n_in)
            return dx, dW, db
    """

    def reference(self):
        return lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=0))

    def verify(self, fn):
        x = _rng.normal(size=(5, 4))
        W = _rng.normal(size=(4, 3))
        g = _rng.normal(size=(5, 3))
        out = call(fn, x.copy(), W.copy(), g.copy(), what="`dense_backward`")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Wrong("return three arrays, in this order: `return dx, dW, db`.")
        if any(v is ____ for v in out):
            raise NotAttempted("fill in every blank ____ (dW, db and dx).")
        dx, dW, db = (as_array(v, name) for v, name in zip(out, ("dx", "dW", "db")))
        want_dx, want_dW, want_db = g @ W.T, x.T @ g, g.sum(axis=0)
        _check_order((dx, dW, db), (want_dx, want_dW, want_db))
        if dW.shape == (3, 4) and np.allclose(dW, want_dW.T):
            raise Wrong("dW is transposed: you computed grad_out.T @ x, of shape (3, 4), but a gradient "
                        "has the shape of its parameter, W: (4, 3). Use x.T @ grad_out.")
        check_shape(dW, W.shape, "dW (it must have the shape of W)")
        check_finite(dW, "dW")
        if np.allclose(dW, want_dW / len(x)):
            raise Wrong("dW is divided by the batch size: grad_out already contains the 1/N of the "
                        "mean loss, so dW = x.T @ grad_out with no extra division.")
        check_close(dW, want_dW, "dW")
        if db.shape == g.shape:
            raise Wrong("db has shape (5, 3), one row per example: the bias is shared by all examples, "
                        "so add up their gradients: grad_out.sum(axis=0), shape (3,).")
        if db.shape == (5,) and np.allclose(db, g.sum(axis=1)):
            raise Wrong("db is summed over the wrong axis (axis=1, the outputs); sum over the examples: "
                        "grad_out.sum(axis=0), shape (3,).")
        if db.shape == (1, 3) and np.allclose(db.ravel(), want_db):
            raise Wrong("db has shape (1, 3), but b has shape (3,): sum without `keepdims=True`, "
                        "`grad_out.sum(axis=0)`, so that `b - lr * db` keeps the shape of b.")
        check_shape(db, (3,), "db (it must have the shape of b)")
        if np.allclose(db, g.mean(axis=0)):
            raise Wrong("db is the *mean* of grad_out over the batch; it must be the *sum* "
                        "(grad_out.sum(axis=0)), just as dW sums over the batch in x.T @ grad_out.")
        check_close(db, want_db, "db")
        if dx.shape == (4, 5) and np.allclose(dx, want_dx.T):
            raise Wrong("dx is transposed: it must have the shape of x, (5, 4). Use grad_out @ W.T.")
        check_shape(dx, x.shape, "dx (it must have the shape of x)")
        check_close(dx, want_dx, "dx")
        return "three matrix products, each with the shape of what it is the gradient of."

    def fresh_args(self, rng):
        n, n_in, n_out = (int(v) for v in rng.permutation(np.arange(2, 9))[:3])  # three different sizes
        return rng.normal(size=(n, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=(n, n_out))

    def fresh_compare(self, out, want):
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Wrong("return three arrays, in this order: `return dx, dW, db`.")
        got = tuple(as_array(v, name) for v, name in zip(out, ("dx", "dW", "db")))
        _check_order(got, want)
        for o, w, name in zip(got, want, ("dx", "dW", "db")):
            check_close(o, w, name)


_GRAD_NAMES = ("dx", "dW", "db")


def _check_order(got, want):
    """Explain three right gradients returned in the wrong order, e.g. ``(dW, db, dx)``.

    Each returned array is named by the gradient it equals (or, failing that, whose shape it has,
    when that shape belongs to one gradient only); a permutation of the three names is a mistake of
    order only, not of calculus.
    """
    names, by_value = [], True
    for g in got:
        same = [n for n, w in zip(_GRAD_NAMES, want) if g.shape == w.shape and np.allclose(g, w)]
        shaped = [n for n, w in zip(_GRAD_NAMES, want) if g.shape == w.shape]
        by_value &= len(same) == 1
        names.append(same[0] if len(same) == 1 else shaped[0] if len(shaped) == 1 else None)
    if None not in names and sorted(names) == sorted(_GRAD_NAMES) and tuple(names) != _GRAD_NAMES:
        how = "" if by_value else " (judging by their shapes)"
        raise Wrong(f"you returned ({', '.join(names)}){how}; return dx, dW, db in that order "
                    "(`return dx, dW, db`).")


class CentredGradient(Exercise):
    name = "centred_gradient"
    title = "Exercise 4 — a centred finite-difference gradient"
    hints = (
        "Nudge one entry of x at a time, a little up and a little down, and see how much f() changes: "
        "the slope is (f after the nudge up - f after the nudge down) / (2 eps). f takes no argument: it reads the array "
        "x itself, so the nudge has to be made *in x*.",
        "Loop over every index of x, whatever its shape: `np.ndindex(x.shape)` yields the index "
        "tuples (0, 0), (0, 1), ... For each index i: remember `old = x[i]`, set x[i] to old + eps and "
        "call f(), set it to old - eps and call f() again, and store the slope at position i of a "
        "gradient array of x's shape.",
        "Two traps. Nudging a copy (`xc = x.copy(); xc[i] += eps`) changes nothing that f sees, so every "
        "slope is 0: assign into x. And put `old` back into x[i] before moving on, or every later entry "
        "is measured at the wrong point (and the caller's x is left changed).",
    )
    solution_code = """
        def centred_gradient(f, x, eps=1e-6):
            grad = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                old = x[i]
                x[i] = old + eps; f_plus = f()
                x[i] = old - eps; f_minus = f()
                x[i] = old
                grad[i] = (f_plus - f_minus) / (2 * eps)
            return grad
    """

    def reference(self):
        def centred_gradient(f, x, eps=1e-6):
            grad = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                old = x[i]
                x[i] = old + eps
                f_plus = f()
                x[i] = old - eps
                f_minus = f()
                x[i] = old
                grad[i] = (f_plus - f_minus) / (2 * eps)
            return grad
        return centred_gradient

    copy_args = False  # f reads the very array x it was built on: the learner must nudge that one

    def verify(self, fn):
        x = _rng.normal(size=(3, 4))
        c = _rng.normal(size=(3, 4))
        original = x.copy()
        f = _Probe(x, c)
        exact = c * np.cos(original) + original ** 2
        out = as_array(call(fn, f, x, what="`centred_gradient`", copy=False), "the gradient")
        if not np.array_equal(x, original) and np.allclose(x, original, rtol=1e-12, atol=1e-14):
            raise Wrong(f"your function left x changed by rounding only (largest change "
                        f"{np.max(np.abs(x - original)):.1g}): in floating point, `x[i] += eps`, then "
                        "`x[i] -= 2 * eps`, then `x[i] += eps` does not always land exactly on the start. "
                        "Save the value first (`old = x[i]`) and put it back with `x[i] = old`: x must be "
                        "left exactly as it was.")
        if not np.array_equal(x, original):
            raise Wrong("your function left x changed: after nudging an entry, put the original value "
                        "back (x[i] = old), or every later entry is measured at the wrong point.")
        if f.calls == 0:
            raise Wrong("your function never calls f(), so it cannot measure how f changes. For each "
                        "entry of x: nudge it, call f(), nudge it the other way, call f() again.")
        if not f.saw_change:
            raise Wrong(f"f() was called {f.calls} times, but x was the same every time, so f never saw "
                        "a nudge (your gradient is all zeros). f takes no argument: it reads the array x "
                        "itself, so the nudge must be made in x (x[i] = old + eps, then x[i] = old - eps), "
                        "not in a copy (x.copy(), or x + something, is a new array that f never reads), "
                        "and undone afterwards (x[i] = old). (If you did change x itself, check eps: "
                        "it must be large enough that old + eps differs from old, e.g. 1e-6.)")
        check_shape(out, x.shape, "the gradient (it must have the shape of x)")
        check_finite(out, "the gradient")
        err = np.linalg.norm(out - exact) / (np.linalg.norm(out) + np.linalg.norm(exact))
        if err < 1e-8:
            self._one_dimensional(fn)
            return f"relative error {err:.1e} against the exact gradient."
        if np.allclose(out, 2 * exact, rtol=1e-5):
            raise Wrong("every value is twice the gradient: the two points x + eps and x - eps are "
                        "2*eps apart, so divide by 2 * eps.")
        if np.allclose(out, exact * 1e-12, rtol=1e-3):
            raise Wrong("every value is eps² = 1e-12 times the gradient: `(f_plus - f_minus) / 2 * eps` "
                        "divides by 2 and then *multiplies* by eps. Put brackets: `/ (2 * eps)`.")
        if err < 1e-3:
            one_sided = np.allclose(out, _forward_difference(f, x), rtol=1e-4, atol=1e-8)
            raise Wrong(f"close, but the relative error is {err:.1e} instead of about 1e-10"
                        + (": that is a one-sided difference (f(x + eps) - f(x)) / eps." if one_sided else ".")
                        + " The centred difference (f(x + eps) - f(x - eps)) / (2 eps), with eps about "
                        "1e-6, is far more accurate.")
        check_close(out, exact, "the gradient", rtol=1e-6, atol=1e-8)
        return "centred differences agree with the exact gradient."

    def _one_dimensional(self, fn):
        """The same check for a 1-D x: a loop written for two axes only breaks here."""
        x = _rng.normal(size=5)
        f = _Probe(x, _rng.normal(size=5))
        try:
            out = as_array(call(fn, f, x, what="`centred_gradient`", copy=False), "the gradient")
            check_shape(out, x.shape, "the gradient for a 1-D x of shape (5,)")
        except Wrong as exc:
            raise Wrong(f"right for the 2-D x of shape (3, 4), but not for a 1-D x of shape (5,): {exc} "
                        "x can have any shape: loop over `np.ndindex(x.shape)`, whose indices fit every "
                        "shape, rather than over two axes.") from None

    def fresh_args(self, rng):
        shape = tuple(int(v) for v in rng.integers(2, 6, size=int(rng.integers(1, 3))))
        x = rng.normal(size=shape)
        return _Probe(x, rng.normal(size=shape)), x

    def fresh_compare(self, out, want):
        out = as_array(out, "the gradient")
        check_shape(out, want.shape, "the gradient (it must have the shape of x)")
        check_finite(out, "the gradient")
        err = np.linalg.norm(out - want) / (np.linalg.norm(out) + np.linalg.norm(want))
        if err > 1e-7:  # two centred differences (any eps from 1e-7 to 1e-4) agree far better than this
            check_close(out, want, "the gradient", rtol=1e-6, atol=1e-8)


class _Probe:
    """f() = sum(c * sin(x)) + sum(x**3) / 3, read from the array x; counts its calls.

    It records whether any call saw x differ from the x it was built with: a learner who nudges a
    copy of x makes many calls that all see the same x.
    """

    def __init__(self, x, c):
        self.x, self.c, self.start = x, c, x.copy()
        self.calls, self.saw_change = 0, False

    def __call__(self, *args, **kwargs):
        if args or kwargs:
            raise Wrong("you called f with an argument, but f takes none: call it as `f()`. It reads the "
                        "array x itself, so make the nudge in x (x[i] = old + eps), call f(), and put the "
                        "old value back afterwards.")
        self.calls += 1
        if not self.saw_change and not np.array_equal(self.x, self.start):
            self.saw_change = True
        x = self.x
        return float(np.sum(self.c * np.sin(x)) + np.sum(x ** 3) / 3)


def _forward_difference(f, x, eps=1e-6):
    """The one-sided difference (a typical wrong answer), for comparison; x is restored."""
    base, grad = f(), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f() - base) / eps
        x[i] = old
    return grad


def _ref_poly_features(x, degree):
    return np.asarray(x, dtype=np.float64)[:, None] ** np.arange(degree + 1)


class PolyFeatures(Exercise):
    name = "poly_features"
    title = "Exercise 5 — the design matrix of a polynomial"
    hints = (
        "The design matrix has one row per example and one column per power: row n is "
        "[1, x_n, x_n², …, x_n^degree]. A polynomial of degree d has d + 1 coefficients w_0 … w_d, so "
        "the result has shape (N, degree + 1), and its first column is all ones (x to the power 0).",
        "Broadcasting builds the whole table at once: the N values of x as a column, shape (N, 1), "
        "raised to a row of the exponents 0, 1, …, degree, shape (degree + 1,), give (N, degree + 1). "
        "`x[:, None]` turns x into a column; `np.arange(k)` counts 0 … k - 1, one short of k.",
        "Integers are a trap: for x = np.arange(20), 19 to the power 15 is about 1.5e19, more than the "
        "largest int64 (9.2e18), and NumPy wraps around without a warning. Turn x into a float array "
        "first (np.asarray with dtype=float). `np.vander` works too, but it puts the highest power "
        "first unless you pass increasing=True.",
    )
    solution_code = """
        def poly_features(x, degree):
            x = np.asarray(x, dtype=float)               # floats: no integer overflow
            return x[:, None] ** np.arange(degree + 1)   # (N, 1) ** (degree + 1,) -> (N, degree + 1)
    """

    def reference(self):
        return _ref_poly_features

    def _call(self, fn, x, degree):
        try:
            return call(fn, x, degree, what="`poly_features`")
        except Wrong as exc:
            if "broadcast" not in str(exc):
                raise
            raise Wrong(f"`poly_features` raised a broadcasting error for x of shape {x.shape} and degree "
                        f"{degree}: x, shape ({len(x)},), and the {degree + 1} exponents, shape ({degree + 1},), "
                        "are two rows that do not fit together. Make x a column first, `x[:, None]` of shape "
                        f"({len(x)}, 1): then the powers broadcast to the table ({len(x)}, {degree + 1}).") from None

    def verify(self, fn):
        x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
        want = _ref_poly_features(x, 3)                                   # (6, 4)
        what = "the design matrix for x = [-1, -0.5, 0, 0.5, 1, 2] and degree 3"
        a = as_array(self._call(fn, x.copy(), 3), what)
        if a.shape == (4, 6) and np.allclose(a.T, want):
            raise Wrong("the matrix is transposed: you built one row per power, shape (degree + 1, N) = (4, 6). "
                        "The design matrix has one row per example, shape (N, degree + 1) = (6, 4), so that "
                        "`F @ w` gives one prediction per example. `np.array([x**k for k in ...])` stacks the "
                        "powers as rows: use `np.stack(..., axis=1)` (or add `.T`).")
        if a.ndim == 1 and a.size == want.size and np.allclose(a, want.T.ravel()):
            raise Wrong(f"you joined the powers end to end into one long row of {a.size} numbers "
                        "(`np.hstack` or `np.concatenate` of 1-D arrays does this). Put them side by side, one "
                        "column per power: `np.column_stack([...])` or `np.stack([...], axis=1)`, shape "
                        "(N, degree + 1) = (6, 4).")
        if a.size == 6 and np.allclose(a.ravel(), x ** 3):
            raise Wrong("you returned only the highest power, x**degree. The design matrix holds *every* "
                        "power from x**0 = 1 to x**degree, one per column: shape (N, degree + 1) = (6, 4).")
        if a.shape == (6, 3) and np.allclose(a, want[:, 1:]):
            raise Wrong("the constant column of ones (x**0) is missing: your columns are x, x², x³. "
                        "Without it the polynomial has no intercept w_0 and must pass through 0 at x = 0. "
                        "Start the powers at 0, so degree 3 gives 4 columns.")
        if a.shape == (6, 3) and np.allclose(a, want[:, :3]):
            raise Wrong("the last column, x**degree, is missing: you have the powers 0, 1, 2 only. "
                        "`range(degree)` and `np.arange(degree)` stop at degree - 1; a polynomial of degree 3 "
                        "has the 4 powers 0, 1, 2, 3: count to degree + 1.")
        if a.shape == (6, 4):
            if np.allclose(a, want[:, ::-1]):
                raise Wrong("the columns are in reverse order, x³, x², x, 1: that is what `np.vander(x, n)` "
                            "gives by default. The exercise asks for 1, x, x², x³ (the column k holds x**k): "
                            "pass `increasing=True`, or build the powers yourself.")
            if np.allclose(a, x[:, None] ** np.arange(1, 5)):
                raise Wrong("your columns are x, x², x³, x⁴: one power too high each. Start at the power 0 "
                            "(the column of ones) and stop at x**degree: the exponents 0, 1, …, degree.")
            if np.allclose(a, want.T.reshape(6, 4)):
                raise Wrong("the right numbers in the wrong places: you built one row per power, shape "
                            "(degree + 1, N) = (4, 6), then reshaped it to (6, 4). A reshape keeps the numbers "
                            "in their order and only cuts them into new rows: it does not turn rows into "
                            "columns. Transpose instead (`.T`), or stack the powers as columns, "
                            "`np.stack([...], axis=1)`.")
            if np.allclose(a, x[:, None] * np.arange(4)):
                raise Wrong("your column k holds x * k, not x to the power k: `*` multiplies, `**` raises to "
                            "a power (x**0 = 1, x**1 = x, x**2 = x·x, ...).")
            scaled = 2 * (x - x.min()) / (x.max() - x.min()) - 1
            if np.allclose(a, _ref_poly_features(scaled, 3)):
                raise Wrong("you rescaled x to [-1, 1] before taking the powers. That is what "
                            "`Polynomial.fit` does inside (Section 9), but it is a separate step: "
                            "`poly_features` takes the powers of x exactly as it is given.")
            u = a[:, 1]
            slope, shift = np.polyfit(x, u, 1) if np.isfinite(a).all() else (0.0, 0.0)
            if (abs(slope) > 1e-6 and not np.allclose(u, x) and np.allclose(u, slope * x + shift)
                    and np.allclose(a, _ref_poly_features(u, 3))):
                raise Wrong("you changed x (centred or scaled it) before taking the powers: your second column "
                            "is not x itself. Rescaling is a separate step (`Polynomial.fit` does it inside, "
                            "Section 9); `poly_features` takes the powers of x exactly as it is given.")
            if np.allclose(a, np.trunc(want)):
                raise Wrong("your matrix holds whole numbers only: 0.5² = 0.25 became 0 and (-0.5)³ became 0. "
                            "It was created with an integer dtype (e.g. `np.ones(..., dtype=int)`, or "
                            "`np.ones_like(x)` of an integer array), so every float stored in it was cut "
                            "to an integer. Create it as floats: `np.ones((len(x), degree + 1))` is float "
                            "by default.")
        check_close(a, want, what)
        a0 = as_array(self._call(fn, x.copy(), 0), "the design matrix for degree 0")
        check_shape(a0, (6, 1), "the design matrix for degree 0 (one column of ones)")
        check_close(a0, np.ones((6, 1)), "the design matrix for degree 0 (one column of ones)")
        xi = np.arange(20)                                                # integers, as np.arange gives them
        big = as_array(self._call(fn, xi.copy(), 15), "the design matrix for x = np.arange(20), degree 15")
        want_big = _ref_poly_features(xi, 15)
        with np.errstate(over="ignore"):
            wrapped = (xi[:, None] ** np.arange(16)).astype(np.float64)  # int64 powers, wrapped around
        if big.shape == want_big.shape and not np.allclose(big, want_big) and np.allclose(big, wrapped):
            raise Wrong(f"right for float x, but wrong for the integers x = np.arange(20) with degree 15: "
                        f"your 19**15 is {big[19, 15]:.4g} instead of {want_big[19, 15]:.4g}. With an integer "
                        "x the powers are computed in int64, whose largest value is about 9.2e18, and NumPy "
                        "wraps around silently when it is exceeded. Convert x to floats first: "
                        "`x = np.asarray(x, dtype=float)`.")
        check_close(big, want_big, "the design matrix for x = np.arange(20), degree 15")
        return ("the design matrix [1, x, …, x^degree]: `np.linalg.lstsq(F, y, rcond=None)[0]` gives the "
                "least-squares coefficients w_0 … w_degree of a polynomial fit.")

    def fresh_args(self, rng):
        n, degree = int(rng.integers(3, 11)), int(rng.integers(0, 7))
        return rng.normal(size=n) * 1.5, degree


q1, q2, q3, q4, q5 = SoftmaxCEGrad(), BCEFromLogits(), DenseBackward(), CentredGradient(), PolyFeatures()
ALL = [q1, q2, q3, q4, q5]
