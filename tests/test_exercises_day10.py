"""Day 10's exercises: typical wrong answers get the right explanation."""

import numpy as np
import pytest

from mlcourse.exercises import day10

torch = pytest.importorskip("torch")


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_causal_mask_mistakes():
    assert "wrong orientation" in _msg(day10.q1, lambda T: torch.triu(torch.ones(T, T, dtype=torch.bool)))
    assert "upper-triangular" in _msg(day10.q1, lambda T: np.tril(np.ones((T, T), dtype=bool)).T)
    assert "nn.MultiheadAttention" in _msg(day10.q1, lambda T: ~torch.tril(torch.ones(T, T, dtype=torch.bool)))
    assert "diagonal" in _msg(day10.q1, lambda T: torch.tril(torch.ones(T, T, dtype=torch.bool), -1))
    assert "no mask at all" in _msg(day10.q1, lambda T: torch.ones(T, T, dtype=torch.bool))
    assert "additive" in _msg(day10.q1, lambda T: torch.triu(torch.full((T, T), -torch.inf), 1))
    assert "expected (5, 5), got (5,)" in _msg(day10.q1, lambda T: torch.ones(T, dtype=torch.bool))
    # a float 0/1 mask is *added* by F.scaled_dot_product_attention: the future leaks (issue 14)
    assert "dtype is torch.float32" in _msg(day10.q1, lambda T: torch.tril(torch.ones(T, T)))
    msg = _msg(day10.q1, lambda T: np.tril(np.ones((T, T), dtype=np.int64)))
    assert "dtype is int64" in msg and "refuse integer masks" in msg and ".astype(bool)" in msg
    assert day10.q1.evaluate(lambda T: np.tril(np.ones((T, T), dtype=bool))).correct


def test_padding_mask_mistakes():
    assert "middle axis is missing" in _msg(day10.q2, lambda t, pad_id=0: t != pad_id)
    msg = _msg(day10.q2, lambda t, pad_id=0: (t != pad_id)[:, :, None])
    assert "wrong orientation" in msg and "keys" in msg
    assert "swapped" in _msg(day10.q2, lambda t, pad_id=0: (t == pad_id)[:, None, :])
    assert "pad_id" in _msg(day10.q2, lambda t, pad_id=0: (t != 0)[:, None, :])
    msg = _msg(day10.q2, lambda t, pad_id=0: (t != pad_id)[:, None, :].float())
    assert "dtype is torch.float32" in msg and "padding" in msg and "future" not in msg


def test_attention_weights_mistakes():
    def make(scale=None, axis=-1, after=False, invert=False, stable=True):
        def f(q, k, mask=None):
            s = q @ k.T / (np.sqrt(q.shape[-1]) if scale is None else scale)
            if mask is not None and not after:
                s = np.where(~mask if invert else mask, s, -np.inf)
            if stable:
                s = s - s.max(axis=axis, keepdims=True)
            e = np.exp(s)
            w = e / e.sum(axis=axis, keepdims=True)
            return w * mask if (after and mask is not None) else w
        return f

    assert day10.q3.evaluate(make()).correct
    assert "sqrt(d)" in _msg(day10.q3, make(scale=1.0))
    assert "divided the scores by d" in _msg(day10.q3, make(scale=8.0))
    assert "wrong axis" in _msg(day10.q3, make(axis=0))
    assert "*after* the softmax" in _msg(day10.q3, make(after=True))
    assert "wrong way round" in _msg(day10.q3, make(invert=True))
    with np.errstate(over="ignore", invalid="ignore"):
        assert "overflowed" in _msg(day10.q3, make(stable=False))
    assert "transposed" in _msg(day10.q3, lambda q, k, mask=None: make()(q, k, mask).T)


def test_gru_step_mistakes():
    ref = day10._gru
    assert "swapped" in _msg(day10.q4, lambda x, h, p: ref(x, h, p, "swapped"))
    assert "candidate" in _msg(day10.q4, lambda x, h, p: ref(x, h, p, "candidate"))
    assert "reset gate" in _msg(day10.q4, lambda x, h, p: ref(x, h, p, "no_reset"))
    assert "PyTorch's variant" in _msg(day10.q4, lambda x, h, p: ref(x, h, p, "torch"))
    assert "expected (3, 5)" in _msg(day10.q4, lambda x, h, p: ref(x, h, p).T)


def test_clip_mistakes():
    assert "own norm" in _msg(day10.q5, lambda gs, m: [g * min(1, m / np.linalg.norm(g)) for g in gs])
    assert "np.clip" in _msg(day10.q5, lambda gs, m: [np.clip(g, -m, m) for g in gs])
    assert "unchanged" in _msg(day10.q5, lambda gs, m: [g * m / np.sqrt(sum((x ** 2).sum() for x in gs)) for g in gs])
    assert "list" in _msg(day10.q5, lambda gs, m: np.concatenate([g.ravel() for g in gs]))
    assert "expected 2 arrays, got 1" in _msg(day10.q5, lambda gs, m: [gs[0]])
