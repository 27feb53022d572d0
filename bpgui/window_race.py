"""The main window's optimizer race (issue 12): Tools ▸ Race."""

from __future__ import annotations


class RaceMixin:
    """Part of :class:`~bpgui.main_window.MainWindow`."""

    def show_race(self) -> None:
        self.show_message("the optimizer race is not available yet", error=True)
