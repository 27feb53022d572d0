"""The optimizer race in the window (issue 12 #1), offscreen: entries equal separate
headless runs, one epoch clock, the toolbar's controls act on all entries, the results
table is the headless race's, the race belongs to its problem, bad entries are refused
next to the table, and a session keeps the race.  Assertions are on model and plot data."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_window import T, click_contour, epochs

from bpgui.panes.race import RESULT_COLUMNS
from bpgui_engine.maps.race import Race, RaceEntry
from bpgui_engine.maps.race_presets import race_preset
from bpgui_engine.model.setup import Setup
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import STOP_LABELS, StopCriteria

START = np.array([-4.0, -4.0])


def on_book_start(win) -> None:
    """The book's problem and slice, the start point (-4, -4)."""
    win.apply_setup(Setup.from_preset("book-1-2-1"), problem_changed=True)
    win.start_x = START.copy()
    win.refresh()


def race_window(win, entries=None, epochs_=300, goal=1e-6):
    """The race pane open with ``entries`` (default: the preset), ``epochs_`` and ``goal``."""
    win.actions.race.trigger()
    pane = win.tools["race"].race_pane
    pane.set_entries(race_preset() if entries is None else entries)
    pane.epochs.setValue(epochs_)
    pane.goal.set_value(goal)
    pane.validate()
    return pane


def headless(setup, entry, epochs_, goal):
    """The entry as a run of its own, straight from the engine."""
    s = setup.replace(optimizer=entry.optimizer, hyper=entry.hyper)
    crit = StopCriteria.from_dict({**s.criteria.to_dict(), "epochs": epochs_, "goal": goal})
    tr = FastTrainer(s.objective(), s.make_optimizer(), START, crit)
    with np.errstate(all="ignore"):
        return list(tr.run())


def race_epochs(win) -> list[int]:
    r = win.controller.race
    return [int(h.column("epoch")[-1]) if len(h) else -1 for h in r.histories]


def table_rows(pane) -> list[list[str]]:
    t = pane.results
    return [[t.item(i, j).text() for j in range(t.columnCount())] for i in range(t.rowCount())]


def test_each_entry_equals_its_separate_run_and_the_table_the_headless_race(window, qtbot):
    on_book_start(window)
    pane = race_window(window, epochs_=400)
    assert window.tools["race"].race_dock.isVisible()
    with qtbot.waitSignal(window.controller.race_finished, timeout=T) as sig:
        QTest.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["finished"]
    r = window.controller.race
    assert [e.optimizer for e in r.entries] == ["sd", "momentum", "vlbp", "cg", "lm"]
    for e, h in zip(r.entries, r.histories, strict=True):
        ref = headless(window.setup, e, 400, 1e-6)
        assert h.column("epoch").tolist() == [x.epoch for x in ref], e.label
        assert np.array_equal(h.x, np.array([x.x for x in ref])), e.label
        assert np.array_equal(h.column("sse"), [x.sse for x in ref]), e.label
        assert h.stop == ref[-1].stop, e.label
    # the results table shows what the headless race computes
    race = Race(window.setup, race_preset(), START, epochs=400, goal=1e-6)
    with np.errstate(all="ignore"):
        for _ in race.steps(100):
            pass
    rows = table_rows(pane)
    assert len(rows) == 5 and pane.results.columnCount() == len(RESULT_COLUMNS)
    for row, res in zip(rows, race.results(), strict=True):
        entry, to_goal, perf, minimum, _wall, ep, stop = row
        assert entry == res.label and int(ep.replace(",", "")) == res.epochs
        assert to_goal == ("—" if res.epochs_to_goal is None else f"{res.epochs_to_goal:,}")
        assert perf == f"{res.performance:.4g}"
        assert minimum.split(" ")[0] == res.minimum.split(" ")[0]
        assert stop == STOP_LABELS[res.stop]  # words, the reason in full as the tooltip
    for got, res in zip(r.results(), race.results(), strict=True):
        assert (got.minimum, got.epochs_to_goal, got.stop) == (
            res.minimum, res.epochs_to_goal, res.stop,
        )  # fmt: skip
        assert got.wall_seconds > 0  # measured in the engine process
    # every entry's path on the contour in its colour, and its curve with a legend
    contour, curves = window.plots.contour, window.plots.curves
    assert len(contour.race_paths) == 5 and len(curves.race_curves) == 5
    for e, item, h in zip(r.entries, contour.race_paths, r.histories, strict=True):
        xs, ys = item.getData()
        assert (xs[0], ys[0]) == (-4.0, -4.0) and (xs[-1], ys[-1]) == tuple(h.x[-1])
        assert item.opts["pen"].color().name() == e.colour
    legend = [lab.text for _, lab in curves.sse_plot.legend.items]
    assert legend == [e.label for e in r.entries]  # no empty "SSE" of a current run
    # a click on a results row highlights that entry's path
    pane.results.selectRow(3)
    assert window.tools["race"].race_highlight == 3
    assert contour.race_paths[3].opts["pen"].widthF() > contour.race_paths[0].opts["pen"].widthF()


