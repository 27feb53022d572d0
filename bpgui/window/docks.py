"""Tool docks: one way to make and show them, so that opening tools never pushes the
window off the screen.

Every tool's dock holds its pane in a scroll area (the pane's own minimum size never makes
the window grow: it scrolls instead at 1024×700), can be moved, floated and closed, and is
shown *tabbed* with the tool docks already open in its area — each tool then has the
area's whole width at a usable height, instead of a strip of it side by side.  After a
dock is shown the window is kept within the screen's available area."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

FEATURES = (
    QDockWidget.DockWidgetFeature.DockWidgetMovable
    | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    | QDockWidget.DockWidgetFeature.DockWidgetClosable
)
SIDE = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)


def tool_dock(win: QMainWindow, title: str, name: str, pane: QWidget,
              area: Qt.DockWidgetArea) -> QDockWidget:  # fmt: skip
    """A hidden dock holding ``pane`` (in a scroll area) in ``area`` of ``win``."""
    dock = QDockWidget(title, win)
    dock.setObjectName(name)
    dock.setFeatures(FEATURES)
    scroll = QScrollArea()
    scroll.setWidget(pane)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setMinimumSize(200, 100)
    dock.setWidget(scroll)
    win.addDockWidget(area, dock)
    dock.hide()
    TOOL_AREAS[name] = area
    return dock


#: each tool dock's own area (View ▸ Reset layout puts them back there, closed)
TOOL_AREAS: dict[str, Qt.DockWidgetArea] = {}


def reset_tool_docks(win: QMainWindow) -> None:
    """Every tool dock docked in its own area again, and closed."""
    for dock in win.findChildren(QDockWidget):
        area = TOOL_AREAS.get(dock.objectName())
        if area is None:
            continue
        dock.hide()
        dock.setFloating(False)
        win.addDockWidget(area, dock)
        dock.hide()


def show_tool_dock(win: QMainWindow, dock: QDockWidget, tall: bool = False) -> None:
    """Show ``dock`` (raised), tabbed with the tool docks open in its area; a bottom dock
    gets a usable height (``tall``: more, for tables and heat maps)."""
    fitted = fits_screen(win)
    if not dock.isVisible():
        area = win.dockWidgetArea(dock)
        others = [
            d
            for d in win.findChildren(QDockWidget)
            if d is not dock and d.isVisible() and not d.isFloating()
            and win.dockWidgetArea(d) == area
        ]  # fmt: skip
        tabbed = bool(others) and not dock.isFloating()
        if tabbed:
            win.tabifyDockWidget(others[-1], dock)
        dock.show()
        if area not in SIDE and not dock.isFloating():
            h = win.height()
            size = max(200, min(420 if tall else 300, h * (2 if tall else 1) // 5))
            if tabbed:  # the group keeps its height unless this tool needs more
                size = max(size, others[-1].height())
            win.resizeDocks([dock], [size], Qt.Orientation.Vertical)
        elif area in SIDE and not dock.isFloating():
            need = _pane_width(dock)  # as wide as its pane needs: nothing cut at the edge
            if dock.width() < need:
                win.resizeDocks([dock], [need], Qt.Orientation.Horizontal)
    dock.raise_()
    if fitted:  # a window that fitted its screen still does
        keep_on_screen(win)


def _pane_width(dock: QDockWidget) -> int:
    """The width ``dock`` needs to show its pane without a horizontal scroll bar."""
    scroll = dock.widget()
    if not isinstance(scroll, QScrollArea) or scroll.widget() is None:
        return 0
    bar = scroll.verticalScrollBar().sizeHint().width()
    return scroll.widget().minimumSizeHint().width() + bar + 2 * scroll.frameWidth() + 4


def fits_screen(win: QMainWindow) -> bool:
    screen = win.screen()
    return screen is not None and screen.availableGeometry().contains(win.frameGeometry())


def keep_on_screen(win: QMainWindow) -> None:
    """Shrink and move the window back inside its screen's available area (a dock's
    minimum size may have grown it)."""
    if win.isMaximized() or win.isFullScreen():
        return
    screen = win.screen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    frame = win.frameGeometry()
    extra_w = frame.width() - win.width()
    extra_h = frame.height() - win.height()
    w = min(win.width(), avail.width() - extra_w)
    h = min(win.height(), avail.height() - extra_h)
    if (w, h) != (win.width(), win.height()):
        win.resize(w, h)
    over = win.height() - h  # still too tall (the minimum size): shrink the bottom docks
    if over > 0:
        bottom = [
            d for d in win.findChildren(QDockWidget)
            if d.isVisible() and not d.isFloating()
            and win.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea
        ]  # fmt: skip
        if bottom:
            d = max(bottom, key=lambda d: d.height())
            win.resizeDocks([d], [max(100, d.height() - over)], Qt.Orientation.Vertical)
            win.resize(w, h)
    frame = win.frameGeometry()
    x = min(max(frame.x(), avail.x()), avail.right() - frame.width() + 1)
    y = min(max(frame.y(), avail.y()), avail.bottom() - frame.height() + 1)
    if (x, y) != (frame.x(), frame.y()):
        win.move(x, y)
