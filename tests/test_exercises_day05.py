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


def test_confident_mistakes_positions_are_named():
    def within(pr, y, k):                              # positions in the list of mistakes
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return np.argsort(-pr[wrong].max(axis=1))[:k]
    msg = _msg(day05.q4, within)
    assert "positions in the list of mistakes" in msg and "wrong[order]" in msg
    assert "classified correctly" not in msg

    def whole_into_wrong(pr, y, k):                    # positions in the whole array used on `wrong`
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(-pr.max(axis=1))[:k]]
    msg = _msg(day05.q4, whole_into_wrong)         # a crash (IndexError) or, by chance, no crash
    assert "positions in the whole array" in msg and "classified correctly" not in msg

    # the same mistake when it happens not to crash
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.45, 0.55], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    y = np.zeros(6, dtype=int)                         # rows 0, 1 right (and the most confident); 2-5 wrong
    wrong = np.flatnonzero(probs.argmax(1) != y)
    top_all = np.argsort(-probs.max(axis=1), kind="stable")[:2]
    try:
        day05._judge_mistakes(wrong[top_all].astype(float), probs, y, 2)
    except day05.Wrong as exc:
        assert "with positions in the whole array" in str(exc) and "IndexError" not in str(exc)
    else:
        raise AssertionError("not caught")

    # other right answers pass
    def via_order(pr, y, k):
        order = np.argsort(-pr.max(axis=1))
        return order[pr.argmax(1)[order] != y[order]][:k]
    assert day05.q4.evaluate(via_order).correct

    def with_a_loop(pr, y, k):
        items = sorted(((pr[i].max(), i) for i in range(len(pr)) if pr[i].argmax() != y[i]), reverse=True)
        return [i for _, i in items[:k]]
    assert day05.q4.evaluate(with_a_loop).correct


def test_fixed_ten_classes_and_fresh_inputs():
    assert "10 classes only" in _msg(day05.q2, lambda y, k: np.eye(10)[y])
    ref = day05._ref_confusion
    t0 = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 1, 0, 2])      # the check's example, copied
    p0 = np.array([0, 0, 1, 1, 3, 2, 2, 0, 0, 3, 1, 1, 0, 2])
    assert "use its arguments only" in _msg(day05.q3, lambda t, p, k: ref(t0, p0, 4))  # a second example
    for q in day05.ALL:
        assert q.evaluate(lambda *a: day05.____).status == "not_attempted"


def test_review_preprocess_messages():
    # a right answer as a float32 torch tensor is accepted
    import torch
    assert day05.q1.evaluate(lambda im: torch.from_numpy(im).float().flatten(1) / 255).correct
    m = _msg(day05.q1, lambda im: (im.reshape(len(im), -1) / im.max()).astype(np.float32))
    assert "dim batch" in m and "images.max()" in m
    assert "dim batch" in _msg(day05.q1, lambda im: ((im - im.min()) / (im.max() - im.min()))
                               .reshape(len(im), -1).astype(np.float32))
    assert "only 0s and 1s" in _msg(day05.q1, lambda im: (im.reshape(len(im), -1) // 255).astype(np.float32))
    assert "len(images)" in _msg(day05.q1, lambda im: im.reshape(60000, 784).astype(np.float32) / 255)
    assert "a list" in _msg(day05.q1, lambda im: (im.reshape(len(im), -1).astype(np.float32) / 255).tolist())
    assert "dtype is None" not in _msg(day05.q1, lambda im: (im.reshape(len(im), -1) / 255).tolist())
    m = _msg(day05.q1, lambda im: im.reshape(len(im), -1).astype(np.float16) / 255)
    assert "float16" in m and "half the memory" not in m
    assert "wrong order" in _msg(day05.q1, lambda im: (im.transpose(0, 2, 1).reshape(len(im), -1) / 255)
                                 .astype(np.float32))


def test_review_one_hot_messages():
    m = _msg(day05.q2, lambda y, k: np.eye(y.max() + 1)[y])       # was accepted on the fixed example
    assert "labels.max() + 1" in m and "new random inputs" not in m
    m = _msg(day05.q2, lambda y, k: np.eye(k)[y][:, ::-1])      # was "off by a constant factor of 0"
    assert "right column" in m and "factor" not in m
    m = _msg(day05.q2, lambda y, k: np.eye(k)[y] * 0.9 + 0.1 / k)  # was "off by a constant factor of 0.9083"
    assert "only 0s and 1s" in m and "factor" not in m


def test_review_confusion_messages():
    ref = day05._ref_confusion
    m = _msg(day05.q3, lambda t, p, k: ref(t, p, max(t.max(), p.max()) + 1))   # was accepted
    assert "class 3 never occurs" in m
    m = _msg(day05.q3, lambda t, p, k: np.bincount(t * k + p).reshape(k, k))   # was accepted
    assert "minlength" in m
    m = _msg(day05.q3, lambda t, p, k: ref(t, p, k) / ref(t, p, k).sum(axis=1, keepdims=True))
    assert "normalise" in m

    def fixed(t, p, k):
        cm = np.zeros((10, 10), dtype=int)
        np.add.at(cm, (t, p), 1)
        return cm
    assert "num_classes" in _msg(day05.q3, fixed)


def test_review_confident_mistakes_messages():
    def first_k(pr, y, k):
        return np.flatnonzero(pr.argmax(1) != y)[:k]
    assert "first k mistakes in the order of the array" in _msg(day05.q4, first_k)

    def skip(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(-pr[wrong].max(1))][1:k + 1]
    assert "skipped the most confident" in _msg(day05.q4, skip)
