"""Exercises of Day 10 -- RNNs, attention and the Transformer."""

from __future__ import annotations

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape

_rng = np.random.default_rng(10)


def _bool_matrix(value, shape, what):
    """An answer that should be a boolean mask: explain additive masks, other values, shapes."""
    arr = as_array(value, what)
    if arr.size and np.isneginf(arr).any():
        raise Wrong(f"{what} contains -inf: that is an *additive* mask (0 where allowed, -inf where "
                    "blocked). Here we want a boolean mask: True where attention is allowed.")
    if arr.shape != tuple(shape) and arr.size == int(np.prod(shape)) and arr.squeeze().shape == np.empty(shape).squeeze().shape:
        raise Wrong(f"wrong shape for {what}: expected {tuple(shape)}, got {arr.shape}: the same values with an extra "
                    f"(or misplaced) axis of length 1. Return exactly the shape {tuple(shape)}.")
    check_shape(arr, shape, what)
    check_finite(arr, what)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise Wrong(f"{what} should contain only True/False, but it contains other values "
                    f"such as {arr[~np.isin(arr, (0.0, 1.0))].flat[0]:g}.")
    return arr.astype(bool)


def _require_bool_dtype(value, what, leak: str) -> None:
    """A mask with the right pattern must also *be* boolean (``leak``: what a float mask lets through)."""
    dtype = getattr(value, "dtype", None)
    name = str(dtype) if dtype is not None else str(np.asarray(value).dtype)
    if name in ("torch.bool", "bool"):
        return
    fix = ("`dtype=torch.bool` (or `.bool()`)" if name.startswith("torch.")
           else "`dtype=bool` (or `.astype(bool)`)")
    if "float" in name:
        raise Wrong(f"the pattern of {what} is right, but its dtype is {name} (1.0s and 0.0s), not bool. "
                    "`F.scaled_dot_product_attention` *adds* a float mask to the scores: 0 where attention "
                    f"must be blocked blocks nothing, so {leak}. Make it boolean: {fix}.")
    raise Wrong(f"the pattern of {what} is right, but its dtype is {name} (1s and 0s), not bool: "
                "`F.scaled_dot_product_attention` and `masked_fill` refuse integer masks with an error. "
                f"Make it boolean: {fix}.")


# --- 1. Bahdanau's additive attention scores ---------------------------------------------------

