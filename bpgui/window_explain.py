"""The main window's explanations (issue 13): critical points, curvature and equations,
update vectors, the backprop inspector."""

from __future__ import annotations


class ExplainMixin:
    """Part of :class:`~bpgui.main_window.MainWindow`."""

    def show_critical(self) -> None:
        self.show_message("critical points are not available yet", error=True)

    def show_inspector(self) -> None:
        self.show_message("the backprop inspector is not available yet", error=True)

    def toggle_vectors(self, on: bool) -> None:
        self.show_message("update vectors are not available yet", error=True)

    def show_explain(self) -> None:
        self.show_message("the curvature panel is not available yet", error=True)
