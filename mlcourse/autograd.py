"""A scalar automatic-differentiation engine (micrograd-style), as built on Day 06.

Every :class:`Value` holds one number (``data``), the derivative of the final output with
respect to it (``grad``), the values it was computed from (``_prev``) and a closure
(``_backward``) that pushes its own gradient to those inputs by the chain rule.
:meth:`Value.backward` visits the graph in reverse topological order, so each node's
gradient is complete before it is passed on; gradients are **accumulated** (``+=``), which is
what makes a node that is used more than once (``x * x``, ``a + a``) come out right::

    from mlcourse.autograd import Value
    x = Value(3.0, label="x")
    y = x * x + 2 * x          # dy/dx = 2x + 2 = 8
    y.backward()
    x.grad                     # 8.0

On top of it a tiny neural-network library (:class:`Neuron`, :class:`Layer`, :class:`MLP`)
and :func:`draw_graph`, which draws a computation graph with matplotlib alone (no graphviz).

Only the standard library is imported here (matplotlib only inside :func:`draw_graph`).
"""

from __future__ import annotations

import math
import random
from typing import Callable, Iterable, Sequence, Union

Number = Union[int, float]


class Value:
    """One scalar in a computation graph, with its gradient.

    Args:
        data: the number.
        _children: the values this one was computed from (set by the operations).
        _op: the operation that produced it (``"+"``, ``"*"``, ``"tanh"``...), for drawing.
        label: an optional name, shown by :func:`draw_graph`.

    Supported: ``+ - * /`` (also with a plain number on either side), ``-v``, ``v ** k`` for a
    number ``k``, ``k ** v`` for a number ``k > 0``, and :meth:`exp`, :meth:`log`,
    :meth:`tanh`, :meth:`relu`, :meth:`sigmoid`.
    """

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data: Number, _children: Iterable["Value"] = (), _op: str = "",
                 label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value(Value(...)): pass a number, not a Value")
        self.data = float(data)
        self.grad = 0.0
        self._backward: Callable[[], None] = _noop
        self._prev: tuple[Value, ...] = tuple(_children)
        self._op = _op
        self.label = label

    # -- arithmetic ------------------------------------------------------------------
    def __add__(self, other: "Value | Number") -> "Value":
        other = _wrap(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: "Value | Number") -> "Value":
        other = _wrap(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k: Number) -> "Value":
        if isinstance(k, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number "
                            "(write (b.log() * x).exp() for b ** x)")
        if not isinstance(k, (int, float)):
            return NotImplemented
        out = Value(self.data ** k, (self,), f"**{k:g}")

        def _backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base: Number) -> "Value":
        if not isinstance(base, (int, float)) or base <= 0:
            return NotImplemented
        out = Value(base ** self.data, (self,), f"{base:g}**")

        def _backward() -> None:
            self.grad += math.log(base) * out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> "Value":
        return self * -1

    def __sub__(self, other: "Value | Number") -> "Value":
        return self + (-_wrap(other))

    def __truediv__(self, other: "Value | Number") -> "Value":
        return self * _wrap(other) ** -1

    # reflected operators: 2 + v, 2 - v, 2 * v, 2 / v
    def __radd__(self, other: Number) -> "Value":
        return self + other

    def __rsub__(self, other: Number) -> "Value":
        return _wrap(other) + (-self)

    def __rmul__(self, other: Number) -> "Value":
        return self * other

    def __rtruediv__(self, other: Number) -> "Value":
        return _wrap(other) * self ** -1

    # -- functions -------------------------------------------------------------------
    def exp(self) -> "Value":
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log of a non-positive number ({self.data})")
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward() -> None:
            self.grad += (1.0 if out.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> "Value":
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    # -- backpropagation -------------------------------------------------------------
    def topological_order(self) -> list["Value"]:
        """Every node this value depends on, each once, inputs before the nodes using them."""
        return topological_order(self)

    def backward(self) -> None:
        """Fill ``grad`` of every node below this one with d(self)/d(node).

        Like PyTorch, gradients of the *leaves* (inputs, parameters) are added to what is
        already there, so call ``model.zero_grad()`` (or :meth:`zero_grad`) before each new
        backward pass; the gradients of intermediate nodes are recomputed from zero, so two
        backward passes give exactly twice the leaf gradients of one.
        """
        order = self.topological_order()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 for this value and every value it depends on."""
        for node in self.topological_order():
            node.grad = 0.0

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"


def _noop() -> None:
    return None


def _wrap(x: "Value | Number") -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"a Value can only be combined with a Value or a number, "
                        f"not {type(x).__name__}")
    return Value(x)


# -- a tiny neural-network library ---------------------------------------------------------
class Module:
    """Base class: ``parameters()`` lists the trainable values, ``zero_grad()`` resets them."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """``act(w . x + b)``: ``nin`` weights drawn uniformly from ``[-1, 1]`` (as in micrograd), bias 0.

    Args:
        nin: number of inputs.
        act: ``"relu"``, ``"tanh"`` or ``"linear"``.
        rng: a ``random.Random`` (seeded) for the initial weights.
    """

    def __init__(self, nin: int, act: str = "relu", rng: random.Random | None = None) -> None:
        if act not in ("relu", "tanh", "linear"):
            raise ValueError(f"unknown activation {act!r}: use 'relu', 'tanh' or 'linear'")
        rng = rng or random.Random(0)
        self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.act = act

    def __call__(self, x: Sequence["Value | Number"]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"this neuron has {len(self.w)} inputs, got {len(x)}")
        s = self.b
        for wi, xi in zip(self.w, x):
            s = s + wi * xi
        if self.act == "relu":
            return s.relu()
        if self.act == "tanh":
            return s.tanh()
        return s

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{self.act.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs."""

    def __init__(self, nin: int, nout: int, act: str = "relu",
                 rng: random.Random | None = None) -> None:
        rng = rng or random.Random(0)
        self.neurons = [Neuron(nin, act, rng) for _ in range(nout)]

    def __call__(self, x: Sequence["Value | Number"]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons[:3])}{', ...' if len(self.neurons) > 3 else ''}] x{len(self.neurons)}"


