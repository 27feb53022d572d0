"""Gradients, Jacobians and Hessians against finite differences; fast paths against loops."""

import math
import unittest.mock

import numpy as np
import pytest

import bpgui_engine.train.kernel as kernel
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.transfer import TRANSFERS

from .conftest import SHAPES, random_problem

IDS = [
    f"{'-'.join(map(str, (s.n_inputs, *s.sizes)))}-{'/'.join(s.transfers)}-{p}" for s, p in SHAPES
]


def fd_grad(fun, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        d = np.zeros_like(x)
        d[i] = h
        g[i] = (fun(x + d) - fun(x - d)) / (2 * h)
    return g


def test_labels_follow_the_book():
    spec = NetworkSpec(1, (2, 1), ("logsig", "logsig"))
    assert spec.labels == ("W1[1,1]", "W1[2,1]", "b1[1]", "b1[2]", "W2[1,1]", "W2[1,2]", "b2[1]")
    assert spec.index("W1[2,1]") == 1
    assert spec.index("w2[1, 2]") == 5
    assert spec.index("b2") == 6
    W, b = spec.unpack(np.arange(7.0))[0]
    assert W.shape == (2, 1) and W[1, 0] == 1.0 and b[1] == 3.0
    spec3 = NetworkSpec(3, (2, 1), ("tansig", "purelin"))
    assert spec3.labels[spec3.index("W1[2,3]")] == "W1[2,3]"
    W1 = spec3.unpack(np.arange(float(spec3.n_params)))[0][0]
    assert W1[1, 2] == spec3.index("W1[2,3]")  # row 2, column 3


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n_inputs=0, sizes=(2, 1), transfers=("logsig", "logsig")), "n_inputs"),
        (dict(n_inputs=1, sizes=(0, 1), transfers=("logsig", "logsig")), "layer 1"),
        (dict(n_inputs=1, sizes=(2, 1), transfers=("logsig", "relu")), "unknown transfer"),
        (dict(n_inputs=1, sizes=(2, 1), transfers=("logsig",)), "one per layer"),
        (dict(n_inputs=1, sizes=(2, 1), transfers=("softmax", "logsig")), "output layer"),
        (dict(n_inputs=1, sizes=(10**9, 1), transfers=("logsig", "logsig")), "limit"),
    ],
)
def test_spec_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        NetworkSpec(**kw)


def test_unknown_label_lists_the_valid_ones():
    spec = NetworkSpec(1, (2, 1), ("logsig", "logsig"))
    with pytest.raises(ValueError, match=r"valid labels are: W1\[1,1\], W1\[2,1\]"):
        spec.index("W3[1,1]")


@pytest.mark.parametrize("spec, perf", SHAPES, ids=IDS)
def test_gradient_matches_finite_differences(spec, perf):
    data, theta = random_problem(spec, perf)
    obj = Objective(spec, data, theta, performance=perf)
    F, g = obj.value_and_grad(theta)
    assert pytest.approx(obj.value(theta), rel=1e-12) == F
    np.testing.assert_allclose(g, fd_grad(obj.value, theta), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("spec, perf", SHAPES, ids=IDS)
def test_fused_kernel_matches_general_path(spec, perf):
    data, theta = random_problem(spec, perf, seed=3)
    free = list(range(0, spec.n_params, 2))
    obj = Objective(spec, data, theta, free, performance=perf)
    x = theta[free] + 0.1
    F1, g1 = obj.value_and_grad(x)
    F2, g2 = obj.value_and_grad_batch(x)
    assert pytest.approx(float(F2), rel=1e-12) == F1
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-13)
    # and it must not keep state between calls
    F3, g3 = obj.value_and_grad(x)
    assert F3 == F1 and np.array_equal(g3, g1)


@pytest.mark.parametrize(
    "spec, perf",
    [s for s in SHAPES if s[1] != "ce"],
    ids=[i for i, s in zip(IDS, SHAPES, strict=True) if s[1] != "ce"],
)
def test_jacobian_matches_finite_differences(spec, perf):
    data, theta = random_problem(spec, perf, seed=5)
    obj = Objective(spec, data, theta, performance=perf)
    e, J = obj.residuals_and_jacobian(theta)
    assert e @ e == pytest.approx(obj.value(theta), rel=1e-12)

    def resid(t):
        return obj.residuals_and_jacobian(t)[0]

    Jfd = np.column_stack([fd_grad(lambda t, i=i: resid(t)[i], theta) for i in range(e.size)]).T
    np.testing.assert_allclose(J, Jfd, rtol=1e-5, atol=1e-7)
    # gradient of a sum of squares is 2 J^T e
    np.testing.assert_allclose(2 * J.T @ e, obj.value_and_grad(theta)[1], rtol=1e-9, atol=1e-12)


