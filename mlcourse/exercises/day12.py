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
                raise Wrong(f"{exc} Here x is (3, 6) and the mean over the last axis is (3,), which cannot "
                            "divide a (3, 6) tensor: keep the axis with `keepdim=True` to get (3, 1).") from None
            raise
        out = as_array(out, "the normalised x")
        check_shape(out, (3, 6), "the normalised x")
        check_finite(out, "the normalised x")
        want = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5) * w
        xc = x - x.mean(-1, keepdims=True)
        if np.allclose(out, xc / np.sqrt(xc.var(-1, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("that is LayerNorm: RMSNorm does not subtract the mean, it only divides by the "
                        "root mean square.")
        if np.allclose(out, x / np.sqrt((x ** 2).mean(0, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("you averaged over the wrong axis (the rows). Normalise each row: mean over "
                        "dim=-1 with keepdim=True.")
        if np.allclose(out, x / np.sqrt((x ** 2).sum(-1, keepdims=True) + 1e-5) * w, atol=1e-6) or \
                np.allclose(out, x / np.linalg.norm(x, axis=-1, keepdims=True) * w, atol=1e-6):
            raise Wrong("you divided by the length of each row, the square root of the *sum* of squares. RMSNorm "
                        "uses the *mean* of the squares (the sum divided by C): `.mean(dim=-1, keepdim=True)`.")
        if np.allclose(out, want / w + w, atol=1e-6):
            raise Wrong("the scale `weight` multiplies the normalised x; you added it.")
        if any(np.allclose(out, x / np.sqrt(x.var(-1, ddof=k, keepdims=True) + 1e-5) * w, atol=1e-6) for k in (0, 1)):
            raise Wrong("you divided by the standard deviation, which measures the spread around the mean. RMSNorm "
                        "divides by the root mean square, sqrt(mean(x²) + eps), with no mean subtracted.")
        if np.allclose(out, want / w, atol=1e-6):
            raise Wrong("the scale `weight` is missing: multiply the normalised x by it.")
        if np.allclose(out, x / ((x ** 2).mean(-1, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("you divided by the mean square; take its square root (the *root* mean square).")
        check_close(out, want, "the normalised x", rtol=1e-5, atol=1e-7)
        # a row of small numbers, whose mean square (~1e-6) is smaller than eps: there eps matters
        small = x * 1e-3
        for eps in (1e-5, 1e-2):
            got = as_array(call(fn, torch.tensor(small), torch.tensor(w), eps, what="`my_rms_norm`"), "the normalised x")
            check_shape(got, (3, 6), f"my_rms_norm(x, weight, eps={eps:g})")
            ms = (small ** 2).mean(-1, keepdims=True)
            right = small / np.sqrt(ms + eps) * w
            if np.allclose(got, right, rtol=1e-4, atol=1e-9):
                continue
            for wrong, message in (
                    (small / np.sqrt(ms) * w, "eps is missing: add it to the mean square before the square root, "
                     "sqrt(mean(x²) + eps); it keeps a row of zeros (or tiny values) from dividing by 0."),
                    (small / (np.sqrt(ms) + eps) * w, "eps goes *inside* the square root: sqrt(mean(x²) + eps), not "
                     "sqrt(mean(x²)) + eps."),
                    (small / np.sqrt(ms + 1e-5) * w, f"use the argument `eps` (here {eps:g}), not a fixed 1e-5."),
                    (small / np.sqrt(ms + 1e-6) * w, f"use the argument `eps` (here {eps:g}), not a fixed number.")):
                if np.allclose(got, wrong, rtol=1e-4, atol=1e-9):
                    raise Wrong(message)
            check_close(got, right, f"my_rms_norm(x, weight, eps={eps:g}) on small x (mean square ~1e-6)", rtol=1e-4)
        return "each row now has a root mean square of 1 (before the learned scale)."

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


q1, q2, q3, q4, q5 = CausalWeights(), BPEMerge(), RopePair(), RMSNormEx(), KVCacheStep()
ALL = [q1, q2, q3, q4, q5]
