"""The main window's look and memory: theme (View ▸ Theme), presentation mode (F11),
the remembered layout (geometry, docks, splitters) and View ▸ Reset layout.

Not a tool: a collaborator the window owns (``window.view``); a change of theme or of
presentation reaches the tools through the window's ``theme_changed``.  The tools make and
show their docks here (:meth:`ViewState.add_dock`, :meth:`ViewState.show_dock`), so the
layout's rules (:mod:`bpgui.window.docks`) stay the window's."""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QApplication, QDockWidget, QSplitter

from bpgui.widgets import theme as themes
from bpgui.window.docks import reset_tool_docks, show_tool_dock, tool_dock

LAYOUT_VERSION = 1  # bump when docks or splitters change, so an old layout is not applied


class ViewState:
    """Theme, presentation and layout of the main window ``win``."""

    def __init__(self, win) -> None:
        self.win = win
        self.presentation = False
        self.theme_choice = "system"
        self.theme_actions: dict[str, QAction] = {}
        self._before_presentation = None
        self._base_font = None
        self._default_layout = None

    # ---- construction -------------------------------------------------------------------
    def build_view_menu_items(self, menu) -> None:
        """Theme ▸ (system, light, dark), Presentation (F11), Reset layout."""
        sub = menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self.win)
        for name in themes.THEMES:
            act = sub.addAction({"system": "Follow the &system"}.get(name, f"&{name.title()}"))
            act.setCheckable(True)
            act.setData(name)
            act.setToolTip(
                "colours of the window and the plots (exports follow them: light for white slides)"
            )
            self.theme_group.addAction(act)
            act.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            self.theme_actions[name] = act
        menu.addAction(self.win.actions.presentation)
        menu.addAction(self.win.actions.reset_layout)
        self.win.actions.presentation.setCheckable(True)
        self.win.actions.presentation.setIconVisibleInMenu(False)  # its check mark shows
        self.win.actions.presentation.toggled.connect(self.set_presentation)
        self.win.actions.reset_layout.triggered.connect(self.reset_layout)

    # ---- the tools' docks -----------------------------------------------------------------
    def add_dock(self, title: str, name: str, widget, area) -> QDockWidget:
        """A hidden tool dock holding ``widget`` in ``area`` (View ▸ Reset layout puts it
        back there, closed)."""
        return tool_dock(self.win, title, name, widget, area)

    def show_dock(self, dock: QDockWidget, tall: bool = False) -> None:
        """Show ``dock`` tabbed with the open tools of its area, within the screen."""
        show_tool_dock(self.win, dock, tall=tall)

    # ---- theme and presentation -----------------------------------------------------------
    def set_theme(self, choice: str) -> None:
        if choice not in themes.THEMES:
            choice = "system"
        self.theme_choice = choice
        self.theme_actions[choice].setChecked(True)
        self.win.settings.set("view/theme", choice)
        self._apply_look()

    def _apply_look(self) -> None:
        themes.apply(self.win, themes.resolve(self.theme_choice), self.presentation)

    def set_presentation(self, on: bool) -> None:
        """Large fonts, thick lines, secondary panels hidden, full screen (and back)."""
        if on == self.presentation:
            return
        app = QApplication.instance()
        if on:
            self._before_presentation = (self.win.saveState(LAYOUT_VERSION), self.win.isMaximized())
            self._base_font = app.font()
            big = type(self._base_font)(self._base_font)
            big.setPointSizeF(self._base_font.pointSizeF() * themes.SCALE)
            app.setFont(big)
            self.win.setFont(big)
            for dock in self.win.findChildren(QDockWidget):
                dock.hide()
            self.win.plots.outputs.set_presentation(True)
            self.win.showFullScreen()
        else:
            app.setFont(self._base_font)
            self.win.setFont(self._base_font)
            self.win.plots.outputs.set_presentation(False)
            state, maximized = self._before_presentation
            self.win.showNormal()
            if maximized:
                self.win.showMaximized()
            self.win.restoreState(state, LAYOUT_VERSION)
        self.presentation = on
        self.win.actions.presentation.setChecked(on)
        self.win.settings.set("view/presentation", on)
        self._apply_look()

    # ---- the remembered layout ------------------------------------------------------------
    def _splitters(self) -> list[QSplitter]:
        return self.win.plots.findChildren(QSplitter)

    def save_layout(self) -> None:
        s = self.win.settings
        if self.presentation:  # remember the layout to come back to, not the lecture's
            state, _ = self._before_presentation
            s.set("window/state", state)
        else:
            s.set("window/geometry", self.win.saveGeometry())
            s.set("window/state", self.win.saveState(LAYOUT_VERSION))
            for i, sp in enumerate(self._splitters()):
                s.set(f"window/splitter{i}", sp.sizes())
        s.sync()

    def restore_layout(self) -> None:
        """At start: the last session's geometry, docks and splitters (when valid)."""
        self._default_layout = (
            self.win.saveGeometry(),
            self.win.saveState(LAYOUT_VERSION),
            [sp.sizes() for sp in self._splitters()],
        )
        s = self.win.settings
        geometry = s.get_bytes("window/geometry")
        if geometry is not None:
            self.win.restoreGeometry(geometry)
        state = s.get_bytes("window/state")
        if state is not None:
            self.win.restoreState(state, LAYOUT_VERSION)
        for i, sp in enumerate(self._splitters()):
            sizes = s.get_ints(f"window/splitter{i}")
            if sizes and len(sizes) == sp.count() and sum(sizes) > 0:
                sp.setSizes(sizes)

    def reset_layout(self) -> None:
        """View ▸ Reset layout: the layout bpgui starts with on a fresh install."""
        if self.presentation:
            self.set_presentation(False)
        geometry, state, sizes = self._default_layout
        reset_tool_docks(self.win)  # the tools opened since start: closed, in their own areas
        self.win.restoreGeometry(QByteArray(geometry))
        self.win.restoreState(QByteArray(state), LAYOUT_VERSION)
        for sp, sz in zip(self._splitters(), sizes, strict=False):
            sp.setSizes(sz)
        for key in ("window/geometry", "window/state"):
            self.win.settings.remove(key)
        self.win.show_message("layout reset")
