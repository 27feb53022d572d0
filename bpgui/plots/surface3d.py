"""The same slice as a 3-D surface with the trajectory on it (pyqtgraph.opengl).

OpenGL is optional: without a usable context (e.g. the offscreen platform) the view
says why instead of crashing.  It is created only when first shown.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..surface_service import SurfaceResult

log = logging.getLogger(__name__)


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
            self.view.setCameraPosition(distance=1.7, elevation=30, azimuth=-60)
            self._gl = gl
        except Exception as exc:  # pragma: no cover - depends on the machine
            log.exception("OpenGL view")
            self.problem = str(exc)
            self.message.setText(f"3-D view unavailable: {exc}.")
            return False
        self.message.setText(
            "Drag to rotate, wheel to zoom. Height: log10 SSE, scaled to the unit box."
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
        x = (s.xs - s.xs[0]) / (s.xs[-1] - s.xs[0]) - 0.5
        y = (s.ys - s.ys[0]) / (s.ys[-1] - s.ys[0]) - 0.5
        if self._surface_item is None:
            self._surface_item = gl.GLSurfacePlotItem(computeNormals=False, smooth=False)
            self.view.addItem(self._surface_item)
            self._path_item = gl.GLLinePlotItem(color=(1, 1, 1, 1), width=2, antialias=True)
            self.view.addItem(self._path_item)
        colors = pg.colormap.get("viridis").map(z.ravel() / 0.6, mode="float")
        # colours as (N, 4): pyqtgraph 0.14 indexes them by flat vertex number
        self._surface_item.setData(x=x, y=y, z=z, colors=colors.reshape(-1, 4))
        self.set_path(*self._path)

    def _height(self, v: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log10(np.maximum(np.where(np.isfinite(v), v, np.nan), 1e-30))
        finite = h[np.isfinite(h)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        self._zrange = (lo, max(hi, lo + 1e-12))
        return np.nan_to_num((h - lo) / (self._zrange[1] - lo), nan=1.0) * 0.6

    def set_path(self, xs: np.ndarray, ys: np.ndarray, fs: np.ndarray) -> None:
        self._path = (xs, ys, fs)
        if self.view is None or self._result is None or len(xs) == 0:
            return
        s = self._result.surface
        x = (xs - s.xs[0]) / (s.xs[-1] - s.xs[0]) - 0.5
        y = (ys - s.ys[0]) / (s.ys[-1] - s.ys[0]) - 0.5
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log10(np.maximum(fs, 1e-30))
        lo, hi = self._zrange
        z = (h - lo) / (hi - lo) * 0.6 + 0.01
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
        ok &= (np.abs(x) <= 0.5) & (np.abs(y) <= 0.5)
        pos = np.column_stack([x[ok], y[ok], np.clip(z[ok], 0, 0.62)])
        if len(pos) >= 2:
            self._path_item.setData(pos=pos)
