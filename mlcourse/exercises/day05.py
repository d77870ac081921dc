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
        "Two steps: a Dense layer wants one row of numbers per image, so flatten each 28x28 image "
        "into a row of 784 pixels; and it learns best from small numbers, so scale the pixels from "
        "0-255 to 0-1.",
        "`reshape` flattens: `images.reshape(N, -1)` keeps the first axis (N images) and lets NumPy "
        "work out the other, 28 * 28 = 784. Then divide by 255, the largest pixel value.",
        "Two details. The images are uint8 (whole numbers 0-255): convert them with "
        "`.astype(np.float32)`, the type the frameworks expect (dividing uint8 by 255 alone gives "
        "float64, twice the memory). And keep the images as the rows: `reshape(784, -1)` has the right "
        "size but mixes pixels of different images.",
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
        try:
            raw = call(fn, images.copy(), what="`preprocess`")
        except Wrong as exc:
            if "cannot reshape" in str(exc):
                raise Wrong(f"{str(exc).split(' Run it on')[0]} The check passes {len(images)} images: "
                            "use `len(images)` (or -1) in the reshape, never a fixed number of images.") from None
            raise
        if isinstance(raw, (list, tuple)):
            raise Wrong(f"you returned a {type(raw).__name__}; return a NumPy array "
                        "(`.tolist()` is not needed: keep the array from reshape and `.astype(np.float32)`).")
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
        if set(np.unique(out)) <= {0.0, 1.0} and not set(np.unique(want)) <= {0.0, 1.0}:
            raise Wrong("your values are only 0s and 1s: the fractions were dropped. Whole-number division "
                        "(`//`), or converting to an integer type after dividing, rounds them away: convert "
                        "to float32 first, then divide with `/`.")
        if np.allclose(out, images.transpose(0, 2, 1).reshape(6, -1) / 255.0, atol=1e-6):
            raise Wrong("the pixels of each image are in the wrong order (column by column): you transposed "
                        "the images before flattening. `images.reshape(len(images), -1)` alone keeps them "
                        "row by row.")
        check_close(out, want, "the preprocessed images", rtol=1e-5, atol=1e-6)
        dtype = str(getattr(raw, "dtype", None)).replace("torch.", "")
        if dtype != "float32":
            why = ("half the memory of float64 and" if dtype == "float64" else
                   "enough precision for training (float16 loses digits) and" if dtype == "float16" else "")
            raise Wrong(f"the values are right, but the dtype is {dtype}: use float32 "
                        f"(.astype(np.float32)), {why} what the frameworks expect.".replace(",  what", ", what"))
        dark = (images // 2).astype(np.uint8)           # a dim batch: its brightest pixel is 127, not 255
        out = as_array(call(fn, dark.copy(), what="`preprocess`"), "the preprocessed images")
        if out.shape == (6, 784) and not np.allclose(out, dark.reshape(6, -1) / 255.0, rtol=1e-5, atol=1e-6):
            raise Wrong("right on a batch whose brightest pixel is 255, but not on a dim batch (brightest "
                        "pixel 127): its values should stay below 0.5, yours reach "
                        f"{out.max():.3g}. Divide by 255, the largest *possible* pixel value, not by "
                        "`images.max()` (nor min-max scale): every batch, training or test, must be scaled "
                        "the same way.")
        return "(N, 784) float32 in [0, 1]: ready for a Dense layer."

    def fresh_args(self, rng):
        n = int(rng.integers(1, 10))
        return (rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8),)


