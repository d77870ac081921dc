"""mlcourse.models.unet: the small U-Net of Day 09 (reused by Day 11's diffusion model)."""

import pytest

torch = pytest.importorskip("torch")

from mlcourse.models import unet  # noqa: E402
from mlcourse.models.cnn import count_parameters  # noqa: E402


@pytest.mark.parametrize("size", [32, 28, 17])
def test_output_has_the_input_resolution(size):
    model = unet.UNet(in_channels=1, out_channels=4, base=8, depth=3)
    out = model(torch.randn(2, 1, size, size))
    assert out.shape == (2, 4, size, size) and torch.isfinite(out).all()


def test_parameter_count():
    assert count_parameters(unet.UNet(1, 4, base=16, depth=3)) == 536_964
    assert count_parameters(unet.UNet(1, 4, base=8, depth=2)) < count_parameters(unet.UNet(1, 4, base=8, depth=3))


def test_skip_connections_carry_detail():
    """The output pixel at (0, 0) depends on the input pixel at (0, 0) and far away ones."""
    model = unet.UNet(1, 1, base=8, depth=3)
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    model(x)[0, 0, 0, 0].backward()
    g = x.grad[0, 0].abs()
    assert g[0, 0] > 0 and g[20:, 20:].sum() > 0                       # the bottleneck sees far


def test_time_conditioning_for_diffusion():
    model = unet.UNet(1, 1, base=8, depth=2, time_dim=16)
    x = torch.randn(3, 1, 28, 28)
    a, b = model(x, torch.tensor([1, 1, 1])), model(x, torch.tensor([1, 500, 999]))
    assert a.shape == (3, 1, 28, 28)
    assert torch.allclose(a[0], b[0]) and not torch.allclose(a[2], b[2])
    with pytest.raises(ValueError, match="model\\(x, t\\)"):
        model(x)
    emb = unet.timestep_embedding(torch.arange(4), 7)
    assert emb.shape == (4, 7)


def test_one_image_does_not_depend_on_the_batch():
    model = unet.UNet(1, 2, base=8, depth=2)
    x = torch.randn(4, 1, 16, 16)
    assert torch.allclose(model(x)[:1], model(x[:1]), atol=1e-5)
