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


def test_rms_norm_names_shape_dtype_and_return_mistakes():
    def rms(x, eps):
        return torch.sqrt((x ** 2).mean(-1, keepdim=True) + eps)

    # weight made a column: the size error must not send the learner to keepdim, which they used
    msg = _msg(day12.q4, lambda x, w, eps=1e-5: x / rms(x, eps) * w[:, None])
    assert "`weight` was made a column" in msg and "keepdim" not in msg
    msg = _msg(day12.q4, lambda x, w, eps=1e-5: (x / rms(x, eps) * w, w))
    assert "returned a tuple of 2 values" in msg
    assert "bfloat16" in _msg(day12.q4, lambda x, w, eps=1e-5: (x / rms(x, eps) * w).bfloat16())
    assert "the whole tensor" in _msg(day12.q4, lambda x, w, eps=1e-5: x / math.sqrt((x ** 2).mean() + eps) * w)
    msg = _msg(day12.q4, lambda x, w, eps=1e-5: x / math.sqrt((x ** 2).mean(-1, keepdim=True) + eps) * w)
    assert "use `torch.exp`, `torch.log` and `torch.sqrt`" in msg and "`float()`" in msg
    assert day12.q4.evaluate(lambda x, w, eps=1e-5: x.float() / rms(x.float(), eps) * w.float()).status == "correct"
    assert "nested list" in _msg(day12.q4, lambda x, w, eps=1e-5: (x / rms(x, eps) * w).tolist())
    res = day12.q4.evaluate(lambda x, w, eps=1e-5: (x / rms(x, eps) * w).numpy())     # right values, but NumPy
    assert res.status == "correct" and "returns a NumPy array" in res.message


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


# --- 6. top-p (nucleus) filtering --------------------------------------------------------------

def _top_p(rule="before", back="scatter", probs_dim=-1, use_logits=False, fill=float("-inf"),
           descending=True, first=True):
    """A top-p filter whose parts can be made wrong one at a time."""
    def nucleus_filter(logits, top_p):
        s, order = torch.sort(logits, dim=-1, descending=descending)
        p = s if use_logits else s.softmax(dim=probs_dim)
        cum = p.cumsum(dim=-1)
        keep = {"before": cum - p < top_p, "upto": cum <= top_p}[rule]
        if first:
            keep[..., 0] = True
        if back == "scatter":
            keep = torch.zeros_like(keep).scatter(-1, order, keep)
        elif back == "gather":
            keep = keep.gather(-1, order)
        return logits.masked_fill(~keep, fill)
    return nucleus_filter


def test_top_p_right_answers_pass():
    q6 = day12.q6
    assert q6.evaluate(q6.reference()).correct
    assert q6.evaluate(_top_p()).correct

    def hf_style(logits, top_p):  # Hugging Face: remove where the running total exceeds top_p, shifted by one
        s, order = torch.sort(logits, descending=True)
        cum = s.softmax(-1).cumsum(-1)
        drop = cum > top_p
        drop[..., 1:] = drop[..., :-1].clone()
        drop[..., 0] = False
        return logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    assert q6.evaluate(hf_style).correct
    assert q6.evaluate(lambda l, p: _top_p()(l.float(), p)).correct  # float32 is fine


