"""Hyperparameter sweeps: one run per cell of a grid over two hyperparameters.  Qt-free.

Every cell trains the setup's network from one start point with one optimizer whose two
chosen hyperparameters take the cell's values (the others as given), for at most
``epochs`` epochs: one compiled single run (:class:`~engine.train.fast.FastTrainer`, about a
million epochs a second; the NumPy trainer for cg, lm, adam) per cell.  Cells are computed
in chunks (a row of the grid each) in worker threads here, or on a Dask cluster
(:mod:`engine.maps.cluster`); each cell's result is its single run's, wherever it ran.

The axes are linear, or geometric where the hyperparameter's metadata says ``log``.
:func:`stability_bound` gives the largest stable learning rate at a minimum, in the
engine's units (for the line a sweep plot draws).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.analysis.curvature import stability_bound as curvature_stability_bound
from bpgui_engine.maps.cluster import DEFAULT_TIMEOUT, ChunkFailed, run_chunks
from bpgui_engine.maps.grid import (
    MISSING,
    STOP_CODES,
    axis_values,
    check_range,
    check_resolution,
    csv_text,
    stop_codes,
)
from bpgui_engine.model.setup import Setup, setup_from_dict, setup_to_dict
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria

__all__ = [
    "SweepJob",
    "SweepResult",
    "bound_eigenvalue",
    "stability_bound",
    "sweep",
    "sweep_chunk",
    "sweep_from_dict",
    "sweep_to_dict",
]


@dataclass(frozen=True)
class SweepResult:
    optimizer: str
    x_param: str
    y_param: str
    xs: np.ndarray  # (nx,) values of x_param
    ys: np.ndarray  # (ny,)
    x_log: bool
    y_log: bool
    hyper: dict[str, Any]  # the other hyperparameters
    performance: np.ndarray  # (nx, ny) final F (NaN: not computed)
    epochs: np.ndarray  # (nx, ny) int64 epochs run (-1: not computed)
    stop: np.ndarray  # (nx, ny) int8 STOP_CODES index (-1: not computed)
    goal: float
    max_epochs: int
    partial: bool

    @property
    def reached(self) -> np.ndarray:
        """Cells whose run met the goal (the run stops at the first such epoch)."""
        return self.stop == STOP_CODES.index("goal")

    @property
    def diverged(self) -> np.ndarray:
        return self.stop == STOP_CODES.index("diverged")

    @property
    def epochs_to_goal(self) -> np.ndarray:
        """(nx, ny) float: the first epoch with performance <= goal, NaN where not reached."""
        return np.where(self.reached, self.epochs, np.nan)

    def to_csv(self) -> str:
        """One row per cell (x-major): the two hyperparameters, ``epochs_to_goal`` (empty
        when not reached), ``performance``, ``epochs``, ``stop`` (``diverged``, ``epochs``:
        goal not reached, …; ``not computed``)."""
        header = [self.x_param, self.y_param, "epochs_to_goal", "performance", "epochs", "stop"]
        rows = []
        for ix, x in enumerate(self.xs.tolist()):
            for iy, y in enumerate(self.ys.tolist()):
                c = int(self.stop[ix, iy])
                if c < 0:
                    rows.append([x, y, None, None, None, "not computed"])
                    continue
                ep = int(self.epochs[ix, iy])
                hit = ep if STOP_CODES[c] == "goal" else None
                rows.append([x, y, hit, float(self.performance[ix, iy]), ep, STOP_CODES[c]])
        return csv_text(header, rows)


def sweep_chunk(
    setup_doc: dict, x0: np.ndarray, optimizer: str, hypers: list[dict], epochs: int,
    goal: float, min_grad: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One single run per hyperparameter dict: ``(F, epochs, stop codes)``."""
    obj = setup_from_dict(setup_doc).objective()  # one objective per chunk (thread-safe)
    crit = StopCriteria(epochs=int(epochs), goal=float(goal), min_grad=float(min_grad))
    cls = OPTIMIZERS[optimizer]
    F, n_ep, stops = np.empty(len(hypers)), np.empty(len(hypers), dtype=np.int64), []
    with np.errstate(all="ignore"):
        for i, h in enumerate(hypers):
            tr = FastTrainer(obj, cls(cls.Hyper.from_dict(h)), x0, crit, block_seconds=0.05)
            for block in tr.blocks():
                last = block
            F[i], n_ep[i] = last.cols["performance"][-1], last.cols["epoch"][-1]
            stops.append(last.stop)
    return F, n_ep, stop_codes(stops)


def _axis(cls, name: str, rng, n: int, base: dict) -> tuple[np.ndarray, bool]:
    fields = {f.name: f for f in dataclasses.fields(cls.Hyper)}
    if name not in fields:
        raise ValueError(f"{cls.name} has no hyperparameter {name!r}; valid: {', '.join(fields)}")
    f = fields[name]
    if f.metadata.get("choices"):
        raise ValueError(f"sweep: {name} is a choice, not a number: it cannot be swept")
    lo, hi = check_range(name, *rng)
    for v in (lo, hi):  # the field's own range (names the field and the allowed range)
        cls.Hyper.from_dict({**base, name: int(v) if f.type in ("int", int) else v})
    log = bool(f.metadata.get("log")) and lo > 0
    vals = axis_values(lo, hi, n, log)
    if f.type in ("int", int):
        vals = np.round(vals)
    return vals, log


