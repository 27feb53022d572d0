"""The same slice as a 3-D surface with the trajectory on it (pyqtgraph.opengl).

OpenGL is optional: without a usable context (e.g. the offscreen platform) the view
says why instead of crashing.  It is created only when first shown.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QGuiApplication, QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from bpgui.service.surfaces import SurfaceResult

log = logging.getLogger(__name__)
ZTOP = 0.6  # height of the unit box
MARKER_COLOURS = ((0.18, 0.77, 0.71, 1), (0.91, 0.11, 0.21, 1), (1.0, 0.82, 0.25, 1))
CURSOR_COLOUR = (1.0, 0.62, 0.11, 1)  # the replayed epoch (the contour's orange diamond)


def opengl_problem() -> str | None:
    """Why OpenGL cannot be used here, or None when it can."""
    platform = QGuiApplication.platformName()
    if platform in ("offscreen", "minimal"):
        return f"the Qt platform '{platform}' has no OpenGL (run with a display, e.g. Xvfb)"
    try:
        import OpenGL.GL  # noqa: F401
    except Exception as exc:
        return f"PyOpenGL is not available ({exc})"
    ctx = QOpenGLContext()
    if not ctx.create():
        return "no OpenGL context could be created"
    surf = QOffscreenSurface()
    surf.create()
    ok = ctx.makeCurrent(surf)
    if ok:
        ctx.doneCurrent()
    return None if ok else "the OpenGL context could not be made current"


class Surface3DView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.view = None
        self.problem: str | None = None
        self.message = QLabel("The 3-D view opens when this tab is first shown.")
        self.message.setWordWrap(True)
        self._lay.addWidget(self.message)
        self._surface_item = self._path_item = None
        self._box_item = self._marker_item = None
        self._labels: list = []
        self._markers: tuple = (None, None, None)
        self._cursor: tuple[float, float] | None = None  # the replayed epoch's point
        self._critical: list = []  # (x, y, f, rgba) of critical points (issue 13)
        self._critical_item = None
        self.value_name = "SSE"
        self._result: SurfaceResult | None = None
        self._path = (np.empty(0), np.empty(0), np.empty(0))
        self._zscale = 1.0

    def ensure(self) -> bool:
        """Create the GL view on first use; False (with a message) when OpenGL is missing."""
        if self.view is not None:
            return True
        if self.problem is None:
            self.problem = opengl_problem()
        if self.problem:
            self.message.setText(f"3-D view unavailable: {self.problem}.")
            return False
        try:
            import pyqtgraph.opengl as gl

            self.view = gl.GLViewWidget()
            self.view.setCameraPosition(distance=2.1, elevation=28, azimuth=-60)
            self._gl = gl
        except Exception as exc:  # pragma: no cover - depends on the machine
            log.exception("OpenGL view")
            self.problem = str(exc)
            self.message.setText(f"3-D view unavailable: {exc}.")
            return False
        self.message.setText(
            "Drag to rotate, wheel to zoom. Height: the performance on a log scale; "
            "teal: start, red: end, yellow: the optimum, orange: the replayed epoch."
        )
        self.message.setWordWrap(True)
        self._lay.addWidget(self.view, 1)
        if self._result is not None:
            self.set_surface(self._result)
        return True

    def set_surface(self, res: SurfaceResult) -> None:
        self._result = res
        if self.view is None:
            return
        gl = self._gl
        s = res.surface
        z = self._height(s.values)
        x = self._unit(s.xs, s.xs)
        y = self._unit(s.ys, s.ys)
        if self._surface_item is None:
            self._surface_item = gl.GLSurfacePlotItem(computeNormals=False, smooth=False)
            self.view.addItem(self._surface_item)
            self._path_item = gl.GLLinePlotItem(color=(1, 1, 1, 1), width=2, antialias=True)
            self.view.addItem(self._path_item)
            self._box_item = gl.GLLinePlotItem(
                color=(0.8, 0.8, 0.8, 0.8), width=1, mode="lines", antialias=True
            )
            self.view.addItem(self._box_item)
            from OpenGL import GL
            from pyqtgraph.opengl.GLGraphicsItem import GLOptions

            self._marker_item = gl.GLScatterPlotItem(pxMode=True)
            # drawn over the surface: a marker on a far slope is never hidden by a near one
            self._marker_item.setGLOptions({**GLOptions["translucent"], GL.GL_DEPTH_TEST: False})
            self.view.addItem(self._marker_item)
            self._critical_item = gl.GLScatterPlotItem(pxMode=True)
            self._critical_item.setGLOptions("translucent")
            self.view.addItem(self._critical_item)
        colors = pg.colormap.get("viridis").map(z.ravel() / ZTOP, mode="float")
        # colours as (N, 4): pyqtgraph 0.14 indexes them by flat vertex number
        self._surface_item.setData(x=x, y=y, z=z, colors=colors.reshape(-1, 4))
        self._draw_axes(s)
        self.set_path(*self._path)
        self.set_critical(self._critical)

    @staticmethod
    def _unit(v, grid) -> np.ndarray:
        """Parameter values mapped to the unit box [-0.5, 0.5] of the grid's range."""
        return (np.asarray(v, float) - grid[0]) / (grid[-1] - grid[0]) - 0.5

    def _z(self, f) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log10(np.maximum(np.asarray(f, float), 1e-30))
        lo, hi = self._zrange
        return (h - lo) / (hi - lo) * ZTOP

    def _draw_axes(self, s) -> None:
        """The box's base and height edges, ticks with their values, and the axis names
        (the parameters' labels and log10 of the performance)."""
        gl = self._gl
        for item in self._labels:
            self.view.removeItem(item)
        self._labels = []
        segs = [
            # base rectangle and the vertical edge at the back-left corner
            ((-0.5, -0.5, 0), (0.5, -0.5, 0)),
            ((0.5, -0.5, 0), (0.5, 0.5, 0)),
            ((0.5, 0.5, 0), (-0.5, 0.5, 0)),
            ((-0.5, 0.5, 0), (-0.5, -0.5, 0)),
            ((-0.5, 0.5, 0), (-0.5, 0.5, ZTOP)),
        ]
        font = QFont()
        font.setPointSize(9)

        def text(pos, t, color=(230, 230, 230, 255)):
            item = gl.GLTextItem(pos=np.array(pos, float), text=t, color=color, font=font)
            self.view.addItem(item)
            self._labels.append(item)

        for v in nice_ticks(s.xs[0], s.xs[-1]):
            u = float(self._unit(v, s.xs))
            segs.append(((u, -0.5, 0), (u, -0.53, 0)))
            text((u, -0.6, 0), f"{v:g}")
        for v in nice_ticks(s.ys[0], s.ys[-1]):
            u = float(self._unit(v, s.ys))
            segs.append(((0.5, u, 0), (0.53, u, 0)))
            text((0.56, u, 0), f"{v:g}")
        lo, hi = self._zrange
        for d in height_ticks(lo, hi):
            zz = (d - lo) / (hi - lo) * ZTOP
            segs.append(((-0.5, 0.5, zz), (-0.53, 0.53, zz)))
            text((-0.6, 0.6, zz), f"1e{d}")
        text((0.0, -0.75, 0), s.x_label, (255, 210, 63, 255))
        text((0.72, 0.0, 0), s.y_label, (255, 210, 63, 255))
        text((-0.6, 0.6, ZTOP + 0.08), f"{self.value_name} (log)", (255, 210, 63, 255))
        self._box_item.setData(pos=np.array(segs, float).reshape(-1, 3))

    def set_markers(
        self,
        start: tuple[float, float] | None,
        end: tuple[float, float] | None,
        optimum: tuple[float, float] | None,
    ) -> None:
        """Start (teal), end (red) and optimum (yellow) on the surface, as on the contour."""
        self._markers = (start, end, optimum)
        if self.view is None or self._result is None or self._marker_item is None:
            return
        s = self._result.surface
        pos, colors = [], []
        marks = (*self._markers, self._cursor)
        for p, c in zip(marks, (*MARKER_COLOURS, CURSOR_COLOUR), strict=True):
            if p is None:
                continue
            i = int(np.clip(np.searchsorted(s.xs, p[0]), 0, len(s.xs) - 1))
            j = int(np.clip(np.searchsorted(s.ys, p[1]), 0, len(s.ys) - 1))
            z = float(np.nan_to_num(self._z(s.values[i, j]), nan=ZTOP))
            pos.append((self._unit(p[0], s.xs), self._unit(p[1], s.ys), z + 0.015))
            colors.append(c)
        ok = [k for k, q in enumerate(pos) if all(abs(q[m]) <= 0.5 for m in (0, 1))]
        if ok:
            self._marker_item.setData(
                pos=np.array([pos[k] for k in ok], float),
                color=np.array([colors[k] for k in ok], float),
                size=12,
            )
        else:
            self._marker_item.setData(pos=np.empty((0, 3)))

    def set_cursor(self, point: tuple[float, float] | None) -> None:
        """The replayed epoch's point on the surface (None: no replay), as the contour's
        cursor."""
        if point != self._cursor:
            self._cursor = point
            self.set_markers(*self._markers)

    def set_critical(self, points: list) -> None:
        """Critical points ``(x, y, performance, rgba)`` on the surface (``[]``: none)."""
        self._critical = list(points)
        if self.view is None or self._result is None or self._critical_item is None:
            return
        s = self._result.surface
        pos = [
            (float(self._unit(x, s.xs)), float(self._unit(y, s.ys)),
             float(np.clip(np.nan_to_num(self._z(f), nan=ZTOP), 0, ZTOP)) + 0.02)
            for x, y, f, _c in self._critical
        ]  # fmt: skip
        keep = [k for k, q in enumerate(pos) if abs(q[0]) <= 0.5 and abs(q[1]) <= 0.5]
        if keep:
            self._critical_item.setData(
                pos=np.array([pos[k] for k in keep], float),
                color=np.array([self._critical[k][3] for k in keep], float),
                size=16,
            )
        else:
            self._critical_item.setData(pos=np.empty((0, 3)))

    def _height(self, v: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log10(np.maximum(np.where(np.isfinite(v), v, np.nan), 1e-30))
        finite = h[np.isfinite(h)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        self._zrange = (float(lo), float(max(hi, lo + 1e-12)))
        return np.nan_to_num((h - lo) / (self._zrange[1] - lo), nan=1.0) * ZTOP

    def set_path(self, xs: np.ndarray, ys: np.ndarray, fs: np.ndarray) -> None:
        self._path = (xs, ys, fs)
        if self.view is None or self._result is None:
            return
        s = self._result.surface
        x, y = self._unit(xs, s.xs), self._unit(ys, s.ys)
        z = self._z(fs) + 0.01
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
        ok &= (np.abs(x) <= 0.5) & (np.abs(y) <= 0.5)
        pos = np.column_stack([x[ok], y[ok], np.clip(z[ok], 0, ZTOP + 0.02)])
        # no path (a reset, a new problem): nothing drawn, not the last run's path
        self._path_item.setData(pos=pos if len(pos) >= 2 else np.zeros((0, 3)))
        self.set_markers(*self._markers)


def height_ticks(lo: float, hi: float, n: int = 5) -> list[int]:
    """At most about ``n`` decades to label on the height axis (every decade of a surface
    that spans 25 piled its labels on top of each other once the view was turned)."""
    first, last = math.ceil(lo), math.floor(hi)
    if last < first:
        return []
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500):  # round steps, aligned to them
        ticks = [d for d in range(first, last + 1) if d % step == 0]
        if len(ticks) <= n + 1:
            return ticks or [first]
    return [first, last]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values in [lo, hi] (steps of 1, 2 or 5 times a power of 10)."""
    span = hi - lo
    if not (np.isfinite(span) and span > 0):
        return []
    raw = span / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + k * step, 12) for k in range(int((hi - first) / step + 1e-9) + 1)]
