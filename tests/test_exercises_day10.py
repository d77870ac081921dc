"""Day 10's exercises: typical wrong answers get the right explanation."""

import textwrap

import numpy as np
import pytest

from mlcourse.exercises import ____, day10

torch = pytest.importorskip("torch")


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_additive_scores_mistakes():
    q = day10.q1
    ref = lambda s, H, W, U, v: np.tanh(s @ W + H @ U) @ v  # noqa: E731
    assert q.evaluate(ref).correct
    assert q.evaluate(lambda *a: ref(*(x.astype(np.float32) for x in a))).correct       # float32 throughout
    assert q.evaluate(lambda s, H, W, U, v: torch.tanh(torch.from_numpy(s) @ torch.from_numpy(W)
                                                       + torch.from_numpy(H) @ torch.from_numpy(U))
                      @ torch.from_numpy(v)).correct                                       # in PyTorch
    assert q.evaluate(lambda s, H, W, U, v: np.array([v @ np.tanh(s @ W + h @ U) for h in H])).correct  # a loop
    msg = _msg(q, lambda s, H, W, U, v: (s @ W + H @ U) @ v)
    assert "tanh is missing" in msg and "cancels in the softmax" in msg
    assert "separately" in _msg(q, lambda s, H, W, U, v: (np.tanh(s @ W) + np.tanh(H @ U)) @ v)
    assert "W and U are swapped" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ U + H @ W) @ v)
    assert "nn.Linear" in _msg(q, lambda s, H, W, U, v: np.tanh(W @ s + (U @ H.T).T) @ v)   # column-vector habit
    msg = _msg(q, lambda s, H, W, U, v: day10._softmax(np.tanh(s @ W + H @ U) @ v))
    assert "attention *weights*" in msg and "before the softmax" in msg
    assert "inside the tanh" in _msg(q, lambda s, H, W, U, v: np.tanh((s @ W + H @ U) @ v))
    assert "summed the A components" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U).sum(-1))
    assert "v is missing" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U))
    assert "expected (6,)" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U) @ v[:, None])
    assert "ReLU" in _msg(q, lambda s, H, W, U, v: np.maximum(s @ W + H @ U, 0) @ v)
    assert "dot-product scores" in _msg(q, lambda s, H, W, U, v: H @ s)
    # review of the messages: more beginners' answers, each named (not "not right yet" or "a constant term")
    assert "elementwise" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U) * v)
    assert "averaged the A components" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U).mean(-1))
    assert "decoder state s is missing" in _msg(q, lambda s, H, W, U, v: np.tanh(H @ U) @ v)
    msg = _msg(q, lambda s, H, W, U, v: np.log(day10._softmax(np.tanh(s @ W + H @ U) @ v)))
    assert "log of the attention weights" in msg and "constant term" not in msg
    assert "sqrt(A)" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U) @ v / np.sqrt(len(v)))
    assert "np.exp" in _msg(q, lambda s, H, W, U, v: np.exp(s @ W + H @ U) @ v)
    assert "the score vector is not right yet" in _msg(q, lambda s, H, W, U, v: np.tanh(s @ W + H @ U)[:, 0])
    assert q.evaluate(lambda s, H, W, U, v: v @ np.tanh(W.T @ s[:, None] + U.T @ H.T)).correct   # column vectors
    # an answer that works only for the example's sizes fails on the fresh random inputs (distinct widths)
    msg = _msg(q, lambda s, H, W, U, v: ref(s, H, W, U, v) if H.shape == (6, 4) else np.zeros(len(H)))
    assert "new random inputs" in msg
    msg = _msg(q, lambda s, H, W, U, v: np.tanh(s @ U + H @ W) @ v if len(s) != len(H[0]) else ref(s, H, W, U, v))
    assert "new random inputs" in msg


def test_padding_mask_mistakes():
    assert "middle axis is missing" in _msg(day10.q2, lambda t, pad_id=0: t != pad_id)
    msg = _msg(day10.q2, lambda t, pad_id=0: (t != pad_id)[:, :, None])
    assert "wrong orientation" in msg and "keys" in msg
    assert "swapped" in _msg(day10.q2, lambda t, pad_id=0: (t == pad_id)[:, None, :])
    assert "pad_id" in _msg(day10.q2, lambda t, pad_id=0: (t != 0)[:, None, :])
    msg = _msg(day10.q2, lambda t, pad_id=0: (t != pad_id)[:, None, :].float())
    assert "dtype is torch.float32" in msg and "padding" in msg and "future" not in msg
    # the float-mask lesson (once in the causal-mask exercise) is also in Exercise 2's hints
    assert any("*adds* a float mask" in h for h in day10.q2.hints)


