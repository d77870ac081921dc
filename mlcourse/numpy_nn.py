"""A small neural-network library in plain NumPy: what Day 04 derives, packaged for Day 05.

Day 04 writes every piece step by step in its notebook; this module is the clean copy that
later days import::

    from mlcourse import numpy_nn as nn

    net = nn.Network.mlp([784, 256, 128, 10], activation="relu", loss="softmax_ce", seed=0)
    history = net.fit(x_train, y_train, epochs=10, batch_size=128, lr=0.05, momentum=0.9,
                      l2=1e-4, x_val=x_val, y_val=y_val)
    print(net.accuracy(x_test, y_test))
    print(nn.gradient_check(net.astype(np.float64), x_small, y_small))   # all < 1e-6

Conventions (the same as Keras and PyTorch):

* A batch is a 2-D array of shape ``(N, features)``: one row per example.
* A :class:`Dense` layer holds ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``
  and computes ``x @ W + b``.
* The network outputs raw scores (*logits*); the losses take logits and apply the sigmoid or
  the softmax inside, in a numerically stable way.
* Floating-point dtype: float64 by default (exact enough for gradient checks); pass
  ``dtype=np.float32`` for speed on big data. Inputs of any numeric dtype (e.g. uint8
  pixels) are converted to the layer's dtype.

Everything is numerically stable for inputs as large as ``+-1000``: the sigmoid never
evaluates ``exp`` of a positive number, the softmax subtracts the row maximum, and the binary
cross-entropy is computed from logits with ``log1p(exp(-|z|))``.
"""

from __future__ import annotations

import copy
from typing import Callable, Iterator, Sequence

import numpy as np

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "softmax", "log_softmax", "softmax_backward",
    "mse_loss", "bce_with_logits", "softmax_cross_entropy", "LOSSES",
    "Layer", "Dense", "ReLU", "Tanh", "Sigmoid", "Network", "SGD", "minibatches",
    "numerical_gradient", "relative_error", "layer_gradient_check", "loss_gradient_check",
    "gradient_check",
]


def _float(x: object) -> np.ndarray:
    """``x`` as a floating-point array (integers become float64; float32 stays float32)."""
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


# --------------------------------------------------------------------------- activations


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, element-wise, any shape, dtype kept.

    Stable for any ``z``: with ``e = exp(-|z|)`` (never larger than 1) it returns
    ``1 / (1 + e)`` where ``z >= 0`` and ``e / (1 + e)`` where ``z < 0``, so ``exp`` never
    overflows. ``sigmoid(-1000) == 0.0`` and ``sigmoid(1000) == 1.0`` without a warning.
    """
    z = _float(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid at ``z``: ``s * (1 - s)`` with ``s = sigmoid(z)``; shape of ``z``."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    """The hyperbolic tangent, element-wise (``np.tanh`` is already stable); shape of ``z``."""
    return np.tanh(_float(z))


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of tanh at ``z``: ``1 - tanh(z)**2``; shape of ``z``."""
    t = np.tanh(_float(z))
    return 1.0 - t * t


