"""Day 09's exercises: typical wrong answers get the right explanation."""

from pathlib import Path

import numpy as np
import pytest

from exercise_helpers import defined, starter_code
from mlcourse.exercises import day09

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "09_unet_and_resnet.ipynb"


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the 0/0 answers divide by zero on purpose
def test_iou_mistakes():
    assert "Dice" in _msg(day09.q1, day09._dice)
    assert "one mask only" in _msg(day09.q1, lambda p, t: (p & t).sum() / t.sum())
    assert "twice" in _msg(day09.q1, lambda p, t: (p & t).sum() / (p.sum() + t.sum()))
    assert "pixel accuracy" in _msg(day09.q1, lambda p, t: np.mean(p == t))
    assert "0/0" in _msg(day09.q1, lambda p, t: (p & t).sum() / (p | t).sum())


def test_shortcut_mistakes():
    nn = pytest.importorskip("torch.nn")
    msg = _msg(day09.q3, lambda ci, co, s: nn.Identity())
    assert "shape mismatch" in msg and "(2, 32, 7, 7)" in msg and "(2, 16, 14, 14)" in msg
    assert "give the 1x1 convolution the block's stride" in _msg(day09.q3, lambda ci, co, s: nn.Conv2d(ci, co, 1))
    assert "kernel size 1" in _msg(day09.q3, lambda ci, co, s: nn.Identity() if ci == co and s == 1 else nn.Conv2d(ci, co, 3, stride=s))
    assert "nn.Identity()" in _msg(day09.q3, lambda ci, co, s: nn.Conv2d(ci, co, 1, stride=s))
    assert "failed on an input" in _msg(day09.q3, lambda ci, co, s: nn.Conv2d(co, co, 1, stride=s))
    assert "torch module" in _msg(day09.q3, lambda ci, co, s: "identity")


def test_mean_iou_mistakes():
    ref = day09.q2.reference()
    assert "pixel accuracy" in _msg(day09.q2, lambda p, t, c: np.mean(p == t))
    with_zero = lambda p, t, cs: np.mean([((p == c) & (t == c)).sum() / max(((p == c) | (t == c)).sum(), 1) for c in cs])  # noqa: E731
    assert "neither array" in _msg(day09.q2, with_zero)
    per_image = lambda p, t, cs: np.mean([ref(a, b, [c for c in cs if ((a == c) | (b == c)).any()]) for a, b in zip(p, t)])  # noqa: E731
    assert "per image" in _msg(day09.q2, per_image)




@pytest.mark.parametrize("q", day09.ALL, ids=lambda q: q.name)
def test_the_printed_solution_passes(q):
    res = q.evaluate(defined(q.solution_code, q.name))
    assert res.status == "correct", res.message


@pytest.mark.parametrize("q", day09.ALL, ids=lambda q: q.name)
def test_the_notebooks_starter_is_not_attempted(q):
    assert q.evaluate(defined(starter_code(NOTEBOOK.name, q.name), q.name)).status == "not_attempted"


def test_a_check_leaves_the_global_random_states_unchanged():
    """make_shortcut's modules draw their initial weights from torch's global RNG; the check puts it back."""
    import random

    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    before = torch.get_rng_state(), np.random.get_state(), random.getstate()
    answers = {day09.q3: [day09.q3.reference(), lambda ci, co, s: nn.Conv2d(ci, co, 1, stride=s)],
               day09.q5: [day09.q5.reference(), _block()]}
    for q, tries in answers.items():
        for answer in tries:
            q.evaluate(answer)
            assert torch.equal(torch.get_rng_state(), before[0]), f"{q.name}: torch's RNG state changed"
            now = np.random.get_state()
            assert np.array_equal(now[1], before[1][1]) and now[2] == before[1][2] and random.getstate() == before[2]
    torch.manual_seed(123)
    first = torch.rand(3)
    torch.manual_seed(123)
    day09.q3.evaluate(day09.q3.reference())
    assert torch.equal(torch.rand(3), first), "the next random numbers after a check are the same as without it"


def test_shortcut_hard_coded_channels_fail_on_fresh_inputs(monkeypatch):
    nn = pytest.importorskip("torch.nn")
    seeded = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda seed=None: seeded(0 if seed is None else seed))

    def hard_coded(ci, co, s):  # the output channels looked up from the check's four cases
        if ci == co and s == 1:
            return nn.Identity()
        out = {16: 32, 8: 24, 32: 32}.get(ci, ci)
        return nn.Sequential(nn.Conv2d(ci, out, 1, stride=s, bias=False), nn.BatchNorm2d(out))
    assert "new random inputs" in _msg(day09.q3, hard_coded)


