"""Exercises of Day 02 -- how deep learning works (layers, softmax, normalisation, parameters, shapes)."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(2)
_X = _rng.normal(size=(5, 3))
_W = _rng.normal(size=(3, 4))
_B = _rng.normal(size=4)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax_rows(Z: np.ndarray) -> np.ndarray:
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _pair(out, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Unpack an answer that must be a pair of arrays, explaining what went wrong if not."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = (f"{len(out)} values" if isinstance(out, (tuple, list))
               else f"a {type(out).__name__}")
        raise Wrong(f"{what} should return a pair `(train_z, test_z)`, "
                    f"but it returned {got}.")
    return as_array(out[0], "train_z"), as_array(out[1], "test_z")


class DenseForward(Exercise):
    name = "dense_forward"
    title = "Exercise 1 — a dense layer, forward"
    hints = (
        "Every row of X is one example. For every example and every neuron, a dense layer takes a "
        "weighted sum of the inputs, adds that neuron's bias, then applies the activation (tanh here).",
        "One matrix product does all the weighted sums at once: `X @ W` has shape (N, d_out). The bias "
        "`b`, of shape (d_out,), broadcasts over the rows when you add it.",
        "Apply `np.tanh` to the whole sum, bias included, not to `X @ W` alone. Check the shapes: "
        "(N, d_in) @ (d_in, d_out) gives (N, d_out): the inner sizes (d_in) must match, so X comes first.",
    )
    solution_code = """
        def dense_forward(X, W, b):
            return np.tanh(X @ W + b)
    """

    def reference(self):
        return lambda X, W, b: np.tanh(X @ W + b)

    def verify(self, fn):
        out = as_array(call(fn, _X.copy(), _W.copy(), _B.copy(), what="`dense_forward`"),
                       "the output of the layer")
        check_shape(out, (5, 4), "the output of the layer")
        check_finite(out, "the output of the layer")
        if np.allclose(out, _X @ _W + _B):
            raise Wrong("you forgot the activation: apply `np.tanh` to `X @ W + b`.")
        if np.allclose(out, np.tanh(_X @ _W)):
            raise Wrong("you forgot the bias `b`: the layer computes tanh(X @ W + b).")
        if np.allclose(out, np.tanh(_X @ _W) + _B):
            raise Wrong("you added the bias after the activation: it belongs inside, to the weighted "
                        "sum, `tanh(X @ W + b)`.")
        if np.allclose(out, _sigmoid(_X @ _W + _B)):
            raise Wrong("that is a sigmoid layer; this one uses tanh (`np.tanh`).")
        check_close(out, np.tanh(_X @ _W + _B), "the output of the layer")
        return "one row per example, one column per neuron: (N, d_in) @ (d_in, d_out) -> (N, d_out)."

    def fresh_args(self, rng):
        n, d_in, d_out = int(rng.integers(6, 12)), int(rng.integers(4, 8)), int(rng.integers(2, 4))
        return (rng.normal(size=(n, d_in)), rng.normal(scale=0.7, size=(d_in, d_out)),
                rng.normal(size=d_out))

    def fresh_compare(self, out, want):
        check_close(out, want, "the output of the layer")


class SoftmaxRows(Exercise):
    name = "softmax_rows"
    title = "Exercise 2 — softmax of every row, without overflow"
    hints = (
        "For one row z, the softmax is exp(z) / sum(exp(z)). For the whole array at once: "
        "exponentiate every logit, then divide each row by its own sum.",
        "Sum each row with `axis=1, keepdims=True`: the sums then have shape (N, 1), and the "
        "division broadcasts row by row.",
        "Against overflow: the softmax does not change if you subtract the same number from every "
        "logit of a row. Subtract each row's own maximum, `Z.max(axis=1, keepdims=True)`, before "
        "`np.exp`: the largest exponential of each row is then exp(0) = 1.",
    )
    solution_code = """
        def softmax_rows(Z):
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            return E / E.sum(axis=1, keepdims=True)
    """

    def reference(self):
        return _softmax_rows

    def verify(self, fn):
        Z = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0], [-1.0, 3.0, 0.5], [5.0, -2.0, 1.0]])
        out = as_array(call(fn, Z.copy(), what="`softmax_rows`"), "the softmax")
        check_shape(out, Z.shape, "the softmax")
        check_finite(out, "the softmax")
        e = np.exp(Z)
        if np.allclose(out, e / e.sum(axis=0, keepdims=True)):
            raise Wrong("you normalised the columns: each *row* must sum to 1. Sum with `axis=1, keepdims=True`.")
        if np.allclose(out, e / e.sum()):
            raise Wrong("you divided by the sum of the whole array: divide each row by its own sum "
                        "(`axis=1, keepdims=True`).")
        check_close(out, _softmax_rows(Z), "the softmax")
        big = Z + 1000.0
        out_big = as_array(call(fn, big.copy(), what="`softmax_rows`"), "the softmax of large logits")
        if out_big.shape == big.shape and not np.isfinite(out_big).all():
            raise Wrong("for logits around 1000 your softmax returns NaN: exp(1000) overflows to "
                        "infinity and inf/inf is NaN. Subtract each row's maximum before `np.exp`.")
        check_close(out_big, _softmax_rows(big), "the softmax of large logits")
        # Rows whose logits lie far apart, each in its own range: only a shift by each row's own
        # maximum survives (the global max, the row minimum, the mean or the first column do not).
        apart = np.array([[0.0, 2000.0], [-2000.0, 0.0]])
        out_apart = as_array(call(fn, apart.copy(), what="`softmax_rows`"), "the softmax")
        if out_apart.shape == apart.shape and not np.allclose(out_apart, [[0.0, 1.0], [0.0, 1.0]], atol=1e-6):
            got = "[" + ", ".join("[" + ", ".join(f"{v:.3g}" for v in row) + "]" for row in out_apart) + "]"
            raise Wrong(f"for the rows [0, 2000] and [-2000, 0] your softmax gives {got} instead of "
                        "[[0, 1], [0, 1]]: some exp "
                        "overflowed (inf/inf) or every exp of a row underflowed (0/0). Subtract *each row's "
                        "own* maximum, `Z.max(axis=1, keepdims=True)`: not the maximum of the whole array, "
                        "not the minimum, not the mean.")
        return "every row sums to 1, and shifting by the max keeps exp from overflowing."

    def fresh_args(self, rng):
        n, k = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        return (rng.normal(scale=3.0, size=(n, k)) + rng.normal(scale=5.0, size=(n, 1)),)

    def fresh_compare(self, out, want):
        check_close(out, want, "the softmax")


class Standardize(Exercise):
    name = "standardize"
    title = "Exercise 3 — z-score with training statistics"
    hints = (
        "A z-score subtracts a column's mean and divides by its standard deviation. Both statistics "
        "come from the training set only, and the test set is scaled with those same numbers.",
        "`train.mean(axis=0)` and `train.std(axis=0)` give one number per column (axis=0 runs down "
        "the rows); subtracting and dividing by them broadcasts over the rows.",
        "Compute mu and sigma once, from `train`, and use them for *both* arrays (never "
        "`test.mean(...)`). Keep NumPy's default `ddof=0`, the population std that divides by N, and "
        "return a pair `(train_z, test_z)`.",
    )
    solution_code = """
        def standardize(train, test):
            mu, sigma = train.mean(axis=0), train.std(axis=0)
            return (train - mu) / sigma, (test - mu) / sigma
    """

    _DDOF = ("you divided by the sample standard deviation, which divides by N-1: "
             "`np.std(..., ddof=1)` divides by N-1 (and so do pandas' `.std()` and torch's `.std()` "
             "by default). The z-score of the course uses the population std, ddof=0 (np.std's "
             "default, dividing by N), like scikit-learn's StandardScaler.")

    def reference(self):
        def standardize(train, test):
            mu, sigma = train.mean(axis=0), train.std(axis=0)
            return (train - mu) / sigma, (test - mu) / sigma
        return standardize

    def _judge(self, train, test, tr, te):
        """Compare a pair (train_z, test_z) with the reference on ``train`` and ``test``."""
        if tr.shape == test.shape and te.shape == train.shape and train.shape != test.shape:
            raise Wrong(f"train_z has the shape of `test` {test.shape} and test_z that of `train` "
                        f"{train.shape}: return the pair in the order `(train_z, test_z)`.")
        check_shape(tr, train.shape, "train_z")
        check_shape(te, test.shape, "test_z")
        check_finite(tr, "train_z")
        check_finite(te, "test_z")
        mu, sigma = train.mean(axis=0), train.std(axis=0)
        if np.allclose(tr, (train - train.mean(1, keepdims=True)) / train.std(1, keepdims=True)):
            raise Wrong("you standardised each *row* (axis=1): the statistics belong to each column "
                        "(feature), so use `axis=0`.")
        lo, hi = train.min(axis=0), train.max(axis=0)
        if np.allclose(tr, (train - lo) / (hi - lo)):
            raise Wrong("that is min-max scaling; the z-score subtracts the mean and divides by the standard deviation.")
        if np.allclose(tr, (train - train.mean()) / train.std()):
            raise Wrong("you used one mean and one standard deviation for the whole array: every "
                        "column (feature) needs its own, so compute them with `axis=0`.")
        if np.allclose(tr, train - mu):
            raise Wrong("train_z is only centred: after subtracting the mean, also divide by the "
                        "standard deviation of each column.")
        if np.allclose(tr, (train - mu) / sigma ** 2):
            raise Wrong("you divided by the variance: divide by the standard deviation, its square "
                        "root (`std`, not `var`).")
        if np.allclose(tr, train - mu / sigma):
            raise Wrong("`train - mu / sigma` divides only mu by sigma: `/` is done before `-`. Put "
                        "brackets around the difference, `(train - mu) / sigma`.")
        both = np.concatenate([train, test])
        if np.allclose(tr, (train - both.mean(0)) / both.std(0)):
            raise Wrong("your statistics come from train and test together: the test set must not "
                        "influence them (that leaks test information). Compute mu and sigma from `train` only.")
        sample = train.std(axis=0, ddof=1)
        if np.allclose(tr, (train - mu) / sample):
            raise Wrong("train_z: " + self._DDOF)
        check_close(tr, (train - mu) / sigma, "train_z")
        if np.allclose(te, (test - test.mean(0)) / test.std(0)) or \
                np.allclose(te, (test - test.mean(0)) / test.std(0, ddof=1)):
            raise Wrong("test_z uses the test set's own mean and standard deviation. New data must be "
                        "scaled with the *training* statistics, exactly like the data the model learned from.")
        if np.allclose(te, test - mu):
            raise Wrong("test_z is only centred: divide it by the training standard deviation too, "
                        "`(test - mu) / sigma`.")
        if np.allclose(te, test):
            raise Wrong("test_z is the test set unchanged: scale it with the training statistics, "
                        "`(test - mu) / sigma`. (If you changed `train` in place first, e.g. `train -= mu`, "
                        "statistics computed afterwards are those of the already scaled array.)")
        if np.allclose(te, test - mu / sigma):
            raise Wrong("`test - mu / sigma` divides only mu by sigma: `/` is done before `-`. Put "
                        "brackets around the difference, `(test - mu) / sigma`.")
        if np.allclose(te, (test - mu) / sample):
            raise Wrong("test_z: " + self._DDOF)
        check_close(te, (test - mu) / sigma, "test_z")

    def verify(self, fn):
        rng = np.random.default_rng(3)
        scale, shift = np.array([1.0, 100.0, 0.01]), np.array([5.0, -200.0, 0.3])
        train = rng.normal(size=(40, 3)) * scale + shift
        test = rng.normal(size=(10, 3)) * scale * 1.5 + shift + scale
        tr, te = _pair(call(fn, train.copy(), test.copy(), what="`standardize`"), "`standardize`")
        self._judge(train, test, tr, te)
        return "training columns now have mean 0 and std 1, and the test set is scaled the same way."

    def fresh_args(self, rng):
        d = int(rng.integers(2, 6))
        scale = 10.0 ** rng.uniform(-2, 2, size=d)      # columns of very different sizes,
        shift = scale * rng.uniform(-5, 5, size=d)       # each offset a few of its own stds (a float32
                                                         # answer loses no more digits than on the example)
        n_train, n_test = int(rng.integers(15, 35)), int(rng.integers(4, 9))
        train = rng.normal(size=(n_train, d)) * scale + shift
        return train, rng.normal(size=(n_test, d)) * scale * 1.5 + shift + scale

    def fresh_compare(self, out, want):
        tr, te = _pair(out, "`standardize`")
        check_close(tr, want[0], "train_z")
        check_close(te, want[1], "test_z")


class CountParams(Exercise):
    name = "count_params"
    title = "Exercise 4 — counting a network's parameters"
    hints = (
        "Only the connections between consecutive layers have parameters. A dense layer from `a` "
        "neurons to `c` neurons has a weight matrix of a × c numbers, plus c biases (one per neuron it feeds).",
        "Walk over the consecutive pairs of layer sizes: `zip(sizes[:-1], sizes[1:])` gives the pairs "
        "(a, c) = (2, 4), (4, 4), (4, 1) for [2, 4, 4, 1]. Add up the parameters of every pair.",
        "The input layer has no biases (its neurons are just the input values). Check by hand: for "
        "[2, 4, 4, 1] you should get (2·4 + 4) + (4·4 + 4) + (4·1 + 1) = 37.",
    )
    solution_code = """
        def count_params(sizes):
            return sum(a * c + c for a, c in zip(sizes[:-1], sizes[1:]))
    """

    def reference(self):
        return lambda sizes: sum(a * c + c for a, c in zip(sizes[:-1], sizes[1:]))

    def verify(self, fn):
        cases = [[2, 4, 4, 1], [784, 128, 10], [5, 3], [10, 20, 30, 40, 5]]
        for sizes in cases:
            got = as_array(call(fn, list(sizes), what="`count_params`"), f"count_params({sizes})")
            check_shape(got, (), f"count_params({sizes})")
            check_finite(got, f"count_params({sizes})")
            want = sum(a * c + c for a, c in zip(sizes[:-1], sizes[1:]))
            weights = sum(a * c for a, c in zip(sizes[:-1], sizes[1:]))
            if np.isclose(got, weights):
                raise Wrong(f"count_params({sizes}) gave {int(got)}: that counts the weights only. "
                            "Every neuron after the input layer also has a bias.")
            if np.isclose(got, sum(sizes)) or np.isclose(got, sum(sizes[1:])):
                raise Wrong(f"count_params({sizes}) gave {int(got)}: that counts neurons, not parameters. "
                            "Count one weight per connection plus one bias per non-input neuron.")
            if np.isclose(got, weights + sum(sizes[:-1])):
                raise Wrong(f"count_params({sizes}) gave {int(got)}: that gives each layer as many biases "
                            "as the layer *before* it has neurons. A bias belongs to each neuron that "
                            "receives the weighted sum: a layer from a to c neurons has c biases.")
            pairs = [a * c + c for a, c in zip(sizes[:-1], sizes[1:])]
            if len(pairs) > 1 and np.isclose(got, pairs[0]):
                raise Wrong(f"count_params({sizes}) gave {int(got)}: the parameters of the first layer only. "
                            "Is your `return` inside the loop? It must come after the loop, once every "
                            "layer is added up.")
            if len(pairs) > 1 and np.isclose(got, pairs[-1]):
                raise Wrong(f"count_params({sizes}) gave {int(got)}: the parameters of the last layer only. "
                            "Add each layer to a running total (`total += ...`) instead of replacing it "
                            "(`total = ...`).")
            if len(pairs) > 1 and np.isclose(got, sum(pairs[:-1])) and np.isclose(
                    as_array(call(fn, [3, 5, 2], what="`count_params`")).ravel()[:1].sum(), 20):  # not a coincidence
                raise Wrong(f"count_params({sizes}) gave {int(got)}: the last layer is missing. For n layer "
                            "sizes there are n - 1 pairs: loop over `range(len(sizes) - 1)` (or "
                            "`zip(sizes[:-1], sizes[1:])`).")
            if np.isclose(got, weights + sum(sizes)):
                raise Wrong(f"count_params({sizes}) gave {int(got)}: the input layer has no biases "
                            "(its neurons are just the input values).")
            check_close(got, want, f"count_params({sizes})")
        return "count_params([784, 128, 10]) = 101,770: most parameters sit in the first layer."

    def fresh_args(self, rng):
        sizes = [int(v) for v in rng.integers(1, 300, size=int(rng.integers(2, 7)))]
        self._sizes = list(sizes)           # for the message (the function might change its list)
        return (sizes,)

    def fresh_compare(self, out, want):
        check_close(out, want, f"count_params({self._sizes})")


class _Raised(NamedTuple):
    """What the learner's function raised (instead of returning), for the checks below."""

    kind: str
    message: str


