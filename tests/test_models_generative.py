"""Day 11's generative models: shapes, parameter counts, the VAE's loss, the diffusion schedule."""

import math

import pytest

torch = pytest.importorskip("torch")

from mlcourse.models import diffusion, gan, vae  # noqa: E402
from mlcourse.models.unet import UNet  # noqa: E402


def _count(m):
    return sum(p.numel() for p in m.parameters())


def test_vae_shapes_and_loss():
    torch.manual_seed(0)
    m = vae.VAE(latent_dim=2, hidden=256)
    assert 0.5e6 < _count(m) < 0.56e6
    x = torch.rand(5, 1, 28, 28)
    logits, mu, logvar = m(x)
    assert logits.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 2)
    total, recon, kl = vae.vae_loss(logits, x, mu, logvar)
    assert torch.isclose(total, recon + kl) and kl >= 0 and recon > 0
    assert m.sample(3).shape == (3, 1, 28, 28)
    ae = vae.AutoEncoder(latent_dim=2)
    assert ae(x).shape == (5, 1, 28, 28) and ae.encode(x).shape == (5, 2)


def test_kl_is_zero_for_the_prior_and_reparameterisation_statistics():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    assert torch.allclose(vae.kl_divergence(mu, logvar), torch.zeros(4))
    torch.manual_seed(0)
    z = vae.reparameterize(torch.full((20000, 1), 2.0), torch.full((20000, 1), math.log(0.25)))
    assert abs(z.mean().item() - 2.0) < 0.02 and abs(z.std().item() - 0.5) < 0.02


def test_gan_shapes():
    g, d = gan.Generator(z_dim=64, base=32), gan.Discriminator(base=32)
    img = g(torch.randn(4, 64))
    assert img.shape == (4, 1, 28, 28) and img.abs().max() <= 1
    assert d(img).shape == (4,)
    assert gan.PatchDiscriminator(2)(torch.randn(3, 2, 28, 28)).shape == (3, 1, 7, 7)
    assert 0.5e6 < _count(g) < 0.6e6          # about 0.57M


def test_schedule_alpha_bar_and_q_sample():
    s = diffusion.Schedule(100, "linear")
    assert s.betas.shape == s.alpha_bars.shape == (100,)
    assert torch.allclose(s.alpha_bars, torch.cumprod(1 - s.betas, 0))
    assert s.alpha_bars[0] > 0.99 and s.alpha_bars[-1] < 1e-3       # ends in (almost) pure noise
    c = diffusion.Schedule(100, "cosine")
    assert (c.alpha_bars.diff() < 0).all() and c.alpha_bars[-1] < 1e-3
    x0 = torch.ones(2, 1, 4, 4)
    t = torch.tensor([0, 99])
    noise = torch.randn_like(x0)
    xt = s.q_sample(x0, t, noise)
    ab = s.alpha_bars[t].reshape(-1, 1, 1, 1)
    assert torch.allclose(xt, ab.sqrt() * x0 + (1 - ab).sqrt() * noise)
    with pytest.raises(ValueError):
        diffusion.Schedule(10, "quadratic")


def test_sampling_shapes_and_snapshots():
    torch.manual_seed(0)
    s = diffusion.Schedule(8, "cosine")
    toy = diffusion.ToyDenoiser()
    assert toy(torch.randn(5, 2), torch.randint(0, 8, (5,))).shape == (5, 2)
    x, snaps = s.sample(toy, (6, 2), keep=3)
    assert x.shape == (6, 2) and len(snaps) == 3 and torch.isfinite(x).all()
    assert torch.equal(snaps[-1], x)
    unet = UNet(1, 1, base=8, depth=2, time_dim=16)
    loss = s.loss(unet, torch.rand(3, 1, 28, 28))
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    img, _ = s.sample(unet, (2, 1, 28, 28), clip=1.0)
    assert img.shape == (2, 1, 28, 28) and img.abs().max() <= 1


def test_conditional_unet_and_guidance():
    torch.manual_seed(0)
    m = diffusion.ConditionalUNet(1, 1, base=8, depth=2, time_dim=16, num_classes=10)
    x, t, y = torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,)), torch.tensor([0, 3, 9, 10])
    out = m(x, t, y)
    assert out.shape == x.shape
    assert torch.allclose(m(x, t), m(x, t, torch.full((4,), 10)))           # None = "no label"
    assert not torch.allclose(m(x, t, torch.zeros(4, dtype=torch.long)), m(x, t, torch.ones(4, dtype=torch.long)))
    s = diffusion.Schedule(10, "linear")
    loss = s.loss(m, torch.rand(4, 1, 28, 28), y)
    loss.backward()
    assert torch.isfinite(loss)
    g = diffusion.Guided(m, y[:3], w=2.0)
    with torch.no_grad():
        e_c, e_u = m(x[:3], t[:3], y[:3]), m(x[:3], t[:3])
        assert torch.allclose(g(x[:3], t[:3]), 3 * e_c - 2 * e_u, atol=1e-5)
        assert torch.allclose(diffusion.Guided(m, y[:3], w=0)(x[:3], t[:3]), e_c)
    img, _ = s.sample(g, (3, 1, 28, 28), clip=1.0)
    assert img.shape == (3, 1, 28, 28)


