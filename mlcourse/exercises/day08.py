"""Exercises of Day 08 -- convolutions, pooling, receptive fields, freezing layers for fine-tuning."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(8)


def _out_size(n, k, p, s):
    return (n + 2 * p - k) // s + 1


def _conv_layer(x, w, b, stride):
    """The reference: PyTorch's conv2d (no padding) in float64, as a NumPy array."""
    import torch
    import torch.nn.functional as F

    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
    return F.conv2d(t(x), t(w), t(b), stride=int(stride)).numpy()


def _conv_np(x, w, b, stride):
    """The same convolution in NumPy, for the variants of typical mistakes."""
    from numpy.lib.stride_tricks import sliding_window_view

    kh, kw = w.shape[2:]
    patches = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwuv,ocuv->nohw", patches, w) + b[None, :, None, None]


def _scalar(value, what):
    arr = as_array(value, what)
    check_shape(arr, (), what)
    check_finite(arr, what)
    return float(arr)


class OutputSize(Exercise):
    name = "conv_output_size"
    title = "Exercise 1 — the output size of a convolution"
    hints = (
        "Pad first: the input becomes n + 2p long. Then count the positions where the kernel (size k) fits "
        "completely; it starts at 0, then s, 2s, ...",
        "The last start position is n + 2p - k. Starting at 0 and moving s at a time, that gives "
        "floor((n + 2p - k) / s) + 1 positions (the + 1 counts the start at 0).",
        "Python's `//` divides and rounds down, and keeps an integer: `7 // 2` is 3, while `7 / 2` is 3.5. "
        "Check your function: n=28, k=5, p=0, s=1 gives 24; n=28, k=3, p=1, s=2 gives 14.",
    )
    solution_code = """
        def conv_output_size(n, k, p, s):
            return (n + 2 * p - k) // s + 1
    """
    _CASES = [(28, 5, 0, 1), (28, 5, 2, 1), (28, 3, 1, 2), (32, 7, 3, 2), (10, 4, 0, 3), (227, 11, 0, 4)]

    def reference(self):
        return _out_size

    def fresh_args(self, rng):
        n, k = int(rng.integers(8, 80)), int(rng.integers(1, 8))
        return n, k, int(rng.integers(0, 4)), int(rng.integers(1, 5))

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
            if np.isclose(got, want + 1) and (n + 2 * p - k) % s:
                raise Wrong(f"{where}: (n + 2p - k) / s = {(n + 2 * p - k) / s:g} was rounded *up* (ceil, or "
                            "round): a last position where the kernel does not fit completely is not used, so "
                            "round down with `//`.")
            raise Wrong(where + ".")
        if not all(isinstance(call(fn, *c), (int, np.integer)) for c in self._CASES):
            raise Wrong("the values are right, but return an integer (a size), not a float: use `//`.")
        return "e.g. AlexNet's first layer: 227 pixels, k=11, s=4 -> 55 x 55."