def test_one_epoch_clock_and_the_toolbar_controls_act_on_all(window, qtbot):
    on_book_start(window)
    entries = [
        RaceEntry("sd", {"lr": 1.0}),
        RaceEntry("momentum", {"lr": 100.0, "gamma": 0.8}),
        RaceEntry("vlbp", {}),
    ]
    pane = race_window(window, entries, epochs_=1_000_000, goal=0.0)
    window.speed.setValue(window.speed.maximum() - 5)  # 2,000 epochs/s
    pane.start_button.click()
    c = window.controller
    assert c.racing and c.state == "running"
    qtbot.waitUntil(lambda: min(race_epochs(window)) > 200, timeout=T)
    window.actions.pause.trigger()  # the toolbar's Pause
    assert c.state == "paused" and pane.pause_button.text() == "Resume"
    qtbot.wait(300)  # the frames in flight arrive
    e1 = race_epochs(window)
    assert len(set(e1)) == 1 and e1[0] == c.race.clock  # the same epoch for every entry
    qtbot.wait(200)
    assert race_epochs(window) == e1  # nothing runs while paused
    window.actions.step.trigger()  # the toolbar's Step: one epoch for every entry
    qtbot.waitUntil(lambda: race_epochs(window) == [e1[0] + 1] * 3, timeout=T)
    pane.step_button.click()  # the pane's Step too
    qtbot.waitUntil(lambda: race_epochs(window) == [e1[0] + 2] * 3, timeout=T)
    window.speed.setValue(window.speed.maximum())
    window.actions.start.trigger()  # Space resumes
    qtbot.waitUntil(lambda: min(race_epochs(window)) > e1[0] + 100, timeout=T)
    with qtbot.waitSignal(c.race_finished, timeout=T) as sig:
        window.actions.stop.trigger()  # the toolbar's Stop
    assert sig.args == ["stopped"]
    assert c.race.histories[0].stop == "stopped"  # sd is nowhere near done
    assert table_rows(pane)[0][6] == "stopped"
    assert pane.results.item(0, 6).toolTip() == "stopped by the user"
    # every entry's history is still its separate run's, up to where it was stopped
    for e, h in zip(c.race.entries, c.race.histories, strict=True):
        ref = headless(window.setup, e, len(h) - 1, 0.0)
        assert np.array_equal(h.x, np.array([x.x for x in ref])), e.label
    assert c.state == "idle" and not c.racing and pane.start_button.isEnabled()


def test_the_race_belongs_to_its_problem_and_new_clears_it(window, qtbot):
    on_book_start(window)
    race_window(window, epochs_=200)
    with qtbot.waitSignal(window.controller.race_finished, timeout=T):
        window.tools["race"].race_pane.start_button.click()
    contour, curves = window.plots.contour, window.plots.curves
    xs, ys = contour.race_paths[0].getData()
    # an axes swap re-projects the paths
    (x0, x1), (y0, y1) = window.setup.ranges
    window.apply_setup(
        window.setup.replace(axes=("W2[1,1]", "W1[1,1]"), ranges=((y0, y1), (x0, x1)))
    )
    sx, sy = contour.race_paths[0].getData()
    assert np.array_equal(sx, ys) and np.array_equal(sy, xs)
    # another problem: hidden (paths, curves, table), the pane says why
    window.apply_setup(window.setup.replace(free=("W1[1,1]", "b1[1]"), axes=("W1[1,1]", "b1[1]")))
    assert contour.race_paths == [] and curves.race_curves == []
    assert window.tools["race"].race_pane.results.rowCount() == 0
    assert "another problem" in window.tools["race"].race_pane.summary.text()
    assert window.tools["race"].race_record is None
    # back on its problem: shown again
    on_book_start(window)
    assert len(contour.race_paths) == 5 and window.tools["race"].race_pane.results.rowCount() == 5
    assert window.tools["race"].race_record is not None
    # a new run keeps the race on screen; New clears it
    click_contour(window, 12.0, 8.0)
    qtbot.waitUntil(lambda: epochs(window) > 5, timeout=T)
    assert len(contour.race_paths) == 5
    legend = [lab.text for _, lab in curves.sse_plot.legend.items]
    assert "SSE" in legend  # the current run's curve is listed again
    assert window.document.new()
    assert window.controller.race is None and window.tools["race"].race_record is None
    assert contour.race_paths == [] and curves.race_curves == []
    assert window.tools["race"].race_pane.results.rowCount() == 0


