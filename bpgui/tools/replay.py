"""Replay and linked views (issue 14 #1).

An epoch slider under the plots scrubs any finished or paused run (also one reopened from
a session): a cursor on the contour's path (and on the 3-D surface), the response plot,
the diagram's weights, the parameter table, a cursor line on the error curves and the
status fields all show that epoch together; the curvature and equations, the update
vectors and the inspector follow it through the host's ``shown_changed``. Ctrl+←/→ move
one epoch, Ctrl+Shift+←/→ a hundredth of the run. Hovering the error curves marks that
epoch on the contour; hovering near the path shows its epoch on the curves. While a run
trains, the slider is off and the views are live.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from bpgui.tools.base import Tool

CURSOR_BRUSH = "#ff9f1c"
LINE_PEN = pg.mkPen("#ff9f1c", width=1.5, style=Qt.PenStyle.DashLine)
HOVER_PEN = pg.mkPen((255, 159, 28, 120), width=1)
NEAR_PX = 12  # how close to the path the pointer must be to pick an epoch


class ReplayBar(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip(
            "replay: drag to scrub the run (Ctrl+←/→ one epoch, Ctrl+Shift+←/→ faster); "
            "every view shows the chosen epoch"
        )
        self.label = QLabel("replay: no run")
        self.label.setMinimumWidth(260)
        # one line high, whatever room the plots leave (it took a share of a taller window
        # after presentation mode, leaving a band above the slider)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(QLabel("epoch"))
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)


class ReplayController(Tool):
    """Owns the bar (under the plots) and the cursor items; everything is derived from the
    window's current history and redrawn from it (on every ``refreshed``).  The row shown
    is the host's ``shown_row`` too (an edited weight applies to the epoch shown)."""

    name = "replay"

    def __init__(self, win) -> None:
        super().__init__(win)
        self.bar = ReplayBar()
        win.plots.layout().addWidget(self.bar)
        self.row = None  # the history row shown (None: the live end)
        self._at: tuple[int, int] | None = None  # (the history's thins, the epoch) of row
        self._history = None
        c, cu = win.plots.contour, win.plots.curves
        self.cursor = pg.ScatterPlotItem(symbol="d", size=14, brush=CURSOR_BRUSH, pen="k")
        self.cursor.setZValue(9)
        self.hover_dot = pg.ScatterPlotItem(
            symbol="o", size=13, brush=CURSOR_BRUSH, pen=pg.mkPen("k", width=1.5)
        )
        self.hover_dot.setZValue(9)
        c.plot_item.addItem(self.cursor)
        c.plot_item.addItem(self.hover_dot)
        self.lines = []
        self.hover_lines = []
        for plot in (cu.sse_plot, cu.aux_plot):
            line = pg.InfiniteLine(angle=90, pen=LINE_PEN, movable=False)
            hover = pg.InfiniteLine(angle=90, pen=HOVER_PEN, movable=False)
            for item in (line, hover):
                item.setVisible(False)
                plot.addItem(item, ignoreBounds=True)
            self.lines.append(line)
            self.hover_lines.append(hover)
        self.bar.slider.valueChanged.connect(self._slid)
        self._curve_proxy = pg.SignalProxy(
            cu.glw.scene().sigMouseMoved, rateLimit=30, slot=self._curves_hovered
        )
        self._path_proxy = pg.SignalProxy(
            c.widget.scene().sigMouseMoved, rateLimit=30, slot=self._path_hovered
        )
        for keys, step in (
            ("Ctrl+Left", -1),
            ("Ctrl+Right", 1),
            ("Ctrl+Shift+Left", -100),
            ("Ctrl+Shift+Right", 100),
        ):
            sc = QShortcut(QKeySequence(keys), win)
            sc.activated.connect(lambda s=step: self.nudge(s))
        # a hover mark never outlives the pointer: leaving the plot clears it
        cu.installEventFilter(self)
        c.widget.installEventFilter(self)
        win.controller.state_changed.connect(lambda _s: self.sync())
        win.controller.run_finished.connect(lambda _r: self.sync())
        win.refreshed.connect(self.sync)
        win.theme_changed.connect(self._theme_changed)
        win.plots.curves.log_x.toggled.connect(lambda _on: self._show())  # the line's x
        self.sync()

    @property
    def row(self) -> int | None:
        """The history row shown (None: the live end)."""
        return self.host.shown_row

    @row.setter
    def row(self, value: int | None) -> None:
        self.host.shown_row = value

    def _theme_changed(self) -> None:
        self.bar.setVisible(not self.host.view.presentation)  # presentation: room for plots

    # ---- the model --------------------------------------------------------------------------
    def _usable(self):
        """The history that can be scrubbed (None while training or without a run)."""
        c = self.host.controller
        h = c.history
        if h is None or len(h) < 2 or c.state == "running":
            return None
        return h

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.clear_hover()
        return False

    def clear_hover(self) -> None:
        """No hover mark: the dot on the path, the epoch lines on the curves."""
        self.hover_dot.setData([], [])
        for line in self.hover_lines:
            line.setVisible(False)

    def sync(self) -> None:
        """Follow the window: a new, reset or running run switches the replay off (and
        any hover mark of what was shown goes: Reset, an edit, a new run, Open)."""
        self.clear_hover()
        h = self._usable()
        s = self.bar.slider
        was = self.row
        if h is None or h is not self._history:
            self.row = None
        elif self.row is not None and self._at is not None and self._at[0] != h.thins:
            # the history thinned since (a step while paused): the same epoch, or the next kept
            ep = h.column("epoch")
            self.row = int(min(np.searchsorted(ep, self._at[1]), len(h) - 1))
        self._history = h
        s.blockSignals(True)
        s.setEnabled(h is not None)
        s.setRange(0, max(0, len(h) - 1) if h is not None else 0)
        s.setValue(s.maximum() if self.row is None else self.row)
        s.blockSignals(False)
        self._show()
        if self.row != was:
            self.host.shown_changed.emit()

    def nudge(self, step: int) -> None:
        h = self._usable()
        if h is None:
            return
        n = len(h)
        k = step if abs(step) == 1 else int(np.sign(step)) * max(1, n // 100)
        base = self.row if self.row is not None else n - 1
        self.scrub(int(np.clip(base + k, 0, n - 1)))

    def scrub(self, row: int) -> None:
        h = self._usable()
        if h is None:
            return
        self._history = h
        was = self.row
        self.row = int(np.clip(row, 0, len(h) - 1))
        self._at = (h.thins, int(h.column("epoch")[self.row]))
        s = self.bar.slider
        s.blockSignals(True)
        s.setRange(0, len(h) - 1)
        s.setValue(self.row)
        s.blockSignals(False)
        self._show()
        if self.row != was:
            self.host.shown_changed.emit()

    def _slid(self, value: int) -> None:
        self.scrub(value)

    # ---- the views ------------------------------------------------------------------------
    def _show(self) -> None:
        w = self.host
        h = self._history
        on = h is not None and self.row is not None
        self.cursor.setVisible(on)
        for line in self.lines:
            line.setVisible(on)
        if not on:
            self.cursor.setData([], [])
            w.plots.view3d.set_cursor(None)
            self.bar.label.setText(
                "replay: pause or stop a run to scrub it" if h is None else "replay: the end"
            )
            return
        i = self.row
        x = h.x[i]
        setup = w.setup
        px, py = setup.axis_values(x[None, :])
        self.cursor.setData([float(px[0])], [float(py[0])])
        w.plots.view3d.set_cursor((float(px[0]), float(py[0])))  # the 3-D view's too
        row = {c: h.column(c)[i] for c in ("epoch", "performance", "sse", "grad_norm", "lr", "mu")}
        epoch = int(row["epoch"])
        for line in self.lines:
            line.setValue(self._curve_x(epoch))
        theta = setup.full_theta(x)
        w.plots.response.set_theta(theta)
        w.plots.decision.set_theta(theta)  # the regions at that epoch (data in the plane)
        w.network_pane.set_current(theta)
        w.status.show_point(row)  # the names the live fields use (MSE, cg's step, …)
        thinned = " (history thinned)" if h.kept is not None else ""
        self.bar.label.setText(f"epoch {epoch:,} of {int(h.column('epoch')[-1]):,}{thinned}")
        self.bar.label.setToolTip(f"the history keeps {h.describe()}" if thinned else "")

    def _curve_x(self, epoch: float) -> float:
        if self.host.plots.curves.log_x.isChecked():
            return float(np.log10(max(epoch, 0.5)))
        return float(epoch)

    # ---- linked hovering --------------------------------------------------------------------
    def _curves_hovered(self, evt) -> None:
        """Hovering the error curves marks that epoch on the contour."""
        h = self.host.controller.history
        cu = self.host.plots.curves
        pos = evt[0]
        for plot in (cu.sse_plot, cu.aux_plot):
            if h is not None and len(h) and plot.sceneBoundingRect().contains(pos):
                xv = plot.getViewBox().mapSceneToView(pos).x()
                if cu.log_x.isChecked():
                    xv = 10**xv
                ep = h.column("epoch")
                i = int(np.clip(np.searchsorted(ep, xv), 0, len(ep) - 1))
                px, py = self.host.setup.axis_values(h.x[i][None, :])
                self.hover_dot.setData([float(px[0])], [float(py[0])])
                return
        self.hover_dot.setData([], [])

    def _path_hovered(self, evt) -> None:
        """Hovering near the path shows its epoch on the error curves."""
        h = self.host.controller.history
        c = self.host.plots.contour
        vb = c.plot_item.getViewBox()
        pos = evt[0]
        for line in self.hover_lines:
            line.setVisible(False)
        if self.host.plots.curves.readout.text().startswith("path at epoch"):
            self.host.plots.curves.readout.setText("hover over the curves to read values")
        if h is None or len(h) < 2 or not vb.sceneBoundingRect().contains(pos):
            return
        v = vb.mapSceneToView(pos)
        sx, sy = vb.viewPixelSize()  # view units per pixel
        n = len(h)
        rows = np.arange(0, n, max(1, n // 200_000))  # every row of a run up to 200k epochs
        px, py = self.host.setup.axis_values(h.x[rows])
        with np.errstate(invalid="ignore"):
            d = np.hypot((px - v.x()) / sx, (py - v.y()) / sy)
        if not np.isfinite(d).any() or np.nanmin(d) > NEAR_PX:
            return
        epoch = int(h.column("epoch")[rows[int(np.nanargmin(d))]])
        for line in self.hover_lines:
            line.setValue(self._curve_x(epoch))
            line.setVisible(True)
        self.host.plots.curves.readout.setText(f"path at epoch {epoch:,}")
