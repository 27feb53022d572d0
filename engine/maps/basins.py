"""Basin-of-attraction maps: which minimum each start point of a grid trains into.  Qt-free.

Every cell of an ``N x N`` grid over a setup's two contour axes is a start point (the
other free parameters at the setup's start values).  Each is trained with one optimizer
for at most ``epochs`` epochs, stopping early at the goal, at the minimum gradient, or
when the weights stop changing, by the batch engine
(:func:`bpgui_engine.train.fast.fast_train_batch`:
compiled, rows in parallel; it falls back to :func:`bpgui_engine.train.batch.train_batch`);
optimizers
the batch engine lacks (cg, sgd, adam) run one :class:`~engine.train.fast.FastTrainer` per cell.
Every cell's result is that of a single run from its start.

Cells are computed in chunks (:meth:`BasinJob.chunks` yields as each finishes, here or on
a Dask cluster, see :mod:`engine.maps.cluster`), so a caller can draw them as they come and
cancel between chunks; :meth:`BasinJob.result` is the map so far (``partial`` until every
cell is in).  End points are grouped into minima by
:func:`bpgui_engine.analysis.valleys.group_minima`.

Labels are stable: once :meth:`BasinJob.result` has named a group ``M3`` it stays ``M3``
however many chunks arrive later (a group keeps the label of the cell it was first
represented by); groups new in one call are numbered by performance, then coordinates.
Once every cell is computed the labels are numbered by performance, then coordinates, so
the finished map is the same however it was chunked (M1 the lowest).  (Before, labels were
renumbered by performance on every call: M1 was first a saddle, then the minimum found
later.)  What each group is -- minimum, saddle, flat floor, not stationary -- is
:func:`bpgui_engine.analysis.curvature.kinds_at`'s word (the critical-points classifier).

Arrays are indexed ``[ix, iy]`` like :class:`bpgui_engine.analysis.surface.Surface` (pyqtgraph
images).
``labels``: minimum ``k >= 0`` (M{k+1}), :data:`NOT_CONVERGED`, :data:`DIVERGED`, or
:data:`~engine.maps.grid.MISSING` (-1) for a cell not computed; ``stop`` holds
:data:`bpgui_engine.maps.grid.STOP_CODES` indices (-1: not computed).

A long module (just over 400 lines): the job, its chunks and the labelling of minima share
the cell layout and its memory estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine import jit
from bpgui_engine.analysis.valleys import group_minima
from bpgui_engine.maps.cluster import DEFAULT_TIMEOUT, ChunkFailed, run_chunks
from bpgui_engine.maps.grid import (
    MISSING,
    STOP_CODES,
    check_range,
    check_resolution,
    csv_text,
    stop_codes,
)
from bpgui_engine.memory import MemoryLimitError, available_bytes, fmt_bytes, run_bytes
from bpgui_engine.model.setup import Setup, setup_from_dict, setup_to_dict
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.batch import BATCH_METHODS
from bpgui_engine.train.fast import FastTrainer, fast_train_batch
from bpgui_engine.train.trainer import StopCriteria

__all__ = [
    "DIVERGED",
    "NOT_CONVERGED",
    "BasinJob",
    "BasinMap",
    "basin_bytes",
    "basin_chunk",
    "basin_from_dict",
    "basin_map",
    "basin_to_dict",
]

NOT_CONVERGED = -2
DIVERGED = -3
COMPILED_BATCH = ("sd", "momentum", "vlbp")


@dataclass(frozen=True)
class BasinMap:
    x_label: str
    y_label: str
    xs: np.ndarray  # (N,) start values of the x axis
    ys: np.ndarray  # (N,)
    free: tuple[str, ...]  # the free parameters (columns of ``end``)
    end: np.ndarray  # (N, N, n_free) end points (NaN: not computed)
    performance: np.ndarray  # (N, N) final F (NaN: not computed)
    grad_norm: np.ndarray  # (N, N) final ||dF/dx||
    epochs: np.ndarray  # (N, N) int64 epochs run (-1: not computed)
    stop: np.ndarray  # (N, N) int8 STOP_CODES index (-1: not computed)
    labels: np.ndarray  # (N, N) int64: minimum index, NOT_CONVERGED, DIVERGED, MISSING
    minima: np.ndarray  # (K, n_free) the lowest end point of each minimum (label k: row k)
    minima_performance: np.ndarray  # (K,) its performance (see the module for the order)
    partial: bool  # some cells not computed (cancelled, or lost on a cluster)
    optimizer: str
    hyper: dict[str, Any]
    max_epochs: int
    kernel: str  # "numba", "numpy" or "mixed": which code computed the cells
    goal: float = 0.0
    min_grad: float = 0.0

    @property
    def resolution(self) -> int:
        return len(self.xs)

    def minimum_name(self, code: int) -> str:
        if code >= 0:
            return f"M{code + 1}"
        return {NOT_CONVERGED: "not converged", DIVERGED: "diverged"}.get(code, "not computed")

    def counts(self) -> dict[str, int]:
        """Cells per label (``M1``, …, ``not converged``, ``diverged``, ``not computed``)."""
        codes, n = np.unique(self.labels, return_counts=True)
        return {self.minimum_name(int(c)): int(k) for c, k in zip(codes, n, strict=True)}

    def to_csv(self) -> str:
        """One row per cell (x-major): the two start values under the axis labels, the end
        point (``end LABEL`` per free parameter), ``performance``, ``epochs``, ``minimum``
        (``M1``, … or empty when not converged) and ``stop``."""
        header = [self.x_label, self.y_label, *(f"end {f}" for f in self.free)]
        header += ["performance", "epochs", "minimum", "stop"]
        rows = []
        for ix, x in enumerate(self.xs.tolist()):
            for iy, y in enumerate(self.ys.tolist()):
                code = int(self.stop[ix, iy])
                if code < 0:
                    rows.append([x, y, *([None] * len(self.free)), None, None, "", "not computed"])
                    continue
                lab = int(self.labels[ix, iy])
                rows.append(
                    [x, y, *self.end[ix, iy].tolist(), float(self.performance[ix, iy]),
                     int(self.epochs[ix, iy]), f"M{lab + 1}" if lab >= 0 else "",
                     STOP_CODES[code]]
                )  # fmt: skip
        return csv_text(header, rows)


def basin_chunk(
    setup_doc: dict, X0: np.ndarray, optimizer: str, hyper: dict, epochs: int, goal: float,
    min_grad: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:  # fmt: skip
    """Train every row of ``X0``: ``(end, F, epochs, stop codes, grad norms, kernel)``.

    A module-level function of plain arguments, so that it runs the same here and on a
    Dask worker."""
    obj = setup_from_dict(setup_doc).objective()
    X0 = np.asarray(X0, dtype=np.float64)
    compiled = optimizer in COMPILED_BATCH and jit.kernels() is not None
    compiled = compiled and not obj.penalty  # a weight penalty: NumPy (vlbp: one by one)
    with np.errstate(all="ignore"):
        if compiled or optimizer in BATCH_METHODS:
            r = fast_train_batch(
                obj, X0, optimizer, hyper, epochs, goal, stride=max(1, epochs), min_grad=min_grad
            )
            gn = r.grad_norm
            if gn is None:  # the compiled batch does not return it: one batched evaluation
                _, G = obj.value_and_grad_batch(r.x)
                gn = np.where(np.all(np.isfinite(G), 1), np.sqrt(np.einsum("bi,bi->b", G, G)),
                              np.inf)  # fmt: skip
            kernel = "numba" if compiled else "numpy"
            return r.x, r.performance, r.epochs, stop_codes(r.stop), gn, kernel
        return _single_runs(obj, X0, optimizer, hyper, epochs, goal, min_grad)


def _single_runs(obj, X0, optimizer, hyper, epochs, goal, min_grad):
    B, n = X0.shape
    end, F, gn = np.empty((B, n)), np.empty(B), np.empty(B)
    n_ep, stops = np.empty(B, dtype=np.int64), []
    crit = StopCriteria(epochs=int(epochs), goal=float(goal), min_grad=float(min_grad))
    cls = OPTIMIZERS[optimizer]
    kernel = "numpy"
    for b in range(B):
        tr = FastTrainer(obj, cls(cls.Hyper.from_dict(hyper)), X0[b], crit, block_seconds=0.05)
        kernel = tr.kernel
        for block in tr.blocks():
            last = block
        c = last.cols
        end[b], F[b], gn[b] = last.x[-1], c["performance"][-1], c["grad_norm"][-1]
        n_ep[b] = c["epoch"][-1]
        stops.append(last.stop)
    return end, F, n_ep, stop_codes(stops), gn, kernel


def basin_bytes(setup: Setup, resolution: int, optimizer: str, chunk: int) -> int:
    """Peak bytes of a map: the kept per-cell arrays plus one chunk in training."""
    n_free = len(setup.free)
    cells = resolution * resolution
    kept = cells * (8 * (2 * n_free + 4) + 1)  # start, end, F, |g|, epochs, labels; stop
    data, _ = setup.data.build()
    train, _ = run_bytes(setup.spec, data.n_samples, n_free, optimizer, batch=chunk)
    paths = chunk * 8 * (5 * n_free + 12)  # the batch kernel's X, dX, path (2 slots), state
    return kept + train + paths


class BasinJob:
    """A validated basin map in progress (see the module); ``chunks()`` computes it."""

    def __init__(
        self,
        setup: Setup,
        *,
        resolution: int = 100,
        epochs: int = 2000,
        optimizer: str | None = None,
        hyper: dict[str, Any] | None = None,
        goal: float | None = None,
        min_grad: float | None = None,
        x_range: tuple[float, float] | None = None,
        y_range: tuple[float, float] | None = None,
        chunk_cells: int | None = None,
        tol: float = 2e-2,
    ) -> None:
        N = check_resolution(resolution)
        if isinstance(epochs, bool) or int(epochs) != epochs or not 1 <= epochs <= 10**9:
            raise ValueError(f"epochs: must be an integer in [1, 1e9], got {epochs!r}")
        xl, yl = setup.axes
        if not {xl, yl} <= set(setup.free):
            raise ValueError(f"basins: both axes ({xl}, {yl}) must be free parameters")
        opt = setup.optimizer if optimizer is None else optimizer
        if opt not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown {opt!r}; choose one of {', '.join(OPTIMIZERS)}")
        if hyper is None:
            hyper = setup.hyper if opt == setup.optimizer else {}
        self.hyper = OPTIMIZERS[opt].Hyper.from_dict(dict(hyper)).to_dict()  # names a bad one
        self.optimizer, self.epochs, self.tol = opt, int(epochs), float(tol)
        crit = StopCriteria(
            epochs=self.epochs,
            goal=setup.criteria.goal if goal is None else goal,
            min_grad=setup.criteria.min_grad if min_grad is None else min_grad,
        )  # validates goal and min_grad
        self.goal, self.min_grad = float(crit.goal), float(crit.min_grad)
        (x0, x1) = check_range(xl, *(x_range or setup.ranges[0]))
        (y0, y1) = check_range(yl, *(y_range or setup.ranges[1]))
        cells = N * N
        self.chunk = int(chunk_cells or min(4096, max(256, cells // 16)))
        need = basin_bytes(setup, N, opt, min(self.chunk, cells))
        have, source = available_bytes()
        if need > have:
            raise MemoryLimitError(
                f"basins: a {N:,}x{N:,} map needs about {fmt_bytes(need)}, more than the "
                f"{fmt_bytes(have)} of {source}: lower the resolution"
            )
        self.setup, self.N = setup, N
        self.xs, self.ys = np.linspace(x0, x1, N), np.linspace(y0, y1, N)
        self.free = tuple(setup.free)
        starts = np.tile(setup.start(), (cells, 1))
        starts[:, self.free.index(xl)] = np.repeat(self.xs, N)  # cell ix*N + iy
        starts[:, self.free.index(yl)] = np.tile(self.ys, N)
        self.starts = starts
        nf = len(self.free)
        self._end = np.full((cells, nf), np.nan)
        self._F, self._gn = np.full(cells, np.nan), np.full(cells, np.nan)
        self._ep = np.full(cells, -1, dtype=np.int64)
        self._stop = np.full(cells, MISSING, dtype=np.int8)
        self._kernels: set[str] = set()
        self.failed: list[str] = []  # messages of chunks lost on a cluster
        # the labels given so far: label k -> [cell first representing it, centre, F]
        self._named: list[list] = []

    @property
    def cells(self) -> int:
        return self.N * self.N

    @property
    def done(self) -> int:
        return int(np.count_nonzero(self._stop >= 0))

    def chunks(
        self, scheduler: str | Any | None = None, *, timeout: float = DEFAULT_TIMEOUT,
        retries: int = 2,
    ) -> Iterator[np.ndarray]:  # fmt: skip
        """Compute the cells not yet done; yield each finished chunk's flat cell indices
        (``ix * N + iy``).  Stop iterating (or ``close()``) to cancel: the cells done stay."""
        todo = np.flatnonzero(self._stop < 0)
        parts = [todo[i : i + self.chunk] for i in range(0, todo.size, self.chunk)]
        doc = setup_to_dict(self.setup)
        payloads = [
            (doc, self.starts[p], self.optimizer, self.hyper, self.epochs, self.goal,
             self.min_grad)
            for p in parts
        ]  # fmt: skip
        for i, res in run_chunks(
            basin_chunk, payloads, scheduler=scheduler, workers=1, retries=retries,
            timeout=timeout,
        ):  # fmt: skip
            cells = parts[i]
            if isinstance(res, ChunkFailed):
                self.failed.append(res.message)
                yield cells[:0]
                continue
            end, F, ep, stop, gn, kernel = res
            self._end[cells], self._F[cells], self._ep[cells] = end, F, ep
            self._stop[cells], self._gn[cells] = stop, gn
            self._kernels.add(kernel)
            yield cells

    def result(self) -> BasinMap:
        """The map so far: minima grouped over the cells computed."""
        N, nf = self.N, len(self.free)
        ok = self._stop >= 0
        labels = np.full(self.cells, MISSING, dtype=np.int64)
        if ok.any():
            stops = np.array(STOP_CODES, dtype=object)[self._stop[ok]]
            g = group_minima(
                self.setup.objective(), self._end[ok], self._F[ok], stops, self._gn[ok],
                tol=self.tol,
            )  # fmt: skip
            label = self._stable_labels(g, np.flatnonzero(ok))
            labels[ok] = np.select([g.index == -1, g.index == -2], [NOT_CONVERGED, DIVERGED],
                                   label[np.maximum(g.index, 0)] if label.size else 0)  # fmt: skip
        if ok.all() and self._named:  # complete: numbered by position, however chunked
            order = sorted(
                range(len(self._named)),
                key=lambda k: (self._named[k][2], tuple(self._named[k][1].tolist())),
            )
            remap = np.empty(len(order), dtype=np.int64)
            remap[order] = np.arange(len(order))
            named = labels >= 0
            labels[named] = remap[labels[named]]
            self._named = [self._named[k] for k in order]  # fmt: skip
        minima = np.array([c for _, c, _ in self._named]).reshape(-1, nf)
        minima_f = np.array([f for _, _, f in self._named], dtype=float)
        kernel = "mixed" if len(self._kernels) > 1 else next(iter(self._kernels), "none")
        return BasinMap(
            self.setup.axes[0], self.setup.axes[1], self.xs.copy(), self.ys.copy(), self.free,
            self._end.reshape(N, N, nf).copy(), self._F.reshape(N, N).copy(),
            self._gn.reshape(N, N).copy(), self._ep.reshape(N, N).copy(),
            self._stop.reshape(N, N).copy(), labels.reshape(N, N), minima, minima_f,
            not bool(ok.all()), self.optimizer, dict(self.hyper), self.epochs, kernel,
            self.goal, self.min_grad,
        )  # fmt: skip

    def _stable_labels(self, g, cells: np.ndarray) -> np.ndarray:
        """The label of each of ``g``'s groups (``cells``: the flat cell of each grouped end
        point): a group holding a named cell keeps that name (the lowest, if two groups
        merged); the others get new ones, by performance, then coordinates."""
        reps = np.array([c for c, _, _ in self._named], dtype=np.int64)
        K = len(g.performance)
        label = np.full(K, -1, dtype=np.int64)
        new = []
        for j in range(K):
            members = cells[g.index == j]
            hit = np.flatnonzero(np.isin(reps, members))
            if hit.size:
                label[j] = hit.min()
            else:
                new.append(j)
        new.sort(key=lambda j: (float(g.performance[j]), tuple(g.centres[j].tolist())))
        for j in new:
            label[j] = len(self._named)
            first = int(cells[g.index == j][np.argmin(self._F[cells[g.index == j]])])
            self._named.append([first, None, None])
        for j in range(K):
            self._named[label[j]][1:] = g.centres[j].copy(), float(g.performance[j])
        return label


def basin_map(
    setup: Setup,
    *,
    scheduler: str | Any | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_chunk: Callable[[np.ndarray, BasinJob], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    **options: Any,
) -> BasinMap:
    """Build a :class:`BasinJob` (``options``: its keyword arguments), compute it and return
    the map; ``should_stop()`` is checked between chunks (the map is then partial)."""
    job = BasinJob(setup, **options)
    it = job.chunks(scheduler, timeout=timeout)
    try:
        for cells in it:
            if on_chunk is not None:
                on_chunk(cells, job)
            if should_stop is not None and should_stop():
                break
    finally:
        it.close()
    return job.result()


BASIN_FORMAT = "bpgui-basins"
_ARRAYS = ("xs", "ys", "end", "performance", "grad_norm", "epochs", "stop", "labels")


def basin_to_dict(m: BasinMap) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(doc, arrays)``: ``doc`` plain JSON (labels, settings, the minima as lists);
    ``arrays`` the per-cell NumPy arrays named ``basins_{field}`` (for ``.npy`` members)."""
    doc = {
        "format": BASIN_FORMAT,
        "version": 1,
        "x_label": m.x_label,
        "y_label": m.y_label,
        "free": list(m.free),
        "minima": m.minima.tolist(),
        "minima_performance": m.minima_performance.tolist(),
        "partial": m.partial,
        "optimizer": m.optimizer,
        "hyper": dict(m.hyper),
        "max_epochs": m.max_epochs,
        "kernel": m.kernel,
        "goal": m.goal,
        "min_grad": m.min_grad,
    }
    return doc, {f"basins_{k}": np.array(getattr(m, k)) for k in _ARRAYS}