def test_batched_jacobian_matches_single():
    spec, perf = SHAPES[2]
    data, theta = random_problem(spec, perf)
    obj = Objective(spec, data, theta, performance=perf)
    X = theta + np.random.default_rng(0).normal(size=(4, spec.n_params))
    e, J = obj.residuals_and_jacobian(X)
    for b in range(4):
        e1, J1 = obj.residuals_and_jacobian(X[b])
        np.testing.assert_allclose(e[b], e1, rtol=1e-13)
        np.testing.assert_allclose(J[b], J1, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("spec, perf", SHAPES[:3], ids=IDS[:3])
def test_hessian_matches_second_differences_of_the_value(spec, perf):
    data, theta = random_problem(spec, perf, seed=7)
    obj = Objective(spec, data, theta, performance=perf)
    H = obj.hessian(theta)
    n, h = theta.size, 1e-4
    Hfd = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            di, dj = np.eye(n)[i] * h, np.eye(n)[j] * h
            Hfd[i, j] = (
                obj.value(theta + di + dj)
                - obj.value(theta + di - dj)
                - obj.value(theta - di + dj)
                + obj.value(theta - di - dj)
            ) / (4 * h * h)
    np.testing.assert_allclose(H, H.T)
    np.testing.assert_allclose(H, Hfd, rtol=1e-4, atol=1e-5)


def naive_forward(spec, theta, p):
    """One sample, plain Python loops over neurons: an oracle independent of the matrix code."""
    a = list(p)
    for (W, b), t in zip(spec.unpack(theta), spec.transfers, strict=True):
        n = [sum(W[i, j] * a[j] for j in range(len(a))) + b[i] for i in range(len(b))]
        if t == "softmax":
            m = max(n)
            ex = [math.exp(v - m) for v in n]
            a = [v / sum(ex) for v in ex]
        else:
            a = [float(TRANSFERS[t].forward(np.array([[v]]))[0, 0]) for v in n]
    return a


@pytest.mark.parametrize("spec, perf", SHAPES, ids=IDS)
def test_batched_forward_matches_a_plain_loop(spec, perf):
    data, theta = random_problem(spec, perf)
    thetas = theta + np.random.default_rng(2).normal(size=(3, 2, spec.n_params))
    out = spec.output(thetas, data.P)
    assert out.shape == (3, 2, spec.n_outputs, data.n_samples)
    for b in np.ndindex(3, 2):
        for q in range(data.n_samples):
            np.testing.assert_allclose(
                out[b][:, q], naive_forward(spec, thetas[b], data.P[:, q]), rtol=1e-12, atol=1e-300
            )
    # and the SSE from the loop
    obj = Objective(spec, data, theta, performance="sse")
    want = sum(
        sum((data.T[k, q] - o) ** 2 for k, o in enumerate(naive_forward(spec, theta, data.P[:, q])))
        for q in range(data.n_samples)
    )
    assert obj.sse(theta) == pytest.approx(want, rel=1e-12)


def test_batched_gradient_matches_single():
    spec, perf = SHAPES[1]
    data, theta = random_problem(spec, perf)
    obj = Objective(spec, data, theta, free=[0, 3, 5], performance=perf)
    X = np.random.default_rng(4).normal(size=(5, 3))
    F, G = obj.value_and_grad_batch(X)
    for b in range(5):
        f1, g1 = obj.value_and_grad(X[b])
        assert F[b] == pytest.approx(f1, rel=1e-12)
        np.testing.assert_allclose(G[b], g1, rtol=1e-10, atol=1e-14)


FREE_SETS = {
    "all": lambda spec: None,
    "every other": lambda spec: list(range(0, spec.n_params, 2)),
    "first neuron fixed": lambda spec: [i for i in range(spec.n_params) if i != 0][1:],
    "no first-layer parameter": lambda spec: list(range(spec.slices[0][1].stop, spec.n_params)),
    "one": lambda spec: [spec.n_params // 2],
}


@pytest.mark.parametrize(
    "spec, perf",
    [
        *SHAPES,
        (NetworkSpec(2, (2,), ("logsig",)), "sse"),
        (NetworkSpec(1, (3,), ("purelin",)), "mse"),
    ],
    ids=[*IDS, "single logsig layer", "single purelin layer"],
)
@pytest.mark.parametrize("which", FREE_SETS)
def test_batch_kernel_matches_the_general_path_row_by_row(spec, perf, which):
    """The fused batch kernel (2-D input: reordered first layer, fixed neurons evaluated
    once, chunks with reused buffers) against the general per-vector code."""
    free = FREE_SETS[which](spec)
    if free == []:
        pytest.skip("a single-layer network has no parameter outside its first layer")
    data, theta = random_problem(spec, perf, seed=7)
    obj = Objective(spec, data, theta, free, performance=perf)
    X = obj.x0() + np.random.default_rng(8).normal(size=(37, obj.n_free))
    F, G = obj.value_and_grad_batch(X)
    rows = obj._batch_kernel.rows if obj._batch_kernel else None
    for b in range(len(X)):
        f1, g1 = obj.value_and_grad_batch(X[b])  # 1-D: spec.forward/backward
        assert F[b] == pytest.approx(float(f1), rel=1e-12, abs=1e-300)
        np.testing.assert_allclose(G[b], g1, rtol=1e-10, atol=1e-13)
    if rows is not None:  # chunked into several pieces with a remainder: the same result
        with unittest.mock.patch.object(kernel, "CHUNK_ELEMENTS", 1):
            small = Objective(spec, data, theta, free, performance=perf)
            F2, G2 = small.value_and_grad_batch(X)
        np.testing.assert_allclose(F2, F, rtol=1e-13)
        np.testing.assert_allclose(G2, G, rtol=1e-12, atol=1e-15)
