"""Exercises of Day 09 -- IoU and mean IoU of a segmentation, residual shortcuts, bottleneck blocks."""

from __future__ import annotations

import re

import numpy as np

from . import Exercise, NotAttempted, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(9)
_A = _rng.random((12, 12)) < 0.4
_B = _A.copy()
_B[:4] = _rng.random((4, 12)) < 0.5


def _iou(pred, true):
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    union = (pred | true).sum()
    return 1.0 if union == 0 else (pred & true).sum() / union


def _dice(pred, true):
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    total = pred.sum() + true.sum()
    return 1.0 if total == 0 else 2 * (pred & true).sum() / total


def _one_empty(fn, name, what):
    """An empty prediction of a non-empty mask (and the reverse) must score 0, not 1."""
    full = np.zeros((4, 4), bool)
    full[1:3, 1:3] = True
    for pred, true, who in ((np.zeros((4, 4), bool), full, "`pred` is empty and `true` is not"),
                            (full, np.zeros((4, 4), bool), "`true` is empty and `pred` is not")):
        got = as_array(call(fn, pred.copy(), true.copy(), what=f"`{name}`"), what)
        if got.shape != () or not np.isfinite(got) or not np.isclose(got, 0.0, atol=1e-4):
            raise Wrong(f"when {who}, the masks do not overlap at all: {name} must be 0.0, but yours gives "
                        f"{got if got.shape != () else float(got):.4g}. Return 1.0 only when *both* masks are empty "
                        "(test the union, or |A| + |B|, not one mask).")


def _ratio_mistakes(got, inter, name):
    """Mistakes shared by IoU and Dice: a value above 1 (upside down, a percentage), integer division."""
    if got > 1 + 1e-9:
        raise Wrong(f"{name} is {got:.4g}, but it is a share between 0 and 1: is the fraction upside down, or "
                    "multiplied by 100, or the denominator too small (brackets: `a / (b + c)`, not `a / b + c`)?")
    if got == 0 and inter > 0:
        raise Wrong(f"{name} is 0 although the masks overlap ({inter} pixels in both). Is the division an integer "
                    "division `//`? Use `/`.")


def _fresh_masks(rng):
    """Two overlapping boolean masks of a random shape (2-D or a batch of 2-D masks)."""
    shape = tuple(int(n) for n in rng.integers(3, 16, size=int(rng.integers(2, 4))))
    true = rng.random(shape) < rng.uniform(0.2, 0.7)
    pred = np.where(rng.random(shape) < rng.uniform(0.1, 0.5), rng.random(shape) < 0.5, true)
    return pred, true


def _scalar(value, what):
    if isinstance(value, (tuple, list)) and len(value) == 2:
        shown = ", ".join(f"{float(v):g}" if np.ndim(v) == 0 else "an array" for v in value)
        raise Wrong(f"{what} returned two numbers ({shown}): return one number, the ratio of the two "
                    "counts.")
    arr = as_array(value, what)
    check_shape(arr, (), what)
    check_finite(arr, what)
    return float(arr)


class IoU(Exercise):
    name = "iou"
    title = "Exercise 1 — intersection over union"
    hints = (
        "IoU compares two masks: the number of pixels that are in both (the intersection) divided by the number "
        "of pixels that are in at least one of them (the union).",
        "For boolean arrays, `a & b` is True where both are True and `a | b` where at least one is; `.sum()` "
        "counts the True values. IoU = |intersection| / |union|.",
        "Two empty masks have an empty union, and 0 / 0 is not a number: compute the union first, and return 1.0 "
        "when it is 0 (the two masks agree perfectly).",
    )
    solution_code = """
        def iou(pred, true):
            union = (pred | true).sum()
            return 1.0 if union == 0 else (pred & true).sum() / union
    """

    def reference(self):
        return _iou

    def fresh_args(self, rng):
        return _fresh_masks(rng)

    def verify(self, fn):
        got = _scalar(call(fn, _A.copy(), _B.copy(), what="`iou`"), "iou(pred, true)")
        want = _iou(_A, _B)
        if np.isclose(got, _dice(_A, _B)):
            raise Wrong("that is the Dice coefficient (2|A∩B| / (|A| + |B|)); IoU divides the intersection by the union.")
        if np.isclose(got, (_A & _B).sum() / _A.sum()) or np.isclose(got, (_A & _B).sum() / _B.sum()):
            raise Wrong("you divided the intersection by the area of one mask only; IoU divides by the union (pixels in either mask).")
        if np.isclose(got, (_A & _B).sum() / (_A.sum() + _B.sum())):
            raise Wrong("|A| + |B| counts the intersection twice: the union is |A| + |B| - |A∩B|, or simply (A | B).sum().")
        if np.isclose(got, (_A & _B).sum()):
            raise Wrong("that is the size of the intersection; divide it by the size of the union.")
        if np.isclose(got, np.mean(_A == _B)):
            raise Wrong("that is the pixel accuracy (share of pixels that agree); IoU ignores the pixels that are background in both.")
        if np.isclose(got, 1 - want):
            raise Wrong("that is 1 - IoU (the Jaccard distance): IoU itself is |A∩B| / |A∪B|, 1 for a perfect overlap.")
        _ratio_mistakes(got, int((_A & _B).sum()), "iou(pred, true)")
        check_close(got, want, "iou(pred, true)")
        empty = np.zeros((4, 4), bool)
        got0 = as_array(call(fn, empty, empty.copy(), what="`iou`"), "iou of two empty masks")
        if got0.shape != () or not np.isfinite(got0) or not np.isclose(got0, 1.0):
            raise Wrong("two empty masks agree perfectly, but the union is empty (0/0): return 1.0 in that case.")
        _one_empty(fn, "iou", "iou with one empty mask")
        return "1 means a perfect overlap, 0 no overlap at all."


