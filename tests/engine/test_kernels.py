"""Kernels by size (issue 20): the compiled activations, the BLAS path and the choice
between the kernels, each against the NumPy engine, the reference."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from bpgui_engine import jit
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.transfer import get_transfer
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train import choose
from bpgui_engine.train.batch import train_batch
from bpgui_engine.train.fast import FastTrainer, fast_train_batch, measure_kernel
from bpgui_engine.train.trainer import StopCriteria

from .conftest import random_problem
from .test_jit import NETS, assert_same_run, numpy_run, trim, vlbp_decidable

needs_numba = pytest.mark.skipif(jit.kernel_name() != "numba", reason="numba kernel unavailable")
HYPER = {
    "sd": {"lr": 0.05},
    "momentum": {"lr": 0.05, "gamma": 0.8},
    "vlbp": {"lr": 50.0, "rho": 0.5, "eta": 1.0001},
    "sgd": {"lr": 0.02, "batch_size": 3},
    "cg": {},
    "adam": {"lr": 0.01},
}


def ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.maximum(np.abs(ref), np.finfo(float).tiny))


@needs_numba
def test_compiled_activations_within_two_ulp_of_numpy():
    ew = jit.activations_module()
    rng = np.random.default_rng(0)
    edges = [0.625, -0.625, 0.6249999999999999, 1e-300, -5e-324, 800.0, -800.0]
    parts = [rng.normal(0, 3, 200_000), np.linspace(-30, 30, 200_001)]
    parts += [np.linspace(-0.7, 0.7, 100_001), rng.normal(0, 1e-9, 1000), edges]
    n = np.concatenate(parts)
    a, Ib = np.empty_like(n), np.empty(n.size, dtype=np.int64)
    for name, fwd in (("tansig", ew.tansig_into), ("logsig", ew.logsig_into)):
        ref = get_transfer(name).forward(n)
        fwd(n, a, Ib)
        assert ulps(a, ref).max() <= 2.0, name
        # the derivatives: NumPy's expression in NumPy's order, bit for bit
        g = rng.normal(size=n.size)
        want = get_transfer(name).backward(n, a, g)
        back = ew.tansig_back if name == "tansig" else ew.logsig_back
        back(a, g)
        np.testing.assert_array_equal(g, want)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    out = np.empty(5)
    ew.tansig_into(special, out, Ib)
    np.testing.assert_array_equal(out[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(out[1]) and np.isnan(out[4])


@needs_numba
@pytest.mark.parametrize("net", range(len(NETS)))
def test_fused_blas_value_and_gradient_match_numpy(net):
    spec, perf = NETS[net]
    data, theta = random_problem(spec, perf, seed=net, Q=40)
    obj = Objective(spec, data, theta, performance=perf)
    fast = obj.with_kernel(jit.activations_module())
    assert fast._fused.fast
    for k in range(5):
        x = obj.x0() * (1 + 0.3 * k)
        F0, g0 = obj.value_and_grad(x)
        F1, g1 = fast.value_and_grad(x)
        assert pytest.approx(F0, rel=1e-13, abs=1e-300) == F1
        np.testing.assert_allclose(g1, g0, rtol=1e-11, atol=1e-13 * np.abs(g0).max())
    # float32: the same function, to single precision
    f32 = obj.with_kernel(jit.activations_module(), dtype="float32")
    F2, g2 = f32.value_and_grad(obj.x0())
    F0, g0 = obj.value_and_grad(obj.x0())
    assert g2.dtype == np.float64 and f32.kernel_dtype == "float32"
    assert pytest.approx(F0, rel=2e-5) == F2
    np.testing.assert_allclose(g2, g0, rtol=0, atol=2e-4 * np.abs(g0).max())


def fast_run(obj, name, x0, crit, kernel, seed=7, **hyper):
    ft = FastTrainer(obj, make_optimizer(name, seed=seed, **hyper), x0, crit, kernel=kernel)
    return ft, list(ft.blocks())


@needs_numba
@pytest.mark.parametrize("method", ["sd", "momentum", "vlbp", "sgd", "cg", "adam"])
@pytest.mark.parametrize("net", [1, 2, 3, 5])
def test_blas_runs_match_numpy(method, net):
    spec, perf = NETS[net]
    data, theta = random_problem(spec, perf, seed=net, Q=9)
    obj = Objective(spec, data, theta * 0.5, performance=perf)
    # cg: its line search decides by comparisons that rounding can flip after a few epochs
    crit = StopCriteria(epochs=300 if method != "cg" else 5, min_grad=1e-9)
    recs = numpy_run(obj, method, obj.x0(), crit, **HYPER[method])
    ft, blocks = fast_run(obj, method, obj.x0(), crit, "blas", **HYPER[method])
    assert ft.kernel == "blas" and "asked for" in ft.kernel_note
    if method == "vlbp":
        n = vlbp_decidable(recs)
        recs, blocks = recs[:n], [trim(blocks, n, recs[n - 1].stop)]
    assert_same_run(recs, blocks, rtol=1e-10)


def playground(Q=120, hidden=(8, 8), seed=3, out="purelin", perf="mse"):
    rng = np.random.default_rng(seed)
    S = 2 if out == "softmax" else 1
    spec = NetworkSpec(2, (*hidden, S), (*["tansig"] * len(hidden), out))
    P = rng.uniform(-1, 1, (2, Q))
    if out == "softmax":
        T = np.eye(2)[(P[0] * P[1] > 0).astype(int)].T
    else:
        T = np.sin(3 * P[:1]) * np.cos(2 * P[1:])
    theta = rng.normal(0, 0.5, spec.n_params)
    return Objective(spec, Dataset(P, T), theta, performance=perf)


@needs_numba
@pytest.mark.parametrize("kernel", ["numba", "blas"])
@pytest.mark.parametrize("shape", [("purelin", "mse"), ("softmax", "ce")])
def test_playground_net_every_kernel_matches_numpy(kernel, shape):
    obj = playground(out=shape[0], perf=shape[1])
    crit = StopCriteria(epochs=200)
    recs = numpy_run(obj, "sd", obj.x0(), crit, lr=0.2)
    ft, blocks = fast_run(obj, "sd", obj.x0(), crit, kernel, lr=0.2)
    assert ft.kernel == kernel
    # tanh within 2 ulp of NumPy's: the runs part by ~1e-16 an epoch, grown by the descent
    assert_same_run(recs, blocks, rtol=1e-9)
    # a given kernel: the same numbers, bit for bit, every time
    _, again = fast_run(obj, "sd", obj.x0(), crit, kernel, lr=0.2)
    np.testing.assert_array_equal(np.concatenate([b.x for b in again]),
                                  np.concatenate([b.x for b in blocks]))  # fmt: skip


@needs_numba
def test_float32_runs_close_to_float64():
    obj = playground(Q=300)
    crit = StopCriteria(epochs=200)
    recs = numpy_run(obj, "sd", obj.x0(), crit, lr=0.2)
    ft, _ = fast_run(obj, "sd", obj.x0(), crit, None, lr=0.2)
    ft32 = FastTrainer(obj, make_optimizer("sd", lr=0.2), obj.x0(), crit, dtype="float32")
    b32 = list(ft32.blocks())
    assert ft32.kernel == "blas" and ft32.dtype == "float32" and ft.dtype == "float64"
    perf32 = np.concatenate([b.cols["performance"] for b in b32])
    ref = np.array([r.performance for r in recs])
    np.testing.assert_allclose(perf32, ref, rtol=1e-4)


# ---- the choice ------------------------------------------------------------------------
@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "kernel-choice.json"
    monkeypatch.setenv("BPGUI_KERNEL_CACHE", str(path))
    monkeypatch.delenv("BPGUI_KERNEL", raising=False)
    choose._memo.clear()
    yield path
    choose._memo.clear()


@needs_numba
def test_choice_by_size_forced_and_calibrated(cache, monkeypatch, book):
    small = Objective(book.spec, book.data, book.theta)
    assert choose.choose(small, True, measure=measure_kernel) == ("numba", "")
    assert choose.choose(small, False)[0] == "numpy"  # cg on the book: NumPy, as ever
    big = playground(Q=1000, hidden=(50, 50))
    assert choose.work(big) > choose.LARGE_WORK
    kernel, why = choose.choose(big, True)
    assert kernel == "blas" and "network this size" in why
    assert choose.choose(big, False)[0] == "blas"
    monkeypatch.setenv("BPGUI_KERNEL", "numpy")
    assert choose.choose(big, True)[0] == "numpy"
    monkeypatch.setenv("BPGUI_KERNEL", "numba")
    assert choose.choose(big, True)[0] == "numba"
    assert choose.choose(big, False)[0] == "blas"  # cg has no compiled form
    monkeypatch.delenv("BPGUI_KERNEL")
    mid = playground(Q=600)
    assert choose.SMALL_WORK < choose.work(mid) < choose.LARGE_WORK
    assert not cache.exists()
    kernel, _ = choose.choose(mid, True, measure=measure_kernel)  # measured once, cached
    doc = json.loads(cache.read_text())
    assert doc["choices"] == {choose.signature(mid): kernel}
    calls = []
    monkeypatch.setattr(choose, "calibrate", lambda obj, m: calls.append(obj) or "blas")
    choose._memo.clear()
    assert choose.choose(mid, True, measure=measure_kernel)[0] == kernel and calls == []
    assert choose.choose(mid, True)[0] == kernel  # cached: no measuring needed


@needs_numba
def test_choice_cache_corrupt_foreign_or_unwritable(cache, monkeypatch, caplog):
    mid = playground(Q=600)
    monkeypatch.setattr(choose, "calibrate", lambda obj, m: "blas")
    cache.write_bytes(b"\x00{not json")
    assert choose.choose(mid, True, measure=measure_kernel)[0] == "blas"  # corrupt: ignored ...
    assert json.loads(cache.read_text())["choices"] == {choose.signature(mid): "blas"}  # rewritten
    doc = json.loads(cache.read_text())
    doc["machine"], doc["choices"][choose.signature(mid)] = "another machine", "numba"
    cache.write_text(json.dumps(doc))
    choose._memo.clear()
    # another machine's figures: measured again
    assert choose.choose(mid, True, measure=measure_kernel)[0] == "blas"
    folder = cache.parent / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    monkeypatch.setenv("BPGUI_KERNEL_CACHE", str(folder / "sub" / "k.json"))
    choose._memo.clear()
    with caplog.at_level(logging.WARNING):
        # measured, not cached, no crash
        assert choose.choose(mid, True, measure=measure_kernel)[0] == "blas"
    folder.chmod(0o700)
    with pytest.raises(ValueError, match="kernel: one of"):
        choose.choose(mid, True, "gpu")


@needs_numba
def test_blas_without_compiled_activations_is_numpy(monkeypatch):
    monkeypatch.setitem(jit._state, "elementwise", None)
    obj = playground()
    crit = StopCriteria(epochs=50)
    recs = numpy_run(obj, "sd", obj.x0(), crit, lr=0.2)
    ft, blocks = fast_run(obj, "sd", obj.x0(), crit, "blas", lr=0.2)
    assert ft.kernel == "numpy"
    np.testing.assert_array_equal(np.concatenate([b.x for b in blocks]), [r.x for r in recs])


@needs_numba
@pytest.mark.parametrize("method", ["sd", "momentum"])
def test_batches_of_a_large_network_take_numpy_batches(method, cache):
    obj = playground(Q=1000, hidden=(50, 50))
    assert choose.work(obj) > choose.LARGE_WORK
    assert choose.choose(obj, True)[0] == "blas"
    X0 = obj.x0() + np.random.default_rng(1).normal(0, 0.1, (3, obj.n_free))
    hyper = {"lr": 0.1, "gamma": 0.5} if method == "momentum" else {"lr": 0.1}
    got = fast_train_batch(obj, X0, method, hyper, epochs=5, stride=1)
    want = train_batch(obj, X0, method, hyper, epochs=5, stride=1)
    np.testing.assert_array_equal(got.x, want.x)
    np.testing.assert_array_equal(got.path, want.path)
