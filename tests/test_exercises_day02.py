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


def test_dense_bias_after_the_activation():
    assert "after the activation" in _msg(day02.q1, lambda X, W, b: np.tanh(X @ W) + b)


def test_standardize_sample_std_is_named():
    def ddof1(train, test):
        mu, sd = train.mean(0), train.std(0, ddof=1)
        return (train - mu) / sd, (test - mu) / sd

    msg = _msg(day02.q3, ddof1)
    assert "ddof=1" in msg and "N-1" in msg and "ddof=0" in msg and "StandardScaler" in msg
    assert msg.startswith("train_z")
    import torch

    def torch_std(train, test):                      # torch's .std() divides by N-1 by default
        tr, te = torch.tensor(train), torch.tensor(test)
        return (tr - tr.mean(0)) / tr.std(0), (te - tr.mean(0)) / tr.std(0)

    assert "ddof=1" in _msg(day02.q3, torch_std)

    def test_only(train, test):
        mu = train.mean(0)
        return (train - mu) / train.std(0), (test - mu) / train.std(0, ddof=1)

    msg = _msg(day02.q3, test_only)
    assert msg.startswith("test_z") and "ddof=1" in msg


def test_standardize_other_mistakes():
    assert "whole array" in _msg(day02.q3, lambda tr, te: ((tr - tr.mean()) / tr.std(), (te - tr.mean()) / tr.std()))
    assert "only centred" in _msg(day02.q3, lambda tr, te: (tr - tr.mean(0), te - tr.mean(0)))
    assert "variance" in _msg(day02.q3, lambda tr, te: ((tr - tr.mean(0)) / tr.var(0), (te - tr.mean(0)) / tr.var(0)))
    from sklearn.preprocessing import StandardScaler

    def scaler(train, test):
        s = StandardScaler().fit(train)
        return s.transform(train), s.transform(test)

    assert day02.q3.evaluate(scaler).correct


def test_count_params_biases_on_the_wrong_side():
    assert "layer *before*" in _msg(day02.q4, lambda s: sum(a * c + a for a, c in zip(s[:-1], s[1:])))


def test_fresh_inputs():
    # the right answer written another way, in float32, or with a library, passes on fresh inputs
    assert day02.q1.evaluate(lambda X, W, b: np.tanh(np.dot(X, W) + b)).correct
    import scipy.special

    assert day02.q2.evaluate(lambda Z: scipy.special.softmax(Z, axis=1)).correct
    assert day02.q4.evaluate(lambda s: sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 1))).correct
    # an answer tied to the example's shapes fails on fresh ones
    msg = _msg(day02.q1, lambda X, W, b: np.tanh(X[:5] @ W + b))
    assert "new random inputs" in msg and "wrong shape" in msg
    known = {(2, 4, 4, 1): 37, (784, 128, 10): 101770, (5, 3): 18, (10, 20, 30, 40, 5): 2295}
    msg = _msg(day02.q4, lambda s: known.get(tuple(s), 100))      # the example's answers, copied
    assert "new random inputs" in msg and "count_params([" in msg


def test_blank_is_not_attempted():
    from mlcourse.exercises import ____

    for q in day02.ALL:
        assert q.evaluate(lambda *a: ____).status == "not_attempted"


# -- review of the beginners' answers ---------------------------------------------------------

def _msg2(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def _std(train, test, stats=None):
    stats = train if stats is None else stats
    mu, sd = stats.mean(0), stats.std(0)
    return (train - mu) / sd, (test - mu) / sd


def test_standardize_swapped_precedence_pooled_and_unscaled_test():
    assert "in the order `(train_z, test_z)`" in _msg2(day02.q3, lambda tr, te: _std(tr, te)[::-1])
    assert "brackets" in _msg2(day02.q3, lambda tr, te: (tr - tr.mean(0) / tr.std(0), te - tr.mean(0) / tr.std(0)))
    both = lambda tr, te: _std(tr, te, np.concatenate([tr, te]))  # noqa: E731
    assert "train and test together" in _msg2(day02.q3, both)
    assert "only centred" in _msg2(day02.q3, lambda tr, te: (_std(tr, te)[0], te - tr.mean(0)))
    assert "unchanged" in _msg2(day02.q3, lambda tr, te: (_std(tr, te)[0], te.copy()))
    assert "returned 4 values" in _msg2(day02.q3, lambda tr, te: (*_std(tr, te), 0, 0))


def _loop(sizes, mode):
    total = 0
    for i in range(len(sizes) - 1):
        layer = sizes[i] * sizes[i + 1] + sizes[i + 1]
        if mode == "return":
            return layer
        total = layer if mode == "assign" else total + layer
    return total


def test_count_params_loop_mistakes_are_named():
    assert "`return` inside the loop" in _msg2(day02.q4, lambda s: _loop(s, "return"))
    assert "`total += ...`" in _msg2(day02.q4, lambda s: _loop(s, "assign"))
    assert "last layer is missing" in _msg2(day02.q4, lambda s: _loop(s[:-1], "add"))
    assert "last layer is missing" not in _msg2(day02.q4, lambda s: int(np.prod(s)))  # 32 = 12 + 20 by chance


# -- Exercise 5: channels last -> channels first, with an assert -------------------------------

def _asserting(convert):
    """A beginner's answer: the right assert, then ``convert`` (the part under test)."""
    def to_channels_first(images):
        assert images.ndim == 4, f"expected a batch (N, H, W, C), got shape {images.shape}"
        return convert(images)
    return to_channels_first


def test_channels_first_right_answers_pass():
    import torch

    from exercise_helpers import defined, starter_code

    q = day02.q5
    assert q.evaluate(q.reference()).correct
    assert q.evaluate(defined(q.solution_code, q.name)).correct
    assert q.evaluate(_asserting(lambda x: x.transpose(0, 3, 1, 2))).correct
    assert q.evaluate(_asserting(lambda x: np.moveaxis(x, -1, 1))).correct
    assert q.evaluate(_asserting(lambda x: torch.from_numpy(x).permute(0, 3, 1, 2))).correct
    assert q.evaluate(_asserting(lambda x: np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))).astype(np.float32))).correct

    def raises_value_error(images):                  # its own error with the shape: as good as an assert
        if images.ndim != 4:
            raise ValueError(f"need (N, H, W, C), got {images.shape}")
        return np.transpose(images, (0, 3, 1, 2))

    assert q.evaluate(raises_value_error).correct
    starter = defined(starter_code("02_how_deep_learning_works.ipynb", q.name), q.name)
    assert q.evaluate(starter).status == "not_attempted"


