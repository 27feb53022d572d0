"""What the screenshot scripts share: the main window made for a picture (the setup dock
and the plots only) and a wait that keeps the event loop turning."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QApplication, QDockWidget

from bpgui.window.app import make_application
from bpgui.window.main import MainWindow


def picture_window(width: int = 1400, height: int = 860) -> MainWindow:
    make_application()
    win = MainWindow()
    win.resize(width, height)
    win.show()
    for d in win.findChildren(QDockWidget):  # the setup dock and the plots only
        if d.objectName() != "setup-dock":
            d.hide()
    return win


def wait(cond, seconds: float) -> None:
    """Until ``cond()`` or ``seconds`` have passed, the events processed meanwhile."""
    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)