class MeanIoU(Exercise):
    name = "mean_iou"
    title = "Exercise 2 — mean IoU over classes"
    hints = (
        "Mean IoU scores each class on its own, as a yes/no mask, then averages the scores: every class counts "
        "the same, however many pixels it has.",
        "For class c the two masks are `pred == c` and `true == c`, over all pixels of all images at once; their "
        "IoU is intersection / union, as in Exercise 1.",
        "A class that appears in neither array has an empty union (0/0): leave it out of the average, instead of "
        "counting it as 0 or 1. Collect the IoUs of the other classes in a list and take its mean.",
    )
    solution_code = """
        def mean_iou(pred, true, classes):
            ious = []
            for c in classes:
                p, t = pred == c, true == c
                union = (p | t).sum()
                if union > 0:
                    ious.append((p & t).sum() / union)
            return float(np.mean(ious))
    """

    def reference(self):
        return self.solution_function()

    def fresh_args(self, rng):
        k = int(rng.integers(2, 5))
        true = rng.integers(0, k, size=(int(rng.integers(1, 5)), int(rng.integers(3, 10)), int(rng.integers(3, 10))))
        pred = np.where(rng.random(true.shape) < rng.uniform(0.1, 0.5), rng.integers(0, k, size=true.shape), true)
        classes = sorted({int(true.flat[0])} | {int(c) for c in rng.choice(k + 2, size=int(rng.integers(1, k + 2)), replace=False)})
        return pred, true, classes

    def verify(self, fn):
        true = _rng.integers(0, 3, size=(5, 8, 8))
        pred = true.copy()
        pred[:, :3] = _rng.integers(0, 3, size=(5, 3, 8))
        pred[0, 0, :4] = 5                                     # class 5 predicted a little, never true
        classes = [1, 2, 4, 5]                                 # class 4 appears nowhere
        raw = call(fn, pred.copy(), true.copy(), list(classes), what="`mean_iou`")
        if np.ndim(raw) == 0 and not isinstance(raw, (str, bytes)) and raw is not None and np.isnan(float(raw)):
            raise Wrong("the result is NaN: class 4 appears in neither array, so its IoU is 0/0 = NaN, and one NaN "
                        "makes the mean NaN. Skip the classes whose union is empty (or average with np.nanmean).")
        got = _scalar(raw, "mean_iou(...)")
        miou = self.reference()
        want = miou(pred, true, classes)
        per_image = np.mean([miou(p, t, [1, 2, 5]) for p, t in zip(pred, true)])
        if np.isclose(got, np.mean(pred == true)):
            raise Wrong("that is the pixel accuracy; compute one IoU per class and average them.")
        with_absent = [0.0 if c == 4 else _iou(pred == c, true == c) for c in classes]
        if np.isclose(got, np.mean(with_absent)) or np.isclose(got, np.mean([1.0 if c == 4 else v for c, v in zip(classes, with_absent)])):
            raise Wrong("class 4 appears in neither array: its IoU is 0/0. Skip such classes instead of counting them.")
        if np.isclose(got, per_image) and not np.isclose(per_image, want):
            raise Wrong("you averaged per image; count the pixels of all images together for each class, then average over the classes.")
        present = np.union1d(np.unique(pred), np.unique(true))
        if np.isclose(got, miou(pred, true, present)) or np.isclose(got, miou(pred, true, np.unique(true))) \
                or np.isclose(got, miou(pred, true, range(len(classes)))):
            raise Wrong(f"score exactly the classes of the argument `classes` ({classes} here), not the labels found "
                        f"in the arrays ({present.tolist()}) nor range(len(classes)).")
        if np.isclose(got, miou(pred, true, [c for c in classes if (true == c).any()])):
            raise Wrong("class 5 is predicted but never true: its IoU is 0 (a false alarm), and it counts. Skip only "
                        "a class that appears in *neither* array (empty union).")
        inter = sum(((pred == c) & (true == c)).sum() for c in classes)
        union = sum(((pred == c) | (true == c)).sum() for c in classes)
        if np.isclose(got, inter / union):
            raise Wrong("you added up the intersections and the unions of all classes before dividing: that weights "
                        "each class by its size. Compute one IoU per class, then average the IoUs.")
        if np.isclose(got, np.mean([_dice(pred == c, true == c) for c in classes if ((pred == c) | (true == c)).any()])):
            raise Wrong("that is the mean Dice coefficient; compute the IoU of each class, |A∩B| / |A∪B|.")
        check_close(got, want, "mean_iou(...)")
        return "each class counts the same, however many pixels it has."


