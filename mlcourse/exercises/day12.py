"""Exercises of Day 12 -- GPT and Llama."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

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
        "Row i of `scores` holds query i's scores for keys 0..T-1. Keys j > i are the future: give them "
        "a score of -inf *before* the softmax, so that their weight becomes exactly 0.",
        "`mask = torch.tril(torch.ones(T, T, dtype=torch.bool))`, then "
        "`scores.masked_fill(~mask, float('-inf')).softmax(dim=-1)` — softmax over the last axis (the keys).",
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
        if np.abs(np.triu(out, 1)).max() > 1e-9:
            shape = (" Your weights are upper-triangular: rows are queries and columns keys, so query i "
                     "may read keys j <= i (tril, not triu).") if np.abs(np.tril(out, -1)).max() < 1e-9 else ""
            raise Wrong("the future is visible: some weights above the diagonal are not zero." + shape)
        check_close(out, want, "the attention weights", rtol=1e-5, atol=1e-7)
        return "each row sums to 1 and puts zero weight on the future."


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
        "First count every adjacent pair: `Counter(zip(ids, ids[1:]))`, and take the most frequent one "
        "(`.most_common(1)[0][0]`). Then walk through `ids` from left to right.",
        "While walking: if `ids[i], ids[i+1]` is the pair, append `new_id` and jump by 2; otherwise append "
        "`ids[i]` and move by 1. Return `(pair, new_ids)`.",
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
        out = call(fn, list(ids), 9, what="`bpe_merge_step`")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong("return two things: the merged pair and the new list, as `return pair, new_ids`.")
        pair, new = out
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
        return f"the pair (1, 1) became token 9: {len(ids)} ids -> {len(got)}."


# --- 3. RoPE on one pair ---------------------------------------------------------------------

class RopePair(Exercise):
    name = "rope_pair"
    title = "Exercise 3 — rotary position embedding of one 2-D pair"
    hints = (
        "RoPE turns the pair (x1, x2) by the angle `pos * theta`: a rotation in the plane, like the hand "
        "of a clock. The rotation matrix is [[cos a, -sin a], [sin a, cos a]].",
        "`a = pos * theta`; return `(x1 * cos(a) - x2 * sin(a), x1 * sin(a) + x2 * cos(a))` "
        "(with `math.cos`, `math.sin`).",
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

    def verify(self, fn):
        x1, x2, pos, theta = 0.8, -0.3, 3, 0.5
        out = as_array(call(fn, x1, x2, pos, theta, what="`rope_pair`"), "the rotated pair")
        if out.size != 2:
            raise Wrong(f"return the rotated pair as two numbers (y1, y2), got {out.size} values.")
        out = out.reshape(2)
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
        check_close(out, ref, "the rotated pair", names=("y1", "y2"))
        # the property RoPE is built for: the dot product depends on the distance only
        q = np.array(call(fn, 1.0, 0.5, 7, theta, what="`rope_pair`"), dtype=float).reshape(2)
        k = np.array(call(fn, -0.2, 0.9, 4, theta, what="`rope_pair`"), dtype=float).reshape(2)
        q2 = np.array(call(fn, 1.0, 0.5, 13, theta, what="`rope_pair`"), dtype=float).reshape(2)
        k2 = np.array(call(fn, -0.2, 0.9, 10, theta, what="`rope_pair`"), dtype=float).reshape(2)
        if not np.isclose(q @ k, q2 @ k2):
            raise Wrong("the rotated pair is right for one position but not for others.")
        return ("a rotation by pos * theta. Shift query and key by the same number of positions and their "
                f"dot product stays the same ({q @ k:.4f} = {q2 @ k2:.4f}): attention sees relative positions.")


# --- 4. RMSNorm ------------------------------------------------------------------------------

class RMSNormEx(Exercise):
    name = "rms_norm"
    title = "Exercise 4 — RMSNorm"
    hints = (
        "RMSNorm divides each row (the last axis) by its root mean square sqrt(mean(x**2) + eps), then "
        "multiplies by `weight`. Unlike LayerNorm it does not subtract the mean.",
        "`x / torch.sqrt((x ** 2).mean(dim=-1, keepdim=True) + eps) * weight`",
    )
    solution_code = """
        def rms_norm(x, weight, eps=1e-5):
            return x / torch.sqrt((x ** 2).mean(dim=-1, keepdim=True) + eps) * weight
    """

    def reference(self):
        def rms_norm(x, weight, eps=1e-5):
            return x / ((x ** 2).mean(-1, keepdims=True) + eps) ** 0.5 * weight
        return rms_norm

    def verify(self, fn):
        import torch

        x = _rng.normal(loc=0.7, size=(3, 6))
        w = _rng.uniform(0.5, 1.5, size=6)
        out = as_array(call(fn, torch.tensor(x), torch.tensor(w), 1e-5, what="`rms_norm`"), "the normalised x")
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
        if np.allclose(out, want / w, atol=1e-6):
            raise Wrong("the scale `weight` is missing: multiply the normalised x by it.")
        if np.allclose(out, x / ((x ** 2).mean(-1, keepdims=True) + 1e-5) * w, atol=1e-6):
            raise Wrong("you divided by the mean square; take its square root (the *root* mean square).")
        check_close(out, want, "the normalised x", rtol=1e-5, atol=1e-7)
        return "each row now has a root mean square of 1 (before the learned scale)."


q1, q2, q3, q4 = CausalWeights(), BPEMerge(), RopePair(), RMSNormEx()
ALL = [q1, q2, q3, q4]
