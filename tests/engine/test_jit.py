"""The compiled kernel (bpgui_engine.train.fast / bpgui_engine.jit) against the NumPy engine, the
reference."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpgui_engine import jit
from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.jit.plan import OPT_CODES, build_plan
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.batch import train_batch
from bpgui_engine.train.fast import FastTrainer, fast_train_batch
from bpgui_engine.train.fast_surface import fast_surface
from bpgui_engine.train.history import History
from bpgui_engine.train.trainer import StopCriteria, Trainer

from .conftest import random_problem

needs_numba = pytest.mark.skipif(jit.kernel_name() != "numba", reason="numba kernel unavailable")

# every transfer function in a hidden and an output layer, every performance index
NETS = [
    (NetworkSpec(1, (3, 1), ("logsig", "purelin")), "sse"),
    (NetworkSpec(2, (3, 2), ("tansig", "logsig")), "mse"),
    (NetworkSpec(3, (4, 3, 2), ("poslin", "tansig", "purelin")), "mse"),
    (NetworkSpec(2, (4, 3), ("logsig", "softmax")), "ce"),
    (NetworkSpec(2, (3, 2), ("purelin", "logsig")), "ce"),
    (NetworkSpec(2, (3, 3), ("tansig", "softmax")), "sse"),
    (NetworkSpec(2, (2, 2, 1), ("tansig", "poslin", "tansig")), "sse"),
]
# non-chaotic settings: small steps; VLBP starts too fast (rejections, rate cuts, momentum
# drops) and then grows its rate slowly
HYPER = {
    "sd": {"lr": 0.05},
    "momentum": {"lr": 0.05, "gamma": 0.8},
    "vlbp": {"lr": 50.0, "rho": 0.5, "eta": 1.0001},
    "sgd": {"lr": 0.02, "batch_size": 3},
}


def numpy_run(obj, name, x0, crit, seed=7, **hyper):
    with np.errstate(all="ignore"):
        return list(Trainer(obj, make_optimizer(name, seed=seed, **hyper), x0, crit).run())


def fast_run(obj, name, x0, crit, seed=7, **hyper):
    ft = FastTrainer(obj, make_optimizer(name, seed=seed, **hyper), x0, crit)
    return ft, list(ft.blocks())


def as_arrays(recs):
    return np.array([r.x for r in recs]), np.array([r[2:7] for r in recs])


def cat(blocks, col):
    return np.concatenate([b.cols[col] for b in blocks])


def assert_same_run(recs, blocks, rtol=1e-12):
    """Same epochs, stop, and parameters within ``rtol`` of the run's scale, every epoch.

    "no_change" (an update that rounds to nothing) depends on the last bit, so there the
    two runs may end a few epochs apart."""
    x_np, cols_np = as_arrays(recs)
    x_fast = np.concatenate([b.x for b in blocks])
    assert blocks[-1].stop == recs[-1].stop
    n = len(x_np)
    if recs[-1].stop == "no_change":
        n = min(n, len(x_fast))
        assert abs(len(x_fast) - len(x_np)) <= 10
    else:
        assert x_fast.shape == x_np.shape
    np.testing.assert_array_equal(cat(blocks, "epoch")[:n], [r.epoch for r in recs[:n]])
    np.testing.assert_allclose(x_fast[:n], x_np[:n], rtol=0, atol=rtol * np.abs(x_np).max())
    for j, c in enumerate(("performance", "sse", "grad_norm", "lr")):
        ref = cols_np[:n, j]
        atol = 1e-9 * np.nanmax(np.abs(ref))  # grad_norm near a minimum: cancellation
        np.testing.assert_allclose(cat(blocks, c)[:n], ref, rtol=1e-9, atol=atol)


@needs_numba
@pytest.mark.parametrize("method", ["sd", "momentum", "vlbp", "sgd"])
@pytest.mark.parametrize("net", range(len(NETS)))
def test_random_networks_match_numpy(method, net):
    spec, perf = NETS[net]
    data, theta = random_problem(spec, perf, seed=net, Q=9)
    rng = np.random.default_rng(100 + net)
    k = int(rng.integers(1, spec.n_params + 1))
    free = sorted(rng.choice(spec.n_params, k, replace=False).tolist())
    obj = Objective(spec, data, theta * 0.5, free, perf)
    crit = StopCriteria(epochs=1000, min_grad=1e-9)
    recs = numpy_run(obj, method, obj.x0(), crit, **HYPER[method])
    _, blocks = fast_run(obj, method, obj.x0(), crit, **HYPER[method])
    if method == "vlbp":
        n = vlbp_decidable(recs)
        assert n > 100 or n == len(recs)
        recs, blocks = recs[:n], [trim(blocks, n, recs[n - 1].stop)]
    assert_same_run(recs, blocks)


def vlbp_decidable(recs) -> int:
    """Epochs before VLBP's run depends on rounding: a step whose change of error is within
    rounding (then ``f_new < f`` decides the rate by the last bit), and at most 500: VLBP
    grows its rate to the stability limit, where the oscillation amplifies every difference
    (measured: 1e-16 grows to 1e-3 within a few hundred epochs on these networks)."""
    f = np.array([r.performance for r in recs])
    x = np.array([r.x for r in recs])
    moved = np.any(np.diff(x, axis=0) != 0, axis=1)
    df = np.diff(f)
    bad = np.flatnonzero(moved & (np.abs(df) <= 1e-11 * np.abs(f[:-1])))
    return min(500, int(bad[0]) + 1 if bad.size else len(recs))


def trim(blocks, n, stop):
    cols = {c: np.concatenate([b.cols[c] for b in blocks])[:n] for c in blocks[0].cols}
    return type(blocks[0])(cols, np.concatenate([b.x for b in blocks])[:n], stop)


@needs_numba
@pytest.mark.parametrize("method", ["sd", "momentum", "vlbp", "sgd"])
def test_book_slice_and_all_free_match_numpy(book, method):
    for free in (book.free, None):
        obj = Objective(book.spec, book.data, book.theta, free)
        x0 = np.array([-4.0, -4.0]) if free else book.theta - 3.0
        epochs = 150 if method == "sgd" else 1000  # NumPy sgd is 41 steps an epoch
        crit = StopCriteria(epochs=epochs)
        recs, blocks = numpy_run(obj, method, x0, crit), fast_run(obj, method, x0, crit)[1]
        assert_same_run(recs, blocks)
        if method == "vlbp" and free:  # rejections: rate cut, momentum off, x held
            lr = cat(blocks, "lr")
            assert np.sum(lr[1:] < lr[:-1]) > 5 and np.sum(lr[1:] > lr[:-1]) > 100


@needs_numba
def test_stop_criteria_and_validation_match_numpy():
    spec, perf = NETS[0]
    data, theta = random_problem(spec, perf, seed=3, Q=12)
    val, _ = random_problem(spec, perf, seed=4, Q=5)
    obj = Objective(spec, data, theta, None, perf, validation=val)
    for crit in (
        StopCriteria(epochs=3000, max_fail=3),
        StopCriteria(epochs=3000, goal=0.5 * obj.value(obj.x0())),
        StopCriteria(epochs=3000, min_grad=1e-2),
        StopCriteria(epochs=0),
    ):
        recs = numpy_run(obj, "sd", obj.x0(), crit, lr=0.1)
        _, blocks = fast_run(obj, "sd", obj.x0(), crit, lr=0.1)
        assert_same_run(recs, blocks)
        np.testing.assert_allclose(
            cat(blocks, "val_performance"), [r.val_performance for r in recs], rtol=1e-12
        )


@needs_numba
def test_resume_across_kernels_and_blocks_feed_history(book):
    """A run saved from one kernel (optimizer state_dict, counters) continues in the other."""
    obj = Objective(book.spec, book.data, book.theta, book.free)
    for name in ("momentum", "vlbp", "sgd"):
        crit = StopCriteria(epochs=160)
        ref = numpy_run(obj, name, [-4.0, -4.0], crit)
        opt = make_optimizer(name, seed=7)
        ft = FastTrainer(obj, opt, [-4.0, -4.0], StopCriteria(epochs=80))
        hist = History(obj.n_free)
        for b in ft.blocks():
            hist.extend(*b)
        opt2 = make_optimizer(name, seed=0)
        opt2.load_state_dict(opt.state_dict())
        rest = list(Trainer(obj, opt2, ft.x, crit, epoch=ft.epoch).run(emit_start=False))
        np.testing.assert_allclose(rest[-1].x, ref[-1].x, rtol=1e-12)
        assert rest[-1].epoch == ref[-1].epoch == 160
        np.testing.assert_allclose(hist.x, [r.x for r in ref[:81]], rtol=1e-12)
        # and the other way: NumPy first, compiled after
        opt3 = make_optimizer(name, seed=7)
        tr = Trainer(obj, opt3, [-4.0, -4.0], StopCriteria(epochs=80))
        list(tr.run())
        ft2 = FastTrainer(obj, opt3, tr.x, crit, epoch=tr.epoch)
        last = list(ft2.blocks())[-1]
        np.testing.assert_allclose(last.x[-1], ref[-1].x, rtol=1e-12)
        assert last.cols["epoch"][-1] == 160


@needs_numba
def test_diverged_at_the_same_epoch_as_numpy():
    spec = NetworkSpec(1, (3, 1), ("tansig", "purelin"))
    data, theta = random_problem(spec, "sse", seed=1, Q=9)
    for perf in ("sse", "mse"):
        obj = Objective(spec, data, theta, None, perf)
        for method, hyper in (("sd", {"lr": 1e4}), ("momentum", {"lr": 1e4}), ("sgd", {"lr": 1e3})):
            crit = StopCriteria(epochs=5000)
            recs = numpy_run(obj, method, obj.x0(), crit, **hyper)
            _, blocks = fast_run(obj, method, obj.x0(), crit, **hyper)
            assert recs[-1].stop == blocks[-1].stop == "diverged"
            assert cat(blocks, "epoch")[-1] == recs[-1].epoch
            assert cat(blocks, "grad_norm")[-1] == recs[-1].grad_norm or (
                np.isnan(recs[-1].grad_norm) and np.isnan(cat(blocks, "grad_norm")[-1])
            )


@needs_numba
def test_book_trajectory_a(book):
    """lr 1 from (-4, -4): below SSE 1e-12 at the NumPy engine's epoch, then stops."""
    obj = Objective(book.spec, book.data, book.theta, book.free)
    goal = StopCriteria(epochs=10**6, goal=1e-12)
    ref = numpy_run(obj, "sd", [-4.0, -4.0], goal)[-1]
    _, blocks = fast_run(obj, "sd", [-4.0, -4.0], goal)
    assert ref.stop == blocks[-1].stop == "goal"
    assert abs(int(cat(blocks, "epoch")[-1]) - ref.epoch) <= 3
    sse = cat(blocks, "sse")
    assert np.all(np.diff(sse) <= 1e-15) and sse[40_000] > 0.77  # the flat region
    _, full = fast_run(obj, "sd", [-4.0, -4.0], StopCriteria(epochs=10**6))
    assert full[-1].stop == "no_change" and cat(full, "epoch")[-1] > 300_000
    np.testing.assert_allclose(full[-1].x[-1], [10.0, 1.0], atol=1e-9)