class _Oracle(torch.nn.Module):
    """Predicts the exact noise that turns the one known image ``x0`` into ``x_t``."""

    def __init__(self, schedule, x0):
        super().__init__()
        self.s, self.x0 = schedule, x0

    def forward(self, x, t):
        ab = self.s.alpha_bars[t].reshape(-1, *([1] * (x.dim() - 1)))
        return (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()


@pytest.mark.parametrize("clip", [None, 1.0])
def test_a_perfect_noise_predictor_walks_back_to_the_data(clip):
    torch.manual_seed(0)
    s = diffusion.Schedule(50, "linear")
    x0 = torch.rand(2, 1, 6, 6) * 2 - 1
    x, _ = s.sample(_Oracle(s, x0), tuple(x0.shape), clip=clip)
    assert torch.allclose(x, x0, atol=1e-4)


def test_clipped_step_is_the_posterior_of_the_clamped_clean_image():
    s = diffusion.Schedule(20, "linear")
    torch.manual_seed(0)
    x0 = torch.full((1, 1, 4, 4), 3.0)                       # out of range: the step must see it clamped to 1
    t = 10
    xt = s.q_sample(x0, torch.tensor([t]))
    ab, ab_prev, beta = s.alpha_bars[t], s.alpha_bars[t - 1], s.betas[t]
    torch.manual_seed(1)
    step = s.p_step(_Oracle(s, x0), xt, t, clip=1.0)
    torch.manual_seed(1)
    noise = torch.randn_like(xt)
    mean = (ab_prev.sqrt() * beta * 1.0 + s.alphas[t].sqrt() * (1 - ab_prev) * xt) / (1 - ab)
    assert torch.allclose(step, mean + (beta * (1 - ab_prev) / (1 - ab)).sqrt() * noise, atol=1e-5)


def test_patched_conditional_unet():
    torch.manual_seed(0)
    m = diffusion.ConditionalUNet(1, 1, base=8, depth=2, time_dim=16, num_classes=10, patch=2)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 5, 9])
    assert m(x, t, torch.tensor([1, 2, 3])).shape == (3, 1, 28, 28)
    assert m.down[0].conv1.in_channels == 4                  # 2x2 pixels folded into 4 channels
    assert not torch.allclose(m(x, t, torch.zeros(3, dtype=torch.long)), m(x, t, torch.ones(3, dtype=torch.long)))
    with pytest.raises(ValueError, match="not divisible by patch=2"):
        m(torch.randn(1, 1, 27, 27), torch.tensor([0]))


# --- DDIM ----------------------------------------------------------------------------------

class _Linear(torch.nn.Module):
    """A made-up noise predictor, eps = 0.3 x + 0.01 t, for checking formulas."""

    def forward(self, x, t):
        return 0.3 * x + 0.01 * t.float().reshape(-1, *([1] * (x.dim() - 1)))


class _GaussianOracle(torch.nn.Module):
    """The exact noise predictor for data ~ N(0, std^2 I): E[eps | x_t] = sqrt(1 - ab) x_t / (ab std^2 + 1 - ab)."""

    def __init__(self, s, std):
        super().__init__()
        self.s, self.std = s, std

    def forward(self, x, t):
        ab = self.s.alpha_bars.double()[t].reshape(-1, *([1] * (x.dim() - 1)))
        return ((1 - ab).sqrt() * x / (ab * self.std ** 2 + 1 - ab)).to(x.dtype)


@pytest.mark.parametrize("eta", [0.0, 0.7])
def test_a_ddim_step_is_its_closed_form(eta):
    s = diffusion.Schedule(100, "linear")
    x, z = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    t, t_prev = 80, 55
    ab, ab_prev = s.alpha_bars[t].double(), s.alpha_bars[t_prev].double()
    eps = 0.3 * x + 0.01 * t
    x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
    sigma = eta * ((1 - ab_prev) / (1 - ab)).sqrt() * (1 - ab / ab_prev).sqrt()
    want = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma ** 2).sqrt() * eps + sigma * z
    torch.testing.assert_close(s.ddim_step(_Linear(), x, t, t_prev, eta, noise=z), want, rtol=1e-6, atol=1e-6)
    # the last step (t_prev = -1) returns the predicted clean data
    x0_at_5 = (x - (1 - s.alpha_bars[5].double()).sqrt() * (0.3 * x + 0.05)) / s.alpha_bars[5].double().sqrt()
    torch.testing.assert_close(s.ddim_step(_Linear(), x, 5, -1, eta, noise=z), x0_at_5, rtol=1e-6, atol=1e-6)


