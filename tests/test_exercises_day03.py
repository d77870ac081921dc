"""Day 03's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day03


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_bce_mistakes():
    assert "minus sign" in _msg(day03.q1, lambda y, p: np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert "*sum*" in _msg(day03.q1, lambda y, p: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert "base 10" in _msg(day03.q1, lambda y, p: -np.mean(y * np.log10(p) + (1 - y) * np.log10(1 - p)))
    assert "y = 0 also count" in _msg(day03.q1, lambda y, p: -np.mean(y * np.log(p)))
    assert "swapped" in _msg(day03.q1, lambda y, p: -np.mean(y * np.log(1 - p) + (1 - y) * np.log(p)))


def test_boundary_mistakes():
    assert "sign of the bias" in _msg(day03.q2, lambda x1, w, b: -(w[0] * x1 - b) / w[1])
    assert "left out the bias" in _msg(day03.q2, lambda x1, w, b: -w[0] / w[1] * x1)
    assert "swapped" in _msg(day03.q2, lambda x1, w, b: -(w[1] * x1 + b) / w[0])
    assert "sign is wrong" in _msg(day03.q2, lambda x1, w, b: (w[0] * x1 + b) / w[1])


def test_momentum_mistakes():
    def ascent(theta, v, g, lr, beta):
        v = beta * v + lr * g
        return theta + v, v

    assert "*up* the gradient" in _msg(day03.q3, ascent)
    assert "plain SGD" in _msg(day03.q3, lambda th, v, g, lr, beta: (th - lr * g, beta * v - lr * g))
    assert "*new* velocity" in _msg(day03.q3, lambda th, v, g, lr, beta: (th + beta * v - lr * g, v))
    assert "*old* velocity" in _msg(day03.q3, lambda th, v, g, lr, beta: (th + v, beta * v - lr * g))
    assert "2 values" in _msg(day03.q3, lambda th, v, g, lr, beta: th + beta * v - lr * g)

    def ema(theta, v, g, lr, beta):                  # the moving-average form
        v = beta * v + (1 - beta) * g
        return theta - lr * v, v

    def pytorch(theta, v, g, lr, beta):              # torch.optim.SGD's form
        v = beta * v + g
        return theta - lr * v, v

    msg = _msg(day03.q3, ema)
    assert "moving-average form" in msg and "*up*" not in msg
    assert "PyTorch's form" in _msg(day03.q3, pytorch)

    def flipped(theta, v, g, lr, beta):              # v points uphill, theta -= v: descends too
        v = beta * v + lr * g
        return theta - v, v

    msg = _msg(day03.q3, flipped)
    assert "also descends" in msg and "*up*" not in msg
    assert day03.q3.evaluate(day03.q3.reference()).correct


def test_adam_mistakes():
    def no_correction(theta, m, s, g, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g ** 2
        return theta - lr * m / (np.sqrt(s) + eps), m, s

    def returns_hats(theta, m, s, g, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g ** 2
        mh, sh = m / (1 - b1 ** t), s / (1 - b2 ** t)
        return theta - lr * mh / (np.sqrt(sh) + eps), mh, sh

    def ascent(*args, **kw):
        th, m, s = day03.q4.reference()(*args, **kw)
        return 2 * args[0] - th, m, s

    assert "bias correction is missing" in _msg(day03.q4, no_correction)
    assert "not the bias-corrected" in _msg(day03.q4, returns_hats)
    assert "wrong way" in _msg(day03.q4, ascent)


def test_adam_power_t_forgotten():
    def no_power(theta, m, s, g, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g ** 2
        return theta - lr * (m / (1 - b1)) / (np.sqrt(s / (1 - b2)) + eps), m, s

    assert "beta1**t" in _msg(day03.q4, no_power)


# -- fresh random inputs (issue 14) -----------------------------------------------------------

def test_fixed_numbers_fail_on_fresh_inputs():
    msg = _msg(day03.q1, lambda y, p: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) / 12)
    assert "new random inputs" in msg and "divides by 12" in msg
    assert "off by the same amount" in _msg(day03.q2, lambda x1, w, b: -(w[0] * x1 + 0.7) / w[1])

    def beta_09(theta, v, g, lr, beta):
        v = 0.9 * v - lr * g
        return theta + v, v

    def lr_005(theta, v, g, lr, beta):
        v = beta * v - 0.05 * g
        return theta + v, v

    assert "uses beta = 0.9," in _msg(day03.q3, beta_09)
    assert "uses lr = 0.05," in _msg(day03.q3, lr_005)

    def fixed_betas(theta, m, s, g, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g ** 2
        mh, sh = m / (1 - 0.9 ** t), s / (1 - 0.999 ** t)
        return theta - lr * mh / (np.sqrt(sh) + eps), m, s

    msg = _msg(day03.q4, fixed_betas)
    assert "new random inputs" in msg and "`beta1` and `beta2`" in msg


def test_right_answers_pass_on_fresh_inputs():
    import torch

    def bce_torch(y, p):                              # float32: judged at float32 precision
        return torch.nn.functional.binary_cross_entropy(torch.tensor(p, dtype=torch.float32),
                                                        torch.tensor(y, dtype=torch.float32))

    assert day03.q1.evaluate(bce_torch).correct
    assert day03.q2.evaluate(lambda x1, w, b: -w[0] / w[1] * x1 - b / w[1]).correct

    def adam_torch(theta, m, s, g, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
        theta, m, s, g = (torch.tensor(a, dtype=torch.float32) for a in (theta, m, s, g))
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g ** 2
        mh, sh = m / (1 - beta1 ** t), s / (1 - beta2 ** t)
        return theta - lr * mh / (torch.sqrt(sh) + eps), m, s

    assert day03.q4.evaluate(adam_torch).correct


def test_blank_is_not_attempted():
    from mlcourse.exercises import ____

    for q in day03.ALL:
        assert q.evaluate(lambda *a: ____).status == "not_attempted"


# -- review of the beginners' answers ---------------------------------------------------------

def _m(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_bce_swapped_arguments_log2_and_negative_are_named():
    bce = lambda y, p: -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))  # noqa: E731
    assert "order `bce(y, p)`" in _m(day03.q1, lambda p, y: bce(y, p))
    assert "log base 2" in _m(day03.q1, lambda y, p: bce(y, p) / np.log(2))
    assert "never negative" in _m(day03.q1, lambda y, p: -np.mean(y * np.log(p) - (1 - y) * np.log(1 - p)))


def test_momentum_swapped_and_theta_mistakes_are_named():
    def step(sign=1.0, lr_again=False, swap=False, beta_used=True):
        def f(theta, v, g, lr, beta):
            v = (beta if beta_used else 1.0) * v - lr * g
            t = theta + sign * (lr * v if lr_again else v)
            return (v, t) if swap else (t, v)
        return f
    assert "swapped" in _m(day03.q3, step(swap=True))
    assert "*add* it" in _m(day03.q3, step(sign=-1.0))
    assert "already contains the learning rate" in _m(day03.q3, step(lr_again=True))
    assert "left out beta" in _m(day03.q3, step(beta_used=False))


def test_adam_swapped_averages_fixed_lr_and_missing_sqrt_are_named():
    ref = day03.q4.reference()

    def variant(kind):
        def f(theta, m, s, g, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
            new_t, new_m, new_s = ref(theta, m, s, g, t, 0.001 if kind == "lr" else lr, b1, b2, eps)
            if kind == "swap":
                return new_t, new_s, new_m
            if kind == "sqrt":
                mh, sh = new_m / (1 - b1 ** t), new_s / (1 - b2 ** t)
                return theta - lr * mh / (sh + eps), new_m, new_s
            return new_t, new_m, new_s
        return f
    assert "new_m and new_s are swapped" in _m(day03.q4, variant("swap"))
    assert "use the argument `lr`" in _m(day03.q4, variant("lr"))
    assert "square root" in _m(day03.q4, variant("sqrt"))


# -- Exercise 5: precision, recall and F1 -----------------------------------------------------

def _prf_variant(kind):
    """A beginner's `precision_recall_f1`, wrong in one typical way (``kind``), else right."""
    def f(y_true, p, threshold=0.5):
        pred = (p >= (0.5 if kind == "fixed threshold" else threshold)).astype(float)
        if kind == "probabilities":
            pred = p
        tp, fp, fn = np.sum(pred * y_true), np.sum(pred * (1 - y_true)), np.sum((1 - pred) * y_true)
        tn = np.sum((1 - pred) * (1 - y_true))
        if kind == "no zero check":
            precision, recall = tp / (tp + fp), tp / (tp + fn)
            return precision, recall, 2 * precision * recall / (precision + recall)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if kind == "swapped":
            precision, recall = recall, precision
        if kind == "divided by n":
            precision, recall = tp / len(y_true), tp / len(y_true)
        if kind == "accuracy":
            precision = (tp + tn) / len(y_true)
        if kind == "arithmetic mean":
            return precision, recall, (precision + recall) / 2
        if kind == "no factor 2":
            return precision, recall, precision * recall / (precision + recall) if precision + recall else 0.0
        if kind == "f1 zero check missing":
            return precision, recall, 2 * precision * recall / (precision + recall)
        return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f


