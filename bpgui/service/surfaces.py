"""Surfaces (and their isolines) computed off the GUI thread, newest request wins.

Through NumPy's vectorized surface (:func:`bpgui_engine.analysis.surface.evaluate_surface`):
measured in
the same run it is as fast as the compiled one on the book slice (7.3 ms against 10-20 ms
for a 200x200 grid, docs/benchmarks.md), needs no compiler, and leaves the cores to the
training kernel and the restarts."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from bpgui_engine.analysis.contour import contour_levels, isolines
from bpgui_engine.analysis.surface import Surface, evaluate_surface
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.penalty import Penalty

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SurfaceRequest:
    spec: NetworkSpec
    data: Dataset
    theta: np.ndarray  # the full vector the slice goes through
    axes: tuple[str, str]
    ranges: tuple[tuple[float, float], tuple[float, float]]
    resolution: int = 200
    performance: str = "sse"
    log_levels: bool = True
    tag: object = None  # echoed back (e.g. the epoch the slice was drawn at)
    penalty: tuple[float, float] = (0.0, 0.0)  # (l2, l1): bpgui_engine.model.penalty

    def key(self) -> tuple:
        return (
            _fingerprint(self.data),
            self.spec,
            self.theta.tobytes(),
            self.axes,
            self.ranges,
            self.resolution,
            self.performance,
            self.log_levels,
            self.penalty,
        )


def _fingerprint(data: Dataset) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in (data.P, data.T):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class SurfaceResult:
    request: SurfaceRequest
    surface: Surface
    levels: np.ndarray
    iso_x: np.ndarray  # isoline segment end points (pairs)
    iso_y: np.ndarray


def surface_function():
    """The surface evaluator the contour uses (see the module's docstring)."""
    return evaluate_surface


def compute_surface(req: SurfaceRequest) -> SurfaceResult:
    s = surface_function()(
        req.spec,
        req.data,
        req.theta,
        req.axes[0],
        req.ranges[0],
        req.axes[1],
        req.ranges[1],
        req.resolution,
        req.performance,
        Penalty(*req.penalty),
    )
    levels = contour_levels(s.values, 12, log=req.log_levels)
    ix, iy = isolines(s.xs, s.ys, s.values, levels)
    return SurfaceResult(req, s, levels, ix, iy)


class _Bridge(QObject):
    done = Signal(object)  # (generation, SurfaceResult)
    failed = Signal(object)  # (generation, message)


class _Job(QRunnable):
    def __init__(self, generation: int, req: SurfaceRequest, bridge: _Bridge) -> None:
        super().__init__()
        self.generation, self.req, self.bridge = generation, req, bridge

    def run(self) -> None:
        try:
            res = compute_surface(self.req)
        except Exception as exc:  # reported in the GUI
            log.exception("surface failed")
            self.bridge.failed.emit((self.generation, str(exc)))
            return
        self.bridge.done.emit((self.generation, res))


class SurfaceService(QObject):
    """One job at a time on a private pool; a request made while one runs replaces any
    queued request, and only the newest result is delivered.  Results are cached."""

    ready = Signal(object)  # SurfaceResult
    failed = Signal(str)
    busy_changed = Signal(bool)

    CACHE = 8

    def __init__(self, parent: QObject | None = None, jobs=None) -> None:
        super().__init__(parent)
        self.jobs = jobs  # the compute service (the window's); None: a thread of this process
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._bridge = _Bridge(self)
        self._bridge.done.connect(self._on_done)
        self._bridge.failed.connect(self._on_failed)
        self._generation = 0
        self._running = False
        self._queued: SurfaceRequest | None = None
        self._job = None  # the compute service's job now running
        self._cache: OrderedDict[tuple, SurfaceResult] = OrderedDict()

    @property
    def busy(self) -> bool:
        return self._running

    def request(self, req: SurfaceRequest) -> None:
        self._generation += 1
        hit = self._cache.get(req.key())
        if hit is not None:
            self._cache.move_to_end(req.key())
            self._queued = None
            self.ready.emit(SurfaceResult(req, hit.surface, hit.levels, hit.iso_x, hit.iso_y))
            return
        if self._running:
            self._queued = req
            if self._job is not None and self.jobs is not None:  # a slow one gives way
                self.jobs.cancel(self._job)
            return
        self._submit(req)

    def _submit(self, req: SurfaceRequest) -> None:
        self._running = True
        self.busy_changed.emit(True)
        if self.jobs is None:
            self._pool.start(_Job(self._generation, req, self._bridge))
            return
        fields = ("spec", "data", "theta", "axes", "ranges", "resolution", "performance")
        fields += ("penalty",)
        request = {f: getattr(req, f) for f in fields} | {"log_levels": req.log_levels}
        job = self._job = self.jobs.submit("surface", request)
        job.finished.connect(lambda out, err, g=self._generation: self._arrived(g, req, out, err))

    def _arrived(self, generation: int, req: SurfaceRequest, out, error: str) -> None:
        if out is None:
            self._on_failed((generation, error or "the compute process ended"))
        else:
            self._on_done((generation, SurfaceResult(req, *out)))

    def _next(self) -> None:
        self._running = False
        self._job = None
        if self._queued is not None:
            req, self._queued = self._queued, None
            self._submit(req)
        else:
            self.busy_changed.emit(False)

    def _on_done(self, item) -> None:
        generation, res = item
        self._cache[res.request.key()] = res
        while len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)
        if generation == self._generation:
            self.ready.emit(res)
        self._next()

    def _on_failed(self, item) -> None:
        generation, message = item
        if generation == self._generation:
            self.failed.emit(message)
        self._next()

    def shutdown(self) -> None:
        self._queued = None
        self.jobs = None
        self._pool.waitForDone(10_000)
