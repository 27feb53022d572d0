"""Defects found by the randomized soak (issue 25, issue 18 #1), as regression tests.

pytest-qt fails a test on any Python exception raised inside a Qt slot, so each test also
checks that no slot raises."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

T = 30_000


def _finished_race_with_a_row_selected(window, qtbot):
    window.actions.race.trigger()
    pane = window.tools["race"].race_pane
    pane.epochs.setValue(200)
    pane.validate()
    qtbot.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
    c = window.controller
    qtbot.waitUntil(lambda: c.race is not None and not c.racing, timeout=T)
    qtbot.wait(50)
    t = pane.results
    assert t.rowCount() > 0
    rect = t.visualRect(t.model().index(0, 0))
    qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert [i.row() for i in t.selectionModel().selectedRows()] == [0]
    assert window.tools["race"].race_highlight == 0


DROPS = {
    "clear": lambda w: w.actions.clear.trigger(),
    "reset": lambda w: w.actions.reset.trigger(),
    "new": lambda w: w.actions.new.trigger(),
    "another problem": lambda w: w.load_preset("sine-1-2-1"),
}


@pytest.mark.parametrize("drop", list(DROPS))
def test_dropping_a_race_with_a_selected_row(window, qtbot, drop):
    """Removing a selected results row emitted row_selected(-1), whose handler redrew the
    race and re-entered the table's clear while Qt was freeing its rows: a segfault."""
    _finished_race_with_a_row_selected(window, qtbot)
    DROPS[drop](window)
    qtbot.wait(50)
    pane = window.tools["race"].race_pane
    if drop == "another problem":  # the race stays, hidden: it belongs to the book's problem
        assert pane.results.rowCount() == 0 and "another problem" in pane.summary.text()
    else:
        assert window.controller.race is None and pane.results.rowCount() == 0
        assert window.tools["race"].race_highlight is None


def test_changing_the_free_set_while_a_run_trains(window, qtbot):
    """The new setup was combined with the old run's point in a slot (IndexError)."""
    window.speed.setValue(8)
    window.actions.start.trigger()
    c = window.controller
    qtbot.waitUntil(lambda: c.history is not None and len(c.history) > 20, timeout=T)
    window.left_tabs.setCurrentIndex(0)
    b = next(b for b in window.network_pane.findChildren(QPushButton) if b.text() == "All free")
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    assert len(window.setup.free) == 7 and c.state == "idle" and c.history is None
    # every view shows the new problem: the previous run is an earlier run of another one
    window.actions.start.trigger()
    qtbot.waitUntil(lambda: c.history is not None and len(c.history) > 5, timeout=T)
    assert c.history.x.shape[1] == 7
    c.discard()


QUIT_DURING_EXPORT = textwrap.dedent(
    """
    import faulthandler, os, sys
    faulthandler.enable()
    from PySide6.QtCore import QTimer
    from bpgui.window.app import make_application
    from bpgui.export.animation_dialog import show_animation_dialog
    from bpgui.document.document import Document
    from bpgui.window.main import MainWindow
    Document.ask_save_changes = lambda self: "discard"
    app = make_application()
    win = MainWindow()
    win.show()
    def go():
        win.load_experiment("trajectory-a", run=False)
        win.runs.start_new_run(win.start_x)
    def export():
        c = win.controller
        if c.state != "idle" or c.history is None or len(c.history) < 3:
            QTimer.singleShot(50, export)
            return
        dlg = show_animation_dialog(win)
        dlg.path.setText(os.path.join(sys.argv[1], "run.gif"))
        dlg.start()
        assert dlg.running
        if sys.argv[2] == "esc":
            dlg.reject()
        QTimer.singleShot(200, win.actions.quit.trigger)
    QTimer.singleShot(0, go)
    QTimer.singleShot(100, export)
    rc = app.exec()
    print("exec returned", rc, flush=True)
    sys.exit(rc)
    """
)


@pytest.mark.parametrize("how", ["quit", "esc"])
def test_quitting_while_an_animation_is_written(tmp_path, how):
    """QThread destroyed while running -> SIGABRT; now the export is cancelled and its
    thread waited for, and no partial file is left."""
    env = dict(os.environ, BPGUI_CONFIG_DIR=str(tmp_path / "cfg"), QT_QPA_PLATFORM="offscreen")
    p = subprocess.run(
        [sys.executable, "-c", QUIT_DURING_EXPORT, str(tmp_path), how],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    assert "exec returned 0" in p.stdout
    assert not (tmp_path / "run.gif").exists()


def test_restarts_that_end_after_the_problem_changed(window, qtbot):
    """Found by the soak: restarts of the 2-free problem ending after "All free" were
    classified with the new 7-free objective (ValueError in a slot).  They are dropped,
    and the window says why."""
    pane = window.tools["restarts"].restarts
    pane.count.setValue(200)
    pane.epochs.setValue(20_000)
    window.actions.restarts.trigger()
    assert pane.busy
    window.apply_setup(window.setup.replace(free=window.setup.spec.labels))
    qtbot.waitUntil(lambda: not pane.busy, timeout=120_000)
    qtbot.wait(50)
    assert pane.result is None and pane.table.rowCount() == 0
    assert "problem changed" in window.last_message