def test_ddim_with_eta_1_and_every_step_is_the_ddpm_posterior_step():
    s = diffusion.Schedule(20, "linear")
    x0 = torch.rand(2, 1, 4, 4) * 2 - 1
    t = 10
    xt = s.q_sample(x0, torch.tensor([t, t]))
    torch.manual_seed(3)
    ddpm = s.p_step(_Oracle(s, x0), xt, t, clip=100.0)          # exact posterior (the clamp does nothing)
    torch.manual_seed(3)
    ddim = s.ddim_step(_Oracle(s, x0), xt, t, t - 1, eta=1.0)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("steps", [1, 10, 50])
def test_deterministic_ddim_with_a_perfect_predictor_ends_on_the_data(steps):
    # (the oracle knows the data, so this checks the path's end, not its middle: see the Gaussian tests)
    s = diffusion.Schedule(50, "linear")
    x0 = torch.rand(2, 1, 6, 6) * 2 - 1
    x = s.ddim_sample(_Oracle(s, x0), tuple(x0.shape), steps)
    torch.testing.assert_close(x, x0, rtol=1e-4, atol=1e-4)


def test_deterministic_ddim_inverts():
    s = diffusion.Schedule(1000, "linear")
    oracle = _GaussianOracle(s, std=0.5)
    torch.manual_seed(0)
    x0 = 0.5 * torch.randn(4, 16, dtype=torch.float64)
    errors = {}
    for steps in (100, 1000):
        x_T = s.ddim_invert(oracle, x0, steps=steps)
        back = s.ddim_sample(oracle, tuple(x0.shape), steps, x_T=x_T)
        errors[steps] = float((back - x0).abs().max() / x0.abs().max())
    # each step of the way forwards uses the noise predicted where it starts: a first-order error
    assert errors[1000] < 0.01 and errors[1000] < errors[100] / 5, errors
    # x_T is the noise that generates x0: about unit variance (data of std 0.5 -> noise of std 1)
    assert 0.8 < float(x_T.std()) < 1.2
    # with eta = 0 sampling is a function of x_T: twice the same
    torch.testing.assert_close(s.ddim_sample(oracle, tuple(x0.shape), 20, x_T=x_T),
                               s.ddim_sample(oracle, tuple(x0.shape), 20, x_T=x_T))


def test_a_clipped_ddim_step_uses_the_clamped_clean_image_and_its_noise():
    s = diffusion.Schedule(20, "linear")
    x = torch.randn(2, 5, dtype=torch.float64) * 3
    t, t_prev = 12, 4
    ab, ab_prev = s.alpha_bars[t].double(), s.alpha_bars[t_prev].double()
    eps = 0.3 * x + 0.01 * t
    x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
    eps_clamped = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
    want = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps_clamped
    torch.testing.assert_close(s.ddim_step(_Linear(), x, t, t_prev, clip=1.0), want, rtol=1e-6, atol=1e-6)
    assert (s.ddim_step(_Linear(), x, t, -1, clip=1.0).abs() <= 1).all()


def test_ddim_sample_starts_from_the_given_noise_where_it_is():
    s = diffusion.Schedule(10, "linear")
    x_T = torch.randn(2, 3, dtype=torch.float64)
    out = s.ddim_sample(_Linear(), (2, 3), 5, x_T=x_T)
    assert out.dtype == torch.float64 and out.device == x_T.device and out.shape == (2, 3)
    with pytest.raises(ValueError, match=r"x_T has shape \(2, 3\), but the batch to generate is \(4, 3\)"):
        s.ddim_sample(_Linear(), (4, 3), 5, x_T=x_T)


def test_ddim_refuses_impossible_steps():
    s = diffusion.Schedule(10, "linear")
    with pytest.raises(ValueError, match=r"between 1 and T=10 steps, got 11"):
        s.ddim_times(11)
    with pytest.raises(ValueError, match=r"back in time.*t=3, t_prev=5"):
        s.ddim_step(_Linear(), torch.zeros(1, 2), 3, 5)
    assert s.ddim_times(4) == [9, 6, 3, 0]
    with pytest.raises(ValueError, match=r"eta runs from 0 .* got 1.5"):
        s.ddim_step(_Linear(), torch.zeros(1, 2), 5, 3, eta=1.5)


