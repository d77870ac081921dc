"""Exercises of Day 12 -- GPT and Llama."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from . import Exercise, NotAttempted, Wrong, _is_blank, _note, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(12)


# --- 1. causal attention weights --------------------------------------------------------------

def _causal_weights(scores: np.ndarray) -> np.ndarray:
    T = scores.shape[-1]
    s = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def _softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    s = s - s.max(axis=axis, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=axis, keepdims=True)


class CausalWeights(Exercise):
    name = "causal_weights"
    title = "Exercise 1 — causal attention weights from raw scores"
    hints = (
        "Row i of `scores` holds query i's scores for the keys 0..T-1. Keys j > i are the future: give "
        "them a score of -inf *before* the softmax, so that their weight becomes exactly 0 (e^-inf = 0) "
        "and the remaining weights of the row still sum to 1.",
        "Build a (T, T) boolean mask that is True on and below the diagonal with `torch.tril` (of a "
        "`torch.ones(T, T, dtype=torch.bool)`), then put `float('-inf')` where the mask is False with "
        "`Tensor.masked_fill` (it fills where its mask is True, so give it the negation `~mask`).",
        "Two details decide it. Keep the diagonal (query i reads key i too: a row of -inf only gives NaN "
        "after the softmax). And take the softmax over the *last* axis, `dim=-1` (the keys): each row, one "
        "query, must sum to 1.",
    )
    solution_code = """
        def causal_weights(scores):
            T = scores.shape[-1]
            mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
            return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    """

    def reference(self):
        import torch

        def causal_weights(scores):
            T = scores.shape[-1]
            mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
            return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        return causal_weights

    def verify(self, fn):
        import torch

        scores = _rng.normal(size=(5, 5))
        out = as_array(call(fn, torch.tensor(scores, dtype=torch.float64), what="`causal_weights`"),
                       "the attention weights")
        check_shape(out, (5, 5), "the attention weights")
        if np.isneginf(out).any():
            raise Wrong("the weights contain -inf: you returned the masked scores. Apply the softmax over the last "
                        "axis to turn them into weights (e^-inf = 0).")
        if np.isnan(out[-1]).all() and np.isfinite(out[:-1]).all() and np.allclose(np.tril(out[:-1]), 0):
            raise Wrong("the mask is the wrong way round: you hid the past (and the diagonal) and kept the future, "
                        "so the last row, which has no future, is all -inf and gives NaN. `masked_fill` fills where "
                        "its mask is True: give it `~mask`, True above the diagonal.")
        if np.isnan(out).any():
            raise Wrong("the weights contain NaN. A whole row of -inf gives NaN after the softmax: is the "
                        "diagonal masked too? Position i must be allowed to read itself.")
        check_finite(out, "the attention weights")
        want = _causal_weights(scores)
        if np.allclose(out, _softmax(scores)):
            raise Wrong("no mask was applied: every query still reads the future keys. Set the scores "
                        "above the diagonal to -inf before the softmax.")
        if np.allclose(out, _softmax(scores) * np.tril(np.ones((5, 5)))):
            raise Wrong("you zeroed the future weights *after* the softmax, so the rows no longer sum to 1. "
                        "Mask the scores with -inf *before* the softmax instead.")
        if np.allclose(out, _softmax(np.where(np.tril(np.ones((5, 5), bool)), scores, -np.inf), axis=0)):
            raise Wrong("the softmax ran over the wrong axis (the queries). Use dim=-1: each query's "
                        "weights over the keys must sum to 1.")
        keep = np.tril(np.ones((5, 5)))
        if np.allclose(out, _softmax(scores * keep)):
            raise Wrong("the future scores were set to 0, not to -inf: e^0 = 1, so the future keys still get weight. "
                        "Fill them with float('-inf') before the softmax.")
        if np.allclose(out, _causal_weights(scores / np.sqrt(5))):
            raise Wrong("the scores were divided by sqrt(T): take the softmax of the scores as they are (the 1/sqrt(d) "
                        "scaling of attention, if any, is already in them, and it is d, the width of a key, not T).")
        if np.abs(np.triu(out, 1)).max() > 1e-9:
            shape = (" Your weights are upper-triangular: rows are queries and columns keys, so query i "
                     "may read keys j <= i (tril, not triu).") if np.abs(np.tril(out, -1)).max() < 1e-9 else ""
            raise Wrong("the future is visible: some weights above the diagonal are not zero." + shape)
        check_close(out, want, "the attention weights", rtol=1e-5, atol=1e-7)
        return "each row sums to 1 and puts zero weight on the future."

    def fresh_args(self, rng):
        import torch

        T = int(rng.integers(2, 9))  # any length, not just the example's 5
        return (torch.from_numpy(rng.normal(scale=2.0, size=(T, T))),)


# --- 2. one BPE merge ----------------------------------------------------------------------

def _merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPEMerge(Exercise):
    name = "bpe_merge_step"
    title = "Exercise 2 — one step of byte-pair encoding"
    hints = (
        "Two steps. First find the most frequent pair of *neighbouring* ids. Then walk through `ids` "
        "from left to right and replace each occurrence of that pair by the single id `new_id`.",
        "`zip(ids, ids[1:])` lists the neighbouring pairs, and `Counter(...).most_common(1)` gives the most "
        "frequent one with its count, as `[(pair, count)]`.",
        "The replacing needs a `while` loop with an index `i` (a `for` loop cannot skip): when `ids[i]` and "
        "`ids[i + 1]` form the pair, append `new_id` and advance by 2; otherwise copy `ids[i]` and advance by 1. "
        "Watch the last id (there is no `ids[i + 1]` after it). Return the pair first, then the new list.",
    )
    solution_code = """
        def bpe_merge_step(ids, new_id):
            pair = Counter(zip(ids, ids[1:])).most_common(1)[0][0]
            out, i = [], 0
            while i < len(ids):
                if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                    out.append(new_id); i += 2
                else:
                    out.append(ids[i]); i += 1
            return pair, out
    """

    def reference(self):
        def bpe_merge_step(ids, new_id):
            pair = Counter(zip(ids, ids[1:])).most_common(1)[0][0]
            return pair, _merge(list(ids), pair, new_id)
        return bpe_merge_step

    def verify(self, fn):
        # "aaab" style trap: (1, 1) occurs in "1 1 1" twice as counted pairs but merges only once there
        ids = [5, 1, 1, 1, 2, 5, 1, 1, 3, 1, 1, 1, 1]
        out = call(fn, list(ids), 9, what="`bpe_merge_step`")  # call() notes an in-place change
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong("return two things: the merged pair and the new list, as `return pair, new_ids`.")
        pair, new = out
        if (hasattr(pair, "__len__") and len(pair) != 2 and hasattr(new, "__len__") and len(new) == 2
                and not hasattr(new[0], "__len__")):
            raise Wrong(f"the two results are in the wrong order: the first value has {len(pair)} ids, so it "
                        f"looks like the merged list, and the second, {tuple(new)!r}, like the pair. Return the "
                        "pair first: `return pair, new_ids`.")
        if isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], tuple) and len(pair[0]) == 2:
            raise Wrong(f"the pair is {pair!r:.60}: that is the (pair, count) of `most_common`. Take the pair alone, "
                        "`Counter(...).most_common(1)[0][0]`.")
        try:
            pair = tuple(int(p) for p in pair)
        except (TypeError, ValueError):
            raise Wrong(f"the pair should be two token ids such as (1, 1), but it is {pair!r:.60}.") from None
        if pair != (1, 1):
            raise Wrong(f"the most frequent adjacent pair is (1, 1), but you chose {pair}. Count pairs of "
                        "*neighbouring* ids with `zip(ids, ids[1:])`.")
        new_arr = as_array(new, "the merged ids")
        if new_arr.ndim != 1:
            raise Wrong(f"the merged ids should be a flat list, but they have shape {new_arr.shape}.")
        got = [int(v) for v in new_arr]
        want = _merge(ids, (1, 1), 9)
        if got == ids:
            raise Wrong("the ids did not change: replace every occurrence of the pair by `new_id`.")
        if len(got) == len(ids):
            raise Wrong("the list has the same length as before: a merge replaces *two* ids by one, so "
                        "skip the second id of the pair (advance by 2).")
        if 9 in got and len(got) < len(want):
            raise Wrong("overlapping pairs were merged more than once: in 1 1 1 only the first two ids form "
                        "a token (9 1). After a merge, continue *after* the pair.")
        if got != want:
            raise Wrong(f"expected {want}, got {got}. Walk from left to right; after a merge skip both ids.")
        wide = [11, 1, 1, 2, 1, 1, 3, 11, 1, 1]  # ids of two digits: 11 is one id, not 1 and 1
        out3 = call(fn, list(wide), 12, what="`bpe_merge_step`")
        got3 = out3[1] if isinstance(out3, (tuple, list)) and len(out3) == 2 else out3
        got3 = [int(v) for v in as_array(got3, "the merged ids").ravel()]
        want3 = _merge(wide, (1, 1), 12)
        if got3 != want3:
            raise Wrong(f"on {wide} (pair (1, 1), new id 12) the merge gives {want3}, but you returned {got3}. Ids are "
                        "whole numbers: 11 is one token, not 1 followed by 1 (a merge done on a text of the ids, with "
                        "str.replace, gets that wrong). Compare the ids themselves.")
        short = [1, 2, 1, 2, 3]  # the last id is not part of a merge: a loop that stops early loses it
        out2 = call(fn, list(short), 7, what="`bpe_merge_step`")
        got2 = [int(v) for v in as_array(out2[1] if isinstance(out2, (tuple, list)) and len(out2) == 2
                                          else out2, "the merged ids").ravel()]
        if got2 == [7, 7]:
            raise Wrong(f"on {short} (pair (1, 2)) you returned {got2}: the last id, 3, is missing. Your loop stops "
                        "one id early; copy the last id too when it is not part of a pair.")
        if got2 != [7, 7, 3]:
            raise Wrong(f"on {short} the pair (1, 2) gives [7, 7, 3], but you returned {got2}.")
        return f"the pair (1, 1) became token 9: {len(ids)} ids -> {len(got)}."

    def fresh_args(self, rng):
        while True:  # a list whose most frequent pair is unique (a tie could be broken either way)
            n_sym = int(rng.integers(2, 5))
            ids = [int(t) for t in rng.integers(0, n_sym, size=int(rng.integers(8, 30)))]
            top = Counter(zip(ids, ids[1:])).most_common(2)
            if len(top) == 1 or top[0][1] > top[1][1]:
                return ids, n_sym + int(rng.integers(0, 50))

    def fresh_compare(self, out, want):
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong("return two things: the merged pair and the new list, as `return pair, new_ids`.")
        try:
            pair, new = tuple(int(p) for p in out[0]), [int(t) for t in out[1]]
        except (TypeError, ValueError):
            raise Wrong("return the pair (two ids) first, then the new list of ids.") from None
        if pair != tuple(want[0]):
            raise Wrong(f"the most frequent adjacent pair is {tuple(want[0])}, but you chose {pair}.")
        if new == list(want[1])[:-1]:
            raise Wrong(f"the merged list should be {list(want[1])}, but yours lacks its last id: copy the last "
                        "id too when it is not part of a pair.")
        if new != list(want[1]):
            raise Wrong(f"the merged list should be {list(want[1])}, but it is {new}.")


# --- 3. RoPE on one pair ---------------------------------------------------------------------

class RopePair(Exercise):
    name = "rope_pair"
    title = "Exercise 3 — rotary position embedding of one 2-D pair"
    hints = (
        "RoPE turns the pair (x1, x2), seen as a point of the plane, by the angle `pos * theta` around the "
        "origin, like the hand of a clock (but counter-clockwise). The angle grows with the position.",
        "A turn by the angle a is the rotation matrix [[cos a, -sin a], [sin a, cos a]] times the column "
        "(x1, x2), where the angle a is the position times theta (`math.cos`, `math.sin`).",
        "Multiply out the matrix row by row: the first result mixes x1 with *minus* x2, the second x1 with "
        "*plus* x2. Two quick checks: pos = 0 must give (x1, x2) back, and the length sqrt(x1² + x2²) "
        "must not change.",
    )
    solution_code = """
        def rope_pair(x1, x2, pos, theta):
            a = pos * theta
            return x1 * math.cos(a) - x2 * math.sin(a), x1 * math.sin(a) + x2 * math.cos(a)
    """

    def reference(self):
        def rope_pair(x1, x2, pos, theta):
            a = pos * theta
            return x1 * math.cos(a) - x2 * math.sin(a), x1 * math.sin(a) + x2 * math.cos(a)
        return rope_pair

    @staticmethod
    def _pair(value):
        """The learner's result as two floats (a tuple, a list, an array or a tensor of two numbers)."""
        if isinstance(value, complex) or np.iscomplexobj(value):
            raise Wrong("you returned a complex number: the rotation as a complex product is a fine idea, but return "
                        "the pair of real numbers, (z.real, z.imag).")
        out = as_array(value, "the rotated pair")
        if out.size != 2:
            raise Wrong(f"return the rotated pair as two numbers (y1, y2), got {out.size} "
                        f"value{'s' if out.size != 1 else ''}.")
        return out.reshape(2)

    def fresh_compare(self, out, want):
        check_close(self._pair(out), np.asarray(want, dtype=float), "the rotated pair", names=("y1", "y2"))

    def verify(self, fn):
        x1, x2, pos, theta = 0.8, -0.3, 3, 0.5
        out = self._pair(call(fn, x1, x2, pos, theta, what="`rope_pair`"))
        check_finite(out, "the rotated pair")
        ref = np.array(self.reference()(x1, x2, pos, theta))
        back = np.array(self.reference()(x1, x2, -pos, theta))
        if np.allclose(out, back):
            raise Wrong("you rotated the wrong way (clockwise): with angle a the pair becomes "
                        "(x1 cos a - x2 sin a, x1 sin a + x2 cos a).")
        if np.allclose(out, self.reference()(x1, x2, 1, theta)):
            raise Wrong("the angle must grow with the position: use `pos * theta`, not `theta` alone.")
        if not np.isclose(np.hypot(*out), np.hypot(x1, x2)):
            raise Wrong(f"a rotation keeps the length of the pair ({np.hypot(x1, x2):.4f}), but yours has "
                        f"length {np.hypot(*out):.4f}. Check the signs and that cos and sin use the same angle.")
        a = pos * theta
        for wrong, message in (
                (ref[::-1], "y1 and y2 are swapped: return (x1 cos a - x2 sin a, x1 sin a + x2 cos a) in this order."),
                ((x1 * math.sin(a) - x2 * math.cos(a), x1 * math.cos(a) + x2 * math.sin(a)),
                 "cos and sin are swapped: the first result is x1 cos a - x2 sin a, so that pos = 0 (cos 0 = 1, "
                 "sin 0 = 0) gives (x1, x2) back."),
                (self.reference()(x1, x2, pos, math.radians(theta)), "theta is already in radians, as math.cos and "
                 "math.sin expect: do not convert it."),
                (self.reference()(x1, x2, 1, pos + theta), "the angle is pos * theta, a product, not pos + theta.")):
            if np.allclose(out, wrong):
                raise Wrong(message)
        check_close(out, ref, "the rotated pair", names=("y1", "y2"))
        # the property RoPE is built for: the dot product depends on the distance only
        q = self._pair(call(fn, 1.0, 0.5, 7, theta, what="`rope_pair`"))
        k = self._pair(call(fn, -0.2, 0.9, 4, theta, what="`rope_pair`"))
        q2 = self._pair(call(fn, 1.0, 0.5, 13, theta, what="`rope_pair`"))
        k2 = self._pair(call(fn, -0.2, 0.9, 10, theta, what="`rope_pair`"))
        if not np.isclose(q @ k, q2 @ k2):
            raise Wrong("the rotated pair is right for one position but not for others.")
        return ("a rotation by pos * theta. Shift query and key by the same number of positions and their "
                f"dot product stays the same ({q @ k:.4f} = {q2 @ k2:.4f}): attention sees relative positions.")

    def fresh_args(self, rng):
        x1, x2 = rng.normal(size=2)
        return float(x1), float(x2), int(rng.integers(0, 100)), float(rng.uniform(0.01, 1.0))