def basin_from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> BasinMap:
    """Inverse of :func:`basin_to_dict`; ``ValueError`` naming what is malformed."""
    if not isinstance(doc, dict) or doc.get("format") != BASIN_FORMAT:
        raise ValueError(f"basins: not a {BASIN_FORMAT} object")
    if doc.get("version") != 1:
        raise ValueError(f"basins: unsupported version {doc.get('version')!r}")
    try:
        a = {k: np.asarray(arrays[f"basins_{k}"]) for k in _ARRAYS}
        N, nf = len(a["xs"]), len(doc["free"])
        shapes = {"ys": (N,), "end": (N, N, nf), "performance": (N, N), "grad_norm": (N, N),
                  "epochs": (N, N), "stop": (N, N), "labels": (N, N)}  # fmt: skip
        for k, shape in shapes.items():
            if a[k].shape != shape:
                raise ValueError(f"basins: {k} has shape {a[k].shape}, expected {shape}")
        return BasinMap(
            str(doc["x_label"]), str(doc["y_label"]), a["xs"].astype(float),
            a["ys"].astype(float), tuple(map(str, doc["free"])), a["end"].astype(float),
            a["performance"].astype(float), a["grad_norm"].astype(float),
            a["epochs"].astype(np.int64), a["stop"].astype(np.int8),
            a["labels"].astype(np.int64), np.array(doc["minima"], dtype=float).reshape(-1, nf),
            np.array(doc["minima_performance"], dtype=float), bool(doc["partial"]),
            str(doc["optimizer"]), dict(doc["hyper"]), int(doc["max_epochs"]),
            str(doc["kernel"]), float(doc.get("goal", 0.0)), float(doc.get("min_grad", 0.0)),
        )  # fmt: skip
    except KeyError as exc:
        raise ValueError(f"basins: the field {exc} is missing") from None
    except TypeError as exc:
        raise ValueError(f"basins: a field has the wrong type ({exc})") from None
