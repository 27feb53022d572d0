import warnings

import numpy as np
import pytest

from bpgui_engine.model.transfer import TRANSFERS, get_transfer


@pytest.mark.parametrize("name", list(TRANSFERS))
def test_backward_matches_finite_differences(name):
    f = TRANSFERS[name]
    rng = np.random.default_rng(1)
    n = rng.normal(size=(3, 5)) * 2
    n[n == 0] = 0.1
    if name == "poslin":
        n[np.abs(n) < 1e-3] = 0.5  # away from the kink
    g = rng.normal(size=n.shape)
    got = f.backward(n, f.forward(n), g)
    h = 1e-6
    want = np.zeros_like(n)
    for idx in np.ndindex(n.shape):
        d = np.zeros_like(n)
        d[idx] = h
        want[idx] = np.sum(g * (f.forward(n + d) - f.forward(n - d))) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(TRANSFERS))
def test_stable_at_large_inputs(name):
    f = TRANSFERS[name]
    n = np.array([[-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4], [1e4, 0, 0, 0, 0, 0, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            a = f.forward(n)
            d = f.backward(n, a, np.ones_like(n))
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))


def test_known_values():
    n = np.array([[-1e4, 0.0, 1e4, np.log(3.0)]])
    np.testing.assert_allclose(TRANSFERS["logsig"].forward(n), [[0.0, 0.5, 1.0, 0.75]], atol=1e-300)
    np.testing.assert_allclose(TRANSFERS["tansig"].forward(n), np.tanh(n))
    np.testing.assert_array_equal(TRANSFERS["poslin"].forward(n), np.maximum(n, 0))
    sm = TRANSFERS["softmax"].forward(np.array([[1e4, 0.0], [1e4, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(sm, [[0.5, 1 / 3], [0.5, 1 / 3], [0.0, 1 / 3]])


def test_logsig_is_accurate_in_the_left_tail():
    n = np.array([[-30.0, -100.0]])
    np.testing.assert_allclose(TRANSFERS["logsig"].forward(n), np.exp(n), rtol=1e-12)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown name 'relu'.*logsig"):
        get_transfer("relu")