def test_precision_recall_f1_mistakes_are_named():
    q = day03.q5
    assert "precision and recall are swapped" in _msg(q, _prf_variant("swapped"))
    assert "divided TP by the number of examples" in _msg(q, _prf_variant("divided by n"))
    assert "that is the accuracy" in _msg(q, _prf_variant("accuracy"))
    assert "arithmetic mean" in _msg(q, _prf_variant("arithmetic mean"))
    assert "factor of 2" in _msg(q, _prf_variant("no factor 2"))
    assert "probabilities `p` themselves" in _msg(q, _prf_variant("probabilities"))
    assert "still decides at 0.5" in _msg(q, _prf_variant("fixed threshold"))
    msg = _msg(q, _prf_variant("no zero check"))
    assert "precision is NaN when nothing is predicted positive" in msg and "zero_division=0" in msg
    msg = _msg(q, _prf_variant("f1 zero check missing"))
    assert "f1 is NaN when nothing is predicted positive" in msg and "both 0" in msg

    def f1_guards_predicted_positives(y_true, p, threshold=0.5):  # F1 guarded by TP + FP > 0 only
        P, R = (np.float64(v) for v in day03._prf(y_true, p, threshold)[:2])   # NumPy: 0 / 0 is NaN
        return P, R, 2 * P * R / (P + R) if np.sum(p >= threshold) > 0 else 0.0

    msg = _msg(q, f1_guards_predicted_positives)
    assert "f1 is NaN when every predicted positive is wrong" in msg and "both 0" in msg