@needs_numba
def test_book_trajectory_b_and_lr_100(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    crit = StopCriteria(epochs=20_000)
    ref = numpy_run(obj, "sd", [-4.0, 10.0], crit)
    _, blocks = fast_run(obj, "sd", [-4.0, 10.0], crit)
    assert_same_run(ref, blocks, rtol=1e-10)
    _, blocks = fast_run(obj, "sd", [-4.0, 10.0], StopCriteria(epochs=60_000))
    x = blocks[-1].x[-1]
    assert cat(blocks, "sse")[-1] > 0.0934 and 0.8 < x[0] < 1.6 and x[1] > 15  # the W2 valley
    lm = numpy_run(obj, "lm", x, StopCriteria(epochs=200))[-1]
    np.testing.assert_allclose(lm.x, [0.883, 38.62], atol=0.01)  # the local minimum
    # lr 100: oscillates, never settles; the same orbit as the NumPy engine
    crit = StopCriteria(epochs=5000)
    ref = numpy_run(obj, "sd", [-4.0, -4.0], crit, lr=100.0)
    _, blocks = fast_run(obj, "sd", [-4.0, -4.0], crit, lr=100.0)
    sse = cat(blocks, "sse")
    assert np.sum(np.diff(sse) > 0) > 100 and sse[-1000:].max() > 0.1
    np.testing.assert_allclose(sse[-1000:], [r.sse for r in ref[-1000:]], rtol=1e-6)


@needs_numba
@pytest.mark.parametrize("method", ["sd", "momentum", "vlbp"])
def test_batch_rows_equal_single_runs(book, method):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    X0 = np.random.default_rng(3).uniform(-5, 15, (24, 2))
    X0[0] = [-4.0, -4.0]
    X0[1] = [1e5, 1e5]  # saturated: stops at once (no_change)
    res = fast_train_batch(obj, X0, method, epochs=300, goal=1e-10, stride=100)
    assert list(res.path_epochs[:4]) == [0, 100, 200, 300]
    np.testing.assert_array_equal(res.path[0], X0)
    for b in range(len(X0)):
        blocks = fast_run(obj, method, X0[b], StopCriteria(epochs=300, goal=1e-10))[1]
        np.testing.assert_array_equal(res.x[b], blocks[-1].x[-1])  # the same compiled code
        assert res.epochs[b] == cat(blocks, "epoch")[-1] and res.stop[b] == blocks[-1].stop
        assert res.performance[b] == cat(blocks, "performance")[-1]
        np.testing.assert_array_equal(res.path[1, b], np.concatenate([k.x for k in blocks])[
            min(100, len(np.concatenate([k.x for k in blocks])) - 1)])  # fmt: skip
    if method != "vlbp":
        ref = train_batch(obj, X0, method, epochs=300, goal=1e-10, stride=100)
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-12)
        np.testing.assert_array_equal(res.epochs, ref.epochs)
        np.testing.assert_array_equal(res.stop, ref.stop)
        np.testing.assert_array_equal(res.path_epochs, ref.path_epochs)
        np.testing.assert_allclose(res.path, ref.path, rtol=1e-12)