class OneHot(Exercise):
    name = "to_one_hot"
    title = "Exercise 2 — one-hot encoding"
    hints = (
        "Row i of the result describes example i: zeros everywhere except a 1 in column labels[i]. "
        "So the result has shape (N, num_classes).",
        "Indexing an array with an array of integers picks whole rows: `A[labels]` has one row per "
        "label, row i being `A[labels[i]]`. Which (num_classes, num_classes) matrix has, as its row k, "
        "exactly the one-hot vector of class k?",
        "The identity matrix, `np.eye(num_classes)`, with dtype float32. Use `num_classes`, never a fixed "
        "10. (Another way: start from zeros of shape (N, num_classes) and assign 1 at rows "
        "`np.arange(N)`, columns `labels`, all at once.)",
    )
    solution_code = """
        def to_one_hot(labels, num_classes):
            return np.eye(num_classes, dtype=np.float32)[labels]
    """

    def reference(self):
        return _ref_one_hot

    def verify(self, fn):
        labels = np.array([3, 0, 9, 1, 1, 4, 11])
        try:
            out = as_array(call(fn, labels.copy(), 12, what="`to_one_hot`"), "the one-hot array")
        except Wrong as exc:
            if "IndexError" in str(exc) and "with size 10" in str(exc):
                raise Wrong("your function made room for 10 classes only (a fixed 10, e.g. `np.eye(10)`?), "
                            "but here num_classes is 12 and the labels go up to 11: use num_classes.") from None
            raise
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
        if not set(np.unique(out)) <= {0.0, 1.0}:
            raise Wrong("a one-hot array holds only 0s and 1s; yours has other values "
                        f"(e.g. {out[~np.isin(out, (0.0, 1.0))].flat[0]:.4g}).")
        if not np.allclose(out.sum(axis=1), 1):
            raise Wrong("every row of a one-hot array has exactly one 1 (and zeros elsewhere); yours do not.")
        if not np.allclose(out, want):
            raise Wrong("each row has a single 1, but not always in the right column: row i must have its 1 "
                        "in column labels[i] (the column number *is* the class).")
        few = np.array([0, 2, 1, 2])                     # classes 3 and 4 do not occur in this batch
        out = as_array(call(fn, few.copy(), 5, what="`to_one_hot`"), "the one-hot array")
        if out.shape == (4, 3):
            raise Wrong("with labels [0, 2, 1, 2] and num_classes=5 you made 3 columns: you counted the "
                        "classes from the labels (e.g. `labels.max() + 1`), but a batch may lack the last "
                        "classes. Use num_classes.")
        try:
            check_close(out, _ref_one_hot(few, 5), "the one-hot array")
        except Wrong as exc:
            raise Wrong(f"right on the check's first example, but not on a second one (labels {few.tolist()}, "
                        f"num_classes=5): {exc} Does your function use its arguments only (not numbers copied "
                        "from an example, nor variables of the notebook)?") from None
        return "one row per example, a single 1 in the column of its class."

    def fresh_args(self, rng):
        num_classes = int(rng.integers(3, 16))
        return rng.integers(0, num_classes, size=int(rng.integers(2, 13))), num_classes


