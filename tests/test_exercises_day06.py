"""Day 06's exercises: typical wrong answers get the right explanation."""

import math
import sys

import numpy as np

from mlcourse.autograd import Value
from mlcourse.exercises import ____, day06


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


# The notebook's own Value class (Day 06, Section 6), run in a namespace of its own, as in the
# notebook: a learner's function defined next to it sees *this* Value in its globals.
NOTEBOOK_VALUE = '''
import math

class Value:
    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

def _add(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data + other.data, (self, other), "+")
    def _backward():
        self.grad += out.grad
        other.grad += out.grad
    out._backward = _backward
    return out

def _mul(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data * other.data, (self, other), "*")
    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad
    out._backward = _backward
    return out

def _pow(self, k):
    assert isinstance(k, (int, float)), "only powers by a plain number"
    out = Value(self.data ** k, (self,), f"**{k}")
    def _backward():
        self.grad += k * self.data ** (k - 1) * out.grad
    out._backward = _backward
    return out

def _exp(self):
    out = Value(math.exp(self.data), (self,), "exp")
    def _backward():
        self.grad += out.data * out.grad
    out._backward = _backward
    return out

Value.__add__, Value.__mul__, Value.__pow__, Value.exp = _add, _mul, _pow, _exp
Value.__neg__ = lambda self: self * -1
Value.__sub__ = lambda self, other: self + (-other)
Value.__truediv__ = lambda self, other: self * other ** -1
Value.__radd__ = lambda self, other: self + other
Value.__rmul__ = lambda self, other: self * other
Value.__rsub__ = lambda self, other: Value(other) - self
Value.__rtruediv__ = lambda self, other: Value(other) / self
'''


def notebook(code: str, name: str):
    """Define ``code`` (a learner's cell) after the notebook's Value class; return ``name``."""
    ns = {"____": ____}
    exec(NOTEBOOK_VALUE, ns)
    exec(code, ns)
    return ns[name]


# -- Exercise 1: the Jacobian by forward mode ---------------------------------------------------
def _jac(tangent="onehot", stack_axis=1, keep=1, loop="inputs", single=False):
    """A learner's ``jacobian_by_jvp``, right by default; each keyword is one typical mistake."""
    import jax
    import jax.numpy as jnp

    def jacobian_by_jvp(f, x):
        x = jnp.asarray(x)
        n = x.shape[0]
        m = f(x).shape[0]
        if single:                                      # one jvp with a vector of ones
            return jax.jvp(f, (x,), (jnp.ones_like(x),))[keep]
        columns = []
        for j in range(m if loop == "outputs" else n):
            if tangent == "int":
                e = [0] * n
                e[j] = 1
                v = jnp.array(e)                        # an int32/int64 tangent
            elif tangent == "float32":
                v = jnp.eye(n, dtype=jnp.float32)[j]
            elif tangent == "identity":
                v = jnp.eye(n, dtype=x.dtype)           # the whole identity at once
            else:
                v = jnp.zeros_like(x).at[j].set(1.0)
            columns.append(jax.jvp(f, (x,), (v,))[keep])
        return jnp.stack(columns, axis=stack_axis) if stack_axis is not None else jnp.array(columns)
    return jacobian_by_jvp


def test_jacobian_by_jvp_right_answers():
    import jax
    import jax.numpy as jnp

    assert day06.q1.evaluate(_jac()).correct
    assert day06.q1.evaluate(lambda f, x: jax.jacfwd(f)(x)).correct
    assert day06.q1.evaluate(lambda f, x: jax.jacrev(f)(x)).correct      # reverse mode: right too
    # the same loop with the eye's rows, or a float32 computation, is right as well
    assert day06.q1.evaluate(lambda f, x: jnp.stack(
        [jax.jvp(f, (jnp.asarray(x),), (jnp.eye(len(x), dtype=jnp.asarray(x).dtype)[j],))[1]
         for j in range(len(x))], axis=1)).correct
    x32 = lambda x: jnp.asarray(x, dtype=jnp.float32)
    assert day06.q1.evaluate(lambda f, x: jnp.stack(
        [jax.jvp(f, (x32(x),), (jnp.zeros_like(x32(x)).at[j].set(1.0),))[1] for j in range(len(x))],
        axis=1)).correct
    solution = notebook("import jax\nimport jax.numpy as jnp\n"
                        + day06.q1.solution_code.replace("\n        ", "\n"), "jacobian_by_jvp")
    assert day06.q1.evaluate(solution).correct