class MLP(Module):
    """A multi-layer perceptron: hidden layers with ``act``, a linear last layer.

    ``MLP(2, [16, 16, 1])`` maps 2 inputs to 1 output (a score) through two hidden layers
    of 16 neurons.
    """

    def __init__(self, nin: int, nouts: Sequence[int], act: str = "relu", seed: int = 0) -> None:
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], act if i < len(nouts) - 1 else "linear", rng)
                       for i in range(len(nouts))]

    def __call__(self, x: Sequence["Value | Number"]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        sizes = [len(self.layers[0].neurons[0].w)] + [len(l.neurons) for l in self.layers]
        return f"MLP({' -> '.join(map(str, sizes))}, {len(self.parameters())} parameters)"


# -- drawing -----------------------------------------------------------------------------
def topological_order(root) -> list:
    """Every node ``root`` depends on, each once, inputs before the nodes that use them.

    Iterative (no recursion limit on deep graphs). Works with any object that has ``_prev``
    (duck typing), so the notebook's own ``Value`` class can use it too.
    """
    order: list = []
    visited: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in list(node._prev) if id(c) not in visited)
    return order


def graph_layers(root) -> list[list]:
    """Group the nodes of ``root``'s graph into columns: inputs left, ``root`` right.

    An operation's column is the length of the longest path from an input to it; an input
    (a leaf) sits just left of its first use. Within a column, nodes are ordered like the
    nodes that use them (fewer crossing arrows). Works with any object that has ``_prev``
    (duck typing), so the notebook's own ``Value`` class can be drawn too.
    """
    order = topological_order(root)
    depth: dict[int, int] = {}
    users: dict[int, list] = {id(n): [] for n in order}
    for node in order:  # inputs first
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
        for c in node._prev:
            users[id(c)].append(node)
    for node in order:  # leaves move right, next to their first use
        if not node._prev and users[id(node)]:
            depth[id(node)] = min(depth[id(u)] for u in users[id(node)]) - 1
    shift = min(depth.values())
    cols: list[list] = [[] for _ in range(max(depth.values()) - shift + 1)]
    for node in order:
        cols[depth[id(node)] - shift].append(node)
    rank: dict[int, float] = {id(root): 0.0}
    for col in reversed(cols):  # order each column by the mean rank of its users
        col.sort(key=lambda n: sum(rank.get(id(u), 0.0) for u in users[id(n)])
                 / max(1, len(users[id(n)])))
        for j, node in enumerate(col):
            rank[id(node)] = j - (len(col) - 1) / 2
    return [c for c in cols if c]