def _additive(s, H, W, U, v, variant="right"):
    """The scores e_j = v . tanh(s W + h_j U) in NumPy (row vectors), and typical mistakes (``variant``)."""
    s, H, W, U, v = (np.asarray(a, dtype=np.float64) for a in (s, H, W, U, v))
    if variant == "swap":                                  # W on the encoder states, U on the decoder state
        return np.tanh(s @ U + H @ W) @ v
    if variant == "linear_T":                              # nn.Linear's convention, x @ W.T
        return np.tanh(s @ W.T + H @ U.T) @ v
    if variant == "dot":                                   # the dot-product score of a Transformer
        return H @ s
    if variant == "no_s":                                  # the decoder state left out
        return np.tanh(H @ U) @ v
    if variant == "separate":                              # tanh of each term on its own
        return (np.tanh(s @ W) + np.tanh(H @ U)) @ v
    pre = s @ W + H @ U                                    # (S, A)
    if variant == "v_inside":
        return np.tanh(pre @ v)
    act = {"no_tanh": lambda a: a, "relu": lambda a: np.maximum(a, 0.0), "exp": np.exp,
           "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a))}.get(variant, np.tanh)(pre)
    if variant == "no_v":
        return act
    if variant == "times_v":                               # elementwise product, not yet summed over A
        return act * v
    if variant == "sum":
        return act.sum(-1)
    if variant == "mean":
        return act.mean(-1)
    e = act @ v
    if variant == "log_softmax":
        return np.log(_softmax(e))
    if variant == "scaled":                                # the Transformer's 1/sqrt(d), carried over
        return e / np.sqrt(len(v))
    return _softmax(e) if variant == "softmax" else e


_ADDITIVE_MISTAKES = (
    ("no_tanh", "the tanh is missing. Without it the score is linear, v·(s W) + v·(h_j U), and the first term is "
                "the same number for every position j: it cancels in the softmax, so the decoder state s would have "
                "no say in where the decoder looks. Apply np.tanh to the sum s W + h_j U, then take the dot product "
                "with v."),
    ("separate", "you applied tanh to s W and to h_j U separately. Then the part that comes from s is again the "
                 "same for every j and cancels in the softmax: s no longer changes where the decoder looks. "
                 "Add the two first, then apply one tanh to the sum."),
    ("swap", "W and U are swapped: W multiplies the decoder state s (shape (Ds,), so W is (Ds, A)) and U the "
             "encoder states H (shape (S, Dh), so U is (Dh, A))."),
    ("linear_T", "you multiplied by the transposed matrices (s @ W.T, the convention of nn.Linear). Here W has "
                 "shape (Ds, A) and U (Dh, A): s @ W and H @ U."),
    ("softmax", "you returned the attention *weights* (the softmax of the scores: positive, summing to 1). The "
                "exercise asks for the raw scores e_j, before the softmax."),
    ("v_inside", "v is applied inside the tanh. The order is: the sum s W + h_j U (a vector of width A for each j), "
                 "then tanh, then the dot product with v, which turns each vector into one number."),
    ("log_softmax", "you returned the log of the attention weights (a log-softmax of the scores). The exercise "
                    "asks for the raw scores e_j, before any softmax."),
    ("no_s", "the decoder state s is missing: your scores depend on the encoder states only, so every decoder "
             "step would look at the same source positions. Add s W to every h_j U before the tanh."),
    ("sum", "you summed the A components of tanh(...) instead of weighting them with v: the score is the dot "
            "product of v with that vector (`@ v`), and v is learned."),
    ("mean", "you averaged the A components of tanh(...) instead of weighting them with v: the score is the dot "
             "product of v with that vector (`@ v`), and v is learned."),
    ("scaled", "you divided the scores by sqrt(A): that is the scaling of the Transformer's dot-product scores "
               "(Section 7). Additive attention has no such factor: return v · tanh(s W + h_j U) as it is."),
    ("exp", "you used np.exp; Bahdanau's alignment model, and this exercise, use tanh (the softmax that turns "
            "the scores into weights comes later, and is not part of this function)."),
    ("relu", "you used ReLU; Bahdanau's alignment model, and this exercise, use tanh."),
    ("sigmoid", "you used the sigmoid; Bahdanau's alignment model, and this exercise, use tanh."),
    ("dot", "these are dot-product scores, h_j · s (the Transformer's kind, Section 7). Additive attention "
            "compares s and h_j through a small network: v · tanh(s W + h_j U)."),
)


class AdditiveScores(Exercise):
    name = "additive_scores"
    title = "Exercise 1 — Bahdanau's additive attention scores"
    hints = (
        "Two projections into a common width A: the decoder state s through W gives one vector of width A, "
        "the encoder states through U give one such vector per source position, an (S, A) array.",
        "Add them (broadcasting adds the one vector of s to every row of the (S, A) array), then squash the sum "
        "elementwise with np.tanh. The tanh acts on the sum, not on each term alone.",
        "Each row of tanh(...) must become one number: the dot product with v, a vector of width A. A matrix "
        "product of the (S, A) array with v does all rows at once and gives shape (S,). Do not apply a softmax.",
    )
    solution_code = """
        def additive_scores(s, H, W, U, v):
            return np.tanh(s @ W + H @ U) @ v
    """

    def reference(self):
        return lambda s, H, W, U, v: _additive(s, H, W, U, v)

    @staticmethod
    def _inputs(rng, S, Ds, Dh, A):
        return (rng.normal(size=Ds), rng.normal(size=(S, Dh)), rng.normal(0, 0.6, size=(Ds, A)),
                rng.normal(0, 0.6, size=(Dh, A)), rng.normal(size=A))

    def verify(self, fn):
        S, D = 6, 4                                          # Ds = Dh = A: swapped or transposed matrices still run
        args = self._inputs(np.random.default_rng(1014), S, D, D, D)
        what = "the score vector"
        out = as_array(call(fn, *args, what="`additive_scores`"), what)
        want = _additive(*args)
        if out.shape == (S, D) and np.allclose(out, _additive(*args, "no_v"), rtol=1e-4, atol=1e-6):
            raise Wrong(f"the vector v is missing: you returned tanh(s W + h_j U), one vector of width A for each "
                        f"position, shape {out.shape}. The score of position j is one number: the dot product of "
                        "that vector with v, so the result has shape (S,).")
        if out.shape == (S, D) and np.allclose(out, _additive(*args, "times_v"), rtol=1e-4, atol=1e-6):
            raise Wrong(f"you multiplied tanh(s W + h_j U) by v elementwise (`* v`), which keeps one vector of width A "
                        f"for each position, shape {out.shape}. The score of position j is one number: the dot "
                        "product with v, `@ v`, which also sums over A, so the result has shape (S,).")
        if out.shape in ((S, 1), (1, S)) and np.allclose(out.ravel(), want, rtol=1e-4, atol=1e-6):
            raise Wrong(f"the numbers are right but the shape is {out.shape}; expected ({S},), one score per "
                        "source position. Use v as the vector it is (shape (A,)): `@ v` gives (S,), while "
                        "`@ v[:, None]` or a (1, A) v add an axis of length 1.")
        check_shape(out, (S,), what)
        check_finite(out, what)
        if not np.allclose(out, want, rtol=1e-4, atol=1e-6):
            for variant, message in _ADDITIVE_MISTAKES:
                if np.allclose(out, _additive(*args, variant), rtol=1e-4, atol=1e-6):
                    raise Wrong(message)
        check_close(out, want, what)
        return "e_j = v · tanh(s W + h_j U): the softmax of these scores gives the attention weights."

    def fresh_compare(self, out, want):
        check_close(out, want, "the score vector", rtol=1e-4, atol=1e-6)

    def fresh_args(self, rng):
        S = int(rng.integers(7, 12))                          # longer than the example's 6
        Ds, Dh, A = (int(d) for d in rng.choice(np.arange(2, 10), size=3, replace=False))
        return self._inputs(rng, S, Ds, Dh, A)


# --- 2. the padding mask ---------------------------------------------------------------------

def _tokens(pad_id: int):
    import torch

    lengths = [6, 4, 1]
    t = torch.full((3, 6), pad_id, dtype=torch.long)
    for i, n in enumerate(lengths):
        t[i, :n] = torch.randint(3, 60, (n,), generator=torch.Generator().manual_seed(i))
        t[i, :n][t[i, :n] == pad_id] = 61
    return t


class PaddingMask(Exercise):
    name = "padding_mask"
    title = "Exercise 2 — the padding mask"
    hints = (
        "The mask is True at real tokens and False at padding. It must hide padded *keys* (columns of the "
        "score matrix) from every query, so it has one row that broadcasts over all queries.",
        "Comparing the ids with the argument pad_id, `tokens != pad_id`, gives a (B, L) boolean tensor that is "
        "True at real tokens. Use the argument, not a fixed 0.",
        "The scores are (B, Lq, Lk): insert an axis of length 1 in the *middle* to get (B, 1, L), with `None` "
        "in an index (`[:, None, :]`) or `.unsqueeze(1)`. A (B, L, 1) mask would hide queries instead. Keep it boolean: "
        "`F.scaled_dot_product_attention` *adds* a float mask to the scores, so a mask of 1.0s and 0.0s "
        "blocks nothing.",
    )
    solution_code = """
        def padding_mask(tokens, pad_id=0):
            return (tokens != pad_id)[:, None, :]
    """

    def reference(self):
        return lambda tokens, pad_id=0: (tokens != pad_id)[:, None, :]

    def verify(self, fn):
        tokens = _tokens(0)
        want = (tokens != 0).numpy()[:, None, :]
        arr = as_array(call(fn, tokens.clone(), 0, what="`padding_mask`"), "the mask")
        if arr.shape == (3, 6):
            raise Wrong("wrong shape: expected (3, 1, 6), got (3, 6). The middle axis is missing: with it "
                        "the mask broadcasts against the (B, Lq, Lk) scores, the same for every query. "
                        "Add it with `[:, None, :]` or `.unsqueeze(1)`.")
        if arr.shape == (3, 6, 1):
            raise Wrong("wrong orientation: a (B, L, 1) mask hides *queries* (rows of the score matrix), "
                        "but padding must hide *keys* (columns) so that no real token reads a padded one. "
                        "Put the axis of length 1 in the middle: (B, 1, L).")
        if arr.shape == (1, 3, 6):
            raise Wrong("wrong shape: expected (3, 1, 6), got (1, 3, 6). The new axis is in front; it belongs in the "
                        "middle, between the batch and the keys: `[:, None, :]` or `.unsqueeze(1)`.")
        m = _bool_matrix(arr, (3, 1, 6), "the mask")
        if np.array_equal(m, ~want):
            raise Wrong("True and False are swapped: your mask is True at the padding. Here True means "
                        "'a real token, may be attended to'.")
        if not np.array_equal(m, want):
            raise Wrong("some entries are wrong: the mask must be True exactly where the token is not pad_id.")
        other = _tokens(7)
        m7 = _bool_matrix(call(fn, other.clone(), 7, what="`padding_mask`"), (3, 1, 6), "padding_mask(tokens, pad_id=7)")
        if not np.array_equal(m7, (other != 7).numpy()[:, None, :]) and np.array_equal(m7, (other > 7).numpy()[:, None, :]):
            raise Wrong("with pad_id=7 your mask is wrong: `tokens > pad_id` also hides the real tokens whose id is below "
                        "pad_id. Compare for inequality: `tokens != pad_id`.")
        if not np.array_equal(m7, (other != 7).numpy()[:, None, :]):
            raise Wrong("with pad_id=7 your mask is wrong: use the argument `pad_id` instead of a fixed 0.")
        _require_bool_dtype(call(fn, tokens.clone(), 0, what="`padding_mask`"), "your mask",
                            "real tokens attend to the padding")
        return "shape (B, 1, L): it broadcasts over the queries and hides padded keys."

    def fresh_args(self, rng):
        import torch

        B, L, pad_id = int(rng.integers(2, 6)), int(rng.integers(7, 12)), int(rng.integers(0, 5))
        ids = rng.integers(5, 60, size=(B, L))                          # real tokens: never pad_id
        ids[np.arange(L)[None, :] >= rng.integers(1, L + 1, size=(B, 1))] = pad_id
        return torch.from_numpy(ids), pad_id


# --- 3. build it: multi-head attention forward ----------------------------------------------

def _softmax(s, axis=-1):
    s = s - s.max(axis=axis, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=axis, keepdims=True)


def _mha(x, Wq, Wk, Wv, Wo, n_heads, causal=False, variant="right"):
    """Multi-head self-attention in NumPy, and the typical mistakes (``variant``) for diagnosis."""
    N, T, D = x.shape
    H = 1 if variant == "one_head" else n_heads
    dh = D // H
    if variant == "linear_T":                            # nn.Linear's convention, x @ W.T
        Wq, Wk, Wv, Wo = Wq.T, Wk.T, Wv.T, Wo.T
    if variant == "bad_split":                           # reshape straight to (N, H, T, dh)
        split = lambda m: m.reshape(N, H, T, dh)
    else:
        split = lambda m: m.reshape(N, T, H, dh).transpose(0, 2, 1, 3)
    q, k, v = split(x @ Wq), split(x @ Wk), split(x @ Wv)
    if variant == "kq":                                  # scores k q^T: the transpose of q k^T
        q, k = k, q
    scale = {"no_scale": 1.0, "scale_D": np.sqrt(D), "scale_dh": float(dh)}.get(variant, np.sqrt(dh))
    scores = q @ k.transpose(0, 1, 3, 2) / scale         # (N, H, T, T)
    keep = np.tril(np.ones((T, T), dtype=bool))
    if causal and variant == "zero":                     # blocked scores set to 0 (a multiplicative mask)
        scores = scores * keep
    elif causal and variant != "no_causal":
        scores = np.where(keep.T if variant == "triu" else (keep & ~np.eye(T, dtype=bool)
                          if variant == "strict" else keep), scores, -np.inf)
    if variant == "after" and causal:
        w = _softmax(q @ k.transpose(0, 1, 3, 2) / scale) * keep
    else:
        w = _softmax(scores, axis=-2 if variant == "axis" else -1)
    out = w @ v                                          # (N, H, T, dh)
    out = out.reshape(N, T, D) if variant == "bad_merge" else out.transpose(0, 2, 1, 3).reshape(N, T, D)
    return out if variant == "no_Wo" else out @ Wo


def _mha_torch(x, Wq, Wk, Wv, Wo, n_heads, causal=False):
    """The reference: heads split and merged here, attention by PyTorch's fused function (float64)."""
    import torch
    import torch.nn.functional as F

    x, Wq, Wk, Wv, Wo = (torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (x, Wq, Wk, Wv, Wo))
    N, T, D = x.shape
    split = lambda m: m.view(N, T, n_heads, D // n_heads).transpose(1, 2)    # (N, H, T, dh)
    out = F.scaled_dot_product_attention(split(x @ Wq), split(x @ Wk), split(x @ Wv), is_causal=bool(causal))
    return (out.transpose(1, 2).reshape(N, T, D) @ Wo).numpy()


_MHA_MISTAKES = (
    ("linear_T", "you multiplied by the transposed weights (x @ W.T, the convention of nn.Linear). Here the "
                 "projections are q = x @ Wq, k = x @ Wk, v = x @ Wv and the output is merged @ Wo."),
    ("scale_D", "you divided the scores by sqrt(D), the width of the whole model. Each head compares vectors "
                "of width dh = D // n_heads, so the scale is sqrt(dh)."),
    ("no_scale", "the scores are not scaled: divide q @ k^T by sqrt(dh), with dh = D // n_heads the width "
                 "of one head, or the softmax saturates."),
    ("scale_dh", "you divided the scores by dh; the scale is its square root, sqrt(dh)."),
    ("bad_split", "the heads are split wrongly: reshaping (N, T, D) straight to (N, n_heads, T, dh) mixes "
                  "numbers of different positions. Reshape to (N, T, n_heads, dh) first, then move the head "
                  "axis forward with .transpose(0, 2, 1, 3)."),
    ("bad_merge", "the heads are merged wrongly: the attention output is (N, n_heads, T, dh); reshaping it "
                  "straight to (N, T, D) mixes positions. Transpose back to (N, T, n_heads, dh) first "
                  "(.transpose(0, 2, 1, 3)), then reshape to (N, T, D)."),
    ("kq", "the scores are transposed: you computed k @ q^T (or swapped Wq and Wk). Row i of the scores must be "
           "query i against every key: q @ k^T, then the softmax over the keys (last axis)."),
    ("one_head", "this is one big head: n_heads is ignored. Split the projections into n_heads pieces of "
                 "width dh = D // n_heads and attend in each head separately."),
    ("no_Wo", "the output projection is missing: after merging the heads, multiply by Wo."),
    ("axis", "the softmax runs over the wrong axis (the queries): each query's weights over the keys must "
             "sum to 1, so use the last axis, axis=-1."),
)
_CAUSAL_MISTAKES = (
    ("no_causal", "with causal=True the result is the same as without a mask: every position still reads "
                  "the future. Set the scores of keys j > i to -inf before the softmax."),
    ("triu", "the causal mask is the wrong way round: position i must read keys j <= i (the lower triangle, "
             "np.tril), but yours lets it read only j >= i, the future."),
    ("zero", "the blocked scores were set to 0 (multiplying by the mask), but exp(0) = 1, so the future still gets "
             "weight. Set them to -inf (np.where(mask, scores, -np.inf)) so that exp gives exactly 0."),
    ("after", "you zeroed the masked weights *after* the softmax, so the rows no longer sum to 1. Set the "
              "masked scores to -inf *before* the softmax."),
)


class MultiHeadAttention(Exercise):
    name = "multi_head_attention"
    title = "Exercise 3 — build it: multi-head self-attention, forward pass in NumPy"
    hints = (
        "Four stages. (1) Project: queries, keys and values are x times Wq, Wk, Wv, each (N, T, D). (2) Split "
        "the last axis into n_heads heads, each of width dh = D / n_heads. (3) Scaled dot-product attention in every "
        "head at once. (4) Merge the heads back to (N, T, D) and multiply by Wo.",
        "Splitting is a reshape, then a transpose: (N, T, D) -> (N, T, n_heads, dh) -> (N, n_heads, T, dh). "
        "Then the scores are q times k transposed over the last two axes (`k.transpose(0, 1, 3, 2)`), shape "
        "(N, n_heads, T, T), divided by sqrt(dh): the width of one head, not of the model.",
        "Never reshape (N, T, D) straight to (N, n_heads, T, dh): that mixes positions. For causal=True, set the "
        "scores where key j > query i to -np.inf *before* the softmax (a (T, T) boolean np.tril broadcasts over "
        "N and the heads); softmax over the last axis after subtracting each row's maximum, so exp cannot "
        "overflow. To merge, undo the split: transpose back to (N, T, n_heads, dh), then reshape.",
    )
    solution_code = """
        def multi_head_attention(x, Wq, Wk, Wv, Wo, n_heads, causal=False):
            N, T, D = x.shape
            dh = D // n_heads
            def split(m):                                  # (N, T, D) -> (N, n_heads, T, dh)
                return m.reshape(N, T, n_heads, dh).transpose(0, 2, 1, 3)
            q, k, v = split(x @ Wq), split(x @ Wk), split(x @ Wv)
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)    # (N, n_heads, T, T)
            if causal:
                scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
            scores = scores - scores.max(axis=-1, keepdims=True)  # stable softmax over the keys
            weights = np.exp(scores)
            weights = weights / weights.sum(axis=-1, keepdims=True)
            out = (weights @ v).transpose(0, 2, 1, 3).reshape(N, T, D)   # merge the heads
            return out @ Wo
    """

    def reference(self):
        return _mha_torch

    @staticmethod
    def _inputs(rng, N, T, D):
        x = rng.normal(size=(N, T, D))
        Ws = [rng.normal(size=(D, D)) / np.sqrt(D) for _ in range(4)]
        return x, Ws

    def _run(self, fn, x, Ws, n_heads, causal, what):
        try:
            raw = call(fn, x, *Ws, n_heads, causal, what="`multi_head_attention`")
        except Wrong as exc:
            if "matmul" not in str(exc):
                raise
            raise Wrong(f"{str(exc).split(' Run it on a small example')[0]} A matrix product of 4-D arrays multiplies "
                        "the last two axes and needs every other axis to agree. `.T` reverses *all* the axes of a 4-D "
                        "array; to transpose k over its last two only, use `k.transpose(0, 1, 3, 2)` (or "
                        "`np.swapaxes(k, -1, -2)`).") from None
        out = as_array(raw, what)
        check_shape(out, x.shape, what)
        if causal and np.isnan(out[:, 0]).all() and np.isfinite(out[:, 1:]).all():
            raise Wrong("with causal=True the first position's output is NaN: it may read no key at all, so its "
                        "softmax is 0/0. Your causal mask hides the diagonal too, but position i may read "
                        "itself (keys j <= i, diagonal included).")
        check_finite(out, what)
        return out

    @staticmethod
    def _diagnose(out, x, Ws, n_heads, causal, mistakes):
        for variant, message in mistakes:
            if np.allclose(out, _mha(x, *Ws, n_heads, causal, variant), rtol=1e-4, atol=1e-6):
                raise Wrong(message)

    def verify(self, fn):
        rng = np.random.default_rng(103)
        N, T, D, H = 2, 5, 12, 3                          # dh = 4: sqrt(dh), dh and sqrt(D) all differ
        x, Ws = self._inputs(rng, N, T, D)
        what = "the output"
        out = self._run(fn, x, Ws, H, False, what)
        if not np.allclose(out, _mha(x, *Ws, H), rtol=1e-4, atol=1e-6):
            self._diagnose(out, x, Ws, H, False, _MHA_MISTAKES)
            check_close(out, _mha_torch(x, *Ws, H), what, rtol=1e-4, atol=1e-6)
        what = "the output with causal=True"
        out = self._run(fn, x, Ws, H, True, what)
        if not np.allclose(out, _mha(x, *Ws, H, True), rtol=1e-4, atol=1e-6):
            self._diagnose(out, x, Ws, H, True, _CAUSAL_MISTAKES + _MHA_MISTAKES)
            check_close(out, _mha_torch(x, *Ws, H, True), what, rtol=1e-4, atol=1e-6)
        check_close(out, _mha_torch(x, *Ws, H, True), what, rtol=1e-4, atol=1e-6)
        big = 30 * x                                       # scores in the thousands: exp overflows unless stabilised
        got = as_array(call(fn, big, *Ws, H, True, what="`multi_head_attention`"), "the output for large inputs")
        check_shape(got, x.shape, "the output for large inputs")
        if not np.isfinite(got).all():
            raise Wrong("with large inputs (x times 30) your output contains NaN or inf: exp overflowed. "
                        "Subtract each row's maximum score before np.exp (masked -inf scores stay -inf).")
        check_close(got, _mha_torch(big, *Ws, H, True), "the output for large inputs", rtol=1e-5, atol=1e-6)
        return ("split, attend in every head, merge, project: the same numbers as PyTorch's "
                "scaled_dot_product_attention with the heads split and merged around it.")

    def fresh_compare(self, out, want):
        # the tolerance of verify: an answer that rounds some steps to float32 (while returning float64) is right
        check_close(out, want, "the result", rtol=1e-4, atol=1e-6)

    def fresh_args(self, rng):
        H = int(rng.integers(1, 5))
        N, T, D = int(rng.integers(1, 4)), int(rng.integers(2, 8)), H * int(rng.integers(2, 6))
        x, Ws = self._inputs(rng, N, T, D)
        return (x, *Ws, H, bool(rng.integers(2)))


# --- 4. a GRU step ---------------------------------------------------------------------------

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gru(x, h, p, variant="right"):
    if variant == "no_bias":
        p = {k: (0 * v if k.startswith("b") else v) for k, v in p.items()}
    gate = np.tanh if variant == "tanh_gates" else _sigmoid
    z = (np.tanh if variant == "tanh_z" else gate)(x @ p["Wz"] + h @ p["Uz"] + p["bz"])
    r = gate(x @ p["Wr"] + h @ p["Ur"] + p["br"])
    if variant == "r_for_z":
        z = r
    if variant == "torch":
        n = np.tanh(x @ p["Wn"] + r * (h @ p["Un"]) + p["bn"])
    elif variant == "sigmoid_candidate":
        n = _sigmoid(x @ p["Wn"] + (r * h) @ p["Un"] + p["bn"])
    elif variant == "no_reset":
        n = np.tanh(x @ p["Wn"] + h @ p["Un"] + p["bn"])
    else:
        n = np.tanh(x @ p["Wn"] + (r * h) @ p["Un"] + p["bn"])
    if variant == "swapped":
        return z * n + (1 - z) * h
    if variant == "candidate":
        return n
    return (1 - z) * n + z * h


class GRUStep(Exercise):
    name = "gru_step"
    title = "Exercise 4 — one step of a GRU"
    hints = (
        "Three quantities from the same two inputs: the update gate z and the reset gate r are sigmoids, "
        "the candidate n is a tanh. Each reads x times its W, plus h times its U, plus its bias (e.g. "
        "p['Wz'], p['Uz'], p['bz'] for z). NumPy has no sigmoid: define sigmoid(a) = 1 / (1 + e^(-a)).",
        "The candidate is the only unusual one: the reset gate multiplies the old state *before* the matrix, "
        "n = tanh(x Wn + (r ⊙ h) Un + bn). Then the new state mixes candidate and old state, "
        "h' = (1 − z) ⊙ n + z ⊙ h: z close to 1 keeps the memory.",
        "⊙ is the elementwise product (`*`); the products with W and U are matrix products (`@`): "
        "(B, E) @ (E, H) and (B, H) @ (H, H) both give (B, H), the shape of the answer.",
    )
    solution_code = """
        def gru_step(x, h, p):
            sigmoid = lambda a: 1 / (1 + np.exp(-a))
            z = sigmoid(x @ p["Wz"] + h @ p["Uz"] + p["bz"])
            r = sigmoid(x @ p["Wr"] + h @ p["Ur"] + p["br"])
            n = np.tanh(x @ p["Wn"] + (r * h) @ p["Un"] + p["bn"])
            return (1 - z) * n + z * h
    """

    def reference(self):
        return lambda x, h, p: _gru(x, h, p)

    def verify(self, fn):
        B, E, H = 3, 4, 5
        p = {f"W{g}": _rng.normal(size=(E, H)) for g in "zrn"}
        p.update({f"U{g}": _rng.normal(size=(H, H)) for g in "zrn"})
        p.update({f"b{g}": _rng.normal(size=H) for g in "zrn"})
        x, h = _rng.normal(size=(B, E)), np.tanh(_rng.normal(size=(B, H)))
        what = "the new state h'"
        out = as_array(call(fn, x.copy(), h.copy(), {k: v.copy() for k, v in p.items()}, what="`gru_step`"), what)
        check_shape(out, (B, H), what)
        check_finite(out, what)
        if np.allclose(out, _gru(x, h, p, "swapped")):
            raise Wrong("z and 1 - z are swapped: z is the *update* gate's 'keep' share, h' = (1 - z) * n + z * h, "
                        "so that z close to 1 keeps the old state.")
        if np.allclose(out, _gru(x, h, p, "candidate")):
            raise Wrong("you returned the candidate n, not the new state: mix it with the old state, "
                        "h' = (1 - z) * n + z * h.")
        if np.allclose(out, _gru(x, h, p, "no_reset")):
            raise Wrong("the reset gate r is missing: the candidate reads (r * h) @ Un, not h @ Un.")
        if np.allclose(out, _gru(x, h, p, "torch")):
            raise Wrong("you applied r after the matrix, r * (h @ Un) — that is PyTorch's variant of the GRU. "
                        "This exercise uses the original one: (r * h) @ Un.")
        for variant, message in (
                ("no_bias", "the biases bz, br and bn are missing: each pre-activation is x W + h U + b."),
                ("r_for_z", "the new state mixes with the reset gate r; it is the *update* gate z that mixes: "
                            "h' = (1 - z) * n + z * h (r only acts inside the candidate)."),
                ("tanh_z", "the update gate z uses the sigmoid (values between 0 and 1, a share to keep), not tanh."),
                ("tanh_gates", "the gates z and r use the sigmoid (values between 0 and 1, a share to keep), not tanh."),
                ("sigmoid_candidate", "the candidate n uses tanh (values between -1 and 1, like the state), not the sigmoid.")):
            if np.allclose(out, _gru(x, h, p, variant)):
                raise Wrong(message)
        check_close(out, _gru(x, h, p), what)
        return "the update gate z interpolates between the old state and the candidate."

    def fresh_args(self, rng):
        B = int(rng.integers(4, 8))                   # more rows than the example's 3
        E, H = (int(v) for v in rng.integers(2, 7, size=2))
        p = {f"W{g}": rng.normal(size=(E, H)) for g in "zrn"}
        p.update({f"U{g}": rng.normal(size=(H, H)) for g in "zrn"})
        p.update({f"b{g}": rng.normal(size=H) for g in "zrn"})
        return rng.normal(size=(B, E)), np.tanh(rng.normal(size=(B, H))), p


# --- 5. gradient clipping --------------------------------------------------------------------

def _clip(grads, max_norm):
    total = np.sqrt(sum(float((g ** 2).sum()) for g in grads))
    return [g * min(1.0, max_norm / total) for g in grads] if total > 0 else [g.copy() for g in grads]


class ClipByGlobalNorm(Exercise):
    name = "clip_by_global_norm"
    title = "Exercise 5 — gradient clipping by the global norm"
    hints = (
        "First one norm for all arrays together: the square root of the sum of the squares of every number "
        "in every array (not one norm per array).",
        "The common factor is min(1, max_norm / global norm): below the threshold it is 1, so nothing changes; "
        "above it, it shrinks the global norm to exactly max_norm.",
        "Multiply every array by that *same* factor and return them as a list, one array per gradient, in "
        "the same order. Clipping each array by its own norm, or each number with np.clip, would change the "
        "direction of the gradient.",
    )
    solution_code = """
        def clip_by_global_norm(grads, max_norm):
            total = np.sqrt(sum((g ** 2).sum() for g in grads))
            return [g * min(1.0, max_norm / total) for g in grads]
    """

    def reference(self):
        return _clip

    def _answer(self, fn, grads, max_norm):
        out = call(fn, [g.copy() for g in grads], max_norm, what="`clip_by_global_norm`")
        if out is None:
            raise Wrong("`clip_by_global_norm` returned None. Did you forget a `return`?")
        if isinstance(out, np.ndarray) or not isinstance(out, (list, tuple)):
            raise Wrong(f"return a list with one array per gradient ({len(grads)} arrays), "
                        f"not a {type(out).__name__}.")
        if len(out) != len(grads):
            raise Wrong(f"return one array per gradient: expected {len(grads)} arrays, got {len(out)}.")
        arrs = [as_array(o, f"gradient {i}") for i, o in enumerate(out)]
        for i, (a, g) in enumerate(zip(arrs, grads)):
            check_shape(a, g.shape, f"gradient {i}")
            check_finite(a, f"gradient {i}")
        return arrs

    def verify(self, fn):
        grads = [_rng.normal(size=(3, 4)) * 2, _rng.normal(size=5) * 0.1]      # global norm ~ 7
        out = self._answer(fn, grads, 1.0)
        want = _clip(grads, 1.0)
        if all(np.allclose(a, g * min(1.0, 1.0 / np.linalg.norm(g))) for a, g in zip(out, grads)):
            raise Wrong("you clipped each array by its own norm. Clipping by the *global* norm scales all "
                        "arrays by one common factor, so the direction of the whole gradient is kept.")
        if all(np.allclose(a, np.clip(g, -1.0, 1.0)) for a, g in zip(out, grads)):
            raise Wrong("np.clip limits every number on its own, which changes the direction of the gradient. "
                        "Scale all arrays by the same factor max_norm / global_norm instead.")
        dot = sum(float((a * g).sum()) for a, g in zip(out, grads))
        factor = dot / sum(float((g * g).sum()) for g in grads)          # the common factor, if there is one
        right = min(1.0, 1.0 / np.sqrt(sum(float((g ** 2).sum()) for g in grads)))
        if not np.isclose(factor, right, rtol=1e-6) and all(np.allclose(a, factor * g) for a, g in zip(out, grads)):
            norms = [float(np.linalg.norm(g)) for g in grads]
            total = float(np.sqrt(sum(n ** 2 for n in norms)))
            causes = [(1 / sum(norms), "you added the norms of the arrays; the global norm is the square root of the "
                                       "sum of *squares*, sqrt(||g_1||² + ||g_2||² + ...)"),
                      (1 / total ** 2, "the square root is missing: the global norm is sqrt(sum of squares)"),
                      (total, "the factor is upside down: it is max_norm / global_norm, not global_norm / max_norm"),
                      (1 / norms[0], "the factor uses the norm of the first array only; the global norm covers every "
                                     "number in every array"),
                      (1 / np.sqrt(sum(float((g ** 2).mean()) for g in grads)),
                       "you averaged the squares (mean); the global norm *sums* them")]
            if np.isclose(factor, 1.0, rtol=1e-6):
                raise Wrong(f"the arrays came back unchanged, but their global norm, {total:.4g}, exceeds max_norm = 1: "
                            f"scale them all by max_norm / global_norm = {right:.4g}.")
            for value, cause in causes:
                if np.isclose(factor, value, rtol=1e-6):
                    raise Wrong(f"all arrays are scaled by one common factor, good, but by {factor:.4g} instead of "
                                f"{right:.4g}: {cause}.")
            raise Wrong(f"all arrays are scaled by one common factor, good, but by {factor:.4g} instead of "
                        f"max_norm / global_norm = {right:.4g}: check how you compute the global norm.")
        for i, (a, w) in enumerate(zip(out, want)):
            check_close(a, w, f"gradient {i}")
        small = [g * 0.01 for g in grads]                                        # global norm ~ 0.07
        out_small = self._answer(fn, small, 1.0)
        if not all(np.allclose(a, g) for a, g in zip(out_small, small)):
            raise Wrong("gradients whose global norm is already below max_norm must be returned unchanged; "
                        "yours were rescaled (use min(1, max_norm / total)).")
        return "one common factor: the gradient keeps its direction, only its length is limited."

    def fresh_args(self, rng):
        grads = [rng.normal(size=tuple(int(d) for d in rng.integers(1, 6, size=rng.integers(1, 3))))
                 for _ in range(int(rng.integers(2, 5)))]
        norm = np.sqrt(sum(float((g ** 2).sum()) for g in grads))
        return grads, float(norm * rng.uniform(0.2, 1.5))      # clipped, or (factor > 1) left alone


q1, q2, q3, q4, q5 = AdditiveScores(), PaddingMask(), MultiHeadAttention(), GRUStep(), ClipByGlobalNorm()
ALL = [q1, q2, q3, q4, q5]
