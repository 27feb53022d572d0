"""A hyperparameter sweep as a heatmap: epochs to the goal (or the final performance) over
two hyperparameters, diverged and not-reached cells in their own colours, a colour bar,
log axes where the hyperparameter is on a log scale, steepest descent's stability bound as
a line, a hover readout, and a click on a cell asks to run with its values.

Log axes: the image is placed in log10 coordinates and the plot is in pyqtgraph's log mode
(the axis is labelled with the values themselves, 10^k at the decades).  Arrays are
indexed ``[ix, iy]`` (column-major images)."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bpgui.plots.legend_text import fits, legend_pt
from bpgui.plots.log_axis import log_axes
from bpgui.widgets.elided import ElidedLabel
from bpgui_engine.maps.grid import STOP_CODES
from bpgui_engine.maps.sweep import SweepResult

DIVERGED_COLOUR = (231, 29, 54)
NOT_REACHED_COLOUR = (90, 90, 90)
PENDING_COLOUR = (45, 45, 45)  # cells not computed (yet, or cancelled): never a value colour
BOUND_PEN = pg.mkPen("#ffffff", width=2, style=Qt.PenStyle.DashLine)
HINT = "hover over a cell to read it; click it to run with those settings"


def _centres(v: np.ndarray, log: bool) -> np.ndarray:
    return np.log10(v) if log else np.asarray(v, float)


def _rect(c: np.ndarray) -> tuple[float, float]:
    """Left edge and width of cells centred on ``c`` (evenly spaced)."""
    d = (c[-1] - c[0]) / (len(c) - 1) if len(c) > 1 else 1.0
    return c[0] - d / 2, d * len(c)


def _log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Decades labelled with their values, 2…9 times each unlabelled (log10 coordinates)."""
    major, minor = [], []
    for k in range(int(np.floor(lo)) - 1, int(np.ceil(hi)) + 1):
        if lo - 0.5 <= k <= hi + 0.5:
            major.append((float(k), f"{10.0**k:g}"))
        for m in range(2, 10):
            v = k + np.log10(m)
            if lo - 0.5 <= v <= hi + 0.5:
                minor.append((float(v), ""))
    return [major, minor]