def test_channels_first_mistakes_are_named():
    q = day02.q5
    msg = _msg(q, _asserting(lambda x: x.reshape(x.shape[0], x.shape[3], x.shape[1], x.shape[2])))
    assert "pixels are scrambled" in msg and "`reshape`" in msg and "(2, 3, 4, 5) is right" in msg
    assert "Height and width are swapped" in _msg(q, _asserting(lambda x: np.transpose(x, (0, 3, 2, 1))))
    assert "Height and width are swapped" in _msg(q, _asserting(lambda x: np.swapaxes(x, 1, 3)))
    assert "the other way" in _msg(q, _asserting(lambda x: np.transpose(x, (0, 2, 3, 1))))
    assert "reverses *all* the axes" in _msg(q, _asserting(lambda x: x.T))
    assert "batch axis N must stay first" in _msg(q, _asserting(lambda x: np.transpose(x, (3, 0, 1, 2))))
    assert "batch axis N must stay first" in _msg(q, _asserting(lambda x: np.moveaxis(x, -1, 0)))
    msg = _msg(q, _asserting(lambda x: np.transpose(x, (2, 0, 1))))
    assert "single image" in msg and "name all four" in msg
    import torch

    assert "name all four" in _msg(q, _asserting(lambda x: torch.from_numpy(x).permute(2, 0, 1)))
    assert "`.permute` is a method of torch tensors" in _msg(q, _asserting(lambda x: x.permute(0, 3, 1, 2)))
    assert "unchanged" in _msg(q, _asserting(lambda x: x))


def test_channels_first_assert_mistakes_are_named():
    q = day02.q5
    msg = _msg(q, lambda x: np.moveaxis(x, -1, 1))                   # right on batches, no assert
    assert "without complaint" in msg and "(4, 3, 5)" in msg and "assert" in msg
    msg = _msg(q, lambda x: np.transpose(x, (0, 3, 1, 2)))           # no assert: NumPy's own error
    assert "library's own error" in msg and "axes don't match" in msg

    # defined outside this module: pytest rewrites the asserts of test files (and their messages)
    from exercise_helpers import defined

    silent = defined("""
        def silent(images):
            assert images.ndim == 4
            return np.transpose(images, (0, 3, 1, 2))
    """, "silent")
    assert "empty message" in _msg(q, silent)
    vague = defined("""
        def vague(images):
            assert images.ndim == 4, "wrong shape"
            return np.transpose(images, (0, 3, 1, 2))
    """, "vague")
    msg = _msg(q, vague)
    assert "'wrong shape'" in msg and "does not show the shape" in msg
    wrong_condition = defined("""
        def wrong_condition(images):
            assert images.ndim == 3, f"got {images.shape}"
            return np.transpose(images, (0, 3, 1, 2))
    """, "wrong_condition")
    msg = _msg(q, wrong_condition)
    assert "your own assert stopped a correct batch of shape (2, 4, 5, 3)" in msg


def test_channels_first_fresh_inputs():
    q = day02.q5
    fixed = q.reference()(np.random.default_rng(5).integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8))

    def memorised(images):
        assert images.ndim == 4, f"got {images.shape}"
        return fixed

    msg = _msg(q, memorised)
    assert "new random inputs" in msg and "wrong shape" in msg


def test_channels_first_new_axis_and_bare_transpose_are_named():
    q = day02.q5
    msg = _msg(q, _asserting(lambda x: x[:, None]))                    # a new axis, not a reshape
    assert "(2, 1, 4, 5, 3)" in msg and "new axis" in msg and "(0, 3, 1, 2)" in msg
    msg = _msg(q, _asserting(lambda x: np.transpose(x)))               # np.transpose without an order
    assert "`np.transpose(images)` without an order" in msg and "reverses *all* the axes" in msg