class Shortcut(Exercise):
    name = "make_shortcut"
    title = "Exercise 3 — the right shortcut for a residual block"
    hints = (
        "The shortcut must turn x, of shape (N, c_in, H, W), into a tensor of the branch's shape "
        "(N, c_out, ceil(H / stride), ceil(W / stride)), so that F(x) + shortcut(x) can be added.",
        "When nothing changes (c_in == c_out and stride 1), x itself already fits: the identity module "
        "(`nn.Identity`) has no parameters. Otherwise a 1x1 convolution (`nn.Conv2d` with kernel size 1) can change "
        "both the number of channels and, with a stride, the resolution.",
        "Give the 1x1 convolution c_in input channels, c_out output channels and the block's stride; ResNet "
        "follows it by a batch norm over c_out channels (`nn.BatchNorm2d`), both in one `nn.Sequential`. Its "
        "bias is not needed: the batch norm that follows has one.",
    )
    solution_code = """
        def make_shortcut(c_in, c_out, stride):
            if c_in == c_out and stride == 1:
                return nn.Identity()
            return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
    """
    _CASES = [(16, 16, 1), (16, 32, 2), (8, 24, 1), (32, 32, 2)]

    def reference(self):
        from torch import nn

        def make_shortcut(c_in, c_out, stride):
            if c_in == c_out and stride == 1:
                return nn.Identity()
            return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        return make_shortcut

    def fresh_args(self, rng):
        c_in, stride = int(rng.integers(1, 40)), int(rng.integers(1, 3))
        c_out = c_in if rng.random() < 0.3 else int(rng.integers(1, 40))
        self._fresh_case = (c_in, c_out, stride, int(rng.integers(5, 20)), int(rng.integers(2**31)))
        return c_in, c_out, stride

    def fresh_compare(self, out, want):
        c_in, c_out, stride = self._fresh_case[:3]
        if not self._check_module(out, *self._fresh_case):
            raise Wrong(self._changes_x(out, c_in))

    @staticmethod
    def _changes_x(module, c):
        names = ", ".join(sorted({type(m).__name__ for m in module.modules()}))
        return (f"for c_in = c_out = {c} and stride 1 the shortcut must pass x through unchanged, but yours ({names}) "
                "changes it. The residual block adds x itself: use nn.Identity(), which also has no parameters.")

    @staticmethod
    def _check_module(module, c_in, c_out, stride, size=14, seed=0):
        """Raise Wrong unless ``module`` maps (2, c_in, size, size) to the branch's shape."""
        import torch
        from torch import nn

        if module is None:
            raise Wrong(f"make_shortcut({c_in}, {c_out}, {stride}) returned None: did you forget a `return` in "
                        "that case?")
        if isinstance(module, type) and issubclass(module, nn.Module):
            raise Wrong(f"make_shortcut({c_in}, {c_out}, {stride}) returned the class {module.__name__}, not a module: "
                        f"create one by calling it, with the brackets: `nn.Identity()`, `nn.Conv2d(c_in, c_out, 1, stride=stride)`.")
        if not isinstance(module, nn.Module):
            raise Wrong(f"make_shortcut({c_in}, {c_out}, {stride}) should return a torch module (e.g. nn.Identity() "
                        f"or nn.Conv2d(...)), but it returned a {type(module).__name__}.")
        x = torch.randn(2, c_in, size, size, generator=torch.Generator().manual_seed(seed))  # not the global RNG
        side = (size + stride - 1) // stride
        branch = (2, c_out, side, side)
        try:
            with torch.no_grad():
                sx = module(x)
        except NotImplementedError:
            raise NotAttempted("your module still raises NotImplementedError.") from None
        except Exception as exc:  # the learner's module failed on the input
            advice = ""
            if any(isinstance(m, nn.Linear) for m in module.modules()):
                advice = (" nn.Linear acts on the last axis (the width of the image), not on the channels: a 1x1 "
                          "convolution, nn.Conv2d(c_in, c_out, kernel_size=1), is the per-pixel linear map over channels.")
            raise Wrong(f"for c_in={c_in}, c_out={c_out}, stride={stride} your shortcut failed on an input of shape "
                        f"{tuple(x.shape)}: {type(exc).__name__}: {exc}.{advice}") from None
        if not isinstance(sx, torch.Tensor):
            raise Wrong(f"your shortcut should return a tensor, but it returned a {type(sx).__name__}.")
        if tuple(sx.shape) != branch:
            kernels = [m.kernel_size for m in module.modules() if isinstance(m, nn.Conv2d)]
            pools = [m for m in module.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]
            if sx.ndim != 4 or sx.shape[1] != c_out:
                advice = "use a 1x1 convolution to change the number of channels"
            elif pools and size % 2 == 1 and sx.shape[2] == size // stride:
                advice = (f"a pooling layer rounds an odd size down ({size} -> {size // stride}) while the strided "
                          f"branch rounds up ({side}): use ceil_mode=True, or a 1x1 convolution with the stride")
            elif tuple(sx.shape[2:]) == (size, size) and stride > 1:
                advice = "give the 1x1 convolution the block's stride"
            elif any(tuple(k) != (1, 1) for k in kernels):
                advice = ("use a 1x1 convolution (kernel size 1): a larger kernel without padding makes the image "
                          "smaller")
            else:
                advice = "check the stride and padding of your convolution"
            raise Wrong(f"shape mismatch for c_in={c_in}, c_out={c_out}, stride={stride}: the residual branch gives "
                        f"{branch} but your shortcut gives {tuple(sx.shape)}, so F(x) + shortcut(x) cannot be added: {advice}.")
        if (c_in != c_out or stride != 1) and (x < 0).any() and not (sx < 0).any():
            raise Wrong(f"for c_in={c_in}, c_out={c_out}, stride={stride} your shortcut has no negative values: does "
                        "it end with a ReLU? The shortcut is a projection only (1x1 convolution, batch norm); the "
                        "block's ReLU comes after the sum F(x) + shortcut(x).")
        return not (c_in == c_out and stride == 1) or bool(torch.equal(sx, x))  # an identity passes x unchanged

    def verify(self, fn):
        wasteful, changes = False, None
        for c_in, c_out, stride in self._CASES:
            module = call(fn, c_in, c_out, stride, what="`make_shortcut`")
            passes = self._check_module(module, c_in, c_out, stride)
            self._check_module(module, c_in, c_out, stride, size=7)  # an odd size: ceil(7 / 2) = 4
            if c_in == c_out and stride == 1 and any(p.requires_grad for p in module.parameters()):
                wasteful = True
            if not passes and changes is None:
                changes = self._changes_x(module, c_in)
        if wasteful:
            raise Wrong("when the shapes already agree (c_in == c_out, stride 1), use the identity (nn.Identity()): a "
                        "parameter-free shortcut lets the block start as the identity and costs nothing.")
        if changes:
            raise Wrong(changes)
        return "identity where the shapes agree, a projection where they do not (ResNet's 'option B')."


