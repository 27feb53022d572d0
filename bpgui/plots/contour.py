"""The error surface as a colour image with isolines, the trajectory on top, click to start."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from ..surface_service import SurfaceResult

MAX_PREVIOUS = 12
PATH_PEN = pg.mkPen("#ffffff", width=2)
PREVIOUS_PEN = pg.mkPen((255, 255, 255, 70), width=1.5)
HIGHLIGHT_PEN = pg.mkPen("#ff9f1c", width=3)
ISO_PEN = pg.mkPen((255, 255, 255, 110), width=1)
FLOOR = 1e-30  # log colour scale: values below show as this


class ContourPlot(QWidget):
    """Colour image + isolines + colour bar in parameter coordinates; the trajectory of
    the current run, faint earlier runs, markers; a left click asks to start there."""

    start_requested = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget()
        self.widget.setMinimumSize(320, 280)
        pi = self.plot_item = self.widget.getPlotItem()
        pi.showGrid(x=False, y=False)
        pi.setMenuEnabled(False)
        pi.getViewBox().setDefaultPadding(0.0)
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-10)
        pi.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            colorMap=pg.colormap.get("viridis"), interactive=False, width=14, label="SSE"
        )
        self.colorbar.setImageItem(self.image, insert_in=pi)
        self.iso = pg.PlotCurveItem(connect="pairs", pen=ISO_PEN)
        pi.addItem(self.iso)
        # the surface and its isolines change rarely: paint them once into pixmaps, so a
        # frame of a running path only repaints the path
        for item in (self.image, self.iso):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.previous: list[pg.PlotDataItem] = []
        self.path = pg.PlotDataItem(pen=PATH_PEN, connect="finite")
        self.path.setZValue(5)
        pi.addItem(self.path)
        self.highlight = pg.PlotDataItem(pen=HIGHLIGHT_PEN, connect="finite")
        self.highlight.setZValue(6)
        pi.addItem(self.highlight)

        def marker(symbol, size, brush, pen="k", z=8):
            m = pg.ScatterPlotItem(symbol=symbol, size=size, brush=brush, pen=pg.mkPen(pen))
            m.setZValue(z)
            pi.addItem(m)
            return m

        self.optimum = marker("star", 16, "#ffd23f")
        self.start_marker = marker("o", 11, "#2ec4b6")
        self.current_marker = marker("o", 9, "#ffffff")
        self.end_marker = marker("s", 10, "#e71d36")
        self.restart_ends = marker("x", 9, "#ff9f1c", pen="#ff9f1c", z=7)
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self.log_scale = True
        self.result: SurfaceResult | None = None
        self.axes: tuple[str, str] = ("", "")

    # ---- surface -------------------------------------------------------------------------
    def set_surface(self, res: SurfaceResult, log_scale: bool | None = None) -> None:
        if log_scale is not None:
            self.log_scale = log_scale
        self.result = res
        s = res.surface
        v = np.where(np.isfinite(s.values), s.values, np.nan)
        if self.log_scale:
            with np.errstate(divide="ignore", invalid="ignore"):
                img = np.log10(np.maximum(v, FLOOR))
        else:
            img = v
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        img = np.where(np.isfinite(img), img, hi)  # undefined points show as the top colour
        self.image.setImage(img, autoLevels=False)
        dx = (s.xs[-1] - s.xs[0]) / (len(s.xs) - 1)
        dy = (s.ys[-1] - s.ys[0]) / (len(s.ys) - 1)
        # pixel centres on the grid points
        self.image.setRect(
            QRectF(s.xs[0] - dx / 2, s.ys[0] - dy / 2, dx * len(s.xs), dy * len(s.ys))
        )
        self.colorbar.setLevels((lo, hi))
        self.colorbar.setLabel("left", "log10 SSE" if self.log_scale else "SSE")
        self.iso.setData(res.iso_x, res.iso_y)
        self.axes = (s.x_label, s.y_label)
        self.plot_item.setLabel("bottom", s.x_label)
        self.plot_item.setLabel("left", s.y_label)
        vb = self.plot_item.getViewBox()
        vb.setRange(
            xRange=(s.xs[0], s.xs[-1]), yRange=(s.ys[0], s.ys[-1]), padding=0.0, update=True
        )

    def set_optimum(self, point: tuple[float, float] | None) -> None:
        self.optimum.setData(*(([point[0]], [point[1]]) if point else ([], [])))

    # ---- trajectory ------------------------------------------------------------------------
    def set_path(self, xs: np.ndarray, ys: np.ndarray, finished: bool = False) -> None:
        ok = np.isfinite(xs) & np.isfinite(ys)
        xs, ys = np.where(ok, xs, np.nan), np.where(ok, ys, np.nan)
        self.path.setData(xs, ys)
        if len(xs):
            self.start_marker.setData([xs[0]], [ys[0]])
            last = np.flatnonzero(ok)
            if last.size:
                p = ([xs[last[-1]]], [ys[last[-1]]])
                self.current_marker.setData(*p)
                self.end_marker.setData(*(p if finished else ([], [])))
        else:
            for m in (self.start_marker, self.current_marker, self.end_marker):
                m.setData([], [])

    def set_start(self, x: float, y: float) -> None:
        """Show a start point before any run."""
        self.path.setData([], [])
        self.start_marker.setData([x], [y])
        self.current_marker.setData([], [])
        self.end_marker.setData([], [])

    def archive_path(self) -> None:
        """Keep the current path as a faint earlier run."""
        xs, ys = self.path.getData()
        if xs is None or len(xs) < 2:
            return
        item = pg.PlotDataItem(xs, ys, pen=PREVIOUS_PEN, connect="finite")
        item.setZValue(2)
        self.plot_item.addItem(item)
        self.previous.append(item)
        while len(self.previous) > MAX_PREVIOUS:
            self.plot_item.removeItem(self.previous.pop(0))

    def clear_previous(self) -> None:
        for item in self.previous:
            self.plot_item.removeItem(item)
        self.previous.clear()
        self.set_restarts([])
        self.highlight.setData([], [])

    def set_restarts(self, paths: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Paths of a restart batch, drawn like earlier runs with a cross at each end."""
        for item in self.previous:
            self.plot_item.removeItem(item)
        self.previous.clear()
        ends = []
        for xs, ys in paths:
            item = pg.PlotDataItem(xs, ys, pen=PREVIOUS_PEN, connect="finite")
            item.setZValue(2)
            self.plot_item.addItem(item)
            self.previous.append(item)
            ends.append((xs[-1], ys[-1]))
        self.restart_ends.setData([e[0] for e in ends], [e[1] for e in ends])

    def set_highlight(self, xs: np.ndarray | None, ys: np.ndarray | None) -> None:
        self.highlight.setData([] if xs is None else xs, [] if ys is None else ys)

    def path_bounds(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """Ranges that hold the current path (with a margin), for "fit to trajectory"."""
        xs, ys = self.path.getData()
        if xs is None or len(xs) == 0:
            return None
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return None
        out = []
        for v in (xs[ok], ys[ok]):
            lo, hi = float(v.min()), float(v.max())
            span = max(hi - lo, 1e-3 * max(1.0, abs(lo)))
            out.append((lo - 0.1 * span, hi + 0.1 * span))
        return out[0], out[1]

    # ---- input -----------------------------------------------------------------------------
    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.plot_item.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p: QPointF = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        self.start_requested.emit(float(p.x()), float(p.y()))
