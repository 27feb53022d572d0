"""Every view follows the window's model: nothing on screen outlives the problem, run or
session it belongs to (issue 9 #3-#7, #9-#11).  Driven as a person drives the window:
menus' actions, real mouse clicks and moves; assertions on plot data and labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtTest import QTest
from test_window import T, click_contour, epochs

from bpgui.plots.curves import _positive
from bpgui.window.status import epochs_per_second
from bpgui_engine.model.setup import Setup
from bpgui_engine.train.trainer import StopCriteria


def contour_pos(win, x: float, y: float) -> QPoint:
    plot = win.plots.contour
    scene = plot.plot_item.getViewBox().mapViewToScene(QPointF(x, y))
    return plot.widget.mapFromScene(scene)


def data(item) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = item.getData()
    return (np.empty(0) if xs is None else xs), (np.empty(0) if ys is None else ys)


def short_runs(win, epochs_: int = 300) -> None:
    win.apply_setup(win.setup.replace(criteria=StopCriteria(epochs=epochs_)))


def run_from(win, qtbot, x: float, y: float) -> None:
    with qtbot.waitSignal(win.controller.run_finished, timeout=T):
        click_contour(win, x, y)


def test_earlier_runs_show_only_on_their_own_problem(window, qtbot):
    short_runs(window)
    run_from(window, qtbot, -3.0, 8.0)
    run_from(window, qtbot, 2.0, 2.0)
    assert len(window.plots.contour.previous) == 1  # the first run, faint
    # the saddle experiment's surface is over (b1[1], b1[2]): another problem
    window.load_experiment("saddle", run=False)
    assert window.plots.contour.previous == []
    assert window.plots.curves.previous == []
    # back on the book's (W1[1,1], W2[1,1]) problem: both earlier runs are there again
    window.load_experiment("momentum", run=False)
    assert len(window.plots.contour.previous) == 2


def test_an_axes_swap_reprojects_earlier_runs_and_the_restart_highlight(window, qtbot):
    short_runs(window)
    run_from(window, qtbot, -3.0, 8.0)
    run_from(window, qtbot, 2.0, 2.0)
    r = window.tools["restarts"].restarts
    r.count.setValue(4)
    r.epochs.setValue(50)
    with qtbot.waitSignal(r.finished, timeout=T):
        window.actions.restarts.trigger()
    r.table.selectRow(1)
    (x0, x1), (y0, y1) = window.setup.ranges
    window.apply_setup(
        window.setup.replace(axes=("W2[1,1]", "W1[1,1]"), ranges=((y0, y1), (x0, x1)))
    )
    xs, ys = data(window.plots.contour.previous[0])
    # W2[1,1] across, W1[1,1] up (the click maps through pixels: close to (-3, 8))
    assert np.isclose(xs[0], 8.0, atol=0.2) and np.isclose(ys[0], -3.0, atol=0.2)
    hx, hy = data(window.plots.contour.highlight)
    start = r.result.path[0, 1, :]  # (W1[1,1], W2[1,1]) of restart 2
    assert (hx[0], hy[0]) == (start[1], start[0])
    px, py = data(window.plots.contour.path)
    assert np.isclose(px[0], 2.0, atol=0.2) and np.isclose(py[0], 2.0, atol=0.2)


def test_new_session_forgets_paths_markers_and_restarts(window, qtbot):
    short_runs(window)
    run_from(window, qtbot, -3.0, 8.0)
    run_from(window, qtbot, 2.0, 2.0)
    r = window.tools["restarts"].restarts
    r.count.setValue(3)
    r.epochs.setValue(50)
    with qtbot.waitSignal(r.finished, timeout=T):
        window.actions.restarts.trigger()
    r.table.selectRow(0)
    window.actions.new.trigger()  # the prompt answers "discard" in the tests
    c = window.plots.contour
    for item in (c.path, c.highlight, c.current_marker, c.end_marker, c.restart_ends):
        assert len(data(item)[0]) == 0
    assert c.previous == [] and c.restart_paths == [] and r.table.rowCount() == 0
    # the start dot is the new session's start point, and the hint says so
    sx, sy = data(c.start_marker)
    ex, ey = window.setup.axis_values(window.start_x[None, :])
    assert (sx[0], sy[0]) == (ex[0], ey[0])
    assert f"({ex[0]:.4g}, {ey[0]:.4g})" in window.plots.hint.text()


def test_reset_during_a_run_returns_every_view_to_epoch_0(window, qtbot):
    window.load_experiment("trajectory-a")
    qtbot.waitUntil(lambda: epochs(window) > 200, timeout=T)
    window.actions.reset.trigger()
    qtbot.wait(300)  # batches still in flight must not come back
    c = window.plots.contour
    assert len(data(c.path)[0]) == 0 and len(data(c.end_marker)[0]) == 0
    assert len(data(window.plots.curves.sse_curve)[0]) == 0
    assert (data(c.start_marker)[0][0], data(c.start_marker)[1][0]) == (-4.0, -4.0)
    assert window.status_fields["epoch"].text() == ""
    assert window.status_fields["state"].text() == "ready"
    assert np.array_equal(
        window.plots.response.theta, window.setup.full_theta(np.array([-4.0, -4.0]))
    )
    assert len(c.previous) == 1  # the interrupted run stays, faint
    with qtbot.waitSignal(window.controller.run_started, timeout=T):
        window.actions.start.trigger()
    qtbot.waitUntil(lambda: epochs(window) > 0, timeout=T)
    assert np.array_equal(window.controller.history.x[0], [-4.0, -4.0])


def test_the_saved_session_banner_goes_once_the_run_goes_on(window, qtbot, tmp_path):
    short_runs(window, 200)
    run_from(window, qtbot, -3.0, 2.0)
    path = tmp_path / "s.bpgui"
    assert window.document.save_as(path)
    assert window.document.open(path)
    assert "of a saved session" in window.plots.hint.text()
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.actions.start.trigger()  # continues for another 200 epochs
    assert epochs(window) == 400
    assert "saved session" not in window.plots.hint.text()


def test_slice_readout_and_hover_texts_do_not_outlive_their_setup(window, qtbot):
    window.apply_setup(window.setup.replace(free=window.setup.spec.labels))
    short_runs(window, 100)
    run_from(window, qtbot, 1.0, 1.0)
    assert "other 5 parameters moved" in window.plots.slice_info.text()
    window.load_preset("book-1-2-1")
    assert window.plots.slice_info.text() == ""
    curves = window.plots.curves
    run_from(window, qtbot, 1.0, 1.0)
    vb = curves.sse_plot.getViewBox()
    scene = vb.mapViewToScene(vb.viewRect().center())
    QTest.mouseMove(curves.glw.viewport(), curves.glw.mapFromScene(scene))
    qtbot.waitUntil(lambda: curves.readout.text().startswith("epoch"), timeout=T)
    window.actions.reset.trigger()
    assert not curves.readout.text().startswith("epoch")


def test_a_new_session_says_where_step_starts_and_the_response_shows_it(window, qtbot):
    window.actions.new.trigger()
    x0 = window.start_x.copy()
    theta0 = window.setup.full_theta(x0)
    assert np.array_equal(window.plots.response.theta, theta0)  # not the optimum's fit
    assert "teal dot" in window.plots.hint.text()
    window.actions.step.trigger()
    qtbot.waitUntil(lambda: epochs(window) == 1, timeout=T)
    assert np.array_equal(window.controller.history.x[0], x0)


def test_status_bar_fields_fit_their_numbers_and_say_paused(window, qtbot):
    window.resize(1024, 700)
    window.load_experiment("trajectory-a")
    qtbot.waitUntil(lambda: epochs(window) > 10_000, timeout=T)
    window.actions.start.trigger()  # Space while running: pause
    assert window.status_fields["state"].text().startswith("paused")
    assert window.actions.start.text().replace("&", "") == "Resume"
    qtbot.wait(100)
    window.runs.dirty = True
    window.runs.redraw()
    for key in ("epoch", "sse", "grad", "rate"):
        lab = window.status_fields[key]
        assert lab.text()
        assert QFontMetrics(lab.font()).horizontalAdvance(lab.text()) <= lab.width(), key
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.actions.stop.trigger()
    assert window.actions.start.text().replace("&", "") == "Continue"
    assert window.status_fields["state"].text() == "stopped: stopped by the user"


def test_an_error_colours_only_its_message_and_passes(window):
    window.show_message("something failed", error=True)
    assert window.status.message.property("role") == "error"  # red in either theme
    assert window.statusBar().styleSheet() == ""
    assert all(f.property("role") is None for f in window.status_fields.values())
    window.show_message("all is well")
    assert window.status.message.property("role") is None


def test_units_are_singular_for_one():
    assert epochs_per_second(1) == "1 epoch/s"
    assert epochs_per_second(2400.4) == "2,400 epochs/s"


def test_an_sse_of_exactly_zero_does_not_stretch_the_log_axis(window, qtbot):
    y = _positive(np.array([4.0, 1e-3, 0.0, np.nan, 1e-9]))
    assert y[2] == 1e-9 and np.isnan(y[3])
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.load_experiment("cg")
    lo, _ = window.plots.curves.sse_plot.getViewBox().viewRange()[1]
    assert lo > -40  # log10 units: not down at 1e-300


def test_dragging_does_not_pan_the_contour_away_from_its_grid(window, qtbot):
    vb = window.plots.contour.plot_item.getViewBox()
    before = vb.viewRange()
    vp = window.plots.contour.widget.viewport()
    a, b = contour_pos(window, 0.0, 0.0), contour_pos(window, 8.0, 8.0)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    for k in range(1, 11):
        QTest.mouseMove(vp, a + (b - a) * (k / 10))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    QTest.mouseClick(vp, Qt.MouseButton.NoButton, pos=b)
    qtbot.wait(50)
    assert np.allclose(vb.viewRange(), before)


def test_hovering_the_contour_reads_the_surface(window, qtbot):
    plot = window.plots.contour
    QTest.mouseMove(plot.widget.viewport(), contour_pos(window, 2.0, 3.0))
    qtbot.waitUntil(lambda: "≈" in plot.readout.text(), timeout=T)
    text = plot.readout.text()
    assert text.startswith("W1[1,1] = ") and "   W2[1,1] = " in text
    shown = float(text.rsplit("≈", 1)[1])
    obj = window.objective
    x, y = (float(v.split("=")[1].split()[0]) for v in text.split("   ")[:2])
    assert abs(x - 2.0) < 0.1 and abs(y - 3.0) < 0.1  # the pointer maps through pixels
    exact = obj.value(np.array([x, y]))
    assert abs(shown - exact) <= 0.02 * abs(exact) + 1e-6  # interpolated from the grid


def test_earlier_runs_of_another_network_are_not_drawn(window, qtbot):
    short_runs(window)
    run_from(window, qtbot, -3.0, 8.0)
    other = Setup.from_preset("book-1-2-1")
    from bpgui_engine.model.network import NetworkSpec

    bigger = other.with_network(NetworkSpec(1, (5, 3, 1), ("logsig", "logsig", "purelin")))
    window.apply_setup(bigger)
    assert window.plots.contour.previous == []


def test_the_toolbar_start_button_says_what_space_does(window, qtbot):
    window.load_experiment("trajectory-a")
    qtbot.waitUntil(lambda: epochs(window) > 100, timeout=T)
    assert window.actions.start.iconText() == "Pause"
    window.actions.start.trigger()
    assert window.actions.start.iconText() == "Resume"
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.actions.stop.trigger()
    assert window.actions.start.iconText() == "Continue"
    window.actions.reset.trigger()
    assert window.actions.start.iconText() == "Start"


def test_the_banner_goes_as_soon_as_a_reopened_run_goes_on(window, qtbot, tmp_path):
    window.load_experiment("trajectory-a")
    qtbot.waitUntil(lambda: epochs(window) > 1000, timeout=T)
    path = tmp_path / "mid.bpgui"
    assert window.document.save_as(path)  # saved mid-run
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    assert window.document.open(path)
    assert "of a saved session" in window.plots.hint.text()
    # saved mid-run: not drawn as finished, and the status says it can go on
    assert len(data(window.plots.contour.end_marker)[0]) == 0
    assert "continues" in window.status_fields["state"].text()
    n = epochs(window)
    window.actions.start.trigger()
    qtbot.waitUntil(lambda: epochs(window) > n + 1000, timeout=T)
    qtbot.waitUntil(lambda: "saved session" not in window.plots.hint.text(), timeout=T)
    assert window.controller.state == "running"
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)


def test_swapping_the_axes_in_the_combos_swaps_their_ranges(window, qtbot):
    pane = window.network_pane
    window.apply_setup(window.setup.replace(ranges=((-5.0, 15.0), (-5.0, 45.0))))
    pane.axis_x.setCurrentText("W2[1,1]")  # x == y for a moment: marked, nothing applied
    pane.axis_y.setCurrentText("W1[1,1]")
    assert window.setup.axes == ("W2[1,1]", "W1[1,1]")
    assert window.setup.ranges == ((-5.0, 45.0), (-5.0, 15.0))


def test_the_hint_says_what_space_does_while_running(window, qtbot):
    click_contour(window, 2.0, 2.0)
    qtbot.waitUntil(lambda: epochs(window) > 10, timeout=T)
    qtbot.waitUntil(lambda: window.plots.hint.text().startswith("Running"), timeout=T)
    window.actions.start.trigger()
    qtbot.waitUntil(lambda: window.plots.hint.text().startswith("Paused"), timeout=T)


def test_the_restarts_summary_names_the_method_that_produced_it(window, qtbot):
    r = window.tools["restarts"].restarts
    r.count.setValue(3)
    r.epochs.setValue(30)
    r.method.setCurrentText("sd")
    with qtbot.waitSignal(r.finished, timeout=T):
        window.actions.restarts.trigger()
    r.method.setCurrentText("lm")  # chosen for the next batch, not the one shown
    assert r.summary.text().startswith("sd, the longest run 30 epochs; ")


def test_the_previous_problems_surface_is_not_shown_while_the_new_one_computes(
    window, qtbot, monkeypatch
):
    """Before: opening a session of another network kept the book's contour (its image,
    contour lines and axis names) on screen until the new surface arrived, seconds for a
    large network."""
    from bpgui_engine.model.network import NetworkSpec

    plots, contour = window.plots, window.plots.contour
    qtbot.waitUntil(lambda: contour.result is not None, timeout=T)
    assert contour.image.image is not None and contour.axes == ("W1[1,1]", "W2[1,1]")
    asked = []
    with monkeypatch.context() as m:
        m.setattr(plots.surfaces, "request", asked.append)  # the new one never comes
        spec = NetworkSpec(1, (3, 1), ("tansig", "purelin"))
        window.apply_setup(window.setup.with_network(spec))
        assert asked and asked[-1].axes == ("W1[1,1]", "W1[2,1]")
        assert contour.image.image is None and contour.result is None
        assert data(contour.iso)[0].size == 0
        assert contour.axes == ("W1[1,1]", "W1[2,1]")
        assert contour.plot_item.getAxis("bottom").labelText == "W1[1,1]"
        assert contour.plot_item.getAxis("left").labelText == "W1[2,1]"
        (x0, x1), (y0, y1) = contour.plot_item.getViewBox().viewRange()
        assert (x0, x1, y0, y1) == pytest.approx((-10, 10, -10, 10))
        assert contour.readout.text().startswith("computing the surface over W1[1,1] and W1[2,1]")
        assert contour.value_at(0.0, 0.0) is None  # hovering reads nothing stale
    plots.request_surface()
    qtbot.waitUntil(lambda: contour.result is not None, timeout=T)
    assert contour.image.image is not None
    assert contour.result.surface.x_label == "W1[1,1]"
    assert not contour.readout.text().startswith("computing")


def test_restart_curves_are_fitted_when_there_is_no_current_run(qtbot):
    """Before: after Reset the error plot kept its empty 0-10 epoch range, so a restart
    batch's curves (thousands of epochs) showed as stubs at the left edge."""
    from bpgui.plots.curves import CurvesPlot

    c = CurvesPlot()
    qtbot.addWidget(c)
    c.set_history(None, np.empty(0, dtype=np.int64))
    ep = np.arange(0, 3001, 100, dtype=float)
    c.set_overlays([(ep, 2.0 * np.exp(-ep / 500)), (ep, np.full(ep.size, 0.3))])
    (x0, x1), (y0, y1) = c.sse_plot.getViewBox().viewRange()
    assert x0 <= 0 and x1 >= 3000  # the whole batch
    assert y0 <= np.log10(2.0 * np.exp(-6)) and y1 >= np.log10(2.0)  # log y axis
    c.set_history(None, np.empty(0, dtype=np.int64))  # Reset: still fitted to the batch
    assert c.sse_plot.getViewBox().viewRange()[0][1] >= 3000