@needs_numba
@pytest.mark.parametrize("method", ["sd", "momentum", "vlbp"])
@pytest.mark.parametrize("n_rows", [1, 17, 45])
def test_batch_blocks_equal_row_kernel_and_single_runs(book, method, n_rows):
    """The block kernel (rows side by side in SIMD lanes, bpgui_engine.jit.block) against the
    row kernel and single runs, bit for bit: row counts that are not multiples of the block
    width, rows stopping at different epochs (at the start, on the goal, no change,
    diverged) while the others in their block go on, over many short calls."""
    from bpgui_engine.jit import block

    obj = Objective(book.spec, book.data, book.theta, book.free)
    X0 = np.random.default_rng(n_rows).uniform(-5, 15, (n_rows, 2))
    special = [[-4.0, -4.0], [1e5, 1e5], [np.inf, 0.0], [10.0, -3.0]]
    X0[: min(n_rows, 4)] = special[: min(n_rows, 4)]
    hyper = {  # sd and momentum: some rows diverge; vlbp: rejected steps, rate cuts
        "sd": {"lr": 8.0},
        "momentum": {"lr": 8.0, "gamma": 0.5},
        "vlbp": {"lr": 20.0, "rho": 0.5, "eta": 1.05},
    }[method]
    kw = dict(epochs=400, goal=0.05, stride=7, chunk_seconds=1e-4)
    res = fast_train_batch(obj, X0, method, hyper, **kw)
    ref = fast_train_batch(obj, X0, method, hyper, block=False, **kw)
    assert block.eligible(build_plan(obj), OPT_CODES[method])
    assert jit.block_kernels().run_batch_block is block.run_batch_block  # the default path
    for f in ("x", "performance", "epochs", "stop", "path", "path_performance", "grad_norm"):
        np.testing.assert_array_equal(getattr(res, f), getattr(ref, f), err_msg=f)
    np.testing.assert_array_equal(res.path_epochs, ref.path_epochs)
    if n_rows == 45 and method != "vlbp":
        assert {"goal", "min_grad", "diverged", "epochs"} <= set(res.stop)
        assert len(set(res.epochs)) > 10
    elif n_rows == 45:
        assert {"goal", "diverged", "epochs"} <= set(res.stop)
        assert len(set(res.epochs)) > 10
    for b in range(min(n_rows, 6)):
        if not np.all(np.isfinite(X0[b])):  # a single run refuses the start
            assert res.stop[b] == "diverged" and res.epochs[b] == 0
            continue
        blocks = fast_run(obj, method, X0[b], StopCriteria(epochs=400, goal=0.05), **hyper)[1]
        np.testing.assert_array_equal(res.x[b], blocks[-1].x[-1])
        assert res.epochs[b] == cat(blocks, "epoch")[-1] and res.stop[b] == blocks[-1].stop
        np.testing.assert_array_equal(res.performance[b], cat(blocks, "performance")[-1])


