"""The scalar autograd engine of Day 06 (mlcourse.autograd) against PyTorch.

Random expressions reuse earlier nodes on purpose: a node used twice must receive the sum
of the gradients of both uses, which is exactly where a naive engine (``=`` instead of
``+=``, or a backward pass that visits a shared node twice) goes wrong.
"""

from __future__ import annotations

import math
import random

import pytest

from mlcourse.autograd import MLP, Layer, Neuron, Value, draw_graph, graph_layers

torch = pytest.importorskip("torch")

# (name, arity, function): each function works on a Value *and* on a torch scalar tensor.
OPS = [
    ("add", 2, lambda a, b: a + b),
    ("sub", 2, lambda a, b: a - b),
    ("mul", 2, lambda a, b: a * b),
    ("div", 2, lambda a, b: a / b),
    ("square", 1, lambda a: a ** 2),
    ("cube", 1, lambda a: a ** 3),
    ("inv", 1, lambda a: a ** -1),
    ("sqrt", 1, lambda a: a ** 0.5),
    ("neg", 1, lambda a: -a),
    ("radd", 1, lambda a: 1.5 + a),
    ("rsub", 1, lambda a: 2.0 - a),
    ("rmul", 1, lambda a: -0.7 * a),
    ("rdiv", 1, lambda a: 3.0 / a),
    ("rpow", 1, lambda a: 2.0 ** a),
    ("exp", 1, lambda a: a.exp()),
    ("log", 1, lambda a: a.log()),
    ("tanh", 1, lambda a: a.tanh()),
    ("relu", 1, lambda a: a.relu()),
    ("sigmoid", 1, lambda a: a.sigmoid()),
]


def _allowed(name, args):
    """Keep the numbers tame: no division by ~0, no log/sqrt of negatives, no overflow."""
    x = [a.data for a in args]
    if name in ("div",) and abs(x[1]) < 0.2:
        return False
    if name in ("inv", "rdiv") and abs(x[0]) < 0.2:
        return False
    if name in ("log", "sqrt") and x[0] < 0.2:
        return False
    if name in ("exp", "rpow") and abs(x[0]) > 4:
        return False
    if name == "relu" and abs(x[0]) < 1e-6:  # the kink: both engines say 0, but stay clear
        return False
    return True


def random_expression(seed: int, n_leaves: int = 4, n_ops: int = 25):
    """Build the same random expression with Values and with float64 torch tensors."""
    rng = random.Random(seed)
    data = [rng.uniform(-2, 2) for _ in range(n_leaves)]
    leaves = [Value(d, label=f"x{i}") for i, d in enumerate(data)]
    tleaves = [torch.tensor(d, dtype=torch.float64, requires_grad=True) for d in data]
    pool, tpool = list(leaves), list(tleaves)
    used = 0
    tries = 0
    while used < n_ops and tries < 50 * n_ops:
        tries += 1
        name, arity, fn = rng.choice(OPS)
        # prefer recent nodes, but any earlier node may be reused
        idx = [rng.randrange(len(pool)) if rng.random() < 0.4 else
               max(0, len(pool) - 1 - rng.randrange(3)) for _ in range(arity)]
        args = [pool[i] for i in idx]
        if not _allowed(name, args):
            continue
        out = fn(*args)
        if not math.isfinite(out.data) or abs(out.data) > 1e4:
            continue
        pool.append(out)
        tpool.append(fn(*[tpool[i] for i in idx]))
        used += 1
    # the output sums a few nodes, so earlier nodes are reused once more
    root, troot = pool[-1] + pool[-2] * pool[len(pool) // 2], tpool[-1] + tpool[-2] * tpool[len(pool) // 2]
    return leaves, root, tleaves, troot


@pytest.mark.parametrize("seed", range(200))
def test_random_expressions_match_pytorch(seed):
    leaves, root, tleaves, troot = random_expression(seed)
    root.backward()
    troot.backward()
    assert root.data == pytest.approx(troot.item(), rel=1e-9, abs=1e-12)
    for v, t in zip(leaves, tleaves):
        want = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(want, rel=1e-7, abs=1e-9), (seed, v.label)


def test_random_expressions_really_reuse_nodes():
    """The generator must produce graphs where some node feeds two or more others."""
    reused = 0
    for seed in range(50):
        _, root, _, _ = random_expression(seed)
        uses: dict[int, int] = {}
        for node in root.topological_order():
            for child in node._prev:
                uses[id(child)] = uses.get(id(child), 0) + 1
        reused += any(n >= 2 for n in uses.values())
    assert reused >= 45


def test_reused_node_accumulates():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0  # an engine that overwrites would say 1.0
    x = Value(-4.0)
    y = x * x + x          # 2x + 1 = -7
    y.backward()
    assert x.grad == -7.0


def test_shared_subexpression_matches_pytorch():
    """Karpathy's micrograd sanity check: several paths through the same nodes."""
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tc = ta + tb
    td = ta * tb + tb ** 3
    tc = tc + tc + 1
    tc = tc + 1 + tc + (-ta)
    td = td + td * 2 + (tb + ta).relu()
    td = td + 3 * td + (tb - ta).relu()
    tg = (tc - td) ** 2 / 2.0
    tg = tg + 10.0 / ((tc - td) ** 2)
    tg.backward()
    assert g.data == pytest.approx(tg.item(), rel=1e-12)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)


