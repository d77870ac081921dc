"""Exercises of Day 09 -- IoU and Dice, residual shortcuts, mean IoU of a segmentation."""

from __future__ import annotations

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


def _scalar(value, what):
    arr = as_array(value, what)
    check_shape(arr, (), what)
    check_finite(arr, what)
    return float(arr)


class IoU(Exercise):
    name = "iou"
    title = "Exercise 1 — intersection over union"
    hints = (
        "For boolean arrays, `a & b` is the intersection (pixels in both) and `a | b` the union (pixels in either).",
        "IoU = (pred & true).sum() / (pred | true).sum(); when the union is empty (both masks empty) return 1.0.",
    )
    solution_code = """
        def iou(pred, true):
            union = (pred | true).sum()
            return 1.0 if union == 0 else (pred & true).sum() / union
    """

    def reference(self):
        return _iou

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
        check_close(got, want, "iou(pred, true)")
        empty = np.zeros((4, 4), bool)
        got0 = as_array(call(fn, empty, empty.copy(), what="`iou`"), "iou of two empty masks")
        if got0.shape != () or not np.isfinite(got0) or not np.isclose(got0, 1.0):
            raise Wrong("two empty masks agree perfectly, but the union is empty (0/0): return 1.0 in that case.")
        return "1 means a perfect overlap, 0 no overlap at all."


class Dice(Exercise):
    name = "dice"
    title = "Exercise 2 — the Dice coefficient"
    hints = (
        "Dice = 2 * |A ∩ B| / (|A| + |B|): twice the overlap divided by the total size of both masks.",
        "`2 * (pred & true).sum() / (pred.sum() + true.sum())`, and 1.0 when both masks are empty.",
    )
    solution_code = """
        def dice(pred, true):
            total = pred.sum() + true.sum()
            return 1.0 if total == 0 else 2 * (pred & true).sum() / total
    """

    def reference(self):
        return _dice

    def verify(self, fn):
        got = _scalar(call(fn, _A.copy(), _B.copy(), what="`dice`"), "dice(pred, true)")
        want = _dice(_A, _B)
        if np.isclose(got, _iou(_A, _B)):
            raise Wrong("that is the IoU. Dice divides twice the intersection by |A| + |B|.")
        if np.isclose(got, want / 2):
            raise Wrong("you are off by a factor of 2: Dice has 2 |A∩B| in the numerator, so that two identical masks give 1.")
        check_close(got, want, "dice(pred, true)")
        got0 = as_array(call(fn, np.zeros((3, 3), bool), np.zeros((3, 3), bool), what="`dice`"), "dice of two empty masks")
        if got0.shape != () or not np.isfinite(got0) or not np.isclose(got0, 1.0):
            raise Wrong("two empty masks agree perfectly, but |A| + |B| = 0 (0/0): return 1.0 in that case.")
        return "Dice = 2 IoU / (1 + IoU): it is always at least the IoU."


class Shortcut(Exercise):
    name = "make_shortcut"
    title = "Exercise 3 — the right shortcut for a residual block"
    hints = (
        "The branch F maps (N, c_in, H, W) to (N, c_out, ceil(H/stride), ceil(W/stride)). The shortcut must give the same shape.",
        "If c_in == c_out and stride == 1, `nn.Identity()` works (and costs nothing). Otherwise a 1x1 convolution "
        "`nn.Conv2d(c_in, c_out, 1, stride=stride)` changes the channels and the resolution.",
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

    def verify(self, fn):
        import torch
        from torch import nn

        wasteful = False
        for c_in, c_out, stride in self._CASES:
            module = call(fn, c_in, c_out, stride, what="`make_shortcut`")
            if not isinstance(module, nn.Module):
                raise Wrong(f"make_shortcut({c_in}, {c_out}, {stride}) should return a torch module (e.g. nn.Identity() "
                            f"or nn.Conv2d(...)), but it returned a {type(module).__name__}.")
            x = torch.randn(2, c_in, 14, 14)
            branch = (2, c_out, (14 + stride - 1) // stride, (14 + stride - 1) // stride)
            try:
                with torch.no_grad():
                    sx = module(x)
            except NotImplementedError:
                raise NotAttempted("your module still raises NotImplementedError.") from None
            except Exception as exc:  # the learner's module failed on the input
                raise Wrong(f"for c_in={c_in}, c_out={c_out}, stride={stride} your shortcut failed on an input of shape "
                            f"{tuple(x.shape)}: {type(exc).__name__}: {exc}") from None
            if not isinstance(sx, torch.Tensor):
                raise Wrong(f"your shortcut should return a tensor, but it returned a {type(sx).__name__}.")
            if tuple(sx.shape) != branch:
                advice = ("use a 1x1 convolution to change the number of channels" if sx.shape[1] != c_out
                          else "give the 1x1 convolution the block's stride")
                raise Wrong(f"shape mismatch for c_in={c_in}, c_out={c_out}, stride={stride}: the residual branch gives "
                            f"{branch} but your shortcut gives {tuple(sx.shape)}, so F(x) + shortcut(x) cannot be added: {advice}.")
            if c_in == c_out and stride == 1 and any(p.requires_grad for p in module.parameters()):
                wasteful = True
        if wasteful:
            raise Wrong("when the shapes already agree (c_in == c_out, stride 1), use the identity (nn.Identity()): a "
                            "parameter-free shortcut lets the block start as the identity and costs nothing.")
        return "identity where the shapes agree, a projection where they do not (ResNet's 'option B')."


class MeanIoU(Exercise):
    name = "mean_iou"
    title = "Exercise 4 — mean IoU over classes"
    hints = (
        "For each class c in `classes`, the masks are `pred == c` and `true == c`; compute their IoU over all pixels of all images.",
        "Skip a class when it appears in neither array (its union is empty), then average the IoUs of the other classes.",
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

    @staticmethod
    def _miou(pred, true, classes):
        ious = []
        for c in classes:
            p, t = pred == c, true == c
            union = (p | t).sum()
            if union > 0:
                ious.append((p & t).sum() / union)
        return float(np.mean(ious))

    def reference(self):
        return self._miou

    def verify(self, fn):
        true = _rng.integers(0, 3, size=(5, 8, 8))
        pred = true.copy()
        pred[:, :3] = _rng.integers(0, 3, size=(5, 3, 8))
        pred[0, 0, :4] = 5                                     # class 5 predicted a little, never true
        classes = [1, 2, 4, 5]                                 # class 4 appears nowhere
        got = _scalar(call(fn, pred.copy(), true.copy(), list(classes), what="`mean_iou`"), "mean_iou(...)")
        want = self._miou(pred, true, classes)
        per_image = np.mean([self._miou(p, t, [1, 2, 5]) for p, t in zip(pred, true)])
        if np.isclose(got, np.mean(pred == true)):
            raise Wrong("that is the pixel accuracy; compute one IoU per class and average them.")
        with_absent = [0.0 if c == 4 else _iou(pred == c, true == c) for c in classes]
        if np.isclose(got, np.mean(with_absent)) or np.isclose(got, np.mean([1.0 if c == 4 else v for c, v in zip(classes, with_absent)])):
            raise Wrong("class 4 appears in neither array: its IoU is 0/0. Skip such classes instead of counting them.")
        if np.isclose(got, per_image) and not np.isclose(per_image, want):
            raise Wrong("you averaged per image; count the pixels of all images together for each class, then average over the classes.")
        check_close(got, want, "mean_iou(...)")
        return "each class counts the same, however many pixels it has."


q1, q2, q3, q4 = IoU(), Dice(), Shortcut(), MeanIoU()
ALL = [q1, q2, q3, q4]
