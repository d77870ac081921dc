"""mlcourse.models.resnet: residual blocks, shortcut errors, the small ResNet."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from mlcourse.models import resnet  # noqa: E402
from mlcourse.models.cnn import count_parameters  # noqa: E402


def test_identity_and_projection_blocks():
    x = torch.randn(2, 16, 28, 28)
    same = resnet.BasicBlock(16, 16)
    assert isinstance(same.shortcut, nn.Identity) and same(x).shape == (2, 16, 28, 28)
    down = resnet.BasicBlock(16, 32, stride=2)
    assert not isinstance(down.shortcut, nn.Identity) and down(x).shape == (2, 32, 14, 14)
    proj = resnet.BasicBlock(16, 16, shortcut="projection")
    assert count_parameters(proj) == count_parameters(same) + 16 * 16 + 2 * 16
    assert count_parameters(same) == 2 * (16 * 16 * 9) + 2 * 2 * 16


def test_identity_shortcut_that_cannot_fit_is_refused():
    with pytest.raises(resnet.ShortcutShapeError, match="16 channels to 32 with stride 2"):
        resnet.BasicBlock(16, 32, stride=2, shortcut="identity")
    with pytest.raises(ValueError, match="shortcut must be"):
        resnet.BasicBlock(16, 16, shortcut="skip")
    resnet.BasicBlock(16, 32, shortcut="identity", residual=False)   # a plain block has none


def test_residual_wrapper_explains_a_shape_mismatch():
    block = resnet.Residual(nn.Conv2d(8, 16, 3, padding=1))
    with pytest.raises(resnet.ShortcutShapeError) as info:
        block(torch.randn(1, 8, 10, 10))
    msg = str(info.value)
    assert "(1, 16, 10, 10)" in msg and "(1, 8, 10, 10)" in msg and "projection" in msg
    ok = resnet.Residual(nn.Conv2d(8, 16, 3, padding=1), nn.Conv2d(8, 16, 1))
    assert ok(torch.randn(1, 8, 10, 10)).shape == (1, 16, 10, 10)


@pytest.mark.parametrize("blocks,depth,params", [((1, 1, 1), 8, 77_754), ((3, 3, 3), 20, 272_186)])
def test_resnet_depth_parameters_forward(blocks, depth, params):
    model = resnet.ResNet(blocks=blocks)
    assert model.depth == depth and count_parameters(model) == params
    out = model(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10) and torch.isfinite(out).all()


def test_plain_twin_has_the_same_layers_without_shortcuts():
    res, plain = resnet.ResNet(blocks=(2, 2, 2)), resnet.ResNet(blocks=(2, 2, 2), residual=False)
    assert res.depth == plain.depth == 14
    extra = 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64                       # the two projections
    assert count_parameters(res) - count_parameters(plain) == extra
    assert plain(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert resnet.ResNet(stem_stride=2, in_channels=3, num_classes=5)(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_residual_block_starts_close_to_identity_when_its_last_bn_is_zero():
    block = resnet.BasicBlock(8, 8).eval()
    nn.init.zeros_(block.bn2.weight)
    x = torch.rand(2, 8, 6, 6)                                           # non-negative: relu(x) = x
    assert torch.allclose(block(x), x)


def test_stem_pool_works_on_quarter_size_maps():
    model = resnet.ResNet(widths=(32, 64, 128), stem_pool=True)
    assert model.depth == 8 and count_parameters(model) == 308_074
    h = model.stem(torch.rand(2, 1, 28, 28))
    assert h.shape == (2, 32, 14, 14)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