def test_backward_twice_accumulates_and_zero_grad_resets():
    x = Value(2.0)
    y = x * x * x      # 3x^2 = 12
    y.backward()
    y.backward()       # like torch: gradients add up across backward calls
    assert x.grad == 24.0
    y.zero_grad()
    assert x.grad == 0.0 and y.grad == 0.0
    y.backward()
    assert x.grad == 12.0


def test_topological_order_visits_each_node_once_inputs_first():
    x = Value(1.0)
    h = x * 2
    y = h + h * h + x
    order = y.topological_order()
    assert len(order) == len({id(n) for n in order})
    pos = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for child in node._prev:
            assert pos[id(child)] < pos[id(node)]
    assert order[-1] is y


def test_deep_graph_has_no_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_reflected_operators_and_functions():
    x = Value(0.5)
    for expr, value, grad in [
        (lambda v: 2 + v, 2.5, 1.0), (lambda v: 2 - v, 1.5, -1.0), (lambda v: 2 * v, 1.0, 2.0),
        (lambda v: 2 / v, 4.0, -8.0), (lambda v: 4 ** v, 2.0, 2.0 * math.log(4)),
        (lambda v: v.exp(), math.exp(0.5), math.exp(0.5)),
        (lambda v: v.tanh(), math.tanh(0.5), 1 - math.tanh(0.5) ** 2),
        (lambda v: (-v).relu(), 0.0, 0.0), (lambda v: v.relu(), 0.5, 1.0),
        (lambda v: v.log(), math.log(0.5), 2.0),
    ]:
        x.grad = 0.0
        out = expr(x)
        out.backward()
        assert out.data == pytest.approx(value) and x.grad == pytest.approx(grad)


def test_errors_are_explained():
    with pytest.raises(TypeError, match="exponent must be a number"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="combined with a Value or a number"):
        Value(1.0) + "a"
    with pytest.raises(ValueError, match="log"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="inputs"):
        Neuron(3)([1.0, 2.0])
    with pytest.raises(ValueError, match="activation"):
        Neuron(2, act="swish")


def test_mlp_matches_pytorch_and_learns():
    model = MLP(3, [4, 4, 1], seed=1)
    assert len(model.parameters()) == (3 * 4 + 4) + (4 * 4 + 4) + (4 + 1)
    assert "MLP(3 -> 4 -> 4 -> 1" in repr(model)
    xs = [[1.0, -0.5, 0.3], [-1.2, 0.4, 0.9], [0.2, 0.1, -1.0], [0.7, 0.7, 0.7]]
    ys = [1.0, -1.0, -1.0, 1.0]
    # same weights in PyTorch
    Ws, bs = [], []
    for layer in model.layers:
        Ws.append(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True))
        bs.append(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True))
    X = torch.tensor(xs, dtype=torch.float64)
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W.T + b
        if i < len(Ws) - 1:
            h = h.relu()
    tloss = ((h[:, 0] - torch.tensor(ys, dtype=torch.float64)) ** 2).mean()
    tloss.backward()
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
    model.zero_grad()
    loss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=1e-10)
    assert model.layers[0].neurons[1].w[2].grad == pytest.approx(Ws[0].grad[1, 2].item(), rel=1e-9, abs=1e-12)
    assert model.layers[2].neurons[0].b.grad == pytest.approx(bs[2].grad[0].item(), rel=1e-9)
    # and it learns
    first = loss.data
    for _ in range(200):
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    assert loss.data < 0.2 * first


def test_layers_and_seeds():
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)
    assert len(Layer(2, 3)([1.0, 2.0])) == 3
    a, b = MLP(2, [3, 1], seed=5), MLP(2, [3, 1], seed=5)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]


def test_draw_graph(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    n = x * w + b
    y = (n * n).tanh()
    y.backward()
    cols = graph_layers(y)
    assert cols[0] and y in cols[-1] and sum(len(c) for c in cols) == 7
    ax = draw_graph(y, title="test")
    assert ax.get_title() == "test"
    ax.figure.savefig(tmp_path / "g.png")
    with pytest.raises(ValueError, match="at most"):
        big = x
        for _ in range(40):
            big = big * 1.0 + 1.0
        draw_graph(big)
