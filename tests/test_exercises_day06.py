"""Day 06's exercises: typical wrong answers get the right explanation."""

import math

import numpy as np

from mlcourse.autograd import Value
from mlcourse.exercises import day06


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_pairwise_distance_mistakes():
    ref = day06.q1.reference()
    msg = _msg(day06.q1, lambda A, B: ref(B, A))
    assert "expected (5, 4), got (4, 5)" in msg and "transposed" in msg
    assert "*squares*" in _msg(day06.q1, lambda A, B: np.sqrt(ref(A, B)))
    assert "without squaring" in _msg(day06.q1, lambda A, B: (A[:, None] - B[None]).sum(-1))
    assert "expected (5, 4)" in _msg(day06.q1, lambda A, B: ((A[:, None] - B[None]) ** 2).sum(1))


def _sigmoid(overwrite=False, deriv="s(1-s)", chain=True, hook=True, children=True):
    def sigmoid(v):
        s = 1 / (1 + math.exp(-v.data))
        out = Value(s, (v,) if children else (), "sigmoid")

        def _backward():
            d = {"s(1-s)": s * (1 - s), "s": s, "x(1-x)": v.data * (1 - v.data)}[deriv]
            g = d * (out.grad if chain else 1.0)
            if overwrite:
                v.grad = g
            else:
                v.grad += g

        if hook:
            out._backward = _backward
        return out
    return sigmoid


def test_sigmoid_mistakes():
    msg = _msg(day06.q2, _sigmoid(overwrite=True))
    assert "overwritten instead of accumulated" in msg and "+=" in msg
    assert "s * (1 - s)" in _msg(day06.q2, _sigmoid(deriv="s"))
    assert "*output*" in _msg(day06.q2, _sigmoid(deriv="x(1-x)"))
    assert "chain rule" in _msg(day06.q2, _sigmoid(chain=False))
    assert "still 0" in _msg(day06.q2, _sigmoid(hook=False))
    assert "remember its input" in _msg(day06.q2, _sigmoid(children=False))
    assert "wrong sign inside exp" in _msg(day06.q2, lambda v: Value(1 / (1 + math.exp(v.data)), (v,)))
    assert "should return a Value" in _msg(day06.q2, lambda v: 1 / (1 + math.exp(-v.data)))


def test_the_notebooks_own_value_class_is_accepted():
    class MyValue:  # like the notebook's (micrograd keeps the children in a set)
        def __init__(self, data, _children=(), _op=""):
            self.data, self.grad, self._prev, self._op = data, 0.0, set(_children), _op
            self._backward = lambda: None

    def sigmoid(v):
        s = 1 / (1 + math.exp(-v.data))
        out = MyValue(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    assert day06.q2.evaluate(sigmoid).status == "correct"


def test_topological_order_mistakes():
    def recursive(root):
        order, visited = [], set()

        def visit(v):
            if v not in visited:
                visited.add(v)
                for c in v._prev:
                    visit(c)
                order.append(v)
        visit(root)
        return order

    def no_visited(root):
        order, stack = [], [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in node._prev)
        return order

    ref = day06.q3.reference()
    assert "RecursionError" in _msg(day06.q3, recursive)
    assert "more than once" in _msg(day06.q3, no_visited)
    assert "reversed" in _msg(day06.q3, lambda root: ref(root)[::-1])
    assert "every node below the root" in _msg(day06.q3, lambda root: ref(root)[1:])
    assert "list of the graph's Values" in _msg(day06.q3, lambda root: [1, 2, 3])
    assert day06.q3.evaluate(lambda root: root.topological_order()).status == "correct"


def test_per_example_grad_mistakes():
    ref = day06.q4.reference()
    assert "*average* loss" in _msg(day06.q4, lambda w, X, y: ref(w, X, y).mean(0))
    assert "*summed* loss" in _msg(day06.q4, lambda w, X, y: ref(w, X, y).sum(0))
    assert "transposed" in _msg(day06.q4, lambda w, X, y: ref(w, X, y).T)
    assert "wrong sign" in _msg(day06.q4, lambda w, X, y: -ref(w, X, y))


def test_per_example_grads_with_jax():
    import jax
    import jax.numpy as jnp

    def per_example_grads(w, X, y):
        def loss(w, x, y):
            return (jnp.dot(x, w) - y) ** 2
        return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, X, y)

    assert day06.q4.evaluate(per_example_grads).status == "correct"
