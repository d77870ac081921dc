import numpy as np
import pytest

from mlcourse import generators as g


def test_noisy_line_shapes_and_seed():
    x, y = g.noisy_line(n=100, slope=2, intercept=-1, noise=0.0, seed=1)
    assert x.shape == y.shape == (100,) and x.dtype == np.float64
    np.testing.assert_allclose(y, 2 * x - 1)
    a, b = g.noisy_line(seed=3), g.noisy_line(seed=3)
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="at least 2"):
        g.noisy_line(n=1)


def test_spirals():
    X, y = g.spirals(n=50, classes=3, seed=0)
    assert X.shape == (150, 2) and y.shape == (150,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert np.abs(X).max() < 2


def test_xor():
    X, y = g.xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    X, y = g.xor(n=40, noise=0.1)
    assert X.shape == (40, 2) and np.bincount(y).tolist() == [20, 20]