_LETTERS = "NHWC"
_TARGET = (0, 3, 1, 2)                      # (N, H, W, C) -> (N, C, H, W)


def _axes(perm) -> str:
    return "(" + ", ".join(_LETTERS[p] for p in perm) + ")"


class ChannelsFirst(Exercise):
    name = "to_channels_first"
    title = "Exercise 5 — channels last to channels first, with an assert"
    hints = (
        "Nothing about the pixels changes, only the order of the axes: the batch axis stays first "
        "and the channel axis, now last (position 3), must move to position 1, in front of height and width.",
        "Moving axes is a transpose with an explicit order: `np.transpose(a, order)` puts axis "
        "`order[k]` of `a` at position k. Write down the source position of N, C, H and W. "
        "(A reshape would keep the right shape but scramble the pixels.)",
        "Before transposing, check the input: a batch has exactly 4 axes, so `images.ndim` must be 4. "
        "Write an `assert` on that with an f-string message after the comma that prints "
        "`images.shape`, so a single image (H, W, C) stops with a message saying what came in.",
    )
    solution_code = """
        def to_channels_first(images):
            assert images.ndim == 4, f"expected a batch (N, H, W, C), got shape {images.shape}"
            return np.transpose(images, (0, 3, 1, 2))
    """

    def reference(self):
        def to_channels_first(images):
            assert images.ndim == 4, f"expected a batch (N, H, W, C), got shape {images.shape}"
            return np.transpose(images, _TARGET)
        return to_channels_first

    @staticmethod
    def _probe(fn, catch_all: bool):
        """``fn`` that returns a :class:`_Raised` instead of raising an AssertionError (or anything)."""
        def probe(images):
            try:
                return fn(images)
            except NotImplementedError:
                raise
            except AssertionError as exc:
                return _Raised("AssertionError", str(exc))
            except Exception as exc:
                if not catch_all:
                    raise
                return _Raised(type(exc).__name__, str(exc))
        return probe

    def _judge_batch(self, x: np.ndarray, out) -> None:
        """Name the mistake of ``out``, the answer's result on the batch ``x`` (N, H, W, C)."""
        n, h, w, c = x.shape
        target = (n, c, h, w)
        if isinstance(out, _Raised):
            raise Wrong(f"your own assert stopped a correct batch of shape {x.shape} (N, H, W, C)"
                        f"{': ' + repr(out.message) if out.message else ''}. Check its condition: a "
                        "batch of images has 4 axes, so the test is on `images.ndim == 4`.")
        if hasattr(out, "shape") and not hasattr(out, "detach") and not isinstance(out, np.ndarray):
            out = np.asarray(out)
        arr = as_array(out, "the result")
        if arr.shape == x.shape and np.array_equal(arr, x):
            raise Wrong(f"your function returns the batch unchanged, shape {x.shape} = (N, H, W, C): the "
                        f"channel axis must move to position 1, giving (N, C, H, W) = {target}.")
        if arr.shape == target and np.array_equal(arr.ravel(), x.ravel()):
            moved = float(np.mean(arr != np.transpose(x, _TARGET)))
            raise Wrong(f"the shape {target} is right, but the pixels are scrambled ({moved:.0%} of the "
                        "values sit in the wrong place): `reshape` keeps the numbers in their memory order "
                        "and only cuts them up differently, so channel 0 of the result is not the red "
                        "channel. To *move* an axis use `np.transpose(images, (0, 3, 1, 2))` (or "
                        "`.permute(0, 3, 1, 2)` on a torch tensor).")
        if arr.size == x.size and arr.shape != x.shape and np.array_equal(arr.ravel(), x.ravel()):
            raise Wrong(f"your result has shape {arr.shape}, but its numbers are still in the input's order: "
                        "a reshape (or a new axis, `images[:, None]`) never moves a pixel, it only cuts the same "
                        "row of numbers differently. Move the channel axis with "
                        f"`np.transpose(images, (0, 3, 1, 2))` to get {target}.")
        for perm in itertools.permutations(range(4)):
            if perm == _TARGET or perm == (0, 1, 2, 3):
                continue
            moved = np.transpose(x, perm)
            if arr.shape != moved.shape or not np.array_equal(arr, moved):
                continue
            got = f"your result's axes are {_axes(perm)}, shape {arr.shape}; the target is (N, C, H, W), shape {target}."
            if perm == (0, 3, 2, 1):
                raise Wrong(f"{got} Height and width are swapped, so every image is flipped about its "
                            "diagonal (`swapaxes(1, 3)` does this): the order of the axes must be (0, 3, 1, 2).")
            if perm == (0, 2, 3, 1):
                raise Wrong(f"{got} `(0, 2, 3, 1)` is the conversion the other way, from channels first to "
                            "channels last. In `np.transpose(a, order)`, `order[k]` says which axis of the "
                            "*input* goes to position k: (0, 3, 1, 2).")
            if perm == (3, 2, 1, 0):
                raise Wrong(f"{got} `.T`, like `np.transpose(images)` without an order, reverses *all* the axes; "
                            "name the order you want instead: (0, 3, 1, 2).")
            if perm[0] != 0:
                raise Wrong(f"{got} The batch axis N must stay first (each example is one entry of axis 0): "
                            "only the channel axis moves, from the last position to position 1.")
            raise Wrong(f"{got} Write the order as the source position of each output axis: N is at 0, "
                        "C at 3, H at 1, W at 2.")
        check_close(arr, np.transpose(x, _TARGET), "the result")

    def verify(self, fn):
        if not callable(fn):
            raise Wrong(f"`{self.name}` should be a function, but it is a {type(fn).__name__}.")
        x = np.random.default_rng(5).integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8)
        try:
            out = call(self._probe(fn, catch_all=False), x, what=f"`{self.name}`")
        except Wrong as exc:
            text = str(exc)
            if "axes don't match" in text or "len(dims)" in text:
                raise Wrong(f"on a batch of shape {x.shape} your transpose names 3 axes: that is the order "
                            "for a single image, (H, W, C) -> (C, H, W). A batch has 4 axes and the "
                            "batch axis stays first: name all four.") from None
            if "has no attribute 'permute'" in text:
                raise Wrong("`.permute` is a method of torch tensors; `images` is a NumPy array: use "
                            "`np.transpose(images, ...)` (or `images.transpose(...)`) with the same order.") from None
            raise
        self._judge_batch(x, out)
        one = x[0]                                               # a single image, no batch axis
        got = call(self._probe(fn, catch_all=True), one, what=f"`{self.name}`")
        shape = str(one.shape)
        if isinstance(got, _Raised):
            if shape in got.message or str(list(one.shape)) in got.message:
                return ("channel axis moved, pixels in place, and a single image is refused with its shape "
                        "in the message: the error says what came in.")
            if got.kind == "AssertionError" and not got.message.strip():
                raise Wrong(f"your assert stops a single image of shape {shape}, but with an empty message: "
                            "add one after a comma, an f-string that shows `images.shape` "
                            "(e.g. `f\"expected (N, H, W, C), got {images.shape}\"`).")
            if got.kind == "AssertionError":
                raise Wrong(f"your assert stops a single image of shape {shape}, but its message, "
                            f"{got.message!r}, does not show the shape that came in: put "
                            "`{images.shape}` in an f-string message, so whoever reads it knows what to fix.")
            raise Wrong(f"given a single image of shape {shape} (no batch axis), your function stops with "
                        f"the library's own error, {got.kind}: {got.message[:80]!r}, which does not say what "
                        "was expected. Start the function with an `assert` on `images.ndim` and a message "
                        "that shows `images.shape`.")
        got_shape = tuple(getattr(got, "shape", ()))
        raise Wrong(f"given a single image of shape {shape} (no batch axis), your function returned "
                    f"{'an array of shape ' + str(got_shape) if got_shape else 'a result'} without complaint. "
                    "That is how silent shape bugs start (e.g. `np.moveaxis(img, -1, 1)` on (H, W, C) gives "
                    "(H, C, W)). Start the function with an `assert` that a batch has 4 axes, with a message "
                    "that shows `images.shape`.")

    def fresh_args(self, rng):
        n = int(rng.integers(2, 6))
        h, w = (int(v) for v in rng.choice(np.arange(3, 10), size=2, replace=False))
        c = int(rng.integers(2, 5))
        return (rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8),)

    def fresh_compare(self, out, want):
        check_close(out, want, "the result")


q1, q2, q3, q4, q5 = DenseForward(), SoftmaxRows(), Standardize(), CountParams(), ChannelsFirst()
ALL = [q1, q2, q3, q4, q5]
