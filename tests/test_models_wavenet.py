"""Day 11's WaveNet: shapes, causality, its receptive field, fast generation = the full pass."""

import pytest

torch = pytest.importorskip("torch")

from mlcourse.models.wavenet import WaveNet  # noqa: E402


def _net(**kw):
    torch.manual_seed(0)
    return WaveNet(**kw).eval()


def test_shapes_parameters_and_receptive_field():
    net = _net()
    assert 85_000 < sum(p.numel() for p in net.parameters()) < 95_000
    assert net.receptive_field == 256 and net.start == 128
    codes, y = torch.randint(0, 256, (3, 50)), torch.tensor([0, 2, 4])
    assert net(codes, y).shape == (3, 50, 256)
    assert _net(levels=16, dilations=(1, 2), num_classes=2).receptive_field == 4


def test_causal_and_no_further_than_the_receptive_field():
    net = _net(dilations=(1, 2, 4, 8))                    # receptive field 16
    codes, y = torch.randint(0, 256, (1, 60)), torch.tensor([1])
    changed = codes.clone()
    changed[0, 30] = (codes[0, 30] + 77) % 256
    with torch.no_grad():
        diff = (net(changed, y) - net(codes, y)).abs().amax(-1)[0]
    assert diff[:30].max() == 0                            # the past does not see the future
    assert (diff[30:30 + 16] > 0).all()                    # the next 16 positions do see it...
    assert diff[30 + 16:].max() == 0                       # ...and nothing later


def test_the_label_changes_the_prediction():
    net = _net()
    torch.nn.init.normal_(net.label.weight)
    codes = torch.randint(0, 256, (2, 20))
    with torch.no_grad():
        a, b = net(codes, torch.tensor([0, 0])), net(codes, torch.tensor([3, 3]))
    assert (a - b).abs().max() > 1e-3


@pytest.mark.parametrize("dilations", [(1, 2, 4, 8, 16), (1, 2, 4, 1, 2)])
def test_step_by_step_equals_the_full_pass(dilations):
    net = _net(dilations=dilations)                        # (1, 2, 4, 1, 2): a buffer per layer, not per dilation
    for p in net.parameters():                             # make every layer matter
        torch.nn.init.normal_(p, std=0.3)
    codes, y = torch.randint(0, 256, (4, 70)), torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        full = net(codes, y)
        state = net.start_state(y)
        assert all(b.abs().max() == 0 for b in state["buffers"])        # nothing before the start
        stepped = torch.stack([net.step(state, codes[:, t]) for t in range(codes.shape[1])], 1)
    torch.testing.assert_close(stepped, full, rtol=1e-4, atol=1e-4)


def test_generate_is_seeded_shaped_and_follows_the_model():
    net = _net(levels=16, dilations=(1, 2), num_classes=2)
    with torch.no_grad():
        net.head[-1].bias.fill_(-30.0)
        net.head[-1].bias[5] = 30.0                          # the model says "always code 5"
    y = torch.tensor([0, 1, 1])
    out = net.generate(y, 12, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 12) and out.dtype == torch.long and (out == 5).all()
    net.head[-1].bias.data.zero_()
    a = net.generate(y, 30, generator=torch.Generator().manual_seed(1))
    b = net.generate(y, 30, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() < 16 and len(a.unique()) > 3


def test_greedy_generation_follows_the_full_pass_and_the_label():
    net = _net(levels=32, dilations=(1, 2, 4), num_classes=3)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.5)
    y = torch.tensor([0, 1, 2, 2])
    g = net.generate(y, 40, temperature=1e-4, generator=torch.Generator().manual_seed(0))   # ~ argmax
    inp = torch.cat([torch.full((4, 1), net.start), g[:, :-1]], 1)      # what each step was given
    with torch.no_grad():
        greedy = net(inp, y).argmax(-1)
    assert torch.equal(g, greedy)                            # fed back, label used, temperature applied
    assert not torch.equal(g[0], g[2])                       # a different label, a different sound


def test_bad_input_is_explained():
    net = _net(num_classes=3)
    with pytest.raises(ValueError, match=r"\(B, T\) int64"):
        net(torch.rand(2, 10), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="one label per sequence"):
        net(torch.randint(0, 256, (2, 10)), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        net(torch.randint(0, 256, (1, 10)), torch.tensor([3]))
    with pytest.raises(ValueError, match=r"\(B,\) int64"):
        net(torch.randint(0, 256, (1, 10)), torch.tensor(2))       # a 0-d label
    with pytest.raises(ValueError, match=r"\(B,\) int64, got list"):
        net(torch.randint(0, 256, (1, 10)), [0])                   # a list, not a tensor
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 256\)"):
        net(torch.full((1, 10), 256), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"\(B,\) int64"):
        net.step(net.start_state(torch.tensor([0])), torch.tensor([[1]]))
    with pytest.raises(ValueError, match="temperature > 0"):
        net.generate(torch.tensor([0]), 5, temperature=0)
    with pytest.raises(ValueError, match="whole-number dilations"):
        WaveNet(dilations=(1, 0))
    with pytest.raises(ValueError, match="whole-number dilations"):
        WaveNet(dilations=(1, 1.5))