class SweepJob:
    """A validated sweep in progress; ``chunks()`` computes it, ``result()`` reports it."""

    def __init__(
        self,
        setup: Setup,
        x_param: str,
        x_range: tuple[float, float],
        y_param: str,
        y_range: tuple[float, float],
        *,
        resolution: int | tuple[int, int] = 30,
        optimizer: str | None = None,
        hyper: dict[str, Any] | None = None,
        x0: np.ndarray | None = None,
        epochs: int = 2000,
        goal: float | None = None,
        min_grad: float | None = None,
    ) -> None:
        opt = setup.optimizer if optimizer is None else optimizer
        if opt not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown {opt!r}; choose one of {', '.join(OPTIMIZERS)}")
        cls = OPTIMIZERS[opt]
        if hyper is None:
            hyper = setup.hyper if opt == setup.optimizer else {}
        base = cls.Hyper.from_dict(dict(hyper)).to_dict()
        if x_param == y_param:
            raise ValueError("sweep: choose two different hyperparameters")
        nx, ny = (resolution, resolution) if np.isscalar(resolution) else resolution
        self.xs, self.x_log = _axis(cls, x_param, x_range, check_resolution(nx, 1, 2000), base)
        self.ys, self.y_log = _axis(cls, y_param, y_range, check_resolution(ny, 1, 2000), base)
        if isinstance(epochs, bool) or int(epochs) != epochs or not 1 <= epochs <= 10**9:
            raise ValueError(f"epochs: must be an integer in [1, 1e9], got {epochs!r}")
        crit = StopCriteria(
            epochs=int(epochs),
            goal=setup.criteria.goal if goal is None else goal,
            min_grad=setup.criteria.min_grad if min_grad is None else min_grad,
        )
        x0 = setup.start() if x0 is None else np.array(x0, dtype=float)
        if x0.shape != (len(setup.free),) or not np.all(np.isfinite(x0)):
            raise ValueError(f"start: expected {len(setup.free)} finite values")
        self.setup, self.optimizer, self.base, self.x0 = setup, opt, base, x0
        self.x_param, self.y_param = x_param, y_param
        self.epochs, self.goal, self.min_grad = crit.epochs, crit.goal, crit.min_grad
        shape = (len(self.xs), len(self.ys))
        self._F = np.full(shape, np.nan)
        self._ep = np.full(shape, -1, dtype=np.int64)
        self._stop = np.full(shape, MISSING, dtype=np.int8)
        self.failed: list[str] = []
        self._cast = {
            f.name: (int if f.type in ("int", int) else float)
            for f in dataclasses.fields(cls.Hyper)
        }

    def _hyper(self, xv: float, yv: float) -> dict[str, Any]:
        c = self._cast
        return {**self.base, self.x_param: c[self.x_param](xv), self.y_param: c[self.y_param](yv)}

    def chunks(
        self, scheduler: str | Any | None = None, *, workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT, retries: int = 2,
    ) -> Iterator[int]:  # fmt: skip
        """Compute the rows not yet done (one chunk per x value); yield each finished row's
        index ``ix``.  Stop iterating to cancel: the rows done stay."""
        rows = [ix for ix in range(len(self.xs)) if np.any(self._stop[ix] < 0)]
        doc = setup_to_dict(self.setup)
        payloads = [
            (doc, self.x0, self.optimizer, [self._hyper(self.xs[ix], y) for y in self.ys],
             self.epochs, self.goal, self.min_grad)
            for ix in rows
        ]  # fmt: skip
        n = workers or os.cpu_count() or 1
        for i, res in run_chunks(
            sweep_chunk, payloads, scheduler=scheduler, workers=n, retries=retries,
            timeout=timeout,
        ):  # fmt: skip
            ix = rows[i]
            if isinstance(res, ChunkFailed):
                self.failed.append(res.message)
                continue
            self._F[ix], self._ep[ix], self._stop[ix] = res
            yield ix

    def result(self) -> SweepResult:
        return SweepResult(
            self.optimizer, self.x_param, self.y_param, self.xs.copy(), self.ys.copy(),
            self.x_log, self.y_log,
            {k: v for k, v in self.base.items() if k not in (self.x_param, self.y_param)},
            self._F.copy(), self._ep.copy(), self._stop.copy(), self.goal, self.epochs,
            bool(np.any(self._stop < 0)),
        )  # fmt: skip


def sweep(setup: Setup, *args: Any, scheduler: str | Any | None = None, **kw: Any) -> SweepResult:
    """Build a :class:`SweepJob` (same arguments), compute every cell, return the result."""
    job = SweepJob(setup, *args, **kw)
    for _ in job.chunks(scheduler):
        pass
    return job.result()