def _bottleneck_count(c_in, c_mid, stride=1, expansion=4, *, bn=2, bias=False, k3=9, projection="auto",
                      proj_bn=True, c_last=None, proj_k=1, proj_test="out"):
    """The parameters of a bottleneck block, with one typical mistake switched on (the defaults: right)."""
    c_out = expansion * c_mid
    c_last = c_out if c_last is None else c_last
    convs = [(c_in, c_mid, 1), (c_mid, c_mid, k3), (c_mid, c_last, 1)]
    needed = {"out": c_in != c_out or stride != 1, "channels": c_in != c_out,
              "mid": c_in != c_mid or stride != 1, "four": c_in != 4 * c_mid or stride != 1,
              "and": c_in != c_out and stride != 1}[proj_test]
    if projection is True or (projection == "auto" and needed):
        convs.append((c_in, c_last, proj_k))
        norms = [c_mid, c_mid, c_last] + ([c_last] if proj_bn else [])
    else:
        norms = [c_mid, c_mid, c_last]
    total = sum(a * b * k for a, b, k in convs) + bn * sum(norms)
    return total + (sum(b for _, b, _ in convs) if bias else 0)


_FREE_IDENTITY = ("here the block keeps the shape of x (c_in equals the output channels, expansion * c_mid, and the "
                  "stride is 1), so the shortcut is the identity, which costs nothing. A projection is needed only "
                  "when c_in differs from the OUTPUT channels (not from c_mid) or the stride is not 1.")


