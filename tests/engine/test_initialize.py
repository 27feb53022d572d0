import numpy as np
import pytest

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.initialize import INITS, initialize
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective

SPEC = NetworkSpec(2, (6, 3, 1), ("tansig", "logsig", "purelin"))


@pytest.mark.parametrize("method", INITS)
def test_seeded_and_shaped(method):
    P = np.array([[0.0, 10.0], [-3.0, 3.0]])
    a = initialize(SPEC, method, np.random.default_rng(5), P)
    b = initialize(SPEC, method, np.random.default_rng(5), P)
    assert a.shape == (SPEC.n_params,) and np.array_equal(a, b)
    batch = initialize(SPEC, method, np.random.default_rng(5), P, batch=4)
    assert batch.shape == (4, SPEC.n_params)
    if method != "zeros":
        assert not np.array_equal(a, initialize(SPEC, method, np.random.default_rng(6), P))


def test_uniform_is_in_minus_one_one():
    t = initialize(SPEC, "uniform", np.random.default_rng(0), batch=1000)
    assert t.min() >= -1 and t.max() <= 1 and t.min() < -0.99 and t.max() > 0.99


def test_glorot_limits_and_zero_biases():
    t = initialize(SPEC, "glorot", np.random.default_rng(0), batch=500)
    (w1, b1), *_ = SPEC.slices
    lim = np.sqrt(6 / (2 + 6))
    assert np.abs(t[:, w1]).max() <= lim and np.abs(t[:, w1]).max() > 0.95 * lim
    assert np.all(t[:, b1] == 0)


def test_nguyen_widrow_spreads_active_regions_over_the_input_range():
    spec = NetworkSpec(1, (8, 1), ("tansig", "purelin"))
    P = np.array([[2.0, 12.0]])  # input range [2, 12]
    t = initialize(spec, "nguyen-widrow", np.random.default_rng(0), P)
    W, b = spec.unpack(t)[0]
    centres = -b / W[:, 0]  # where each hidden neuron's net input is 0
    assert np.all((centres >= 2 - 1e-9) & (centres <= 12 + 1e-9))
    assert np.ptp(centres) > 5  # spread, not bunched


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method 'he'"):
        initialize(SPEC, "he", np.random.default_rng(0))


def test_objective_validation():
    spec = NetworkSpec(1, (2, 1), ("logsig", "purelin"))
    d = Dataset([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="2 input.*P has 1 row"):
        Objective(NetworkSpec(2, (2, 1), ("logsig", "purelin")), d)
    with pytest.raises(ValueError, match="2 output.*T has 1 row"):
        Objective(NetworkSpec(1, (2, 2), ("logsig", "purelin")), d)
    with pytest.raises(ValueError, match="cross-entropy needs a logsig or softmax"):
        Objective(spec, d, performance="ce")
    with pytest.raises(ValueError, match="unknown index 'mae'"):
        Objective(spec, d, performance="mae")
    with pytest.raises(ValueError, match="expected 7 values"):
        Objective(spec, d, np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        Objective(spec, d, np.full(7, np.inf))
    with pytest.raises(ValueError, match="listed twice"):
        Objective(spec, d, free=["W1[1,1]", "W1[1,1]"])
    with pytest.raises(ValueError, match="at least one"):
        Objective(spec, d, free=[])
    with pytest.raises(ValueError, match="not a sum of squares"):
        Objective(
            NetworkSpec(1, (2, 1), ("logsig", "logsig")), d, performance="ce"
        ).residuals_and_jacobian(np.zeros(7))
