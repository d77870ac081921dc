"""Exercises of Day 05 -- the MNIST dense network."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(5)


def _ref_one_hot(labels, num_classes):
    return np.eye(num_classes, dtype=np.float32)[labels]


def _ref_confusion(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def _ref_mistakes(probs, y_true, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:k]


class Preprocess(Exercise):
    name = "preprocess"
    title = "Exercise 1 — flatten and scale the images"
    hints = (
        "Two steps: reshape every 28x28 image into one row of 784 numbers, then divide by 255.",
        "`images.reshape(len(images), -1).astype(np.float32) / 255` — the -1 lets NumPy work out 784.",
    )
    solution_code = """
        def preprocess(images):
            return images.reshape(len(images), -1).astype(np.float32) / 255.0
    """

    def reference(self):
        return lambda images: images.reshape(len(images), -1).astype(np.float32) / 255.0

    def verify(self, fn):
        images = _rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
        images[0, 0, 0] = 255
        raw = call(fn, images.copy(), what="`preprocess`")
        out = as_array(raw, "the preprocessed images")
        want = images.reshape(6, -1) / 255.0
        if out.shape == (6, 28, 28):
            raise Wrong("the images are not flattened: shape (6, 28, 28), but a Dense layer needs one row "
                        "per image, (6, 784). Use images.reshape(len(images), -1).")
        if out.shape == (784, 6):
            raise Wrong("shape (784, 6): the examples must be the rows, (6, 784). Use "
                        "images.reshape(len(images), -1) (reshape(784, -1) mixes pixels of different images).")
        check_shape(out, (6, 784), "the preprocessed images")
        check_finite(out, "the preprocessed images")
        if out.max() > 1.0 + 1e-6:
            raise Wrong(f"the values go up to {out.max():g}: scale them to [0, 1] by dividing by 255.")
        if np.allclose(out, images.reshape(6, -1) / 256.0):
            raise Wrong("you divided by 256; the largest pixel value is 255, so divide by 255 to reach exactly 1.")
        check_close(out, want, "the preprocessed images", rtol=1e-5, atol=1e-6)
        dtype = getattr(raw, "dtype", None)
        if dtype != np.float32:
            raise Wrong(f"the values are right, but the dtype is {dtype}: use float32 "
                        "(.astype(np.float32)), half the memory of float64 and what the frameworks expect.")
        return "(N, 784) float32 in [0, 1]: ready for a Dense layer."


class OneHot(Exercise):
    name = "to_one_hot"
    title = "Exercise 2 — one-hot encoding"
    hints = (
        "Start from zeros of shape (N, num_classes) and put a 1 in row i, column labels[i].",
        "`out[np.arange(len(labels)), labels] = 1` does all rows at once; or `np.eye(num_classes)[labels]` "
        "picks row labels[i] of the identity matrix for every i.",
    )
    solution_code = """
        def to_one_hot(labels, num_classes):
            return np.eye(num_classes, dtype=np.float32)[labels]
    """

    def reference(self):
        return _ref_one_hot

    def verify(self, fn):
        labels = np.array([3, 0, 9, 1, 1, 4, 11])
        out = as_array(call(fn, labels.copy(), 12, what="`to_one_hot`"), "the one-hot array")
        want = _ref_one_hot(labels, 12)
        if out.shape == (12, 7) and np.allclose(out, want.T):
            raise Wrong("shape (12, 7) is transposed: one row per *example*, one column per class: "
                        "expected (7, 12).")
        if out.shape == (7, 10):
            raise Wrong("you always made 10 columns; use num_classes (here 12) instead of a fixed 10.")
        check_shape(out, want.shape, "the one-hot array")
        check_finite(out, "the one-hot array")
        shifted = np.zeros_like(want)
        shifted[np.arange(7), (labels - 1) % 12] = 1
        if np.allclose(out, shifted):
            raise Wrong("the 1s are one column to the left: class k goes into column k (counting from 0), "
                        "not k - 1.")
        if not np.allclose(out.sum(axis=1), 1):
            raise Wrong("every row of a one-hot array has exactly one 1 (and zeros elsewhere); yours do not.")
        check_close(out, want, "the one-hot array")
        return "one row per example, a single 1 in the column of its class."


class Confusion(Exercise):
    name = "confusion"
    title = "Exercise 3 — the confusion matrix"
    hints = (
        "Start with `cm = np.zeros((num_classes, num_classes), dtype=int)` and add 1 to "
        "cm[true, predicted] for every example.",
        "A loop `for t, p in zip(y_true, y_pred): cm[t, p] += 1` works; `np.add.at(cm, (y_true, y_pred), 1)` "
        "is the loop-free version. (Plain `cm[y_true, y_pred] += 1` counts repeated pairs only once!)",
    )
    solution_code = """
        def confusion(y_true, y_pred, num_classes):
            cm = np.zeros((num_classes, num_classes), dtype=int)
            np.add.at(cm, (y_true, y_pred), 1)
            return cm
    """

    def reference(self):
        return _ref_confusion

    def verify(self, fn):
        y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 1, 0, 2])
        y_pred = np.array([0, 0, 1, 1, 3, 2, 2, 0, 0, 3, 1, 1, 0, 2])
        out = as_array(call(fn, y_true.copy(), y_pred.copy(), 4, what="`confusion`"), "the confusion matrix")
        want = _ref_confusion(y_true, y_pred, 4)
        check_shape(out, (4, 4), "the confusion matrix")
        check_finite(out, "the confusion matrix")
        if np.allclose(out, want.T):
            raise Wrong("your matrix is transposed: rows must be the *true* labels and columns the "
                        "*predicted* ones, so count into cm[true, predicted].")
        once = np.zeros((4, 4))
        once[y_true, y_pred] = 1
        if np.allclose(out, once) or np.allclose(out, (want > 0).astype(float)):
            raise Wrong("each (true, predicted) pair is counted at most once: with fancy indexing, "
                        "`cm[y_true, y_pred] += 1` ignores repeats. Use np.add.at or a loop.")
        if out.sum() != len(y_true):
            raise Wrong(f"the counts add up to {out.sum():g}, but there are {len(y_true)} examples: "
                        "every example adds exactly 1 to one cell.")
        check_close(out, want, "the confusion matrix")
        return "rows are true labels, columns predictions; the diagonal holds the correct answers."


class ConfidentMistakes(Exercise):
    name = "confident_mistakes"
    title = "Exercise 4 — the most confident mistakes"
    hints = (
        "First the predictions `pred = probs.argmax(axis=1)` and the indices of the mistakes "
        "`wrong = np.flatnonzero(pred != y_true)`. The confidence of a prediction is `probs.max(axis=1)`.",
        "Sort the mistakes by confidence, largest first: "
        "`wrong[np.argsort(-probs[wrong].max(axis=1))][:k]`.",
    )
    solution_code = """
        def confident_mistakes(probs, y_true, k):
            pred = probs.argmax(axis=1)
            wrong = np.flatnonzero(pred != y_true)
            return wrong[np.argsort(-probs[wrong].max(axis=1))][:k]
    """

    def reference(self):
        return _ref_mistakes

    def verify(self, fn):
        n, c = 24, 5
        logits = _rng.normal(size=(n, c)) * 2.5
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        pred = probs.argmax(axis=1)
        y_true = pred.copy()
        flip = _rng.choice(n, size=10, replace=False)      # 10 mistakes
        y_true[flip] = (pred[flip] + 1 + _rng.integers(0, c - 1, size=10)) % c
        k = 4
        out = as_array(call(fn, probs.copy(), y_true.copy(), k, what="`confident_mistakes`"),
                       "the indices")
        want = _ref_mistakes(probs, y_true, k)
        check_shape(out, (k,), "the indices")
        check_finite(out, "the indices")
        if not np.allclose(out, np.round(out)) or out.min() < 0 or out.max() >= n:
            raise Wrong(f"return the *indices* of the examples (whole numbers from 0 to {n - 1}), "
                        "not their probabilities.")
        idx = out.astype(int)
        if np.any(pred[idx] == y_true[idx]):
            raise Wrong("some of your examples are classified correctly: keep only the mistakes "
                        "(pred != y_true) before sorting by confidence.")
        all_wrong = np.flatnonzero(pred != y_true)
        least = all_wrong[np.argsort(probs[all_wrong].max(axis=1), kind="stable")][:k]
        if np.array_equal(idx, least):
            raise Wrong("these are the *least* confident mistakes: sort by confidence in decreasing order "
                        "(np.argsort(-confidence)).")
        if set(idx) == set(want) and not np.array_equal(idx, want):
            raise Wrong("the right examples, but in the wrong order: the most confident mistake comes first.")
        if not np.array_equal(idx, want):
            raise Wrong("not the right examples yet: the confidence of a prediction is its largest "
                        "probability, probs.max(axis=1) (the probability of the *predicted* class).")
        return "these are the images worth looking at first."


q1, q2, q3, q4 = Preprocess(), OneHot(), Confusion(), ConfidentMistakes()
ALL = [q1, q2, q3, q4]