# --- 4. RMSNorm ------------------------------------------------------------------------------

def _name_eps_mistake(got, x, w, eps: float, rtol: float, atol: float) -> None:
    """Raise ``Wrong`` naming the mistake when ``got`` is RMSNorm(x) with eps left out or misplaced."""
    ms = (x ** 2).mean(-1, keepdims=True)
    for wrong, message in (
            (x / np.sqrt(ms) * w, "eps is missing: add it to the mean square before the square root, "
             "sqrt(mean(x²) + eps); it keeps a row of zeros (or tiny values) from dividing by 0."),
            (x / (np.sqrt(ms) + eps) * w, "eps goes *inside* the square root: sqrt(mean(x²) + eps), not "
             "sqrt(mean(x²)) + eps."),
            (x / np.sqrt(ms + 1e-5) * w, f"use the argument `eps` (here {eps:g}), not a fixed 1e-5."),
            (x / np.sqrt(ms + 1e-6) * w, f"use the argument `eps` (here {eps:g}), not a fixed number.")):
        if eps != 1e-5 or "fixed 1e-5" not in message:          # with eps = 1e-5, a fixed 1e-5 is right
            if np.allclose(got, wrong, rtol=rtol, atol=atol):
                raise Wrong(message)


class RMSNormEx(Exercise):
    name = "my_rms_norm"
    title = "Exercise 4 — RMSNorm"
    hints = (
        "RMSNorm rescales each row of `x` (one position's C features) so that its root mean square is 1, "
        "then multiplies by the learned scale `weight`. Unlike LayerNorm it does not subtract the mean.",
        "The root mean square of a row is sqrt(mean(x²) + eps): square, average over the C features "
        "(`.mean(dim=-1, ...)`), add eps, take the square root (`torch.sqrt`). Divide x by it.",
        "Shapes: `x` is (N, C). Average with `keepdim=True`, so that the (N, 1) result divides every row "
        "by its own number (broadcasting); `weight` (C,) then multiplies every row alike.",
    )
    solution_code = """
        def my_rms_norm(x, weight, eps=1e-5):
            return x / torch.sqrt((x ** 2).mean(dim=-1, keepdim=True) + eps) * weight
    """

    def reference(self):
        def my_rms_norm(x, weight, eps=1e-5):
            return x / ((x ** 2).mean(-1, keepdims=True) + eps) ** 0.5 * weight
        return my_rms_norm

    def verify(self, fn):
        import torch

        x = _rng.normal(loc=0.7, size=(3, 6))
        w = _rng.uniform(0.5, 1.5, size=6)
        try:
            out = call(fn, torch.tensor(x), torch.tensor(w), 1e-5, what="`my_rms_norm`")
        except Wrong as exc:
            if "must match the size of tensor" in str(exc):
                raise Wrong(f"{exc} {self._which_shape(fn)}") from None
            raise
        if isinstance(out, list) and out and all(isinstance(row, list) for row in out):
            raise Wrong("`my_rms_norm` returned a nested list (from `.tolist()`?); return the tensor itself, of the "
                        "same shape as x.")
        if isinstance(out, (tuple, list)):
            values = f"{len(out)} value" + "s" * (len(out) != 1)
            raise Wrong(f"`my_rms_norm` returned a {type(out).__name__} of {values}; return only the normalised x, "
                        "one tensor of the same shape as x.")
        if isinstance(out, np.ndarray):
            _note("`my_rms_norm` returns a NumPy array. The values are checked, but inside a model the result must "
                  "stay a torch tensor (autograd and the GPU see only tensors): use torch functions, e.g. "
                  "`torch.sqrt`, and no `.numpy()`.")
        if isinstance(out, torch.Tensor) and out.dtype in (torch.bfloat16, torch.float16):
            raise Wrong(f"the result is {out.dtype}, which keeps only 2 to 3 significant digits (bfloat16) or about "
                        "3 (float16), so it cannot match the answer: compute in x's own dtype (no `.bfloat16()` or "
                        "`.half()`).")
        out = as_array(out, "the normalised x")
        check_shape(out, (3, 6), "the normalised x")
        check_finite(out, "the normalised x")
        want = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5) * w
        xc = x - x.mean(-1, keepdims=True)
        if np.allclose(out, xc / np.sqrt(xc.var(-1, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("that is LayerNorm: RMSNorm does not subtract the mean, it only divides by the "
                        "root mean square.")
        if np.allclose(out, x / np.sqrt((x ** 2).mean(0, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("you averaged over the wrong axis, dim 0 (down each column). Normalise each row: mean over "
                        "dim=-1 with keepdim=True.")
        if np.allclose(out, x / np.sqrt((x ** 2).sum(-1, keepdims=True) + 1e-5) * w, atol=1e-6) or \
                np.allclose(out, x / np.linalg.norm(x, axis=-1, keepdims=True) * w, atol=1e-6):
            raise Wrong("you divided by the length of each row, the square root of the *sum* of squares. RMSNorm "
                        "uses the *mean* of the squares (the sum divided by C): `.mean(dim=-1, keepdim=True)`.")
        if np.allclose(out, x / np.sqrt((x ** 2).mean() + 1e-5) * w, atol=1e-6):
            raise Wrong("you averaged the squares of the whole tensor, so every row was divided by the same number. "
                        "Normalise each row on its own: `.mean(dim=-1, keepdim=True)`.")
        if np.allclose(out, want / w + w, atol=1e-6):
            raise Wrong("the scale `weight` multiplies the normalised x; you added it.")
        if any(np.allclose(out, x / np.sqrt(x.var(-1, ddof=k, keepdims=True) + 1e-5) * w, atol=1e-6) for k in (0, 1)):
            raise Wrong("you divided by the standard deviation, which measures the spread around the mean. RMSNorm "
                        "divides by the root mean square, sqrt(mean(x²) + eps), with no mean subtracted.")
        if np.allclose(out, want / w, atol=1e-6):
            raise Wrong("the scale `weight` is missing: multiply the normalised x by it.")
        if np.allclose(out, x / ((x ** 2).mean(-1, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("you divided by the mean square; take its square root (the *root* mean square).")
        # eps changes ordinary rows only in the 5th decimal or so: a float64 answer is compared tightly first,
        # so that a misplaced eps is named here, whatever rows were drawn
        if not np.allclose(out, want, rtol=1e-9, atol=0):
            _name_eps_mistake(out, x, w, 1e-5, rtol=1e-9, atol=0)
        check_close(out, want, "the normalised x", rtol=1e-5, atol=1e-7)
        # a row of small numbers, whose mean square (~1e-6) is smaller than eps: there eps matters
        small = x * 1e-3
        for eps in (1e-5, 1e-2):
            got = as_array(call(fn, torch.tensor(small), torch.tensor(w), eps, what="`my_rms_norm`"), "the normalised x")
            check_shape(got, (3, 6), f"my_rms_norm(x, weight, eps={eps:g})")
            right = small / np.sqrt((small ** 2).mean(-1, keepdims=True) + eps) * w
            if np.allclose(got, right, rtol=1e-4, atol=1e-9):
                continue
            _name_eps_mistake(got, small, w, eps, rtol=1e-4, atol=1e-9)
            check_close(got, right, f"my_rms_norm(x, weight, eps={eps:g}) on small x (mean square ~1e-6)", rtol=1e-4)
        return "each row now has a root mean square of 1 (before the learned scale)."

    @staticmethod
    def _which_shape(fn) -> str:
        """Name the broadcasting mistake behind a size error, from a run on a square x (where both run)."""
        import torch

        rng = np.random.default_rng(12)                       # its own draws: the check's stay as they were
        x, w = rng.normal(loc=0.7, size=(6, 6)), rng.uniform(0.5, 1.5, size=6)
        ms = (x ** 2).mean(-1) + 1e-5
        try:
            got = as_array(call(fn, torch.tensor(x), torch.tensor(w), 1e-5, what="`my_rms_norm`"))
        except (Wrong, NotAttempted):
            got = None
        if got is not None and got.shape == (6, 6):
            if np.allclose(got, x / np.sqrt(ms)[:, None] * w[:, None], atol=1e-6):
                return ("Here the normalisation is right, but `weight` was made a column: it holds one scale "
                        "per feature (per column of x), so multiply by it as it is, shape (C,), and it "
                        "broadcasts over the rows.")
            if np.allclose(got, x / np.sqrt(ms)[None, :] * w, atol=1e-6):
                return ("Here x is (3, 6) and the mean over the last axis is (3,), which cannot divide a (3, 6) "
                        "tensor: keep the axis with `keepdim=True` to get (3, 1).")
        return ("Here x is (3, 6) and `weight` is (6,). The mean over the last axis must keep its axis, (3, 1) "
                "with `keepdim=True`, and `weight` needs no reshaping: it broadcasts over the rows as it is.")

    def fresh_args(self, rng):
        import torch

        n, c = int(rng.integers(1, 7)), int(rng.integers(2, 12))
        x = torch.from_numpy(rng.normal(loc=rng.normal(), size=(n, c)))
        return x, torch.from_numpy(rng.uniform(0.5, 1.5, size=c)), 1e-5


# --- 5. build it: one attention step with a KV cache ----------------------------------------

def _attend(q, K, V, scale=None):
    """Attention of the queries ``q`` (..., 1, d) over all the keys K and values V (no mask)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    return _softmax(q @ np.swapaxes(K, -1, -2) * scale) @ V


class KVCacheStep(Exercise):
    name = "kv_attention_step"
    title = "Exercise 5 — build it: one attention step with a KV cache"
    hints = (
        "The caches hold the keys and values of the T positions already generated. The new token adds its "
        "own key and value at the *end* of the time axis, and then its query attends to all T + 1 keys. "
        "No mask is needed: everything in the cache is in the past, and the token may read itself.",
        "Grow each cache with `torch.cat` along the time axis, `dim=2`. Then it is the attention of "
        "section 5.2 for one query: softmax(q Kᵀ / √d) V, where Kᵀ is `K.transpose(-2, -1)` and d is "
        "`q.shape[-1]`.",
        "Follow the shapes: q (B, H, 1, d) @ Kᵀ (B, H, d, T+1) gives the scores (B, H, 1, T+1); the softmax "
        "runs over the last axis (the keys); the weights @ V (B, H, T+1, d) give (B, H, 1, d). If you use "
        "`F.scaled_dot_product_attention`, do not pass `is_causal=True`: with one query PyTorch aligns its "
        "mask to the top left, and the new token would see position 0 only.",
    )
    solution_code = """
        def kv_attention_step(K, V, q, k, v):
            K = torch.cat([K, k], dim=2)                        # (B, H, T+1, d): the new key at the end
            V = torch.cat([V, v], dim=2)
            scores = q @ K.transpose(-2, -1) / math.sqrt(q.shape[-1])   # (B, H, 1, T+1)
            out = scores.softmax(dim=-1) @ V                    # (B, H, 1, d)
            return out, K, V
    """

    def reference(self):
        import torch

        def kv_attention_step(K, V, q, k, v):
            K = torch.cat([K, k], dim=2)
            V = torch.cat([V, v], dim=2)
            scores = q @ K.transpose(-2, -1) / math.sqrt(q.shape[-1])
            return scores.softmax(dim=-1) @ V, K, V
        return kv_attention_step

    @staticmethod
    def _run(fn, K, V, q, k, v):
        """Call the learner's step; return (out, K, V) as NumPy arrays, or explain what is wrong."""
        import torch

        T = K.shape[2]
        args = [torch.from_numpy(a) for a in (K, V, q, k, v)]
        try:
            res = call(fn, *args, what="`kv_attention_step`")
        except Wrong as exc:
            if "Sizes of tensors must match" in str(exc):
                raise Wrong(f"`torch.cat` could not join the cache and the new key along the axis you chose. It "
                            "joins tensors along one axis, and all the other axes must be equal: the cache "
                            f"(B, H, {T}, d) and the new key (B, H, 1, d) differ only on axis 2, the time "
                            "axis. Concatenate along `dim=2`.") from None
            if "stack expects each tensor" in str(exc):
                raise Wrong("`torch.stack` puts tensors of the *same* shape side by side along a new axis; to make the "
                            "time axis of the cache longer, join along the existing axis with `torch.cat([K, k], "
                            "dim=2)`.") from None
            if "must match the size of tensor" in str(exc):
                raise Wrong(f"{str(exc).split(' Run it on')[0]} If you wrote `K.T`: on a 4-D tensor it reverses *all* "
                            "the axes. Transpose the last two only, `K.transpose(-2, -1)`, to get (B, H, d, T+1).") from None
            raise
        if not isinstance(res, (tuple, list)) or len(res) != 3:
            got = f"{len(res)} values" if isinstance(res, (tuple, list)) else f"a {type(res).__name__}"
            raise Wrong(f"return three things, the output and the two grown caches: `return out, K, V` "
                        f"(you returned {got}).")
        if any(_is_blank(r) for r in res):
            raise NotAttempted("your function still returns a blank ____.")
        return tuple(as_array(r, what) for r, what in
                     zip(res, ("the output", "the grown key cache", "the grown value cache")))

    def verify(self, fn):
        B, H, T, d = 2, 3, 5, 4
        Q, Kf, Vf = (_rng.normal(size=(B, H, T + 1, d)) for _ in range(3))
        K, V, q, k, v = Kf[:, :, :T], Vf[:, :, :T], Q[:, :, T:], Kf[:, :, T:], Vf[:, :, T:]
        out, K2, V2 = self._run(fn, K, V, q, k, v)
        if out.shape != q.shape and q.shape in (K2.shape, V2.shape):
            raise Wrong(f"the three results are in the wrong order: the output has the shape of q, {q.shape}, "
                        f"and the caches {Kf.shape}. Return the output first: `return out, K, V`.")

        # the caches: (B, H, T+1, d), the new position last
        for got, old, new, want, name in ((K2, K, k, Kf, "key"), (V2, V, v, Vf, "value")):
            what = f"the grown {name} cache"
            if got.shape == old.shape:
                raise Wrong(f"{what} still has {T} positions, shape {old.shape}: append the new {name} "
                            f"(`torch.cat` along dim=2) and return the grown cache, shape {want.shape}.")
            check_shape(got, want.shape, what)
            if np.allclose(got, np.concatenate([new, old], axis=2)):
                raise Wrong(f"in {what} the new {name} comes first. The cache is in the order of the positions: "
                            "the newest position goes at the *end*, `torch.cat([K, k], dim=2)`.")
            if got is K2 and np.allclose(got, Vf):
                raise Wrong("the key cache holds the values: the two caches are swapped. Append k to K and v "
                            "to V, and return `out, K, V` in this order.")
            check_close(got, want, what)

        # the output: the new query's attention over the T cached positions and itself
        want = _attend(q, Kf, Vf)
        check_shape(out, want.shape, "the output")
        check_finite(out, "the output")
        if not np.allclose(out, want, rtol=1e-5, atol=1e-7):
            mistakes = [
                (_attend(q, K, V), "the new token did not attend to itself: its output uses the cached keys "
                 "and values only. Grow the caches *first*, then attend with the grown K and V, masking nothing "
                 "(the new token may read its own key)."),
                (_attend(q, Kf, Vf, 1 / math.sqrt(T + 1)), "the scores were divided by √(T + 1), the number of "
                 "positions; divide by √d, the width of a key, `math.sqrt(q.shape[-1])`."),
                (np.broadcast_to(Vf[:, :, :1], want.shape), "the new token read position 0 only. That is what "
                 "`is_causal=True` does with a single query: PyTorch aligns the causal mask to the top left. "
                 "Drop it: every key in the cache is in the past, so no mask is needed."),
                (_attend(q, Kf, Vf, 1.0), "the scores are not scaled: divide q Kᵀ by √d (d = q.shape[-1]) "
                 "before the softmax."),
                (_attend(q, Kf, Vf, 1 / d), "the scores were divided by d; divide by √d, `math.sqrt(d)`."),
                (Vf.sum(axis=2, keepdims=True), "every weight is 1, so the output is the sum of the values: "
                 "the softmax ran over the wrong axis (the single query). Take it over the keys, `dim=-1`."),
                (_attend(q, Vf, Kf), "keys and values are swapped: the scores compare q with the keys K, and "
                 "the weights then average the values V."),
            ]
            for wrong, message in mistakes:
                if np.allclose(out, wrong, rtol=1e-5, atol=1e-7):
                    raise Wrong(message)
            check_close(out, want, "the output")

        # decode token by token from an empty cache: every step equals full causal attention
        n = 6
        Q, Kf, Vf = (_rng.normal(size=(1, 2, n, d)) for _ in range(3))
        full = np.empty_like(Q)
        for t in range(n):
            full[:, :, t] = _attend(Q[:, :, t:t + 1], Kf[:, :, :t + 1], Vf[:, :, :t + 1])[:, :, 0]
        K, V, worst = Kf[:, :, :0], Vf[:, :, :0], 0.0
        for t in range(n):
            out, K, V = self._run(fn, K, V, Q[:, :, t:t + 1], Kf[:, :, t:t + 1], Vf[:, :, t:t + 1])
            if out.shape != (1, 2, 1, d) or not np.allclose(out[:, :, 0], full[:, :, t], rtol=1e-5, atol=1e-7):
                raise Wrong(f"right for one step, but decoding {n} tokens one by one from an empty cache "
                            f"(shape (1, 2, 0, {d})) differs from full causal attention at step {t + 1}.")
            worst = max(worst, float(np.abs(out[:, :, 0] - full[:, :, t]).max()))
        return (f"decoding {n} tokens one at a time with your cache gives full causal attention's outputs "
                f"(largest difference {worst:.1e}), with one query per step instead of t.")

    def fresh_args(self, rng):
        import torch

        B, H, T = (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 10)))
        d = int(rng.choice([2, 8, 16]))                 # never the example's d = 4
        K, V = (torch.from_numpy(rng.normal(size=(B, H, T, d))) for _ in range(2))
        q, k, v = (torch.from_numpy(rng.normal(size=(B, H, 1, d))) for _ in range(3))
        return K, V, q, k, v

    def fresh_compare(self, out, want):
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Wrong("return three things, the output and the two grown caches: `return out, K, V`.")
        for o, w, what in zip(out, want, ("the output", "the grown key cache", "the grown value cache")):
            check_close(o, w, what)


# --- 6. top-p (nucleus) filtering ------------------------------------------------------------

def _unsort(sorted_rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Put entry i of each sorted row back at its original index ``order[i]`` (what scatter does)."""
    out = np.empty_like(sorted_rows)
    np.put_along_axis(out, order, sorted_rows, axis=-1)
    return out


def _keep_sorted(p: np.ndarray, top_p: float, rule: str = "before", first: bool = True) -> np.ndarray:
    """Which entries of the rows ``p`` (taken in the order given) a cut-off rule keeps."""
    cum = np.cumsum(p, axis=-1)
    keep = {"before": cum - p < top_p, "upto": cum <= top_p, "below": cum < top_p}[rule]
    if first:
        keep[..., 0] = True
    return keep


def _nucleus(logits: np.ndarray, top_p: float) -> np.ndarray:
    """The nucleus of each row of ``logits`` (B, V) as a boolean mask, in the original order."""
    order = np.argsort(-logits, axis=-1, kind="stable")
    return _unsort(_keep_sorted(np.take_along_axis(_softmax(logits), order, -1), top_p), order)


def _same_filtered(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as filtered logits: -inf at the same places, the other entries close (float32 allowed)."""
    if a.shape != b.shape or np.isnan(a).any() or (np.isneginf(a) != np.isneginf(b)).any():
        return False
    fin = ~np.isneginf(b)
    return bool(np.allclose(a[fin], b[fin], rtol=1e-5, atol=1e-6))


def _tokens(mask_row: np.ndarray) -> str:
    idx = [int(i) for i in np.flatnonzero(mask_row)]
    return f"{idx[:12]}"[:-1] + (", ...]" if len(idx) > 12 else "]")


def _row_story(logits: np.ndarray, top_p: float, r: int) -> str:
    """How the nucleus of row ``r`` comes about, in numbers."""
    p = _softmax(logits[r])
    order = np.argsort(-p, kind="stable")
    keep = _keep_sorted(p[order][None], top_p)[0]
    n = int(keep.sum())
    listed = ", ".join(f"{p[j]:.2f} (token {j})" for j in order[:min(len(order), n + 2)])
    more = ", ..." if len(order) > n + 2 else ""
    total = " + ".join(f"{p[j]:.2f}" for j in order[:n])
    return (f"its probabilities from the largest down are {listed}{more}, so the nucleus is the first {n} "
            f"({total} = {p[order[:n]].sum():.2f} >= {top_p:g})")


class TopPFilter(Exercise):
    name = "nucleus_filter"
    title = "Exercise 6 — top-p (nucleus) filtering"
    hints = (
        "Work on each row on its own. Line up its tokens from the most to the least likely, and add up their "
        "probabilities in that order: the nucleus is every token up to and *including* the one whose "
        "probability makes the running total reach top_p. Every other token gets a logit of -inf, so that "
        "the softmax gives it probability 0.",
        "`torch.sort(logits, dim=-1, descending=True)` returns the sorted logits *and* `order`, the original "
        "index of each. A softmax over the last axis (the tokens) of the sorted logits, then "
        "`.cumsum(dim=-1)`, gives the running totals. A token is in the nucleus when the total of the tokens "
        "*before* it (the running total minus its own probability) is still below top_p; that keeps the "
        "token that crosses top_p, and always the first one.",
        "That mask is in sorted order: position i of a sorted row is the token `order[i]`. Before using it on "
        "`logits`, send each entry back to its token with `scatter(-1, order, ...)` on a tensor of the same "
        "shape (`gather` moves them the other way). Then fill with `masked_fill`, which returns a new "
        "tensor and leaves the caller's logits as they were; `logits[mask] = ...` would change them.",
    )
    solution_code = """
        def nucleus_filter(logits, top_p):
            sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
            probs = sorted_logits.softmax(dim=-1)
            drop = probs.cumsum(dim=-1) - probs >= top_p        # the tokens before already hold top_p
            drop = torch.zeros_like(drop).scatter(-1, order, drop)   # back to each token's own place
            return logits.masked_fill(drop, float("-inf"))
    """
    copy_args = False  # verify() passes its own copy, to name an answer that changes the logits in place

    # three rows of 6 tokens, not sorted; with top_p = 0.7 their nuclei hold 2, 3 and 1 tokens
    PROBS = np.array([[0.12, 0.45, 0.03, 0.30, 0.08, 0.02],
                      [0.05, 0.10, 0.25, 0.07, 0.20, 0.33],
                      [0.80, 0.04, 0.06, 0.03, 0.05, 0.02]])
    SHIFT = np.array([[-1.0], [0.5], [2.0]])  # logits are log-probabilities plus a constant per row

    def reference(self):
        from mlcourse.models.gpt import top_p_filter as reference
        return reference

    def _call(self, fn, logits: np.ndarray, top_p: float) -> np.ndarray:
        import torch

        given = torch.tensor(logits)
        out = call(fn, given, top_p, what="`nucleus_filter`", copy=False)
        changed = not torch.equal(given, torch.tensor(logits))
        if changed and out is None:
            raise Wrong("`nucleus_filter` put the -inf into the logits it was given and returned None. Return the "
                        "filtered tensor, and make it a new one: `logits.masked_fill(mask, float('-inf'))` leaves "
                        "the caller's logits as they were.")
        if isinstance(out, tuple):
            raise Wrong(f"`nucleus_filter` returned a tuple of {len(out)} things; return one tensor, the filtered logits, "
                        "of the same shape as `logits`.")
        if changed:
            _note("`nucleus_filter` changed the logits it was given (an assignment like `logits[mask] = "
                  "float('-inf')` writes into the caller's tensor). The result is right, but whoever called it "
                  "lost the original logits: use `logits.masked_fill(mask, float('-inf'))`, which returns a new "
                  "tensor, or work on `logits.clone()`.")
        return as_array(out, "the filtered logits")

    def _mistakes(self, logits: np.ndarray, top_p: float):
        """(mask of the tokens kept, explanation) for the usual wrong ways to find the nucleus."""
        order = np.argsort(-logits, axis=-1, kind="stable")
        s = np.take_along_axis(logits, order, -1)
        p = _softmax(s)
        right_sorted = _keep_sorted(p, top_p)
        right = _unsort(right_sorted, order)
        diff = [r for r in range(len(logits)) if (_unsort(_keep_sorted(p, top_p, "upto"), order)[r] != right[r]).any()]
        r = diff[0] if diff else 0
        empty = [k for k in range(len(p)) if p[k, 0] > top_p]
        crossing = (f"you kept only the tokens whose running total, their own probability included, is still "
                    f"within top_p: that drops the token that crosses top_p. Row {r}: {_row_story(logits, top_p, r)}. Keep a token when the total *before* "
                    f"it (the running total minus its own probability) is below top_p.")
        nothing = crossing + (f" And in row {empty[0]} the most likely token alone has {p[empty[0], 0]:.2f} > top_p: "
                              "there that rule keeps nothing at all, but the most likely token must always stay."
                              if empty else "")
        p0_sorted = _softmax(s, axis=0)
        p0 = _softmax(logits, axis=0)
        order0 = np.argsort(-p0, axis=-1, kind="stable")
        axis0 = ("the softmax ran over the wrong axis, the batch (dim=0): each row's probabilities must sum to 1 "
                 "over its tokens. Use `softmax(dim=-1)`.")
        by_logits = ("the running total adds up the logits, not the probabilities. Logits can be negative and do "
                     "not sum to 1: take the softmax of the sorted logits (over the last axis) first, then "
                     "`cumsum`.")
        unsorted = ("the mask was found in sorted order but used as if it were in the original order: position i "
                    "of a sorted row is the token `order[i]`, not token i. Send the mask back to the original order "
                    "with `torch.zeros_like(mask).scatter(-1, order, mask)` before filling.")
        gathered = ("the sorted mask was sent back with the wrong permutation: `gather` (or indexing with `order`) "
                    "reads sorted position `order[i]` for token i, but sorted position i belongs to token "
                    "`order[i]`. Use `scatter(-1, order, mask)`, which writes it there.")
        cands = [(_unsort(_keep_sorted(p, top_p, rule, first), order), crossing if first else nothing)
                 for rule in ("upto", "below") for first in (False, True)]
        cands += [(right_sorted, unsorted), (np.take_along_axis(right_sorted, order, -1), gathered)]
        cands += [(_unsort(_keep_sorted(s, top_p, rule, first), order), by_logits)
                  for rule in ("before", "upto") for first in (True, False)]
        for rule in ("before", "upto"):
            cands += [(_unsort(_keep_sorted(p0_sorted, top_p, rule), order), axis0),
                      (_unsort(_keep_sorted(np.take_along_axis(p0, order, -1), top_p, rule), order), axis0),
                      (_unsort(_keep_sorted(np.take_along_axis(p0, order0, -1), top_p, rule), order0), axis0),
                      (_keep_sorted(_softmax(logits), top_p, rule),
                       "the tokens were not sorted before adding up their probabilities, so the running total "
                       "follows the vocabulary's order. Sort each row from the most likely token down first "
                       "(`torch.sort(..., descending=True)`), then take the running total."),
                      (_unsort(_keep_sorted(p[:, ::-1], top_p, rule), order[:, ::-1]),
                       "the tokens were sorted from the *least* likely up, so the 'nucleus' is made of the least "
                       "likely tokens. Sort with `descending=True`.")]
        flat = _nucleus(logits.reshape(1, -1), top_p).reshape(logits.shape)
        cands += [(flat, "you treated the whole batch as one long row of tokens. Each row is a sequence of its own: "
                   "its own softmax, its own sort and its own nucleus (work along the last axis, `dim=-1`).")]
        cands += [(~right, "the mask is the wrong way round: you removed the nucleus and kept the other tokens. "
                   "Put -inf where a token is *outside* the nucleus."),
                  (~right | _unsort(np.eye(1, p.shape[1], dtype=bool).repeat(len(p), 0), order),
                   "you kept the most likely token and the tail of unlikely tokens, and removed the rest of the "
                   "nucleus: the mask is the wrong way round. Put -inf where a token is *outside* the nucleus.")]
        return [(m, msg) for m, msg in cands if (m != right).any()]

    def _judge(self, out: np.ndarray, logits: np.ndarray, top_p: float) -> None:
        """Raise Wrong with the likely mistake unless ``out`` is ``logits`` with -inf outside the nucleus."""
        what = "the filtered logits"
        if out.ndim == 2 and out.shape == logits.shape[::-1] and out.shape != logits.shape:
            raise Wrong(f"wrong shape for {what}: expected {logits.shape} (one row per sequence, one column per "
                        f"token), got {out.shape}. It is transposed.")
        check_shape(out, logits.shape, what)
        keep = _nucleus(logits, top_p)
        want = np.where(keep, logits, -np.inf)
        if _same_filtered(out, want):
            return
        if np.isnan(out).any():
            raise Wrong(f"{what} contain NaN. It usually comes from 0 times -inf (e.g. `logits * mask` where something "
                        "already holds -inf), or from a softmax of a row that is all -inf. Fill with "
                        "`logits.masked_fill(mask, float('-inf'))` instead of multiplying.")
        if np.allclose(out, logits):
            raise Wrong("nothing was filtered: every logit is unchanged. Put float('-inf') at every token outside "
                        "the nucleus. (If you did sort the tokens: from the least likely up, the running total reaches "
                        "top_p only at the last tokens, so every token stays; sort with `descending=True`.)")
        probs = _softmax(logits)
        renorm = _softmax(np.where(keep, logits, -np.inf))
        for cand, message in (
                (np.where(keep, probs, 0.0), "you returned probabilities (with 0 outside the nucleus)"),
                (np.where(keep, probs, -np.inf), "you returned probabilities (with -inf outside the nucleus)"),
                (renorm, "you returned the probabilities of the nucleus, renormalised"),
                (probs, "you returned the probabilities of all the tokens, unfiltered"),
                (np.where(keep, np.log(probs), -np.inf), "you returned log-probabilities (the logits minus a "
                 "constant per row)"),
                (np.log(renorm), "you returned the log-probabilities of the renormalised nucleus")):
            if _same_filtered(out, cand):
                raise Wrong(f"{message}. `nucleus_filter` returns *logits*: the input logits unchanged inside the "
                            "nucleus and float('-inf') outside it; the softmax comes later, when sampling.")
        for mask in (keep, ~keep):
            if np.array_equal(out, mask.astype(float)):
                raise Wrong("you returned the mask itself (True/False for each token). Use it to fill the logits: "
                            "`logits.masked_fill(mask, float('-inf'))`, with True where a token is *outside* the "
                            "nucleus.")
        order = np.argsort(-logits, axis=-1, kind="stable")
        if _same_filtered(out, np.take_along_axis(want, order, -1)):
            raise Wrong("your result is in sorted order (most likely token first), but token j must stay in column "
                        "j: find the mask on the sorted logits, send it back to the original order with "
                        "`scatter(-1, order, mask)`, and fill the *input* logits with it.")
        changed = ~np.isclose(out, logits, rtol=1e-5, atol=1e-6)  # -inf is never close to a logit
        fill = out[changed]
        if not np.isneginf(fill).all():
            if (fill == 0).all():
                raise Wrong("the tokens outside the nucleus got a logit of 0, not -inf: e^0 = 1, so they keep a large "
                            "share of the probability after the softmax. Fill them with float('-inf') (e^-inf = 0).")
            if np.isfinite(fill).all() and np.ptp(fill) == 0:
                v = float(fill[0])
                if v < -1e3:
                    raise Wrong(f"almost: the tokens outside the nucleus hold {v:g}, not -inf. That gives them a "
                                "probability of about 0, but the task (like Hugging Face's TopPLogitsWarper) asks for "
                                "exactly float('-inf'), which stays -inf whatever the temperature.")
                raise Wrong(f"the tokens outside the nucleus got the logit {v:g}, not -inf, so they keep some "
                            "probability after the softmax. Fill them with float('-inf').")
            r, j = (int(i[0]) for i in np.nonzero(changed & ~np.isneginf(out)))
            raise Wrong(f"some entries are neither the input logit nor -inf: row {r}, token {j} holds {out[r, j]:.4g} "
                        f"but its logit is {logits[r, j]:.4g}. Return the logits themselves (unchanged, not scaled "
                        "nor turned into probabilities) with float('-inf') outside the nucleus.")
        kept = ~changed
        for mask, message in self._mistakes(logits, top_p):
            if np.array_equal(kept, mask):
                raise Wrong(message)
        counts, right_counts = kept.sum(1), keep.sum(1)
        topk = np.zeros_like(keep)
        k = int(counts[0])
        np.put_along_axis(topk, order[:, :k], True, -1)
        if (counts == k).all() and len(set(right_counts)) > 1 and np.array_equal(kept, topk):
            raise Wrong(f"every row keeps exactly its {k} most likely token{'s' if k != 1 else ''}, as top-k (a "
                        "fixed count) would. Top-p keeps as many tokens as it takes for their probabilities to reach "
                        f"top_p, which differs from row to row: here the nuclei hold {', '.join(map(str, right_counts))} tokens.")
        empty = [r for r in range(len(kept)) if not kept[r].any()]
        if empty:
            raise Wrong(f"row {empty[0]} has no token left (all -inf), so there is nothing to sample from. The most "
                        f"likely token is always in the nucleus: {_row_story(logits, top_p, empty[0])}.")
        r = int(np.flatnonzero((kept != keep).any(1))[0])
        raise Wrong(f"in row {r} you kept the tokens {_tokens(kept[r])}, but the nucleus (top_p = {top_p:g}) is the "
                    f"tokens {_tokens(keep[r])}: {_row_story(logits, top_p, r)}.")

    def verify(self, fn):
        logits = np.log(self.PROBS) + self.SHIFT
        out = self._call(fn, logits, 0.7)
        self._judge(out, logits, 0.7)
        out9 = self._call(fn, logits, 0.9)
        if out9.shape == logits.shape and _same_filtered(out9, np.where(_nucleus(logits, 0.7), logits, -np.inf)):
            raise Wrong("right for top_p = 0.7, but with top_p = 0.9 you return the same: use the argument `top_p`, "
                        "not a fixed number.")
        self._judge(out9, logits, 0.9)
        return ("with top_p = 0.7 the three rows keep 2, 3 and 1 tokens, with top_p = 0.9 they keep 4, 5 and 3: "
                "a confident row keeps few tokens, an unsure one many.")

    def fresh_args(self, rng):
        import torch

        top_p = float(np.round(rng.uniform(0.3, 0.95), 2))
        while True:  # no running total within 1e-3 of top_p (rounding must not decide a token)
            logits = rng.normal(scale=rng.uniform(1.0, 3.0), size=(int(rng.integers(1, 6)), int(rng.integers(5, 40))))
            cum = np.cumsum(np.sort(_softmax(logits), axis=-1)[:, ::-1], axis=-1)
            if np.abs(cum - top_p).min() > 1e-3:
                return torch.from_numpy(logits), top_p

    def fresh_compare(self, out, want):
        out, want = as_array(out, "the filtered logits"), as_array(want)
        check_shape(out, want.shape, "the filtered logits")
        if np.isnan(out).any():
            raise Wrong("the filtered logits contain NaN.")
        kept, right = ~np.isneginf(out), ~np.isneginf(want)
        if (kept != right).any():
            r = int(np.flatnonzero((kept != right).any(1))[0])
            raise Wrong(f"in row {r} the nucleus is the {int(right[r].sum())} token(s) {_tokens(right[r])}, but you "
                        f"kept {int(kept[r].sum())}: {_tokens(kept[r])}.")
        if not np.allclose(out[kept], want[right], rtol=1e-5, atol=1e-6):
            raise Wrong("the tokens of the nucleus must keep their logits unchanged.")


# --- 7. build it: the forward pass of a LoRA layer -------------------------------------------

def _lora_tolerance(want: np.ndarray) -> dict:
    """rtol/atol for a LoRA layer's output: float32 rounding of sums whose terms reach about max|want|."""
    return {"rtol": 1e-5, "atol": 1e-6 * (1.0 + float(np.abs(want).max(initial=0.0)))}


class LoRAForward(Exercise):
    name = "lora_forward"
    title = "Exercise 7 — build it: the forward pass of a LoRA layer"
    hints = (
        "LoRA leaves the frozen layer as it is and adds a small correction to its output. So compute two "
        "things and add them: the frozen layer's output x Wᵀ + b, and the low-rank path, where x goes through "
        "A (down to r numbers per row) and then B (back up to `out` numbers), times the scale alpha / r.",
        "Follow the shapes: x (N, in) @ W.T (in, out) is (N, out); x @ A.T is (N, r), and that @ B.T is "
        "(N, out) again, ready to add. r is not an argument: read it from the shape of A, which is (r, in) "
        "(B's shape (out, r) tells it too).",
        "The scale multiplies the low-rank path only, not the frozen output nor the bias, and it is alpha "
        "*divided by* r: `alpha / r` (not `alpha // r`, which rounds down, nor r / alpha). "
        "`F.linear(x, W, b)` computes x Wᵀ + b in one call, if you like.",
    )
    solution_code = """
        def lora_forward(x, W, b, A, B, alpha):
            r = A.shape[0]                       # A is (r, in)
            base = x @ W.T + b                   # the frozen layer: (N, out)
            update = (x @ A.T) @ B.T             # down to r, back up to out: (N, out)
            return base + (alpha / r) * update
    """

    def reference(self):
        def lora_forward(x, W, b, A, B, alpha):
            return x @ W.T + b + (alpha / A.shape[0]) * ((x @ A.T) @ B.T)
        return lora_forward

    @staticmethod
    def _layer(x, W, b, A, B, alpha) -> np.ndarray:
        """The output of the course's LoRALinear with these weights (float64)."""
        import torch

        from mlcourse.models.lora import LoRALinear

        base = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            base.weight.copy_(torch.from_numpy(W))
            base.bias.copy_(torch.from_numpy(b))
            layer = LoRALinear(base, r=A.shape[0], alpha=alpha)
            layer.lora_A.copy_(torch.from_numpy(A))
            layer.lora_B.copy_(torch.from_numpy(B))
            return layer(torch.from_numpy(x)).numpy()

    @staticmethod
    def _legend(x, W, A) -> str:
        (N, fin), fout, r = x.shape, W.shape[0], A.shape[0]
        return (f"The shapes here: x is (N, in) = {(N, fin)}, W is (out, in) = {(fout, fin)}, b is (out,) = "
                f"{(fout,)}, A is (r, in) = {(r, fin)}, B is (out, r) = {(fout, r)}. What fits: x @ W.T is (N, out); "
                "x @ A.T is (N, r), and that @ B.T is (N, out). To fold the update into W instead, it must have W's "
                "shape (out, in): that is B @ A, not A.T @ B.T.")

    def _run(self, fn, x, W, b, A, B, alpha) -> np.ndarray:
        """Call the learner's function; explain a shape error with the shapes that met."""
        import re

        import torch

        try:
            out = call(fn, *(torch.from_numpy(a) for a in (x, W, b, A, B)), alpha, what="`lora_forward`")
        except Wrong as exc:
            msg = str(exc)
            m = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", msg)
            if m is None and not any(s in msg for s in ("must match the size", "mismatch in its core dimension",
                                                         "cannot be multiplied", "size mismatch", "broadcast")):
                raise
            head = msg.split(" Run it on")[0].split(" Read the two")[0].split(" For `A @ B`")[0]
            met = (" An addition (or an entry-by-entry product) met two tensors whose sizes do not fit."
                   if "must match the size" in msg or "broadcast" in msg else "")
            sizes = re.search(r"tensor a \((\d+)\) must match the size of tensor b \((\d+)\)", msg)
            if sizes and {int(sizes.group(1)), int(sizes.group(2))} == {W.shape[0], W.shape[1]} != {W.shape[0]}:
                met += (f" {W.shape[1]} and {W.shape[0]} are the sizes `in` and `out`: one tensor has its `in` axis "
                        "where the other has `out` (e.g. W, (out, in), and A.T @ B.T, (in, out)). Print their shapes.")
            if m:
                (N, fin), fout, r = x.shape, W.shape[0], A.shape[0]
                names: dict[tuple, list[str]] = {}
                for shape, nm in (((N, fin), "x"), ((fout, fin), "W"), ((fin, fout), "W.T"), ((r, fin), "A"),
                                  ((fin, r), "A.T"), ((fout, r), "B"), ((r, fout), "B.T"), ((N, fout), "x @ W.T"),
                                  ((N, r), "x @ A.T"), ((fin, fin), "A.T @ A"), ((fout, fout), "B @ B.T")):
                    names.setdefault(shape, []).append(nm)
                p, q = (int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4)))
                name = lambda s: " or ".join(names.get(s, ["a tensor"]))  # noqa: E731
                met = (f" Here a matrix of shape {p} ({name(p)}, it seems) was multiplied by one of shape {q} "
                       f"({name(q)}): in P @ Q the columns of P must equal the rows of Q, and {p[1]} ≠ {q[0]}.")
                if name(p) == "x" and name(q) == "B.T":
                    met += " x goes through A first (A reads the `in` features and gives r numbers), then B."
            raise Wrong(f"{head}{met} {self._legend(x, W, A)}") from None
        if isinstance(out, tuple):
            raise Wrong(f"`lora_forward` returned a tuple of {len(out)} things; return one tensor, the output "
                        "(N, out).")
        return as_array(out, "the output")

    def _judge(self, out, x, W, b, A, B, alpha, *, example_r=None, example_alpha=None) -> None:
        N, fout, fin, r = x.shape[0], W.shape[0], W.shape[1], A.shape[0]
        want = self._layer(x, W, b, A, B, alpha)
        if out.shape == (fout, N) and out.shape != (N, fout):
            check_close(out, want, "the output")  # names the transposed result
        check_shape(out, (N, fout), "the output")
        check_finite(out, "the output")
        tol = _lora_tolerance(want)
        if np.allclose(out, want, **tol):
            return
        base, up, s = x @ W.T + b, x @ A.T @ B.T, alpha / r
        rule = f"the scale is alpha / r, here {alpha:g} / {r} = {s:g}"
        mistakes = [
            (base + alpha * up, f"the update was scaled by alpha ({alpha:g}); {rule}."),
            (base + (r / alpha) * up, f"the scale is upside down: r / alpha = {r / alpha:g}, but {rule}."),
            (base + up, f"the update is not scaled: multiply it by alpha / r ({alpha:g} / {r} = {s:g})."),
            (base + up / r, f"the update was divided by r but not multiplied by alpha: {rule}."),
            (base + alpha * r * up, f"the update was multiplied by alpha * r; {rule}."),
            (base + alpha / math.sqrt(r) * up, f"the update was scaled by alpha / √r (the scale of rsLoRA, a later "
             f"variant); the LoRA of this course, like the original paper, uses alpha / r: {rule}."),
            (base + (alpha // r) * up, f"`alpha // r` is division rounded down ({alpha:g} // {r} = {alpha // r:g}): "
             f"use `/`, {alpha:g} / {r} = {s:g}."),
            (base, "your output is the frozen layer's alone, x Wᵀ + b: the low-rank path is missing. (B starts at "
             "zero in LoRALinear, but it trains; here it is not zero.)"),
            (s * up, "your output is the low-rank update alone: add the frozen layer's output x Wᵀ + b to it."),
            (base - b + s * up, "the bias b is missing: the frozen layer's output is x Wᵀ + b."),
            (base + b + s * up, "the bias was added twice: once is enough (x Wᵀ + b, plus the update)."),
            (s * (base + up), "the scale multiplied the whole output; it applies to the low-rank update only: "
             "x Wᵀ + b + (alpha / r) x Aᵀ Bᵀ."),
            (s * (base - b + up) + b, "the scale multiplied x Wᵀ too; it applies to the low-rank update only."),
        ]
        if fin == fout:  # square layer: the untransposed products run without an error
            ba = x @ B @ A
            mistakes += [
                (base + s * ba, "the update is x B A, the wrong way round. That is what `x @ B @ A` gives, or adding "
                 "A.T @ B.T (the transpose of the update) to W before `x @ W.T`. The update of W has W's shape "
                 "(out, in): B @ A; applied to x it is x Aᵀ Bᵀ = `x @ A.T @ B.T`."),
                (x @ W + b + s * up, "x @ W uses W untransposed: W is (out, in), so the frozen layer is x @ W.T + b "
                 "(here in = out, so no error showed it)."),
                (x @ W + b + s * ba, "x was multiplied by W and by B A untransposed: the merged weight W + (alpha / r) "
                 "B A is (out, in), so the layer is x @ (W + (alpha / r) * B @ A).T + b."),
            ]
        for k, name in ((fin, "the input width `in` (A.shape[1])"), (fout, "the output width `out` (B.shape[0])")):
            mistakes.append((base + (alpha / k) * up, f"alpha was divided by {k}, {name}, not by the rank: "
                             f"r is the first size of A, `A.shape[0]` (here {r})."))
        if example_r is not None and example_r != r:
            mistakes.append((base + (alpha / example_r) * up, f"you used r = {example_r}, the rank of the first "
                             f"example: here A has shape {A.shape}, so r = {r}. Read it from A, `A.shape[0]`."))
        if example_alpha is not None and example_alpha != alpha:
            mistakes.append((base + (example_alpha / r) * up, f"you used alpha = {example_alpha:g} from the first "
                             f"example: use the argument `alpha` (here {alpha:g})."))
        for wrong, message in mistakes:
            if np.allclose(out, wrong, **tol):
                raise Wrong(message)
        check_close(out, want, "the output", **tol)

    def verify(self, fn):
        N, fin, fout, r, alpha = 4, 6, 5, 2, 8
        x, W, A = _rng.normal(size=(N, fin)), _rng.normal(size=(fout, fin)) / 2, _rng.normal(size=(r, fin)) / 2
        b, B = _rng.normal(size=fout), _rng.normal(size=(fout, r)) / 2
        self._judge(self._run(fn, x, W, b, A, B, alpha), x, W, b, A, B, alpha)
        # a square layer (in = out), another rank and alpha: catches fixed numbers and untransposed products
        N2, d, r2, alpha2 = 3, 7, 3, 10.0
        x2, W2, A2 = _rng.normal(size=(N2, d)), _rng.normal(size=(d, d)) / 2, _rng.normal(size=(r2, d)) / 2
        b2, B2 = _rng.normal(size=d), _rng.normal(size=(d, r2)) / 2
        self._judge(self._run(fn, x2, W2, b2, A2, B2, alpha2), x2, W2, b2, A2, B2, alpha2,
                    example_r=r, example_alpha=alpha)
        return (f"the same outputs as `LoRALinear`. The adapter adds r (in + out) = {r * (fin + fout)} trainable "
                f"numbers to a layer of in × out = {fin * fout}.")

    def fresh_compare(self, out, want):
        # the tolerance of the fixed examples (_judge): an answer computed in float32 and cast back is right
        check_close(out, want, "the result", **_lora_tolerance(as_array(want, "the reference")))

    def fresh_args(self, rng):
        import torch

        fin, fout, N = int(rng.integers(4, 12)), int(rng.integers(4, 12)), int(rng.integers(1, 7))
        r = int(rng.choice([1, 3, 4]))  # never the first example's r = 2
        alpha = float(rng.choice([1.0, 4.0, 16.0, 32.0]))
        x, W, A = rng.normal(size=(N, fin)), rng.normal(size=(fout, fin)) / 2, rng.normal(size=(r, fin)) / 2
        b, B = rng.normal(size=fout), rng.normal(size=(fout, r)) / 2
        return (*(torch.from_numpy(a) for a in (x, W, b, A, B)), alpha)

q1, q2, q3, q4, q5 = CausalWeights(), BPEMerge(), RopePair(), RMSNormEx(), KVCacheStep()
q6, q7 = TopPFilter(), LoRAForward()
ALL = [q1, q2, q3, q4, q5, q6, q7]