class Confusion(Exercise):
    name = "confusion"
    title = "Exercise 3 — the confusion matrix"
    hints = (
        "The matrix counts pairs: the cell in row t, column p is the number of examples whose true "
        "label is t and whose prediction is p. It is (num_classes, num_classes), of whole numbers.",
        "Start from a square array of zeros (dtype int) and, for every example n, add 1 to the cell "
        "[y_true[n], y_pred[n]]: a plain loop over `zip(y_true, y_pred)` does it.",
        "Without a loop there is a trap: `cm[y_true, y_pred] += 1` adds 1 to each cell *once*, even "
        "when the same (true, predicted) pair occurs many times. `np.add.at(array, indices, value)` "
        "adds for every occurrence; its indices are the tuple (rows, columns).",
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
        if out.ndim == 2 and out.shape[0] == out.shape[1] and out.shape != (4, 4):
            raise Wrong(f"your matrix is {out.shape}, but num_classes is 4: make it "
                        "(num_classes, num_classes), not a fixed size.")
        check_shape(out, (4, 4), "the confusion matrix")
        check_finite(out, "the confusion matrix")
        if not np.allclose(out, np.round(out)):
            raise Wrong("a confusion matrix holds counts, whole numbers; yours has fractions. Did you "
                        "normalise it (divide by the row sums)? Return the counts.")
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
        t, p = np.array([0, 1, 2, 1, 0]), np.array([0, 2, 1, 1, 0])    # class 3 never occurs
        absent = ("with num_classes=4 and a batch where class 3 never occurs, {}: size the matrix with "
                  "num_classes, not with the largest label seen (with np.bincount, pass "
                  "minlength=num_classes ** 2).")
        try:
            out = as_array(call(fn, t.copy(), p.copy(), 4, what="`confusion`"), "the confusion matrix")
        except Wrong as exc:
            if "cannot reshape" in str(exc):
                raise Wrong(absent.format(f"your function crashed ({str(exc).split(' Run it on')[0].rstrip('.')})")) from None
            raise
        if out.shape != (4, 4) and out.size in (9, 16):
            raise Wrong(absent.format(f"your matrix is {out.shape}, not (4, 4)"))
        try:
            check_close(out, _ref_confusion(t, p, 4), "the confusion matrix")
        except Wrong as exc:
            raise Wrong(f"right on the check's first example, but not on a second one (y_true={t.tolist()}, "
                        f"y_pred={p.tolist()}, num_classes=4): {exc} Does your function use its arguments "
                        "only (not numbers copied from an example, nor variables of the notebook)?") from None
        return "rows are true labels, columns predictions; the diagonal holds the correct answers."

    def fresh_args(self, rng):
        num_classes, n = int(rng.integers(2, 7)), int(rng.integers(5, 31))
        return rng.integers(0, num_classes, size=n), rng.integers(0, num_classes, size=n), num_classes


class ConfidentMistakes(Exercise):
    name = "confident_mistakes"
    title = "Exercise 4 — the most confident mistakes"
    hints = (
        "Three steps: find the mistakes (prediction != true label), measure how sure the network was "
        "of each (its largest probability in that row), and sort the mistakes by that, most sure "
        "first; keep the first k. Return row numbers of `probs`, i.e. positions in the whole array.",
        "The tools: `probs.argmax(axis=1)` is each row's prediction and `probs.max(axis=1)` its "
        "confidence; `np.flatnonzero(mask)` lists the positions where a boolean mask is True; "
        "`np.argsort(-c)` orders c from largest to smallest.",
        "The trap is which positions you return. Say `wrong` holds the positions of the mistakes. If "
        "you sort the confidences of the mistakes only (rows `probs[wrong]`), argsort gives positions *in "
        "that list of mistakes* (0 = the first mistake): use them to index `wrong` (`wrong[...]`) to get "
        "back to rows of `probs`.",
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
        out = _call_mistakes(fn, probs, y_true, k)
        _judge_mistakes(out, probs, y_true, k)
        return "these are the images worth looking at first."

    def fresh_args(self, rng):
        n, c, k = int(rng.integers(12, 41)), int(rng.integers(3, 9)), int(rng.integers(1, 6))
        probs = rng.dirichlet(np.full(c, 0.5), size=n)
        pred = probs.argmax(axis=1)
        y_true = pred.copy()
        m = int(rng.integers(k + 1, n - 1))                  # more mistakes than k
        flip = rng.choice(n, size=m, replace=False)
        y_true[flip] = (pred[flip] + rng.integers(1, c, size=m)) % c
        self._fresh = (probs, y_true, k)
        return probs, y_true, k

    def fresh_compare(self, out, want):
        _judge_mistakes(as_array(out, "the indices"), *self._fresh)


def _call_mistakes(fn, probs, y_true, k):
    """Call the learner's function; explain an index of the whole array used on the list of mistakes."""
    wrong = np.flatnonzero(probs.argmax(axis=1) != y_true)
    try:
        return as_array(call(fn, probs, y_true, k, what="`confident_mistakes`"), "the indices")
    except Wrong as exc:
        if "IndexError" in str(exc) and f"with size {len(wrong)}" in str(exc):
            crash = str(exc).split(" Run it on")[0].rstrip(".")
            raise Wrong(f"{crash}. Here {len(wrong)} is the number of mistakes: an array with one entry per "
                        f"mistake (like `wrong`) was indexed with positions in the whole array (0 to "
                        f"{len(y_true) - 1}). Positions from sorting something computed on all rows (such as "
                        "`probs.max(axis=1)`) are rows of `probs`; positions from sorting something computed "
                        "on the mistakes only (such as `probs[wrong]`) index `wrong`. Do not mix the two.") from None
        raise


def _judge_mistakes(out, probs, y_true, k):
    """Compare the learner's indices with the right ones and name the mistake."""
    n = len(y_true)
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    want = _ref_mistakes(probs, y_true, k)
    check_shape(out, (k,), "the indices")
    check_finite(out, "the indices")
    if not np.allclose(out, np.round(out)) or out.min() < 0 or out.max() >= n:
        raise Wrong(f"return the *indices* of the examples (whole numbers from 0 to {n - 1}), "
                    "not their probabilities.")
    idx = np.round(out).astype(int)
    if np.array_equal(idx, want):
        return
    within = np.argsort(-conf[wrong], kind="stable")[:k]          # positions in the list of mistakes
    if np.array_equal(idx, within):
        raise Wrong(f"you returned positions in the list of mistakes ({', '.join(map(str, idx))}: "
                    f"0 means the first of the {len(wrong)} mistakes), not positions in the whole array. "
                    "Use them to index the array of mistake positions, `wrong[order]`, to get the rows "
                    f"of `probs` ({', '.join(map(str, want))}).")
    top_all = np.argsort(-conf, kind="stable")[:k]                # positions in the whole array
    if top_all.max() < len(wrong) and np.array_equal(idx, wrong[top_all]):
        raise Wrong("you indexed the array of mistake positions (`wrong`) with positions in the whole "
                    "array (from sorting `probs.max(axis=1)` of all rows). Sort the confidences of the "
                    "mistakes only, `probs[wrong].max(axis=1)`, and index `wrong` with that order.")
    if np.any(pred[idx] == y_true[idx]):
        raise Wrong("some of your examples are classified correctly: keep only the mistakes "
                    "(pred != y_true) before sorting by confidence.")
    ranked = wrong[np.argsort(-conf[wrong], kind="stable")]
    if len(idx) == k and np.array_equal(idx, wrong[:k]) and not set(idx) == set(want):
        raise Wrong("these are the first k mistakes in the order of the array: sort the mistakes by "
                    "confidence (probs.max(axis=1)), most confident first, before keeping k.")
    if len(ranked) > k and np.array_equal(idx, ranked[1:k + 1]):
        raise Wrong("you skipped the most confident mistake: Python counts from 0, so `[:k]` (or "
                    "`[0:k]`) keeps the first k, while `[1:k + 1]` starts at the second.")
    least = wrong[np.argsort(conf[wrong], kind="stable")][:k]
    if np.array_equal(idx, least):
        raise Wrong("these are the *least* confident mistakes: sort by confidence in decreasing order "
                    "(np.argsort(-confidence)).")
    if set(idx) == set(want):
        raise Wrong("the right examples, but in the wrong order: the most confident mistake comes first "
                    "(order them by probs.max(axis=1), decreasing).")
    raise Wrong("not the right examples yet: the confidence of a prediction is its largest "
                "probability, probs.max(axis=1) (the probability of the *predicted* class).")




# --------------------------------------------------------------------------- Exercise 5

_README = "README.txt"                        # a stray file next to the class folders, as real folders have
_WORDS = ("ant", "bee", "cat", "cow", "dog", "eel", "elk", "fox", "gnu", "hen", "owl", "pig", "ram", "yak")


def _write_folder(records):
    """Write ``records`` ((class name, (H, W) uint8 image) pairs) as root/<class>/imgNNN.png; return the folder.

    The folder is a :class:`tempfile.TemporaryDirectory`: removed when it is garbage-collected or at exit.
    """
    import tempfile
    from pathlib import Path

    from PIL import Image

    tmp = tempfile.TemporaryDirectory(prefix="mlcourse_day05_")
    root = Path(tmp.name)
    for i, (name, img) in enumerate(records):
        (root / name).mkdir(exist_ok=True)
        Image.fromarray(img).save(root / name / f"img{i:03d}.png")
    (root / _README).write_text("A folder of images, one sub-folder per class.\n")
    return tmp


class _ReversedScan:
    """What ``os.scandir`` returns (an iterator and a context manager), with the entries in reverse name order."""

    def __init__(self, real, *args, **kwargs):
        with real(*args, **kwargs) as entries:
            self._it = iter(sorted(entries, key=lambda e: e.name, reverse=True))

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass


def _listings_reversed():
    """During a check, list folders in reverse name order (``os.listdir``, ``os.scandir``, ``glob``, ``pathlib``).

    File systems promise no order for a listing (ext4, for one, lists in the order of a hash of the names), so an
    answer that forgets to sort may pass by luck on one machine and give other labels on the next.
    Reversing the listing makes that mistake show on every machine.
    """
    import contextlib
    import glob
    import os

    @contextlib.contextmanager
    def patched():
        real_listdir, real_scandir = os.listdir, os.scandir
        globbers = [c for c in (getattr(glob, n, None) for n in ("_Globber", "_StringGlobber"))
                    if c is not None and isinstance(vars(c).get("scandir"), staticmethod)
                    and vars(c)["scandir"].__func__ is real_scandir]   # Path.glob of Python 3.13 keeps os.scandir
        saved = [(c, vars(c)["scandir"]) for c in globbers]
        os.listdir = lambda *args, **kwargs: sorted(real_listdir(*args, **kwargs), reverse=True)
        os.scandir = lambda *args, **kwargs: _ReversedScan(real_scandir, *args, **kwargs)
        for c in globbers:
            c.scandir = staticmethod(lambda *args, **kwargs: _ReversedScan(real_scandir, *args, **kwargs))
        try:
            yield
        finally:
            os.listdir, os.scandir = real_listdir, real_scandir
            for c, original in saved:
                c.scandir = original

    return patched()


class LoadImageFolder(Exercise):
    name = "load_image_folder"
    title = "Exercise 5 — load a folder of images, one sub-folder per class"
    hints = (
        "Three steps. The class names are the names of the sub-folders of root, sorted alphabetically "
        "(only folders: a README.txt may lie next to them); a class's label is its position in that "
        "sorted list. Then read every image file of every class folder, and finally stack and scale "
        "the images as in Exercise 1.",
        "Tools: `os.listdir(path)` names what a folder holds, in an order the file system chooses, so "
        "wrap it in `sorted(...)`; `os.path.isdir(os.path.join(root, d))` tells folders from files; "
        "`np.array(Image.open(path))` reads one grayscale PNG as an (H, W) uint8 array.",
        "Loop over `enumerate(class_names)` to get each label k with its name, and over the files of "
        "that folder; collect the arrays in one Python list and k in another. After the loops, "
        "`np.stack` turns the list of (H, W) arrays into one (N, H, W) array: convert it to float32 "
        "and divide by 255; turn the labels into an integer array with `np.array`.",
    )
    solution_code = """
        import os
        from PIL import Image

        def load_image_folder(root):
            class_names = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
            images, labels = [], []
            for k, name in enumerate(class_names):
                folder = os.path.join(root, name)
                for file in sorted(os.listdir(folder)):
                    images.append(np.array(Image.open(os.path.join(folder, file))))
                    labels.append(k)
            images = np.stack(images).astype(np.float32) / 255.0
            return images, np.array(labels), class_names
    """

    def __init__(self):
        super().__init__()
        self._folders = []

    def reference(self):
        return self.solution_function()

    def evaluate(self, *args):
        import os

        cwd = os.getcwd()
        moved = False
        try:
            with _listings_reversed():
                result = super().evaluate(*args)
        finally:
            try:
                moved = os.getcwd() != cwd
            except FileNotFoundError:                 # the learner's function went into a folder now deleted
                moved = True
            if moved:
                os.chdir(cwd)
            for tmp in self._folders:
                tmp.cleanup()
            self._folders.clear()
        if moved:
            result.message += ("\nNote: your function changes the working directory (`os.chdir`); the check "
                               "changed it back, since its test folders are deleted afterwards. Build the "
                               "paths instead, `os.path.join(root, name, file)`, so that the rest of the "
                               "notebook keeps working in its own folder.")
        return result

    def _folder(self, records):
        tmp = _write_folder(records)
        self._folders.append(tmp)
        return tmp.name

    def verify(self, fn):
        rng = np.random.default_rng(2505)
        records = []
        for name, count in (("bird", 3), ("cat", 1), ("dog", 2), ("fish", 4)):
            for _ in range(count):
                records.append((name, rng.integers(0, 251, size=(6, 8)).astype(np.uint8)))
        records[3] = ("cat", rng.integers(0, 91, size=(6, 8)).astype(np.uint8))   # a dim image
        root = self._folder(records)
        _judge_folder(_call_folder(fn, root), records)
        return "(N, H, W) float32 in [0, 1], integer labels, and the sorted class names: ready to train."

    def fresh_args(self, rng):
        names = [str(w) for w in rng.choice(_WORDS, size=int(rng.integers(2, 5)), replace=False)]
        h, w = (int(v) for v in rng.integers(3, 8, size=2))
        records = [(name, rng.integers(0, 256, size=(h, w)).astype(np.uint8))
                   for name in names for _ in range(int(rng.integers(1, 4)))]
        self._fresh = records
        return (self._folder(records),)

    def fresh_compare(self, out, want):
        _judge_folder(out, self._fresh)


def _call_folder(fn, root):
    """Call the learner's loader; explain the crashes that come from the folder's layout."""
    try:
        return call(fn, root, what="`load_image_folder`")
    except Wrong as exc:
        msg = str(exc)
        crash = msg.split(" Run it on")[0].rstrip(".")
        if _README in msg:
            raise Wrong(f"{crash}. The folder holds a file, {_README}, next to the class folders (real "
                        "folders often do: a README, a LICENSE, macOS's .DS_Store), and your function "
                        "treated it as a class folder. Keep only the sub-folders: "
                        "`os.path.isdir(os.path.join(root, d))` (or `p.is_dir()`).") from None
        if "invalid literal for int()" in msg:
            raise Wrong(f"{crash}. The folder names are class *names* (words here), not numbers: the label "
                        "of an image is the position of its folder's name in the sorted class_names "
                        "(0 for the first), not `int(name)`.") from None
        if "'NoneType' object is not iterable" in msg:
            raise Wrong(f"{crash}. A common cause here: `names.sort()` sorts the list in place and returns "
                        "None, so `names = os.listdir(root).sort()` leaves `names = None`. Write "
                        "`names = sorted(...)`, or call `names.sort()` on a line of its own.") from None
        if "IsADirectoryError" in msg:
            raise Wrong(f"{crash}. You opened a folder as if it were an image: list the files *inside* "
                        "each class folder and open those.") from None
        raise


def _judge_folder(out, records):
    """Compare a loader's result with the folder written from ``records``; name the mistake."""
    import os

    names = sorted({name for name, _ in records})
    n, (h, w) = len(records), records[0][1].shape
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        got = f"{len(out)} values" if isinstance(out, (tuple, list)) else f"a {type(out).__name__}"
        raise Wrong(f"return three things, `return images, labels, class_names`; you returned {got}.")
    images, labels, class_names = out
    # -- the class names
    if isinstance(class_names, np.ndarray):
        class_names = class_names.tolist()
    if isinstance(class_names, (str, bytes)) or not isinstance(class_names, (list, tuple)):
        raise Wrong(f"class_names should be a list of the folder names, like {names}; "
                    f"yours is a {type(class_names).__name__}.")
    if any(isinstance(c, os.PathLike) for c in class_names):
        raise Wrong("class_names holds Path objects: return the folder *names* as text "
                    f"(`p.name`), like {names}.")
    class_names = [str(c) for c in class_names]
    if any("/" in c or os.sep in c for c in class_names):
        raise Wrong("class_names holds whole paths: keep only each folder's name "
                    f"(`os.path.basename(path)` or `p.name`), like {names}.")
    if _README in class_names:
        raise Wrong(f"class_names contains {_README!r}, a file that lies next to the class folders (real "
                    "folders often hold a README, a LICENSE or macOS's .DS_Store): keep only the "
                    "sub-folders, `os.path.isdir(os.path.join(root, d))` (or `p.is_dir()`).")
    if sorted(class_names) == names and class_names != names:
        raise Wrong(f"your class_names are {class_names}: the order in which the folders were listed "
                    "(or in which a `set` keeps them: a set has no order either). "
                    "`os.listdir`, `Path.iterdir` and `glob` promise no order (it depends on the file "
                    "system; this check lists in reverse on purpose), so the same folder would get other "
                    "labels on another computer. Sort the names: label k means `class_names[k]` of the "
                    "alphabetically sorted folder names, as in Keras' `image_dataset_from_directory`.")
    if class_names != names:
        raise Wrong(f"class_names should be the names of the sub-folders of root, sorted: {names}; "
                    f"yours are {class_names}.")
    # -- the images
    if isinstance(images, (list, tuple)):
        raise Wrong(f"the images are a {type(images).__name__} of {len(images)} arrays: stack them into one "
                    f"array of shape (N, H, W) = {(n, h, w)} with `np.stack(images)`, the form a network "
                    "(and indexing like `images[labels == 0]`) needs.")
    dtype = str(getattr(images, "dtype", None)).replace("torch.", "")
    arr = as_array(images, "the images")
    if arr.ndim == 4 and arr.shape[:3] == (n, h, w):
        raise Wrong(f"the images have shape {arr.shape}, with a colour axis: these PNGs are grayscale, "
                    f"one number per pixel, so keep (N, H, W) = {(n, h, w)}. Read them with "
                    "`np.array(Image.open(path))` (add `.convert('L')` if a file is in colour).")
    if arr.ndim == 3 and arr.shape == (n, w, h) and h != w:
        raise Wrong(f"the images have shape {arr.shape}: height and width are swapped. PIL gives an "
                    f"image's size as (width, height) = {(w, h)}; NumPy's shape is (rows, columns) = "
                    f"(height, width) = {(h, w)}. `np.array(Image.open(path))` gets it right: do not "
                    "reshape with `img.size`.")
    if arr.ndim in (3, 4) and arr.shape[0] == n and arr.shape[1:3] != (h, w):
        raise Wrong(f"the images have shape {arr.shape}, but the files are {h} × {w} pixels (height × "
                    f"width): keep each file's own size, (N, H, W) = {(n, h, w)}. Did you resize them "
                    "(`.resize(...)`, or `image_dataset_from_directory`, which resizes to "
                    "`image_size=(256, 256)` unless told otherwise)?")
    if arr.shape == (n, h * w):
        raise Wrong(f"the images are flattened, {arr.shape}: a loader returns (N, H, W) = {(n, h, w)}; "
                    "flattening belongs to the preparation for a dense layer (Exercise 1).")
    if arr.ndim == 3 and arr.shape[0] != n and arr.shape[1:] == (h, w):
        raise Wrong(f"{arr.shape[0]} images, but the class folders hold {n} image files in all: read every "
                    "file of every class folder, once.")
    check_shape(arr, (n, h, w), "the images")
    check_finite(arr, "the images")
    if dtype == "uint8":
        raise Wrong("the images are still uint8, whole numbers 0-255, as read from the files: convert "
                    "them to float32 and divide by 255 (as in Exercise 1).")
    if arr.max() > 1.0 + 1e-6:
        raise Wrong(f"the values go up to {arr.max():g}: the pixels are not scaled yet. Divide by 255 to "
                    "bring them into [0, 1].")
    ref = np.stack([img for _, img in records]).astype(np.float64) / 255.0
    dist = np.abs(arr.reshape(n, 1, -1) - ref.reshape(1, n, -1)).max(axis=2)      # (learner, file)
    match = dist.argmin(axis=1)
    if not np.all(dist[np.arange(n), match] < 1e-4):
        if np.allclose(arr, ref / 255.0, atol=1e-6):
            raise Wrong("your values are at most 1/255: they were divided by 255 twice. (`plt.imread` "
                        "already returns a PNG's pixels as floats in [0, 1].)")
        if np.allclose(arr.reshape(n, -1).max(axis=1), 1.0) and not np.allclose(ref.reshape(n, -1).max(axis=1), 1.0):
            raise Wrong("every image reaches exactly 1: you divided each image by its own brightest pixel. "
                        "Divide every image by 255, the largest *possible* pixel value, so that a dim image "
                        "stays dim and all images are scaled the same way.")
        if np.isclose(arr.max(), 1.0) and ref.max() < 1.0:
            raise Wrong(f"your values reach 1.0, but the brightest pixel in these files is "
                        f"{round(ref.max() * 255)}, not 255: divide by 255, not by `images.max()`.")
        raise Wrong("some of your images match none of the files: each image should be the file's "
                    "pixels divided by 255, in the file's own rows and columns.")
    if len(set(match.tolist())) != n:
        raise Wrong("some files appear twice among your images and others not at all: read each file of "
                    "each class folder exactly once.")
    if dtype != "float32":
        raise Wrong(f"the values are right, but the dtype is {dtype}: use float32 (`.astype(np.float32)` "
                    "before dividing), as in Exercise 1: half the memory of float64, and what the "
                    "frameworks expect.")
    # -- the labels
    lab = np.asarray(labels)
    if lab.dtype.kind in "USO" and lab.size and isinstance(lab.flat[0], str):
        raise Wrong(f"your labels are text ({str(lab.flat[0])!r}, ...), the folder names. A network needs "
                    "integers: the label of an image is the position of its folder's name in "
                    f"class_names (0 for {names[0]!r}, 1 for {names[1]!r}, ...).")
    lab = as_array(labels, "the labels")
    check_shape(lab, (n,), "the labels")
    check_finite(lab, "the labels")
    if np.asarray(labels).dtype.kind not in "iu":
        raise Wrong(f"the labels have dtype {np.asarray(labels).dtype}: use integers (e.g. "
                    "`np.array(labels)` of Python ints), which one-hot encoding and "
                    "SparseCategoricalCrossentropy index with.")
    want = np.array([names.index(records[j][0]) for j in match])
    if np.array_equal(lab, want):
        return
    if np.array_equal(lab, want + 1):
        raise Wrong("your labels start at 1: the first class gets label 0 (`enumerate` counts from 0), so "
                    "that label k means class_names[k].")
    listed = sorted(names, reverse=True)                  # the order this check lists the folders in
    if np.array_equal(lab, [listed.index(records[j][0]) for j in match]):
        raise Wrong("class_names is sorted, but the labels were numbered in the order the folders were "
                    "listed (which this check reverses on purpose): number them in the sorted order, so "
                    "that label k means class_names[k].")
    i = int(np.flatnonzero(lab != want)[0])
    got = f"class_names[{int(lab[i])}] = {names[int(lab[i])]!r}" if 0 <= lab[i] < len(names) else "no class"
    raise Wrong(f"some labels do not match their folder: image {i} comes from the folder "
                f"{records[match[i]][0]!r}, but its label {int(lab[i])} names {got}. The label of an "
                f"image is the position of its folder's name in class_names.")


q1, q2, q3, q4, q5 = Preprocess(), OneHot(), Confusion(), ConfidentMistakes(), LoadImageFolder()
ALL = [q1, q2, q3, q4, q5]
