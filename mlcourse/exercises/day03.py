"""Exercises of Day 03 -- binary classification (cross-entropy, decision line, optimizers, metrics)."""

from __future__ import annotations

import re

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(3)
_Y = (_rng.random(12) > 0.5).astype(np.float64)
_Y[:2] = [0.0, 1.0]                           # both classes present
_P = np.clip(_rng.random(12), 0.05, 0.95)


def _bce(y: np.ndarray, p: np.ndarray) -> float:
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _unpack(out, n: int, names: str, what: str) -> list[np.ndarray]:
    """Check that ``out`` is a tuple of ``n`` arrays named ``names``; explain otherwise."""
    if not isinstance(out, (tuple, list)) or len(out) != n:
        raise Wrong(f"{what} should return {n} values `{names}`, but it returned "
                    f"{'a ' + type(out).__name__ if not isinstance(out, (tuple, list)) else f'{len(out)} values'}.")
    labels = [s.strip() for s in names.strip("()").split(",")]
    return [as_array(v, lab) for v, lab in zip(out, labels)]


class BCE(Exercise):
    name = "bce"
    title = "Exercise 1 — binary cross-entropy"
    hints = (
        "Cross-entropy is minus the log of the probability the model gave to the right answer: "
        "−log p when y = 1, −log(1 − p) when y = 0. The loss is the mean over the examples.",
        "One formula covers both cases, because y is 0 or 1: ℓ = −[y·log p + (1 − y)·log(1 − p)]. "
        "NumPy computes it for all examples at once, with `np.log` (the natural log).",
        "Mind the minus sign: logs of probabilities are negative, but the loss is positive. And "
        "average over the examples with `np.mean`, not `np.sum`.",
    )
    solution_code = """
        def bce(y, p):
            return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    """

    def reference(self):
        return _bce

    def verify(self, fn):
        with np.errstate(all="ignore"):
            out = as_array(call(fn, _Y.copy(), _P.copy(), what="`bce`"), "the value of `bce`")
        check_shape(out, (), "the value of `bce`")
        if np.isinf(out).any():
            raise Wrong("the value of `bce` is infinite: a log of 0. `p` is strictly between 0 and 1, so the "
                        "log was taken of something else: the labels `y` are 0s and 1s. Take logs of `p` and "
                        "`1 - p` only, and keep the arguments in the order `bce(y, p)`.")
        check_finite(out, "the value of `bce`")
        want = _bce(_Y, _P)
        if np.isclose(out, -want):
            raise Wrong("your loss is negative: the logs of probabilities are negative, so the formula "
                        "starts with a minus sign to make the loss positive.")
        if np.isclose(out, want * len(_Y)):
            raise Wrong("you computed the *sum* over the examples; the loss is the *mean*.")
        if np.isclose(out, want / np.log(10)):
            raise Wrong("you used log base 10 (`np.log10`); cross-entropy uses the natural log `np.log`.")
        if np.isclose(out, -np.mean(_Y * np.log(_P))):
            raise Wrong("you only kept the `y * log(p)` term: the examples with y = 0 also count, "
                        "through `(1 - y) * log(1 - p)`.")
        if np.isclose(out, -np.mean(_Y * np.log(1 - _P) + (1 - _Y) * np.log(_P))):
            raise Wrong("p and 1 - p are swapped: p is the probability of class 1, so it goes with y.")
        if np.isclose(out, want / np.log(2)):
            raise Wrong("you used log base 2 (`np.log2`); cross-entropy uses the natural log `np.log`.")
        if out < 0:
            raise Wrong(f"the value of `bce` is {float(out):.4g}, but cross-entropy is never negative (each "
                        "term is -log of a probability, ≥ 0): check the signs and the brackets, "
                        "`-(y * np.log(p) + (1 - y) * np.log(1 - p))`.")
        check_close(out, want, "the value of `bce`")
        return "the mean of -log(probability given to the right answer)."

    def fresh_args(self, rng):
        n = int(rng.integers(4, 11))                   # not the example's 12
        self._n = n
        y = (rng.random(n) > 0.5).astype(np.float64)
        y[:2] = [1.0, 0.0]                             # both classes present
        return y, rng.uniform(0.03, 0.97, size=n)

    def fresh_compare(self, out, want):
        arr = as_array(out, "the value of `bce`")
        arr = arr.reshape(()) if arr.size == 1 else arr
        if arr.shape == () and np.isclose(arr * len(_Y), want * self._n):
            raise Wrong(f"for {self._n} examples your `bce` divides by {len(_Y)}, the size of the check's "
                        "example: divide by the number of examples you are given, `len(y)`, or let "
                        "`np.mean` do it.")
        check_close(arr, want, "the value of `bce`")