class ConvLayer(Exercise):
    name = "conv2d_layer"
    title = "Exercise 2 — build it: the forward pass of a convolutional layer"
    hints = (
        "Each output value is one weighted sum: out[n, o, i, j] = b[o] + the sum over every input channel c and "
        "kernel position (u, v) of x[n, c, i*stride + u, j*stride + v] * w[o, c, u, v]. Compute the output size "
        "first, make an array of zeros of that shape, then fill it in.",
        "With no padding the output has H_out = (H - kH) // stride + 1 rows (and the same with W, kW for the "
        "columns). Output (i, j) looks at the window of x whose top-left corner is at row i*stride, column "
        "j*stride, kH rows high and kW columns wide, across all C_in channels.",
        "Shapes: for one image n the window is (C_in, kH, kW), exactly the shape of w[o]: multiply the two and "
        "sum everything (`np.sum`), then add b[o]. Loop over n, o, i, j -- or over i and j only, handling all "
        "(n, o) pairs at once with `np.einsum` and the subscripts 'ncuv,ocuv->no'. The kernel may be "
        "rectangular: read kH and kW from w.shape.",
    )
    solution_code = """
        def conv2d_layer(x, w, b, stride):
            N, C_in, H, W = x.shape
            C_out, _, kH, kW = w.shape
            H_out, W_out = (H - kH) // stride + 1, (W - kW) // stride + 1
            out = np.zeros((N, C_out, H_out, W_out))
            for i in range(H_out):
                for j in range(W_out):
                    window = x[:, :, i * stride:i * stride + kH, j * stride:j * stride + kW]  # (N, C_in, kH, kW)
                    out[:, :, i, j] = np.einsum("ncuv,ocuv->no", window, w)
            return out + b[None, :, None, None]     # one bias per output channel
    """

    def reference(self):
        return _conv_layer

    @staticmethod
    def _case(rng, n, c_in, c_out, h, w_, kh, kw, stride):
        return (rng.normal(size=(n, c_in, h, w_)), rng.normal(size=(c_out, c_in, kh, kw)),
                rng.normal(size=c_out), stride)

    def fresh_args(self, rng):
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        return self._case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5)),
                          int(rng.integers(kh + 2, 10)), int(rng.integers(kw + 2, 10)), kh, kw, int(rng.integers(1, 4)))

    def verify(self, fn):
        rng = np.random.default_rng(82)
        # a square kernel with stride 1 first, then a rectangular kernel with stride 2 on an odd-sized input
        for args in (self._case(rng, 2, 3, 4, 6, 7, 3, 3, 1), self._case(rng, 2, 3, 5, 9, 11, 4, 2, 2)):
            self._verify_one(fn, *args)
        return "the same as torch.nn.functional.conv2d(x, w, b, stride=stride): a convolutional layer is just this sum."

    def _verify_one(self, fn, x, w, b, s):
        N, C_in, H, W = x.shape
        C_out, _, kh, kw = w.shape
        what = "the output of `conv2d_layer`"
        sizes = (f"for x of shape {x.shape}, w of shape {w.shape} (so kH={kh}, kW={kw}) and stride {s}")
        try:
            out = as_array(call(fn, x, w, b, s, what="`conv2d_layer`"), what)
        except Wrong as exc:
            if "broadcast" in str(exc) and f"({C_out},)" in str(exc):
                raise Wrong(f"{str(exc).split(' Read the two shapes')[0]} Here it is probably the bias: b has shape ({C_out},), which NumPy lines up with "
                            "the LAST axis (the columns). Give it the shape (1, C_out, 1, 1) with "
                            "`b[None, :, None, None]`, or add b[o] inside the loop over o.") from None
            raise
        want = _conv_layer(x, w, b, s)
        h_out, w_out = want.shape[2:]
        if out.shape != want.shape:
            got = tuple(out.shape)
            head = f"wrong shape {sizes}: expected {want.shape}, got {got}."
            if got == (N, C_out, H - kh + 1, W - kw + 1):
                raise Wrong(f"{head} That is the size for stride 1: the window moves `stride` pixels at a time, so "
                            f"H_out = (H - kH) // stride + 1 = {h_out}.")
            if len(got) == 4 and got[2:] in {(H, W), (-(-H // s), -(-W // s))}:
                raise Wrong(f"{head} That is the size with 'same' padding, but this layer has no padding: "
                            f"H_out = (H - kH) // stride + 1 = {h_out} rows.")
            if got == (N, C_out, -(-(H - kh) // s) + 1, -(-(W - kw) // s) + 1):
                raise Wrong(f"{head} Round the division down (`//`): a window that does not fit completely is not used.")
            if kh != kw and got in {(N, C_out, (H - k) // s + 1, (W - k) // s + 1) for k in (kh, kw)}:
                raise Wrong(f"{head} The kernel is not square here ({kh} x {kw}): take kH = w.shape[2] for the "
                            "rows and kW = w.shape[3] for the columns.")
            if got == want.shape[1:] or got == (N,) + want.shape[2:]:
                raise Wrong(f"{head} Keep both the batch axis (N = {N} images) and the channel axis "
                            f"(C_out = {C_out}, one per kernel): the output is (N, C_out, H_out, W_out).")
            check_shape(out, want.shape, what)
        check_finite(out, what)
        if np.allclose(out, want, rtol=1e-4, atol=1e-6):
            return
        bias = b[None, :, None, None]
        if np.allclose(out, want - bias, rtol=1e-4, atol=1e-6):
            raise Wrong(f"you forgot the bias {sizes}: add b[o] to every output value of channel o "
                        "(`b[None, :, None, None]` has the shape (1, C_out, 1, 1) that broadcasts that way).")
        variants = [
            (_conv_np(x, w[:, :, ::-1, ::-1], b, s),
             "you flipped the kernel: that is the mathematicians' convolution. Deep learning's 'convolution' (and "
             "PyTorch's conv2d) uses the kernel as it is: x[n, c, i*stride + u, j*stride + v] * w[o, c, u, v]."),
            (_conv_np(x[:, :1], w[:, :1], b, s),
             "you used the first input channel only: each output channel sums over ALL input channels c, "
             "x[n, c, ...] * w[o, c, ...] (the window and w[o] both have shape (C_in, kH, kW))."),
            (_conv_np(x, w, b, 1)[:, :, :h_out, :w_out] if s > 1 else None,
             f"the output has the right shape but its windows do not move by the stride ({s}): the window of output "
             "(i, j) starts at row i*stride and column j*stride, not at (i, j)."),
            (_conv_np(x, w, -b, s), "the bias has the wrong sign: add b[o], do not subtract it."),
        ]
        if kh == kw:
            variants.append((_conv_np(x, w.transpose(0, 1, 3, 2), b, s),
                             "you transposed the kernel: pair x[..., i*stride + u, j*stride + v] with w[o, c, u, v] "
                             "(kernel rows with image rows, kernel columns with image columns)."))
        for alt, message in variants:
            if alt is not None and alt.shape == out.shape and np.allclose(out, alt, rtol=1e-4, atol=1e-6):
                raise Wrong(f"{message} ({sizes}.)")
        check_close(out, want, what + f" {sizes}")


class MaxPool(Exercise):
    name = "max_pool2"
    title = "Exercise 3 — 2x2 max-pooling"
    hints = (
        "Cut the array into non-overlapping 2x2 windows and keep the largest value of each: output (i, j) is the "
        "maximum of the four pixels in rows 2i, 2i + 1 and columns 2j, 2j + 1.",
        "No loops needed: reshaping to (H/2, 2, W/2, 2) puts the two rows of each window on axis 1 and its two "
        "columns on axis 3 (use `//` so the sizes are integers).",
        "Then take the maximum over axes 1 and 3 together: `.max(axis=...)` accepts a tuple of axes. The result "
        "must have shape (H/2, W/2).",
    )
    solution_code = """
        def max_pool2(x):
            H, W = x.shape
            return x.reshape(H // 2, 2, W // 2, 2).max(axis=(1, 3))
    """

    def reference(self):
        return lambda x: x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).max(axis=(1, 3))

    def fresh_args(self, rng):
        return (rng.normal(size=(2 * int(rng.integers(1, 7)), 2 * int(rng.integers(1, 7)))),)

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
        if np.allclose(out, x.reshape(3, 4, 2, 2).max(axis=(2, 3))):
            raise Wrong("your windows are not 2x2 squares of the image: `x.reshape(H // 2, W // 2, 2, 2)` groups "
                        "pixels that are next to each other in memory, not in the picture. Reshape to "
                        "(H // 2, 2, W // 2, 2) and take the maximum over axes 1 and 3.")
        check_close(out, blocks.max(axis=(1, 3)), "the pooled array")
        return "each output is the largest of its 2x2 window."


class ReceptiveField(Exercise):
    name = "receptive_field"
    title = "Exercise 4 — the receptive field of a stack of layers"
    hints = (
        "Walk through the layers from the input up, keeping two numbers: r, the receptive field so far, and j, the "
        "jump (how many input pixels apart two neighbouring units of the current layer are). Both start at 1.",
        "A layer with kernel k and stride s widens the receptive field by (k - 1) * j input pixels; after it, "
        "neighbouring units are s times further apart, so j becomes j * s.",
        "Order matters: update r with the jump of the layer's INPUT (the old j), then update j -- or do both in "
        "one tuple assignment. Check: [(3, 1), (3, 1)] gives 5, and [(3, 1), (2, 2), (3, 1)] gives 8.",
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

    def fresh_args(self, rng):
        n = int(rng.integers(2, 7))
        return ([(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(n)],)

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
            r, j = 1, 1
            for k, s in layers:
                j = j * s
                r = r + (k - 1) * j
            if got == r:
                raise Wrong(f"{where}: you multiplied the jump by the stride before using it. A layer's kernel steps "
                            "over its INPUT's units, so add (k - 1) * j with the old j, then update j.")
            raise Wrong(where + ".")
        return "two 3x3 layers see 5x5, three see 7x7 -- with fewer weights than one 7x7 kernel."


def _keras():
    """Keras, imported on first use (with whatever backend the notebook chose)."""
    import keras

    return keras


def _n_params(variables) -> int:
    return int(sum(int(np.prod(v.shape)) for v in variables))


def _freeze_reference(model, n):
    """The reference: only the last n layers train, BatchNormalization layers never."""
    keras = _keras()
    model.trainable = True
    for layer in model.layers[:len(model.layers) - n]:
        layer.trainable = False
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return _n_params(model.trainable_weights)


def _small_model(rng, frozen=True):
    """A random little Keras CNN (conv, batch-norm, ReLU, pooling, dense), frozen like a pretrained base."""
    keras = _keras()
    L = keras.layers
    size = int(rng.integers(6, 10))
    layers = [keras.Input((size, size, int(rng.integers(1, 4))))]
    for _ in range(int(rng.integers(1, 4))):
        layers += [L.Conv2D(int(rng.integers(2, 7)), 3, padding="same", use_bias=bool(rng.integers(0, 2))),
                   L.BatchNormalization(), L.ReLU()]
    layers += [L.GlobalAveragePooling2D(), L.Dense(int(rng.integers(3, 17))), L.BatchNormalization(), L.ReLU(),
               L.Dense(int(rng.integers(2, 11)))]          # widths varied enough that counts are not guessable
    model = keras.Sequential(layers)
    model.trainable = not frozen
    return model


class FreezeAllButLast(Exercise):
    name = "freeze_all_but_last"
    title = "Exercise 5 — fine-tuning: freeze all but the last n layers"
    fresh_trials = 2
    hints = (
        "Two switches matter in Keras: the model's own `trainable` and each layer's. A frozen model (trainable "
        "False) hides the weights of all its layers from training, whatever their own flags say, so switch the "
        "whole model on first, then switch off what must stay frozen.",
        "`model.layers` runs from the input (index 0) to the output (index -1): the layers to freeze are all "
        "but the last n, a slice that ends n before the end. Beware that the slice [:-n] is empty for n = 0; "
        "`len(model.layers) - n` as the end is safe.",
        "Then walk over all the layers once more and switch off every `keras.layers.BatchNormalization` "
        "(`isinstance` tells). The count: add up the sizes (`np.prod(v.shape)`) of the variables in "
        "`model.trainable_weights`, not of `model.weights` (that list has the frozen ones too).",
    )
    solution_code = """
        def freeze_all_but_last(model, n):
            model.trainable = True                                    # unfreeze everything first
            for layer in model.layers[:len(model.layers) - n]:        # all but the last n
                layer.trainable = False
            for layer in model.layers:                                # BatchNormalization stays frozen
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
            return int(sum(np.prod(v.shape) for v in model.trainable_weights))
    """

    def reference(self):
        return _freeze_reference

    def fresh_args(self, rng):
        model = _small_model(rng)
        return model, int(rng.integers(1, len(model.layers)))

    def _check_fresh(self, fn):
        # The engine would run the reference on the same model first (a model is not copied),
        # which would freeze it for the learner: judge each fresh model on its own instead.
        rng = np.random.default_rng()
        for _ in range(self.fresh_trials):
            model, n = self.fresh_args(rng)
            try:
                self._judge(fn, model, n)
            except Wrong as exc:
                raise Wrong(f"right on the check's example, but not on a new random model ({len(model.layers)} "
                            f"layers, n = {n}): {exc} Does your function use its arguments only (not numbers "
                            "copied from an example, nor variables of the notebook)?") from None

    def verify(self, fn):
        # The model arrives frozen, as a pretrained base does after the first training stage.
        # n = 3: the last three layers are BN, ReLU, Dense; n = 4 adds a Dense (so that n - 1 and n + 1
        # differ from n); then a random model.
        self._judge(fn, self._fixed_model(), 3)
        self._judge(fn, self._fixed_model(), 4)
        self._judge(fn, _small_model(np.random.default_rng(85)), 2)
        return ("only the last layers (batch norm excepted) will learn. In Keras, set `trainable` before "
                "`compile()`, and compile again after every change.")

    @staticmethod
    def _fixed_model():
        keras = _keras()
        L = keras.layers
        model = keras.Sequential([keras.Input((8, 8, 3)),
                                  L.Conv2D(8, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                                  L.Conv2D(16, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                                  L.GlobalAveragePooling2D(), L.Dense(12), L.BatchNormalization(), L.ReLU(),
                                  L.Dense(4)])
        model.trainable = False
        return model

    def _judge(self, fn, model, n):
        """Call ``fn(model, n)``; explain which layers train that should not (and vice versa), then the count."""
        keras = _keras()
        layers = list(model.layers)
        total = len(layers)
        got = call(fn, model, n, what="`freeze_all_but_last`")
        bn = {i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.BatchNormalization)}
        weighted = {i for i, layer in enumerate(layers) if layer.weights}
        live = {id(v) for v in model.trainable_weights}
        trains = {i for i, layer in enumerate(layers) if any(id(v) in live for v in layer.weights)}

        def last(k):
            return {i for i in range(total - k, total) if i in weighted and i not in bn}

        want = last(n)
        names = lambda idx: ", ".join(f"{i}: {layers[i].__class__.__name__}" for i in sorted(idx))  # noqa: E731
        where = f"n = {n}, on a model whose layers are {names(range(total))}"
        if trains != want:
            flags = {i for i, layer in enumerate(layers) if layer.trainable}
            if not model.trainable and flags & want:
                raise Wrong(f"nothing will train ({where}): the model itself is still frozen (`model.trainable` is "
                            "False), and a frozen model hides every layer's weights from training, whatever the "
                            "layers' own flags say. Unfreeze the whole model first, then freeze the layers "
                            "before the last n.")
            if not trains:
                tail = (" `model.trainable` is False when your function returns: set it to True first, and do not "
                        "set it back to False afterwards, which freezes every layer again." if not model.trainable else "")
                raise Wrong(f"nothing will train ({where}): every weight is frozen. The last {n} layers "
                            "(batch norm excepted) should be trainable." + tail)
            early = weighted - set(range(total - n, total))
            if early - bn <= trains <= early:
                raise Wrong(f"the wrong way round ({where}): you froze the last {n} layers and left the earlier "
                            "ones trainable. Fine-tuning keeps the early, generic layers frozen and trains the "
                            "last ones, at the end of `model.layers`.")
            first = set(range(min(n, total))) & weighted
            if first - bn <= trains <= first:
                raise Wrong(f"you made the FIRST {n} layers trainable ({where}). `model.layers` runs from the "
                            "input (index 0) to the output (index -1): the last n are at the end.")
            for k in (n - 1, n + 1):
                if 0 < k <= total and last(k) != want and last(k) <= trains <= last(k) | bn:
                    raise Wrong(f"off by one ({where}): the last {k} layers are trainable instead of the last {n}. "
                                "Everything before index len(model.layers) - n is frozen, everything from there "
                                "on trains.")
            if want <= trains and (trains - want) - bn:
                raise Wrong(f"layers before the last {n} are still trainable ({names((trains - want) - bn)}; "
                            f"{where}). Unfreezing the model unfreezes all its layers: freeze the earlier ones "
                            "again, one by one.")
            if want <= trains:
                raise Wrong(f"a BatchNormalization layer is trainable ({names(trains - want)}; {where}). Keep "
                            "every batch norm frozen: with `trainable = False` Keras runs it in inference mode, "
                            "with the mean and variance it learned on the big dataset, rather than the noisy "
                            "statistics of each small batch of the new one. `isinstance(layer, "
                            "keras.layers.BatchNormalization)` finds them.")
            missing, extra = want - trains, trains - want
            parts = ([f"frozen but should train: {names(missing)}"] if missing else []) + \
                    ([f"trainable but should be frozen: {names(extra)}"] if extra else [])
            raise Wrong(f"the wrong layers are trainable ({where}): " + "; ".join(parts) + ".")
        count = _scalar(got, "the number your function returns")
        right = _n_params(model.trainable_weights)
        if count == right:
            return
        head = f"the right layers are trainable, but you return {count:g} while {right} parameters will train ({where})"
        if count == _n_params(model.weights):
            raise Wrong(f"{head}: that counts every weight, the frozen ones and batch norm's moving mean and "
                        "variance too (`model.count_params()`, `model.weights`). Count `model.trainable_weights`.")
        if count == _n_params(model.non_trainable_weights):
            raise Wrong(f"{head}: that is the number of FROZEN parameters (`model.non_trainable_weights`).")
        if count == len(model.trainable_weights):
            raise Wrong(f"{head}: that is the number of weight tensors (a kernel, a bias...), not of the numbers "
                        "in them: add up the size of each tensor, `np.prod(v.shape)`.")
        if count == 0:
            raise Wrong(f"{head}: did you count before changing the `trainable` flags? The model arrives frozen, "
                        "so count `model.trainable_weights` at the end, after the flags are set.")
        if count in (n, len(want)):
            raise Wrong(f"{head}: that counts layers; the question is how many numbers (parameters) will train.")
        if count == sum(layers[i].count_params() for i in range(total - n, total)):
            raise Wrong(f"{head}: that counts all the weights of the last {n} layers, the frozen batch norms' "
                        "too. Count `model.trainable_weights`.")
        raise Wrong(f"{head}.")


q1, q2, q3, q4, q5 = OutputSize(), ConvLayer(), MaxPool(), ReceptiveField(), FreezeAllButLast()
ALL = [q1, q2, q3, q4, q5]
