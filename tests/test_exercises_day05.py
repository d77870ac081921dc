"""Day 05's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day05


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_preprocess_mistakes():
    assert "not flattened" in _msg(day05.q1, lambda im: im.astype(np.float32) / 255)
    assert "dividing by 255" in _msg(day05.q1, lambda im: im.reshape(len(im), -1).astype(np.float32))
    assert "reshape(len(images), -1)" in _msg(day05.q1, lambda im: im.reshape(784, -1) / 255)
    assert "256" in _msg(day05.q1, lambda im: im.reshape(len(im), -1).astype(np.float32) / 256)
    assert "float32" in _msg(day05.q1, lambda im: im.reshape(len(im), -1) / 255.0)


def test_one_hot_mistakes():
    ref = day05._ref_one_hot
    assert "transposed" in _msg(day05.q2, lambda y, k: ref(y, k).T)
    assert "num_classes" in _msg(day05.q2, lambda y, k: ref(y, 10) if y.max() < 10 else np.zeros((len(y), 10)))
    assert "one column to the left" in _msg(day05.q2, lambda y, k: ref((y - 1) % k, k))
    assert "exactly one 1" in _msg(day05.q2, lambda y, k: ref(y, k) + ref((y + 1) % k, k))


def test_confusion_mistakes():
    ref = day05._ref_confusion
    assert "transposed" in _msg(day05.q3, lambda t, p, k: ref(t, p, k).T)

    def fancy(t, p, k):
        cm = np.zeros((k, k))
        cm[t, p] += 1
        return cm
    assert "np.add.at" in _msg(day05.q3, fancy)


def test_confident_mistakes_mistakes():
    assert "classified correctly" in _msg(day05.q4, lambda pr, y, k: np.argsort(-pr.max(axis=1))[:k])

    def least(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(pr[wrong].max(1))][:k]
    assert "*least*" in _msg(day05.q4, least)

    def reversed_order(pr, y, k):
        return day05._ref_mistakes(pr, y, k)[::-1]
    assert "wrong order" in _msg(day05.q4, reversed_order)

    def probabilities(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return np.sort(pr[wrong].max(1))[::-1][:k]
    assert "*indices*" in _msg(day05.q4, probabilities)

    def true_class_prob(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(-pr[wrong, y[wrong]])][:k]
    assert "not the right examples" in _msg(day05.q4, true_class_prob)