@needs_numba
@pytest.mark.parametrize("net", [1, 2, 6])
def test_batch_blocks_on_deeper_networks(net):
    """Several layers, neurons and inputs, biases and weights free, mse: block == row kernel."""
    spec, perf = NETS[net]
    data, theta = random_problem(spec, perf, seed=net, Q=19)
    rng = np.random.default_rng(net)
    free = np.sort(rng.choice(spec.n_params, min(5, spec.n_params), replace=False))
    obj = Objective(spec, data, theta, [spec.labels[i] for i in free], perf)
    X0 = theta[free] + rng.normal(0, 1, (21, len(free)))
    for method in ("sd", "momentum", "vlbp"):
        kw = dict(epochs=150, stride=10, chunk_seconds=1e-4)
        res = fast_train_batch(obj, X0, method, HYPER[method], **kw)
        ref = fast_train_batch(obj, X0, method, HYPER[method], block=False, **kw)
        np.testing.assert_array_equal(res.x, ref.x)
        np.testing.assert_array_equal(res.path, ref.path)
        np.testing.assert_array_equal(res.epochs, ref.epochs)


@needs_numba
def test_surface_matches_numpy(book):
    cases = [(book.spec, book.data, book.theta, "W1[1,1]", "W2[1,1]", "sse")]
    cases.append((book.spec, book.data, book.theta, "W2[1,1]", "b1[1]", "sse"))  # swapped
    cases.append((book.spec, book.data, book.theta, "b1[1]", "b1[2]", "mse"))  # same layer
    for spec, perf in NETS:
        data, theta = random_problem(spec, perf, seed=5)
        rng = np.random.default_rng(len(cases))
        i, j = rng.choice(spec.n_params, 2, replace=False)
        cases.append((spec, data, theta, spec.labels[i], spec.labels[j], perf))
    for spec, data, theta, xl, yl, perf in cases:
        args = (spec, data, theta, xl, (-5.0, 15.0), yl, (-3.0, 4.0), (41, 37), perf)
        with np.errstate(all="ignore"):
            ref = evaluate_surface(*args)
        got = fast_surface(*args)
        assert got.values.shape == (41, 37) and (got.x_label, got.y_label) == (xl, yl)
        np.testing.assert_allclose(got.values, ref.values, rtol=1e-12, atol=1e-300)


