"""The main window's menus and toolbar, built from :mod:`bpgui.window.actions`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMenu, QSlider

from bpgui.window import history_memory
from bpgui_engine.model.experiments import EXPERIMENTS

EXPORTS = (
    ("contour-png", "Contour plot as PNG…"),
    ("contour-svg", "Contour plot as SVG…"),
    ("curves-png", "Error curves as PNG…"),
    ("curves-svg", "Error curves as SVG…"),
    ("response-png", "Network response as PNG…"),
    ("response-svg", "Network response as SVG…"),
    (None, None),
    ("history", "History (every epoch) as CSV…"),
    ("trajectory", "Weight trajectory as CSV…"),
    ("grid", "Contour grid as CSV…"),
    ("params-csv", "Parameters as CSV…"),
    ("params-json", "Parameters as JSON…"),
    (None, None),
    ("basins", "Basin map as CSV…"),
    ("sweep", "Sweep as CSV…"),
)


def _tool_actions(win, menu: str) -> list:
    """What the tools add to ``menu`` (in the order they are registered)."""
    return [act for tool in win.tools.values() for act in tool.menu_actions(menu)]


def build_menus(win) -> None:
    a = win.actions
    mb = win.menuBar()
    m = mb.addMenu("&File")
    for act in (a.new, a.open):
        m.addAction(act)
    win.recent_menu = m.addMenu("Open &recent")
    rebuild_recent_menu(win)
    for act in (a.save, a.save_as, a.save_lighter):
        m.addAction(act)
    ex = m.addMenu("&Export")
    for what, text in EXPORTS:
        if what is None:
            ex.addSeparator()
            continue
        act = ex.addAction(text)
        act.setData(what)
        act.triggered.connect(lambda _=False, w=what: win.document.export(w))
    ex.addSeparator()
    for act in _tool_actions(win, "export"):  # Animation (GIF/MP4)…
        ex.addAction(act)
    m.addSeparator()
    m.addAction(a.quit)
    m = mb.addMenu("&Run")
    for act in (a.start, a.pause, a.step, a.stop, a.reset):
        m.addAction(act)
    m.addSeparator()
    mem = m.addAction("History &memory…")
    mem.setToolTip("the most memory one run's history keeps before it thins its middle")
    mem.triggered.connect(lambda _=False: history_memory.ask(win))
    top = m = mb.addMenu("&Experiments")
    plane = QMenu("&Classification in the plane", top)  # after the book's
    plane.setToolTipsVisible(True)
    for key, e in EXPERIMENTS.items():
        act = (plane if e.group == "plane" else top).addAction(e.title)
        act.setToolTip(e.description)
        act.setStatusTip(e.description)
        act.setData(key)
        act.triggered.connect(
            lambda _=False, k=key: win.document.may_replace() and win.load_experiment(k)
        )
    top.addSeparator()
    top.addMenu(plane)
    m.setToolTipsVisible(True)
    m = mb.addMenu("&View")
    for act in (a.fit, a.reslice, a.clear):
        m.addAction(act)
    for act in _tool_actions(win, "view"):  # the restarts' dock
        m.addAction(act)
    m.addSeparator()
    for act in (a.vectors, a.explain):
        m.addAction(act)
    m.addSeparator()
    win.view.build_view_menu_items(m)
    m = mb.addMenu("&Tools")
    m.addAction(a.gradcheck)
    m.addAction(a.restarts)
    m.addSeparator()
    for act in (a.race, a.basins, a.sweep):
        m.addAction(act)
    m.addSeparator()
    for act in (a.critical, a.inspect, a.landscape):
        m.addAction(act)
    m = mb.addMenu("&Help")
    for act in (a.guide, a.shortcuts, a.about):
        m.addAction(act)


def rebuild_recent_menu(win) -> None:
    """File ▸ Open recent from the document's recent files (call it when no action of the
    menu is being triggered: the rebuild deletes them)."""
    m = win.recent_menu
    m.clear()
    items = win.document.recent.list()
    for i, path in enumerate(items, 1):
        act = m.addAction(f"&{i} {path}")
        act.setData(path)
        act.triggered.connect(lambda _=False, p=path: win.document.open(p))
    if not items:
        m.addAction("(none yet)").setEnabled(False)


def build_toolbar(win, speeds) -> None:
    """The toolbar; when the window is too narrow, Qt's extension button (») at its end
    lists the actions that do not fit."""
    a = win.actions
    tb = win.addToolBar("Run")
    tb.setObjectName("run-toolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for act in (a.open, a.save):
        tb.addAction(act)
    tb.addSeparator()
    # Start toggles (Start, Pause, Resume, Continue): no second Pause button beside it;
    # Run ▸ Pause stays in the menu
    for act in (a.start, a.step, a.stop, a.reset):
        tb.addAction(act)
    tb.addSeparator()
    tb.addWidget(QLabel(" speed "))
    win.speed = QSlider(Qt.Orientation.Horizontal)
    win.speed.setRange(0, len(speeds) - 1)
    win.speed.setValue(len(speeds) - 1)
    win.speed.setMinimumWidth(80)
    win.speed.setMaximumWidth(160)
    win.speed.setToolTip("epochs per second: slow motion to as fast as possible")
    win.speed_label = QLabel()
    win.speed_label.setMinimumWidth(110)
    tb.addWidget(win.speed)
    tb.addWidget(win.speed_label)
    tb.addSeparator()
    for act in (a.fit, a.clear, a.gradcheck, a.restarts):
        tb.addAction(act)
    win.toolbar = tb
