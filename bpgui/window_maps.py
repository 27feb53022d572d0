"""The main window's basin map and hyperparameter sweep (issue 12): Tools ▸ Basin map,
Tools ▸ Sweep."""

from __future__ import annotations


class MapsMixin:
    """Part of :class:`~bpgui.main_window.MainWindow`."""

    def show_basins(self) -> None:
        self.show_message("basin maps are not available yet", error=True)

    def show_sweep(self) -> None:
        self.show_message("sweeps are not available yet", error=True)