def _solution(q):
    """The exercise's own solution_code, run as a learner would paste it."""
    scope = {"np": np, "torch": torch}
    exec(textwrap.dedent(q.solution_code), scope)
    return scope[q.name]


def test_solutions_as_written_pass():
    for q in day10.ALL:
        assert q.evaluate(_solution(q)).correct, q.name


def test_multi_head_attention_matches_torch_and_the_package():
    from mlcourse.models import transformer as T

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 16))
    Ws = [rng.normal(size=(16, 16)) / 4 for _ in range(4)]
    layer = T.MultiHeadAttention(16, 4, bias=False).double().eval()
    with torch.no_grad():                       # nn.Linear computes x @ W.T: give it our matrices transposed
        for proj, W in zip((layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj), Ws):
            proj.weight.copy_(torch.from_numpy(W.T))
    for causal in (False, True):
        mask = T.causal_mask(6) if causal else None
        with torch.no_grad():
            pkg = layer(torch.from_numpy(x), mask=mask).numpy()
        ref = day10.q3.reference()(x, *Ws, 4, causal)
        assert np.allclose(ref, pkg, atol=1e-12)
        assert np.allclose(day10._mha(x, *Ws, 4, causal), ref, atol=1e-12)


MHA_STARTER = """
def multi_head_attention(x, Wq, Wk, Wv, Wo, n_heads, causal=False):
    N, T, D = x.shape
    dh = D // n_heads
    q, k, v = ____, ____, ____
    scores = ____
    if causal:
        scores = ____
    weights = ____
    out = ____
    return ____
"""