def test_top_p_mistakes():
    q6 = day12.q6
    msg = _msg(q6, _top_p(rule="upto", first=False))
    assert "drops the token that crosses top_p" in msg and "that rule keeps nothing at all" in msg
    msg = _msg(q6, _top_p(rule="upto"))  # the most likely token kept by hand: only the crossing token is lost
    assert "drops the token that crosses top_p" in msg and "keeps nothing" not in msg
    assert "used as if it were in the original order" in _msg(q6, _top_p(back="none"))
    assert "wrong permutation" in _msg(q6, _top_p(back="gather"))
    assert "adds up the logits, not the probabilities" in _msg(q6, _top_p(use_logits=True))
    assert "wrong axis, the batch (dim=0)" in _msg(q6, _top_p(probs_dim=0))
    assert "returned the probabilities" in _msg(q6, lambda l, p: _top_p()(l, p).softmax(-1))
    assert "logit of 0, not -inf" in _msg(q6, _top_p(fill=0.0))
    assert "not -inf" in _msg(q6, _top_p(fill=-1e9))
    assert "as top-k (a fixed count) would" in _msg(
        q6, lambda l, p: l.masked_fill(l < torch.topk(l, 2).values[:, [-1]], float("-inf")))
    assert "use the argument `top_p`" in _msg(q6, lambda l, p: _top_p()(l, 0.7))
    assert "wrong way round" in _msg(q6, lambda l, p: l.masked_fill(_top_p()(l, p) > float("-inf"), float("-inf")))
    assert "were not sorted" in _msg(
        q6, lambda l, p: l.masked_fill(~(lambda pr: pr.cumsum(-1) - pr < p)(l.softmax(-1)), float("-inf")))
    assert "nothing was filtered" in _msg(q6, lambda l, p: l.clone())
    assert "descending=True" in _msg(q6, _top_p(descending=False))
    assert "in sorted order" in _msg(q6, lambda l, p: torch.sort(_top_p()(l, p), descending=True).values)
    assert "the mask itself" in _msg(q6, lambda l, p: _top_p()(l, p) > float("-inf"))
    assert "log-probabilities" in _msg(q6, lambda l, p: _top_p()(l, p).log_softmax(-1))
    assert "0 times -inf" in _msg(q6, lambda l, p: _top_p()(l, p) * _top_p()(l, p).isfinite())  # -inf * 0 = NaN
    assert "expected (3, 6)" in _msg(q6, lambda l, p: _top_p()(l, p)[0])


def test_top_p_in_place_gets_a_note_or_a_reason():
    def in_place(logits, top_p):
        logits[_top_p()(logits, top_p).isinf()] = float("-inf")
        return logits
    res = day12.q6.evaluate(in_place)
    assert res.correct and "changed the logits it was given" in res.message

    def in_place_no_return(logits, top_p):
        in_place(logits, top_p)
    assert "returned None" in _msg(day12.q6, in_place_no_return)


def test_top_p_starter_is_not_attempted_and_memorised_fails():
    from mlcourse.exercises import ____

    def nucleus_filter(logits, top_p):  # the notebook's starter cell
        return ____   # your code here
    assert day12.q6.evaluate(nucleus_filter).status == "not_attempted"
    outputs = {0.7: day12.q6.reference()(torch.log(torch.tensor(day12.q6.PROBS)) + torch.tensor(day12.q6.SHIFT), 0.7),
               0.9: day12.q6.reference()(torch.log(torch.tensor(day12.q6.PROBS)) + torch.tensor(day12.q6.SHIFT), 0.9)}
    assert day12.q6.evaluate(lambda l, p: outputs[0.7]).status == "incorrect"
    assert "new random inputs" in _msg(day12.q6, lambda l, p: outputs[p])


# --- 7. build it: the forward pass of a LoRA layer -----------------------------------------------

def _lora(scale=lambda alpha, r: alpha / r, bias=True, update=lambda x, A, B: x @ A.T @ B.T, base=True):
    """A LoRA forward pass whose parts can be made wrong one at a time."""
    def lora_forward(x, W, b, A, B, alpha):
        out = scale(alpha, A.shape[0]) * update(x, A, B)
        if base:
            out = out + x @ W.T + (b if bias else 0)
        return out
    return lora_forward


def test_lora_right_answers_pass():
    q7 = day12.q7
    assert q7.evaluate(q7.reference()).correct
    assert q7.evaluate(_lora()).correct
    assert q7.evaluate(lambda x, W, b, A, B, a: x @ (W + a / B.shape[1] * B @ A).T + b).correct  # merged
    assert q7.evaluate(lambda x, W, b, A, B, a: F.linear(x, W, b) + a / A.shape[0] * F.linear(F.linear(x, A), B)
                       ).correct


def test_lora_float32_answers_pass_on_fresh_inputs_too():
    """Found in review: the fresh inputs were compared at rtol 1e-6, the fixed examples at 1e-5, so an
    answer computed in float32 and cast back was refused most of the time, with a misleading message."""
    q7 = day12.q7
    f32 = lambda x, W, b, A, B, a: (x.float() @ W.float().T + b.float()  # noqa: E731
                                    + a / A.shape[0] * (x.float() @ A.float().T @ B.float().T)).double()
    assert all(q7.evaluate(f32).correct for _ in range(20))
    assert "bias" in _msg(q7, lambda x, W, b, A, B, a: (x.float() @ W.float().T + a / A.shape[0]
                                                        * (x.float() @ A.float().T @ B.float().T)).double())


