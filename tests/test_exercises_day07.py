"""Day 07's exercises: typical wrong answers get the right explanation."""

import math

import numpy as np
import pytest

from mlcourse.exercises import day07

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_train_step_mistakes():
    def no_zero_grad(model, opt, xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    def no_step(model, opt, xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        return loss.item()

    def softmax_first(model, opt, xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(torch.softmax(model(xb), 1), yb)
        loss.backward()
        opt.step()
        return loss.item()

    def returns_tensor(model, opt, xb, yb):  # fine: a 0-d tensor is a number too
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    assert "zero_grad" in _msg(day07.q1, no_zero_grad)
    assert "optimizer.step()" in _msg(day07.q1, no_step)
    assert "raw logits" in _msg(day07.q1, softmax_first)
    assert day07.q1.evaluate(returns_tensor).status == "correct"


def test_warmup_cosine_mistakes():
    ref = day07.q2.reference()

    def no_warmup(s, total, w, peak):
        return peak * 0.5 * (1 + math.cos(math.pi * s / total))

    def plus_one(s, total, w, peak):
        return peak * (s + 1) / w if s < w else ref(s, total, w, peak)

    def no_shift(s, total, w, peak):
        return peak * s / w if s < w else peak * 0.5 * (1 + math.cos(math.pi * s / total))

    def rising(s, total, w, peak):
        return peak * s / w if s < w else peak * 0.5 * (1 - math.cos(math.pi * (s - w) / (total - w)))

    assert "already the peak" in _msg(day07.q2, no_warmup)
    assert "off by one" in _msg(day07.q2, plus_one)
    assert "start where the warm-up ends" in _msg(day07.q2, no_shift)
    assert "*rises*" in _msg(day07.q2, rising)
    assert "should be" in _msg(day07.q2, lambda s, total, w, peak: 0.9 * ref(s, total, w, peak))


def test_early_stopping_mistakes():
    ref = day07.q3.reference()

    def argmax(losses, patience):
        best, stop = ref(losses, patience)
        return int(np.argmax(losses[: stop + 1])), stop

    def global_best(losses, patience):
        return int(np.argmin(losses)), ref(losses, patience)[1]

    def late(losses, patience):
        best, stop = ref(losses, patience)
        return best, stop + 1

    assert "*highest*" in _msg(day07.q3, argmax)
    assert "cannot see the future" in _msg(day07.q3, global_best)
    assert "off by one" in _msg(day07.q3, late)
    assert "swapped" in _msg(day07.q3, lambda losses, p: ref(losses, p)[::-1])


def test_dropout_mistakes():
    def keep_p(x, p, training, rng):
        return x * (rng.random(x.shape) < p) / p if training else x

    def unscaled(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) if training else x

    def old_style(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) if training else x * (1 - p)

    def times_keep(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) * (1 - p) if training else x

    def always(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) / (1 - p)

    def in_place(x, p, training, rng):
        if training:
            x *= (rng.random(x.shape) >= p) / (1 - p)
        return x

    assert "*drop*" in _msg(day07.q4, keep_p)
    assert "not scaled" in _msg(day07.q4, unscaled)
    assert "not scaled" in _msg(day07.q4, old_style)
    assert "*divides*" in _msg(day07.q4, times_keep)
    assert "must do nothing" in _msg(day07.q4, always)
    res = day07.q4.evaluate(in_place)  # right values: accepted, with a note on the changed input
    assert res.correct and "in place" in res.message
    assert "nothing was dropped" in _msg(day07.q4, lambda x, p, t, rng: x)
