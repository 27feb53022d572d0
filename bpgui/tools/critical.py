"""Tools ▸ Find critical points (issue 13): the search of the current view, its table and
its marks on the contour and the 3-D surface.

A search belongs to the problem, the axes and the ranges it ran on
(:func:`~bpgui.document.runs.problem_key`): it is drawn only while those are current
(:meth:`CriticalTool.sync_critical`, on every ``refreshed``).  The pane is built the first
time it is needed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDockWidget

from bpgui.tools.base import Tool
from bpgui_engine.model.setup import problem_key


class CriticalTool(Tool):
    """Tools ▸ Find critical points."""

    name = "critical"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.critical_pane = None
        self.critical_dock: QDockWidget | None = None
        self.critical_marks = None
        self.critical_result = None  # panes.critical.CriticalResult (its key: what it is of)
        self._critical_row: int | None = None
        host.actions.critical.triggered.connect(self.show_critical)
        host.refreshed.connect(self.sync_critical)
        host.theme_changed.connect(self._theme_changed)
        host.closing.connect(self._closing)

    def _critical_ui(self):
        if self.critical_pane is not None:
            return self.critical_pane
        from bpgui.panes.critical import CriticalPane
        from bpgui.plots.critical_marks import CriticalMarks

        pane = self.critical_pane = CriticalPane(service=self.host.jobs)
        self.critical_dock = self.make_dock(
            "Critical points", "critical-dock", pane, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.critical_marks = CriticalMarks(self.host.plots.contour.plot_item)
        pane.find_button.clicked.connect(self.find_critical)
        pane.finished.connect(self._critical_finished)
        pane.row_selected.connect(self._critical_selected)
        return pane

    def critical_key(self) -> tuple:
        s = self.host.setup
        return (problem_key(s), s.axes, s.ranges)

    def show_critical(self) -> None:
        """Tools ▸ Find critical points: the dock (small) and a search of the current view."""
        self._critical_ui()
        self.show_dock(self.critical_dock)
        self.find_critical()

    def find_critical(self) -> None:
        from bpgui.panes.critical import CriticalJob

        s = self.host.setup
        free = "all" if len(s.free) > 2 else "slice"
        x = self.host.runs.current_point()
        self._critical_ui().start(CriticalJob(s, x, free, self.critical_key()))

    def _critical_finished(self, res) -> None:
        self.critical_result = res
        self._critical_row = None
        self.sync_critical()
        from bpgui.panes.critical import summary

        self.host.show_message(f"critical points: {summary(res)}", error=bool(res.error))

    def _critical_selected(self, row: int) -> None:
        self._critical_row = row
        if self.critical_marks is not None:
            self.critical_marks.select(row, self.host.setup)

    def critical_current(self):
        """The search result of the current problem, axes and ranges (None otherwise)."""
        r = self.critical_result
        return r if r is not None and r.key == self.critical_key() else None

    def sync_critical(self) -> None:
        if self.critical_pane is None:
            return
        from bpgui.plots.critical_style import KIND_STYLE

        setup = self.host.setup
        res = self.critical_current()
        pts = res.points if res is not None else []
        self.critical_marks.set_points(pts, setup)
        self.critical_pane.show_result(res, setup)
        if res is None:
            self._critical_row = None
        elif self._critical_row is not None:
            self.critical_marks.select(self._critical_row, setup)
        marks = []
        for p, (x, y) in zip(pts, zip(*self.critical_marks.xy(), strict=True), strict=True):
            c = QColor(KIND_STYLE.get(p.kind, KIND_STYLE["undefined"])[1])
            marks.append((x, y, p.performance, (c.redF(), c.greenF(), c.blueF(), 1.0)))
        self.host.plots.view3d.set_critical(marks)

    def _theme_changed(self) -> None:
        if self.critical_pane is not None:
            from bpgui.plots.critical_style import kinds_legend

            self.critical_pane.legend.setText(kinds_legend())
            self.sync_critical()

    def restore(self, session) -> None:
        """New or Open: the session has no stationary points (they are not saved): the
        table and the marks of the previous one go, and a running search is dropped."""
        self.critical_result = None
        self._critical_row = None
        if self.critical_pane is not None:
            self.critical_pane.drop()
            self.sync_critical()

    def _closing(self) -> None:
        """Closing (after the window accepted it): drop a running search; none starts
        after this."""
        if self.critical_pane is not None:
            self.critical_pane.shutdown()