def test_jacobian_by_jvp_mistakes():
    msg = _msg(day06.q1, _jac(stack_axis=0))
    assert "transposed" in msg and "axis=1" in msg
    assert "transposed" in _msg(day06.q1, _jac(stack_axis=None))          # jnp.array(columns)
    msg = _msg(day06.q1, _jac(single=True))
    assert "row sums" in msg and "one-hot" in msg
    msg = _msg(day06.q1, _jac(tangent="int"))
    assert "the tangent int" in msg and "zeros_like" in msg
    assert "the *second* value" in _msg(day06.q1, _jac(keep=0))
    assert "the *second* value" in _msg(day06.q1, _jac(single=True, keep=0))
    msg = _msg(day06.q1, _jac(loop="outputs"))
    assert "one pass per *input*" in msg and "x.shape[0]" in msg
    assert "whole identity" in _msg(day06.q1, _jac(tangent="identity"))
    msg = _msg(day06.q1, lambda f, x: __import__("jax").grad(f)(x))
    assert "scalar" in msg and "jax.jvp" in msg
    msg = _msg(day06.q1, lambda f, x: __import__("jax").jvp(f, x, __import__("numpy").eye(len(x))[0])[1])
    assert "tuples" in msg and "(x,)" in msg
    assert "first column" in _msg(day06.q1, lambda f, x: __import__("jax").jvp(
        f, (x,), (__import__("numpy").eye(len(x))[0],))[1])
    assert "column sums" in _msg(day06.q1, lambda f, x: __import__("jax").vjp(f, x)[1](
        __import__("jax.numpy").numpy.ones(f(x).shape))[0])
    assert "wrong sign" in _msg(day06.q1, lambda f, x: -__import__("jax").jacfwd(f)(x))


def test_jacobian_by_jvp_more_beginner_mistakes():
    """Mistakes named by the review: each gets its own explanation, not a bare difference."""
    import jax
    import jax.numpy as jnp

    def eye(x, j):
        return jnp.eye(len(x), dtype=jnp.asarray(x).dtype)[j]

    def forgot_reassign(f, x):                   # e.at[j].set(1.0) without `e = ...`
        x = jnp.asarray(x)
        cols = []
        for j in range(x.shape[0]):
            e = jnp.zeros_like(x)
            e.at[j].set(1.0)
            cols.append(jax.jvp(f, (x,), (e,))[1])
        return jnp.stack(cols, axis=1)
    assert "e = e.at[j].set(1.0)" in _msg(day06.q1, forgot_reassign)

    def list_tangent(f, x):                      # a Python list as the direction
        cols = []
        for j in range(len(x)):
            e = [0.0] * len(x)
            e[j] = 1.0
            cols.append(jax.jvp(f, (x,), (e,))[1])
        return jnp.stack(cols, axis=1)
    msg = _msg(day06.q1, list_tangent)
    assert "not a Python list" in msg and "Traceback" not in msg

    def kept_pair(f, x):                         # the whole (f(x), J·e_j) pair collected
        return jnp.array([jax.jvp(f, (x,), (eye(x, j),)) for j in range(len(x))])
    assert "whole pair" in _msg(day06.q1, kept_pair)

    def last_column(f, x):                       # the loop overwrites instead of appending
        for j in range(len(x)):
            col = jax.jvp(f, (x,), (eye(x, j),))[1]
        return col
    assert "last column" in _msg(day06.q1, last_column)

    def point_as_direction(f, x):                # jax.jvp(f, (x,), (x,))
        return jnp.stack([jax.jvp(f, (x,), (x,))[1] for _ in range(len(x))], axis=1)
    assert "J·x" in _msg(day06.q1, point_as_direction)

    def finite_differences(f, x):                # no jvp at all, h = 1e-3
        return jnp.stack([(f(x + 1e-3 * np.eye(len(x))[j]) - f(x)) / 1e-3 for j in range(len(x))], axis=1)
    assert "finite differences" in _msg(day06.q1, finite_differences)

    def vmap_rows(f, x):                         # vmap over the directions: columns come out as rows
        return jax.vmap(lambda v: jax.jvp(f, (x,), (v,))[1])(jnp.eye(len(x), dtype=jnp.asarray(x).dtype))
    assert ".T" in _msg(day06.q1, vmap_rows)

    def tangents_of_length_m(f, x):              # n taken from the outputs
        m = len(f(x))
        return jnp.stack([jax.jvp(f, (x,), (jnp.eye(m, dtype=jnp.asarray(x).dtype)[j],))[1]
                          for j in range(m)], axis=1)
    assert "not the number of outputs" in _msg(day06.q1, tangents_of_length_m)

    # right answers written other ways still pass
    def numpy_filled(f, x):
        J = np.zeros((len(f(x)), len(x)))
        for j in range(len(x)):
            e = np.zeros(len(x))
            e[j] = 1.0
            J[:, j] = jax.jvp(f, (x,), (e,))[1]
        return J
    assert day06.q1.evaluate(numpy_filled).correct
    assert day06.q1.evaluate(lambda f, x: jax.vmap(lambda v: jax.jvp(f, (x,), (v,))[1], out_axes=1)(
        jnp.eye(len(x), dtype=jnp.asarray(x).dtype))).correct


