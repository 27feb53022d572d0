from __future__ import annotations

import pytest

from bpgui.document.document import Document
from bpgui.window.main import MainWindow


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Recent files and recovery files in a temporary folder; the unsaved-changes prompt
    answers "discard" unless a test says otherwise."""
    monkeypatch.setenv("BPGUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(Document, "ask_save_changes", lambda self: "discard")


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
