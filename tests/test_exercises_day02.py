"""Day 02's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day02


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_dense_forward_mistakes():
    assert "activation" in _msg(day02.q1, lambda X, W, b: X @ W + b)
    assert "bias" in _msg(day02.q1, lambda X, W, b: np.tanh(X @ W))
    assert "sigmoid" in _msg(day02.q1, lambda X, W, b: 1 / (1 + np.exp(-(X @ W + b))))
    msg = _msg(day02.q1, lambda X, W, b: np.tanh(X @ W + b).T)
    assert "expected (5, 4), got (4, 5)" in msg and "transposed" in msg


def test_softmax_mistakes():
    def naive(Z):
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)

    assert "NaN" in _msg(day02.q2, naive) and "maximum" in _msg(day02.q2, naive)
    assert "columns" in _msg(day02.q2, lambda Z: np.exp(Z) / np.exp(Z).sum(axis=0))
    assert "whole array" in _msg(day02.q2, lambda Z: np.exp(Z) / np.exp(Z).sum())
    assert day02.q2.evaluate(day02.q2.reference()).correct
    import torch

    assert day02.q2.evaluate(lambda Z: torch.softmax(torch.tensor(Z, dtype=torch.float32), dim=1)).correct  # float32
    for shift in (lambda Z: Z.max(),                          # the global max
                  lambda Z: Z.min(axis=1, keepdims=True),     # the row minimum
                  lambda Z: Z.mean(axis=1, keepdims=True),    # the row mean
                  lambda Z: Z[:, :1]):                        # the first column
        def shifted(Z, shift=shift):
            E = np.exp(Z - shift(Z))
            return E / E.sum(axis=1, keepdims=True)
        assert "each row's" in _msg(day02.q2, shifted)


def test_standardize_mistakes():
    def own_stats(train, test):
        return ((train - train.mean(0)) / train.std(0), (test - test.mean(0)) / test.std(0))

    assert "*training* statistics" in _msg(day02.q3, own_stats)
    assert "axis=0" in _msg(day02.q3, lambda tr, te: ((tr - tr.mean(1, keepdims=True)) / tr.std(1, keepdims=True), te))
    assert "min-max" in _msg(day02.q3, lambda tr, te: ((tr - tr.min(0)) / (tr.max(0) - tr.min(0)), te))
    assert "pair" in _msg(day02.q3, lambda tr, te: (tr - tr.mean(0)) / tr.std(0))


def test_count_params_mistakes():
    assert "bias" in _msg(day02.q4, lambda s: sum(a * c for a, c in zip(s[:-1], s[1:])))
    assert "neurons" in _msg(day02.q4, lambda s: sum(s))
    assert "input layer has no biases" in _msg(
        day02.q4, lambda s: sum(a * c for a, c in zip(s[:-1], s[1:])) + sum(s))
