"""Issue 25 #4: a save pressed during a run is one step from the user's point of view.

It writes the session the user saw when they pressed Save (the run's state comes from the
engine between two epochs), whatever they do before that state arrives; Save returns at
once (no nested event loop in which other actions run); and the title's saved mark matches
the file."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from bpgui_engine.session import load_session

T = 20_000


def _running(window, qtbot) -> int:
    window.speed.setValue(8)  # 500 epochs/s: still running while we act
    window.actions.start.trigger()
    qtbot.waitUntil(
        lambda: window.controller.history is not None and len(window.controller.history) > 30,
        timeout=T,
    )
    return len(window.controller.history)


ACTIONS = {
    "new": lambda w: w.actions.new.trigger(),
    "reset": lambda w: w.actions.reset.trigger(),
    "experiment": lambda w: w.load_experiment("saddle"),
    "race": lambda w: (
        w.tools["race"].show_race(),
        w.tools["race"].race_pane.epochs.setValue(300),
        w.tools["race"].start_race(),
    ),
    "all free": lambda w: w.apply_setup(w.setup.replace(free=w.setup.spec.labels)),
    "nothing": lambda w: None,
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_save_writes_what_was_on_screen_when_pressed(window, qtbot, tmp_path, action):
    rows_at_press = _running(window, qtbot)
    setup_at_press = window.setup
    start = window.controller.history.x[0].copy()
    path = tmp_path / "s.bpgui"
    acted, marks = [], []
    QTimer.singleShot(0, lambda: acted.append(ACTIONS[action](window)))
    # the mark as the file lands (the run going on marks the window again after that)
    window.document.saved.connect(lambda _p: marks.append(window.isWindowModified()))
    with qtbot.waitSignal(window.document.saved, timeout=T):
        window.document.save_as(path)
        assert not acted, "the action ran inside Save (a nested event loop)"
    assert acted
    s = load_session(path)
    assert s.setup == setup_at_press
    assert len(s.history) == s.run.epoch + 1 >= rows_at_press
    assert np.array_equal(s.history.x[0], start) and np.array_equal(s.run.x, s.history.x[-1])
    same = action in ("nothing",)
    doc = window.document
    if action in ("new",):  # another session is open now: it is not marked as that file
        assert doc.path is None and window.windowTitle().startswith("Untitled")
    else:  # the same document: named after the file, modified if it changed since
        assert doc.path == path
        assert marks == [not same]
    window.controller.discard()


def test_closing_while_a_save_waits_writes_it_then_closes(window, qtbot, tmp_path):
    _running(window, qtbot)
    path = tmp_path / "s.bpgui"
    window.document.save_as(path)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=T)
    s = load_session(path)
    assert len(s.history) == s.run.epoch + 1 > 30
    assert window.controller.engine is None


def test_a_save_whose_engine_dies_first_says_so_and_writes_nothing(window, qtbot, tmp_path):
    import os
    import signal

    _running(window, qtbot)
    c = window.controller
    path = tmp_path / "s.bpgui"
    c.pause()
    qtbot.waitUntil(lambda: c.state == "paused", timeout=T)
    os.kill(c.engine.proc.pid, signal.SIGSTOP)  # the state cannot come before it dies
    with qtbot.waitSignal(window.document.save_ended, timeout=T):
        window.document.save_as(path)
        os.kill(c.engine.proc.pid, signal.SIGKILL)
    assert not path.exists()
    assert "not saved" in window.document.last_error
    window.error_box.close()
    # the run can be continued from what arrived, and saving it again works
    with qtbot.waitSignal(window.document.saved, timeout=T):
        window.document.save_as(path)
    assert load_session(path).run is not None