def test_precision_recall_f1_crashes_are_explained():
    q = day03.q5

    def python_ints(y_true, p, threshold=0.5):        # Python numbers: 0 / 0 raises
        pred = p >= threshold
        tp = int(np.sum(pred & (y_true == 1)))
        fp = int(np.sum(pred & (y_true == 0)))
        fn = int(np.sum(~pred & (y_true == 1)))
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        return precision, recall, 2 * precision * recall / (precision + recall)

    def bool_minus(y_true, p, threshold=0.5):         # boolean minus boolean
        pred, actual = p >= threshold, y_true == 1
        hit = pred & actual
        tp, fp, fn = np.sum(hit), np.sum(pred - hit), np.sum(actual - hit)
        return tp / (tp + fp), tp / (tp + fn), 0.0

    def invert_floats(y_true, p, threshold=0.5):      # ~ on float labels
        pred = p >= threshold
        tp, fp = np.sum(pred & (y_true == 1)), np.sum(pred & ~y_true)
        return tp / (tp + fp), 0.0, 0.0

    def python_and(y_true, p, threshold=0.5):         # `and` on whole arrays
        pred = p >= threshold
        tp = np.sum(pred and y_true == 1)
        return tp, tp, tp

    assert "divided by zero" in _msg(q, python_ints) and "zero_division=0" in _msg(q, python_ints)
    msg = _msg(q, bool_minus)
    assert "`a & ~b`" in msg and "boolean arrays" in msg and "power" not in msg
    assert "Compare first" in _msg(q, invert_floats)
    assert "Python's `and`" in _msg(q, python_and)


