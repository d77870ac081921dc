"""Exercises of Day 06 -- tensors and automatic differentiation.

The engine exercises (2 and 3) build graphs with the course's :class:`mlcourse.autograd.Value`,
which has the same attributes as the notebook's own ``Value`` (``data``, ``grad``, ``_prev``,
``_backward``, ``_op``), so a solution written against either one is checked the same way.
"""

from __future__ import annotations

import math

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape


class PairwiseSqDists(Exercise):
    name = "pairwise_sq_dists"
    title = "Exercise 1 — all pairwise squared distances, by broadcasting"
    hints = (
        "A has shape (N, D) and B has shape (M, D). Give A a new axis in the middle and B a new "
        "axis in front: `A[:, None, :] - B[None, :, :]` broadcasts to (N, M, D).",
        "Square that difference and sum over the last axis (the D coordinates): "
        "`((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)` has shape (N, M).",
    )
    solution_code = """
        def pairwise_sq_dists(A, B):
            return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    """

    def reference(self):
        return lambda A, B: ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)

    def verify(self, fn):
        rng = np.random.default_rng(6)
        A, B = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
        out = as_array(call(fn, A.copy(), B.copy(), what="`pairwise_sq_dists`"),
                       "your distance table")
        want = self.reference()(A, B)
        check_shape(out, want.shape, "your distance table")
        check_finite(out, "your distance table")
        if np.allclose(out, np.sqrt(want)):
            raise Wrong("those are the distances themselves: we asked for their *squares* "
                        "(leave out the square root).")
        if np.allclose(out, (A[:, None, :] - B[None, :, :]).sum(-1)):
            raise Wrong("you summed the differences without squaring them first: square, then sum.")
        check_close(out, want, "your distance table")
        return "entry (i, j) is |A[i] - B[j]|², computed for all pairs at once, with no loop."


def _is_value(v) -> bool:
    return all(hasattr(v, a) for a in ("data", "grad", "_prev", "_backward"))


