"""The main window's explanations (issue 13): critical points, curvature and equations,
update vectors, the backprop inspector, editable weights.

Everything here is derived from the window's model (setup, start point, current run) and
redrawn by :meth:`ExplainMixin.sync_explain` (called from ``refresh()``) and
:meth:`ExplainMixin.explain_frame` (the slow frames while training).  A critical-point
search belongs to the problem, the axes and the ranges it ran on
(:func:`~bpgui.runs.problem_key`): it is drawn only while those are current.  The panes are
built the first time they are needed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDockWidget

from .runs import problem_key


class ExplainMixin:
    """Part of :class:`~bpgui.main_window.MainWindow`."""

    critical_pane = None
    critical_dock: QDockWidget | None = None
    critical_marks = None
    critical_result = None  # panes.critical.CriticalResult (its key says what it is of)
    _critical_row: int | None = None

    # ---- helpers ------------------------------------------------------------------------------
    def explain_point(self) -> np.ndarray:
        """The current point: the run's last epoch, else where the next run starts."""
        h = self.controller.history
        if h is not None and len(h):
            return np.array(h.x[len(h) - 1], float)
        return np.array(self._default_start(), float)

    def _explain_dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        dock.hide()
        return dock

    def _show_small(self, dock: QDockWidget, vertical: bool = True) -> None:
        """Show ``dock`` without squeezing the plots (small at 1024 x 700)."""
        if not dock.isVisible():
            dock.show()
            if vertical:
                h = max(150, min(240, self.height() // 4))
                self.resizeDocks([dock], [h], Qt.Orientation.Vertical)
            else:
                w = max(280, min(380, self.width() // 4))
                self.resizeDocks([dock], [w], Qt.Orientation.Horizontal)
        dock.raise_()

    # ---- critical points ----------------------------------------------------------------------
    def _critical_ui(self):
        if self.critical_pane is not None:
            return self.critical_pane
        from .panes.critical import CriticalPane
        from .plots.critical_marks import CriticalMarks

        pane = self.critical_pane = CriticalPane()
        self.critical_dock = self._explain_dock(
            "Critical points", "critical-dock", pane, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.critical_marks = CriticalMarks(self.plots.contour.plot_item)
        pane.find_button.clicked.connect(self.find_critical)
        pane.finished.connect(self._critical_finished)
        pane.row_selected.connect(self._critical_selected)
        return pane

    def critical_key(self) -> tuple:
        s = self.setup
        return (problem_key(s), s.axes, s.ranges)

    def show_critical(self) -> None:
        """Tools ▸ Find critical points: the dock (small) and a search of the current view."""
        self._critical_ui()
        self._show_small(self.critical_dock)
        self.find_critical()

    def find_critical(self) -> None:
        from .panes.critical import CriticalJob

        s = self.setup
        free = "all" if len(s.free) > 2 else "slice"
        self._critical_ui().start(CriticalJob(s, self.explain_point(), free, self.critical_key()))

    def _critical_finished(self, res) -> None:
        self.critical_result = res
        self._critical_row = None
        self.sync_critical()
        from .panes.critical import summary

        self.show_message(f"critical points: {summary(res)}", error=bool(res.error))

    def _critical_selected(self, row: int) -> None:
        self._critical_row = row
        if self.critical_marks is not None:
            self.critical_marks.select(row, self.setup)

    def critical_current(self):
        """The search result of the current problem, axes and ranges (None otherwise)."""
        r = self.critical_result
        return r if r is not None and r.key == self.critical_key() else None

    def sync_critical(self) -> None:
        if self.critical_pane is None:
            return
        from .panes.critical import KIND_STYLE

        res = self.critical_current()
        pts = res.points if res is not None else []
        self.critical_marks.set_points(pts, self.setup)
        self.critical_pane.show_result(res, self.setup)
        if res is None:
            self._critical_row = None
        elif self._critical_row is not None:
            self.critical_marks.select(self._critical_row, self.setup)
        marks = []
        for p, (x, y) in zip(pts, zip(*self.critical_marks.xy(), strict=True), strict=True):
            c = QColor(KIND_STYLE.get(p.kind, KIND_STYLE["undefined"])[1])
            marks.append((x, y, p.performance, (c.redF(), c.greenF(), c.blueF(), 1.0)))
        self.plots.view3d.set_critical(marks)

    # ---- the model's views (from refresh() and the slow frames) ------------------------------
    def sync_explain(self) -> None:
        """Redraw every explanation from the model (``refresh()`` calls this)."""
        self.optimizer_pane.set_layers(self.setup.spec.n_layers)
        self.sync_critical()

    def explain_frame(self) -> None:
        """A slow frame while training: the live parts (cheap)."""

    def closeEvent(self, event) -> None:
        """Closing (after the window accepted it): cancel a running search and wait for
        its thread, so none outlives the window."""
        if self.critical_pane is not None:
            self.critical_pane.shutdown()
        super().closeEvent(event)

    # ---- not yet --------------------------------------------------------------------------------
    def show_inspector(self) -> None:
        self.show_message("the backprop inspector is not available yet", error=True)

    def toggle_vectors(self, on: bool) -> None:
        self.show_message("update vectors are not available yet", error=True)

    def show_explain(self) -> None:
        self.show_message("the curvature panel is not available yet", error=True)
