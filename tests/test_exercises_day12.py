"""Day 12's exercises: typical wrong answers get the right explanation."""

import math
from collections import Counter

import numpy as np
import pytest

from mlcourse.exercises import day12

torch = pytest.importorskip("torch")


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def _masked(scores, keep):
    return scores.masked_fill(~keep, float("-inf"))


def test_causal_weights_mistakes():
    tril = lambda s: torch.tril(torch.ones(s.shape[-1], s.shape[-1], dtype=torch.bool))
    assert "future is visible" in _msg(day12.q1, lambda s: _masked(s, tril(s).T).softmax(-1))
    assert "no mask" in _msg(day12.q1, lambda s: s.softmax(-1))
    assert "after* the softmax" in _msg(day12.q1, lambda s: s.softmax(-1) * tril(s))
    assert "wrong axis" in _msg(day12.q1, lambda s: _masked(s, tril(s)).softmax(0))
    assert "NaN" in _msg(day12.q1, lambda s: _masked(s, torch.tril(tril(s), -1)).softmax(-1))
    assert "expected (5, 5)" in _msg(day12.q1, lambda s: s[0])
    assert day12.q1.evaluate(day12.q1.reference()).correct


def test_bpe_merge_mistakes():
    def no_skip(ids, new_id):
        pair = Counter(zip(ids, ids[1:])).most_common(1)[0][0]
        return pair, [new_id if (a, b) == pair else a for a, b in zip(ids, ids[1:] + [None])]

    def overlap(ids, new_id):  # merges every position where the pair starts, dropping one id each
        pair = Counter(zip(ids, ids[1:])).most_common(1)[0][0]
        out = [new_id if (a, b) == pair else a for a, b in zip(ids, ids[1:] + [None])]
        return pair, [t for i, t in enumerate(out) if not (i > 0 and (ids[i - 1], ids[i]) == pair)]

    assert "same length" in _msg(day12.q2, no_skip)
    assert "more than once" in _msg(day12.q2, overlap)
    assert "did not change" in _msg(day12.q2, lambda ids, n: ((1, 1), list(ids)))
    assert "most frequent adjacent pair is (1, 1)" in _msg(day12.q2, lambda ids, n: ((5, 1), [n] + ids[2:]))
    assert "return two things" in _msg(day12.q2, lambda ids, n: ids)
    assert day12.q2.evaluate(day12.q2.reference()).correct


def test_rope_pair_mistakes():
    def cw(x1, x2, pos, theta):
        a = pos * theta
        return x1 * math.cos(a) + x2 * math.sin(a), -x1 * math.sin(a) + x2 * math.cos(a)

    def no_pos(x1, x2, pos, theta):
        return cw(x1, x2, -1, theta)

    def bad_len(x1, x2, pos, theta):
        a = pos * theta
        return x1 * math.cos(a) + x2 * math.sin(a), x1 * math.sin(a) + x2 * math.cos(a)

    assert "wrong way" in _msg(day12.q3, cw)
    assert "pos * theta" in _msg(day12.q3, no_pos)
    assert "keeps the length" in _msg(day12.q3, bad_len)
    assert "two numbers" in _msg(day12.q3, lambda *a: (1.0, 2.0, 3.0))
    assert day12.q3.evaluate(day12.q3.reference()).correct


def test_rms_norm_mistakes():
    layer_norm = lambda x, w, eps=1e-5: torch.nn.functional.layer_norm(x, x.shape[-1:], weight=w, eps=eps)
    assert "LayerNorm" in _msg(day12.q4, layer_norm)
    assert "wrong axis" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt((x ** 2).mean(0, keepdim=True) + eps) * w)
    assert "weight` is missing" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + eps))
    assert "square root" in _msg(day12.q4, lambda x, w, eps=1e-5: x / ((x ** 2).mean(-1, keepdim=True) + eps) * w)
    assert day12.q4.evaluate(lambda x, w, eps=1e-5: x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + eps) * w).correct
    assert np.isfinite(day12.q4.reference()(np.ones((2, 3)), np.ones(3))).all()