class BottleneckParams(Exercise):
    name = "bottleneck_params"
    title = "Exercise 4 — count the parameters of a bottleneck block"
    hints = (
        "Count layer by layer and add up. A convolution without bias has (output channels) x (input channels) x "
        "(kernel height) x (kernel width) weights; a batch norm has two learned numbers per channel, its scale "
        "gamma and its shift beta (the running mean and variance are statistics, not parameters).",
        "The three convolutions: 1x1 from c_in to c_mid, 3x3 from c_mid to c_mid (nine weights per pair of "
        "channels), 1x1 from c_mid to expansion times c_mid; each is followed by a batch norm over its own output "
        "channels, and none has a bias, since the batch norm's beta already shifts every channel.",
        "Last, the shortcut. It is free (the identity) when the block keeps the shape: c_in equal to the output "
        "channels, expansion * c_mid, and stride 1. Otherwise it is a 1x1 projection from c_in to the output "
        "channels followed by a batch norm of its own, which makes one more set of weights and of gammas and betas.",
    )
    solution_code = """
        def bottleneck_params(c_in, c_mid, stride=1, expansion=4):
            c_out = expansion * c_mid
            convs = c_in * c_mid + 9 * c_mid * c_mid + c_mid * c_out     # 1x1, 3x3, 1x1 (no biases)
            norms = 2 * (c_mid + c_mid + c_out)                         # gamma and beta of each channel
            if c_in != c_out or stride != 1:                            # a projection shortcut: 1x1 conv + BN
                convs += c_in * c_out
                norms += 2 * c_out
            return convs + norms
    """
    # an identity shortcut; a projection for the channels; for the channels and the stride; for the stride
    # alone (512 = 4 x 128); and an expansion other than 4, with a projection and with an identity (32 = 2 x 16).
    _CASES = [(256, 64, 1, 4), (64, 64, 1, 4), (256, 128, 2, 4), (512, 128, 2, 4), (48, 16, 1, 2), (32, 16, 1, 2)]
    _MISTAKES = (
        (dict(bn=0), "you left out the batch norms: each one has two learned numbers per channel, its scale gamma "
         "and its shift beta (one batch norm after every convolution, the projection's included)."),
        (dict(bn=4), "you counted 4 numbers per batch-norm channel: the running mean and variance are statistics "
         "(buffers), not parameters; only gamma and beta are learned, 2 per channel."),
        (dict(bn=1), "you counted 1 number per batch-norm channel: a batch norm learns two, a scale gamma and a "
         "shift beta."),
        (dict(bias=True), "you gave the convolutions a bias: in ResNet every convolution is followed by a batch norm "
         "(bias=False), whose shift beta makes a bias useless, so there is none to count."),
        (dict(k3=3), "the 3x3 convolution has 3 x 3 = 9 weights per pair of channels, not 3: count c_mid * c_mid * 9."),
        (dict(k3=1), "the middle convolution is 3x3: it has 9 weights per pair of channels (c_mid * c_mid * 9), "
         "not 1 as the 1x1 ones."),
        (dict(proj_test="channels"), "a stride of 2 halves the height and width, so the shortcut needs a "
         "projection even when c_in equals the output channels (e.g. c_in = 512, c_mid = 128, stride 2): test "
         "`stride != 1` as well."),
        (dict(proj_test="four"), "the shortcut test compares c_in with 4 * c_mid: the output has expansion * "
         "c_mid channels, so compare c_in with `expansion * c_mid` (with expansion = 2, c_in = 32 and c_mid = 16 "
         "the block keeps the shape and the shortcut is the identity)."),
        (dict(proj_test="and"), "a projection is needed when the channels change OR the stride is not 1 (either "
         "one is enough, e.g. c_in = 64, c_mid = 64, stride 1 changes 64 channels to 256): use `or`, not `and`."),
        (dict(projection=False), "you forgot the projection shortcut: when the block changes the shape of x "
         "(c_in != expansion * c_mid, or stride != 1), the shortcut is a 1x1 convolution from c_in to the output "
         "channels with its own batch norm, and those parameters count."),
        (dict(projection=True), _FREE_IDENTITY),
        (dict(proj_test="mid"), _FREE_IDENTITY),
        (dict(proj_bn=False), "the projection shortcut is a 1x1 convolution AND a batch norm over the output "
         "channels (2 parameters per channel): add the batch norm."),
        (dict(proj_k=9), "the projection shortcut is a 1x1 convolution (c_in * c_out weights), not a 3x3 one."),
    )

    def reference(self):
        return _bottleneck_count

    def fresh_args(self, rng):
        c_mid, expansion = int(rng.integers(2, 65)), int(rng.choice([2, 4, 4, 4]))
        c_in = expansion * c_mid if rng.random() < 0.4 else int(rng.integers(2, 300))
        return c_in, c_mid, int(rng.choice([1, 1, 2])), expansion

    def fresh_compare(self, out, want):
        got = self._count(out, "the result")
        if got != want:
            raise Wrong(f"the count is {got:,} but it should be {want:,}.")

    @staticmethod
    def _count(value, what):
        if isinstance(value, (tuple, list, dict)):
            raise Wrong(f"{what} should be one whole number, the total, but it is a {type(value).__name__}: "
                        "add the parts up.")
        arr = as_array(value, what)
        check_shape(arr, (), what)
        check_finite(arr, what)
        got = float(arr)
        if got != round(got):
            raise Wrong(f"{what} is {got:g}, not a whole number: a parameter count is a number of weights. "
                        "Is there a division (`/`) in it?")
        return int(round(got))

    def verify(self, fn):
        gots = [self._count(call(fn, *args, what="`bottleneck_params`"), "bottleneck_params({}, {}, {}, {})".format(*args))
                for args in self._CASES]
        for (c_in, c_mid, stride, expansion), got in zip(self._CASES, gots):
            case = f"bottleneck_params({c_in}, {c_mid}, {stride}, {expansion})"
            want = _bottleneck_count(c_in, c_mid, stride, expansion)
            if got == want:
                continue
            if expansion != 4 and got == _bottleneck_count(c_in, c_mid, stride, 4):
                raise Wrong(f"{case} is {got:,}, the count for an expansion of 4: use the argument `expansion`, "
                            "the output has expansion * c_mid channels.")
            if got in (_bottleneck_count(c_in, c_mid, stride, 1), _bottleneck_count(c_in, c_mid, stride, expansion, c_last=c_in)):
                raise Wrong(f"{case} is {got:,}: the last 1x1 convolution must EXPAND the channels, from c_mid to "
                            f"expansion * c_mid ({expansion * c_mid} here), not keep c_mid nor go back to c_in; its "
                            "batch norm and the shortcut then have that many output channels too.")
            for mistake, message in self._MISTAKES:      # named only if it explains every case (no coincidences)
                if all(g == _bottleneck_count(*args, **mistake) for args, g in zip(self._CASES, gots)):
                    raise Wrong(f"{case} is {got:,}, but it should be {want:,}: {message}")
            raise Wrong(f"{case} is {got:,}, but it should be {want:,}. Write the count as a sum of its parts "
                        "(three convolutions, three batch norms, and the shortcut) and print each part.")
        return ("Bottleneck(256, 64) has 70,400 parameters: less than one basic block at 64 channels (73,984), with "
                "three layers instead of two and four times the channels at its ends.")