def test_numpy_kernel_forced_and_fallback(book, monkeypatch, caplog):
    """BPGUI_KERNEL=numpy takes the NumPy path; a numba that fails falls back with one line."""
    obj = Objective(book.spec, book.data, book.theta, book.free)
    crit = StopCriteria(epochs=300)
    ref = numpy_run(obj, "sd", [-4.0, -4.0], crit)
    monkeypatch.setenv("BPGUI_KERNEL", "numpy")
    assert jit.kernel_name() == "numpy"
    ft, blocks = fast_run(obj, "sd", [-4.0, -4.0], crit)
    assert ft.kernel == "numpy"
    np.testing.assert_array_equal(np.concatenate([b.x for b in blocks]), [r.x for r in ref])
    assert [r.stop for b in blocks for r in b.records()][-1] == "epochs"
    res = fast_train_batch(obj, np.array([[-4.0, -4.0]]), "sd", epochs=10)
    assert res.epochs[0] == 10
    monkeypatch.delenv("BPGUI_KERNEL")
    monkeypatch.setattr(jit, "_state", {})
    monkeypatch.setitem(sys.modules, "bpgui_engine.jit.compiled", None)  # import fails
    monkeypatch.delattr(jit, "compiled", raising=False)
    with caplog.at_level(logging.WARNING, logger="bpgui_engine.jit"):
        assert jit.kernel_name() == "numpy"
        assert jit.kernel_name() == "numpy"
    assert len([r for r in caplog.records if "numba" in r.getMessage()]) == 1
    ft, blocks = fast_run(obj, "sd", [-4.0, -4.0], crit)
    assert ft.kernel == "numpy" and blocks[-1].stop == "epochs"
    # cg and lm always take the NumPy path
    assert FastTrainer(obj, make_optimizer("lm"), [-4.0, -4.0]).kernel == "numpy"


