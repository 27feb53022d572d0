from __future__ import annotations

import pytest

from bpgui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    """The main window on the default problem, its first contour drawn."""
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.plots.surface is not None, timeout=15_000)
    yield win
    if win.isVisible():
        win.close()
    assert win.controller.engine is None  # the engine process was ended