def test_lora_agrees_with_the_course_layer():
    from mlcourse.models.lora import LoRALinear

    torch.manual_seed(0)
    base = torch.nn.Linear(6, 5)
    layer = LoRALinear(base, r=3, alpha=12.0)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(4, 6)
    ref = day12.q7.reference()(x, base.weight, base.bias, layer.lora_A, layer.lora_B, 12.0)
    assert torch.allclose(ref, layer(x), atol=1e-5)


def test_lora_mistakes():
    q7 = day12.q7
    assert "scaled by alpha (8)" in _msg(q7, _lora(scale=lambda a, r: a))
    assert "upside down" in _msg(q7, _lora(scale=lambda a, r: r / a))
    assert "not scaled" in _msg(q7, _lora(scale=lambda a, r: 1))
    assert "bias b is missing" in _msg(q7, _lora(bias=False))
    assert "you used r = 2" in _msg(q7, _lora(scale=lambda a, r: a / 2))
    assert "use the argument `alpha`" in _msg(q7, _lora(scale=lambda a, r: 8 / r))
    assert "rounded down" in _msg(q7, _lora(scale=lambda a, r: a // r))
    assert "input width `in`" in _msg(q7, lambda x, W, b, A, B, a: x @ W.T + b + a / A.shape[1] * (x @ A.T @ B.T))
    assert "low-rank path is missing" in _msg(q7, _lora(scale=lambda a, r: 0))
    assert "update alone" in _msg(q7, _lora(base=False))
    assert "whole output" in _msg(q7, lambda x, W, b, A, B, a: a / A.shape[0] * (x @ W.T + b + x @ A.T @ B.T))
    msg = _msg(q7, _lora(update=lambda x, A, B: x @ B.T @ A.T))  # B before A: a shape error, explained
    assert "(x, it seems)" in msg and "(B.T)" in msg and "x goes through A first" in msg and "Traceback" not in msg
    msg = _msg(q7, lambda x, W, b, A, B, a: x @ (W + a / A.shape[0] * A.T @ B.T).T + b)  # the update as (in, out)
    assert "sizes do not fit" in msg and "B @ A, not A.T @ B.T" in msg
    assert "(W)" in _msg(q7, lambda x, W, b, A, B, a: x @ W + b)
    assert "transposed" in _msg(q7, lambda x, W, b, A, B, a: _lora()(x, W, b, A, B, a).T)


def test_lora_square_layer_catches_untransposed_products():
    """When in = out the wrong orientations run without a shape error: the check's square layer names them."""
    def square_only(wrong):
        return lambda x, W, b, A, B, a: (wrong if W.shape[0] == W.shape[1] else _lora())(x, W, b, A, B, a)
    msg = _msg(day12.q7, square_only(_lora(update=lambda x, A, B: x @ B @ A)))
    assert "x B A, the wrong way round" in msg
    assert "x B A, the wrong way round" in _msg(
        day12.q7, square_only(lambda x, W, b, A, B, a: x @ (W + a / A.shape[0] * A.T @ B.T).T + b))
    assert "W untransposed" in _msg(day12.q7, square_only(
        lambda x, W, b, A, B, a: x @ W + b + a / A.shape[0] * x @ A.T @ B.T))


def test_lora_starter_is_not_attempted_and_memorised_fails():
    from mlcourse.exercises import ____

    def lora_forward(x, W, b, A, B, alpha):  # the notebook's starter cell
        r = ____          # the rank, read from the shape of A
        base = ____       # (N, out): the frozen layer
        update = ____     # (N, out): x through A (down to r numbers), then through B (back up to out)
        return base + ____ * update

    def half_done(x, W, b, A, B, alpha):
        r = A.shape[0]
        base = x @ W.T + b
        update = x @ A.T @ B.T
        return base + ____ * update

    assert day12.q7.evaluate(lora_forward).status == "not_attempted"
    assert day12.q7.evaluate(half_done).status == "not_attempted"
    # an answer that ignores its inputs: the outputs of one check, replayed in the next
    seen = []
    day12.q7.evaluate(lambda *a: seen.append(day12.q7.reference()(*a)) or seen[-1])
    replay = iter(seen)
    assert day12.q7.evaluate(lambda *a: next(replay, seen[-1])).status == "incorrect"
    # the example's r = 2 hard-coded is caught by the second example and by fresh inputs
    assert "new random inputs" in _msg(day12.q7, lambda x, W, b, A, B, a: (
        _lora() if A.shape[0] == 2 or (x.shape, W.shape) == ((3, 7), (7, 7)) else _lora(scale=lambda a, r: a / 2)
    )(x, W, b, A, B, a))