class BoundaryX2(Exercise):
    name = "boundary_x2"
    title = "Exercise 2 — the decision line from the weights"
    hints = (
        "On the decision line the neuron is exactly undecided (p = 0.5), so its input is zero: "
        "w1·x1 + w2·x2 + b = 0. Solve that equation for x2.",
        "Move w1·x1 + b to the other side of the equation (both terms change sign), then divide "
        "everything by w2.",
        "In code w1 is `w[0]` and w2 is `w[1]`. `x1` is an array, so one formula gives all the x2 "
        "values at once. Check: the line has slope −w1/w2 and crosses x1 = 0 at −b/w2.",
    )
    solution_code = """
        def boundary_x2(x1, w, b):
            return -(w[0] * x1 + b) / w[1]
    """

    def reference(self):
        return lambda x1, w, b: -(w[0] * x1 + b) / w[1]

    def verify(self, fn):
        x1 = np.linspace(-2.0, 2.0, 9)
        w, b = np.array([1.5, -0.5]), 0.7
        out = as_array(call(fn, x1.copy(), w.copy(), b, what="`boundary_x2`"), "x2 on the line")
        check_shape(out, x1.shape, "x2 on the line")
        check_finite(out, "x2 on the line")
        want = -(w[0] * x1 + b) / w[1]
        if np.allclose(out, -(w[0] * x1 - b) / w[1]):
            raise Wrong("the sign of the bias is wrong: from w1*x1 + w2*x2 + b = 0, the intercept is -b / w2.")
        if np.allclose(out, -w[0] / w[1] * x1):
            raise Wrong("you left out the bias: the line only passes through the origin when b = 0.")
        if np.allclose(out, -(w[1] * x1 + b) / w[0]):
            raise Wrong("w1 and w2 are swapped: solve w1*x1 + w2*x2 + b = 0 for x2, so you divide by w2 = w[1].")
        if np.allclose(out, (w[0] * x1 + b) / w[1]):
            raise Wrong("the sign is wrong: moving w1*x1 + b to the other side of the equation makes it negative.")
        check_close(out, want, "x2 on the line")
        return "slope -w1/w2, intercept -b/w2."

    def fresh_args(self, rng):
        w = rng.normal(size=2)
        w[1] = np.sign(w[1] + 1e-12) * (0.3 + abs(w[1]))   # w2 away from zero
        return np.sort(rng.uniform(-3, 3, size=int(rng.integers(3, 8)))), w, float(rng.normal())

    def fresh_compare(self, out, want):
        check_close(out, want, "x2 on the line")