def _backprop(root) -> None:
    """A duck-typed backward pass (works for the course's and the notebook's Value)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev)
    root.grad = 1.0
    for v in reversed(order):
        v._backward()


def _plus(a, b):
    """a + b as a course Value, whatever the class of a and b (duck typing)."""
    from mlcourse.autograd import Value

    out = Value(float(a.data) + float(b.data))
    out._prev = (a, b)

    def _backward():
        a.grad += out.grad
        b.grad += out.grad

    out._backward = _backward
    return out


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class Sigmoid(Exercise):
    name = "sigmoid"
    title = "Exercise 2 — a new operation for the engine: the sigmoid"
    hints = (
        "Forward: s = 1 / (1 + exp(-x)), stored in `Value(s, (v,), 'sigmoid')`. Backward: "
        "ds/dx = s * (1 - s), times out.grad (the chain rule).",
        "Inside `def _backward():` write `v.grad += s * (1 - s) * out.grad` -- with `+=`, "
        "so that a value used elsewhere too keeps the other contributions. Then "
        "`out._backward = _backward` and `return out`.",
    )
    solution_code = """
        def sigmoid(v):
            s = 1 / (1 + math.exp(-v.data))
            out = Value(s, (v,), "sigmoid")
            def _backward():
                v.grad += s * (1 - s) * out.grad
            out._backward = _backward
            return out
    """

    def reference(self):
        from mlcourse.autograd import Value

        def sigmoid(v):
            s = 1 / (1 + math.exp(-v.data))
            out = Value(s, (v,), "sigmoid")

            def _backward():
                v.grad += s * (1 - s) * out.grad

            out._backward = _backward
            return out
        return sigmoid

    def verify(self, fn):
        from mlcourse.autograd import Value

        x0 = 0.8
        s0 = _sig(x0)
        x = Value(x0)
        out = call(fn, x, what="`sigmoid`")
        if not _is_value(out):
            raise Wrong(f"`sigmoid` should return a Value (with data, grad, _prev and "
                        f"_backward), but it returned a {type(out).__name__}.")
        data = float(out.data)
        if not math.isclose(data, s0, rel_tol=1e-9):
            if math.isclose(data, 1 / (1 + math.exp(x0)), rel_tol=1e-9):
                raise Wrong("the forward value has the wrong sign inside exp: sigmoid(x) = "
                            "1 / (1 + exp(-x)), so sigmoid(0.8) is about 0.69.")
            raise Wrong(f"the forward value is wrong: sigmoid(0.8) should be {s0:.6f}, got {data:.6g}.")
        if not any(c is x for c in out._prev):
            raise Wrong("the result does not remember its input: pass `(v,)` as the children "
                        "of the new Value, or backward() can never reach it.")
        _backprop(out)
        g = float(x.grad)
        if g == 0.0:
            raise Wrong("after backward() the input's gradient is still 0: did you set "
                        "`out._backward = _backward` (without calling it)?")
        if math.isclose(g, s0, rel_tol=1e-6):
            raise Wrong("you used s as the derivative, but ds/dx = s * (1 - s).")
        if math.isclose(g, x0 * (1 - x0), rel_tol=1e-6):
            raise Wrong("you used x * (1 - x); the derivative is s * (1 - s) with s the *output* "
                        "sigmoid(x), not the input x.")
        check_close(g, s0 * (1 - s0), "d sigmoid(x)/dx at x = 0.8", rtol=1e-6)
        # chain rule: sigmoid(sigmoid(x))
        x = Value(x0)
        y = call(fn, call(fn, x, what="`sigmoid`"), what="`sigmoid`")
        _backprop(y)
        s1 = _sig(s0)
        want = s1 * (1 - s1) * s0 * (1 - s0)
        if math.isclose(float(x.grad), s0 * (1 - s0), rel_tol=1e-6):
            raise Wrong("the chain rule is missing: multiply by `out.grad`. In "
                        "sigmoid(sigmoid(x)) the gradient must pass through both.")
        check_close(float(x.grad), want, "the gradient of sigmoid(sigmoid(x))", rtol=1e-6)
        # the input is used elsewhere too: y = sigmoid(x) + x
        x = Value(x0)
        y = _plus(x, call(fn, x, what="`sigmoid`"))
        _backprop(y)
        g = float(x.grad)
        if math.isclose(g, s0 * (1 - s0), rel_tol=1e-6) or math.isclose(g, 1.0, rel_tol=1e-9):
            raise Wrong(f"for y = x + sigmoid(x) you got x.grad = {g:.4g}, but it should be "
                        f"1 + s(1 - s) = {1 + s0 * (1 - s0):.4g}: your gradients are overwritten "
                        "instead of accumulated. Use `+=`, not `=`: when x is used twice, "
                        "both contributions must add up.")
        check_close(g, 1 + s0 * (1 - s0), "x.grad in x + sigmoid(x)", rtol=1e-6)
        return "forward, backward, chain rule, and accumulation with +=."


def _shared_graph():
    """A graph with shared nodes; returns its root."""
    from mlcourse.autograd import Value

    a, b, c = Value(1.5, label="a"), Value(-0.5, label="b"), Value(2.0, label="c")
    d = a * b + c          # used three times below
    e = (d * a).tanh()
    return e * d + d.relu() * c + a * a


class TopologicalOrder(Exercise):
    name = "topological_order"
    title = "Exercise 3 — a topological order without recursion"
    hints = (
        "Replace the recursion by your own stack of (node, expanded) pairs. Pop a pair: if the "
        "node was already expanded, its inputs are all in the order, so append it; otherwise mark "
        "it visited and push (node, True) followed by (child, False) for each child.",
        "start with `order, visited, stack = [], set(), [(root, False)]`; in the loop skip nodes "
        "already in `visited` (unless expanded is True); return `order` (root last).",
    )
    solution_code = """
        def topological_order(root):
            order, visited, stack = [], set(), [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    order.append(node)
                elif node not in visited:
                    visited.add(node)
                    stack.append((node, True))
                    for child in node._prev:
                        stack.append((child, False))
            return order
    """

    def reference(self):
        def topological_order(root):
            order, visited, stack = [], set(), [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    order.append(node)
                elif node not in visited:
                    visited.add(node)
                    stack.append((node, True))
                    for child in node._prev:
                        stack.append((child, False))
            return order
        return topological_order

    def _check_order(self, order, root, label):
        try:
            order = list(order)
        except TypeError:
            raise Wrong(f"`topological_order` should return a list of nodes, but it returned "
                        f"a {type(order).__name__}.") from None
        if not order or not all(_is_value(v) for v in order):
            raise Wrong("`topological_order` should return a list of the graph's Values "
                        "(every node, the root last).")
        want = root.topological_order()
        ids = [id(v) for v in order]
        if len(ids) != len(set(ids)):
            raise Wrong(f"{label}: some nodes appear more than once ({len(ids)} entries for "
                        f"{len(set(ids))} different nodes). Keep a `visited` set, or a node "
                        "used twice will have its _backward called twice.")
        if set(ids) != {id(v) for v in want}:
            raise Wrong(f"{label}: the graph has {len(want)} nodes but your list holds "
                        f"{len(set(ids))} of them: every node below the root must be in it.")
        pos = {i: k for k, i in enumerate(ids)}
        if pos[id(root)] != len(ids) - 1:
            if pos[id(root)] == 0:
                raise Wrong(f"{label}: the root comes first, so the order is reversed: each node "
                            "must come *after* the nodes it was computed from (the root last).")
            raise Wrong(f"{label}: the root must be the last node of the order.")
        for v in order:
            for c in v._prev:
                if pos[id(c)] > pos[id(v)]:
                    raise Wrong(f"{label}: a node comes before one of its inputs; append a node "
                                "only after all of its children are in the order.")

    def verify(self, fn):
        from mlcourse.autograd import Value

        root = _shared_graph()
        self._check_order(call(fn, root, what="`topological_order`"), root, "on a small graph")
        deep = Value(0.5)
        for _ in range(6000):
            deep = deep * 1.0 + 0.0
        try:
            order = fn(deep)
        except RecursionError:
            raise Wrong("on a graph 12,000 operations deep your function hit RecursionError: it "
                        "still calls itself once per level. Keep the nodes to visit in a list "
                        "used as a stack instead.") from None
        except Exception as exc:
            raise Wrong(f"on a deep graph your function raised {type(exc).__name__}: {exc}") from None
        self._check_order(order, deep, "on a deep graph")
        return "no recursion, so graphs of any depth work."


class PerExampleGrads(Exercise):
    name = "per_example_grads"
    title = "Exercise 4 — per-example gradients with jax.vmap"
    hints = (
        "`jax.grad(loss)` differentiates the loss of *one* example `(w, x, y)` with respect to w. "
        "`jax.vmap` maps it over the examples.",
        "`jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, X, y)`: `None` keeps the same w for "
        "every example, `0` walks along the first axis of X and y. The result has shape (N, D).",
    )
    solution_code = """
        def per_example_grads(w, X, y):
            def loss(w, x, y):
                return (jnp.dot(x, w) - y) ** 2
            return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, X, y)
    """

    def reference(self):
        def per_example_grads(w, X, y):
            X, w, y = np.asarray(X), np.asarray(w), np.asarray(y)
            return 2 * (X @ w - y)[:, None] * X
        return per_example_grads

    def verify(self, fn):
        rng = np.random.default_rng(7)
        X, w, y = rng.normal(size=(6, 4)), rng.normal(size=4), rng.normal(size=6)
        out = as_array(call(fn, w.copy(), X.copy(), y.copy(), what="`per_example_grads`"),
                       "your per-example gradients")
        want = self.reference()(w, X, y)
        check_finite(out, "your per-example gradients")
        if out.shape == (4,) and np.allclose(out, want.mean(0), rtol=1e-4, atol=1e-5):
            raise Wrong("that is the gradient of the *average* loss, shape (4,): one number per "
                        "weight. We want one gradient *per example*, shape (6, 4): vmap the "
                        "gradient of a single example's loss over the examples.")
        if out.shape == (4,) and np.allclose(out, want.sum(0), rtol=1e-4, atol=1e-5):
            raise Wrong("that is the gradient of the *summed* loss, shape (4,). We want one "
                        "gradient per example, shape (6, 4): vmap over the examples.")
        check_close(out, want, "your per-example gradients", rtol=1e-4, atol=1e-5)
        return "one row per example: exactly what differential privacy and influence functions need."


q1, q2, q3, q4 = PairwiseSqDists(), Sigmoid(), TopologicalOrder(), PerExampleGrads()
ALL = [q1, q2, q3, q4]
