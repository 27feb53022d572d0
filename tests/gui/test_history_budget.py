"""Issue 24 in the window: Run ▸ History memory… typed key by key; a long run's history
thins past it and the status bar, the curves' legend, replay and exports say so; the thinned
history saves, reopens and continues within the budget; New clears what it said."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from bpgui_engine.session import load_session
from bpgui_engine.train.trainer import StopCriteria

T = 60_000


def _menu_action(window, text: str):
    for menu_action in window.menuBar().actions():
        for act in menu_action.menu().actions():
            if act.text() == text:
                return act
    raise AssertionError(f"no menu item {text!r}")


def _type_budget(window, qtbot, text: str) -> None:
    """Run ▸ History memory…: type ``text`` key by key, then Enter."""
    seen = []

    def answer() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QInputDialog):
            QTimer.singleShot(20, answer)
            return
        edit = dlg.findChild(QLineEdit)
        edit.selectAll()
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
        qtbot.keyClicks(edit, text)
        seen.append(dlg.labelText())
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, answer)
    _menu_action(window, "History &memory…").trigger()
    assert seen and "Now: " in seen[0]


def _legend(window) -> str:
    curves = window.plots.curves
    return curves.sse_plot.legend.getLabel(curves.sse_curve).text


def _run(window, qtbot, epochs: int) -> None:
    setup = window.setup.replace(hyper={"lr": 100.0}, criteria=StopCriteria(epochs=epochs))
    window.apply_setup(setup)
    window.runs.start_new_run(np.array([-4.0, -4.0]))
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    qtbot.wait(200)  # a frame drawn after the last block


def test_the_budget_is_typed_and_a_nonsense_value_changes_nothing(window, qtbot):
    _type_budget(window, qtbot, "lots")
    assert window.controller.history_setting is None
    assert window.status.is_error and "'lots' is not a size" in window.last_message
    _type_budget(window, qtbot, "3M")
    assert window.controller.history_setting == 3 << 20
    assert window.settings.get_str("history/budget", "") == "3M"
    assert "history memory: 3.0 MiB (the setting)" in window.last_message
    _type_budget(window, qtbot, "")  # empty: the default again
    assert window.controller.history_setting is None


def test_a_long_run_thins_and_the_window_says_so(window, qtbot, tmp_path):
    _type_budget(window, qtbot, "1M")
    c = window.controller
    field = window.status.fields["history"]
    assert not field.isVisible() and _legend(window) == "SSE"
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    _run(window, qtbot, 150_000)
    h = c.history
    assert h.kept is not None and len(h) <= h.max_rows < 150_000 // 4
    assert h.column("epoch")[0] == 0 and h.column("epoch")[-1] == 150_000
    # the status bar and the curves' legend
    assert field.isVisible() and field.text() == "history thinned"
    assert f"history: {h.describe()}" in field.toolTip()
    assert _legend(window) == f"SSE (thinned: extremes of each {h.kept.block:,} epochs)"
    # the drawn curve and path are rows of the kept history, up to its last epoch
    curves = window.plots.curves
    ep_drawn = curves.sse_curve.getData()[0]
    assert ep_drawn[-1] <= 150_000 and np.isin(ep_drawn, h.column("epoch")).all()
    # replay says what it scrubs
    window.tools["replay"].scrub(len(h) // 2)
    assert "(history thinned)" in window.tools["replay"].bar.label.text()
    assert h.describe() in window.tools["replay"].bar.label.toolTip()
    window.tools["replay"].scrub(len(h) - 1)
    # an export of the history says which epochs it holds
    out = tmp_path / "h.csv"
    assert window.document.export("history", str(out))
    assert "epochs kept: every epoch to" in window.last_message
    assert sum(1 for _ in out.open()) == len(h) + 1
    # saved and reopened: the same kept epochs; the window says so again
    path = tmp_path / "thin.bpgui"
    with qtbot.waitSignal(window.document.saved, timeout=T):
        window.document.save_as(path)
    s = load_session(path)
    assert s.history.kept == h.kept and len(s.history) == len(h)
    window.document.new()
    qtbot.wait(100)
    assert not field.isVisible() and _legend(window) == "SSE"  # New: no run, nothing thinned
    assert window.document.open(path)
    qtbot.wait(200)
    assert field.isVisible() and "thinned" in _legend(window)
    # Continue goes on within the budget
    window.runs.toggle_run()
    qtbot.waitUntil(lambda: c.state == "idle" and c.epoch > 150_000, timeout=T)
    h2 = c.history
    assert h2.column("epoch")[-1] == c.epoch and len(h2) <= h2.max_rows
    assert h2.max_rows == c.history_rows(h2.n_free)


def test_a_start_past_the_budget_says_when_the_history_will_be_thinned(window, qtbot):
    _type_budget(window, qtbot, "1M")
    setup = window.setup.replace(criteria=StopCriteria(epochs=10**12))
    window.apply_setup(setup)
    window.runs.start_new_run(np.array([-4.0, -4.0]))
    rows = window.controller.history.max_rows
    text = window.last_message
    window.controller.discard()
    assert text.startswith("the history will be thinned after ~")
    assert "1.0 MiB" in text and f"{rows - 1:,}"[:2] in text.replace(".", "")


def test_an_autosave_of_a_long_history_writes_what_is_drawn_and_the_exact_state(
    window, qtbot, monkeypatch
):
    """Writing millions of rows every minute would stall the window: the autosave of a
    long history keeps the rows drawn (and the latest), the run's state whole."""
    import bpgui.document.document as document

    monkeypatch.setattr(document, "RECOVERY_FULL_ROWS", 5_000)
    _run(window, qtbot, 40_000)
    h = window.controller.history
    assert len(h) == 40_001 and h.kept is None  # the default budget: every epoch
    window.document.modified = True
    assert window.document.autosave()
    qtbot.waitUntil(lambda: window.document.saving == 0, timeout=T)
    s = load_session(window.document.recovery_path)
    assert s.history_sampled_from == 40_001 and 1000 < len(s.history) < 10_000
    ep = s.history.column("epoch")
    assert ep[0] == 0 and ep[-1] == 40_000
    np.testing.assert_array_equal(s.history.x, h.x[ep])  # whole rows, bit for bit
    np.testing.assert_array_equal(s.run.x, h.x[-1])
    drawn = window.plots.curves.sse_curve.getData()[0].astype(np.int64)
    assert np.isin(drawn, ep).all()  # every epoch the curve draws is in the file
