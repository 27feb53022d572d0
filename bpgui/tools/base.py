"""Tools as components (issue 19): what every tool derives from and what it is given.

A tool (the race, the basin map and the sweep, the restarts, the gradient check, the
critical points, the curvature and equations with the update vectors, the inspector,
replay, the animation export, help) is a :class:`Tool`: a ``QObject`` made with the main
window as its :class:`ToolHost`.  It builds its own panes and docks, connects its own
actions (the ``QAction`` objects live in :mod:`bpgui.window.actions`) and follows the
host's signals instead of being called by name:

- ``refreshed``: ``refresh()`` redrew the window's views from its model; every view a tool
  derives from that model is redrawn now;
- ``slow_frame``: a slow frame while training (the cheap live parts redraw);
- ``setup_applied(problem_changed, view_changed)``: a setup was made current (a tool's
  results that belong to another problem, axes or ranges are dropped or hidden);
- ``theme_changed``: text and items coloured in code are redrawn;
- ``cleared``: Run ▸ Clear earlier runs (results of earlier runs go);
- ``run_reset``: Reset (back to the start point);
- ``closing``: the window closes (a tool's background jobs stop; none starts after);
- ``shown_changed``: replay moved the epoch the views show (``shown_row``).

New and Open go through :meth:`Tool.restore`, which every tool implements for its part
of a session (nothing of the previous session survives), and Save through
:meth:`Tool.save`.  Tools never import or call each other: what one changes reaches the
others through the host (its model and its signals).  Adding a tool is a module with a
:class:`Tool` subclass and one line in :data:`bpgui.tools.TOOLS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget


class ToolHost(Protocol):
    """What a tool may use of the main window (and nothing of another tool)."""

    # the document, the services and the shared views
    document: Any  # bpgui.document.document.Document
    controller: Any  # bpgui.service.controller.TrainingController (the run and the race)
    jobs: Any  # bpgui.service.jobs.JobService (every other computation)
    surfaces: Any  # bpgui.service.surfaces.SurfaceService (the contour's surface)
    plots: Any  # bpgui.panes.plots.PlotsPane
    network_pane: Any
    optimizer_pane: Any
    actions: Any  # bpgui.window.actions.Actions
    settings: Any
    status: Any  # bpgui.window.status.StatusLine
    status_fields: dict
    frame_timer: Any  # QTimer: the frame clock (40 a second)
    runs: Any  # bpgui.window.runs.RunCommands: start, end, the current point
    view: Any  # bpgui.window.view.ViewState: theme, presentation, the tools' docks
    archive: Any  # bpgui.document.runs.RunArchive: the earlier runs
    # the model
    setup: Any  # bpgui_engine.model.setup.Setup
    objective: Any
    start_x: Any
    restored_epoch: int | None
    shown_row: int | None  # the history row the views show (replay); None: the live end
    last_message: str
    # the host's signals (see the module's docstring)
    refreshed: Any
    slow_frame: Any
    setup_applied: Any
    theme_changed: Any
    cleared: Any
    run_reset: Any
    closing: Any
    shown_changed: Any

    def show_message(self, text: str, error: bool = False) -> None: ...
    def apply_setup(self, setup, problem_changed: bool | None = None, objective=None) -> None: ...
    def refresh(self) -> None: ...
    def current_experiment(self) -> str | None: ...


class Tool(QObject):
    """One tool of the main window: see the module's docstring.  ``name`` is its key in
    the window's ``tools``."""

    name = ""

    def __init__(self, host: ToolHost) -> None:
        super().__init__(host)  # type: ignore[arg-type]
        self.host = host

    # ---- what the window asks of every tool (nothing tool-specific) ----------------------
    def menu_actions(self, menu: str) -> list[QAction]:
        """Actions the tool adds to ``menu`` ("view", "export") besides the shared ones."""
        return []

    def csv_exports(self) -> dict[str, Callable[[], str]]:
        """File ▸ Export kinds the tool answers: kind -> a function giving the CSV text
        (raising ValueError, with the reason, when there is nothing to export)."""
        return {}

    def save(self, session) -> None:
        """Put the tool's part of the session into ``session`` (Save)."""

    def restore(self, session) -> None:
        """Show ``session``'s part of the tool; nothing of the one before survives (New,
        Open)."""

    # ---- helpers ---------------------------------------------------------------------------
    def make_dock(self, title: str, name: str, widget: QWidget,
                  area: Qt.DockWidgetArea) -> QDockWidget:  # fmt: skip
        """A hidden tool dock of the host holding ``widget``."""
        return self.host.view.add_dock(title, name, widget, area)

    def show_dock(self, dock: QDockWidget, tall: bool = False) -> None:
        """Show ``dock`` tabbed with the open tools of its area, within the screen."""
        self.host.view.show_dock(dock, tall=tall)
