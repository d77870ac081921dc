"""Exercises of Day 08 -- convolutions, pooling, receptive fields."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(8)
_X = _rng.normal(size=(7, 9))
_K = _rng.normal(size=(3, 3))


def _out_size(n, k, p, s):
    return (n + 2 * p - k) // s + 1


def _conv_valid(x, w):
    k = w.shape[0]
    out = np.zeros((x.shape[0] - k + 1, x.shape[1] - k + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + k, j:j + k] * w)
    return out


def _scalar(value, what):
    arr = as_array(value, what)
    check_shape(arr, (), what)
    check_finite(arr, what)
    return float(arr)


class OutputSize(Exercise):
    name = "conv_output_size"
    title = "Exercise 1 — the output size of a convolution"
    hints = (
        "Pad first: the input becomes n + 2p long. The kernel fits at positions 0, s, 2s, ... as long as it stays inside.",
        "The last start position is n + 2p - k; there are floor((n + 2p - k) / s) + 1 of them. Use `//` for the floor.",
    )
    solution_code = """
        def conv_output_size(n, k, p, s):
            return (n + 2 * p - k) // s + 1
    """
    _CASES = [(28, 5, 0, 1), (28, 5, 2, 1), (28, 3, 1, 2), (32, 7, 3, 2), (10, 4, 0, 3), (227, 11, 0, 4)]

    def reference(self):
        return _out_size

    def verify(self, fn):
        for n, k, p, s in self._CASES:
            got = _scalar(call(fn, n, k, p, s, what="`conv_output_size`"), f"conv_output_size({n}, {k}, {p}, {s})")
            want = _out_size(n, k, p, s)
            if got == want:
                continue
            where = f"for n={n}, k={k}, p={p}, s={s} you return {got:g}, but it should be {want}"
            if np.isclose(got, want - 1):
                raise Wrong(f"{where}: off by one. Count the positions: the kernel fits at the first one too, so add 1.")
            if np.isclose(got, (n + 2 * p - k) / s + 1):
                raise Wrong(f"{where}: the division must round down (a kernel that does not fit completely is not used): use `//`.")
            if np.isclose(got, _out_size(n, k, p / 2, s)) or np.isclose(got, (n + p - k) // s + 1):
                raise Wrong(f"{where}: the padding is added on both sides, so the padded size is n + 2p.")
            if np.isclose(got, (n + 2 * p - k) + 1):
                raise Wrong(f"{where}: you forgot the stride: the kernel moves s pixels at a time, so divide by s.")
            raise Wrong(where + ".")
        if not all(isinstance(call(fn, *c), (int, np.integer)) for c in self._CASES):
            raise Wrong("the values are right, but return an integer (a size), not a float: use `//`.")
        return "e.g. AlexNet's first layer: 227 pixels, k=11, s=4 -> 55 x 55."


class ConvValid(Exercise):
    name = "conv2d_valid"
    title = "Exercise 2 — a 2-D convolution with loops"
    hints = (
        "Make an output array of zeros of shape (H - k + 1, W - k + 1), then loop over its rows i and columns j.",
        "At (i, j) the patch is `x[i:i + k, j:j + k]`; multiply it element-wise by `w` and sum: `np.sum(patch * w)`.",
    )
    solution_code = """
        def conv2d_valid(x, w):
            k = w.shape[0]
            out = np.zeros((x.shape[0] - k + 1, x.shape[1] - k + 1))
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    out[i, j] = np.sum(x[i:i + k, j:j + k] * w)
            return out
    """

    def reference(self):
        return _conv_valid

    def verify(self, fn):
        out = as_array(call(fn, _X.copy(), _K.copy(), what="`conv2d_valid`"), "the output of `conv2d_valid`")
        want = _conv_valid(_X, _K)
        if out.shape == _X.shape:
            raise Wrong(f"wrong shape: expected {want.shape}, got {out.shape} (the input's shape). A 'valid' convolution "
                        "only uses positions where the whole kernel fits: no padding.")
        check_shape(out, want.shape, "the output of `conv2d_valid`")
        check_finite(out, "the output of `conv2d_valid`")
        if np.allclose(out, _conv_valid(_X, _K[::-1, ::-1])):
            raise Wrong("you flipped the kernel: that is the mathematicians' convolution. Deep learning's 'convolution' "
                        "(and PyTorch's conv2d) uses the kernel as it is: sum of x[i + u, j + v] * w[u, v].")
        if np.allclose(out, _conv_valid(_X, _K.T)):
            raise Wrong("you transposed the kernel: pair x[i + u, j + v] with w[u, v] (row with row, column with column).")
        check_close(out, want, "the output of `conv2d_valid`")
        return "the same as F.conv2d(x[None, None], w[None, None])[0, 0]."


class MaxPool(Exercise):
    name = "max_pool2"
    title = "Exercise 3 — 2x2 max-pooling"
    hints = (
        "Split each axis into pairs: `x.reshape(H // 2, 2, W // 2, 2)` puts each 2x2 window on the axes 1 and 3.",
        "Then take the maximum over those two axes: `.max(axis=(1, 3))`.",
    )
    solution_code = """
        def max_pool2(x):
            H, W = x.shape
            return x.reshape(H // 2, 2, W // 2, 2).max(axis=(1, 3))
    """

    def reference(self):
        return lambda x: x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).max(axis=(1, 3))

    def verify(self, fn):
        x = _rng.normal(size=(6, 8))
        out = as_array(call(fn, x.copy(), what="`max_pool2`"), "the pooled array")
        if out.shape == (5, 7):
            raise Wrong("wrong shape: expected (3, 4), got (5, 7). You moved the window by 1 pixel; pooling windows "
                        "do not overlap: stride 2.")
        check_shape(out, (3, 4), "the pooled array")
        check_finite(out, "the pooled array")
        blocks = x.reshape(3, 2, 4, 2)
        if np.allclose(out, blocks.mean(axis=(1, 3))):
            raise Wrong("that is average pooling: take the maximum of each 2x2 window instead of its mean.")
        if np.allclose(out, x[::2, ::2]):
            raise Wrong("you kept the top-left pixel of each window; take the maximum of all four.")
        check_close(out, blocks.max(axis=(1, 3)), "the pooled array")
        return "each output is the largest of its 2x2 window."


class ConvParams(Exercise):
    name = "conv_params"
    title = "Exercise 4 — parameters of a convolutional layer"
    hints = (
        "Each output channel has one kernel that spans all input channels: c_in * k * k weights.",
        "There are c_out such kernels, and each output channel also has one bias.",
    )
    solution_code = """
        def conv_params(c_in, c_out, k):
            return c_out * (c_in * k * k + 1)
    """
    _CASES = [(1, 6, 5), (6, 16, 5), (3, 96, 11), (64, 128, 3)]

    def reference(self):
        return lambda c_in, c_out, k: c_out * (c_in * k * k + 1)

    def verify(self, fn):
        for c_in, c_out, k in self._CASES:
            got = _scalar(call(fn, c_in, c_out, k, what="`conv_params`"), f"conv_params({c_in}, {c_out}, {k})")
            want = c_out * (c_in * k * k + 1)
            if got == want:
                continue
            where = f"for c_in={c_in}, c_out={c_out}, k={k} you return {got:g}, but nn.Conv2d has {want}"
            if got == c_out * c_in * k * k:
                raise Wrong(f"{where}: you forgot the biases, one per output channel.")
            if got == c_out * (k * k + 1):
                raise Wrong(f"{where}: each kernel spans all {c_in} input channels, so it has c_in * k * k weights.")
            if got == c_out * (c_in * k + 1):
                raise Wrong(f"{where}: a kernel is k x k, so k * k weights per input channel, not k.")
            raise Wrong(where + ".")
        return "AlexNet's first layer: 96 * (3 * 11 * 11 + 1) = 34,944 parameters."


class ReceptiveField(Exercise):
    name = "receptive_field"
    title = "Exercise 5 — the receptive field of a stack of layers"
    hints = (
        "Keep two numbers while walking up the layers: r (receptive field) and j (jump), both starting at 1.",
        "For each (k, s): first r = r + (k - 1) * j, then j = j * s. Return r at the end.",
    )
    solution_code = """
        def receptive_field(layers):
            r, j = 1, 1
            for k, s in layers:
                r, j = r + (k - 1) * j, j * s
            return r
    """
    _CASES = [[(3, 1)], [(3, 1), (3, 1)], [(3, 1), (2, 2), (3, 1)], [(5, 1), (2, 2), (5, 1), (2, 2)],
              [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)], [(11, 4), (3, 2), (5, 1)]]

    @staticmethod
    def _rf(layers):
        r, j = 1, 1
        for k, s in layers:
            r, j = r + (k - 1) * j, j * s
        return r

    def reference(self):
        return self._rf

    def verify(self, fn):
        for layers in self._CASES:
            got = _scalar(call(fn, list(layers), what="`receptive_field`"), f"receptive_field({layers})")
            want = self._rf(layers)
            if got == want:
                continue
            where = f"for layers {layers} you return {got:g}, but it should be {want}"
            if got == sum(k for k, _ in layers) - len(layers) + 1:
                raise Wrong(f"{where}: you ignored the strides. After a stride-2 layer, one step of the next kernel "
                            "moves 2 input pixels, so multiply (k - 1) by the jump j.")
            if got == sum(k for k, _ in layers):
                raise Wrong(f"{where}: stacking two 3x3 kernels gives 5, not 6: each layer adds (k - 1) * j.")
            raise Wrong(where + ".")
        return "two 3x3 layers see 5x5, three see 7x7 -- with fewer weights than one 7x7 kernel."


q1, q2, q3, q4, q5 = OutputSize(), ConvValid(), MaxPool(), ConvParams(), ReceptiveField()
ALL = [q1, q2, q3, q4, q5]