class MomentumStep(Exercise):
    name = "momentum_step"
    title = "Exercise 3 — one step of SGD with momentum"
    hints = (
        "Momentum keeps a velocity, a step that remembers the previous steps. At every step the "
        "velocity first shrinks (times beta), then gets a push against the gradient; theta then "
        "moves by the velocity.",
        "The form of the lesson and of Keras' `SGD(momentum=...)`: new velocity = beta · velocity − "
        "lr · grad, then new theta = theta + new velocity.",
        "Order matters: update the velocity first, and move theta with the *new* velocity. Return "
        "both, `(new_theta, new_velocity)`: the next step needs the velocity.",
    )
    solution_code = """
        def momentum_step(theta, velocity, grad, lr, beta):
            velocity = beta * velocity - lr * grad
            return theta + velocity, velocity
    """

    def reference(self):
        def step(theta, velocity, grad, lr, beta):
            velocity = beta * velocity - lr * grad
            return theta + velocity, velocity
        return step

    def verify(self, fn):
        theta, vel, grad = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -0.2]), np.array([0.4, -1.0, 2.0])
        lr, beta = 0.05, 0.9       # lr != 1 - beta, so that the other forms of momentum differ
        new_theta, new_vel = _unpack(call(fn, theta.copy(), vel.copy(), grad.copy(), lr, beta, what="`momentum_step`"),
                                     2, "(new_theta, new_velocity)", "`momentum_step`")
        for arr, lab in ((new_theta, "new_theta"), (new_vel, "new_velocity")):
            check_shape(arr, theta.shape, lab)
            check_finite(arr, lab)
        want_v = beta * vel - lr * grad
        if np.allclose(new_theta, want_v) and np.allclose(new_vel, theta + want_v):
            raise Wrong("new_theta and new_velocity are swapped: return `(new_theta, new_velocity)` in that order.")
        ours = ("This exercise uses the form of the lesson (and of Keras' `SGD(momentum=...)`): "
                "`velocity = beta * velocity - lr * grad`, then `theta = theta + velocity`.")
        ema_v = beta * vel + (1 - beta) * grad
        if np.allclose(new_vel, ema_v) and np.allclose(new_theta, theta - lr * ema_v):
            raise Wrong("you wrote the moving-average form of momentum (`v = beta*v + (1-beta)*grad`, "
                        "`theta -= lr*v`): a valid variant, but its velocity is an average of gradients, "
                        "not a step, and its steps are (1 - beta) times smaller. " + ours)
        pt_v = beta * vel + grad
        if np.allclose(new_vel, pt_v) and np.allclose(new_theta, theta - lr * pt_v):
            raise Wrong("you wrote PyTorch's form of momentum (`v = beta*v + grad`, `theta -= lr*v`): its "
                        "velocity holds gradients, without the learning rate and with the opposite sign, "
                        "so the same starting velocity gives another step. " + ours)
        up_v = beta * vel + lr * grad
        if np.allclose(new_vel, up_v) and np.allclose(new_theta, theta - up_v):
            raise Wrong("your velocity adds `+ lr * grad` and you subtract it from theta (`theta - velocity`): "
                        "that also descends — some texts write momentum this way — but its velocity has the "
                        "opposite sign of ours, so the same starting velocity gives another step. " + ours)
        if np.allclose(new_theta, theta + up_v) or np.allclose(new_theta, theta + beta * vel + lr * grad):
            raise Wrong("you step *up* the gradient: theta moves along `+ lr * grad`, but descent goes "
                        "against the gradient. The velocity must get `- lr * grad`.")
        if np.allclose(new_theta, theta - lr * grad):
            raise Wrong("that is plain SGD: the old velocity is missing. Keep `beta * velocity` and add `- lr * grad`.")
        if np.allclose(new_vel, want_v) and np.allclose(new_theta, theta - want_v):
            raise Wrong("your velocity is right, but theta moves the wrong way: the velocity already "
                        "contains `- lr * grad`, so *add* it, `theta + velocity`.")
        if np.allclose(new_vel, want_v) and np.allclose(new_theta, theta + lr * want_v):
            raise Wrong("your velocity is right, but you multiplied it by lr again when moving theta: the "
                        "velocity already contains the learning rate, so `theta + velocity`.")
        if np.allclose(new_vel, vel - lr * grad):
            raise Wrong("the old velocity must shrink before the push: `beta * velocity - lr * grad` "
                        "(you left out beta).")
        if np.allclose(new_vel, vel):
            raise Wrong("the velocity did not change: return the *new* velocity, the next step needs it.")
        if np.allclose(new_theta, theta + vel):
            raise Wrong("you moved theta with the *old* velocity: update the velocity first, then theta.")
        check_close(new_vel, want_v, "new_velocity")
        check_close(new_theta, theta + want_v, "new_theta")
        return "the velocity remembers past gradients, so consistent directions speed up."

    def fresh_args(self, rng):
        n = int(rng.integers(4, 9))                    # not the example's 3 parameters
        self._fresh = (rng.normal(size=n), rng.normal(scale=0.3, size=n), rng.normal(size=n),
                       float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.5, 0.8)))
        return self._fresh

    def fresh_compare(self, out, want):
        new_theta, new_vel = _unpack(out, 2, "(new_theta, new_velocity)", "`momentum_step`")
        _, vel, grad, lr, beta = self._fresh
        for arr, lab in ((new_theta, "new_theta"), (new_vel, "new_velocity")):
            check_shape(arr, vel.shape, lab)
            check_finite(arr, lab)
        if not np.allclose(new_vel, want[1]):
            for b_, lr_, used in ((0.9, lr, "beta = 0.9"), (beta, 0.05, "lr = 0.05"),
                                  (0.9, 0.05, "beta = 0.9 and lr = 0.05")):   # the example's numbers
                if np.allclose(new_vel, b_ * vel - lr_ * grad):
                    raise Wrong(f"called with lr = {lr:.3f} and beta = {beta:.3f}, your velocity uses {used}, "
                                "taken from the check's example: use the arguments `lr` and `beta`.")
        check_close(new_vel, want[1], "new_velocity")
        check_close(new_theta, want[0], "new_theta")


