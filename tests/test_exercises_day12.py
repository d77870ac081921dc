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


def test_bpe_merge_swapped_return_and_lost_last_id():
    ref = day12.q2.reference()
    msg = _msg(day12.q2, lambda ids, n: ref(ids, n)[::-1])
    assert "wrong order" in msg and "return pair, new_ids" in msg

    def stops_early(ids, new_id):  # a for loop over range(len(ids) - 1) never copies the last id
        pair, out, skip = Counter(zip(ids, ids[1:])).most_common(1)[0][0], [], False
        for i in range(len(ids) - 1):
            if skip:
                skip = False
            elif (ids[i], ids[i + 1]) == pair:
                out.append(new_id)
                skip = True
            else:
                out.append(ids[i])
        return pair, out

    assert "last id, 3, is missing" in _msg(day12.q2, stops_early)


def test_rms_norm_sum_instead_of_mean_and_keepdim():
    msg = _msg(day12.q4, lambda x, w, eps=1e-5: x / x.norm(dim=-1, keepdim=True) * w)
    assert "*sum* of squares" in msg
    assert "keepdim=True" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt((x ** 2).mean(-1) + eps) * w)


def test_fresh_inputs_catch_hard_coded_sizes():
    # the causal mask built for the example's 5 positions, whatever the input
    fixed_mask = torch.tril(torch.ones(5, 5, dtype=torch.bool))
    assert day12.q1.evaluate(lambda s: s.masked_fill(~fixed_mask, float("-inf")).softmax(-1)).status == "incorrect"
    # the example's scale 1/sqrt(4) hard-coded in the KV-cache step
    def sqrt4(K, V, q, k, v):
        K, V = torch.cat([K, k], 2), torch.cat([V, v], 2)
        return (q @ K.transpose(-2, -1) / 2).softmax(-1) @ V, K, V
    assert "new random inputs" in _msg(day12.q5, sqrt4)


# --- 5. build it: one attention step with a KV cache ----------------------------------------

F = pytest.importorskip("torch.nn.functional")


def _step(out_fn, grow=lambda C, c: torch.cat([C, c], dim=2), order=("out", "K", "V")):
    """A KV-cache step whose parts can be made wrong one at a time."""
    def kv_attention_step(K, V, q, k, v):
        K2, V2 = grow(K, k), grow(V, v)
        parts = {"out": out_fn(q, K2, V2, K, V), "K": K2, "V": V2, "oldK": K, "oldV": V}
        return tuple(parts[p] for p in order)
    return kv_attention_step


def test_kv_cache_step_right_answers_pass():
    q5 = day12.q5
    assert q5.evaluate(q5.reference()).correct
    assert q5.evaluate(_step(lambda q, K, V, *_: F.scaled_dot_product_attention(q, K, V))).correct
    assert q5.evaluate(_step(lambda q, K, V, *_: (q @ K.transpose(-2, -1) / q.shape[-1] ** 0.5).softmax(-1) @ V)).correct
    f32 = _step(lambda q, K, V, *_: F.scaled_dot_product_attention(q.float(), K.float(), V.float()))
    assert q5.evaluate(f32).correct  # float32 work is judged at float32 tolerance


def test_kv_cache_step_mistakes():
    q5 = day12.q5
    sdpa = lambda q, K, V, *_: F.scaled_dot_product_attention(q, K, V)  # noqa: E731
    scaled = lambda s: (lambda q, K, V, *_: (q @ K.transpose(-2, -1) * s(q)).softmax(-1) @ V)  # noqa: E731
    assert "read position 0 only" in _msg(q5, _step(
        lambda q, K, V, *_: F.scaled_dot_product_attention(q, K, V, is_causal=True)))
    assert "did not attend to itself" in _msg(q5, _step(lambda q, K, V, oldK, oldV: sdpa(q, oldK, oldV)))
    assert "not scaled" in _msg(q5, _step(scaled(lambda q: 1.0)))
    assert "divided by d" in _msg(q5, _step(scaled(lambda q: 1 / q.shape[-1])))
    assert "wrong axis" in _msg(q5, _step(lambda q, K, V, *_: (q @ K.transpose(-2, -1)).softmax(-2) @ V))
    assert "keys and values are swapped" in _msg(q5, _step(lambda q, K, V, *_: sdpa(q, V, K)))
    assert "comes first" in _msg(q5, _step(sdpa, grow=lambda C, c: torch.cat([c, C], dim=2)))
    assert "Concatenate along `dim=2`" in _msg(q5, _step(sdpa, grow=lambda C, c: torch.cat([C, c], dim=-1)))
    assert "still has 5 positions" in _msg(q5, _step(sdpa, order=("out", "oldK", "oldV")))
    assert "caches are swapped" in _msg(q5, _step(sdpa, order=("out", "V", "K")))
    assert "wrong order" in _msg(q5, _step(sdpa, order=("K", "V", "out")))
    assert "return three things" in _msg(q5, lambda K, V, q, k, v: sdpa(q, torch.cat([K, k], 2), torch.cat([V, v], 2)))