def test_latent_denoiser_shapes_labels_and_guidance():
    torch.manual_seed(0)
    m = diffusion.LatentDenoiser(16, hidden=256)
    assert 0.45e6 < _count(m) < 0.53e6
    z, t = torch.randn(5, 16), torch.randint(0, 50, (5,))
    y = torch.tensor([0, 1, 2, 3, 10])
    assert m(z, t, y).shape == (5, 16)
    # no label for the whole batch is the "no label" class; the label and the time step both matter
    assert torch.allclose(m(z, t), m(z, t, torch.full((5,), 10)))
    assert not torch.allclose(m(z, t, y), m(z, t), atol=1e-4)
    assert not torch.allclose(m(z, t, y), m(z, t + 5, y), atol=1e-4)
    # the blocks are residual: with their last layers zeroed, the output is out(inp + time + label)
    with torch.no_grad():
        for block in m.blocks:
            block[-1].weight.zero_(); block[-1].bias.zero_()
        base = m.inp(z) + m.time_mlp(diffusion.timestep_embedding(t, m.time_dim)) + m.label_emb(y)
        assert torch.allclose(m(z, t, y), m.out(base), atol=1e-5)
    torch.manual_seed(0)
    m = diffusion.LatentDenoiser(16, hidden=256)
    # guidance mixes the two predictions, (1 + w) eps_c - w eps_u
    wanted = torch.tensor([3, 3, 1, 0, 9])
    g = diffusion.Guided(m, wanted, w=2.0)
    assert torch.allclose(g(z, t), 3 * m(z, t, wanted) - 2 * m(z, t), atol=1e-5)
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        m(torch.randn(5, 1, 4, 4), t)
    # sampling in latent space with both samplers
    sched = diffusion.Schedule(20)
    assert sched.sample(g, (5, 16))[0].shape == (5, 16)
    assert sched.ddim_sample(g, (5, 16), 5).shape == (5, 16)


def test_latent_round_trip_through_a_trained_autoencoder():
    """Standardising the codes and undoing it is exact; a short training makes encode -> decode reconstruct."""
    torch.manual_seed(0)
    cy, cx, r = torch.rand(3, 64, 1, 1) * torch.tensor([16.0, 16.0, 4.0])[:, None, None, None] + \
        torch.tensor([6.0, 6.0, 3.0])[:, None, None, None]
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    x = (((yy - cy) ** 2 + (xx - cx) ** 2) < r ** 2).float()[:, None]   # 64 discs: 3 numbers each
    ae = vae.AutoEncoder(latent_dim=16)
    opt = torch.optim.Adam(ae.parameters(), 2e-3)
    loss_of = lambda: torch.nn.functional.binary_cross_entropy_with_logits(ae(x), x)
    before = loss_of().item()
    for _ in range(300):
        loss = loss_of()
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        codes = ae.encode(x)
        mean, std = codes.mean(0), codes.std(0)
        latents = (codes - mean) / std
        assert latents.shape == (64, 16)
        assert torch.allclose(latents.mean(0), torch.zeros(16), atol=1e-5)
        assert torch.allclose(latents.std(0), torch.ones(16), atol=1e-5)
        assert torch.allclose(latents * std + mean, codes, atol=1e-5)
        recon = torch.sigmoid(ae.decoder(latents * std + mean))
    assert recon.shape == x.shape
    assert loss_of().item() < 0.5 * before
    assert (recon - x).abs().mean() < 0.15


def test_random_features_are_frozen_seeded_and_shaped():
    from mlcourse.models import style

    net, relus = style.random_features(seed=0)
    assert relus == (2, 5, 8, 11, 14)
    assert not any(p.requires_grad for p in net.parameters()) and not net.training
    assert 0.95e6 < _count(net) < 1.0e6
    x = torch.rand(2, 3, 64, 64)
    shapes, h = [], x
    for i, m in enumerate(net):
        h = m(h)
        if i in relus:
            shapes.append(tuple(h.shape[1:]))
    assert shapes == [(32, 64, 64), (64, 32, 32), (128, 16, 16), (256, 8, 8), (256, 4, 4)]
    again, _ = style.random_features(seed=0)
    other, _ = style.random_features(seed=1)
    assert torch.equal(net[1].weight, again[1].weight) and not torch.equal(net[1].weight, other[1].weight)
    w = net[4].weight                                                # He init: std sqrt(2 / fan_in)
    assert abs(w.std().item() / math.sqrt(2 / (32 * 9)) - 1) < 0.02
    assert all(float(m.bias.abs().max()) == 0 for m in net if isinstance(m, torch.nn.Conv2d))
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in net) and not any(isinstance(m, torch.nn.MaxPool2d) for m in net)
    assert torch.allclose(net[0](torch.full((1, 3, 2, 2), 0.5)), torch.zeros(1, 3, 2, 2))   # centred input
    # pixels get gradients through the frozen network
    img = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(img).pow(2).mean().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="pooling"):
        style.random_features(plan=(32, "M"))
