"""SSE, gradient norm and learning rate / mu against epoch, with a hover readout."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from bpgui.plots.log_axis import label_width, log_axes
from bpgui.widgets.elided import ElidedLabel
from bpgui_engine.train.history import History

FLOOR = 1e-300  # log axes: the last resort when a curve has no positive value at all
LEFT_AXIS_PX = 56  # every plot's left axis (ticks and title) in the same width
HOVER_HINT = "hover over the curves to read values"
PREVIOUS_PEN = pg.mkPen((255, 255, 255, 60), width=1)
OVERLAY_PEN = pg.mkPen((255, 159, 28, 90), width=1)


def _positive(y: np.ndarray) -> np.ndarray:
    """Values for a log axis: NaN (not drawn) where not finite; zeros and negatives shown
    at the smallest positive value of the curve, so an exact 0 (conjugate gradient on the
    book's problem reaches SSE 0) does not stretch the axis down to 1e-300."""
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):
        pos = np.isfinite(y) & (y > 0)
        floor = float(y[pos].min()) if pos.any() else FLOOR
        return np.where(np.isfinite(y), np.maximum(y, floor), np.nan)


def sse_name(h: History | None, base: str = "SSE") -> str:
    """The SSE curve's legend (``base``: "SSE", or what training minimizes): says when
    the history is thinned (what the curve shows of its middle)."""
    if h is None or h.kept is None:
        return base
    return f"{base} (thinned: extremes of each {h.kept.block:,} epochs)"