def _batch(X, F, stop, epochs=100):
    from bpgui_engine.train.batch import BatchResult

    X = np.asarray(X, float)
    B = len(X)
    return BatchResult(
        x=X, performance=np.asarray(F, float), epochs=np.full(B, epochs),
        stop=np.array(stop, dtype=object), path=np.stack([X - 1.0, X]),
        path_performance=np.stack([np.asarray(F) + 1, F]), path_epochs=np.array([0, epochs]),
        grad_norm=np.full(B, 1e-7),
    )  # fmt: skip


def test_restarts_name_a_saddle_as_such_and_say_where_unconverged_runs_got(qtbot):
    """Before: a group of runs stopped at the book slice's saddle was counted and listed as
    a minimum; and a batch with no converged run said only "0 minima"."""
    from bpgui.panes.restarts import RestartsPane
    from bpgui_engine.analysis.critical import find_critical_points

    setup = Setup.from_preset().replace(ranges=((-5.0, 15.0), (-5.0, 15.0)))
    obj = setup.objective()
    saddle = next(p for p in find_critical_points(setup) if p.kind == "saddle")
    pane = RestartsPane()
    qtbot.addWidget(pane)
    pane.set_problem(setup, obj)
    res = _batch([[10.0, 1.0], saddle.x, saddle.x], [obj.value(np.array([10.0, 1.0]))] +
                 [saddle.performance] * 2, ["min_grad"] * 3)  # fmt: skip
    pane.show_result(res)
    text = pane.summary.text()
    assert "3 runs: 1 minimum — M1 (10, 1): 1, M2 (" in text and "), saddle: 2" in text
    assert pane.table.item(1, 4).text().endswith(", saddle")
    far = _batch([[9.9, 1.01], [2.0, 3.0]], [5e-9, 0.3], ["epochs", "epochs"], 30_000)
    far = dataclasses.replace(far, grad_norm=np.array([1e-4, 1e-2]))
    pane.show_result(far)
    text = pane.summary.text()
    assert "0 minima; not converged: 2" in text
    assert "lowest F 5e-09 at (9.9, 1.01)" in text