class HeatmapPlot(QWidget):
    cell_clicked = Signal(int, int)  # ix, iy

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget(axisItems=log_axes())
        self.widget.setMinimumSize(320, 240)
        pi = self.plot_item = self.widget.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.getViewBox().setMouseEnabled(x=False, y=False)
        pi.getViewBox().setDefaultPadding(0.0)
        self.image = pg.ImageItem(axisOrder="col-major")
        pi.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False,
                                        width=14, label="")  # fmt: skip
        self.colorbar.setImageItem(self.image, insert_in=pi)
        self.marks = pg.ImageItem(axisOrder="col-major")  # diverged / not reached
        self.marks.setZValue(1)
        pi.addItem(self.marks)
        self.bound = pg.PlotDataItem(pen=BOUND_PEN)
        self.bound.setZValue(3)
        pi.addItem(self.bound)
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)
        # the legend (and the bound's text) in the view box's pixels, top right
        vb = pi.getViewBox()
        self.legend = pg.TextItem(anchor=(1, 0), fill=pg.mkBrush(0, 0, 0, 190))
        self._legend_on = False  # a legend to show (when it fits the plot)
        self.legend.setParentItem(vb)
        self.legend.setZValue(20)
        vb.sigResized.connect(self._place_legend)
        self._legend_rows: list[str] = []
        self.bound_text = ""
        self.readout = ElidedLabel(HINT, "the cell under the mouse pointer")
        self._proxy = pg.SignalProxy(self.widget.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._moved)  # fmt: skip
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.readout)
        self.result: SweepResult | None = None
        self.values: np.ndarray | None = None  # what the colours show, NaN where marked
        self.mode = "epochs"  # or "performance"
        self.bound_values: tuple[np.ndarray, np.ndarray] | None = None

    # ---- drawing ---------------------------------------------------------------------------
    def set_result(self, r: SweepResult | None, mode: str | None = None,
                   value_name: str = "SSE") -> None:  # fmt: skip
        if mode is not None:
            self.mode = mode
        self.result = r
        self.value_name = value_name
        if r is None:
            self.values = None
            for item in (self.image, self.marks):
                item.clear()
            self.bound.setData([], [])
            self.bound_text = ""
            self._legend_rows = []
            self.legend.setHtml("")
            self._legend_on = False
            self.legend.hide()
            return
        pi = self.plot_item
        pi.setLogMode(x=r.x_log, y=r.y_log)
        cx, cy = _centres(r.xs, r.x_log), _centres(r.ys, r.y_log)
        (x0, w), (y0, h) = _rect(cx), _rect(cy)
        if self.mode == "epochs":
            v = r.epochs_to_goal.astype(float)
            label = f"epochs to {value_name} ≤ {r.goal:g}"
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(np.isfinite(r.performance) & ~r.diverged,
                             np.log10(np.maximum(r.performance, 1e-30)), np.nan)  # fmt: skip
            label = f"log10 final {value_name}"
        computed = r.stop >= 0
        v = np.where(computed, v, np.nan)  # a cell not computed has no value
        self.values = v
        finite = v[np.isfinite(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        self.image.setImage(np.where(np.isfinite(v), v, lo), autoLevels=False)
        self.image.setRect(QRectF(x0, y0, w, h))
        self.colorbar.setLevels((lo, hi))
        self.colorbar.setLabel("left", label)
        marks = np.zeros((*v.shape, 4), dtype=np.uint8)
        marks[~computed] = (*PENDING_COLOUR, 255)
        not_reached = computed & ~r.diverged & (self.mode == "epochs") & ~r.reached
        marks[r.diverged] = (*DIVERGED_COLOUR, 255)
        marks[not_reached] = (*NOT_REACHED_COLOUR, 255)
        self.marks.setImage(marks, autoLevels=False, levels=(0, 255))
        self.marks.setRect(QRectF(x0, y0, w, h))
        pi.setLabel("bottom", r.x_param + (" (log scale)" if r.x_log else ""))
        pi.setLabel("left", r.y_param + (" (log scale)" if r.y_log else ""))
        for name, log, c in (("bottom", r.x_log, cx), ("left", r.y_log, cy)):
            pi.getAxis(name).setTicks(_log_ticks(c[0], c[-1]) if log else None)
        pi.getViewBox().setRange(xRange=(x0, x0 + w), yRange=(y0, y0 + h), padding=0.0)
        rows = [(DIVERGED_COLOUR, f"diverged: {int(r.diverged.sum()):,} runs")]
        if self.mode == "epochs":
            rows.append((NOT_REACHED_COLOUR, f"goal not reached: {int(not_reached.sum()):,} runs"))
        pending = int((~computed).sum())
        if pending:
            rows.append((PENDING_COLOUR, f"not computed: {pending:,} cells"))
        self._legend_rows = [f'<span style="color:rgb{c}">■</span> {t}' for c, t in rows]
        self._show_legend()

    def _show_legend(self) -> None:
        rows = list(self._legend_rows)
        if self.bound_text:
            rows.append(f'<span style="color:#ffffff">- - -</span> {html.escape(self.bound_text)}')
        style = f"color:#eeeeee; font-size:{legend_pt()}pt"
        self.legend.setHtml(f'<div style="{style}">{"<br>".join(rows)}</div>')
        self._legend_on = True
        self._place_legend()

    def refresh_legend(self) -> None:
        """Redraw the legend (a theme or font change), if one is shown."""
        if self._legend_on:
            self._show_legend()

    def _place_legend(self, *_) -> None:
        vb = self.plot_item.getViewBox()
        self.legend.setVisible(self._legend_on and fits(self.legend, vb.width() - 12))
        self.legend.setPos(vb.width() - 6, 6)

    def set_bound(self, xs: np.ndarray | None, ys: np.ndarray | None, text: str = "") -> None:
        """The stability bound as a curve in hyperparameter values (None: none)."""
        r = self.result
        if xs is None or r is None:
            self.bound.setData([], [])
            self.bound_text = ""
            self.bound_values = None
            if r is not None:
                self._show_legend()
            return
        self.bound_values = (np.asarray(xs, float), np.asarray(ys, float))
        # PlotDataItem maps values to log10 itself in log mode
        self.bound.setData(self.bound_values[0], self.bound_values[1])
        self.bound_text = text
        self._show_legend()

    # ---- input -----------------------------------------------------------------------------
    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        r = self.result
        vb = self.plot_item.getViewBox()
        if r is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        cx, cy = _centres(r.xs, r.x_log), _centres(r.ys, r.y_log)
        ix = int(np.argmin(np.abs(cx - p.x())))
        iy = int(np.argmin(np.abs(cy - p.y())))
        (x0, w), (y0, h) = _rect(cx), _rect(cy)
        if not (x0 <= p.x() <= x0 + w and y0 <= p.y() <= y0 + h):
            return None
        return ix, iy

    def describe(self, ix: int, iy: int) -> str:
        r = self.result
        c = int(r.stop[ix, iy])
        head = f"{r.x_param} = {r.xs[ix]:.4g}   {r.y_param} = {r.ys[iy]:.4g}"
        if c < 0:
            return f"{head}   not computed"
        ep = int(r.epochs[ix, iy])
        goal = f"goal at epoch {ep:,}" if r.reached[ix, iy] else "goal not reached"
        return (f"{head}   {goal}   epochs {ep:,}   {self.value_name} "
                f"{r.performance[ix, iy]:.4g}   stop: {STOP_CODES[c]}")  # fmt: skip

    def _moved(self, evt) -> None:
        cell = self.cell_at(evt[0])
        self.readout.setText(HINT if cell is None else self.describe(*cell))

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        cell = self.cell_at(ev.scenePos())
        if cell is not None and int(self.result.stop[cell]) >= 0:
            ev.accept()
            self.cell_clicked.emit(*cell)

    def leaveEvent(self, event) -> None:
        self.readout.setText(HINT)
        super().leaveEvent(event)
