"""mlcourse.shapes: every layer's output shape, for a PyTorch and a Keras model."""

import sys

import numpy as np
import pytest

from mlcourse.shapes import LayerShape, format_rows, show_shapes


def test_importing_it_imports_no_framework():
    import subprocess

    code = ("import sys, mlcourse.shapes; "
            "print(any(m in sys.modules for m in ('torch', 'keras', 'tensorflow', 'jax')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_torch_model_shapes_and_parameters(capsys):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Sequential(nn.Linear(16, 8), nn.Tanh()), nn.Linear(8, 3))
    model.train()
    rows = show_shapes(model, np.zeros((5, 1, 8, 8)))            # float64 NumPy is accepted
    assert all(isinstance(r, LayerShape) for r in rows)
    assert [r.kind for r in rows] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "Tanh", "Linear"]
    assert [r.shape for r in rows] == [(5, 64), (5, 16), (5, 16), (5, 16), (5, 8), (5, 8), (5, 3)]
    assert rows[4].name == "4.0"                                   # nested modules keep their path
    assert [r.params for r in rows] == [0, 64 * 16 + 16, 0, 0, 16 * 8 + 8, 0, 8 * 3 + 3]
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    out = capsys.readouterr().out
    assert "(5, 1, 8, 8)" in out and "output shape" in out and "total" in out and "1,203" in out
    # the model is left as it was: training mode, no hooks, no gradients recorded
    assert model.training and model[3].training
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_torch_shared_layer_counted_once_and_parameters_outside_layers():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.scale = nn.Parameter(torch.ones(4))               # belongs to no leaf layer

        def forward(self, x):
            return self.fc(self.fc(x)) * self.scale

    net = Net()
    rows = show_shapes(net, torch.zeros(2, 4), quiet=True)
    assert [r.name for r in rows] == ["fc", "fc", "(other)"]
    assert [r.params for r in rows] == [20, 0, 4]
    assert sum(r.params for r in rows) == sum(p.numel() for p in net.parameters())


def test_torch_wrong_input_shape_names_the_layer(capsys):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(32, 1))   # 32: a typo
    with pytest.raises(ValueError) as err:
        show_shapes(model, torch.zeros(5, 1, 8, 8))
    msg = str(err.value)
    assert "layer '3'" in msg and "in_features=32" in msg and "(5, 16)" in msg and "5x16 and 32x1" in msg
    out = capsys.readouterr().out
    assert "(5, 64)" in out and "total" not in out                # the layers that ran are printed
    with pytest.raises(ValueError, match=r"layer '1'.*\(5, 8, 8\)"):
        show_shapes(nn.Sequential(nn.Flatten(2), nn.Linear(64, 1)), np.zeros((5, 8, 8)), quiet=True)
    assert not any(m._forward_hooks for m in model.modules())


def test_keras_sequential_shapes_and_parameters(capsys):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3)])
    rows = show_shapes(model, np.zeros((5, 8, 8, 1), dtype="float32"))
    assert [r.kind for r in rows] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert [r.shape for r in rows] == [(5, 64), (5, 16), (5, 16), (5, 3)]
    assert [r.params for r in rows] == [layer.count_params() for layer in model.layers]
    assert sum(r.params for r in rows) == model.count_params() == 64 * 16 + 16 + 16 * 3 + 3
    assert "(5, 8, 8, 1)" in capsys.readouterr().out


def test_keras_functional_model():
    keras = pytest.importorskip("keras")
    inp = keras.Input(shape=(6,))
    h = keras.layers.Dense(4, activation="tanh")(inp)
    out = keras.layers.Dense(2)(h)
    model = keras.Model(inp, out)
    rows = show_shapes(model, np.ones((3, 6), dtype="float32"), quiet=True)
    assert [r.shape for r in rows] == [(3, 4), (3, 2)]
    assert sum(r.params for r in rows) == model.count_params() == 6 * 4 + 4 + 4 * 2 + 2


def test_keras_wrong_input_shape_is_named():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 64\).*\(5, 8, 8\)"):
        show_shapes(model, np.zeros((5, 8, 8), dtype="float32"), quiet=True)
    unbuilt = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
    assert [r.shape for r in show_shapes(unbuilt, np.zeros((3, 5), dtype="float32"), quiet=True)] == [(3, 4), (3, 2)]
    with pytest.raises(TypeError, match="single layer"):
        show_shapes(keras.layers.Dense(3), np.zeros((2, 4)), quiet=True)


def test_unsupported_objects_are_refused_clearly():
    for thing in ([1, 2], np.zeros(3), "model", None):
        with pytest.raises(TypeError, match="PyTorch nn.Module or a Keras model"):
            show_shapes(thing, np.zeros((2, 3)))


def test_format_rows():
    text = format_rows([LayerShape("fc", "Linear", (2, 3), 1234)], (2, 4), total=1234)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "shape", "params"]
    assert lines[1].split() == ["input", "(2,", "4)"] and "1,234" in lines[2] and lines[3].startswith("total")


def test_a_failing_first_layer_points_at_the_input():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
    with pytest.raises(ValueError, match=r"first layer: check the input's shape \(5, 28, 28, 1\)"):
        show_shapes(model, torch.zeros(5, 28, 28, 1), quiet=True)       # channels last, for PyTorch
