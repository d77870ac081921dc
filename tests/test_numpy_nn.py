"""mlcourse.numpy_nn: stable numerics, exact gradients, training that learns, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from mlcourse import generators
from mlcourse import numpy_nn as nn

EXTREME = np.array([[-1000.0, 1000.0, 0.0], [1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]])


# --------------------------------------------------------------------------- stability


@pytest.mark.parametrize("fn", [nn.sigmoid, nn.sigmoid_grad, nn.tanh, nn.tanh_grad, nn.relu,
                                nn.relu_grad, nn.softmax, nn.log_softmax])
def test_activations_are_finite_at_pm_1000(fn):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = fn(EXTREME)
    assert out.shape == EXTREME.shape and np.isfinite(out).all()


def test_activation_values_at_extremes():
    np.testing.assert_array_equal(nn.sigmoid(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])
    s = nn.softmax(np.array([[1000.0, 1001.0, 1002.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(s[0], s[1])
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(nn.log_softmax(EXTREME)[0], [-2000.0, 0.0, -1000.0])


@pytest.mark.parametrize("loss,target", [
    ("mse", -EXTREME),
    ("bce", (EXTREME < 0).astype(float)),
    ("softmax_ce", np.array([0, 2, 1])),
    ("softmax_ce", np.eye(3)),
])
def test_losses_are_finite_at_pm_1000(loss, target):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad = nn.LOSSES[loss](EXTREME, target)
    assert np.isfinite(value) and np.isfinite(grad).all() and grad.shape == EXTREME.shape


def test_bce_from_logits_matches_the_textbook_formula_where_that_works():
    z = np.linspace(-8, 8, 17)
    y = (np.arange(17) % 2).astype(float)
    p = 1 / (1 + np.exp(-z))
    naive = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert nn.bce_with_logits(z, y)[0] == pytest.approx(naive, rel=1e-12)
    # where the textbook formula gives inf, the stable one gives the right (large) value
    assert nn.bce_with_logits(np.array([1000.0]), np.array([0.0]))[0] == pytest.approx(1000.0)


def test_softmax_ce_labels_and_one_hot_agree():
    z = np.random.default_rng(0).normal(size=(6, 4))
    y = np.array([0, 3, 1, 2, 2, 0])
    a, ga = nn.softmax_cross_entropy(z, y)
    b, gb = nn.softmax_cross_entropy(z, np.eye(4)[y])
    assert a == pytest.approx(b) and np.allclose(ga, gb)
    assert a == pytest.approx(-np.mean(np.log(nn.softmax(z)[np.arange(6), y])))


def test_float32_is_kept():
    z = np.ones((2, 3), dtype=np.float32)
    for fn in (nn.sigmoid, nn.relu, nn.softmax, nn.tanh):
        assert fn(z).dtype == np.float32
    net = nn.Network.mlp([3, 4, 2], dtype=np.float32)
    assert net.forward(np.ones((5, 3), dtype=np.uint8)).dtype == np.float32


# --------------------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("layer", [nn.Dense(4, 3, seed=1), nn.ReLU(), nn.Tanh(), nn.Sigmoid()],
                         ids=["Dense", "ReLU", "Tanh", "Sigmoid"])
def test_every_layer_passes_the_gradient_check(layer):
    x = np.random.default_rng(2).normal(size=(6, 4))
    errors = nn.layer_gradient_check(layer, x)
    assert errors and max(errors.values()) < 1e-6, errors
    if isinstance(layer, nn.Dense):
        assert set(errors) == {"input", "W", "b"}


@pytest.mark.parametrize("loss,target", [
    ("mse", np.random.default_rng(3).normal(size=(5, 3))),
    ("bce", (np.random.default_rng(4).random((5, 3)) > 0.5).astype(float)),
    ("softmax_ce", np.array([0, 1, 2, 1, 0])),
])
def test_every_loss_passes_the_gradient_check(loss, target):
    z = np.random.default_rng(5).normal(size=(5, 3)) * 3
    assert nn.loss_gradient_check(loss, z, target) < 1e-6


def test_softmax_backward_is_the_jacobian_product():
    z = np.random.default_rng(6).normal(size=(4, 5))
    g = np.random.default_rng(7).normal(size=(4, 5))
    s = nn.softmax(z)
    jac = np.stack([np.diag(r) - np.outer(r, r) for r in s])        # (4, 5, 5)
    np.testing.assert_allclose(nn.softmax_backward(s, g), np.einsum("nij,ni->nj", jac, g))


@pytest.mark.parametrize("activation,loss,n_out", [
    ("relu", "softmax_ce", 3), ("tanh", "bce", 1), ("sigmoid", "mse", 2),
])
def test_whole_network_passes_the_gradient_check_with_l2(activation, loss, n_out):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(7, 3))
    y = {"softmax_ce": rng.integers(0, 3, 7), "bce": rng.integers(0, 2, 7).astype(float),
         "mse": rng.normal(size=(7, 2))}[loss]
    net = nn.Network.mlp([3, 6, 5, n_out], activation=activation, loss=loss, seed=1)
    errors = nn.gradient_check(net, x, y, l2=0.05)
    assert len(errors) == 6 and max(errors.values()) < 1e-6, errors


def test_gradient_check_catches_a_transposed_gradient(monkeypatch):
    net = nn.Network.mlp([3, 3, 3], seed=2)               # square W: a transposed dW keeps its shape
    x, y = np.random.default_rng(9).normal(size=(4, 3)), np.array([0, 1, 2, 0])
    original = nn.Dense.backward

    def transposed(self, grad_out, *, need_input_grad=True):
        out = original(self, grad_out, need_input_grad=need_input_grad)
        self.grads["W"] = self.grads["W"].T
        return out

    monkeypatch.setattr(nn.Dense, "backward", transposed)
    errors = nn.gradient_check(net, x, y)
    assert errors["0.W"] > 1e-2 and errors["2.W"] > 1e-2 and errors["0.b"] < 1e-6
    # and when the transposed gradient has the wrong shape, the check says so
    wide = nn.Network.mlp([3, 4, 3], seed=2)
    with pytest.raises(ValueError, match="looks transposed"):
        nn.gradient_check(wide, x, y)


def test_gradient_check_samples_entries_of_big_layers():
    net = nn.Network.mlp([20, 30, 4], seed=3)
    x, y = np.random.default_rng(10).normal(size=(5, 20)), np.array([0, 1, 2, 3, 0])
    errors = nn.gradient_check(net, x, y, max_entries=25)
    assert max(errors.values()) < 1e-6
    w_before = net.get_weights()
    nn.gradient_check(net, x, y, max_entries=25)
    for a, b in zip(w_before, net.get_weights()):
        np.testing.assert_array_equal(a, b)               # every nudged entry is restored


def test_gradient_check_needs_float64():
    net = nn.Network.mlp([2, 3, 2], dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        nn.gradient_check(net, np.zeros((2, 2)), np.array([0, 1]))
    errors = nn.gradient_check(net.astype(np.float64), np.ones((2, 2)), np.array([0, 1]))
    assert max(errors.values()) < 1e-6


def test_numerical_gradient_and_relative_error():
    x = np.array([0.3, -1.2, 2.0])
    g = nn.numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [0.3, -1.2, 2.0])
    assert nn.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert nn.relative_error(np.ones(3), -np.ones(3)) == pytest.approx(1.0)


# --------------------------------------------------------------------------- training


def test_training_on_spirals_reaches_high_accuracy():
    X, y = generators.spirals(n=200, classes=3, noise=0.2, seed=0)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    net = nn.Network.mlp([2, 64, 64, 3], seed=0)
    hist = net.fit(X[:450], y[:450], epochs=150, batch_size=32, lr=0.1, momentum=0.9, l2=1e-4,
                   x_val=X[450:], y_val=y[450:], progress=False)
    assert hist["loss"][-1] < hist["loss"][0] / 5
    assert net.accuracy(X[450:], y[450:]) >= 0.95
    assert len(hist["val_acc"]) == 150 and hist["acc"][-1] >= 0.95


def test_training_with_bce_on_moons():
    from sklearn.datasets import make_moons

    X, y = make_moons(600, noise=0.15, random_state=0)
    net = nn.Network.mlp([2, 32, 32, 1], loss="bce", seed=0)
    net.fit(X[:400], y[:400], epochs=60, batch_size=32, lr=0.1, momentum=0.9, progress=False)
    assert net.accuracy(X[400:], y[400:]) >= 0.95
    p = net.predict_proba(X[400:])
    assert p.shape == (200,) and np.all((p >= 0) & (p <= 1))


def test_regression_with_mse_learns_a_curve():
    x = np.linspace(-2, 2, 200)[:, None]
    y = np.sin(2 * x)
    net = nn.Network.mlp([1, 32, 32, 1], activation="tanh", loss="mse", seed=0)
    hist = net.fit(x, y.ravel(), epochs=300, batch_size=20, lr=0.05, momentum=0.9, progress=False)
    assert hist["loss"][-1] < 0.01
    assert net.evaluate(x, y)[0] < 0.01


def test_early_stopping_restores_the_best_weights():
    X, y = generators.spirals(n=40, classes=3, noise=0.5, seed=1)
    net = nn.Network.mlp([2, 64, 3], seed=0)
    hist = net.fit(X[::2], y[::2], epochs=400, lr=0.2, momentum=0.9, x_val=X[1::2], y_val=y[1::2],
                   patience=5, progress=False)
    best = hist["best_epoch"][0]
    assert len(hist["val_loss"]) < 400 and len(hist["val_loss"]) == best + 5
    assert net.evaluate(X[1::2], y[1::2])[0] == pytest.approx(min(hist["val_loss"]))


def test_sgd_momentum_and_plain():
    p, g = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    nn.SGD(lr=0.5).step([p], [g])
    np.testing.assert_allclose(p, [0.5, 2.5])
    opt, q = nn.SGD(lr=1.0, momentum=0.5), np.zeros(2)
    opt.step([q], [g])
    opt.step([q], [g])
    np.testing.assert_allclose(q, [-2.5, 2.5])            # v = -1, then 0.5 * -1 - 1 = -1.5
    with pytest.raises(ValueError, match="learning rate"):
        nn.SGD(lr=0)


def test_minibatches_cover_every_index_once():
    batches = list(nn.minibatches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))


def test_a_too_large_learning_rate_is_reported():
    X, y = generators.spirals(n=50, classes=3, seed=0)
    net = nn.Network.mlp([2, 16, 3], seed=0)
    with pytest.raises(FloatingPointError, match="learning rate"), np.errstate(all="ignore"):
        net.fit(X * 1e3, y, epochs=20, lr=1e3, progress=False)


# --------------------------------------------------------------------------- clear errors


def test_dense_explains_unflattened_images():
    layer = nn.Dense(784, 10)
    with pytest.raises(ValueError, match=r"expects a batch of shape \(N, 784\).*\(32, 28, 28\).*reshape"):
        layer.forward(np.zeros((32, 28, 28)))


def test_dense_explains_wrong_feature_count_and_transposes():
    layer = nn.Dense(4, 3)
    with pytest.raises(ValueError, match="5 features instead of 4"):
        layer.forward(np.zeros((8, 5)))
    with pytest.raises(ValueError, match="transposed"):
        layer.forward(np.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"batch axis"):
        layer.forward(np.zeros(4))


def test_backward_errors():
    layer = nn.Dense(4, 3)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((2, 3)))
    layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(3, 2\).*transposed"):
        layer.backward(np.zeros((3, 2)))


def test_loss_and_network_shape_errors():
    with pytest.raises(ValueError, match="must match"):
        nn.mse_loss(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="transposed"):
        nn.bce_with_logits(np.zeros((4, 1)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"labels must be in 0..2"):
        nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="2 rows of logits but 3 labels"):
        nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        nn.softmax_cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="output size 5 must equal the next input size 4"):
        nn.Network([nn.Dense(3, 5), nn.ReLU(), nn.Dense(4, 2)])
    with pytest.raises(ValueError, match="unknown loss"):
        nn.Network([nn.Dense(3, 5)], loss="hinge")
    with pytest.raises(ValueError, match="10 inputs but 9 targets"):
        nn.Network.mlp([2, 3]).fit(np.zeros((10, 2)), np.zeros(9, dtype=int), progress=False)
    with pytest.raises(ValueError, match="validation set"):
        nn.Network.mlp([2, 3]).fit(np.zeros((10, 2)), np.zeros(10, dtype=int), patience=2,
                                   progress=False)


def test_repr_and_weights_roundtrip():
    net = nn.Network.mlp([784, 16, 10])
    assert "Dense(784 -> 16)" in repr(net) and f"{784 * 16 + 16 + 16 * 10 + 10:,}" in repr(net)
    w = net.get_weights()
    for p in w:
        p += 1.0
    net.set_weights(w)
    np.testing.assert_array_equal(net.get_weights()[1], np.ones(16))


def test_init_names_follow_their_papers():
    from mlcourse.numpy_nn import Dense

    n_in, n_out = 400, 100
    for init, std in (("he", np.sqrt(2 / n_in)), ("lecun", np.sqrt(1 / n_in)),
                      ("xavier", np.sqrt(2 / (n_in + n_out)))):
        w = Dense(n_in, n_out, init=init, seed=0).params["W"]
        assert abs(w.std() / std - 1) < 0.02, init