class CurvesPlot(QWidget):
    """Two linked plots: SSE (and validation) on top; gradient norm, lr and mu below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.sse_plot = self.glw.addPlot(row=0, col=0, axisItems=log_axes())
        self.aux_plot = self.glw.addPlot(row=1, col=0, axisItems=log_axes())
        self.aux_plot.setXLink(self.sse_plot)
        for p in (self.sse_plot, self.aux_plot):
            p.setLogMode(x=False, y=True)
            p.setMenuEnabled(False)
            # ranges move in steps (see _fit), so most frames repaint only the curves, not
            # the axes and their labels
            p.disableAutoRange()
            for name in ("left", "bottom"):
                p.getAxis(name).enableAutoSIPrefix(False)
            # one width for every plot's left axis: the linked epoch axes line up
            p.getAxis("left").setWidth(LEFT_AXIS_PX)
        self.sse_plot.setLabel("left", "SSE")
        self.aux_plot.setLabel("bottom", "epoch")
        self.aux_plot.setLabel("left", "grad norm, lr, mu")
        self.sse_plot.addLegend(offset=(-10, 10))
        self.aux_plot.addLegend(offset=(-10, 10))
        for p in (self.sse_plot, self.aux_plot):
            p.legend.setZValue(50)  # above earlier runs' curves
        self.previous: list[pg.PlotDataItem] = []
        self.overlays: list[pg.PlotDataItem] = []
        self._previous_data: list = []
        self._overlay_data: list = []
        self.race_curves: list[pg.PlotDataItem] = []  # an optimizer race: one per entry
        self._race_data: tuple = ([], [], [], [], None)
        self.val_curve = self.sse_plot.plot(name="validation", pen=pg.mkPen("#ff9f1c", width=1))
        self.sse_curve = self.sse_plot.plot(name="SSE", pen=pg.mkPen("#ffffff", width=1))
        self.grad_curve = self.aux_plot.plot(name="grad norm", pen=pg.mkPen("#2ec4b6", width=1))
        self.lr_curve = self.aux_plot.plot(name="lr", pen=pg.mkPen("#ffd23f", width=1))
        self.mu_curve = self.aux_plot.plot(name="mu", pen=pg.mkPen("#e71d36", width=1))
        for c in (self.val_curve, self.sse_curve, self.grad_curve, self.lr_curve, self.mu_curve):
            c.setClipToView(True)
        self.glw.ci.layout.setRowStretchFactor(0, 3)
        self.glw.ci.layout.setRowStretchFactor(1, 2)
        self.readout = ElidedLabel(HOVER_HINT, "epoch and values under the mouse pointer")
        self.log_x = QCheckBox("log epoch axis")
        self.log_x.setToolTip("show the epoch axis on a log scale")
        self.log_x.toggled.connect(self.set_log_x)
        top = QHBoxLayout()
        top.addWidget(self.readout, 1)
        top.addWidget(self.log_x)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.glw)
        self._history: History | None = None
        self._index_label = "SSE"  # the SSE curve's legend (set_index_name)
        self._idx = np.empty(0, dtype=np.int64)
        self._drawn: tuple[int, np.ndarray] | None = None  # (thins, epochs of _idx)
        self.growing = False  # a run is going on: the epoch axis grows in steps
        self._ranges: dict = {}
        for c in (self.val_curve, self.mu_curve):  # listed once they have data
            self._legend_entry(c, False)
        self._proxy = pg.SignalProxy(
            self.glw.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved
        )

    def fit_left_axes(self) -> None:
        """One width for every plot's left axis, enough for its widest label and its
        title in the fonts they have now (presentation mode's are larger)."""
        axes = [it.getAxis("left") for it in self.glw.ci.items if isinstance(it, pg.PlotItem)]
        width = max([LEFT_AXIS_PX, *(label_width(ax) for ax in axes)])
        for ax in axes:
            ax.setWidth(width)

    def set_index_name(self, name: str) -> None:
        """The curve is the SSE; when training minimizes another index, its legend says
        so (the contour and the status bar show that index); the axis title stays short."""
        self._index_label = "SSE" if name == "SSE" else f"SSE (minimizing {name})"
        self._rename(self.sse_curve, sse_name(self._history, self._index_label))

    def set_log_x(self, on: bool) -> None:
        for p in (self.sse_plot, self.aux_plot):
            p.setLogMode(x=on, y=True)
        self._ranges.clear()
        self.set_previous(self._previous_data)
        self.set_overlays(self._overlay_data)
        self.set_race(*self._race_data)
        if self._history is not None:
            self.set_history(self._history, self._current_idx())

    def _fit(self, ep: np.ndarray, ys: dict) -> None:
        """The epoch axis spans every curve shown: while a run goes on it grows in steps
        (x triples when the run passes its end); otherwise it fits the curves, each time
        the shown set changes.  y covers whole decades and changes only when the data
        leaves them (or a new run starts)."""
        last = float(ep[-1]) if len(ep) else 1.0
        others = [*zip(*self._race_data[:2], strict=True), *self._overlay_data]
        for rep, ry in others:  # a race or a restart batch on the same axes
            if len(rep):
                last = max(last, float(rep[-1]))
                ys = {**ys, "sse": [*ys["sse"], _positive(ry)]}
        h = self._history
        if h is None or len(h) == 0:  # no current run: the earlier runs shown set it
            for rep, _ry in self._previous_data:
                if len(rep):
                    last = max(last, float(np.nanmax(rep)))
        going = h is not None and len(h) > 0 and h.stop is None and self.growing
        if self.log_x.isChecked():
            xr = (-0.3, math.log10(max(last, 1.0)) * 1.02 + 0.05)
        elif going:
            cur = self._ranges.get("x")
            # grows in big steps: each change redraws both epoch axes
            xr = cur if cur and last <= cur[1] else (0.0, max(10.0, last * 3.0))
        else:
            xr = (0.0, max(10.0, last * 1.02))
        if self._ranges.get("x") != xr:
            self._ranges["x"] = xr
            self.sse_plot.setXRange(*xr, padding=0)
        for plot, key in ((self.sse_plot, "sse"), (self.aux_plot, "aux")):
            vals = [v[np.isfinite(v)] for v in ys[key]]
            vals = [v for v in vals if v.size]
            if not vals:
                continue
            lo = math.floor(math.log10(min(float(v.min()) for v in vals)))
            hi = math.ceil(math.log10(max(float(v.max()) for v in vals)) + 1e-9)
            hi = max(hi, lo + 1)
            cur = self._ranges.get(key)
            if cur is None or lo < cur[0] or hi > cur[1] or lo > cur[0] + 2:
                self._ranges[key] = (lo, hi)
                plot.setYRange(lo, hi, padding=0.02)

    def set_history(self, history: History | None, idx: np.ndarray) -> None:
        """Redraw from ``history`` at the display indices ``idx`` (decimated)."""
        self._history, self._idx = history, idx
        # the rows drawn, by epoch: a thinning history may move them before the next draw
        self._drawn = None if history is None else (history.thins, history.column("epoch")[idx])
        if self.race_curves:
            self._sync_sse_legend()
        if history is None or len(history) == 0 or idx.size == 0:
            self._ranges.clear()
            self.readout.setText(HOVER_HINT)
            for c in (self.val_curve, self.mu_curve, self.lr_curve):
                self._legend_entry(c, False)  # no run: no legend of the last one's curves
            self._rename(self.sse_curve, sse_name(None, self._index_label))
            self.sse_plot.setXRange(0.0, 10.0, padding=0)
            for c in (
                self.val_curve,
                self.sse_curve,
                self.grad_curve,
                self.lr_curve,
                self.mu_curve,
            ):
                c.setData([], [])
            if self._overlay_data or self._race_data[0] or self._previous_data:
                self._fit(np.empty(0), {"sse": [], "aux": []})  # no run: fit what is shown
            return
        ep = history.column("epoch")[idx].astype(float)
        if self.log_x.isChecked():
            ep = np.maximum(ep, 0.5)  # epoch 0 on a log axis
        sse = _positive(history.column("sse")[idx])
        self.sse_curve.setData(ep, sse, connect="finite")
        self._rename(self.sse_curve, sse_name(history, self._index_label))
        shown = {"sse": [sse], "aux": []}
        for curve, name in (
            (self.val_curve, "val_performance"),
            (self.grad_curve, "grad_norm"),
            (self.lr_curve, "lr"),
            (self.mu_curve, "mu"),
        ):
            y = history.column(name)[idx]
            self._legend_entry(curve, not np.isnan(y).all())
            if np.isnan(y).all():
                curve.setData([], [])
            else:
                y = _positive(y)
                curve.setData(ep, y, connect="finite")
                shown["sse" if name == "val_performance" else "aux"].append(y)
        self._fit(ep, shown)

    def _rename(self, curve, name: str) -> None:
        label = self.sse_plot.legend.getLabel(curve)
        if label is not None and label.text != name:
            label.setText(name)

    def _legend_entry(self, curve, show: bool) -> None:
        """Only curves with data are listed in their plot's legend."""
        plot = self.sse_plot if curve is self.val_curve else self.aux_plot
        legend = plot.legend
        listed = legend.getLabel(curve) is not None
        if show and not listed:
            legend.addItem(curve, curve.name())
        elif not show and listed:
            legend.removeItem(curve)

    def _replace(self, items: list, curves, pen) -> None:
        while len(items) > len(curves):
            self.sse_plot.removeItem(items.pop())
        while len(items) < len(curves):
            items.append(self.sse_plot.plot(pen=pen))
        for item, (ep, y) in zip(items, curves, strict=True):
            ep = np.asarray(ep, float)
            if self.log_x.isChecked():
                ep = np.maximum(ep, 0.5)
            item.setData(ep, _positive(y), connect="finite")

    def set_previous(self, curves: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """SSE curves of earlier runs of this problem, faint."""
        changed = len(curves) != len(self._previous_data)
        self._previous_data = list(curves)
        self._replace(self.previous, curves, PREVIOUS_PEN)
        if changed:  # the shown set changed: the axes fit it
            self._refit()

    def _current_idx(self) -> np.ndarray:
        """The rows drawn last, where they are now in the (possibly thinned) history."""
        h, drawn = self._history, self._drawn
        if h is None or drawn is None or drawn[0] == h.thins:
            return self._idx
        ep, want = h.column("epoch"), drawn[1]
        rows = np.searchsorted(ep, want)
        ok = rows < len(ep)
        ok[ok] = ep[rows[ok]] == want[ok]
        return rows[ok]

    def _refit(self) -> None:
        h = self._history
        if h is not None and len(h) and self._idx.size:
            self.set_history(h, self._current_idx())
        else:
            self._fit(np.empty(0), {"sse": [], "aux": []})

    def set_overlays(self, curves: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """SSE curves of a restart batch, faint orange."""
        changed = len(curves) != len(self._overlay_data)
        self._overlay_data = list(curves)
        self._replace(self.overlays, curves, OVERLAY_PEN)
        if changed:  # the shown set changed: the axes fit it
            self._refit()

    def set_race(self, epochs: list, sse: list, names: list[str], colours: list[str],
                 highlight: int | None = None) -> None:  # fmt: skip
        """An optimizer race: each entry's error curve in its colour, named in the legend
        (entry ``highlight`` bold).  Without a current run the axes fit the race."""
        self._race_data = (list(epochs), list(sse), list(names), list(colours), highlight)
        legend = self.sse_plot.legend
        while len(self.race_curves) > len(epochs):
            item = self.race_curves.pop()
            legend.removeItem(item)
            self.sse_plot.removeItem(item)
        while len(self.race_curves) < len(epochs):
            item = self.sse_plot.plot()
            item.setClipToView(True)
            self.race_curves.append(item)
        for i, (item, ep, y) in enumerate(zip(self.race_curves, epochs, sse, strict=True)):
            ep = np.asarray(ep, float)
            if self.log_x.isChecked():
                ep = np.maximum(ep, 0.5)
            y = _positive(y)
            width = 1.5 if highlight is None else (3.0 if i == highlight else 1.0)
            item.setPen(pg.mkPen(colours[i], width=width))
            item.setData(ep, y, connect="finite")
            label = legend.getLabel(item)
            if label is None or label.text != names[i]:
                legend.removeItem(item)
                legend.addItem(item, names[i])
        # a race's curves fall from the top left to the right: its legend goes bottom left
        corner = ((0, 1), (0, 1), (10, -10)) if epochs else ((1, 0), (1, 0), (-10, 10))
        if getattr(self, "_legend_corner", None) != corner:
            self._legend_corner = corner
            legend.anchor(itemPos=corner[0], parentPos=corner[1], offset=corner[2])
        if not self._sync_sse_legend() and epochs:
            self._fit(np.empty(0), {"sse": [], "aux": []})

    def _sync_sse_legend(self) -> bool:
        """The current run's SSE is listed while there is one, or no race is shown;
        True: there is a current run."""
        has_run = self._history is not None and len(self._history) > 0
        legend = self.sse_plot.legend
        listed = legend.getLabel(self.sse_curve) is not None
        if (has_run or not self._race_data[0]) != listed:
            if listed:
                legend.removeItem(self.sse_curve)
            else:
                legend.addItem(self.sse_curve, "SSE")
        return has_run

    def _mouse_moved(self, evt) -> None:
        pos = evt[0]
        h = self._history
        if h is None or len(h) == 0:
            self.readout.setText(HOVER_HINT)
            return
        for p in (self.sse_plot, self.aux_plot):
            if p.sceneBoundingRect().contains(pos):
                xv = p.getViewBox().mapSceneToView(pos).x()
                if self.log_x.isChecked():
                    xv = 10**xv
                ep = h.column("epoch")
                i = int(np.clip(np.searchsorted(ep, xv), 0, len(ep) - 1))
                row = {c: h.column(c)[i] for c in ("sse", "grad_norm", "lr", "mu")}
                text = (
                    f"epoch {int(ep[i]):,}   SSE {row['sse']:.6g}   |grad| {row['grad_norm']:.3g}"
                )
                if np.isfinite(row["lr"]):
                    text += f"   lr {row['lr']:.3g}"
                if np.isfinite(row["mu"]):
                    text += f"   mu {row['mu']:.3g}"
                self.readout.setText(text)
                return
        self.readout.setText(HOVER_HINT)  # outside both plots: no stale reading

    def leaveEvent(self, event) -> None:
        self.readout.setText(HOVER_HINT)  # no reading outlives the pointer
        super().leaveEvent(event)
