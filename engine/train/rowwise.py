"""Random restarts (and any batch of starts) for a method with no batch kernel: one run
per start, each exactly what the window's run from that start would do
(:class:`~bpgui_engine.train.fast.FastTrainer`), gathered into the
:class:`~bpgui_engine.train.batch.BatchResult` the batch kernels return — the path every
``stride`` epochs, a start that stopped early keeping its last point (as in the batch
kernels)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.batch import BatchResult
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria

__all__ = ["rowwise_batch"]


def rowwise_batch(
    objective, X0: np.ndarray, method: str, hyper: dict | None = None, epochs: int = 1000,
    goal: float = 0.0, stride: int = 1, should_stop: Callable[[], bool] | None = None,
    min_grad: float = 0.0,
) -> BatchResult:  # fmt: skip
    if method not in OPTIMIZERS:
        raise ValueError(f"batch: unknown method {method!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[method]
    h = cls.Hyper.from_dict(hyper or {})
    X0 = np.array(X0, dtype=float)
    if X0.ndim != 2 or X0.shape[1] != objective.n_free:
        raise ValueError(f"batch: X0 must have shape (B, {objective.n_free}), got {X0.shape}")
    stride = int(stride)
    if stride < 1:
        raise ValueError("batch: stride must be >= 1")
    crit = StopCriteria(epochs=int(epochs), goal=float(goal), min_grad=float(min_grad))
    B, n = X0.shape
    runs = []  # per start: (epochs at the path's points, x there, F there), end, stop
    stopped = False
    for b in range(B):
        if stopped or (should_stop is not None and should_stop()):
            stopped = True
            f0, _ = objective.value_and_grad(X0[b])
            runs.append((np.array([0]), X0[b][None], np.array([f0]), "stopped"))
            continue
        tr = FastTrainer(objective, cls(h), X0[b], crit, block_seconds=0.05)
        ep, xs, fs, stop = [], [], [], "epochs"
        with np.errstate(all="ignore"):
            for block in tr.blocks():
                e = block.cols["epoch"]
                keep = (e % stride == 0) | (np.arange(len(e)) == len(e) - 1)
                ep.append(e[keep])
                xs.append(block.x[keep])
                fs.append(block.cols["performance"][keep])
                stop = block.stop or stop
                if should_stop is not None and should_stop():
                    stop, stopped = "stopped", True
                    break
        runs.append((np.concatenate(ep), np.concatenate(xs), np.concatenate(fs), stop))
    # the path's epochs, as the batch kernels record them: every stride up to the longest
    # run, and its last epoch
    ends = [int(r[0][-1]) for r in runs]
    grid = np.union1d(np.arange(0, max(ends) + 1, stride), [max(ends)])
    path = np.empty((len(grid), B, n))
    path_f = np.empty((len(grid), B))
    for b, (ep, xs, fs, _) in enumerate(runs):
        k = np.searchsorted(ep, grid, side="right") - 1  # the last recorded point <= epoch
        k = np.clip(k, 0, len(ep) - 1)
        path[:, b], path_f[:, b] = xs[k], fs[k]
    X = path[-1].copy()
    gn = np.empty(B)
    for b in range(B):
        _, g = objective.value_and_grad(X[b])
        gn[b] = np.sqrt(g @ g) if np.all(np.isfinite(g)) else np.inf
    return BatchResult(X, path_f[-1].copy(), np.array(ends, dtype=np.int64),
                       np.array([r[3] for r in runs], dtype=object), path, path_f,
                       grid.astype(np.int64), gn)  # fmt: skip
