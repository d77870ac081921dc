"""mlcourse.models.cnn: Day 08's LeNet and MiniAlexNet, and the training helpers."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mlcourse.models import cnn  # noqa: E402


@pytest.mark.parametrize("cls,params", [(cnn.LeNet, 61_706), (cnn.MiniAlexNet, 233_394)])
def test_shapes_and_parameter_counts(cls, params):
    torch.manual_seed(0)
    model = cls()
    assert cnn.count_parameters(model) == params
    out = model(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 10) and torch.isfinite(out).all()


def test_other_sizes_of_the_alexnet():
    model = cnn.MiniAlexNet(in_channels=3, num_classes=4, width=8)
    assert model(torch.rand(2, 3, 28, 28)).shape == (2, 4)


def test_images_to_tensor():
    x = np.full((3, 28, 28), 255, dtype=np.uint8)
    t = cnn.images_to_tensor(x)
    assert t.shape == (3, 1, 28, 28) and t.dtype == torch.float32 and float(t.max()) == 1.0
    assert cnn.images_to_tensor(np.zeros((2, 8, 8, 3), np.uint8)).shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="shape"):
        cnn.images_to_tensor(np.zeros((8, 8)))


def test_augment_batch_shifts_and_flips():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:14, 3:6] = 1.0
    out = cnn.augment_batch(x, shift=2, flip=True, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal(out.sum((1, 2, 3)), x.sum((1, 2, 3)))        # nothing falls off the edge
    assert not torch.equal(out, x)
    assert torch.equal(cnn.augment_batch(x, shift=0, flip=False), x)


def test_fit_learns_a_tiny_problem_and_predicts():
    torch.manual_seed(0)
    x = torch.rand(256, 1, 28, 28) * 0.2
    y = torch.arange(256) % 2
    x[y == 1, :, :14] += 0.8                                          # class 1: bright top half
    model = cnn.LeNet(num_classes=2)
    hist = cnn.fit(model, x, y, epochs=3, batch_size=32, lr=3e-3, x_val=x, y_val=y, progress=False)
    assert len(hist["train_loss"]) == 3 and len(hist["step_loss"]) == 24
    assert hist["val_acc"][-1] == 1.0 and cnn.accuracy(model, x, y) == 1.0
    p = cnn.predict_proba(model, x[:7])
    assert p.shape == (7, 2) and torch.allclose(p.sum(1), torch.ones(7))