class ResidualBlock(Exercise):
    name = "residual_block"
    title = "Exercise 5 — build it: the forward pass of a residual block"
    hints = (
        "Follow the block's formula: out = ReLU(F(x) + s(x)), with F(x) = BN2(conv2(ReLU(BN1(conv1(x))))). Both "
        "convolutions are 3x3 with padding 1 and no bias, and the FIRST one carries the stride. The shortcut s(x) "
        "is x itself, unless params has the key 'shortcut.0.weight': then it is that 1x1 convolution (with the "
        "block's stride, no padding), followed by the batch norm whose values start with 'shortcut.1.'.",
        "`F.conv2d(z, weight, stride=..., padding=...)` convolves with given weights. A batch norm in eval mode "
        "uses the stored statistics, per channel: (z - running_mean) / sqrt(running_var + 1e-5) * weight + bias "
        "(that is `F.batch_norm(z, running_mean, running_var, weight, bias, training=False)`). A small helper "
        "`bn(z, prefix)` that looks up the four values under prefix + '.running_mean' etc. saves a lot of typing.",
        "The statistics have shape (C,): to act on the channel axis of a (N, C, H, W) tensor they need the shape "
        "(1, C, 1, 1) (`v[None, :, None, None]`; `F.batch_norm` does that for you). Use the running statistics, "
        "never the batch's own mean and variance. And the last ReLU comes AFTER adding the shortcut.",
    )
    solution_code = """
        def residual_block(x, params, stride):
            def bn(z, prefix):    # batch norm in eval mode: the stored running statistics
                return F.batch_norm(z, params[prefix + ".running_mean"], params[prefix + ".running_var"],
                                    params[prefix + ".weight"], params[prefix + ".bias"], training=False, eps=1e-5)

            out = F.relu(bn(F.conv2d(x, params["conv1.weight"], stride=stride, padding=1), "bn1"))
            out = bn(F.conv2d(out, params["conv2.weight"], padding=1), "bn2")        # F(x)
            shortcut = x                                                             # the identity...
            if "shortcut.0.weight" in params:                                        # ...or the projection
                shortcut = bn(F.conv2d(x, params["shortcut.0.weight"], stride=stride), "shortcut.1")
            return F.relu(out + shortcut)
    """

    def reference(self):
        return _block_reference

    def fresh_args(self, rng):
        c_in, stride = int(rng.integers(1, 7)), int(rng.integers(1, 3))
        c_out = c_in if rng.random() < 0.4 else int(rng.integers(1, 7))
        return _block_case(rng, int(rng.integers(1, 4)), c_in, c_out, int(rng.integers(3, 10)),
                           int(rng.integers(3, 10)), stride)

    def verify(self, fn):
        rng = np.random.default_rng(95)
        # an identity shortcut first, then a projection with stride 2 on an odd-sized input. The channel
        # counts (5; 3 -> 6) are no width that a convolution of these inputs can produce, so that a
        # size in PyTorch's "must match" error tells a per-channel vector from a wrong width.
        for args in (_block_case(rng, 2, 5, 5, 8, 8, 1), _block_case(rng, 2, 3, 6, 7, 7, 2)):
            self._verify_one(fn, *args)
        return "the same output as mlcourse.models.resnet.BasicBlock in eval mode, with the same weights."

    def _verify_one(self, fn, x, params, stride):
        _, c_in, H, W = x.shape
        c_out = params["conv1.weight"].shape[0]
        proj = "shortcut.0.weight" in params
        case = (f"for x of shape {tuple(x.shape)}, {c_in} -> {c_out} channels, stride {stride} "
                f"({'projection' if proj else 'identity'} shortcut)")
        want = _block_reference(x, params, stride).numpy()
        try:
            got = call(fn, x, {k: v.clone() for k, v in params.items()}, stride, what="`residual_block`")
        except Wrong as exc:
            text = str(exc)
            if "must match the size" not in text and "broadcast" not in text:
                raise
            text = text.split(" Run it on a small example")[0].split(" Read the two shapes")[0].rstrip(".")
            sizes = [int(v) for v in re.findall(r"tensor [ab] \((\d+)\)", text)]
            if len(sizes) == 2 and (sizes[0] in (c_in, c_out)) != (sizes[1] in (c_in, c_out)) and "dimension 3" in text:
                fix = ("a value per channel (shape (C,), like running_mean) was lined up with the LAST axis, the width. "
                       "Reshape such vectors to (1, C, 1, 1) with `v[None, :, None, None]` so that they act on the "
                       "channel axis (or use F.batch_norm, which does it for you)")
            elif proj:
                fix = ("most likely F(x) and the shortcut have different shapes. Here params has 'shortcut.0.weight', "
                       "so the shortcut is not x itself: apply that 1x1 convolution with the block's stride and no "
                       "padding (then the batch norm 'shortcut.1') to get F(x)'s shape; and the 3x3 convolutions use "
                       "padding=1")
            else:
                fix = ("most likely F(x) and x have different shapes: the 3x3 convolutions need padding=1 to keep "
                       "the height and width, and stride 1 here")
            raise Wrong(f"{text}. {case[0].upper()}{case[1:]}: {fix}.") from None
        what = "the output of `residual_block`"
        out = as_array(got, what)
        if out.shape != want.shape:
            if out.ndim == 4 and out.shape[:2] == want.shape[:2] and out.shape[2] < want.shape[2]:
                raise Wrong(f"wrong shape {case}: expected {want.shape}, got {tuple(out.shape)}, smaller than F(x) "
                            "should be. A 3x3 convolution without padding loses 2 pixels: use padding=1 in both.")
            check_shape(out, want.shape, what + f" {case}")
        if np.isnan(out).any():
            raise Wrong(f"the output contains NaN {case}. A square root of a negative number? running_var is never "
                        "negative, but weight and bias can be: check which value goes where, e.g. the order of "
                        "F.batch_norm's arguments: (input, running_mean, running_var, weight, bias).")
        check_finite(out, what)
        if np.allclose(out, want, rtol=1e-4, atol=1e-5):
            return
        variants = [
            ("batch_stats", "you normalised with the batch's own mean and variance (training mode). A trained block "
             "in eval mode uses the stored statistics params['...running_mean'] and params['...running_var']."),
            ("batch_stats_unbiased", "you normalised with the batch's own mean and variance (training mode). A "
             "trained block in eval mode uses the stored statistics params['...running_mean'] and "
             "params['...running_var']."),
            ("eps_1e3", "batch norm's eps is 1e-5 (PyTorch's default), not 1e-3 (Keras's default)."),
            ("eps_outside", "eps goes inside the square root: sqrt(running_var + 1e-5)."),
            ("no_sqrt", "batch norm divides by the standard deviation: sqrt(running_var + 1e-5), not by the variance."),
            ("relu_before_sum", "the ReLU goes AFTER the sum: ReLU(F(x) + s(x)). F(x) itself ends with the second "
             "batch norm, without a ReLU."),
            ("no_final_relu", "you forgot the ReLU after the sum: the block returns ReLU(F(x) + s(x)) (no negative "
             "values)."),
            ("no_inner_relu", "F(x) needs a ReLU between the two convolutions: conv1 -> BN1 -> ReLU -> conv2 -> BN2."),
            ("no_shortcut", "you forgot the shortcut: add s(x) (x itself, or the projection) to F(x) before the last "
             "ReLU."),
            ("stride_on_conv2", f"the stride ({stride}) belongs to the FIRST 3x3 convolution (and to the projection), "
             "not to the second."),
            ("proj_no_bn", "the projection is a 1x1 convolution followed by its own batch norm (the values "
             "'shortcut.1.weight', 'shortcut.1.bias', 'shortcut.1.running_mean', 'shortcut.1.running_var')."),
        ]
        for flag, message in variants:
            alt = _block_functional(x, params, stride, **{flag: True})
            if alt is not None and alt.shape == out.shape and np.allclose(out, alt, rtol=1e-4, atol=1e-5):
                raise Wrong(f"{message} ({case}.)")
        check_close(out, want, what + f" {case}")