@needs_numba
def test_warm_up_compiled_every_signature(book):
    """Real calls reuse the warm-up's specializations: no compile at the first click."""
    mod = jit.kernels()

    def count():
        kernels = [getattr(mod, n) for n in ("run_row", "run_batch", "surface")]
        return [len(k.signatures) for k in (*kernels, block.run_batch_block)]

    from bpgui_engine.jit import block

    t = jit._state.get("thread")
    if t is not None:
        t.join()  # a background warm-up compiles the block kernel after the others
    assert jit.block_kernels().run_batch_block is block.run_batch_block
    before = count()
    # at least the warm-up's specialization each (earlier tests in the same process may
    # have compiled others, e.g. with a cold cache); real calls must add none
    assert all(n >= 1 for n in before)
    val = random_problem(book.spec, "sse", seed=2, Q=5)[0]
    obj = Objective(book.spec, book.data, book.theta, book.free, "ce", validation=val)
    for name in ("sd", "momentum", "vlbp", "sgd"):
        list(FastTrainer(obj, make_optimizer(name), [-4.0, -4.0], StopCriteria(epochs=5)).blocks())
    fast_train_batch(obj, np.zeros((3, 2)), "vlbp", epochs=5, stride=2)
    fast_surface(book.spec, book.data, book.theta, "b1[1]", (-1, 1), "W1[1,1]", (-1, 1), 5, "mse")
    assert count() == before


@needs_numba
def test_numpy_blocks_switch_to_compiled_when_ready(book, monkeypatch):
    """While numba compiles (wait=False) the run starts on NumPy and switches mid-run."""
    mod = jit.kernels()
    monkeypatch.setattr(jit, "_state", {})  # "still compiling"
    obj = Objective(book.spec, book.data, book.theta, book.free)
    crit = StopCriteria(epochs=1000)
    ft = FastTrainer(
        obj, make_optimizer("vlbp"), [-4.0, -4.0], crit, block_seconds=1e-3, wait=False
    )
    assert ft.kernel == "numpy"
    blocks, kernels = [], []
    for b in ft.blocks():
        blocks.append(b)
        kernels.append(ft.kernel)
        jit._state["module"] = jit._state["row"] = mod  # compiled now
    assert kernels[0] == "numpy" and kernels[-1] == "numba"
    np.testing.assert_array_equal(cat(blocks, "epoch"), np.arange(len(cat(blocks, "epoch"))))
    assert_same_run(numpy_run(obj, "vlbp", [-4.0, -4.0], crit), blocks)


# ---- block sizes and the numba cache location -----------------------------------------------
@needs_numba
@pytest.mark.parametrize("name", ["sd", "momentum", "vlbp", "sgd"])
def test_max_block_splits_do_not_change_the_run(book, name):
    """The engine process cuts runs into blocks of any size (single steps, slow motion,
    snapshots): the numbers are those of one long run, bit for bit."""
    obj = Objective(book.spec, book.data, book.theta, book.free)
    crit = StopCriteria(epochs=400)
    _, ref = fast_run(obj, name, [-4.0, -4.0], crit, **HYPER[name])
    ft = FastTrainer(obj, make_optimizer(name, seed=7, **HYPER[name]), [-4.0, -4.0], crit)
    sizes = iter([0, 1, 1, 2, 5, 3, 50, 1, 100] + [7] * 100)
    ft.max_block = next(sizes)
    got = []
    for b in ft.blocks():
        got.append(b)
        ft.max_block = next(sizes)
    assert [len(b) for b in got[:5]] == [1, 1, 1, 2, 5]  # the start record came alone
    for col in ("epoch", "performance", "grad_norm", "lr"):
        np.testing.assert_array_equal(cat(got, col), cat(ref, col))
    np.testing.assert_array_equal(
        np.concatenate([b.x for b in got]), np.concatenate([b.x for b in ref])
    )