class AdamStep(Exercise):
    name = "adam_step"
    title = "Exercise 4 — one step of Adam"
    hints = (
        "Adam keeps two running averages for every parameter: m of the gradient and s of the squared "
        "gradient. It moves each parameter by lr times m divided by the square root of s, so every "
        "parameter takes a step of about the same size.",
        "The averages: m ← β1·m + (1 − β1)·g and s ← β2·s + (1 − β2)·g². The step: "
        "θ ← θ − lr · m̂ / (√ŝ + ε), where m̂ and ŝ are the bias-corrected averages.",
        "The bias correction: m and s start at zero, so in the first steps they are too small; "
        "dividing by (1 − β1 to the power t) and (1 − β2 to the power t) gives m̂ and ŝ. Use m̂ and ŝ "
        "for the step, but return the uncorrected m and s: the next step continues from them.",
    )
    solution_code = """
        def adam_step(theta, m, s, grad, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
            m = beta1 * m + (1 - beta1) * grad
            s = beta2 * s + (1 - beta2) * grad ** 2
            m_hat, s_hat = m / (1 - beta1 ** t), s / (1 - beta2 ** t)
            return theta - lr * m_hat / (np.sqrt(s_hat) + eps), m, s
    """

    @staticmethod
    def _ref(theta, m, s, grad, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
        m = beta1 * m + (1 - beta1) * grad
        s = beta2 * s + (1 - beta2) * grad ** 2
        m_hat, s_hat = m / (1 - beta1 ** t), s / (1 - beta2 ** t)
        return theta - lr * m_hat / (np.sqrt(s_hat) + eps), m, s

    def reference(self):
        return self._ref

    def verify(self, fn):
        theta, grad = np.array([1.0, -2.0, 0.5]), np.array([0.4, -1.0, 2.0])
        m0, s0 = np.zeros(3), np.zeros(3)
        lr = 0.01
        out = _unpack(call(fn, theta.copy(), m0.copy(), s0.copy(), grad.copy(), 1, lr, what="`adam_step`"),
                      3, "(new_theta, new_m, new_s)", "`adam_step`")
        for arr, lab in zip(out, ("new_theta", "new_m", "new_s")):
            check_shape(arr, theta.shape, lab)
            check_finite(arr, lab)
        new_theta, new_m, new_s = out
        want = self._ref(theta, m0, s0, grad, 1, lr)
        m1, s1 = 0.1 * grad, 0.001 * grad ** 2
        if np.allclose(new_theta, theta - lr * m1 / (np.sqrt(s1) + 1e-7)):
            raise Wrong("the bias correction is missing: at step 1 the averages m and s start from zero and are "
                        "far too small. Divide them by (1 - beta1**t) and (1 - beta2**t) before the step.")
        if np.allclose(new_theta, 2 * theta - want[0]):
            raise Wrong("theta moves the wrong way: subtract the step (descent goes against the gradient).")
        if np.allclose(new_s, 0.001 * np.abs(grad)):
            raise Wrong("s must average the *squared* gradient: (1 - beta2) * grad ** 2.")
        if np.allclose(new_m, m1 / 0.1) or np.allclose(new_s, s1 / 0.001):
            raise Wrong("return the running averages m and s themselves, not the bias-corrected m_hat and s_hat.")
        if np.allclose(new_m, want[2]) and np.allclose(new_s, want[1]):
            raise Wrong("new_m and new_s are swapped: return `(new_theta, new_m, new_s)` in that order.")
        check_close(new_m, want[1], "new_m")
        check_close(new_s, want[2], "new_s")
        if np.allclose(theta - new_theta, (theta - want[0]) * 0.001 / lr):
            raise Wrong(f"called with lr = {lr}, your step uses lr = 0.001, the default: use the argument "
                        "`lr` (the check passes its own learning rate).")
        if np.allclose(new_theta, theta - lr * (m1 / 0.1) / (s1 / 0.001 + 1e-7)):
            raise Wrong("you divided by s_hat itself: divide by its square root, `np.sqrt(s_hat) + eps` "
                        "(s averages *squared* gradients).")
        check_close(new_theta, want[0], "new_theta")
        # a second step, from non-zero averages and at t = 5
        m_, s_ = np.array([0.05, -0.1, 0.2]), np.array([0.01, 0.02, 0.03])
        out5 = _unpack(call(fn, theta.copy(), m_.copy(), s_.copy(), grad.copy(), 5, lr, what="`adam_step`"),
                       3, "(new_theta, new_m, new_s)", "`adam_step`")
        want5 = self._ref(theta, m_, s_, grad, 5, lr)
        m5, s5 = 0.9 * m_ + 0.1 * grad, 0.999 * s_ + 0.001 * grad ** 2
        if out5[0].shape == theta.shape and not np.allclose(out5[0], want5[0]) and \
                np.allclose(out5[0], theta - lr * (m5 / 0.1) / (np.sqrt(s5 / 0.001) + 1e-7)):
            raise Wrong("at step t = 5 your bias correction divides by (1 - beta1) and (1 - beta2): "
                        "raise the betas to the power t, (1 - beta1**t) and (1 - beta2**t), so that the "
                        "correction fades away as the steps go on.")
        for arr, ref, lab in zip(out5, want5, ("new_theta", "new_m", "new_s")):
            check_close(arr, ref, f"{lab} at step t = 5")
        return "at step 1 Adam moves every parameter by about lr, whatever the size of its gradient."

    def fresh_args(self, rng):
        n = int(rng.integers(4, 9))                    # not the example's 3 parameters
        args = (rng.normal(size=n), rng.normal(scale=0.1, size=n), rng.uniform(0.001, 0.1, size=n),
                rng.normal(size=n), int(rng.integers(2, 40)), float(rng.uniform(0.001, 0.1)),
                float(rng.uniform(0.8, 0.95)), float(rng.uniform(0.99, 0.9995)), 1e-7)
        self._fresh = args
        return args

    def fresh_compare(self, out, want):
        new_theta, new_m, new_s = _unpack(out, 3, "(new_theta, new_m, new_s)", "`adam_step`")
        theta, m, s, grad, t, lr, beta1, beta2, eps = self._fresh
        for arr, lab in zip((new_theta, new_m, new_s), ("new_theta", "new_m", "new_s")):
            check_shape(arr, theta.shape, lab)
            check_finite(arr, lab)
        fixed = self._ref(theta, m, s, grad, t, lr)            # beta1 = 0.9, beta2 = 0.999 written in
        if not np.allclose(new_m, want[1]) and np.allclose(new_m, fixed[1]) or \
                not np.allclose(new_s, want[2]) and np.allclose(new_s, fixed[2]):
            raise Wrong(f"with beta1 = {beta1:.3f} and beta2 = {beta2:.4f} your averages are those of "
                        "0.9 and 0.999: use the arguments `beta1` and `beta2`, not the numbers of "
                        "their defaults.")
        for arr, ref, lab in zip((new_m, new_s, new_theta), (want[1], want[2], want[0]),
                                 ("new_m", "new_s", "new_theta")):
            check_close(arr, ref, f"{lab} at step t = {t}")


# Exercise 5's example: 20 points, 8 of class 1. At threshold 0.5: TP 3, FP 1, FN 5, TN 11, so that
# precision, recall, F1, their arithmetic mean, accuracy and TP / N all differ; at 0.3: TP 6, FP 3, FN 2.
_Y5 = np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=np.float64)
_P5 = np.array([0.9, 0.8, 0.6, 0.7, 0.4, 0.35, 0.2, 0.1, 0.45, 0.1,
                0.2, 0.05, 0.15, 0.25, 0.4, 0.02, 0.12, 0.33, 0.08, 0.22])