def stability_bound(setup: Setup, x_min: np.ndarray, gamma: float = 0.0) -> float:
    """The largest stable learning rate near the minimum ``x_min`` (free parameters), in
    the engine's units (the rate multiplies the sample-averaged gradient, ``lr_scale``).

    Near a minimum steepest descent is ``dx = -lr s H dx`` per eigenvector of the Hessian
    ``H`` (``s = lr_scale``); it converges iff ``lr s lambda < 2`` for every eigenvalue
    (NND eq. 9.25), so ``lr < 2 / (s lambda_max)``.  With the book's momentum (``gamma``,
    NND eq. 12.36) the characteristic polynomial ``z^2 - (1 + gamma - (1 - gamma) lr s
    lambda) z + gamma`` has both roots inside the unit circle iff
    ``lr < 2 (1 + gamma) / ((1 - gamma) s lambda_max)``; ``gamma = 0`` is steepest descent.
    ``H`` is the exact Hessian (:meth:`bpgui_engine.model.objective.Objective.hessian`); the
    formula is
    :func:`bpgui_engine.analysis.curvature.stability_bound`'s."""
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma: must be in [0, 1), got {gamma!r}")
    lam, scale, _ = bound_eigenvalue(setup, x_min)
    return curvature_stability_bound(lam, scale, gamma)


def bound_eigenvalue(setup: Setup, x_min: np.ndarray) -> tuple[float, float, str]:
    """``(lambda_max, lr_scale, words)``: the largest eigenvalue of the performance index's
    own Hessian at ``x_min`` (the critical-points table shows that Hessian), the factor the
    engine's rate multiplies the gradient by, and what the bound's ``lambda_max`` then is.

    The bound is ``2 / (lr_scale lambda_max)``: for the book's SSE ``lr_scale = 1/Q``, so
    it is ``2 / lambda_max`` of the Hessian of ``SSE / Q``, the per-sample mean (0.0282 at
    the book's minimum, where the SSE Hessian's is 1.156 and Q = 41)."""
    obj = setup.objective()
    x = np.asarray(x_min, dtype=float)
    if x.shape != (obj.n_free,):
        raise ValueError(f"x_min: expected {obj.n_free} values, got {x.shape}")
    lam = float(np.linalg.eigvalsh(obj.hessian(x)).max())
    if not lam > 0:
        raise ValueError("stability bound: the Hessian has no positive eigenvalue there")
    P, s = obj.perf.name.upper(), obj.lr_scale
    if s == 1.0:
        words = f"λmax = {lam:.3g} of the {P} Hessian"
    else:
        q = obj.data.n_samples
        words = (f"λmax = {s * lam:.3g} of the Hessian of {P}/Q, the per-sample mean "
                 f"(= the {P} Hessian's {lam:.4g} / Q, Q = {q})")  # fmt: skip
    return lam, s, words


SWEEP_FORMAT = "bpgui-sweep"


def sweep_to_dict(r: SweepResult) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(doc, arrays)``: ``doc`` plain JSON; ``arrays`` named ``sweep_{field}``."""
    doc = {
        "format": SWEEP_FORMAT, "version": 1, "optimizer": r.optimizer,
        "x_param": r.x_param, "y_param": r.y_param, "x_log": r.x_log, "y_log": r.y_log,
        "hyper": dict(r.hyper), "goal": r.goal, "max_epochs": r.max_epochs,
        "partial": r.partial,
    }  # fmt: skip
    names = ("xs", "ys", "performance", "epochs", "stop")
    return doc, {f"sweep_{k}": np.array(getattr(r, k)) for k in names}


def sweep_from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> SweepResult:
    """Inverse of :func:`sweep_to_dict`; ``ValueError`` naming what is malformed."""
    if not isinstance(doc, dict) or doc.get("format") != SWEEP_FORMAT or doc.get("version") != 1:
        raise ValueError(f"sweep: not a version-1 {SWEEP_FORMAT} object")
    try:
        xs = np.asarray(arrays["sweep_xs"], dtype=float)
        ys = np.asarray(arrays["sweep_ys"], dtype=float)
        grid = {k: np.asarray(arrays[f"sweep_{k}"]) for k in ("performance", "epochs", "stop")}
        for k, v in grid.items():
            if v.shape != (len(xs), len(ys)):
                raise ValueError(f"sweep: {k} has shape {v.shape}, expected {(len(xs), len(ys))}")
        return SweepResult(
            str(doc["optimizer"]), str(doc["x_param"]), str(doc["y_param"]), xs, ys,
            bool(doc["x_log"]), bool(doc["y_log"]), dict(doc["hyper"]),
            grid["performance"].astype(float), grid["epochs"].astype(np.int64),
            grid["stop"].astype(np.int8), float(doc["goal"]), int(doc["max_epochs"]),
            bool(doc["partial"]),
        )  # fmt: skip
    except KeyError as exc:
        raise ValueError(f"sweep: the field {exc} is missing") from None