def draw_graph(root, *, ax=None, title: str = "Computation graph", max_nodes: int = 60):
    """Draw the computation graph below ``root`` with matplotlib (left to right).

    Each value is a box ``label | data | grad``; the operation that produced it is a small
    circle in front of it; arrows show the flow of the forward pass. Nodes used more than
    once have several outgoing arrows.

    Args:
        root: the output ``Value`` (any object with ``data``, ``grad``, ``_prev``, ``_op``).
        ax: an optional matplotlib axes.
        title: the figure's title.
        max_nodes: refuse larger graphs (a drawing of thousands of boxes is unreadable).

    Returns:
        The matplotlib axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    cols = graph_layers(root)
    n = sum(len(c) for c in cols)
    if n > max_nodes:
        raise ValueError(f"the graph has {n} values; draw_graph draws at most {max_nodes} "
                         "(draw a smaller expression, or raise max_nodes)")
    height = max(len(c) for c in cols)
    dx = 3.8  # horizontal distance between columns
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots()
    pos: dict[int, tuple[float, float]] = {}
    for i, col in enumerate(cols):
        for j, node in enumerate(col):
            pos[id(node)] = (i * dx, (len(col) - 1) / 2 - j)
    box_w, box_h, op_off, r = 1.9, 0.56, 0.6, 0.32
    arc = 0.0  # how far the arcs bulge out (to fit them in the picture)
    for col in cols:
        for node in col:
            x, y = pos[id(node)]
            label = getattr(node, "label", "") or ""
            text = (f"{label} | " if label else "") + f"{node.data:.4g}\ngrad {node.grad:.4g}"
            ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                        boxstyle="round,pad=0.02", fc="#e8f0fe", ec="#3367d6", lw=1))
            ax.text(x, y, text, ha="center", va="center", fontsize=7)
            target = (x - box_w / 2, y)
            if node._op:
                ox = x - box_w / 2 - op_off
                ax.add_patch(plt.Circle((ox, y), r, fc="#fde8d8", ec="#d35400", lw=1))
                ax.text(ox, y, node._op, ha="center", va="center",
                        fontsize=7 if len(node._op) <= 3 else 5.5)
                ax.annotate("", xy=target, xytext=(ox + r, y),
                            arrowprops=dict(arrowstyle="->", lw=0.8, color="#555"))
                target = (ox - r, y)
            prev: list = []
            for child in node._prev:  # each input once; x * x is one arrow marked "x2"
                if not any(c is child for c in prev):
                    prev.append(child)
            for k, child in enumerate(prev):
                cx, cy = pos[id(child)]
                uses = sum(c is child for c in node._prev)
                start = (cx + box_w / 2, cy)
                # straight arrows between neighbouring columns; arcs for arrows that skip
                # columns, so that they do not run through the boxes in between
                rad = (0.35 if k % 2 == 0 else -0.35) if x - cx > dx + 1e-9 else 0.0
                if rad:
                    arc = max(arc, 0.18 * math.hypot(target[0] - start[0], target[1] - start[1]))
                ax.annotate("", xy=target, xytext=start,
                            arrowprops=dict(arrowstyle="->", lw=0.8 * uses, color="#555",
                                            shrinkA=0, shrinkB=2,
                                            connectionstyle=f"arc3,rad={rad}"))
                if uses > 1:
                    ax.text((start[0] + target[0]) / 2, (start[1] + target[1]) / 2 + 0.12,
                            f"x{uses}", ha="center", va="bottom", fontsize=6.5, color="#d35400")
    x_lo, x_hi = -box_w / 2 - 1.2, (len(cols) - 1) * dx + box_w / 2 + 0.2
    y_lo, y_hi = -height / 2 - 0.2 - arc, height / 2 + 0.2 + arc
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    if own_figure:  # about 0.6 inch per unit, at most 15 inches wide
        scale = min(0.62, 15 / (x_hi - x_lo))
        ax.figure.set_size_inches(scale * (x_hi - x_lo), scale * (y_hi - y_lo) + 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)
    return ax


__all__ = ["Value", "Module", "Neuron", "Layer", "MLP", "draw_graph", "graph_layers"]
