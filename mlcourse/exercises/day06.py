"""Exercises of Day 06 -- tensors and automatic differentiation.

The engine exercises (2, 3 and 5) build graphs of ``Value`` nodes. The check uses the ``Value``
class of the notebook that defines the learner's function (found in the function's globals),
or else the course's :class:`mlcourse.autograd.Value`, which has the same attributes (``data``,
``grad``, ``_prev``, ``_backward``, ``_op``): a solution written against either one is checked
the same way, and ``isinstance(v, Value)`` in the learner's code sees its own class.
"""

from __future__ import annotations

import math
import re
import sys

import numpy as np

from . import (_TIME_LIMIT, Exercise, NotAttempted, Wrong, _time_limit, as_array, call, check_close,
               check_finite, pair_str)


class _SmoothMap:
    """A JAX function f(x) = sin(A x) + (B x)² / 2 from R^n to R^m, with its exact Jacobian.

    ``A`` and ``B`` are float64 arrays of shape (m, n); ``f(x)`` takes x of shape (n,) (NumPy or
    JAX) and returns a JAX array of shape (m,); :meth:`jacobian` gives the (m, n) float64 matrix.
    """

    def __init__(self, A: np.ndarray, B: np.ndarray) -> None:
        self.A, self.B = np.asarray(A, float), np.asarray(B, float)

    def __call__(self, x):
        import jax.numpy as jnp

        A, B = jnp.asarray(self.A), jnp.asarray(self.B)
        return jnp.sin(A @ x) + 0.5 * (B @ x) ** 2

    def value(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.sin(self.A @ x) + 0.5 * (self.B @ x) ** 2

    def jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.cos(self.A @ x)[:, None] * self.A + (self.B @ x)[:, None] * self.B

    def __repr__(self) -> str:
        m, n = self.A.shape
        return f"f: R^{n} -> R^{m}"


_TANGENT_DTYPE = (
    "jax.jvp refused the tangent: its dtype differs from the dtype of x ({detail}). The direction "
    "you push forward must be a vector of the same shape *and* dtype as x: a one-hot vector built "
    "from integers (`[0, 1, 0]`, `np.eye(n, dtype=int)`) is an int array, and a float32 one "
    "does not match a float64 x either. Build it from x itself, e.g. `jnp.zeros_like(x)` with "
    "`.at[j].set(1.0)`, or `jnp.eye(n, dtype=x.dtype)[j]`."
)


class JacobianByJvp(Exercise):
    name = "jacobian_by_jvp"
    title = "Exercise 1 — the Jacobian, one forward-mode pass per column"
    hints = (
        "Column j of the Jacobian is J·e_j: how all m outputs move when input j moves. Forward "
        "mode gives one such product per pass, so you need n passes for x of shape (n,), one per "
        "input direction (not one per output).",
        "`jax.jvp` takes tuples, `jax.jvp(f, (x,), (v,))`, and returns the pair (f(x), J·v): keep "
        "the second. The direction v is a one-hot vector with the same shape *and dtype* as x: "
        "start from `jnp.zeros_like(x)` and use `.at[j].set(1.0)`, keeping its result: it returns a "
        "*new* array and leaves the old one as it was. An int vector is refused.",
        "Collect the n columns in a list and put them side by side with `jnp.stack(..., axis=1)`: "
        "shape (m, n), one row per output. `axis=0` (or `jnp.array(the_list)`) gives the transpose, "
        "(n, m); and a single jvp with a vector of ones gives J·1, the row sums, not the matrix.",
    )
    solution_code = """
        def jacobian_by_jvp(f, x):
            x = jnp.asarray(x)
            columns = []
            for j in range(x.shape[0]):
                e_j = jnp.zeros_like(x).at[j].set(1.0)     # input direction j, dtype of x
                _, column = jax.jvp(f, (x,), (e_j,))       # J @ e_j: column j, shape (m,)
                columns.append(column)
            return jnp.stack(columns, axis=1)              # shape (m, n)
    """

    def reference(self):
        def jacobian_by_jvp(f, x):
            if isinstance(f, _SmoothMap):
                return f.jacobian(x)
            import jax

            return np.asarray(jax.jacfwd(f)(x))
        return jacobian_by_jvp

    def fresh_args(self, rng):
        n, m = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        return _SmoothMap(rng.normal(size=(m, n)), rng.normal(size=(m, n))), rng.normal(size=n)

    def fresh_compare(self, out, want):
        check_close(out, want, "your Jacobian", rtol=1e-5, atol=1e-6)

    def _call(self, fn, f, x):
        try:
            return call(fn, f, x.copy(), what="`jacobian_by_jvp`")
        except Wrong as exc:
            msg = str(exc)
            if "tangent dtype" in msg or "dtypes must be equal" in msg:
                got = re.search(r"Got primal dtype (\w+).*got tangent dtype (\w+)", msg)
                detail = f"x is {got.group(1)}, the tangent {got.group(2)}" if got else "see the message above"
                raise Wrong(_TANGENT_DTYPE.format(detail=detail)) from None
            if "must be tuples or lists" in msg:
                raise Wrong("jax.jvp takes its primals and tangents as tuples, one entry per argument "
                            "of f: write `jax.jvp(f, (x,), (v,))`, with the commas.") from None
            if "different primal and tangent shapes" in msg or "shapes must be equal" in msg:
                raise Wrong("jax.jvp refused the tangent's shape: the tangent is *one* direction in "
                            "input space, a vector of exactly the shape of x, (n,) with n = "
                            "`x.shape[0]` (not the number of outputs m). Push one one-hot vector e_j "
                            "per pass (a row of `jnp.eye(n)`, not the whole identity matrix) and "
                            "collect the n results.") from None
            if "same tree structure" in msg:
                raise Wrong("jax.jvp wants the tangent in the same form as x: one array of shape (n,), "
                            "not a Python list (nor a tuple inside the tuple). Turn a list into an "
                            "array with `jnp.array(e, dtype=x.dtype)`, or build the direction as "
                            "`jnp.zeros_like(x).at[j].set(1.0)`.") from None
            if "only defined for scalar-output" in msg:
                raise Wrong("`jax.grad` works only for a function with one (scalar) output, and f has "
                            "m outputs. Forward mode is `jax.jvp`: one pass per input direction e_j "
                            "gives column j of the Jacobian.") from None
            raise

    def verify(self, fn):
        f = _SmoothMap([[0.8, -0.5, 0.3], [0.2, 0.7, -1.1]], [[0.5, 0.1, -0.4], [-0.3, 0.6, 0.9]])
        x = np.array([0.4, -1.2, 0.7])
        J, fx = f.jacobian(x), f.value(x)
        m, n = J.shape
        out = as_array(self._call(fn, f, x), "your Jacobian")
        check_finite(out, "your Jacobian")
        tol = {"rtol": 1e-5, "atol": 1e-6}
        if out.shape == (m,) and np.allclose(out, J.sum(1), **tol):
            raise Wrong("that is J·1, the row sums of the Jacobian, shape (2,): one jvp with a "
                        "tangent of ones moves every input at once and adds up their effects. "
                        "Push one one-hot direction e_j per input instead (n = 3 passes) and keep "
                        "each result as one column.")
        if out.shape == (n,) and np.allclose(out, J.sum(0), **tol):
            raise Wrong("that is 1ᵀJ, the column sums of the Jacobian, shape (3,): one vjp with a "
                        "cotangent of ones. We want the whole (2, 3) matrix, one jvp per input "
                        "direction e_j.")
        if out.shape == (m,) and np.allclose(out, J[:, 0], **tol):
            raise Wrong("that is only the first column of the Jacobian (J·e_0), shape (2,): "
                        "loop over all n = 3 input directions and put the columns side by side.")
        if out.shape == (m,) and np.allclose(out, J[:, -1], **tol):
            raise Wrong("that is only the last column of the Jacobian (J·e_2), shape (2,): each pass "
                        "of your loop replaces the column of the pass before. Append every column to "
                        "a list, then put them side by side after the loop.")
        Jx = J @ np.asarray(x)
        if (out.shape == (m,) and np.allclose(out, Jx, **tol)) or (
                out.shape == (m, n) and np.allclose(out, Jx[:, None], **tol)):
            raise Wrong("that is J·x: you pushed the point x itself forward as the direction. In "
                        "`jax.jvp(f, (x,), (v,))` the first tuple is *where* to differentiate (x) "
                        "and the second is the direction: for column j it is the one-hot e_j.")
        if out.ndim == 3 and out.size == 2 * m * n:
            for ax in (k for k in range(3) if out.shape[k] == 2):
                second = np.moveaxis(out, ax, 0)[1]
                if ((second.shape == (m, n) and np.allclose(second, J, **tol))
                        or (second.shape == (n, m) and np.allclose(second, J.T, **tol))):
                    raise Wrong(f"wrong shape: expected (2, 3), got {out.shape}: you collected the "
                                "whole pair (f(x), J·e_j) that `jax.jvp` returns at each pass. Keep "
                                "only the second value, `jax.jvp(f, (x,), (e_j,))[1]`, the column.")
        if out.shape == (m, n) and np.all(out == 0):
            raise Wrong("your Jacobian is all zeros: every jvp was given the zero vector as its "
                        "direction (or you returned the array you started from). `e.at[j].set(1.0)` "
                        "does not change `e`: JAX arrays are immutable (Section 1), so it returns a "
                        "*new* array: write `e = e.at[j].set(1.0)`.")
        if out.shape == (m,) and np.allclose(out, fx, **tol):
            raise Wrong("that is f(x) itself: `jax.jvp` returns the pair (f(x), J·v), and the "
                        "derivative is the *second* value.")
        if out.ndim == 2 and out.shape in ((m, n), (n, m)):
            cols = out if out.shape == (m, n) else out.T
            if np.allclose(cols, fx[:, None], **tol):
                raise Wrong("every column is f(x) itself: `jax.jvp` returns the pair (f(x), J·v); "
                            "keep the *second* value, the derivative along e_j.")
        if out.shape == (n, m) and np.allclose(out, J.T, **tol):
            raise Wrong("wrong shape: expected (2, 3), got (3, 2): your Jacobian is transposed. "
                        "Each jvp gives one *column* (J·e_j, m = 2 numbers), but `jnp.stack(columns)`, "
                        "`jnp.array(columns)` and `jax.vmap` over the directions put each one in a "
                        "*row*: stack with `axis=1` (or take `.T` of the result). (Rows, one per "
                        "output, are what reverse mode, vjp or grad, gives: rows built that way are "
                        "stacked with `axis=0`.)")
        if out.shape == (m, m) and np.allclose(out, J[:, :m], **tol):
            raise Wrong("you got only the first 2 columns: your loop runs over the m = 2 outputs, "
                        "but forward mode needs one pass per *input*: loop over the n = 3 entries "
                        "of x (`x.shape[0]`).")
        try:
            check_close(out, J, "your Jacobian", **tol)
        except Wrong:
            if out.shape == J.shape and np.abs(out - J).max() < 1e-2 * (1 + np.abs(J).max()):
                raise Wrong(f"your Jacobian is close but not exact: it differs by up to "
                            f"{np.abs(out - J).max():.1e}. That is the error of finite differences, "
                            "(f(x + h e_j) - f(x)) / h; `jax.jvp` gives the exact derivative along "
                            "e_j, with no step h: use it for each column.") from None
            raise
        return ("n forward passes, one column each: what `jax.jacfwd` does, with `vmap` instead "
                "of the loop. For a loss (m = 1), reverse mode needs one pass instead of n.")


# -- helpers for the engine exercises (duck typing: the notebook's Value or the course's) ----
def _is_value(v) -> bool:
    return all(hasattr(v, a) for a in ("data", "grad", "_prev", "_backward"))


def _value_class(fn):
    """The ``Value`` class the learner's function sees (its notebook's), or the course's."""
    from mlcourse.autograd import Value

    cls = getattr(fn, "__globals__", {}).get("Value")
    if isinstance(cls, type) and cls is not Value:
        try:
            v = cls(0.5)
            if _is_value(v) and float(v.data) == 0.5 and hasattr(v, "_op"):
                return cls
        except Exception:  # not a Value class we can build nodes with
            pass
    return Value


def _nodes(root) -> list:
    """Every node below ``root`` (root included), each once, without recursion."""
    seen, out, stack = set(), [], [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
            stack.extend(getattr(v, "_prev", ()))
    return out


def _reaches(root, node) -> bool:
    return any(v is node for v in _nodes(root))


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
    with _time_limit(_TIME_LIMIT.get(), "the backward pass (your `_backward`)"):
        for v in reversed(order):
            _run_backward(v)


def _run_backward(v) -> None:
    """Call one node's ``_backward``; explain a non-function or a crash instead of a traceback."""
    step = v._backward
    if not callable(step):
        raise Wrong(f"a node's `_backward` is a {type(step).__name__}, not a function. Store the "
                    "function itself, `out._backward = _backward`, without parentheses: "
                    "`out._backward = _backward()` calls it once, too early (out.grad is still 0), "
                    "and stores what it returns (None).")
    try:
        step()
    except (Wrong, NotAttempted):
        raise
    except Exception as exc:
        if "____" in str(exc) or "_Blank" in str(exc):
            raise NotAttempted("your `_backward` still contains the blank ____.") from None
        raise Wrong(f"during backward(), your `_backward` raised {type(exc).__name__}: {exc}. "
                    "Build a tiny graph in a cell of its own, call backward() on it and read "
                    "the traceback.") from None


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


def _times(a, k: float):
    """k * a as a course Value (a node above the learner's result, to test the chain rule)."""
    from mlcourse.autograd import Value

    out = Value(k * float(a.data))
    out._prev = (a,)

    def _backward():
        a.grad += k * out.grad

    out._backward = _backward
    return out


def _value_result(out, fname: str):
    if not _is_value(out):
        raise Wrong(f"`{fname}` should return a Value (with data, grad, _prev and _backward), "
                    f"but it returned a {type(out).__name__}.")
    try:
        return float(out.data)
    except (TypeError, ValueError):
        raise Wrong(f"the `data` of the Value you returned should be a number, but it is a "
                    f"{type(out.data).__name__}.") from None


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


class Sigmoid(Exercise):
    name = "sigmoid"
    title = "Exercise 2 — a new operation for the engine: the sigmoid"
    hints = (
        "A new operation is a new node: compute the number s = σ(x) from `v.data`, wrap it in a "
        "Value whose children are `(v,)`, and give that node a `_backward` that sends the "
        "gradient back to v by the chain rule.",
        "The local derivative is σ'(x) = s (1 - s), with s the *output*. The chain rule "
        "multiplies it by the gradient that arrives at the node, `out.grad`.",
        "Inside `_backward`, add to `v.grad` with `+=` (never `=`): if v is also used elsewhere "
        "in the graph, the other contributions must stay. And store the function in the node's "
        "`_backward` attribute without calling it (no parentheses). (Composing existing operations, "
        "`1 / (1 + (-v).exp())`, is right too: each of them already has its backward.)",
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
            s = _sig(v.data)
            out = Value(s, (v,), "sigmoid")

            def _backward():
                v.grad += s * (1 - s) * out.grad

            out._backward = _backward
            return out
        return sigmoid

    def verify(self, fn):
        V = self._V = _value_class(fn)
        x0 = 0.8
        s0 = _sig(x0)
        x = V(x0)
        try:
            out = call(fn, x, what="`sigmoid`")
        except Wrong as exc:
            if "object is not iterable" in str(exc):
                raise Wrong(f"{str(exc).split(' Run it on')[0]} The children of a Value are a tuple: "
                            "write `(v,)`, with the comma (`(v)` is just v, not a tuple).") from None
            raise
        data = _value_result(out, "sigmoid")
        if not math.isclose(data, s0, rel_tol=1e-6):   # 1e-6: a float32 sigmoid (torch, np.float32) is right
            if math.isclose(data, 1 / (1 + math.exp(x0)), rel_tol=1e-6):
                raise Wrong("the forward value has the wrong sign inside exp: sigmoid(x) = "
                            "1 / (1 + exp(-x)), so sigmoid(0.8) is about 0.69.")
            raise Wrong("the forward value is wrong: sigmoid(0.8) should be {1}, got {0}.".format(*pair_str(data, s0)))
        if not _reaches(out, x):
            raise Wrong("the result does not remember its input: pass `(v,)` as the children "
                        "of the new Value, or backward() can never reach it.")
        _backprop(out)
        g = float(x.grad)
        if g == 0.0:
            raise Wrong("after backward() the input's gradient is still 0: does `_backward` add to "
                        "`v.grad` (the input's gradient; `out.grad` is what arrives from above), and did "
                        "you set `out._backward = _backward` (without calling it)?")
        if math.isclose(g, s0, rel_tol=1e-6):
            raise Wrong("you used s as the derivative, but ds/dx = s * (1 - s).")
        if math.isclose(g, x0 * (1 - x0), rel_tol=1e-6):
            raise Wrong("you used x * (1 - x); the derivative is s * (1 - s) with s the *output* "
                        "sigmoid(x), not the input x.")
        check_close(g, s0 * (1 - s0), "d sigmoid(x)/dx at x = 0.8", rtol=1e-6)
        # chain rule: sigmoid(sigmoid(x))
        x = V(x0)
        y = call(fn, call(fn, x, what="`sigmoid`"), what="`sigmoid`")
        _backprop(y)
        s1 = _sig(s0)
        want = s1 * (1 - s1) * s0 * (1 - s0)
        if math.isclose(float(x.grad), s0 * (1 - s0), rel_tol=1e-6):
            raise Wrong("the chain rule is missing: multiply by `out.grad`. In "
                        "sigmoid(sigmoid(x)) the gradient must pass through both.")
        check_close(float(x.grad), want, "the gradient of sigmoid(sigmoid(x))", rtol=1e-6)
        # the input is used elsewhere too: y = sigmoid(x) + x
        x = V(x0)
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

    def fresh_args(self, rng):
        V = getattr(self, "_V", None) or _value_class(None)
        self._x = V(float(rng.normal(scale=3.0)))
        return (self._x,)

    def fresh_compare(self, out, want):
        x = self._x
        data = _value_result(out, "sigmoid")
        # a float32 forward (torch.sigmoid, np.float32) is right: 1 - s then has float32's absolute error
        check_close(data, float(want.data), f"sigmoid({x.data:.4g})", rtol=1e-6, atol=1e-7)
        x.grad = 0.0
        _backprop(want)
        g_want, x.grad = float(x.grad), 0.0
        _backprop(out)
        check_close(float(x.grad), g_want, f"the gradient of sigmoid at x = {x.data:.4g}", rtol=1e-6, atol=1e-7)


# -- Exercise 3 -------------------------------------------------------------------------------
def _shared_graph():
    """A graph with shared nodes; returns its root."""
    from mlcourse.autograd import Value

    a, b, c = Value(1.5, label="a"), Value(-0.5, label="b"), Value(2.0, label="c")
    d = a * b + c          # used three times below
    e = (d * a).tanh()
    return e * d + d.relu() * c + a * a


def _random_graph(rng):
    """A random graph whose nodes are reused (as in a network); returns its root."""
    from mlcourse.autograd import Value

    nodes = [Value(float(x)) for x in rng.normal(size=int(rng.integers(2, 6)))]
    for _ in range(int(rng.integers(5, 40))):
        a, b = (nodes[int(k)] for k in rng.integers(len(nodes), size=2))
        op = int(rng.integers(3))
        nodes.append(a + b if op == 0 else a * b if op == 1 else a.tanh())
    return nodes[-1]


class _TooDeep(BaseException):
    """Raised in the learner's function when its calls nest too deeply (recursion)."""


_MAX_NESTING = 300  # nested Python calls allowed on a graph 12,000 operations deep


def _call_without_recursion(fn, root):
    """Call ``fn(root)``; raise :class:`_TooDeep` once calls nest more than ``_MAX_NESTING`` deep.

    A profile hook counts the Python frames opened and not yet closed below this call. A loop
    with an explicit stack stays a few frames deep whatever the graph; a function that calls
    itself once per level goes as deep as the graph, whatever ``sys.setrecursionlimit`` says.
    """
    depth = [0]

    def profiler(frame, event, arg):
        if event == "call":
            depth[0] += 1
            if depth[0] > _MAX_NESTING:
                raise _TooDeep
        elif event == "return":
            depth[0] -= 1

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        return call(fn, root, what="`topological_order`")
    finally:
        sys.setprofile(previous)


_RECURSION = (
    "your function calls itself (directly or through a helper), once per level of the graph: on "
    "a graph 12,000 operations deep its calls were nested more than {n} deep. Python stops at "
    "`sys.getrecursionlimit()` nested calls (1,000 by default) with a RecursionError, and raising "
    "the limit with `sys.setrecursionlimit` only moves the wall: every nested call takes room on Python's "
    "call stack, and the Python documentation warns that a too-high limit can crash the "
    "interpreter. That is why the exercise asks for an explicit stack: keep the nodes still to "
    "visit in a list, `append` and `pop` them in a `while` loop, and the depth of the graph no "
    "longer matters."
)


class TopologicalOrder(Exercise):
    name = "topological_order"
    title = "Exercise 3 — a topological order without recursion"
    hints = (
        "Replace the recursion by your own stack: a list of things still to do, and a `while` "
        "loop that pops one at a time. A node may be appended to the order only after all of "
        "its children are in it, so each node is met twice: once to *expand* it (push its "
        "children), once more, later, to *append* it.",
        "Push pairs (node, expanded): pop a pair; if `expanded` is True, its children are done, "
        "so append the node to the order; otherwise mark it visited, push it back with True, "
        "then push each child with False. Start from a stack holding only (root, False).",
        "Order matters on the stack: it is last in, first out, so push (node, True) *before* its "
        "children, and it comes back after all of them. Skip a node already in the visited set "
        "(unless the pair says expanded), or a shared node appears twice.",
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
        want = _nodes(root)
        ids = [id(v) for v in order]
        if len(ids) != len(set(ids)):
            raise Wrong(f"{label}: some nodes appear more than once ({len(ids)} entries for "
                        f"{len(set(ids))} different nodes). Keep a `visited` set, or a node "
                        "used twice will have its _backward called twice.")
        want_ids = {id(v) for v in want}
        if set(ids) != want_ids:
            missing, extra = len(want_ids - set(ids)), len(set(ids) - want_ids)
            more = f", and {extra} node(s) that are not in this graph at all" if extra else ""
            raise Wrong(f"{label}: the graph has {len(want)} nodes; your list misses {missing} "
                        f"of them{more}: every node below the root must be in it.")
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
            order = _call_without_recursion(fn, deep)
        except _TooDeep:
            raise Wrong(_RECURSION.format(n=_MAX_NESTING)) from None
        except Wrong as exc:
            if "RecursionError" in str(exc):
                raise Wrong(_RECURSION.format(n=_MAX_NESTING)) from None
            raise Wrong(f"on a deep graph (12,000 operations): {exc}") from None
        self._check_order(order, deep, "on a deep graph")
        return "no recursion, so graphs of any depth work."

    def fresh_args(self, rng):
        return (_random_graph(rng),)

    def fresh_compare(self, out, want):
        self._check_order(out, want[-1], "on a random graph")


# -- Exercise 4 -------------------------------------------------------------------------------
class PerExampleGrads(Exercise):
    name = "per_example_grads"
    title = "Exercise 4 — per-example gradients with jax.vmap"
    hints = (
        "Write the loss of *one* example as a function of (w, x, y); `jax.grad` of it gives one "
        "gradient, and `jax.vmap` runs that for every example at once.",
        "`jax.grad(loss)` differentiates with respect to the first argument, w. Then "
        "`jax.vmap(..., in_axes=...)` needs one entry per argument: which one is shared by all "
        "examples, and which ones are walked along their first axis?",
        "`in_axes=(None, 0, 0)`: None keeps the same w for every example, 0 takes one row of X "
        "and one entry of y at a time. The result then has one row per example: shape (N, D).",
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

    def fresh_args(self, rng):
        n, d = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        return rng.normal(size=d), rng.normal(size=(n, d)), rng.normal(size=n)

    def verify(self, fn):
        rng = np.random.default_rng(7)
        X, w, y = rng.normal(size=(6, 4)), rng.normal(size=4), rng.normal(size=6)
        try:
            out = as_array(call(fn, w.copy(), X.copy(), y.copy(), what="`per_example_grads`"),
                           "your per-example gradients")
        except Wrong as exc:
            if "inconsistent sizes" in str(exc) and "argument w" in str(exc):
                raise Wrong("vmap tried to walk along w too (its in_axes entry is 0), but w is one "
                            "vector shared by all examples: give it `None` in in_axes, and 0 to X and "
                            "y, whose first axis is the examples.") from None
            raise
        want = self.reference()(w, X, y)
        check_finite(out, "your per-example gradients")
        if out.shape == (6,) and np.allclose(out, (X @ w - y) ** 2, rtol=1e-4, atol=1e-5):
            raise Wrong("those are the per-example *losses*, shape (6,); we want their gradients with "
                        "respect to w, shape (6, 4): apply `jax.grad` to the one-example loss first.")
        if out.shape == (6, 4) and np.allclose(out, 2 * (X @ w - y)[:, None] * w, rtol=1e-4, atol=1e-5):
            raise Wrong("that is the gradient with respect to x, the input, not w: `jax.grad` "
                        "differentiates with respect to the *first* argument, so write the loss as "
                        "loss(w, x, y) (or pass argnums=0 for w).")
        if out.shape == (4,) and np.allclose(out, want.mean(0), rtol=1e-4, atol=1e-5):
            raise Wrong("that is the gradient of the *average* loss, shape (4,): one number per "
                        "weight. We want one gradient *per example*, shape (6, 4): vmap the "
                        "gradient of a single example's loss over the examples.")
        if out.shape == (4,) and np.allclose(out, want.sum(0), rtol=1e-4, atol=1e-5):
            raise Wrong("that is the gradient of the *summed* loss, shape (4,). We want one "
                        "gradient per example, shape (6, 4): vmap over the examples.")
        check_close(out, want, "your per-example gradients", rtol=1e-4, atol=1e-5)
        return "one row per example: exactly what differential privacy and influence functions need."


# -- Exercise 5 (build it): softmax cross-entropy as one node of the engine --------------------
def _ce_expected(zs, target):
    """Loss and gradients of -log softmax(z)[target], computed with mlcourse.autograd's ops."""
    from mlcourse.autograd import Value

    logits = [Value(z) for z in zs]
    m = max(zs)
    lse = sum(((z - m).exp() for z in logits), Value(0.0)).log() + m
    loss = lse - logits[target]
    loss.backward()
    return loss.data, np.array([v.grad for v in logits])


def _softmax(zs):
    e = np.exp(np.asarray(zs, float) - max(zs))
    return e / e.sum()


class CrossEntropyNode(Exercise):
    name = "cross_entropy"
    title = "Exercise 5 — build it: softmax cross-entropy as one node of the engine"
    hints = (
        "One node with K children: the forward pass turns the K logits into the number "
        "L = log(Σ_j exp(z_j)) - z_target (that is -log of the softmax probability of the "
        "target), and its `_backward` gives every logit its share of the gradient.",
        "The derivative is the one of Day 04: ∂L/∂z_j = p_j - 1 for j = target and p_j for "
        "the others, with p = softmax(z). Compute the probabilities in the forward pass (plain "
        "floats from `v.data`) and keep them for `_backward`; the children are all the logits, "
        "`tuple(logits)`.",
        "Stability: exp(1000) overflows. Subtract the largest logit m first: "
        "log Σ exp(z_j) = m + log Σ exp(z_j - m), and p_j = exp(z_j - m) / Σ_k exp(z_k - m). "
        "In `_backward`, loop over the logits and use `+=`, times `out.grad` (the chain rule).",
    )
    solution_code = """
        def cross_entropy(logits, target):
            zs = [v.data for v in logits]
            m = max(zs)                                   # the stability trick
            exps = [math.exp(z - m) for z in zs]
            total = sum(exps)
            probs = [e / total for e in exps]
            out = Value(m + math.log(total) - zs[target], tuple(logits), "cross_entropy")
            def _backward():
                for j, v in enumerate(logits):
                    onehot = 1.0 if j == target else 0.0
                    v.grad += (probs[j] - onehot) * out.grad
            out._backward = _backward
            return out
    """

    def reference(self):
        from mlcourse.autograd import Value

        def cross_entropy(logits, target):
            zs = [v.data for v in logits]
            m = max(zs)
            exps = [math.exp(z - m) for z in zs]
            total = sum(exps)
            probs = [e / total for e in exps]
            out = Value(m + math.log(total) - zs[target], tuple(logits), "cross_entropy")

            def _backward():
                for j, v in enumerate(logits):
                    onehot = 1.0 if j == target else 0.0
                    v.grad += (probs[j] - onehot) * out.grad

            out._backward = _backward
            return out
        return cross_entropy

    def _run(self, fn, zs, target):
        logits = [self._V(z) for z in zs]
        out = call(fn, logits, target, what="`cross_entropy`")
        return logits, out, _value_result(out, "cross_entropy")

    def _grads(self, logits):
        return np.array([float(v.grad) for v in logits])

    def verify(self, fn):
        self._V = _value_class(fn)
        zs, t = [1.2, -0.3, 0.5, 2.0], 2
        loss, want = _ce_expected(zs, t)
        p = _softmax(zs)
        logits, out, data = self._run(fn, zs, t)
        if not math.isclose(data, loss, rel_tol=1e-6):   # 1e-6: a float32 computation is right
            if math.isclose(data, -loss, rel_tol=1e-6):
                raise Wrong(f"the loss has the wrong sign ({data:.4g}): it is *minus* the log of "
                            f"the target's probability, so it is positive ({loss:.4g} here).")
            if math.isclose(data, p[t], rel_tol=1e-9):
                raise Wrong(f"{data:.4g} is the probability of the target class; the loss is "
                            f"-log of it ({loss:.4g} here).")
            if math.isclose(data, math.log(np.exp(zs).sum()), rel_tol=1e-9):
                raise Wrong("you computed log Σ exp(z_j) but did not subtract the target's logit "
                            "z_target: L = log Σ_j exp(z_j) - z_target.")
            raise Wrong("the forward value is wrong: for the logits {} and target {} the loss is {}, "
                        "yours is {}.".format(zs, t, *pair_str(loss, data)))
        reached = [_reaches(out, v) for v in logits]
        if not all(reached):
            raise Wrong(f"only {sum(reached)} of the {len(logits)} logits can be reached from "
                        "your result: the node's children must be *all* the logits, "
                        "`tuple(logits)`: every logit changes the loss, so every one gets a gradient.")
        _backprop(out)
        g = self._grads(logits)
        if np.all(g == 0):
            raise Wrong("after backward() every logit's gradient is still 0: did you set "
                        "`out._backward = _backward` (without calling it)?")
        if np.allclose(g, -want, rtol=1e-6, atol=1e-9):
            raise Wrong("the gradients have the wrong sign: ∂L/∂z_j = p_j - onehot_j "
                        "(probability minus target), not onehot - p.")
        if np.allclose(g, p, rtol=1e-6, atol=1e-9):
            raise Wrong("every logit got p_j, but the target's gradient is p_target - 1: "
                        "subtract 1 at the target class.")
        others = [j for j in range(len(zs)) if j != t]
        if np.allclose(g[others], 0) and not np.allclose(want[others], 0):
            raise Wrong("only the target's logit got a gradient; the other logits get p_j too "
                        "(raising any other class's score lowers the target's probability).")
        check_close(g, want, "the gradients of the logits", rtol=1e-6, atol=1e-9)
        # chain rule: 3 * cross_entropy(...)
        logits, out, _ = self._run(fn, zs, t)
        _backprop(_times(out, 3.0))
        g = self._grads(logits)
        if np.allclose(g, want, rtol=1e-6, atol=1e-9):
            raise Wrong("the chain rule is missing: in 3 * cross_entropy(...) the gradients must "
                        "be 3 times larger. Multiply by `out.grad` in `_backward`.")
        check_close(g, 3 * want, "the gradients of 3 * cross_entropy(...)", rtol=1e-6, atol=1e-9)
        # a logit used elsewhere too: y = z_0 + cross_entropy(z, t)
        logits, out, _ = self._run(fn, zs, t)
        _backprop(_plus(logits[0], out))
        g0 = float(logits[0].grad)
        if not math.isclose(g0, 1 + want[0], rel_tol=1e-6):
            if math.isclose(g0, want[0], rel_tol=1e-6) or math.isclose(g0, 1.0, rel_tol=1e-6):
                raise Wrong(f"for y = z_0 + cross_entropy(z, t) you got z_0.grad = {g0:.4g}, "
                            f"but it should be 1 + p_0 = {1 + want[0]:.4g}: your gradients are "
                            "overwritten instead of accumulated. Use `+=`, not `=`.")
            check_close(g0, 1 + want[0], "z_0.grad in z_0 + cross_entropy(z, t)", rtol=1e-6)
        # stability: large logits
        big = [1000.0, 1001.5, 998.0]
        try:
            _, out, data = self._run(fn, big, 0)
        except Wrong as exc:
            if "Overflow" in str(exc) or "range" in str(exc):
                raise Wrong("with the logits [1000, 1001.5, 998] your function overflowed: "
                            "exp(1000) is too large for a float. Subtract the largest logit "
                            "before exp (log Σ exp(z_j) = m + log Σ exp(z_j - m)).") from None
            raise
        loss_big, _ = _ce_expected(big, 0)
        if not math.isfinite(data):
            raise Wrong(f"with the logits [1000, 1001.5, 998] the loss is {data}: exp(1000) "
                        "overflows. Subtract the largest logit before exp (log Σ exp(z_j) = "
                        "m + log Σ exp(z_j - m)).")
        # rtol 1e-4: in float32, numbers near 1000 are 6e-5 apart (a float32 answer is right)
        check_close(data, loss_big, "the loss for the logits [1000, 1001.5, 998] and target 0",
                    rtol=1e-4)
        return ("one node, K children, the gradient p - onehot, stable for large logits. "
                "PyTorch's `F.cross_entropy` also starts from the logits, with a fused log-softmax.")

    def fresh_args(self, rng):
        V = getattr(self, "_V", None) or _value_class(None)
        k = int(rng.integers(2, 9))
        self._logits = [V(float(z)) for z in rng.normal(scale=3.0, size=k)]
        return self._logits, int(rng.integers(k))

    def fresh_compare(self, out, want):
        logits = self._logits
        _value_result(out, "cross_entropy")
        # a float32 computation is right: m + log Σ exp(z - m) - z_target cancels digits, so its
        # absolute error is a few float32 spacings (1.2e-7) of the largest logit
        scale = 1.0 + max(abs(v.data) for v in logits)
        check_close(float(out.data), float(want.data), "the loss", rtol=1e-6, atol=1e-6 * scale)
        for v in logits:
            v.grad = 0.0
        _backprop(want)
        g_want = self._grads(logits)
        for v in logits:
            v.grad = 0.0
        _backprop(out)
        check_close(self._grads(logits), g_want, "the gradients of the logits", rtol=1e-6, atol=1e-6)


q1, q2, q3, q4, q5 = JacobianByJvp(), Sigmoid(), TopologicalOrder(), PerExampleGrads(), CrossEntropyNode()
ALL = [q1, q2, q3, q4, q5]