def test_precision_recall_f1_right_answers_pass():
    from sklearn.metrics import f1_score, precision_score, recall_score

    q = day03.q5
    assert q.evaluate(q.reference()).correct

    def with_sklearn(y_true, p, threshold=0.5):
        pred = p >= threshold
        return (precision_score(y_true, pred, zero_division=0), recall_score(y_true, pred, zero_division=0),
                f1_score(y_true, pred, zero_division=0))

    def float32_array(y_true, p, threshold=0.5):      # float32 arithmetic, one array of three
        pred = (p >= threshold).astype(np.float32)
        y = y_true.astype(np.float32)
        tp, fp, fn = (pred * y).sum(), (pred * (1 - y)).sum(), ((1 - pred) * y).sum()
        prec = tp / (tp + fp) if tp + fp else np.float32(0)
        rec = tp / (tp + fn) if tp + fn else np.float32(0)
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else np.float32(0)
        return np.array([prec, rec, f1], dtype=np.float32)

    def harmonic(y_true, p, threshold=0.5):           # F1 as 2 / (1/P + 1/R), guarded
        P, R, _ = day03._prf(y_true, p, threshold)
        return P, R, 2 / (1 / P + 1 / R) if P > 0 and R > 0 else 0.0

    for answer in (with_sklearn, float32_array, harmonic):
        res = q.evaluate(answer)
        assert res.correct, (answer.__name__, res.message)


def test_precision_recall_f1_printed_solution_and_starter():
    from exercise_helpers import defined, starter_code

    q = day03.q5
    assert q.evaluate(defined(q.solution_code, q.name)).correct
    starter = starter_code("03_binary_classification_keras.ipynb", q.name)
    assert q.evaluate(defined(starter, q.name)).status == "not_attempted"


def test_precision_recall_f1_review_mistakes_are_named():
    """Mistakes found in review: `>` for `>=`, floats with `~`, notebook variables, probabilities
    given to scikit-learn, all-zero counts, and 1 (not 0) for an undefined ratio."""
    q = day03.q5

    def counted(y_true, p, threshold, pred, zero=0.0):
        act = y_true == 1
        tp, fp, fn = np.sum(pred & act), np.sum(pred & ~act), np.sum(~pred & act)
        P = tp / (tp + fp) if tp + fp else zero
        R = tp / (tp + fn) if tp + fn else zero
        return P, R, (2 * P * R / (P + R) if P + R else zero)

    def strictly_greater(y_true, p, threshold=0.5):
        return counted(y_true, p, threshold, p > threshold)

    def float_decisions(y_true, p, threshold=0.5):    # ~ on a float array that is not y_true
        pred = (p >= threshold).astype(float)
        tp, fn = np.sum(pred * (y_true == 1)), np.sum(~pred * (y_true == 1))
        return tp, fn, 0.0

    def notebook_labels(y_true, p, threshold=0.5):    # uses a (stand-in) notebook array
        yr_test = np.r_[np.ones(30), np.zeros(970)]
        return counted(yr_test, p, threshold, p >= threshold)

    def sklearn_on_probabilities(y_true, p, threshold=0.5):
        from sklearn.metrics import precision_score
        return precision_score(y_true, p), 0.0, 0.0

    def arguments_swapped(p, y_true, threshold=0.5):
        return counted(y_true, p, threshold, p >= threshold)

    def one_when_undefined(y_true, p, threshold=0.5):
        return counted(y_true, p, threshold, p >= threshold, zero=1.0)

    assert "use `>=`, not `>`" in _msg(q, strictly_greater)
    msg = _msg(q, float_decisions)
    assert "`.astype(float)`" in msg and "`1 - a`" in msg
    msg = _msg(q, notebook_labels)
    assert "(20,) and (1000,)" in msg and "arguments only" in msg and "v[:, None]" not in msg
    assert "not with probabilities" in _msg(q, sklearn_on_probabilities)
    msg = _msg(q, arguments_swapped)
    assert "all 0" in msg and "`(y_true, p, threshold)`" in msg and "zeros_like" not in msg
    msg = _msg(q, one_when_undefined)
    assert msg.startswith("When nothing is predicted positive") and "(1, 0, 0)" in msg and "(0, 0, 0)" in msg
    assert "intercept" not in msg
