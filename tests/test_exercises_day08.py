"""Day 08's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day08


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_output_size_mistakes():
    assert "off by one" in _msg(day08.q1, lambda n, k, p, s: (n + 2 * p - k) // s)
    assert "round down" in _msg(day08.q1, lambda n, k, p, s: (n + 2 * p - k) / s + 1)
    assert "both sides" in _msg(day08.q1, lambda n, k, p, s: (n + p - k) // s + 1)
    assert "stride" in _msg(day08.q1, lambda n, k, p, s: n + 2 * p - k + 1)
    assert "integer" in _msg(day08.q1, lambda n, k, p, s: float((n + 2 * p - k) // s + 1))


def test_conv_mistakes():
    ref = day08.q2.reference()
    assert "flipped the kernel" in _msg(day08.q2, lambda x, w: ref(x, w[::-1, ::-1]))
    assert "transposed the kernel" in _msg(day08.q2, lambda x, w: ref(x, w.T))
    msg = _msg(day08.q2, lambda x, w: np.zeros_like(x))
    assert "expected (5, 7), got (7, 9)" in msg and "no padding" in msg


def test_pool_mistakes():
    assert "average pooling" in _msg(day08.q3, lambda x: x.reshape(x.shape[0] // 2, 2, -1, 2).mean(axis=(1, 3)))
    assert "stride 2" in _msg(day08.q3, lambda x: np.maximum.reduce([x[:-1, :-1], x[1:, :-1], x[:-1, 1:], x[1:, 1:]]))
    assert "top-left" in _msg(day08.q3, lambda x: x[::2, ::2])


def test_param_mistakes():
    assert "biases" in _msg(day08.q4, lambda ci, co, k: co * ci * k * k)
    assert "input channels" in _msg(day08.q4, lambda ci, co, k: co * (k * k + 1))
    assert "k * k" in _msg(day08.q4, lambda ci, co, k: co * (ci * k + 1))


def test_receptive_field_mistakes():
    assert "ignored the strides" in _msg(day08.q5, lambda layers: sum(k for k, _ in layers) - len(layers) + 1)
    assert "not 6" in _msg(day08.q5, lambda layers: sum(k for k, _ in layers))
