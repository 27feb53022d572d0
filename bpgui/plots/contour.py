"""The error surface as a colour image with isolines, the trajectory on top, click to start."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from bpgui.service.surfaces import SurfaceResult
from bpgui.widgets.elided import ElidedLabel

MAX_PREVIOUS = 12
PATH_PEN = pg.mkPen("#ffffff", width=2)
PREVIOUS_PEN = pg.mkPen((255, 255, 255, 70), width=1.5)
HIGHLIGHT_PEN = pg.mkPen("#ff006e", width=4)  # the chosen restart: bold, its own colour
RESTART_PEN = pg.mkPen((255, 159, 28, 80), width=1.5)
ISO_PEN = pg.mkPen((255, 255, 255, 110), width=1)
FLOOR = 1e-30  # log colour scale: values below show as this
HOVER_HINT = "hover over the contour to read the surface; click to start a run there"


def nice_range(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` widened to round numbers: steps of a 1-2-5 unit about a twentieth of
    the span (so a range field shows "-4.5", not sixteen digits)."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return lo, hi
    raw = span / 20
    unit = 10 ** math.floor(math.log10(raw))
    step = next(m * unit for m in (1, 2, 5, 10) if m * unit >= raw)
    a, b = math.floor(lo / step) * step, math.ceil(hi / step) * step
    digits = max(0, -math.floor(math.log10(step)))
    return round(a, digits), round(b, digits)


class ContourPlot(QWidget):
    """Colour image + isolines + colour bar in parameter coordinates; the trajectory of
    the current run, faint earlier runs, markers; a left click asks to start there."""

    start_requested = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget()
        self.widget.setMinimumSize(300, 180)  # 1024x700 with a tool dock open: it fits
        pi = self.plot_item = self.widget.getPlotItem()
        pi.showGrid(x=False, y=False)
        pi.setMenuEnabled(False)
        pi.setContentsMargins(2, 10, 6, 2)  # room for the top and right tick labels
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
        self.restart_paths: list[pg.PlotDataItem] = []
        self.race_paths: list[pg.PlotDataItem] = []  # an optimizer race: one per entry
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
        self.race_ends = marker("o", 9, "#ffffff", z=7)
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        # the view shows exactly the computed grid: dragging or the wheel would pan into
        # space with no surface while the range fields keep their values, so the mouse
        # only clicks (start a run) and hovers (read the surface); ranges change through
        # the range fields or "Fit to trajectory"
        pi.getViewBox().setMouseEnabled(x=False, y=False)
        pi.hideButtons()
        self.readout = ElidedLabel(
            HOVER_HINT, "the parameters and the performance under the mouse pointer"
        )
        self._proxy = pg.SignalProxy(
            self.widget.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved
        )
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.readout)
        self.log_scale = True
        self.result: SurfaceResult | None = None
        self.axes: tuple[str, str] = ("", "")
        self.value_name = "SSE"  # what the surface shows

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
        self.colorbar.setOpacity(1.0)
        name = self.value_name
        if self.log_scale:  # a penalized index is a sum: log10 (CE + 0.01‖w‖²)
            name = f"log10 ({name})" if " " in name else f"log10 {name}"
        self.colorbar.setLabel("left", name)
        self.iso.setData(res.iso_x, res.iso_y)
        self.axes = (s.x_label, s.y_label)
        if self.readout.text().startswith("computing the surface"):
            self.readout.setText(HOVER_HINT)
        self.plot_item.setLabel("bottom", s.x_label)
        self.plot_item.setLabel("left", s.y_label)
        vb = self.plot_item.getViewBox()
        vb.setRange(
            xRange=(s.xs[0], s.xs[-1]), yRange=(s.ys[0], s.ys[-1]), padding=0.0, update=True
        )

    def set_pending(self, axes: tuple[str, str], ranges) -> None:
        """A new problem or new axes: the previous surface no longer belongs on screen.
        Show the new axes and ranges, no image and no contour lines, until the new
        surface arrives (:meth:`set_surface`)."""
        self.result = None
        self.image.clear()
        self.iso.setData([], [])
        self.colorbar.setOpacity(0.0)  # its levels were the previous surface's
        self.axes = tuple(axes)
        self.plot_item.setLabel("bottom", axes[0])
        self.plot_item.setLabel("left", axes[1])
        (x0, x1), (y0, y1) = ranges
        vb = self.plot_item.getViewBox()
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0, update=True)
        self.readout.setText(f"computing the surface over {axes[0]} and {axes[1]}…")

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

    def set_start(self, point: tuple[float, float] | None) -> None:
        """Show where the next run starts (None: nowhere yet)."""
        self.start_marker.setData(*(([point[0]], [point[1]]) if point else ([], [])))

    def clear_path(self) -> None:
        """No current run: no path and no markers but the start's."""
        self.path.setData([], [])
        for m in (self.current_marker, self.end_marker):
            m.setData([], [])

    def _replace(self, items: list, paths, pen, z: float) -> None:
        """Show ``paths`` with the curve items in ``items`` (reused; extra ones removed)."""
        while len(items) > len(paths):
            self.plot_item.removeItem(items.pop())
        while len(items) < len(paths):
            item = pg.PlotDataItem(pen=pen, connect="finite")
            item.setZValue(z)
            self.plot_item.addItem(item)
            items.append(item)
        for item, (xs, ys) in zip(items, paths, strict=True):
            item.setData(xs, ys)

    def set_previous(self, paths: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Earlier runs of this problem, faint (already projected onto the axes)."""
        self._replace(self.previous, paths[-MAX_PREVIOUS:], PREVIOUS_PEN, 2)

    def set_restarts(self, paths: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Paths of a restart batch, faint orange, with a cross at each end."""
        self._replace(self.restart_paths, paths, RESTART_PEN, 3)
        ends = [(xs[-1], ys[-1]) for xs, ys in paths if len(xs)]
        self.restart_ends.setData([e[0] for e in ends], [e[1] for e in ends])

    def set_race(self, paths: list[tuple[np.ndarray, np.ndarray]], colours: list[str],
                 highlight: int | None = None) -> None:  # fmt: skip
        """An optimizer race: each entry's path in its colour (already projected), a dot
        at each one's current point; entry ``highlight`` drawn bold, the others thinner."""
        self._replace(self.race_paths, paths, PATH_PEN, 4)
        ends_x, ends_y, brushes = [], [], []
        for i, (item, (xs, ys), colour) in enumerate(
            zip(self.race_paths, paths, colours, strict=True)
        ):
            width = 2.0 if highlight is None else (4.0 if i == highlight else 1.2)
            item.setPen(pg.mkPen(colour, width=width))
            item.setZValue(4.5 if i == highlight else 4)
            ok = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
            if ok.size:
                ends_x.append(xs[ok[-1]])
                ends_y.append(ys[ok[-1]])
                brushes.append(pg.mkBrush(colour))
        self.race_ends.setData(ends_x, ends_y, brush=brushes)

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
            out.append(nice_range(lo - 0.1 * span, hi + 0.1 * span))
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

    def value_at(self, x: float, y: float) -> float | None:
        """The surface at ``(x, y)`` interpolated bilinearly from the grid (None outside)."""
        if self.result is None:
            return None
        s = self.result.surface
        if not (s.xs[0] <= x <= s.xs[-1] and s.ys[0] <= y <= s.ys[-1]):
            return None
        fx = (x - s.xs[0]) / (s.xs[-1] - s.xs[0]) * (len(s.xs) - 1)
        fy = (y - s.ys[0]) / (s.ys[-1] - s.ys[0]) * (len(s.ys) - 1)
        i = min(int(fx), len(s.xs) - 2)
        j = min(int(fy), len(s.ys) - 2)
        tx, ty = fx - i, fy - j
        v = s.values
        return float(
            (1 - tx) * (1 - ty) * v[i, j]
            + tx * (1 - ty) * v[i + 1, j]
            + (1 - tx) * ty * v[i, j + 1]
            + tx * ty * v[i + 1, j + 1]
        )

    def _mouse_moved(self, evt) -> None:
        pos = evt[0]
        vb = self.plot_item.getViewBox()
        if self.result is None or not vb.sceneBoundingRect().contains(pos):
            self.readout.setText(HOVER_HINT)
            return
        p = vb.mapSceneToView(pos)
        x, y = float(p.x()), float(p.y())
        f = self.value_at(x, y)
        if f is None:
            self.readout.setText(HOVER_HINT)
            return
        xl, yl = self.axes
        self.readout.setText(f"{xl} = {x:.4g}   {yl} = {y:.4g}   {self.value_name} ≈ {f:.5g}")

    def leaveEvent(self, event) -> None:
        self.readout.setText(HOVER_HINT)  # no reading outlives the pointer
        super().leaveEvent(event)