def test_max_block_on_the_numpy_path(book, monkeypatch):
    monkeypatch.setenv("BPGUI_KERNEL", "numpy")
    obj = Objective(book.spec, book.data, book.theta, book.free)
    ft = FastTrainer(obj, make_optimizer("sd"), [-4.0, -4.0], StopCriteria(epochs=20))
    ft.max_block = 0
    sizes = []
    for b in ft.blocks():
        sizes.append(len(b))
        ft.max_block = 3
    assert sizes == [1, 3, 3, 3, 3, 3, 3, 2] and ft.kernel_note == "BPGUI_KERNEL=numpy"
    lm = FastTrainer(obj, make_optimizer("lm"), [-4.0, -4.0])
    assert lm.kernel_note.startswith("lm runs on NumPy")


def test_cache_dir_is_per_user_when_the_package_is_read_only(monkeypatch, tmp_path):
    # setenv first, so that the teardown restores "unset": cache_dir() writes os.environ
    # (a leaked NUMBA_CACHE_DIR sent every later process of the run to an empty cache)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    config = sys.modules.get("numba.core.config")
    if config is not None:  # cache_dir() tells an imported numba too
        monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(jit, "_writable", lambda folder: False)
    assert jit.cache_dir() == tmp_path / "bpgui" / "numba"
    assert jit.os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "bpgui" / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))  # the user's choice wins
    assert jit.cache_dir() == tmp_path / "mine"


def _read_only_command(pkg: Path, argv: list[str]) -> list[str] | None:
    """``argv`` run with ``pkg`` read-only: for root (whom permissions do not stop) a
    read-only bind mount in a private mount namespace; otherwise ``chmod``."""
    if os.geteuid() != 0:
        for p in [pkg, *pkg.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        return argv
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True
    )
    if probe.returncode != 0:
        return None
    script = f'mount --bind -o ro "{pkg}" "{pkg}" && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *argv]


@needs_numba
@pytest.mark.slow
def test_a_read_only_install_compiles_into_the_user_cache(tmp_path):
    """An installed wheel (package folder not writable) still runs compiled: the kernels
    are cached in $XDG_CACHE_HOME/bpgui/numba, not refused into the NumPy fallback.
    (A cold compile: tens of seconds.)"""
    import shutil

    root = Path(jit.__file__).resolve().parents[2]
    site = tmp_path / "site"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(root / "engine", site / "bpgui_engine", ignore=skip)
    cache = tmp_path / "cache"
    # the run loop alone (compiled first, ~20 s cold): the rest compiles the same way
    code = (
        "import os, sys, bpgui_engine; from bpgui_engine import jit; "
        "name = 'numba' if jit.row_kernels() is not None else 'numpy'; "
        "print(bpgui_engine.__file__); print(name); print(os.environ.get('NUMBA_CACHE_DIR')); "
        "sys.stdout.flush(); os._exit(0)"
    )
    argv = _read_only_command(site / "bpgui_engine", [sys.executable, "-c", code])
    if argv is None:
        pytest.skip("cannot make a read-only folder here")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "BPGUI_KERNEL")}
    env.update(XDG_CACHE_HOME=str(cache), PYTHONPATH=str(site))
    out = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    where, name, cache_dir = out.stdout.split()[-3:]
    assert where.startswith(str(site))  # the read-only copy, not the source tree
    assert name == "numba", out.stderr
    assert cache_dir == str(cache / "bpgui" / "numba")
    assert any((cache / "bpgui" / "numba").rglob("*.nbi"))
    assert not (site / "bpgui_engine" / "jit" / "__pycache__").exists()
