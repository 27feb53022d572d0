"""Issue 18 #4: the error curves' epoch axis fits the curves shown, every time the shown
set changes (not left at a range an earlier run or a growing run set)."""

from __future__ import annotations

T = 60_000


def _x_range(window) -> tuple[float, float]:
    return tuple(window.plots.curves.sse_plot.viewRange()[0])


def test_a_finished_run_fills_the_epoch_axis(window, qtbot):
    window.plots.curves.log_x.setChecked(False)
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("trajectory-a")
    qtbot.wait(100)
    last = float(c.history.column("epoch")[-1])
    lo, hi = _x_range(window)
    assert lo <= 0 and last <= hi <= last * 1.05, (last, hi)


def test_restart_curves_without_a_run_fill_the_axis(window, qtbot):
    window.plots.curves.log_x.setChecked(False)
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("trajectory-a")
    window.actions.reset.trigger()
    window.actions.clear.trigger()  # the earlier run goes: nothing long is shown
    pane = window.tools["restarts"].restarts
    pane.method.setCurrentText("lm")
    pane.epochs.setValue(35)
    pane.count.setValue(10)
    with qtbot.waitSignal(pane.finished, timeout=T):
        window.actions.restarts.trigger()
    qtbot.wait(100)
    longest = max(float(ep[-1]) for ep, _y in window.plots.curves._overlay_data)
    _lo, hi = _x_range(window)
    assert longest <= 35 and longest <= hi <= max(10.0, longest * 1.05), (longest, hi)


def test_a_short_run_after_a_long_one_fills_the_axis(window, qtbot):
    """Found by the newcomer: after trajectory a or b, the next experiment's 28 epochs
    were a sliver on an axis sized by the earlier run's faint curve."""
    window.plots.curves.log_x.setChecked(False)
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("trajectory-a")
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("cg")  # same problem: trajectory a stays, faint
    qtbot.wait(100)
    assert window.plots.curves._previous_data  # the earlier run is still shown
    last = float(c.history.column("epoch")[-1])
    _lo, hi = _x_range(window)
    assert hi <= max(10.0, last * 1.05), (last, hi)
    window.actions.reset.trigger()  # no current run: the earlier runs set the axis
    qtbot.wait(100)
    _lo, hi = _x_range(window)
    assert hi >= 300_000
