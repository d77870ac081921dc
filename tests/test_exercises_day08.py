"""Day 08's exercises: typical wrong answers get the right explanation."""

from pathlib import Path

import numpy as np
import pytest

from exercise_helpers import defined, starter_code
from mlcourse.exercises import day08

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_cnns_and_alexnet.ipynb"


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message




@pytest.mark.parametrize("q", day08.ALL, ids=lambda q: q.name)
def test_the_printed_solution_passes(q):
    extra = {"keras": pytest.importorskip("keras")} if q is day08.q5 else {}
    res = q.evaluate(defined(q.solution_code, q.name, **extra))
    assert res.status == "correct", res.message


@pytest.mark.parametrize("q", day08.ALL, ids=lambda q: q.name)
def test_the_notebooks_starter_is_not_attempted(q):
    assert q.evaluate(defined(starter_code(NOTEBOOK.name, q.name), q.name)).status == "not_attempted"


def test_output_size_mistakes():
    assert "off by one" in _msg(day08.q1, lambda n, k, p, s: (n + 2 * p - k) // s)
    assert "round down" in _msg(day08.q1, lambda n, k, p, s: (n + 2 * p - k) / s + 1)
    assert "both sides" in _msg(day08.q1, lambda n, k, p, s: (n + p - k) // s + 1)
    assert "stride" in _msg(day08.q1, lambda n, k, p, s: n + 2 * p - k + 1)
    assert "integer" in _msg(day08.q1, lambda n, k, p, s: float((n + 2 * p - k) // s + 1))


def _conv(x, w, b, stride, flip=False, first_channel=False, windows_step=None, square=False):
    """A loop convolution with a typical mistake switched on."""
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    if square:
        kh = kw
    if flip:
        w = w[:, :, ::-1, ::-1]
    if first_channel:
        x, w = x[:, :1], w[:, :1]
    ho, wo = (H - kh) // stride + 1, (W - kw) // stride + 1
    step = stride if windows_step is None else windows_step
    out = np.zeros((N, O, ho, wo))
    for n in range(N):
        for o in range(O):
            for i in range(ho):
                for j in range(wo):
                    out[n, o, i, j] = np.sum(x[n, :, i * step:i * step + kh, j * step:j * step + kw] * w[o, :, :kh, :kw]) + b[o]
    return out


def test_conv_layer_right_answers_pass():
    assert day08.q2.evaluate(_conv).status == "correct"
    torch = pytest.importorskip("torch")

    def in_float32(x, w, b, stride):  # a right answer computed in float32 is not called wrong
        t = lambda a: torch.from_numpy(a).float()  # noqa: E731
        return torch.nn.functional.conv2d(t(x), t(w), t(b), stride=stride)

    assert day08.q2.evaluate(in_float32).status == "correct"


def test_conv_layer_mistakes():
    q = day08.q2
    assert "forgot the bias" in _msg(q, lambda x, w, b, s: _conv(x, w, 0 * b, s))
    assert "flipped the kernel" in _msg(q, lambda x, w, b, s: _conv(x, w, b, s, flip=True))
    assert "transposed the kernel" in _msg(q, lambda x, w, b, s: _conv(x, w.transpose(0, 1, 3, 2), b, s))
    assert "first input channel only" in _msg(q, lambda x, w, b, s: _conv(x, w, b, s, first_channel=True))
    assert "wrong sign" in _msg(q, lambda x, w, b, s: _conv(x, w, -b, s))
    msg = _msg(q, lambda x, w, b, s: _conv(x, w, b, 1))                          # stride ignored
    assert "expected (2, 5, 3, 5), got (2, 5, 6, 10)" in msg and "size for stride 1" in msg
    assert "do not move by the stride" in _msg(q, lambda x, w, b, s: _conv(x, w, b, s, windows_step=1))
    assert "not square" in _msg(q, lambda x, w, b, s: _conv(x, w, b, s, square=True))
    assert "no padding" in _msg(q, lambda x, w, b, s: np.zeros((x.shape[0], w.shape[0]) + x.shape[2:]))
    assert "probably the bias" in _msg(q, lambda x, w, b, s: _conv(x, w, 0 * b, s) + b)
    assert "batch axis" in _msg(q, lambda x, w, b, s: _conv(x, w, b, s)[0])

    def rounds_up(x, w, b, s):
        N, _, H, W = x.shape
        return _conv(x, w, b, s) if s == 1 else np.ones((N, w.shape[0], -(-(H - w.shape[2]) // s) + 1, -(-(W - w.shape[3]) // s) + 1))
    assert "Round the division down" in _msg(q, rounds_up)


def test_conv_layer_hard_coded_sizes_fail(monkeypatch):
    """A loop that hard-codes the example's kernel sizes passes the fixed examples, not fresh inputs."""
    seeded = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda seed=None: seeded(0 if seed is None else seed))

    def hard_coded(x, w, b, s):  # right on the examples, but the output size is copied from them
        return _conv(x, w, b, s)[:, :, :4 if s == 1 else 3, :5]
    assert "new random inputs" in _msg(day08.q2, hard_coded)


def test_pool_mistakes():
    assert "average pooling" in _msg(day08.q3, lambda x: x.reshape(x.shape[0] // 2, 2, -1, 2).mean(axis=(1, 3)))
    assert "stride 2" in _msg(day08.q3, lambda x: np.maximum.reduce([x[:-1, :-1], x[1:, :-1], x[:-1, 1:], x[1:, 1:]]))
    assert "top-left" in _msg(day08.q3, lambda x: x[::2, ::2])
    assert "next to each other in memory" in _msg(day08.q3, lambda x: x.reshape(x.shape[0] // 2, x.shape[1] // 2, 2, 2).max(axis=(2, 3)))


def test_receptive_field_mistakes():
    assert "ignored the strides" in _msg(day08.q4, lambda layers: sum(k for k, _ in layers) - len(layers) + 1)
    assert "not 6" in _msg(day08.q4, lambda layers: sum(k for k, _ in layers))

    def jump_first(layers):
        r, j = 1, 1
        for k, s in layers:
            j *= s
            r += (k - 1) * j
        return r
    assert "before using it" in _msg(day08.q4, jump_first)


def test_review_rounding_up_is_named():
    import math

    from mlcourse.exercises import day08 as d8
    for fn in (lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1,
               lambda n, k, p, s: round((n + 2 * p - k) / s) + 1):
        res = d8.q1.evaluate(fn)
        assert res.status == "incorrect" and "round down" in res.message


# -- Exercise 5: freeze all but the last n layers (Keras, with whatever backend is loaded) -------

def _count(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def _freeze(model, n, *, unfreeze_model=True, top=None, freeze_rest=True, keep_bn=True, count=_count):
    """A beginner's version of the answer, with one typical mistake switched on by the keywords."""
    keras = pytest.importorskip("keras")
    if unfreeze_model:
        model.trainable = True
    top = (lambda layers: layers[len(layers) - n:]) if top is None else top
    chosen = top(model.layers)
    for layer in model.layers:
        if layer in chosen:
            layer.trainable = True
        elif freeze_rest:
            layer.trainable = False
    if keep_bn:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    return count(model)


def test_freeze_right_answers_pass():
    pytest.importorskip("keras")
    q = day08.q5
    assert q.evaluate(_freeze).status == "correct"
    assert q.evaluate(lambda m, n: float(_freeze(m, n))).status == "correct"          # 1234.0 is fine
    assert q.evaluate(lambda m, n: np.int64(_freeze(m, n))).status == "correct"
    assert q.evaluate(lambda m, n: _freeze(m, n, count=lambda mm: sum(w.numpy().size for w in mm.trainable_weights))).correct


def test_freeze_mistakes():
    pytest.importorskip("keras")
    q = day08.q5
    # the model arrives frozen: setting the last n layers' flags alone trains nothing
    msg = _msg(q, lambda m, n: _freeze(m, n, unfreeze_model=False))
    assert "model itself is still frozen" in msg and "`model.trainable` is False" in msg
    assert "wrong way round" in _msg(q, lambda m, n: _freeze(m, n, top=lambda ls: ls[:len(ls) - n]))
    assert "FIRST" in _msg(q, lambda m, n: _freeze(m, n, top=lambda ls: ls[:n]))
    assert "off by one" in _msg(q, lambda m, n: _freeze(m, n, top=lambda ls: ls[len(ls) - n - 1:]))
    assert "off by one" in _msg(q, lambda m, n: _freeze(m, n, top=lambda ls: ls[len(ls) - n + 1:]))
    assert "still trainable" in _msg(q, lambda m, n: _freeze(m, n, freeze_rest=False))
    msg = _msg(q, lambda m, n: _freeze(m, n, keep_bn=False))
    assert "BatchNormalization layer is trainable" in msg and "inference mode" in msg
    assert "nothing will train" in _msg(q, lambda m, n: 0)                      # forgot everything but a number
    # the right layers, the wrong count
    assert "frozen ones and batch norm's moving mean" in _msg(q, lambda m, n: _freeze(m, n, count=lambda mm: mm.count_params()))
    assert "FROZEN parameters" in _msg(
        q, lambda m, n: _freeze(m, n, count=lambda mm: int(sum(np.prod(v.shape) for v in mm.non_trainable_weights))))
    assert "weight tensors" in _msg(q, lambda m, n: _freeze(m, n, count=lambda mm: len(mm.trainable_weights)))
    assert "counts layers" in _msg(q, lambda m, n: _freeze(m, n, count=lambda mm: n))
    assert "forget a `return`" in _msg(q, lambda m, n: _freeze(m, n, count=lambda mm: None))
    # counted before setting the flags (the model arrives frozen: 0), or froze the model again at the end
    msg = _msg(q, lambda m, n: (_count(m), _freeze(m, n))[0])
    assert "right layers are trainable" in msg and "count before changing" in msg

    def refrozen(m, n):
        c = _freeze(m, n)
        m.trainable = False
        return c
    msg = _msg(q, refrozen)
    assert "nothing will train" in msg and "do not set it back to False" in msg


def test_freeze_hard_coded_counts_fail():
    """Right on the fixed models, but the count is copied from them: fresh random models catch it."""
    pytest.importorskip("keras")
    q = day08.q5
    answers = {}

    def spy(m, n):
        answers.setdefault(len(m.layers) * 100 + n, _freeze(m, n))
        return answers[len(m.layers) * 100 + n]
    q.verify(spy)                                  # the fixed models only (not the fresh ones)
    fixed = dict(answers)

    def hard_coded(m, n):
        _freeze(m, n)
        return fixed.get(len(m.layers) * 100 + n, 123)
    msg = _msg(q, hard_coded)
    assert "new random model" in msg