def _block_case(rng, n, c_in, c_out, h, w, stride):
    """Random x and block parameters (the names of BasicBlock's state_dict), as float32 tensors."""
    import torch

    from ..models.resnet import BasicBlock

    with torch.random.fork_rng(devices=[]):   # building the block draws its initial weights: keep the global RNG
        names = {k: tuple(v.shape) for k, v in BasicBlock(c_in, c_out, stride).state_dict().items()
                 if not k.endswith("num_batches_tracked")}
    params = {}
    for k, shape in names.items():
        if k.endswith("conv1.weight") or k.endswith("conv2.weight") or k.endswith("0.weight"):
            value = rng.normal(size=shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        elif k.endswith("running_var"):
            value = rng.uniform(0.3, 2.0, size=shape)
        elif k.endswith("running_mean"):
            value = rng.normal(size=shape) * 0.5
        elif k.endswith(".weight"):    # a batch norm's scale gamma
            value = rng.uniform(0.5, 1.5, size=shape)
        else:                          # a batch norm's shift beta
            value = rng.normal(size=shape) * 0.5
        params[k] = torch.from_numpy(value.astype(np.float32))
    x = torch.from_numpy(rng.normal(size=(n, c_in, h, w)).astype(np.float32))
    return x, params, stride


def _block_reference(x, params, stride):
    """mlcourse's own BasicBlock, the parameters copied in, in eval mode (float64 output)."""
    import torch

    from ..models.resnet import BasicBlock

    c_out, c_in = params["conv1.weight"].shape[:2]
    with torch.random.fork_rng(devices=[]):
        block = BasicBlock(c_in, c_out, stride, shortcut="projection" if "shortcut.0.weight" in params else "identity")
    block.double()                              # in float64: the reference has no rounding error to speak of
    missing, unexpected = block.load_state_dict(params, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    block.eval()
    with torch.no_grad():
        return block(x.double())


def _block_functional(x, p, stride, batch_stats=False, batch_stats_unbiased=False, eps_1e3=False,
                      eps_outside=False, no_sqrt=False, relu_before_sum=False, no_final_relu=False,
                      no_inner_relu=False, no_shortcut=False, stride_on_conv2=False, proj_no_bn=False):
    """The block written out, with one typical mistake switched on (None if it cannot run)."""
    import torch
    import torch.nn.functional as F

    def bn(z, prefix):
        c = lambda v: v[None, :, None, None]  # noqa: E731
        if batch_stats or batch_stats_unbiased:
            mean, var = z.mean((0, 2, 3)), z.var((0, 2, 3), unbiased=batch_stats_unbiased)
        else:
            mean, var = p[prefix + ".running_mean"], p[prefix + ".running_var"]
        eps = 1e-3 if eps_1e3 else 1e-5
        scale = (c(var) + eps) if no_sqrt else torch.sqrt(c(var)) + eps if eps_outside else torch.sqrt(c(var) + eps)
        return (z - c(mean)) / scale * c(p[prefix + ".weight"]) + c(p[prefix + ".bias"])

    s1, s2 = (1, stride) if stride_on_conv2 else (stride, 1)
    try:
        with torch.no_grad():
            h = bn(F.conv2d(x, p["conv1.weight"], stride=s1, padding=1), "bn1")
            h = bn(F.conv2d(h if no_inner_relu else torch.relu(h), p["conv2.weight"], stride=s2, padding=1), "bn2")
            if relu_before_sum:
                h = torch.relu(h)
            s = x
            if "shortcut.0.weight" in p:
                s = F.conv2d(x, p["shortcut.0.weight"], stride=stride)
                s = s if proj_no_bn else bn(s, "shortcut.1")
            out = h if no_shortcut else h + s
            return (out if no_final_relu or relu_before_sum else torch.relu(out)).numpy()
    except RuntimeError:
        return None


q1, q2, q3, q4, q5 = IoU(), MeanIoU(), Shortcut(), BottleneckParams(), ResidualBlock()
ALL = [q1, q2, q3, q4, q5]