def test_jacobian_by_jvp_float32_tangent_under_x64():
    """With float64 on (as in the notebook), a float32 tangent is refused by jax.jvp: explained."""
    import jax

    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        msg = _msg(day06.q1, _jac(tangent="float32"))
        assert "x is float64, the tangent float32" in msg
        assert day06.q1.evaluate(_jac()).correct
        assert "dtype" in _msg(day06.q1, _jac(tangent="int"))
    finally:
        jax.config.update("jax_enable_x64", before)


def test_jacobian_by_jvp_memorised_answer_fails():
    f = day06._SmoothMap([[0.8, -0.5, 0.3], [0.2, 0.7, -1.1]], [[0.5, 0.1, -0.4], [-0.3, 0.6, 0.9]])
    J = f.jacobian([0.4, -1.2, 0.7])
    assert "new random inputs" in _msg(day06.q1, lambda f, x: J)


def test_jacobian_by_jvp_starter_is_not_attempted():
    starter = notebook("def jacobian_by_jvp(f, x):\n    # your code here\n    return ____\n",
                       "jacobian_by_jvp")
    assert day06.q1.evaluate(starter).status == "not_attempted"


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
    # an answer that ignores its input (here: always sigmoid(0.8)) fails on fresh inputs
    def fixed(v):
        s = 1 / (1 + math.exp(-0.8))
        out = Value(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    assert day06.q2.evaluate(fixed).status == "incorrect"   # the chain rule (input 0.69) gives it away


def test_sigmoid_with_the_notebooks_own_value_class():
    """The notebook's Value (not the course's) is used: its idioms and compositions pass."""
    written = notebook('''
def sigmoid(v):
    s = 1 / (1 + math.exp(-v.data))
    out = Value(s, (v,), "sigmoid")
    def _backward():
        v.grad += s * (1 - s) * out.grad
    out._backward = _backward
    return out
''', "sigmoid")
    assert day06.q2.evaluate(written).status == "correct"
    idiom = notebook('''
def sigmoid(v):
    v = v if isinstance(v, Value) else Value(v)      # the notebook's own idiom
    return 1 / (1 + (-v).exp())
''', "sigmoid")
    assert day06.q2.evaluate(idiom).status == "correct"
    composed = notebook("def sigmoid(v):\n    return 1 / (1 + (-v).exp())\n", "sigmoid")
    assert day06.q2.evaluate(composed).status == "correct"
    also = notebook("def sigmoid(v):\n    return (1 + (-1 * v).exp()) ** -1\n", "sigmoid")
    assert day06.q2.evaluate(also).status == "correct"
    wrong = notebook("def sigmoid(v):\n    return 1 / (1 + v.exp())\n", "sigmoid")
    assert "wrong sign inside exp" in _msg(day06.q2, wrong)
    blank = notebook('''
def sigmoid(v):
    s = ____   # your code here: the forward value
    out = Value(s, (v,), "sigmoid")
    def _backward():
        ____   # your code here
    out._backward = _backward
    return out
''', "sigmoid")
    assert day06.q2.evaluate(blank).status == "not_attempted"


def test_sigmoid_composed_from_the_course_engine():
    assert day06.q2.evaluate(lambda v: 1 / (1 + (-v).exp())).status == "correct"
    assert day06.q2.evaluate(lambda v: v.sigmoid()).status == "correct"


def test_the_notebooks_own_value_class_is_accepted():
    class MyValue:  # like micrograd, which keeps the children in a set
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


def _recursive(root):
    order, visited = [], set()

    def visit(v):
        if v not in visited:
            visited.add(v)
            for c in v._prev:
                visit(c)
            order.append(v)
    visit(root)
    return order


def test_topological_order_mistakes():
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
    msg = _msg(day06.q3, _recursive)
    assert "calls itself" in msg and "RecursionError" in msg and "explicit stack" in msg
    assert "more than once" in _msg(day06.q3, no_visited)
    assert "reversed" in _msg(day06.q3, lambda root: ref(root)[::-1])
    assert "misses 1 of them" in _msg(day06.q3, lambda root: ref(root)[1:])
    assert "list of the graph's Values" in _msg(day06.q3, lambda root: [1, 2, 3])
    assert day06.q3.evaluate(lambda root: root.topological_order()).status == "correct"


def test_recursion_is_caught_even_with_a_raised_recursion_limit():
    def recursive_with_a_raised_limit(root):
        sys.setrecursionlimit(100_000)
        return _recursive(root)

    old = sys.getrecursionlimit()
    try:
        msg = _msg(day06.q3, recursive_with_a_raised_limit)
    finally:
        sys.setrecursionlimit(old)
    assert "calls itself" in msg and "sys.setrecursionlimit" in msg and "explicit stack" in msg
    assert sys.getprofile() is None  # the depth counter is gone after the check


def test_an_iterative_helper_is_not_called_recursion():
    def with_helpers(root):
        def children(v):               # a helper called once per node is not recursion
            return list(v._prev)
        order, visited, stack = [], set(), [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in children(node))
        return order

    assert day06.q3.evaluate(with_helpers).status == "correct"


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


# -- Exercise 5: cross-entropy as one node -------------------------------------------------------
def _ce(stable=True, sign=1, onehot=True, others=True, chain=True, accumulate=True,
        hook=True, children="all", loss="nll"):
    def cross_entropy(logits, target):
        zs = [v.data for v in logits]
        m = max(zs) if stable else 0.0
        exps = [math.exp(z - m) for z in zs]
        total = sum(exps)
        probs = [e / total for e in exps]
        value = {"nll": m + math.log(total) - zs[target], "neg": zs[target] - m - math.log(total),
                 "prob": probs[target]}[loss]
        kids = tuple(logits) if children == "all" else (logits[target],)
        out = Value(value, kids, "cross_entropy")

        def _backward():
            for j, v in enumerate(logits):
                if not others and j != target:
                    continue
                g = sign * (probs[j] - (1.0 if (j == target and onehot) else 0.0))
                g *= out.grad if chain else 1.0
                if accumulate:
                    v.grad += g
                else:
                    v.grad = g

        if hook:
            out._backward = _backward
        return out
    return cross_entropy


def test_cross_entropy_node_right_answers():
    assert day06.q5.evaluate(_ce()).status == "correct"

    def composed(logits, target):      # a composition of the engine's own operations is right too
        m = max(v.data for v in logits)
        return sum(((v - m).exp() for v in logits), Value(0.0)).log() + m - logits[target]

    assert day06.q5.evaluate(composed).status == "correct"
    with_notebook_value = notebook(day06.q5.solution_code.replace("\n        ", "\n"), "cross_entropy")
    assert day06.q5.evaluate(with_notebook_value).status == "correct"


def test_cross_entropy_node_mistakes():
    msg = _msg(day06.q5, _ce(stable=False))
    assert "overflow" in msg and "largest logit" in msg
    assert "wrong sign" in _msg(day06.q5, _ce(sign=-1))
    assert "subtract 1 at the target" in _msg(day06.q5, _ce(onehot=False))
    assert "only the target's logit" in _msg(day06.q5, _ce(others=False))
    assert "chain rule" in _msg(day06.q5, _ce(chain=False))
    assert "overwritten instead of accumulated" in _msg(day06.q5, _ce(accumulate=False))
    assert "still 0" in _msg(day06.q5, _ce(hook=False))
    assert "*all* the logits" in _msg(day06.q5, _ce(children="target"))
    assert "wrong sign" in _msg(day06.q5, _ce(loss="neg"))
    assert "-log of it" in _msg(day06.q5, _ce(loss="prob"))
    assert "should return a Value" in _msg(day06.q5, lambda logits, t: 0.5)


def test_cross_entropy_starter_is_not_attempted():
    starter = notebook('''
def cross_entropy(logits, target):
    # your code here
    return ____
''', "cross_entropy")
    assert day06.q5.evaluate(starter).status == "not_attempted"


def test_review_backward_called_or_crashing_is_explained_not_a_traceback():
    import math
    from mlcourse.autograd import Value

    def called(v):
        s = 1 / (1 + math.exp(-v.data))
        out = Value(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1 - s) * out.grad
        out._backward = _backward()          # called: stores None
        return out
    res = day06.q2.evaluate(called)
    assert res.status == "incorrect" and "without parentheses" in res.message

    def crashes(v):
        s = 1 / (1 + math.exp(-v.data))
        out = Value(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1 - s) * out.gradient   # a typo: AttributeError in backward()
        out._backward = _backward
        return out
    res = day06.q2.evaluate(crashes)
    assert res.status == "incorrect" and "AttributeError" in res.message

    def not_a_tuple(v):
        return Value(1 / (1 + math.exp(-v.data)), v, "sigmoid")
    assert "with the comma" in day06.q2.evaluate(not_a_tuple).message


def test_review_float32_engine_answers_are_right():
    import math
    import numpy as np
    import torch
    from mlcourse.autograd import Value

    def sigmoid(v):                           # torch computes the forward value in float32
        s = float(torch.sigmoid(torch.tensor(v.data)))
        out = Value(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out
    for _ in range(3):
        assert day06.q2.evaluate(sigmoid).correct

    def cross_entropy(logits, target):       # float32 NumPy
        zs = np.array([v.data for v in logits], dtype=np.float32)
        e = np.exp(zs - zs.max())
        p = e / e.sum()
        out = Value(float(zs.max() + np.log(e.sum()) - zs[target]), tuple(logits))

        def _backward():
            for j, v in enumerate(logits):
                v.grad += float(p[j] - (j == target)) * out.grad
        out._backward = _backward
        return out
    for _ in range(3):
        assert day06.q5.evaluate(cross_entropy).correct


def test_review_per_example_grads_messages():
    import jax
    import jax.numpy as jnp

    def loss(w, x, y):
        return (jnp.dot(x, w) - y) ** 2
    m = day06.q4.evaluate(lambda w, X, y: jax.vmap(jax.grad(loss), in_axes=(0, 0, 0))(w, X, y)).message
    assert "`None` in in_axes" in m
    m = day06.q4.evaluate(lambda w, X, y: jax.vmap(jax.grad(loss, argnums=1), in_axes=(None, 0, 0))(w, X, y)).message
    assert "with respect to x" in m
    assert "*losses*" in day06.q4.evaluate(lambda w, X, y: (X @ w - y) ** 2).message
