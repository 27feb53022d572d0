"""The backprop inspector's data (engine/analysis/inspect.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.analysis.inspect import inspect_sample
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset

CASES = [
    (NetworkSpec(2, (3, 2), ("tansig", "logsig")), "sse"),
    (NetworkSpec(2, (3, 2), ("logsig", "purelin")), "mse"),
    (NetworkSpec(2, (4, 3), ("poslin", "softmax")), "ce"),
    (NetworkSpec(1, (3, 3, 1), ("logsig", "tansig", "logsig")), "ce"),
]


def problem(spec, perf, seed=0, Q=6, free=None):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(spec.n_inputs, Q))
    if perf == "ce" and spec.transfers[-1] == "softmax":
        T = np.eye(spec.n_outputs)[:, rng.integers(0, spec.n_outputs, Q)]
    elif perf == "ce":
        T = rng.uniform(0, 1, (spec.n_outputs, Q))
    else:
        T = rng.normal(size=(spec.n_outputs, Q))
    return Objective(spec, Dataset(P, T), rng.normal(size=spec.n_params), free, perf)


def flat(ins, what):
    return np.concatenate(
        [np.r_[getattr(L, f"{what}_W").ravel(), getattr(L, f"{what}_b")] for L in ins.layers]
    )


@pytest.mark.parametrize(
    "spec, perf", CASES, ids=[f"{'-'.join(s.transfers)}-{p}" for s, p in CASES]
)
def test_sample_gradients_sum_to_the_objectives_gradient(spec, perf):
    obj = problem(spec, perf)
    x = obj.x0()
    _, g = obj.value_and_grad(x)  # all parameters free: the full gradient
    total = sum(flat(inspect_sample(obj, x, q, numeric=False), "grad") for q in range(6))
    np.testing.assert_allclose(total, g, rtol=1e-12, atol=1e-15)
    ins = inspect_sample(obj, x, 2)
    np.testing.assert_allclose(flat(ins, "batch_grad"), g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(flat(ins, "numeric"), g, rtol=1e-5, atol=1e-8)
    assert ins.value == pytest.approx(obj.value(x), rel=1e-14)


def test_sample_share_is_the_scaled_per_sample_loss_gradient():
    """MSE: sample q's share is grad l_q / (S_M Q) -- checked with a one-sample objective."""
    spec = NetworkSpec(2, (3, 2), ("tansig", "logsig"))
    obj = problem(spec, "mse", seed=3)
    x = obj.x0()
    for q in range(6):
        one = Objective(spec, obj.data.subset(np.array([q])), x, None, "mse")
        _, g1 = one.value_and_grad(x)  # grad of l_q / S_M
        share = flat(inspect_sample(obj, x, q, numeric=False), "grad")
        np.testing.assert_allclose(share, g1 / 6, rtol=1e-12, atol=1e-16)


def test_forward_pass_and_saturation():
    b = get_preset("book-1-2-1")
    obj = Objective(b.spec, b.data, b.theta)
    ins = inspect_sample(obj, obj.x0(), 40)  # p = 2
    assert ins.p.tolist() == [2.0]
    L1, L2 = ins.layers
    np.testing.assert_allclose(L1.n, [10 * 2 - 5, 10 * 2 + 5])  # W1 p + b1
    np.testing.assert_allclose(L1.a, 1 / (1 + np.exp(-L1.n)))
    np.testing.assert_allclose(L2.n, L1.a.sum() - 1)
    np.testing.assert_allclose(L1.fprime, L1.a * (1 - L1.a))
    assert L1.fprime[1] < 1e-10  # n = 25: saturated, its sensitivity vanishes
    assert abs(L1.s[1]) <= L1.fprime[1] * abs(L2.W[0, 1] * L2.s[0]) * (1 + 1e-12)
    # the book's optimum: zero error, zero gradient
    assert np.all(L2.s == 0) and np.all(L1.batch_grad_W == 0)


def test_fprime_matches_finite_differences_of_the_transfer():
    obj = problem(NetworkSpec(2, (4, 3), ("tansig", "softmax")), "sse", seed=1)
    ins = inspect_sample(obj, obj.x0(), 0, numeric=False)
    from bpgui_engine.model.transfer import get_transfer

    L1, L2 = ins.layers
    h = 1e-6
    f = get_transfer("tansig").forward
    fd = (f(L1.n + h) - f(L1.n - h)) / (2 * h)
    np.testing.assert_allclose(L1.fprime, fd, rtol=1e-8)
    sm = get_transfer("softmax").forward
    for i in range(3):  # the softmax Jacobian's diagonal
        e = np.eye(3)[i] * h
        d = (sm((L2.n + e)[:, None]) - sm((L2.n - e)[:, None]))[i, 0] / (2 * h)
        assert L2.fprime[i] == pytest.approx(d, rel=1e-7)


def test_free_marks_and_bad_sample():
    b = get_preset("book-1-2-1")
    obj = Objective(b.spec, b.data, b.theta, ["W1[1,1]", "W2[1,1]"])
    ins = inspect_sample(obj, obj.x0(), 0, numeric=False)
    assert ins.layers[0].free_W.tolist() == [[True], [False]]
    assert ins.layers[1].free_W.tolist() == [[True, False]]
    assert np.isnan(ins.layers[0].numeric_W).all()
    for q in (-1, 41, 1.5, True):
        with pytest.raises(ValueError, match="sample"):
            inspect_sample(obj, obj.x0(), q)
