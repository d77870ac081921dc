"""mlcourse.models.muon: Newton-Schulz orthogonalisation, and one optimizer that is Muon on the
weight matrices and AdamW on the rest, checked against PyTorch's own Muon and AdamW."""

import copy

import pytest

torch = pytest.importorskip("torch")
from mlcourse.models.muon import Muon, orthogonalize  # noqa: E402


@pytest.mark.parametrize("shape", [(16, 48), (48, 16), (32, 32)])
def test_orthogonalize_keeps_the_singular_vectors_and_moves_the_values_near_1(shape):
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(shape[0], shape[0], generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(shape[1], shape[1], generator=g, dtype=torch.float64))
    k = min(shape)
    s = torch.logspace(0, -2, k, dtype=torch.float64)           # singular values over two decades
    x = u[:, :k] @ torch.diag(s) @ v[:, :k].T
    o = orthogonalize(x)
    assert o.shape == x.shape and o.dtype == x.dtype
    inner = u[:, :k].T @ o @ v[:, :k]                          # o in x's singular bases: diagonal
    off = inner - torch.diag(torch.diagonal(inner))
    assert off.abs().max() < 1e-10
    d = torch.diagonal(inner)
    assert d.min() > 0.5 and d.max() < 1.5, d                    # 0.01 ... 1 became about 1
    assert orthogonalize(x.float()).dtype == torch.float32


def test_orthogonalize_refuses_a_vector():
    with pytest.raises(ValueError, match=r"matrix \(2-D\).*\(5,\)"):
        orthogonalize(torch.ones(5))


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 24), torch.nn.GELU(), torch.nn.Linear(24, 4))


def _train(model, opt, steps=5):
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(32, 8, generator=g)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_muon_groups_follow_the_written_out_update():
    """Two steps in float64, against the update spelled out: momentum, Nesterov, scale, weight decay."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(6, 3, dtype=torch.float64))
    grads = [torch.randn(6, 3, dtype=torch.float64) for _ in range(2)]
    opt = Muon([{"params": [w], "muon": True}], lr=0.1, momentum=0.9, weight_decay=0.5)
    want, buf = w.detach().clone(), torch.zeros(6, 3, dtype=torch.float64)
    for g in grads:
        w.grad = g.clone()
        opt.step()
        buf = 0.9 * buf + 0.1 * g                                 # running mean of the gradients
        update = orthogonalize(0.1 * g + 0.9 * buf)               # Nesterov: one step ahead
        want = want * (1 - 0.1 * 0.5) - 0.1 * (6 / 3) ** 0.5 * update
    torch.testing.assert_close(w.detach(), want, rtol=1e-12, atol=1e-12)


def test_adamw_groups_match_torch_adamw():
    ours, ref = _model(), _model()
    mats = [p for p in ours.parameters() if p.ndim == 2][:1]          # a Muon group is required; give it no gradient
    mats[0].requires_grad_(False)
    rest = [p for p in ours.parameters() if p.requires_grad]
    _train(ours, Muon([{"params": mats, "muon": True}, {"params": rest}], lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1))
    ref.get_parameter("0.weight").requires_grad_(False)
    _train(ref, torch.optim.AdamW(ref.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1))
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs PyTorch >= 2.9")
def test_muon_groups_match_torch_muon():
    ours, ref = _model(), _model()
    start = copy.deepcopy(ours)
    mats = [p for p in ours.parameters() if p.ndim == 2]
    _train(ours, Muon([{"params": mats, "muon": True}], lr=0.02, weight_decay=0.01))
    ref_mats = [p for p in ref.parameters() if p.ndim == 2]
    _train(ref, torch.optim.Muon(ref_mats, lr=0.02, weight_decay=0.01, adjust_lr_fn="original"))
    for a, b, s in zip(mats, ref_mats, [p for p in start.parameters() if p.ndim == 2]):
        moved = (b - s).abs().max()
        assert moved > 0.01                                       # both trained: 5 steps of lr 0.02
        # PyTorch orthogonalises in bfloat16 (3 significant digits), ours in float32
        assert (a - b).abs().max() < 0.02 * moved
    # the biases were in no group: untouched
    for a, s in zip([p for p in ours.parameters() if p.ndim == 1], [p for p in start.parameters() if p.ndim == 1]):
        assert torch.equal(a, s)


def test_a_muon_group_refuses_vectors_and_an_optimizer_needs_one():
    with pytest.raises(ValueError, match=r"group 0 \(muon=True\).*\(24,\).*muon=False"):
        Muon([{"params": list(_model().parameters()), "muon": True}])
    m = _model()
    opt = Muon([{"params": [m[0].weight], "muon": True}])
    with pytest.raises(ValueError, match=r"group 1 \(muon=True\).*\(24,\)"):
        opt.add_param_group({"params": [m[0].bias], "muon": True})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="no parameter group has muon=True"):
        Muon(m.parameters(), lr=0.02)


def test_state_dict_round_trip_resumes_identically():
    def make(model):
        mats = [p for p in model.parameters() if p.ndim == 2]
        vecs = [p for p in model.parameters() if p.ndim != 2]
        return Muon([{"params": mats, "muon": True, "lr": 0.02}, {"params": vecs, "lr": 1e-3}])

    a = _model()
    opt_a = make(a)
    _train(a, opt_a, 3)
    b = copy.deepcopy(a)
    opt_b = make(b)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    _train(a, opt_a, 2)
    _train(b, opt_b, 2)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