def test_multi_head_attention_mistakes():
    scope = {"np": np, "____": ____}
    exec(MHA_STARTER, scope)
    assert day10.q3.evaluate(scope["multi_head_attention"]).status == "not_attempted"

    def make(variant="right", stable=True):
        def f(x, Wq, Wk, Wv, Wo, n_heads, causal=False):
            if not stable:                       # the textbook softmax, without the max shift
                N, T, D = x.shape
                sp = lambda m: m.reshape(N, T, n_heads, -1).transpose(0, 2, 1, 3)
                s = sp(x @ Wq) @ sp(x @ Wk).transpose(0, 1, 3, 2) / np.sqrt(D // n_heads)
                if causal:
                    s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
                e = np.exp(s)
                out = (e / e.sum(-1, keepdims=True)) @ sp(x @ Wv)
                return out.transpose(0, 2, 1, 3).reshape(N, T, D) @ Wo
            return day10._mha(x, Wq, Wk, Wv, Wo, n_heads, causal, variant)
        return f

    assert day10.q3.evaluate(make()).correct
    assert day10.q3.evaluate(lambda *a: make()(*a).astype(np.float32)).correct
    msg = _msg(day10.q3, make("scale_D"))
    assert "sqrt(D)" in msg and "sqrt(dh)" in msg
    assert "not scaled" in _msg(day10.q3, make("no_scale"))
    assert "its square root" in _msg(day10.q3, make("scale_dh"))
    assert "mixes" in _msg(day10.q3, make("bad_split")) and "split wrongly" in _msg(day10.q3, make("bad_split"))
    assert "merged wrongly" in _msg(day10.q3, make("bad_merge"))
    assert "one big head" in _msg(day10.q3, make("one_head"))
    assert "output projection is missing" in _msg(day10.q3, make("no_Wo"))
    assert "wrong axis" in _msg(day10.q3, make("axis"))
    assert "nn.Linear" in _msg(day10.q3, make("linear_T"))
    assert "reads the future" in _msg(day10.q3, make("no_causal"))
    assert "wrong way round" in _msg(day10.q3, make("triu"))
    assert "diagonal" in _msg(day10.q3, make("strict"))
    assert "*after* the softmax" in _msg(day10.q3, make("after"))
    with np.errstate(over="ignore", invalid="ignore"):
        assert "overflowed" in _msg(day10.q3, make(stable=False))
    assert "expected (2, 5, 12), got (2, 5, 4)" in _msg(day10.q3, lambda x, *a: make()(x, *a)[..., :4])
    # an answer that works only for the example's sizes fails on the fresh random inputs
    msg = _msg(day10.q3, lambda x, *a: make()(x, *a) if x.shape == (2, 5, 12) else np.zeros_like(x))
    assert "new random inputs" in msg


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


def test_answers_that_ignore_their_inputs_fail():
    """Hard-coded answers (the example's sizes, a fixed pad id) fail on the fresh random inputs."""
    fixed = day10.q1.reference()(*day10.AdditiveScores._inputs(np.random.default_rng(1014), 6, 4, 4, 4))
    assert "new random inputs" in _msg(day10.q1, lambda s, H, W, U, v: fixed if len(H) == 6 else fixed[:1])
    from mlcourse.exercises.day10 import _tokens

    def only_example(t, pad_id=0):                # right for the example's (3, 6) tokens and nothing else
        return (t != pad_id)[:, None, :] if t.shape == (3, 6) else (_tokens(pad_id) != pad_id)[:, None, :]

    assert "new random inputs" in _msg(day10.q2, only_example)
    ref4 = day10._gru
    assert "new random inputs" in _msg(day10.q4, lambda x, h, p: ref4(x[:3], h[:3], p))
    assert "new random inputs" in _msg(day10.q5, lambda gs, m: day10._clip(gs, 1.0))


# --- review of the messages (beginners' answers) -------------------------------------------------

def test_padding_mask_names_extra_axes_and_greater_than():
    assert "extra (or misplaced) axis" in _msg(day10.q2, lambda t, pad_id=0: (t != pad_id)[None, :, None, :])
    msg = _msg(day10.q2, lambda t, pad_id=0: (t > pad_id)[:, None, :])
    assert "`tokens > pad_id`" in msg and "fixed 0" not in msg
    assert "new axis is in front" in _msg(day10.q2, lambda t, pad_id=0: (t != pad_id)[None])


def _mha_answer(cast=None, mask="where", kq=False, dotT=False):
    def f(x, Wq, Wk, Wv, Wo, n_heads, causal=False):
        if cast:
            x, Wq, Wk, Wv, Wo = (a.astype(cast) for a in (x, Wq, Wk, Wv, Wo))
        N, T, D = x.shape
        dh = D // n_heads
        sp = lambda m: m.reshape(N, T, n_heads, dh).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = sp(x @ Wq), sp(x @ Wk), sp(x @ Wv)
        if kq:
            q, k = k, q
        s = (q @ k.T if dotT else q @ k.transpose(0, 1, 3, 2)) / np.sqrt(dh)
        if causal:
            keep = np.tril(np.ones((T, T), bool))
            s = s * keep if mask == "zero" else np.where(keep, s, -np.inf)
        s = s - s.max(-1, keepdims=True)
        w = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
        return (w @ v).transpose(0, 2, 1, 3).reshape(N, T, D) @ Wo
    return f


def test_multi_head_attention_after_review():
    # float32 steps with a float64 result (np.sqrt gives a float64 scalar) were called wrong by 1e-7
    assert day10.q3.evaluate(_mha_answer(cast=np.float32)).status == "correct"
    assert "exp(0) = 1" in _msg(day10.q3, _mha_answer(mask="zero"))
    assert "k @ q^T" in _msg(day10.q3, _mha_answer(kq=True))
    assert "`.T` reverses *all* the axes" in _msg(day10.q3, _mha_answer(dotT=True))


def test_gru_and_clipping_name_more_mistakes():
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731

    def gru(gz=sig, gn=np.tanh, bias=True, mix="z"):
        def f(x, h, p):
            b = (lambda k: p[k]) if bias else (lambda k: 0)
            z = gz(x @ p["Wz"] + h @ p["Uz"] + b("bz"))
            r = sig(x @ p["Wr"] + h @ p["Ur"] + b("br"))
            n = gn(x @ p["Wn"] + (r * h) @ p["Un"] + b("bn"))
            g = z if mix == "z" else r
            return (1 - g) * n + g * h
        return f
    assert day10.q4.evaluate(gru()).status == "correct"
    assert "biases" in _msg(day10.q4, gru(bias=False))
    assert "update gate z uses the sigmoid" in _msg(day10.q4, gru(gz=np.tanh))
    assert "candidate n uses tanh" in _msg(day10.q4, gru(gn=sig))
    assert "reset gate r" in _msg(day10.q4, gru(mix="r"))

    def clip(norm):
        return lambda grads, m: [g * min(1.0, m / norm(grads)) for g in grads]
    assert "added the norms" in _msg(day10.q5, clip(lambda gs: sum(np.linalg.norm(g) for g in gs)))
    assert "square root is missing" in _msg(day10.q5, clip(lambda gs: sum((g ** 2).sum() for g in gs)))
    msg = _msg(day10.q5, clip(lambda gs: np.linalg.norm(gs[0])))
    assert "first array only" in msg and "factor of 1:" not in msg
    assert "came back unchanged" in _msg(day10.q5, lambda gs, m: [g * min(1.0, np.sqrt(sum((h ** 2).sum() for h in gs)) / m) for g in gs])
