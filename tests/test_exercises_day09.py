"""Day 09's exercises: typical wrong answers get the right explanation."""

import numpy as np
import pytest

from mlcourse.exercises import day09


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the 0/0 answers divide by zero on purpose
def test_iou_mistakes():
    assert "Dice" in _msg(day09.q1, day09.q2.reference())
    assert "one mask only" in _msg(day09.q1, lambda p, t: (p & t).sum() / t.sum())
    assert "twice" in _msg(day09.q1, lambda p, t: (p & t).sum() / (p.sum() + t.sum()))
    assert "pixel accuracy" in _msg(day09.q1, lambda p, t: np.mean(p == t))
    assert "0/0" in _msg(day09.q1, lambda p, t: (p & t).sum() / (p | t).sum())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_dice_mistakes():
    assert "IoU" in _msg(day09.q2, day09.q1.reference())
    assert "factor of 2" in _msg(day09.q2, lambda p, t: (p & t).sum() / (p.sum() + t.sum()))
    assert "0/0" in _msg(day09.q2, lambda p, t: 2 * (p & t).sum() / (p.sum() + t.sum()))


def test_shortcut_mistakes():
    nn = pytest.importorskip("torch.nn")
    msg = _msg(day09.q3, lambda ci, co, s: nn.Identity())
    assert "shape mismatch" in msg and "(2, 32, 7, 7)" in msg and "(2, 16, 14, 14)" in msg
    assert "give the 1x1 convolution the block's stride" in _msg(day09.q3, lambda ci, co, s: nn.Conv2d(ci, co, 1))
    assert "nn.Identity()" in _msg(day09.q3, lambda ci, co, s: nn.Conv2d(ci, co, 1, stride=s))
    assert "failed on an input" in _msg(day09.q3, lambda ci, co, s: nn.Conv2d(co, co, 1, stride=s))
    assert "torch module" in _msg(day09.q3, lambda ci, co, s: "identity")


def test_mean_iou_mistakes():
    ref = day09.q4.reference()
    assert "pixel accuracy" in _msg(day09.q4, lambda p, t, c: np.mean(p == t))
    with_zero = lambda p, t, cs: np.mean([((p == c) & (t == c)).sum() / max(((p == c) | (t == c)).sum(), 1) for c in cs])  # noqa: E731
    assert "neither array" in _msg(day09.q4, with_zero)
    per_image = lambda p, t, cs: np.mean([ref(a, b, [c for c in cs if ((a == c) | (b == c)).any()]) for a, b in zip(p, t)])  # noqa: E731
    assert "per image" in _msg(day09.q4, per_image)