def _block(bad=None):
    """A residual_block answer with one typical mistake (None: right)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def residual_block(x, p, stride):
        def bn(z, pre):
            c = (lambda v: v) if bad == "vectors" else (lambda v: v[None, :, None, None])
            mean, var = (z.mean((0, 2, 3)), z.var((0, 2, 3), unbiased=False)) if bad == "batch" else \
                (p[pre + ".running_mean"], p[pre + ".running_var"])
            std = c(var) + 1e-5 if bad == "no sqrt" else torch.sqrt(c(var) + 1e-5)
            return (z - c(mean)) / std * c(p[pre + ".weight"]) + c(p[pre + ".bias"])
        pad = 0 if bad == "no padding" else 1
        s1, s2 = (1, stride) if bad == "stride on conv2" else (stride, 1)
        h = bn(F.conv2d(x, p["conv1.weight"], stride=s1, padding=pad), "bn1")
        h = bn(F.conv2d(h if bad == "no inner relu" else F.relu(h), p["conv2.weight"], stride=s2, padding=pad), "bn2")
        s = x
        if "shortcut.0.weight" in p and bad != "identity":
            s = F.conv2d(x, p["shortcut.0.weight"], stride=1 if bad == "projection without stride" else stride)
            s = s if bad == "projection without bn" else bn(s, "shortcut.1")
        if bad == "relu before sum":
            return F.relu(h) + s
        if bad == "no final relu":
            return h + s
        if bad == "no shortcut":
            return F.relu(h)
        return F.relu(h + s)
    return residual_block


def test_residual_block_right_answers_pass():
    torch = pytest.importorskip("torch")
    assert day09.q5.evaluate(_block()).status == "correct"
    assert day09.q5.evaluate(lambda x, p, s: _block()(x.double(), {k: v.double() for k, v in p.items()}, s)).status == "correct"
    assert day09.q5.evaluate(lambda x, p, s: _block()(x, p, s).numpy()).status == "correct"
    assert isinstance(day09.q5.reference()(*day09._block_case(np.random.default_rng(0), 1, 2, 2, 4, 4, 1)), torch.Tensor)


@pytest.mark.parametrize("bad,expected", [
    ("batch", "batch's own mean and variance"),
    ("no sqrt", "not by the variance"),
    ("stride on conv2", "belongs to the FIRST 3x3 convolution"),
    ("no inner relu", "ReLU between the two convolutions"),
    ("relu before sum", "the ReLU goes AFTER the sum"),
    ("no final relu", "forgot the ReLU after the sum"),
    ("no shortcut", "forgot the shortcut"),
    ("projection without bn", "followed by its own batch norm"),
    ("identity", "the shortcut is not x itself"),
    ("projection without stride", "with the block's stride"),
    ("no padding", "padding=1"),
    ("vectors", "lined up with the LAST axis"),
])
def test_residual_block_mistakes(bad, expected):
    assert expected in _msg(day09.q5, _block(bad))


# --- review of the messages (beginners' answers) -------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_iou_refuses_an_empty_test_on_one_mask_only():
    iou = lambda p, t: 1.0 if p.sum() == 0 else (p & t).sum() / (p | t).sum()  # noqa: E731
    assert "must be 0.0" in _msg(day09.q1, iou)
    smooth = lambda p, t: ((p & t).sum() + 1e-9) / ((p | t).sum() + 1e-9)  # noqa: E731
    assert day09.q1.evaluate(smooth).status == "correct"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_iou_names_the_usual_slips():
    u = lambda p, t: (p | t).sum()  # noqa: E731
    assert "returned two numbers (" in _msg(day09.q1, lambda p, t: ((p & t).sum(), u(p, t)))
    assert "`//`" in _msg(day09.q1, lambda p, t: 1 if u(p, t) == 0 else (p & t).sum() // u(p, t))
    assert "between 0 and 1" in _msg(day09.q1, lambda p, t: 100.0 if u(p, t) == 0 else 100 * (p & t).sum() / u(p, t))
    assert "Jaccard distance" in _msg(day09.q1, lambda p, t: 0.0 if u(p, t) == 0 else 1 - (p & t).sum() / u(p, t))


def test_shortcut_must_be_the_identity_and_no_relu():
    nn = pytest.importorskip("torch.nn")
    proj = lambda ci, co, s: nn.Sequential(nn.Conv2d(ci, co, 1, stride=s, bias=False), nn.BatchNorm2d(co))  # noqa: E731
    for module in (nn.ReLU, nn.Dropout):
        assert "pass x through unchanged" in _msg(day09.q3, lambda ci, co, s, m=module: m() if ci == co and s == 1 else proj(ci, co, s))
    assert "end with a ReLU" in _msg(day09.q3, lambda ci, co, s: nn.Identity() if ci == co and s == 1 else nn.Sequential(proj(ci, co, s), nn.ReLU()))
    pool = lambda ci, co, s: nn.Identity() if ci == co and s == 1 else (nn.MaxPool2d(s) if ci == co else proj(ci, co, s))  # noqa: E731
    assert "ceil_mode=True" in _msg(day09.q3, pool)
    assert day09.q3.evaluate(lambda ci, co, s: nn.Identity() if ci == co and s == 1 else (nn.MaxPool2d(s, ceil_mode=True) if ci == co else proj(ci, co, s))).status == "correct"
    assert "returned None" in _msg(day09.q3, lambda ci, co, s: None if ci == co and s == 1 else proj(ci, co, s))
    assert "returned the class Identity" in _msg(day09.q3, lambda ci, co, s: nn.Identity)
    assert "nn.Linear acts on the last axis" in _msg(day09.q3, lambda ci, co, s: nn.Identity() if ci == co and s == 1 else nn.Linear(ci, co))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mean_iou_names_more_mistakes():
    ref = day09.q2.reference()
    iou = lambda p, t, c: ((p == c) & (t == c)).sum() / ((p == c) | (t == c)).sum()  # noqa: E731
    assert "np.nanmean" in _msg(day09.q2, lambda p, t, cs: np.mean([iou(p, t, c) for c in cs]))
    assert "argument `classes`" in _msg(day09.q2, lambda p, t, cs: ref(p, t, np.unique(t)))
    assert "predicted but never true" in _msg(day09.q2, lambda p, t, cs: np.mean([iou(p, t, c) for c in cs if (t == c).any()]))
    pooled = lambda p, t, cs: sum(((p == c) & (t == c)).sum() for c in cs) / sum(((p == c) | (t == c)).sum() for c in cs)  # noqa: E731
    assert "weights each class by its size" in _msg(day09.q2, pooled)
    assert "mean Dice" in _msg(day09.q2, lambda p, t, cs: np.mean([day09._dice(p == c, t == c) for c in cs if ((p == c) | (t == c)).any()]))


def test_residual_block_messages_after_review():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def block(order="ok", eps=1e-5, pad_shortcut=0):
        def rb(x, p, stride):
            def bn(z, pre):
                a = [p[pre + s] for s in (".running_mean", ".running_var", ".weight", ".bias")]
                if order == "swapped":
                    a = [a[2], a[3], a[0], a[1]]
                return F.batch_norm(z, *a, training=False, eps=eps)
            h = F.relu(bn(F.conv2d(x, p["conv1.weight"], stride=stride, padding=1), "bn1"))
            h = bn(F.conv2d(h, p["conv2.weight"], padding=1), "bn2")
            s = x
            if "shortcut.0.weight" in p:
                s = bn(F.conv2d(x, p["shortcut.0.weight"], stride=stride, padding=pad_shortcut), "shortcut.1")
            return F.relu(h + s)
        return rb
    assert day09.q5.evaluate(block()).status == "correct"
    msg = _msg(day09.q5, block(pad_shortcut=1))   # was called a per-channel vector on the width
    assert "LAST axis" not in msg and "no padding" in msg
    assert "order of F.batch_norm's arguments" in _msg(day09.q5, block(order="swapped"))
    assert "not 1e-3" in _msg(day09.q5, block(eps=1e-3))


# --- Exercise 4: the parameters of a bottleneck block --------------------------------------------

def _bottleneck(bad=None):
    """A bottleneck_params answer as a beginner writes it, with one typical mistake (None: right)."""
    def bottleneck_params(c_in, c_mid, stride=1, expansion=4):
        c_out = c_mid if bad == "no expansion" else 4 * c_mid if bad == "hard-coded 4" else expansion * c_mid
        k = {"3x3 as 3": 3, "3x3 as 1x1": 1}.get(bad, 9)
        per_bn = {"no bn": 0, "bn with running stats": 4, "bn gamma only": 1}.get(bad, 2)
        total = c_in * c_mid + k * c_mid * c_mid + c_mid * c_out + per_bn * (c_mid + c_mid + c_out)
        if bad == "conv bias":
            total += c_mid + c_mid + c_out
        needs = {"no projection": False, "always projection": True,
                 "projection ignores stride": c_in != c_out,
                 "projection compares c_mid": c_in != c_mid or stride != 1}.get(bad, c_in != c_out or stride != 1)
        if needs:
            total += c_in * c_out * (9 if bad == "3x3 projection" else 1)
            total += 0 if bad == "projection without bn" else per_bn * c_out
            total += c_out if bad == "conv bias" else 0
        return total
    return bottleneck_params


def test_bottleneck_params_right_answers_pass():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    assert day09.q4.evaluate(_bottleneck()).status == "correct"
    assert day09.q4.evaluate(lambda *a: float(_bottleneck()(*a))).status == "correct"     # 70400.0 is fine
    assert day09.q4.evaluate(lambda *a: np.int64(_bottleneck()(*a))).status == "correct"
    assert day09.q4.evaluate(lambda *a: torch.tensor(_bottleneck()(*a))).status == "correct"

    def built(c_in, c_mid, stride=1, expansion=4):      # counting a real block's parameters is right too
        c_out = expansion * c_mid
        layers = [nn.Conv2d(c_in, c_mid, 1, bias=False), nn.BatchNorm2d(c_mid), nn.Conv2d(c_mid, c_mid, 3, bias=False),
                  nn.BatchNorm2d(c_mid), nn.Conv2d(c_mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        if c_in != c_out or stride != 1:
            layers += [nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        return sum(p.numel() for p in nn.Sequential(*layers).parameters())
    assert day09.q4.evaluate(built).status == "correct"
    assert day09.q4.reference()(256, 64) == 70_400 and day09.q4.reference()(64, 64) == 75_008


@pytest.mark.parametrize("bad,expected", [
    ("no bn", "you left out the batch norms"),
    ("bn with running stats", "running mean and variance are statistics"),
    ("bn gamma only", "a batch norm learns two"),
    ("conv bias", "whose shift beta makes a bias useless"),
    ("3x3 as 3", "3 x 3 = 9 weights per pair of channels, not 3"),
    ("3x3 as 1x1", "not 1 as the 1x1 ones"),
    ("no projection", "you forgot the projection shortcut"),
    ("projection ignores stride", "test `stride != 1` as well"),
    ("projection compares c_mid", "not from c_mid"),
    ("always projection", "the identity, which costs nothing"),
    ("projection without bn", "AND a batch norm"),
    ("3x3 projection", "not a 3x3 one"),
    ("no expansion", "must EXPAND the channels"),
    ("hard-coded 4", "use the argument `expansion`"),
])
def test_bottleneck_params_mistakes(bad, expected):
    msg = _msg(day09.q4, _bottleneck(bad))
    assert expected in msg, msg


def test_bottleneck_params_odd_answers():
    assert "not a whole number" in _msg(day09.q4, lambda *a: _bottleneck()(*a) / 3)
    assert "one whole number" in _msg(day09.q4, lambda *a: (1, 2))
    assert "nor go back to c_in" in _msg(day09.q4, lambda c_in, c_mid, s=1, e=4: c_in * c_mid + 9 * c_mid ** 2
                                               + c_mid * c_in + 2 * (2 * c_mid + c_in))
    assert "print each part" in _msg(day09.q4, lambda *a: _bottleneck()(*a) + 1)


def _bottleneck_by_hand(c_in, c_mid, stride, expansion, needs_projection, bn_channels=None):
    c_out = expansion * c_mid
    bn = 2 * (c_mid if bn_channels is None else bn_channels) + 2 * c_mid + 2 * c_out
    total = c_in * c_mid + 9 * c_mid * c_mid + c_mid * c_out + bn
    return total + (c_in * c_out + 2 * c_out if needs_projection else 0)


def test_bottleneck_params_shortcut_test_and_coincidences():
    # the shortcut test with 4 * c_mid instead of expansion * c_mid is caught on a fixed case (not only by chance)
    four = lambda c_in, c_mid, s=1, e=4: _bottleneck_by_hand(c_in, c_mid, s, e, c_in != 4 * c_mid or s != 1)
    assert "compare c_in with `expansion * c_mid`" in _msg(day09.q4, four)
    both = lambda c_in, c_mid, s=1, e=4: _bottleneck_by_hand(c_in, c_mid, s, e, c_in != e * c_mid and s != 1)
    assert "use `or`, not `and`" in _msg(day09.q4, both)
    # the first batch norm over c_in adds 2 * (256 - 64) = 384 on Bottleneck(256, 64), exactly what conv biases
    # add there: a mistake is named only when it explains every case, so no bias is blamed
    bn_in = lambda c_in, c_mid, s=1, e=4: _bottleneck_by_hand(c_in, c_mid, s, e, c_in != e * c_mid or s != 1, c_in)
    msg = _msg(day09.q4, bn_in)
    assert "bias" not in msg and "print each part" in msg, msg


def test_bottleneck_params_memorised_counts_fail_on_fresh_inputs():
    counts = {case: day09._bottleneck_count(*case) for case in day09.q4._CASES}
    assert "new random inputs" in _msg(day09.q4, lambda *a: counts.get(tuple(a), 70_400))
