"""Compile every kernel once on a tiny problem (or load it from numba's on-disk cache): the
run loop first (:func:`warm_up_kernels`: a first trajectory needs nothing else), then the
batch and surface kernels (:func:`warm_up_rest`), then the block kernel."""

from __future__ import annotations

from types import ModuleType, SimpleNamespace

import numpy as np

from bpgui_engine.jit.driver import (
    _PARALLEL,
    N_STATE,
    _run_batch,
    crit_vector,
    hyper_vector,
    row_state,
    run_batch,
    run_blocks,
    run_row,
    surface,
)
from bpgui_engine.jit.plan import build_plan, layer_table
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.trainer import StopCriteria

__all__ = ["warm_up_block", "warm_up_kernels", "warm_up_rest"]


def _tiny(samples: int = 5, epochs: int = 2):
    """A 1-2-1 problem small enough that a call costs nothing but its compile: the
    objective, its plan, the sd optimizer's hyperparameter and criteria vectors."""
    spec = NetworkSpec(1, (2, 1), ("logsig", "purelin"))
    P = np.linspace(-1.0, 1.0, samples)[None, :]
    obj = Objective(spec, Dataset(P, np.sin(P)), np.full(spec.n_params, 0.5))
    plan = build_plan(obj)
    opt = make_optimizer("sd")
    hyp = hyper_vector(opt, plan.lr_scale)
    crit = crit_vector(StopCriteria(epochs=epochs), True)
    return obj, plan, opt, hyp, crit


def warm_up_kernels(mod: ModuleType) -> None:
    obj, plan, opt, hyp, crit = _tiny()
    st, dx = row_state(opt, obj.n_free, 0, np.inf, 0)
    x = obj.x0()
    perms = np.empty((0, plan.Q), dtype=np.int64)
    cols, xs = np.empty((3, 6)), np.empty((3, obj.n_free))
    n, _, _ = run_row(mod, plan, "sd", hyp, crit, st, x, dx, perms, 2, True, cols, xs)
    if n != 3 or not np.all(np.isfinite(cols[:n, :4])):
        raise RuntimeError("the compiled kernel gave a wrong result on the warm-up problem")


def warm_up_rest(mod: ModuleType) -> None:
    """The batch and surface kernels (after :func:`warm_up_kernels`, the run loop's)."""
    obj, plan, _opt, hyp, crit = _tiny()
    x = obj.x0()
    B, nf = 2, obj.n_free
    path = np.empty((3, B, nf))
    run_batch(
        mod, plan, "sd", hyp, crit, np.zeros((B, N_STATE)), np.tile(x, (B, 1)),
        np.zeros((B, nf)), np.empty(B), np.zeros(B, dtype=np.int64), 2, 1, path,
        np.empty((3, B)), False,
    )  # fmt: skip
    surface(
        mod, layer_table(obj.spec), plan.perf, plan.P, plan.T, plan.Q, plan.theta, 0, 4, 2,
        np.zeros(2, dtype=np.int64), np.zeros(2), np.zeros(2),
    )  # fmt: skip


def warm_up_block(mod: ModuleType) -> SimpleNamespace:
    """Compile (or load) :mod:`bpgui_engine.jit.block` and check it against the row kernel on a
    tiny problem (3 rows: a partial block); returns its two entry points (``eligible``,
    ``run_batch_block``) as the batch driver uses them."""
    from bpgui_engine.jit.block import eligible, run_batch_block

    blk = SimpleNamespace(eligible=eligible, run_batch_block=run_batch_block)

    obj, plan, _opt, hyp, crit = _tiny(samples=11, epochs=3)
    B, nf = 3, obj.n_free
    X0 = obj.x0() + np.arange(B)[:, None] * 0.1
    out = []
    for use in (None, blk):
        ST, X, path = np.zeros((B, N_STATE)), X0.copy(), np.empty((4, B, nf))
        args = (plan, "sd", hyp, crit, ST, X, np.zeros((B, nf)), np.empty(B),
                np.zeros(B, dtype=np.int64), 3, 1, path, np.empty((4, B)))  # fmt: skip
        with _PARALLEL:
            if use is None:
                _run_batch(mod, *args)
            else:
                run_blocks(use, *args)
        out.append(path)
    if not np.array_equal(out[0], out[1]):
        raise RuntimeError("the block kernel differs from the row kernel on the warm-up problem")
    # from now on a call never compiles (a compile on a worker thread of the GUI process,
    # racing the main thread's garbage collector over LLVM objects, aborted the process):
    # a call the warm-up did not cover raises TypeError and the batch runs row by row
    blk.run_batch_block.disable_compile()
    return blk
