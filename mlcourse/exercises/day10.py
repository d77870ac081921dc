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


# --- 1. the causal mask ----------------------------------------------------------------------

class CausalMask(Exercise):
    name = "causal_mask"
    title = "Exercise 1 — the causal mask"
    hints = (
        "Row i is the query (position i), column j the key. Position i may read positions 0, 1, ..., i: "
        "row 0 has one True, the last row is all True.",
        "That is the lower triangle including the diagonal: `torch.tril(torch.ones(T, T, dtype=torch.bool))` "
        "(or `np.tril(np.ones((T, T), dtype=bool))`).",
    )
    solution_code = """
        def causal_mask(T):
            return torch.tril(torch.ones(T, T, dtype=torch.bool))
    """

    def reference(self):
        return lambda T: np.tril(np.ones((T, T), dtype=bool))

    def verify(self, fn):
        T = 5
        m = _bool_matrix(call(fn, T, what="`causal_mask`"), (T, T), "the mask")
        want = np.tril(np.ones((T, T), dtype=bool))
        if np.array_equal(m, want.T):
            raise Wrong("wrong orientation: your mask is upper-triangular, so query 0 (row 0) may read "
                        "every later key — the future — while the last position sees only itself. "
                        "Rows are queries and columns are keys: position i may read keys j <= i, so the "
                        "True entries go on and *below* the diagonal (tril, not triu).")
        if np.array_equal(m, ~want):
            raise Wrong("True and False are swapped: your mask is True exactly where attention must be "
                        "blocked. That is the convention of nn.MultiheadAttention; here (as in "
                        "F.scaled_dot_product_attention) True means 'may attend'.")
        if np.array_equal(m, np.tril(want, -1)):
            raise Wrong("the diagonal is False: every position must be allowed to read itself "
                        "(otherwise position 0 may read nothing at all). Keep the diagonal in the triangle.")
        if m.all():
            raise Wrong("every entry is True: that is no mask at all, every position could read the future.")
        if not np.array_equal(m, want):
            wrong = np.argwhere(m != want)[0]
            raise Wrong(f"entry (query {wrong[0]}, key {wrong[1]}) is {bool(m[tuple(wrong)])} but should be "
                        f"{bool(want[tuple(wrong)])}: position i may read exactly the keys 0..i.")
        if not np.array_equal(_bool_matrix(call(fn, 1, what="`causal_mask`"), (1, 1), "causal_mask(1)"),
                              np.ones((1, 1), dtype=bool)):
            raise Wrong("causal_mask(1) should be [[True]]: one position may read itself.")
        _require_bool_dtype(call(fn, T, what="`causal_mask`"), "your mask", "the future leaks in")
        return "row = query, column = key; position i reads positions 0..i."


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
        "`tokens != pad_id` is True at real tokens and has shape (B, L). The mask must hide *keys* "
        "(columns of the score matrix), for every query: add an axis of length 1 in the middle.",
        "`(tokens != pad_id)[:, None, :]` (or `.unsqueeze(1)`) has shape (B, 1, L).",
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
        m = _bool_matrix(arr, (3, 1, 6), "the mask")
        if np.array_equal(m, ~want):
            raise Wrong("True and False are swapped: your mask is True at the padding. Here True means "
                        "'a real token, may be attended to'.")
        if not np.array_equal(m, want):
            raise Wrong("some entries are wrong: the mask must be True exactly where the token is not pad_id.")
        other = _tokens(7)
        m7 = _bool_matrix(call(fn, other.clone(), 7, what="`padding_mask`"), (3, 1, 6), "padding_mask(tokens, pad_id=7)")
        if not np.array_equal(m7, (other != 7).numpy()[:, None, :]):
            raise Wrong("with pad_id=7 your mask is wrong: use the argument `pad_id` instead of a fixed 0.")
        _require_bool_dtype(call(fn, tokens.clone(), 0, what="`padding_mask`"), "your mask",
                            "real tokens attend to the padding")
        return "shape (B, 1, L): it broadcasts over the queries and hides padded keys."


# --- 3. attention weights in NumPy -----------------------------------------------------------

def _softmax(s, axis=-1):
    s = s - s.max(axis=axis, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=axis, keepdims=True)


