"""Replay and linked views (issue 14 #1): scrub a finished, paused or reopened run; every
view shows the chosen epoch; hovering links the curves and the path."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from test_window import T, epochs

from bpgui_engine.train.trainer import StopCriteria


def finished_run(window, qtbot, n=400):
    window.apply_setup(window.setup.replace(criteria=StopCriteria(epochs=n)))
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_new_run(np.array([-4.0, -4.0]))


def test_scrubbing_moves_every_view_to_that_epoch(window, qtbot):
    finished_run(window, qtbot)
    r = window.tools["replay"]
    h = window.controller.history
    assert r.bar.slider.isEnabled() and r.bar.slider.maximum() == len(h) - 1
    r.bar.slider.setValue(100)  # as a drag does
    x = h.x[100]
    cx, cy = r.cursor.getData()
    assert (cx[0], cy[0]) == (x[0], x[1])
    theta = window.setup.full_theta(x)
    assert np.array_equal(window.plots.response.theta, theta)
    assert window.status_fields["epoch"].text() == "epoch 100"
    assert f"{h.column('sse')[100]:.6g}" in window.status_fields["sse"].text()
    assert r.lines[0].value() == 100 and r.lines[0].isVisible()
    # the keyboard: Ctrl+Right one epoch, Ctrl+Shift+Left a hundredth of the run
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert r.row == 101
    QTest.keyClick(
        window,
        Qt.Key.Key_Left,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert r.row == 97


def test_a_new_run_or_new_session_switches_the_replay_off(window, qtbot):
    finished_run(window, qtbot)
    window.tools["replay"].scrub(50)
    window.actions.reset.trigger()
    assert (
        not window.tools["replay"].cursor.isVisible()
        and not window.tools["replay"].bar.slider.isEnabled()
    )
    finished_run(window, qtbot)
    window.tools["replay"].scrub(50)
    window.actions.start.trigger()  # continue: training again, the views are live
    qtbot.waitUntil(lambda: window.controller.state == "running", timeout=T)
    assert not window.tools["replay"].cursor.isVisible()
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    window.tools["replay"].scrub(10)
    window.actions.new.trigger()
    assert not window.tools["replay"].cursor.isVisible()


def test_a_reopened_session_can_be_scrubbed(window, qtbot, tmp_path):
    finished_run(window, qtbot, 200)
    path = tmp_path / "r.bpgui"
    assert window.document.save_as(path)
    window.actions.new.trigger()
    assert window.document.open(path)
    window.tools["replay"].scrub(0)
    cx, cy = window.tools["replay"].cursor.getData()
    assert (cx[0], cy[0]) == (-4.0, -4.0)


def test_hovering_the_curves_marks_the_contour_and_the_path_marks_the_curves(window, qtbot):
    finished_run(window, qtbot, 2000)
    h = window.controller.history
    cu = window.plots.curves
    vb = cu.sse_plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(1000, vb.viewRange()[1][0] + 0.5))
    QTest.mouseMove(cu.glw.viewport(), cu.glw.mapFromScene(scene))

    def marked() -> bool:
        xs = window.tools["replay"].hover_dot.getData()[0]
        return xs is not None and len(xs) == 1

    qtbot.waitUntil(marked, timeout=T)
    hx, _ = window.tools["replay"].hover_dot.getData()
    i = int(np.searchsorted(h.column("epoch"), vb.mapSceneToView(scene).x()))
    assert abs(hx[0] - h.x[i][0]) < 1e-9 or abs(hx[0] - h.x[i - 1][0]) < 0.05
    # now the path: the point of epoch 1500
    c = window.plots.contour
    x = h.x[1500]
    p = c.widget.mapFromScene(c.plot_item.getViewBox().mapViewToScene(QPointF(x[0], x[1])))
    QTest.mouseMove(c.widget.viewport(), p)
    qtbot.waitUntil(lambda: window.tools["replay"].hover_lines[0].isVisible(), timeout=T)
    assert abs(window.tools["replay"].hover_lines[0].value() - 1500) < 200  # within a few pixels
    assert epochs(window) == 2000


def test_the_hover_mark_goes_with_the_pointer_and_with_the_run(window, qtbot):
    """Issue 18 #6: the dot that hovering the error curves puts on the path stayed after
    the pointer left, through Reset, a weight edit, a new run and Open."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtWidgets import QApplication

    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=20_000):
        window.load_experiment("vlbp")
    rp, cu = window.tools["replay"], window.plots.curves

    def hover_curves():
        vb = cu.sse_plot.getViewBox()
        scene_pos = vb.mapViewToScene(QPointF(float(c.history.column("epoch")[-1]) / 2, 1.0))
        rp._curves_hovered((scene_pos,))
        assert len(rp.hover_dot.getData()[0]) == 1

    hover_curves()
    QApplication.sendEvent(cu, QEvent(QEvent.Type.Leave))
    assert len(rp.hover_dot.getData()[0]) == 0  # the pointer left the curves
    for act in (window.actions.reset.trigger, window.actions.new.trigger):
        with qtbot.waitSignal(c.run_finished, timeout=20_000):
            window.load_experiment("vlbp")
        hover_curves()
        act()
        assert len(rp.hover_dot.getData()[0]) == 0, act


def test_replayed_fields_use_the_live_names_and_the_line_follows_the_epoch_axis(window, qtbot):
    """Before: replay wrote "SSE" and "lr" whatever the run (a run on the MSE showed no
    MSE, conjugate gradient's step was called lr), and toggling the log epoch axis left
    the cursor line at the old axis's position (epoch 5 drawn at 0.7 = log10 5)."""
    window.apply_setup(window.setup.replace(optimizer="cg", hyper={}, performance="mse"))
    finished_run(window, qtbot, n=30)
    h, r = window.controller.history, window.tools["replay"]
    end = {k: window.status_fields[k].text() for k in ("sse", "rate")}
    assert end["sse"].startswith("MSE ") and end["rate"].startswith("step ")
    r.scrub(5)
    f = window.status_fields
    assert f["sse"].text() == (
        f"MSE {h.column('performance')[5]:.6g} (SSE {h.column('sse')[5]:.3g})"
    )
    assert f["rate"].text() == f"step {h.column('lr')[5]:.3g}"
    epoch = int(h.column("epoch")[5])
    curves = window.plots.curves
    curves.log_x.setChecked(not curves.log_x.isChecked())
    want = np.log10(epoch) if curves.log_x.isChecked() else epoch
    assert r.lines[0].value() == want
    curves.log_x.setChecked(not curves.log_x.isChecked())
    assert r.lines[0].value() == (np.log10(epoch) if curves.log_x.isChecked() else epoch)