def test_stop_reasons_read_as_words_in_the_restarts_table(qtbot):
    """Before: the table showed the engine's codes ("min_grad", "no_change", "mu_max")."""
    from bpgui.panes.restarts import RestartsPane
    from bpgui_engine.train.trainer import STOP_LABELS, STOP_REASONS

    assert set(STOP_LABELS) == set(STOP_REASONS)  # every reason has a cell's words
    setup = Setup.from_preset()
    obj = setup.objective()
    pane = RestartsPane()
    qtbot.addWidget(pane)
    pane.set_problem(setup, obj)
    codes = ["min_grad", "no_change", "mu_max"]
    pane.show_result(_batch([[10.0, 1.0], [9.0, 2.0], [8.0, 3.0]], [0.1, 0.2, 0.3], codes))
    for i, code in enumerate(codes):
        item = pane.table.item(i, 3)
        assert item.text() == STOP_LABELS[code] and "_" not in item.text()
        assert item.toolTip() == STOP_REASONS[code]


def test_the_response_plot_shows_every_output(qtbot):
    """Before: a network with two outputs (softmax classes) showed only the first."""
    from bpgui.plots.response import ResponsePlot
    from bpgui_engine.model.data import Dataset
    from bpgui_engine.model.network import NetworkSpec

    spec = NetworkSpec(1, (3, 2), ("tansig", "softmax"))
    P = np.linspace(-2, 2, 9)[None, :]
    cls = (P[0] > 0) * 1.0
    ds = Dataset(P, np.vstack([cls, 1 - cls]))
    plot = ResponsePlot()
    qtbot.addWidget(plot)
    plot.set_problem(spec, ds, None)
    theta = np.random.default_rng(0).normal(size=spec.n_params)
    plot.set_theta(theta)
    ((t2, r2),) = plot._extra
    assert np.array_equal(data(t2)[1], 1 - cls)
    dense = plot._dense
    want = spec.output(theta, dense)
    assert np.allclose(data(plot.response)[1], want[0])
    assert np.allclose(data(r2)[1], want[1])
    one = NetworkSpec(1, (3, 1), ("tansig", "purelin"))  # back to one output: extras go
    plot.set_problem(one, Dataset(P, np.sin(P)), None)
    assert plot._extra == [] and "network 2" not in [lab.text for _s, lab in plot.plot.legend.items]