def _weights(q, k, mask=None, scale=None, axis=-1):
    scores = q @ k.T / (np.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    with np.errstate(invalid="ignore"):          # a fully masked row gives NaN: never the answer
        return _softmax(scores, axis)


class AttentionWeights(Exercise):
    name = "attention_weights"
    title = "Exercise 3 — attention weights in NumPy"
    hints = (
        "Scores: `q @ k.T / np.sqrt(d)` with d = q.shape[-1], shape (Lq, Lk). Where the mask is False set "
        "the score to -np.inf (`np.where(mask, scores, -np.inf)`) *before* the softmax.",
        "Softmax over the keys, i.e. along each row (axis=-1), stably: subtract `scores.max(axis=-1, "
        "keepdims=True)`, exponentiate, divide by the row sums.",
    )
    solution_code = """
        def attention_weights(q, k, mask=None):
            scores = q @ k.T / np.sqrt(q.shape[-1])
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            scores = scores - scores.max(axis=-1, keepdims=True)
            w = np.exp(scores)
            return w / w.sum(axis=-1, keepdims=True)
    """

    def reference(self):
        return lambda q, k, mask=None: _weights(q, k, mask)

    def verify(self, fn):
        q, k = _rng.normal(size=(4, 8)), _rng.normal(size=(6, 8))
        mask = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 1],           # every row keeps some keys
                         [1, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=bool)  # and blocks others
        what = "the attention weights"
        out = as_array(call(fn, q.copy(), k.copy(), mask.copy(), what="`attention_weights`"), what)
        check_shape(out, (4, 6), what)
        check_finite(out, what)
        want = _weights(q, k, mask)
        if np.allclose(out, _weights(q, k, mask, scale=1.0)):
            raise Wrong("you forgot to divide the scores by sqrt(d): without it the softmax saturates "
                        "when d is large.")
        if np.allclose(out, _weights(q, k, mask, scale=q.shape[-1])):
            raise Wrong("you divided the scores by d; the scale is sqrt(d) (np.sqrt(q.shape[-1])).")
        if np.allclose(out, _weights(q, k, ~mask)):
            raise Wrong("the mask is used the wrong way round: True means 'may attend', so the "
                        "entries where the mask is *False* must get weight 0.")
        if np.allclose(out, _weights(q, k, None)):
            raise Wrong("the mask is ignored: entries where the mask is False must get weight exactly 0.")
        if np.allclose(out.sum(axis=0), 1.0) and not np.allclose(out.sum(axis=1), 1.0):
            raise Wrong("the softmax runs over the wrong axis: your *columns* sum to 1. Each query (a row) "
                        "distributes its attention over the keys: use axis=-1.")
        if np.allclose(out, _weights(q, k, None) * mask):
            raise Wrong("you zeroed the masked weights *after* the softmax, so the rows no longer sum to 1. "
                        "Set the masked scores to -inf *before* the softmax instead.")
        check_close(out, want, what)
        big = as_array(call(fn, 100 * q, 100 * k, mask.copy(), what="`attention_weights`"),
                       "the weights for large inputs")
        if not np.isfinite(big).all():
            raise Wrong("with large inputs (q and k times 100) your weights contain NaN or inf: exp "
                        "overflowed. Subtract each row's maximum score before np.exp.")
        check_close(big, _weights(100 * q, 100 * k, mask), "the weights for large inputs")
        no_mask = as_array(call(fn, q.copy(), k.copy(), None, what="`attention_weights`"),
                           "the weights with mask=None")
        check_close(no_mask, _weights(q, k), "the weights with mask=None")
        return "each row is a probability distribution over the keys, masked keys get exactly 0."


# --- 4. a GRU step ---------------------------------------------------------------------------

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gru(x, h, p, variant="right"):
    z = _sigmoid(x @ p["Wz"] + h @ p["Uz"] + p["bz"])
    r = _sigmoid(x @ p["Wr"] + h @ p["Ur"] + p["br"])
    if variant == "torch":
        n = np.tanh(x @ p["Wn"] + r * (h @ p["Un"]) + p["bn"])
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
        "Three lines for the gates: `z = sigmoid(x @ p['Wz'] + h @ p['Uz'] + p['bz'])`, the same for r, "
        "and `n = np.tanh(x @ p['Wn'] + (r * h) @ p['Un'] + p['bn'])`. Define `sigmoid(a) = 1 / (1 + np.exp(-a))`.",
        "The new state mixes the candidate and the old state: `(1 - z) * n + z * h`. When z is close to 1 "
        "the GRU keeps its memory.",
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
        check_close(out, _gru(x, h, p), what)
        return "the update gate z interpolates between the old state and the candidate."


# --- 5. gradient clipping --------------------------------------------------------------------

def _clip(grads, max_norm):
    total = np.sqrt(sum(float((g ** 2).sum()) for g in grads))
    return [g * min(1.0, max_norm / total) for g in grads] if total > 0 else [g.copy() for g in grads]


class ClipByGlobalNorm(Exercise):
    name = "clip_by_global_norm"
    title = "Exercise 5 — gradient clipping by the global norm"
    hints = (
        "First the global norm: `total = np.sqrt(sum((g ** 2).sum() for g in grads))` — one number for all arrays.",
        "Then one common factor `min(1, max_norm / total)` for every array: "
        "`[g * min(1.0, max_norm / total) for g in grads]`.",
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
        for i, (a, w) in enumerate(zip(out, want)):
            check_close(a, w, f"gradient {i}")
        small = [g * 0.01 for g in grads]                                        # global norm ~ 0.07
        out_small = self._answer(fn, small, 1.0)
        if not all(np.allclose(a, g) for a, g in zip(out_small, small)):
            raise Wrong("gradients whose global norm is already below max_norm must be returned unchanged; "
                        "yours were rescaled (use min(1, max_norm / total)).")
        return "one common factor: the gradient keeps its direction, only its length is limited."


q1, q2, q3, q4, q5 = CausalMask(), PaddingMask(), AttentionWeights(), GRUStep(), ClipByGlobalNorm()
ALL = [q1, q2, q3, q4, q5]
