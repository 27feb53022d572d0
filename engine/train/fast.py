"""The compiled run loop: the same runs as :class:`bpgui_engine.train.trainer.Trainer`, in
columnar blocks.

:class:`FastTrainer` takes what ``Trainer`` takes (objective, optimizer, start, criteria,
and the resume counters) and yields :class:`Block` s -- a dict of column arrays named as
:data:`bpgui_engine.train.history.COLUMNS` plus the ``(k, n_free)`` parameter block -- each
produced by
one call into compiled code sized to take about ``block_seconds``.  The optimizer object
keeps its state between blocks exactly as the NumPy optimizer would (``state_dict`` is the
same), so a run saved under one kernel continues under the other.

Which path runs (``FastTrainer.kernel``):

* ``"numba"`` for ``sd``, ``momentum``, ``vlbp`` and ``sgd`` when numba is importable and
  compiles (:func:`bpgui_engine.jit.kernel_name`), unless ``BPGUI_KERNEL=numpy``;
* ``"numpy"`` otherwise (``cg``, ``lm``, ``adam``, or no numba): the NumPy ``Trainer``'s
  records are grouped into blocks of the same form.

Differences from the NumPy trainer: results agree to rounding (BLAS sums in another order),
not bit for bit; a time limit (``max_time``) is checked between blocks, not every epoch;
a hyperparameter changed during a run applies from the next block.  On one kernel the
result does not depend on where the blocks split (``max_block``): a run paused, stepped
or saved and continued gives the same numbers as one long run.

A long module (over 400 lines): the compiled run loop, its batch form and the NumPy fallback
they switch to at a block boundary are one contract, tested against each other.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from bpgui_engine import jit
from bpgui_engine.jit import driver
from bpgui_engine.jit.plan import (
    OPT_CODES,
    STOP_NAMES,
    build_plan,
)
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import OPTIMIZERS, Optimizer
from bpgui_engine.optim.base import layer_rates_active
from bpgui_engine.train.batch import BatchResult, _norms, train_batch
from bpgui_engine.train.choose import choose as choose_kernel
from bpgui_engine.train.history import COLUMNS, records_to_arrays
from bpgui_engine.train.trainer import Record, StopCriteria, Trainer

__all__ = [
    "COMPILED_OPTIMIZERS",
    "FAST_BATCH_METHODS",
    "Block",
    "FastTrainer",
    "fast_train_batch",
    "kernel_name",
]

COMPILED_OPTIMIZERS = tuple(OPT_CODES)
#: what :func:`fast_train_batch` runs: the first three compiled, ``lm`` on NumPy
COMPILED_BATCH_METHODS = ("sd", "momentum", "vlbp")
FAST_BATCH_METHODS = (*COMPILED_BATCH_METHODS, "lm")
MAX_BLOCK = 1 << 20
kernel_name = jit.kernel_name


class Block(NamedTuple):
    """``k`` consecutive epochs: ``cols[name]`` of shape ``(k,)``, ``x`` of ``(k, n_free)``;
    ``stop`` is the reason on the block that ends the run.  Arrays are fresh, never reused
    (``History.extend(*block)`` takes them as they are)."""

    cols: dict[str, np.ndarray]
    x: np.ndarray
    stop: str | None

    def __len__(self) -> int:
        return len(self.x)

    def last(self) -> Record:
        """The block's last epoch as a record (the run's reason on a final block)."""
        c, i = self.cols, len(self.x) - 1
        xi = self.x[i]
        xi.flags.writeable = False
        return Record(
            int(c["epoch"][i]), xi, float(c["performance"][i]), float(c["sse"][i]),
            float(c["grad_norm"][i]), float(c["lr"][i]), float(c["mu"][i]),
            float(c["val_performance"][i]), self.stop,
        )  # fmt: skip

    def records(self) -> Iterator[Record]:
        """The per-epoch view (for scripts and tests; nothing hot should use it)."""
        c, k = self.cols, len(self.x)
        for i in range(k):
            xi = self.x[i]
            xi.flags.writeable = False
            yield Record(
                int(c["epoch"][i]), xi, float(c["performance"][i]), float(c["sse"][i]),
                float(c["grad_norm"][i]), float(c["lr"][i]), float(c["mu"][i]),
                float(c["val_performance"][i]), self.stop if i == k - 1 else None,
            )  # fmt: skip


class FastTrainer:
    """Runs ``optimizer`` on ``objective`` from ``x0`` in compiled blocks (see the module).

    Attributes ``x``, ``epoch``, ``val_best``, ``val_fails`` follow the run between blocks,
    as ``Trainer``'s do between records.
    """

    def __init__(
        self,
        objective: Objective,
        optimizer: Optimizer,
        x0: np.ndarray,
        criteria: StopCriteria | None = None,
        *,
        epoch: int = 0,
        val_best: float = math.inf,
        val_fails: int = 0,
        block_seconds: float = 0.01,
        wait: bool = True,
        kernel: str | None = None,
        dtype: str = "float64",
    ) -> None:
        # per-layer learning rates: the compiled kernels take one rate for all layers
        compiled = optimizer.name in OPT_CODES and not layer_rates_active(optimizer.hyper)
        compiled = compiled and not objective.penalty  # the compiled loops have none
        if dtype != "float64":
            kernel = "blas"  # the only single-precision path
        # the kernel for the problem's size; while numba is still compiling (wait=False),
        # the cost model's guess, not a measurement
        ready = wait or jit.row_kernels(False) is not None
        self._choice, self._why = choose_kernel(
            objective, compiled, kernel, measure_kernel if ready else None
        )
        fast_obj = objective
        if self._choice == "blas":
            fast_obj = objective.with_kernel(jit.activations_module(), dtype=dtype)
            if not fast_obj._fused.fast and dtype == "float64":  # no compiled activations
                self._choice, fast_obj = "numpy", objective
        self._numpy = Trainer(
            fast_obj, optimizer, x0, criteria, epoch=epoch, val_best=val_best, val_fails=val_fails
        )  # validates the arguments; runs the NumPy and BLAS paths
        self.objective, self.optimizer = objective, optimizer
        self.criteria = self._numpy.criteria
        self.x = self._numpy.x
        self.epoch, self.val_best, self.val_fails = int(epoch), float(val_best), int(val_fails)
        self.block_seconds = float(block_seconds)
        self._compiled = compiled and self._choice == "numba"
        self._mod = jit.row_kernels(wait) if self._compiled else None
        self._k = 64  # epochs in the next call, adapted to block_seconds
        #: at most this many epochs in the next block (read before every block; ``None``:
        #: as many as fit in ``block_seconds``).  ``0`` on the first block of a run with
        #: ``emit_start`` yields the start record alone.
        self.max_block: int | None = None

    def set_penalty(self, penalty) -> None:
        """New weight penalties from the next block (a live edit; a run on the compiled
        loops continues on NumPy once one is set)."""
        self.objective.set_penalty(penalty)
        if self._numpy.objective is not self.objective:
            self._numpy.objective.set_penalty(penalty)

    @property
    def kernel(self) -> str:
        """``"numba"``, ``"blas"`` or ``"numpy"``: which path :meth:`blocks` takes
        (:mod:`bpgui_engine.train.choose`)."""
        if self._mod is not None:
            return "numba"
        return "blas" if self._choice == "blas" else "numpy"

    @property
    def dtype(self) -> str:
        return self._numpy.objective.kernel_dtype

    @property
    def kernel_note(self) -> str | None:
        """Why the NumPy or BLAS path runs (``None`` on the compiled one)."""
        if self._mod is not None:
            return None
        if self._choice == "blas":
            return self._why
        if self.optimizer.name in OPT_CODES and layer_rates_active(self.optimizer.hyper):
            return "per-layer learning rates (lr_layers) run on NumPy: the kernels take one rate"
        if self.objective.penalty and self.optimizer.name in OPT_CODES:
            return "a weight penalty (L2/L1) runs on NumPy: the compiled loops have none"
        if self.optimizer.name not in OPT_CODES:
            names = ", ".join(COMPILED_OPTIMIZERS)
            return f"{self.optimizer.name} runs on NumPy (compiled: {names})"
        if self._why:
            return self._why
        reason = jit.unavailable_reason()
        if reason is not None:
            return reason
        if jit.compiling():
            return "numba is compiling: NumPy until it is ready"
        return "numba not loaded"

    def _limit(self, first: bool) -> float:
        """Epochs the next block may step (not counting a start record)."""
        m = self.max_block
        if m is None:
            return math.inf
        return max(int(m), 0 if first else 1)

    def run(self, emit_start: bool = True) -> Iterator[Record]:
        """One record per epoch, as ``Trainer.run`` (built from the blocks)."""
        for block in self.blocks(emit_start):
            yield from block.records()

    def blocks(self, emit_start: bool = True) -> Iterator[Block]:
        """Yield blocks until a stop criterion is met (the last block says which).

        On the NumPy path with a compiled optimizer (``wait=False`` while numba compiles),
        each block boundary checks whether the kernels are ready and switches to them: the
        run's state (point, counters, the optimizer's state) is the same on both paths."""
        if self._mod is None:
            finished = yield from self._numpy_blocks(emit_start)
            if finished:
                return
            self._mod = jit.row_kernels(False)
            emit_start = False
        if (yield from self._compiled_blocks(emit_start)) == "numpy":
            self._compiled, self._mod = False, None  # lr_layers or a penalty set during the run
            yield from self._numpy_blocks(False)

    # ---- the NumPy path -------------------------------------------------------------------
    def _numpy_blocks(self, emit_start: bool) -> Iterator[Block]:
        """NumPy blocks until the run stops (returns True) or the kernels become ready."""
        tr = self._numpy
        tr.x, tr.epoch = self.x, self.epoch
        tr.val_best, tr.val_fails = self.val_best, self.val_fails
        it = tr.run(emit_start)
        done, first = False, emit_start
        while not done:
            recs: list[Record] = []
            cap = self._limit(first) + (1 if first else 0)
            first = False
            t_end = time.perf_counter() + self.block_seconds
            with np.errstate(all="ignore"):
                for rec in it:
                    recs.append(rec)
                    if rec.stop or len(recs) >= cap or time.perf_counter() >= t_end:
                        break
                else:
                    done = True
            self.x, self.epoch, self.val_best, self.val_fails = (
                tr.x, tr.epoch, tr.val_best, tr.val_fails
            )  # fmt: skip
            if recs:
                cols, x = records_to_arrays(recs)
                yield Block(cols, x, recs[-1].stop)
                done = done or recs[-1].stop is not None
            if not done and self._compiled and jit.row_kernels(False) is not None:
                return False
        return True

    # ---- the compiled path ----------------------------------------------------------------
    def _compiled_blocks(self, emit_start: bool) -> Iterator[Block]:
        obj, opt, crit, mod = self.objective, self.optimizer, self.criteria, self._mod
        if layer_rates_active(opt.hyper) or obj.penalty:  # set before the kernels were ready
            return "numpy"
        plan = build_plan(obj)
        fast = obj.perf.name == "sse" and obj.validation is None and math.isinf(crit.max_time)
        t_end = time.perf_counter() + crit.max_time if math.isfinite(crit.max_time) else None
        cvec = driver.crit_vector(crit, fast)
        nf = obj.n_free
        sgd = opt.name == "sgd"
        first = emit_start
        while True:
            if layer_rates_active(opt.hyper) or obj.penalty:  # set during the run
                return "numpy"  # continue on NumPy
            hyp = driver.hyper_vector(opt, plan.lr_scale)  # read each block: live changes
            st, dx = driver.row_state(opt, nf, self.epoch, self.val_best, self.val_fails)
            k = int(min(self._k, max(1, crit.epochs - self.epoch), self._limit(first)))
            perms = np.empty((0, plan.Q), dtype=np.int64)
            if sgd:
                rng_state = opt.rng.bit_generator.state
                perms = opt.rng.permuted(np.tile(np.arange(plan.Q), (k, 1)), axis=1)
            cols = np.empty((k + 1, 6))
            xs = np.empty((k + 1, nf))
            x = np.array(self.x, dtype=np.float64)
            t0 = time.perf_counter()
            n, code, _ = driver.run_row(mod, plan, opt.name, hyp, cvec, st, x, dx, perms, k,
                                        first, cols, xs)  # fmt: skip
            dt = time.perf_counter() - t0
            stepped = n - (1 if first else 0)
            if sgd and stepped < k:  # give back the permutations of epochs not run
                opt.rng.bit_generator.state = rng_state
                opt.rng.permuted(np.tile(np.arange(plan.Q), (stepped, 1)), axis=1)
            self._store_state(st, dx)
            start_epoch = self.epoch - stepped + (0 if first else 1)
            stop = STOP_NAMES[code]
            if stop is None and t_end is not None and time.perf_counter() >= t_end:
                stop = "time"
            block = Block(self._columns(cols[:n], start_epoch), xs[:n], stop)
            x.flags.writeable = False
            self.x = x
            first = False
            if n:
                yield block
            if stop is not None:
                return
            if stepped == k == self._k:  # aim the next call at block_seconds
                scale = self.block_seconds / max(dt, 1e-6)
                self._k = int(min(MAX_BLOCK, max(1, self._k * min(4.0, max(0.25, scale)))))

    def _store_state(self, st: np.ndarray, dx: np.ndarray) -> None:
        self.epoch, self.val_best, self.val_fails = int(st[3]), float(st[4]), int(st[5])
        driver.store_state(self.optimizer, st, dx)

    @staticmethod
    def _columns(table: np.ndarray, start_epoch: int) -> dict[str, np.ndarray]:
        cols = {"epoch": np.arange(start_epoch, start_epoch + len(table), dtype=np.int64)}
        for j, c in enumerate(COLUMNS[1:]):
            cols[c] = table[:, j].copy()
        return cols


def measure_kernel(objective: Objective, kernel: str, epochs: int) -> float:
    """CPU seconds of ``epochs`` epochs of steepest descent (a step too small to matter)
    on ``kernel``: what :func:`bpgui_engine.train.choose.calibrate` compares."""
    opt = OPTIMIZERS["sd"](OPTIMIZERS["sd"].Hyper.from_dict({"lr": 1e-12}))
    crit = StopCriteria(epochs=int(epochs))
    ft = FastTrainer(objective, opt, objective.x0(), crit, kernel=kernel, block_seconds=1.0)
    t0 = time.process_time()
    for _ in ft.blocks(emit_start=False):
        pass
    return time.process_time() - t0


# ---- many starts at once ---------------------------------------------------------------------
def fast_train_batch(
    objective: Objective,
    X0: np.ndarray,
    method: str = "sd",
    hyper: dict | None = None,
    epochs: int = 1000,
    goal: float = 0.0,
    stride: int = 1,
    should_stop: Callable[[], bool] | None = None,
    *,
    min_grad: float = 0.0,
    chunk_seconds: float = 0.05,
    wait: bool = True,
    block: bool = True,
) -> BatchResult:
    """:func:`bpgui_engine.train.batch.train_batch` in compiled code, rows in parallel over the
    cores.

    Every row runs exactly what :class:`FastTrainer` runs from that start (``sd``,
    ``momentum`` or ``vlbp``; the trainer's stop tests), so a row equals a single run.
    ``should_stop`` is checked between calls of about ``chunk_seconds``.  Falls back to
    :func:`bpgui_engine.train.batch.train_batch` (``lm``, or no numba; ``wait=False``: also while
    numba
    is still compiling).  :data:`FAST_BATCH_METHODS` lists the methods.  ``block``: run
    ``sd``/``momentum``/``vlbp`` rows side by side in SIMD lanes
    (:mod:`bpgui_engine.jit.block`, where it
    covers the network; the same numbers); ``False`` forces one row per loop iteration."""
    if method not in FAST_BATCH_METHODS:
        names = ", ".join(FAST_BATCH_METHODS)
        raise ValueError(f"batch: method must be one of {names}, not {method!r}")
    if layer_rates_active(hyper or {}):
        raise ValueError("batch: per-layer learning rates (lr_layers) are not supported here")
    compiled = method in COMPILED_BATCH_METHODS and not objective.penalty
    if method == "vlbp" and objective.penalty:
        raise ValueError("batch: vlbp has no weight penalty (L2/L1) in its compiled kernel")
    mod = jit.kernels(wait) if compiled else None
    big = mod is not None and method != "vlbp"  # a large network: NumPy's batched GEMMs
    if big and choose_kernel(objective, True, None, measure_kernel)[0] != "numba":
        mod = None
    if mod is None:
        if method == "vlbp":
            why = jit.unavailable_reason() or "numba is still compiling"
            raise ValueError(f"batch: vlbp needs the compiled kernel ({why})")
        return train_batch(
            objective, X0, method, hyper, epochs, goal, stride, should_stop, min_grad
        )
    opt = OPTIMIZERS[method](OPTIMIZERS[method].Hyper.from_dict(hyper or {}))
    X = np.array(X0, dtype=np.float64, order="C")  # one layout: one compiled specialization
    if X.ndim != 2 or X.shape[1] != objective.n_free:
        raise ValueError(f"batch: X0 must have shape (B, {objective.n_free}), got {X.shape}")
    if int(stride) < 1:
        raise ValueError("batch: stride must be >= 1")
    crit = StopCriteria(epochs=int(epochs), goal=float(goal), min_grad=float(min_grad))
    plan = build_plan(objective)
    B, nf, stride = X.shape[0], X.shape[1], int(stride)
    st, _ = driver.row_state(opt, nf, 0, math.inf, 0)
    ST = np.tile(st, (B, 1))
    DX, F = np.zeros((B, nf)), np.full(B, np.nan)
    STOP = np.zeros(B, dtype=np.int64)
    slots = int(epochs) // stride + 1
    path, path_f = np.empty((slots, B, nf)), np.empty((slots, B))
    hyp = driver.hyper_vector(opt, plan.lr_scale)
    cvec = driver.crit_vector(crit, True)
    # a first call of ~1 epoch per row times the rest; few large calls after it (every call
    # starts a parallel region: on a busy machine its barrier costs milliseconds)
    k, stopped, first = 1, False, True
    while True:
        t0 = time.perf_counter()
        try:
            driver.run_batch(
                mod, plan, method, hyp, cvec, ST, X, DX, F, STOP, k, stride, path, path_f, block
            )
        except TypeError:  # frozen kernels (the window's) without these types: nothing ran
            if not first:
                raise
            if method == "vlbp":
                raise ValueError(
                    "batch: vlbp needs the compiled kernel (not loaded for these types)"
                ) from None
            return train_batch(
                objective, X0, method, hyper, epochs, goal, stride, should_stop, min_grad
            )
        first = False
        dt = time.perf_counter() - t0
        if np.all(STOP != 0):
            break
        if should_stop is not None and should_stop():
            stopped = True
            break
        k = int(min(MAX_BLOCK, max(1, k * chunk_seconds / max(dt, 1e-6))))
    n_ep = ST[:, 3].astype(np.int64)
    stop = np.array([STOP_NAMES[c] or "stopped" for c in STOP], dtype=object)
    if stopped:
        stop[STOP == 0] = "stopped"
    last = int(n_ep.max())
    n_slots = last // stride + 1
    path, path_f = path[:n_slots], path_f[:n_slots]
    for r in np.flatnonzero(n_ep // stride + 1 < n_slots):  # rows that ended early stay put
        path[n_ep[r] // stride + 1 :, r] = X[r]
        path_f[n_ep[r] // stride + 1 :, r] = F[r]
    path_e = np.arange(0, last + 1, stride, dtype=np.int64)
    if last % stride:
        path = np.concatenate([path, X[None]])
        path_f = np.concatenate([path_f, F[None]])
        path_e = np.append(path_e, last)
    with np.errstate(all="ignore"):
        gn = _norms(objective.value_and_grad_batch(X)[1])
    return BatchResult(X, F, n_ep, stop, path, path_f, path_e, gn)