def test_reset_and_clear_earlier_runs_drop_the_race(window, qtbot):
    on_book_start(window)
    race_window(window, [RaceEntry("cg")], epochs_=100)
    for action in (window.actions.reset, window.actions.clear):
        with qtbot.waitSignal(window.controller.race_finished, timeout=T):
            window.tools["race"].race_pane.start_button.click()
        assert len(window.plots.contour.race_paths) == 1
        action.trigger()
        assert window.controller.race is None and window.plots.contour.race_paths == []


def test_a_click_on_the_contour_stops_a_running_race_and_keeps_it(window, qtbot):
    on_book_start(window)
    race_window(window, [RaceEntry("sd", {"lr": 1.0})], epochs_=5_000_000, goal=0.0)
    window.tools["race"].race_pane.start_button.click()
    qtbot.waitUntil(lambda: race_epochs(window)[0] > 100, timeout=T)
    click_contour(window, 12.0, 8.0)
    qtbot.waitUntil(lambda: epochs(window) > 5, timeout=T)
    r = window.controller.race
    assert r is not None and not r.running and r.histories[0].stop == "stopped"
    # the pane's controls are the race's: a new race may replace the run
    assert not window.tools["race"].race_pane.pause_button.isEnabled()
    assert window.tools["race"].race_pane.start_button.isEnabled()
    assert len(window.plots.contour.race_paths) == 1


def test_a_bad_hyperparameter_is_refused_next_to_the_table(window, qtbot):
    pane = race_window(window)
    pane.table.item(1, 2).setText("lr=4, nonsense=1")
    assert not pane.start_button.isEnabled()
    assert pane.error.isVisible() and "nonsense" in pane.error.text()
    assert "row 2 (momentum)" in pane.error.text()
    assert "Race: Start is disabled: row 2" in window.status.text
    pane.table.item(1, 2).setText("lr=abc")
    assert "needs a number" in pane.error.text() and not pane.start_button.isEnabled()
    pane.table.item(1, 2).setText("lr=4, gamma=2")  # out of its range
    assert "gamma" in pane.error.text() and not pane.start_button.isEnabled()
    pane.table.item(1, 2).setText("lr=4, gamma=0.5")
    assert not pane.error.isVisible() and pane.start_button.isEnabled()
    assert pane.entries()[1].hyper["lr"] == 4.0
    assert pane.table.item(1, 3).text() == "momentum lr=4,gamma=0.5"  # the label follows
    assert "Start is disabled" not in window.status.text
    pane.goal.setText("-1")
    pane.validate()
    assert not pane.start_button.isEnabled()
    assert "goal" in window.status.text


def test_no_entries_disables_start_with_the_reason_in_the_status_bar(window, qtbot):
    pane = race_window(window, [])
    assert not pane.start_button.isEnabled()
    assert "add at least one entry" in window.status.text
    assert window.status.is_error
    pane.add_button.click()
    assert pane.start_button.isEnabled() and pane.entries()[0].optimizer == "sd"
    pane.table.selectRow(0)
    pane.remove_button.click()
    assert pane.table.rowCount() == 0 and not pane.start_button.isEnabled()
    window.tools["race"].start_race()  # refused, nothing starts
    assert window.controller.race is None and not window.controller.running


def test_save_and_reopen_keep_the_race(window, qtbot, tmp_path):
    on_book_start(window)
    race_window(window, epochs_=300)
    with qtbot.waitSignal(window.controller.race_finished, timeout=T):
        window.tools["race"].race_pane.start_button.click()
    before = table_rows(window.tools["race"].race_pane)
    paths = [item.getData() for item in window.plots.contour.race_paths]
    hist = [h.x.copy() for h in window.controller.race.histories]
    path = tmp_path / "race.bpgui"
    assert window.document.save_as(path)
    assert window.document.new() and window.controller.race is None
    assert window.document.open(path)
    r = window.controller.race
    assert r is not None and len(r.histories) == 5
    for h, x in zip(r.histories, hist, strict=True):
        assert np.array_equal(h.x, x)
    assert table_rows(window.tools["race"].race_pane) == before
    for item, (xs, ys) in zip(window.plots.contour.race_paths, paths, strict=True):
        gx, gy = item.getData()
        assert np.array_equal(gx, xs) and np.array_equal(gy, ys)
    assert len(window.plots.curves.race_curves) == 5


def test_the_race_dock_starts_small_at_1024_by_700(window, qtbot):
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700, timeout=T)
    window.actions.race.trigger()
    qtbot.waitUntil(lambda: window.tools["race"].race_dock.isVisible(), timeout=T)
    qtbot.wait(100)
    assert window.height() == 700 and window.width() == 1024
    assert window.tools["race"].race_dock.height() <= 700 // 3
    contour = window.plots.contour.widget
    assert contour.width() >= 320 and contour.height() >= 220
    pane = window.tools["race"].race_pane
    for w in (pane.start_button, pane.stop_button, pane.epochs, pane.goal):
        assert w.isVisible() and w.width() >= w.minimumSizeHint().width(), w