def relu(z: np.ndarray) -> np.ndarray:
    """The rectified linear unit ``max(z, 0)``, element-wise; shape and dtype of ``z``."""
    z = _float(z)
    return np.maximum(z, 0.0).astype(z.dtype, copy=False)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of ReLU: 1 where ``z > 0``, else 0 (we pick 0 at the kink ``z == 0``)."""
    z = _float(z)
    return (z > 0).astype(z.dtype)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (default: the last, i.e. per row of an ``(N, K)`` batch).

    Subtracting the maximum first does not change the result (it cancels in the ratio) but
    keeps ``exp`` from overflowing: every exponent is ``<= 0``. Returns an array of the shape
    of ``z`` whose entries along ``axis`` are in ``[0, 1]`` and sum to 1.
    """
    z = _float(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(z))`` computed without taking the log of a tiny number (log-sum-exp)."""
    z = _float(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_backward(s: np.ndarray, grad_s: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gradient with respect to the logits, given ``s = softmax(z)`` and ``dL/ds``.

    The Jacobian of the softmax is ``diag(s) - s s^T``; multiplied by ``grad_s`` it gives
    ``s * (grad_s - sum(grad_s * s))``, computed here for every row at once. Shapes: ``s``
    and ``grad_s`` alike, e.g. ``(N, K)``; the result has the same shape.
    """
    s, g = _float(s), _float(grad_s)
    if s.shape != g.shape:
        raise ValueError(f"softmax_backward: s has shape {s.shape} but grad_s has shape {g.shape}")
    return s * (g - (g * s).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------------------- losses


def _check_same_shape(name: str, pred: np.ndarray, target: np.ndarray) -> None:
    if pred.shape != target.shape:
        hint = ""
        if pred.ndim == 2 and pred.shape[::-1] == target.shape:
            hint = " The target looks transposed."
        elif pred.size == target.size:
            hint = " Same number of values, different arrangement: reshape the target, e.g. y.reshape(pred.shape)."
        raise ValueError(f"{name}: predictions have shape {pred.shape} but targets have shape "
                         f"{target.shape}; they must match.{hint}")


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over every element, and its gradient.

    Args:
        pred: predictions, any shape, e.g. ``(N,)`` or ``(N, K)``, float.
        target: the same shape as ``pred``.

    Returns:
        ``(loss, grad)``: ``loss = mean((pred - target)**2)`` as a Python float and
        ``grad = 2 * (pred - target) / pred.size`` with the shape of ``pred``.
    """
    p, t = _float(pred), _float(target)
    _check_same_shape("mse_loss", p, t)
    diff = p - t
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def bce_with_logits(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy computed from logits (not probabilities), and its gradient.

    With ``p = sigmoid(z)`` the loss of one example is ``-(y log p + (1 - y) log(1 - p))``.
    Written in ``z`` it becomes ``max(z, 0) - z*y + log1p(exp(-|z|))``, which never takes
    the log of 0 and never overflows (the naive formula gives ``inf`` once ``p`` rounds to
    exactly 0 or 1, from ``|z| ~ 37`` in float64 and ``|z| ~ 17`` in float32).

    Args:
        logits: ``z``, shape ``(N,)`` or ``(N, 1)``, float.
        target: labels in ``{0, 1}`` (or probabilities), the same shape as ``logits``.

    Returns:
        ``(loss, grad)``: the mean loss (float) and ``(sigmoid(z) - y) / N`` (shape of ``z``).
    """
    z, y = _float(logits), _float(target)
    _check_same_shape("bce_with_logits", z, y)
    per_example = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return float(np.mean(per_example)), (sigmoid(z) - y) / z.size


def _one_hot_targets(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    n, k = logits.shape
    t = np.asarray(target)
    if t.ndim == 1 or (t.ndim == 2 and t.shape[1] == 1 and k > 1):
        t = t.reshape(-1)
        if len(t) != n:
            raise ValueError(f"softmax_cross_entropy: {n} rows of logits but {len(t)} labels")
        if not np.issubdtype(t.dtype, np.integer):
            if not np.all(np.equal(np.mod(t, 1), 0)):
                raise ValueError("softmax_cross_entropy: labels of shape (N,) must be whole "
                                 "class numbers 0..K-1 (or give one-hot targets of shape (N, K))")
            t = t.astype(np.int64)
        if t.size and (t.min() < 0 or t.max() >= k):
            raise ValueError(f"softmax_cross_entropy: labels must be in 0..{k - 1} for {k} "
                             f"classes, got values from {t.min()} to {t.max()}")
        onehot = np.zeros((n, k), dtype=logits.dtype)
        onehot[np.arange(n), t] = 1.0
        return onehot
    t = _float(t)
    _check_same_shape("softmax_cross_entropy", logits, t)
    return t.astype(logits.dtype, copy=False)


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy from logits, and its gradient.

    Args:
        logits: ``(N, K)`` raw scores, float.
        target: integer labels ``(N,)`` in ``0..K-1``, or one-hot / probability targets
            ``(N, K)``.

    Returns:
        ``(loss, grad)``: ``loss = -mean_i sum_k Y_ik log softmax(z)_ik`` (float, computed
        with :func:`log_softmax`, so no ``log(0)``) and ``grad = (softmax(z) - Y) / N`` of
        shape ``(N, K)``.
    """
    z = _float(logits)
    if z.ndim != 2:
        raise ValueError(f"softmax_cross_entropy expects logits of shape (N, K), got {z.shape}")
    y = _one_hot_targets(z, target)
    logp = log_softmax(z)
    n = z.shape[0]
    return float(-(y * logp).sum() / n), (np.exp(logp) - y) / n


LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]] = {
    "mse": mse_loss,
    "bce": bce_with_logits,
    "softmax_ce": softmax_cross_entropy,
}


# --------------------------------------------------------------------------- layers


class Layer:
    """Base class: ``forward(x)`` caches what ``backward(grad_out)`` needs.

    ``params`` and ``grads`` map names (``"W"``, ``"b"``) to arrays of the same shapes;
    layers without parameters leave them empty.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _cached(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._x is None:
            raise RuntimeError(f"{self!r}.backward() was called before forward(): run a forward "
                               "pass first, it stores what the backward pass needs.")
        g = np.asarray(grad_out)
        if g.shape != self._out_shape:
            raise ValueError(f"{self!r}.backward expects the gradient of its output, of shape "
                             f"{self._out_shape}, got {g.shape}."
                             + (" It looks transposed." if g.shape == self._out_shape[::-1] else ""))
        return self._x, g


class Activation(Layer):
    """An element-wise activation: ``y = f(x)``, ``dL/dx = dL/dy * f'(x)`` (any shape)."""

    fn: Callable[[np.ndarray], np.ndarray]
    grad_fn: Callable[[np.ndarray], np.ndarray]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = _float(x)
        self._out_shape = self._x.shape
        return type(self).fn(self._x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, g = self._cached(grad_out)
        return g * type(self).grad_fn(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(Activation):
    """``max(x, 0)`` element-wise."""

    fn, grad_fn = staticmethod(relu), staticmethod(relu_grad)


class Tanh(Activation):
    """``tanh(x)`` element-wise."""

    fn, grad_fn = staticmethod(tanh), staticmethod(tanh_grad)


class Sigmoid(Activation):
    """``sigmoid(x)`` element-wise (stable)."""

    fn, grad_fn = staticmethod(sigmoid), staticmethod(sigmoid_grad)


ACTIVATIONS: dict[str, type[Activation]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class Dense(Layer):
    """A fully connected layer ``y = x @ W + b``.

    Args:
        n_in: features per input example.
        n_out: features per output example.
        init: ``"he"`` (std ``sqrt(2 / n_in)``, for ReLU; He et al. 2015), ``"lecun"`` (std
            ``sqrt(1 / n_in)``, for tanh/sigmoid; LeCun et al. 1998), ``"xavier"`` (std
            ``sqrt(2 / (n_in + n_out))``; Glorot & Bengio 2010) or a number (the std itself).
        seed: seed (or a NumPy ``Generator``) for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shapes: ``W`` ``(n_in, n_out)``, ``b`` ``(n_out,)``; ``forward`` maps ``(N, n_in)`` to
    ``(N, n_out)``; ``backward`` maps ``dL/dy`` ``(N, n_out)`` to ``dL/dx`` ``(N, n_in)`` and
    stores ``grads["W"] = x.T @ dL/dy`` ``(n_in, n_out)`` and ``grads["b"]`` ``(n_out,)``.
    """

    def __init__(self, n_in: int, n_out: int, *, init: str | float = "he",
                 seed: int | np.random.Generator | None = 0, dtype: type = np.float64) -> None:
        super().__init__()
        if int(n_in) < 1 or int(n_out) < 1:
            raise ValueError(f"Dense needs n_in >= 1 and n_out >= 1, got {n_in} and {n_out}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if isinstance(init, str):
            stds = {"he": np.sqrt(2.0 / n_in), "lecun": np.sqrt(1.0 / n_in),
                    "xavier": np.sqrt(2.0 / (n_in + n_out))}
            if init not in stds:
                raise ValueError(f"unknown init {init!r}: use 'he', 'lecun', 'xavier' or a number")
            std = stds[init]
        else:
            std = float(init)
        self.params = {"W": (rng.standard_normal((n_in, n_out)) * std).astype(dtype),
                       "b": np.zeros(n_out, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    @property
    def W(self) -> np.ndarray:
        return self.params["W"]

    @property
    def b(self) -> np.ndarray:
        return self.params["b"]

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2:
            hint = (f" Flatten each example first: x.reshape(len(x), -1) gives "
                    f"{(x.shape[0], int(np.prod(x.shape[1:])))}." if x.ndim > 2 else
                    " A single example needs a batch axis: x.reshape(1, -1).")
            raise ValueError(f"{self!r} expects a batch of shape (N, {self.n_in}), got an array of "
                             f"shape {x.shape}.{hint}")
        if x.shape[1] != self.n_in:
            raise ValueError(f"{self!r} expects inputs of shape (N, {self.n_in}), got {x.shape}: "
                             f"each example has {x.shape[1]} features instead of {self.n_in}."
                             + (" It looks transposed (try x.T)." if x.shape[0] == self.n_in else ""))
        W = self.params["W"]
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        self._x, self._out_shape = x, (x.shape[0], self.n_out)
        return x @ W + self.params["b"]

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray | None:
        x, g = self._cached(grad_out)
        self.grads["W"] = x.T @ g                 # (n_in, N) @ (N, n_out) -> (n_in, n_out)
        self.grads["b"] = g.sum(axis=0)           # (n_out,)
        return g @ self.params["W"].T if need_input_grad else None   # (N, n_in)


# --------------------------------------------------------------------------- training


def minibatches(n: int, batch_size: int, rng: np.random.Generator | None = None
                ) -> Iterator[np.ndarray]:
    """Yield index arrays that cover ``range(n)`` once in batches of ``batch_size``.

    Shuffled with ``rng`` when given (a new order every call); the last batch may be smaller.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


class SGD:
    """Mini-batch stochastic gradient descent, optionally with momentum.

    ``step(params, grads)`` updates every array of ``params`` in place:
    ``v = momentum * v - lr * g`` then ``p += v`` (plain SGD when ``momentum == 0``).
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"the learning rate must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = float(lr), float(momentum)
        self._v: dict[int, np.ndarray] = {}

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        for p, g in zip(params, grads):
            if p.shape != g.shape:
                raise ValueError(f"SGD: a parameter of shape {p.shape} got a gradient of shape {g.shape}")
            if self.momentum:
                v = self._v.setdefault(id(p), np.zeros_like(p))
                v *= self.momentum
                v -= self.lr * g
                p += v
            else:
                p -= self.lr * g


class Network:
    """A stack of layers and a loss, trained with mini-batch SGD (+ L2).

    Args:
        layers: e.g. ``[Dense(2, 64), ReLU(), Dense(64, 3)]``.
        loss: ``"softmax_ce"`` (classes; targets ``(N,)`` labels or ``(N, K)`` one-hot),
            ``"bce"`` (two classes; one output unit, targets ``(N,)`` or ``(N, 1)`` in {0, 1})
            or ``"mse"`` (regression; targets of the output's shape).

    The network's output are logits; :meth:`predict_proba` turns them into probabilities.
    L2 regularisation adds ``l2/2 * sum(W**2)`` over the weight matrices (not the biases)
    to the loss and ``l2 * W`` to their gradients.
    """

    def __init__(self, layers: Sequence[Layer], loss: str = "softmax_ce") -> None:
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}: choose from {', '.join(LOSSES)}")
        if not layers:
            raise ValueError("a Network needs at least one layer")
        self.layers = list(layers)
        self.loss_name = loss
        dense = [l for l in self.layers if isinstance(l, Dense)]
        for a, b in zip(dense, dense[1:]):
            if a.n_out != b.n_in:
                raise ValueError(f"{a!r} is followed by {b!r}: the output size {a.n_out} "
                                 f"must equal the next input size {b.n_in}")

    @classmethod
    def mlp(cls, sizes: Sequence[int], *, activation: str = "relu", loss: str = "softmax_ce",
            seed: int = 0, dtype: type = np.float64) -> "Network":
        """A multi-layer perceptron, e.g. ``sizes=[784, 256, 128, 10]``: Dense layers with
        ``activation`` between them (none after the last), He init for ReLU, LeCun's otherwise."""
        if len(sizes) < 2:
            raise ValueError(f"sizes needs an input and an output size, got {list(sizes)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose from {', '.join(ACTIVATIONS)}")
        rng = np.random.default_rng(seed)
        init = "he" if activation == "relu" else "lecun"
        layers: list[Layer] = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(Dense(a, b, init=init, seed=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        return cls(layers, loss=loss)

    def __repr__(self) -> str:
        body = ", ".join(repr(l) for l in self.layers)
        return f"Network([{body}], loss={self.loss_name!r}) with {self.n_params:,} parameters"

    # -- parameters ---------------------------------------------------------------------
    def named_params(self) -> list[tuple[str, np.ndarray]]:
        """``[("0.W", W), ("0.b", b), ("2.W", ...), ...]``: layer index and parameter name."""
        return [(f"{i}.{k}", v) for i, l in enumerate(self.layers) for k, v in l.params.items()]

    def named_grads(self) -> list[tuple[str, np.ndarray]]:
        """The gradients, in the order and with the names of :meth:`named_params`."""
        return [(f"{i}.{k}", l.grads[k]) for i, l in enumerate(self.layers) for k in l.params]

    @property
    def n_params(self) -> int:
        return int(sum(v.size for _, v in self.named_params()))

    @property
    def dtype(self) -> np.dtype:
        return next(v.dtype for _, v in self.named_params())

    def astype(self, dtype: type) -> "Network":
        """A copy of the network with every parameter converted (e.g. to float64 for a gradient check)."""
        new = copy.deepcopy(self)
        for l in new.layers:
            l.params = {k: v.astype(dtype) for k, v in l.params.items()}
            l.grads = {k: np.zeros_like(v) for k, v in l.params.items()}
            l._x = None
        return new

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter (for early stopping: keep the best ones)."""
        return [v.copy() for _, v in self.named_params()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy ``weights`` (from :meth:`get_weights`) back into the parameters, in place."""
        for (name, p), w in zip(self.named_params(), weights):
            if p.shape != np.shape(w):
                raise ValueError(f"set_weights: {name} has shape {p.shape}, got {np.shape(w)}")
            p[...] = w

    # -- forward / backward -------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits for a batch ``x`` of shape ``(N, n_in)``; shape ``(N, n_out)``."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Backpropagate ``dL/dlogits`` through every layer, storing each layer's gradients.

        Returns ``dL/dx`` for the input batch (``None`` if the first layer is Dense: the
        gradient with respect to the data is never needed for training, so it is skipped).
        """
        g = grad_out
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and isinstance(layer, Dense):
                return layer.backward(g, need_input_grad=False)
            g = layer.backward(g)
        return g

    def _targets(self, y: np.ndarray, out: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if self.loss_name == "bce" and y.ndim == 1 and out.ndim == 2 and out.shape[1] == 1:
            return y.reshape(-1, 1)
        if self.loss_name == "mse" and y.ndim == 1 and out.ndim == 2 and out.shape[1] == 1:
            return y.reshape(-1, 1)
        return y

    def data_loss(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward pass and loss without L2; returns ``(loss, dL/dlogits)``."""
        out = self.forward(x)
        self._last_out = out
        return LOSSES[self.loss_name](out, self._targets(y, out))

    def l2_penalty(self, l2: float) -> float:
        """``l2/2 * sum(W**2)`` over the weight matrices."""
        if not l2:
            return 0.0
        return 0.5 * l2 * float(sum(np.sum(l.params["W"] ** 2) for l in self.layers
                                    if isinstance(l, Dense)))

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray, l2: float = 0.0) -> float:
        """Forward pass, loss (+ L2), backward pass; gradients end up in :meth:`named_grads`."""
        loss, grad = self.data_loss(x, y)
        self.backward(grad)
        if l2:
            for l in self.layers:
                if isinstance(l, Dense):
                    l.grads["W"] = l.grads["W"] + l2 * l.params["W"]
        return loss + self.l2_penalty(l2)

    # -- predictions ---------------------------------------------------------------------
    def predict_logits(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Logits for any number of examples, computed in batches (memory stays small)."""
        x = np.asarray(x)
        outs = [self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0,))

    def predict_proba(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Probabilities: softmax ``(N, K)`` for softmax_ce, sigmoid ``(N,)`` for bce; mse: the output."""
        z = self.predict_logits(x, batch_size)
        if self.loss_name == "softmax_ce":
            return softmax(z)
        if self.loss_name == "bce":
            return sigmoid(z).reshape(len(z)) if z.ndim == 2 and z.shape[1] == 1 else sigmoid(z)
        return z

    def predict(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Class labels ``(N,)`` int64 (argmax, or probability > 0.5 for bce); mse: the output."""
        p = self.predict_proba(x, batch_size)
        if self.loss_name == "softmax_ce":
            return p.argmax(axis=1)
        if self.loss_name == "bce":
            return (p > 0.5).astype(np.int64)
        return p

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correct labels; ``y`` may be labels ``(N,)`` or one-hot ``(N, K)``."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            y = y.argmax(axis=1)
        return float(np.mean(self.predict(x) == y.reshape(-1)))

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 4096) -> tuple[float, float]:
        """``(loss, accuracy)`` on a whole set (the loss without L2)."""
        out = self.predict_logits(x, batch_size)
        loss, _ = LOSSES[self.loss_name](out, self._targets(y, out))
        return loss, self.accuracy(x, y) if self.loss_name != "mse" else float("nan")

    # -- training --------------------------------------------------------------------------
    def fit(self, x: np.ndarray, y: np.ndarray, *, epochs: int = 10, batch_size: int = 64,
            lr: float = 0.1, momentum: float = 0.0, l2: float = 0.0,
            x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
            patience: int | None = None, seed: int = 0, progress: bool = True,
            callback: Callable[[int, "Network"], None] | None = None) -> dict[str, list[float]]:
        """Train with mini-batch SGD; return the history.

        Args:
            x: inputs ``(N, n_in)``; y: targets (labels ``(N,)`` or one-hot ``(N, K)``).
            epochs: passes over the data; batch_size: examples per step.
            lr, momentum: the :class:`SGD` settings; l2: strength of the L2 penalty.
            x_val, y_val: a validation set, evaluated after every epoch.
            patience: early stopping: stop when the validation loss has not improved for
                this many epochs and restore the best weights (needs a validation set).
            seed: seed of the shuffling; progress: show a tqdm bar (one per call).
            callback: called as ``callback(epoch, net)`` after every epoch (e.g. to draw).

        Returns:
            ``{"loss": [...], "acc": [...], "val_loss": [...], "val_acc": [...]}``, one value
            per epoch; ``loss``/``acc`` are averages over the epoch's batches (as in Keras),
            ``loss`` includes the L2 penalty. ``history["best_epoch"]`` is set with patience.
        """
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"fit: {len(x)} inputs but {len(y)} targets; they must match")
        if patience is not None and x_val is None:
            raise ValueError("early stopping (patience) needs a validation set: pass x_val, y_val")
        rng = np.random.default_rng(seed)
        opt = SGD(lr, momentum)
        hist: dict[str, list[float]] = {"loss": [], "acc": [], "val_loss": [], "val_acc": []}
        labels = y.argmax(axis=1) if (y.ndim == 2 and y.shape[1] > 1) else y.reshape(-1)
        best, best_w, waited = np.inf, None, 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=epochs, desc="training", unit="epoch", mininterval=1, leave=True)
        try:
            for epoch in range(epochs):
                tot_loss, tot_ok, seen = 0.0, 0, 0
                for idx in minibatches(len(x), batch_size, rng):
                    xb, yb = x[idx], y[idx]
                    loss = self.loss_and_backward(xb, yb, l2)
                    if not np.isfinite(loss):
                        raise FloatingPointError(f"the loss became {loss} in epoch {epoch + 1}: the "
                                                 f"learning rate ({lr}) is probably too large")
                    params = [p for _, p in self.named_params()]
                    opt.step(params, [g for _, g in self.named_grads()])
                    tot_loss += loss * len(idx)
                    seen += len(idx)
                    if self.loss_name != "mse":
                        tot_ok += int(np.sum(self._last_pred() == labels[idx]))
                hist["loss"].append(tot_loss / seen)
                hist["acc"].append(tot_ok / seen if self.loss_name != "mse" else float("nan"))
                postfix = {"loss": f"{hist['loss'][-1]:.4f}"}
                if x_val is not None:
                    vl, va = self.evaluate(x_val, y_val)
                    hist["val_loss"].append(vl)
                    hist["val_acc"].append(va)
                    postfix["val_acc"] = f"{va:.4f}"
                    if patience is not None:
                        if vl < best:
                            best, best_w, waited = vl, self.get_weights(), 0
                            hist["best_epoch"] = [epoch + 1]
                        else:
                            waited += 1
                if callback is not None:
                    callback(epoch, self)
                if bar is not None:
                    bar.set_postfix(postfix, refresh=False)
                    bar.update(1)
                if patience is not None and waited >= patience:
                    break
        finally:
            if bar is not None:
                bar.close()
        if best_w is not None:
            self.set_weights(best_w)
        return hist

    def _last_pred(self) -> np.ndarray:
        """Labels predicted by the last forward pass (from the logits kept for it)."""
        out = self._last_out
        if self.loss_name == "softmax_ce":
            return out.argmax(axis=1)
        return (out.reshape(len(out)) > 0).astype(np.int64)


# --------------------------------------------------------------------------- gradient checks


def _require_float64(x: np.ndarray, what: str) -> None:
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need float64, but {what} is {x.dtype}: in float32 the "
                        "rounding error of f(x + eps) - f(x - eps) is as large as the difference "
                        "itself. Convert first (x.astype(np.float64), net.astype(np.float64)).")


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred finite differences: ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry.

    Args:
        f: a function of no argument that returns a float and reads ``x`` (e.g. the loss of a
            network one of whose parameters is ``x``).
        x: a float64 array, changed in place one entry at a time and always restored.
        eps: the step; 1e-6 balances truncation error (~eps**2) and rounding error (~1e-16/eps).

    Returns:
        An array of the shape of ``x``: the numerical gradient of ``f`` with respect to ``x``.
    """
    _require_float64(x, "the array to differentiate")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + eps
            f_plus = f()
            x[i] = old - eps
            f_minus = f()
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)``: 0 for equal arrays, about 1 for unrelated ones.

    Scale-free, so one bar (< 1e-6 in float64) works for gradients large and small. Two
    all-zero arrays have relative error 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes {a.shape} and {b.shape} differ")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def layer_gradient_check(layer: Layer, x: np.ndarray, *, eps: float = 1e-6,
                         seed: int = 0) -> dict[str, float]:
    """Check ``layer.backward`` against finite differences; return relative errors.

    Uses the scalar ``L = sum(layer.forward(x) * G)`` with a fixed random ``G`` (so that
    ``dL/dy = G``). Returns ``{"input": err, "W": err, "b": err}`` (parameters if any).
    ``x`` and the parameters must be float64.
    """
    x = np.array(x, dtype=np.float64)
    for k, v in layer.params.items():
        _require_float64(v, f"the layer's parameter {k}")
    G = np.random.default_rng(seed).standard_normal(layer.forward(x).shape)
    grad_x = layer.backward(G)
    analytic = {k: v.copy() for k, v in layer.grads.items()}
    f = lambda: float(np.sum(layer.forward(x) * G))  # noqa: E731
    errors = {"input": relative_error(grad_x, numerical_gradient(f, x, eps))}
    for k, v in layer.params.items():
        errors[k] = relative_error(analytic[k], numerical_gradient(f, v, eps))
    return errors


def loss_gradient_check(loss: str | Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]],
                        pred: np.ndarray, target: np.ndarray, *, eps: float = 1e-6) -> float:
    """Relative error between a loss's analytic gradient and finite differences (float64)."""
    fn = LOSSES[loss] if isinstance(loss, str) else loss
    z = np.array(pred, dtype=np.float64)
    _, grad = fn(z, target)
    return relative_error(grad, numerical_gradient(lambda: fn(z, target)[0], z, eps))


def gradient_check(net: Network, x: np.ndarray, y: np.ndarray, *, l2: float = 0.0,
                   eps: float = 1e-6, max_entries: int | None = None,
                   seed: int = 0) -> dict[str, float]:
    """Compare backpropagation with centred finite differences for every parameter.

    Args:
        net: a network with float64 parameters (use ``net.astype(np.float64)``).
        x, y: a small batch (a few examples are enough).
        l2: include the L2 penalty in the loss being checked.
        eps: finite-difference step.
        max_entries: check at most this many randomly chosen entries per parameter
            (``None``: all of them; use it for big layers, each entry costs 2 forward passes).
        seed: chooses the entries when ``max_entries`` is set.

    Returns:
        ``{"0.W": err, "0.b": err, ...}``: the relative error per parameter; below 1e-6
        means the backward pass is right, around 1 means it is wrong.
    """
    for name, p in net.named_params():
        _require_float64(p, f"parameter {name}")
    x = np.array(x, dtype=np.float64)
    net.loss_and_backward(x, y, l2)
    analytic = {name: g.copy() for name, g in net.named_grads()}
    for name, p in net.named_params():
        if analytic[name].shape != p.shape:
            raise ValueError(f"the backward pass gave {name} a gradient of shape "
                             f"{analytic[name].shape}, but the parameter has shape {p.shape}: a "
                             "gradient must have the shape of its parameter"
                             + (" (this one looks transposed)." if analytic[name].shape == p.shape[::-1] else "."))
    f = lambda: net.data_loss(x, y)[0] + net.l2_penalty(l2)  # noqa: E731
    rng = np.random.default_rng(seed)
    errors = {}
    for name, p in net.named_params():
        if max_entries is None or p.size <= max_entries:
            errors[name] = relative_error(analytic[name], numerical_gradient(f, p, eps))
            continue
        flat = p.reshape(-1)  # a view: changing it changes the parameter
        picks = rng.choice(p.size, size=max_entries, replace=False)
        num = np.empty(max_entries)
        for j, i in enumerate(picks):
            old = flat[i]
            try:
                flat[i] = old + eps
                fp = f()
                flat[i] = old - eps
                fm = f()
            finally:
                flat[i] = old
            num[j] = (fp - fm) / (2 * eps)
        errors[name] = relative_error(analytic[name].reshape(-1)[picks], num)
    return errors