def _prf(y_true, p, threshold=0.5):
    pred, actual = np.asarray(p) >= threshold, np.asarray(y_true) == 1
    tp, fp, fn = np.sum(pred & actual), np.sum(pred & ~actual), np.sum(~pred & actual)
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return float(precision), float(recall), float(f1)


class PrecisionRecallF1(Exercise):
    name = "precision_recall_f1"
    title = "Exercise 5 — precision, recall and F1"
    hints = (
        "First turn the probabilities into decisions: the model says 1 wherever p reaches the "
        "threshold. Then count three cells of the confusion matrix: true positives (said 1, is 1), "
        "false positives (said 1, is 0) and false negatives (said 0, is 1).",
        "Precision asks 'of the points I called positive, how many are?', so TP is divided by all "
        "predicted positives, TP + FP. Recall asks 'of the real positives, how many did I find?', so "
        "TP is divided by all actual positives, TP + FN. Neither divides by the number of examples.",
        "F1 is the harmonic mean 2·P·R / (P + R), not (P + R) / 2. Each of the three divisions can be "
        "0 / 0 (nothing predicted positive, no real positives, or P = R = 0): test the denominator "
        "first and use 0.0 in that case. Counting with booleans is easiest: `&` is 'and', `~` is 'not'.",
    )
    solution_code = """
        def precision_recall_f1(y_true, p, threshold=0.5):
            pred = p >= threshold                     # the 0/1 decisions, as booleans
            actual = y_true == 1
            tp = np.sum(pred & actual)
            fp = np.sum(pred & ~actual)
            fn = np.sum(~pred & actual)
            precision = tp / (tp + fp) if tp + fp > 0 else 0.0
            recall = tp / (tp + fn) if tp + fn > 0 else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
            return precision, recall, f1
    """

    def reference(self):
        return _prf

    # -- helpers ----------------------------------------------------------------------
    def _run(self, fn, y, p, threshold):
        """Call the learner's function; name the typical boolean and 0/0 crashes."""
        try:
            out = call(fn, y.copy(), p.copy(), threshold, what="`precision_recall_f1`")
        except Wrong as exc:
            msg = str(exc)
            if "boolean subtract" in msg or "boolean negative" in msg:
                raise Wrong("`precision_recall_f1` raised a TypeError: NumPy refuses `a - b` (and `-a`) "
                            "when both are boolean arrays, such as `p >= threshold` and `y_true == 1`. "
                            "For 'a and not b' write `a & ~b`, or turn the booleans into numbers first, "
                            "`a.astype(int)`.") from None
            if "invert" in msg or "bitwise_and" in msg or "bitwise_or" in msg:
                raise Wrong("`precision_recall_f1` raised a TypeError: `~`, `&` and `|` work on boolean "
                            "(or integer) arrays, not on floats, such as the labels `y_true` (0.0 and 1.0) "
                            "or decisions turned into numbers with `.astype(float)`. Compare first to get "
                            "booleans: `actual = y_true == 1`, `pred = p >= threshold`. (With 0/1 "
                            "floats, 'not a' is `1 - a` and 'a and b' is `a * b`.)") from None
            if "could not be broadcast" in msg:
                shapes = re.findall(r"\(\d*,?[\d, ]*\)", msg.split("broadcast", 1)[-1])
                raise Wrong(f"`precision_recall_f1` combined arrays of different shapes ({' and '.join(shapes[:2])}), "
                            f"but `y_true` and `p` both have shape {y.shape} here. Use the function's "
                            "arguments only, not the notebook's `yr_test` or `p_rare`: the check calls it "
                            "on its own small example.") from None
            if "mix of binary and continuous" in msg:
                raise Wrong("`precision_recall_f1` raised a ValueError from scikit-learn: its "
                            "`precision_score`, `recall_score` and `f1_score` compare labels with "
                            "*decisions* (0/1), not with probabilities. Pass `p >= threshold` instead of "
                            "`p`.") from None
            if "truth value of an array" in msg:
                raise Wrong("`precision_recall_f1` raised a ValueError: Python's `and`, `or`, `not` and "
                            "`if` need one True/False, not a whole array. For arrays use `&`, `|`, `~` "
                            "(with brackets: `(p >= threshold) & (y_true == 1)`), or multiply 0/1 "
                            "arrays.") from None
            if "ZeroDivisionError" in msg:
                raise Wrong("`precision_recall_f1` divided by zero. That happens when nothing is predicted "
                            "positive (TP + FP = 0), when there are no real positives (TP + FN = 0), or "
                            "when precision and recall are both 0. The exercise defines each such value "
                            "as 0 (like scikit-learn's `zero_division=0`): test the denominator before "
                            "dividing.") from None
            raise
        if isinstance(out, np.ndarray) and out.shape == (3,):
            out = tuple(out)
        return _unpack(out, 3, "(precision, recall, f1)", "`precision_recall_f1`")

    @staticmethod
    def _soft(y, p):
        """The 'metrics' of an answer that counts with the probabilities instead of 0/1 decisions."""
        tp, fp, fn = np.sum(y * p), np.sum((1 - y) * p), np.sum(y * (1 - p))
        return tp / (tp + fp), tp / (tp + fn)

    def _zero_case(self, fn, y, p, threshold, when):
        out = self._run(fn, y, p, threshold)
        for arr, lab in zip(out, ("precision", "recall", "f1")):
            check_shape(arr, (), lab)
            if np.isnan(arr).any():
                why = ("precision and recall are both 0 there, so 2·P·R / (P + R) is 0 / 0"
                       if lab == "f1" else "that is 0 / 0")
                raise Wrong(f"{lab} is NaN {when}: {why}. The exercise defines it as 0 (like "
                            "scikit-learn's `zero_division=0`): test the denominator, and return 0.0 "
                            "when it is 0.")
        got, want = np.array([float(a) for a in out]), np.array(_prf(y, p, threshold))
        if not np.allclose(got, want):
            raise Wrong("{}, your function returns (precision, recall, f1) = ({}) but they should be "
                        "({}). A ratio whose denominator is 0 is defined as 0 here (like scikit-learn's "
                        "`zero_division=0`), not 1 or NaN; the other values are computed as "
                        "usual.".format(when[0].upper() + when[1:], ", ".join(f"{v:.4g}" for v in got),
                                        ", ".join(f"{v:.4g}" for v in want)))

    # -- the check --------------------------------------------------------------------
    def verify(self, fn):
        y, p = _Y5, _P5
        out = self._run(fn, y, p, 0.5)
        for arr, lab in zip(out, ("precision", "recall", "f1")):
            check_shape(arr, (), lab)
            check_finite(arr, lab)
        got = np.array([float(a) for a in out])
        P, R, F = _prf(y, p, 0.5)                          # 0.75, 0.375, 0.5
        n, tp = len(y), 3
        if np.all(got == 0):
            raise Wrong("precision, recall and F1 are all 0: your function counted no true positives, but "
                        f"the example has {tp} (points with `y_true == 1` and `p >= 0.5`). Print your TP: "
                        "is `y_true` compared with 1 (not `p`), and are the arguments in the order "
                        "`(y_true, p, threshold)`? (With integers, `//` rounds every ratio down to 0: "
                        "divide with `/`.)")
        if np.allclose(got[:2], [R, P]):
            raise Wrong(f"precision and recall are swapped (you return {got[0]:.3f}, {got[1]:.3f}). "
                        "Precision divides TP by the *predicted* positives, TP + FP: how many of the "
                        "model's 'yes' are right. Recall divides TP by the *actual* positives, TP + FN: "
                        "how many of the real positives the model found.")
        soft_p, soft_r = self._soft(y, p)
        if np.isclose(got[0], soft_p) or np.isclose(got[1], soft_r):
            raise Wrong("you counted with the probabilities `p` themselves (e.g. `np.sum(y_true * p)`), "
                        "so every point counts a little as positive. The confusion matrix counts "
                        "*decisions*: first `pred = p >= threshold`, then count with `pred`.")
        if np.isclose(got[0], tp / n) or np.isclose(got[1], tp / n):
            raise Wrong(f"you divided TP by the number of examples ({tp}/{n} = {tp / n:.3f}): that is "
                        "the share of true positives among all points, not precision or recall. "
                        "Precision divides by the predicted positives, TP + FP; recall by the actual "
                        "positives, TP + FN.")
        if np.isclose(got[0], 14 / n) or np.isclose(got[1], 14 / n):
            raise Wrong("that is the accuracy, (TP + TN) / N: the share of right answers. Precision and "
                        "recall look at the positives only: TP / (TP + FP) and TP / (TP + FN).")
        if np.allclose(got[:2], [P, R]) and np.isclose(got[2], (P + R) / 2):
            raise Wrong(f"F1 is {got[2]:.4g}, the arithmetic mean (P + R) / 2. F1 is the *harmonic* mean, "
                        "2·P·R / (P + R), which stays low when either of the two is low: a model "
                        "cannot hide a poor recall behind a high precision.")
        if np.allclose(got[:2], [P, R]) and np.isclose(got[2], P * R / (P + R)):
            raise Wrong("F1 is off by a factor of 2: the harmonic mean is 2·P·R / (P + R).")
        check_close(got, [P, R, F], "(precision, recall, f1)", names=("precision", "recall", "f1"))
        # another threshold: the argument must be used
        got3 = np.array([float(a) for a in self._run(fn, y, p, 0.3)])
        if not np.allclose(got3, _prf(y, p, 0.3)) and np.allclose(got3, [P, R, F]):
            raise Wrong("called with threshold = 0.3, your function still decides at 0.5: use the "
                        "argument `threshold`, `p >= threshold`.")
        check_close(got3, _prf(y, p, 0.3), "(precision, recall, f1) at threshold 0.3",
                    names=("precision", "recall", "f1"))
        # a probability exactly at the threshold counts as a 'yes'
        y_tie, p_tie = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.5, 0.5, 0.2, 0.1])
        got_tie = np.array([float(a) for a in self._run(fn, y_tie, p_tie, 0.5)])
        if np.allclose(np.nan_to_num(got_tie), 0.0):
            raise Wrong("with `p` exactly equal to the threshold (p = 0.5, threshold = 0.5) your function "
                        "predicts 0, so it finds nothing. The model predicts 1 where `p >= threshold`: "
                        "use `>=`, not `>`.")
        check_close(got_tie, _prf(y_tie, p_tie, 0.5), "(precision, recall, f1) with p = threshold",
                    names=("precision", "recall", "f1"))
        # the 0 / 0 cases, defined as 0
        self._zero_case(fn, y, p, 0.95, "when nothing is predicted positive (threshold 0.95, TP + FP = 0)")
        y_miss = np.array([0, 0, 1, 0, 1, 0], dtype=np.float64)
        p_miss = np.array([0.9, 0.7, 0.2, 0.1, 0.3, 0.4])
        self._zero_case(fn, y_miss, p_miss, 0.5, "when every predicted positive is wrong (TP = 0)")
        self._zero_case(fn, np.zeros(5), np.array([0.9, 0.1, 0.6, 0.2, 0.3]), 0.5,
                        "when there are no real positives (TP + FN = 0)")
        return "precision: how many of the 'yes' are right; recall: how many positives were found."

    def fresh_args(self, rng):
        n = int(rng.integers(12, 40))                   # not the example's 20 points
        y = (rng.random(n) < 0.4).astype(np.float64)
        y[:2] = [1.0, 0.0]                              # both classes present
        return y, rng.random(n), float(rng.uniform(0.2, 0.8))

    def fresh_compare(self, out, want):
        if isinstance(out, np.ndarray) and out.shape == (3,):
            out = tuple(out)
        got = _unpack(out, 3, "(precision, recall, f1)", "`precision_recall_f1`")
        for arr, lab in zip(got, ("precision", "recall", "f1")):
            check_shape(arr, (), lab)
        check_close(np.array([float(a) for a in got]), want, "(precision, recall, f1)",
                    names=("precision", "recall", "f1"))


q1, q2, q3, q4, q5 = BCE(), BoundaryX2(), MomentumStep(), AdamStep(), PrecisionRecallF1()
ALL = [q1, q2, q3, q4, q5]