def test_kv_cache_step_blanks_are_not_attempted():
    from mlcourse.exercises import ____

    def starter(K, V, q, k, v):  # the notebook's starter cell
        K = torch.cat([K, ____], dim=____)
        V = ____
        scores = ____
        out = ____
        return out, K, V

    def half_done(K, V, q, k, v):
        K, V = torch.cat([K, k], dim=2), torch.cat([V, v], dim=2)
        out = ____
        return out, K, V

    assert day12.q5.evaluate(starter).status == "not_attempted"
    assert day12.q5.evaluate(half_done).status == "not_attempted"


# --- review of the messages (beginners' answers) -------------------------------------------------

def _tri(T):
    return torch.tril(torch.ones(T, T, dtype=torch.bool))


def test_causal_weights_name_more_mistakes():
    assert "wrong way round" in _msg(day12.q1, lambda s: s.masked_fill(_tri(s.shape[-1]), float("-inf")).softmax(-1))
    assert "set to 0, not to -inf" in _msg(day12.q1, lambda s: (s * _tri(s.shape[-1])).softmax(-1))
    assert "returned the masked scores" in _msg(day12.q1, lambda s: s.masked_fill(~_tri(s.shape[-1]), float("-inf")))
    assert "divided by sqrt(T)" in _msg(day12.q1, lambda s: (s / math.sqrt(s.shape[-1])).masked_fill(~_tri(s.shape[-1]), float("-inf")).softmax(-1))


def _merge_answer(ids, new_id, pair=None):
    pair = pair or Counter(zip(ids, ids[1:])).most_common(1)[0][0]
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return pair, out


def test_bpe_merge_after_review():
    def with_count(ids, new_id):
        return Counter(zip(ids, ids[1:])).most_common(1)[0], _merge_answer(ids, new_id)[1]
    assert "most_common(1)[0][0]" in _msg(day12.q2, with_count)

    def by_text(ids, new_id):
        pair = Counter(zip(ids, ids[1:])).most_common(1)[0][0]
        text = " ".join(map(str, ids)).replace(f"{pair[0]} {pair[1]}", str(new_id))
        return pair, [int(t) for t in text.split()]
    assert "11 is one token" in _msg(day12.q2, by_text)

    def in_place(ids, new_id):
        pair, out = _merge_answer(ids, new_id)
        ids[:] = out
        return pair, ids
    res = day12.q2.evaluate(in_place)
    assert res.status == "correct" and "changes its input in place" in res.message


def test_rope_pair_accepts_an_array_and_names_more_mistakes():
    import numpy as np

    def rot(x1, x2, pos, theta):
        a = pos * theta
        return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.array([x1, x2])
    assert day12.q3.evaluate(rot).status == "correct"          # was refused on the fresh inputs
    assert day12.q3.evaluate(lambda *a: torch.tensor(rot(*a))).status == "correct"
    assert "(z.real, z.imag)" in _msg(day12.q3, lambda x1, x2, p, t: complex(x1, x2) * complex(math.cos(p * t), math.sin(p * t)))
    assert "y1 and y2 are swapped" in _msg(day12.q3, lambda *a: tuple(rot(*a))[::-1])
    assert "radians" in _msg(day12.q3, lambda x1, x2, p, t: rot(x1, x2, p, math.radians(t)))
    assert "pos + theta" in _msg(day12.q3, lambda x1, x2, p, t: rot(x1, x2, 1, p + t))


def test_rms_norm_checks_eps_on_small_rows():
    ms = lambda x: (x ** 2).mean(-1, keepdim=True)  # noqa: E731
    assert "*inside* the square root" in _msg(day12.q4, lambda x, w, eps=1e-5: x / (torch.sqrt(ms(x)) + eps) * w)
    assert "eps is missing" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt(ms(x)) * w)
    assert "use the argument `eps`" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt(ms(x) + 1e-5) * w)
    assert "standard deviation" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt(x.var(-1, keepdim=True) + eps) * w)
    assert "you added it" in _msg(day12.q4, lambda x, w, eps=1e-5: x / torch.sqrt(ms(x) + eps) + w)


@pytest.mark.filterwarnings("ignore::UserWarning")  # K.T on a 4-D tensor is deprecated: the mistake itself
def test_kv_step_names_more_mistakes():
    def step(scale=None, dotT=False, stack=False):
        def f(K, V, q, k, v):
            K = torch.stack([K, k], 2) if stack else torch.cat([K, k], 2)
            V = torch.cat([V, v], 2)
            s = q @ (K.T if dotT else K.transpose(-2, -1))
            return (s / math.sqrt(scale(K) if scale else q.shape[-1])).softmax(-1) @ V, K, V
        return f
    assert "√(T + 1)" in _msg(day12.q5, step(scale=lambda K: K.shape[2]))
    assert "`K.transpose(-2, -1)`" in _msg(day12.q5, step(dotT=True))
    assert "`torch.stack`" in _msg(day12.q5, step(stack=True))
