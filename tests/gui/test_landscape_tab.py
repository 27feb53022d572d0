"""The contour pane's Landscape tab, as a person uses it (issue 22): the tab clicked,
modes chosen with the keyboard, the span typed key by key, Compute and Cancel clicked;
pictures against the engine's, the cache, what clears them, the spectrum, the live
sharpness of the edge-of-stability experiment, and sessions."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from bpgui_engine.analysis.views import compute_landscape, compute_spectrum
from tests.gui.test_forms import choose, type_into

T = 60_000


def open_tab(window, qtbot):
    bar = window.plots.tabs.tabBar()
    tool = window.tools["landscape"]
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(tool.index).center())
    assert window.plots.tabs.currentIndex() == tool.index
    qtbot.waitUntil(lambda: tool.pane is not None and tool.pane.isVisible(), timeout=2000)
    return tool, tool.pane


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def train(window, qtbot, epochs=300):
    s = window.setup
    window.apply_setup(s.replace(criteria=s.criteria.__class__(epochs=epochs)))
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_new_run(window.runs.default_start())


def test_random_landscape_is_the_engines_coarse_first_and_cached(window, qtbot):
    window.load_experiment("xor-hidden", run=False)
    train(window, qtbot)
    tool, pane = open_tab(window, qtbot)
    assert pane.plot.view is None and "Compute" in pane.plot.readout.text()
    choose(qtbot, pane.resolution, "21 x 21")
    type_into(qtbot, pane.span, "0.5")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: not tool.runner.busy and tool.view is not None, timeout=T)
    x, _ = window.runs.point_on_screen()
    (want,) = [v for v in compute_landscape(window.setup, "random", x, span=0.5, resolution=21)
               if v.done]  # fmt: skip
    np.testing.assert_allclose(tool.view.values, want.values, rtol=1e-12)
    assert tool.view.done
    assert pane.plot.image.image is not None and "around epoch 300" in window.last_message
    # the same settings again: from the cache, no job
    click(qtbot, pane.compute)
    assert not tool.runner.busy and "computed before" in window.last_message
    # nonsense typed into the span: one line, nothing computed
    type_into(qtbot, pane.span, "abc")
    click(qtbot, pane.compute)
    assert not tool.runner.busy and "span" in window.last_message


def test_pca_and_line_views_and_what_clears_them(window, qtbot):
    window.load_experiment("xor-hidden", run=False)
    tool, pane = open_tab(window, qtbot)
    choose(qtbot, pane.mode, "PCA plane of the trajectory")
    click(qtbot, pane.compute)  # before any training: one line, no job
    assert not tool.runner.busy and "train first" in window.last_message
    train(window, qtbot)
    choose(qtbot, pane.resolution, "21 x 21")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: not tool.runner.busy and tool.view is not None, timeout=T)
    v = tool.view
    assert v.mode == "pca" and len(v.path) >= 3 and "% of the variance" in v.axis_labels()[0]
    h = window.controller.history
    assert v.centre_value() == pytest.approx(window.objective.value(h.x[-1]), rel=1e-9)
    choose(qtbot, pane.mode, "Line: start → point")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: not tool.runner.busy and tool.view.mode == "line", timeout=T)
    fa, fb = tool.view.ends()
    assert fa == pytest.approx(window.objective.value(h.x[0]), rel=1e-9)
    assert fb == pytest.approx(window.objective.value(h.x[-1]), rel=1e-9)
    choose(qtbot, pane.mode, "Line: earlier run's end → point")
    click(qtbot, pane.compute)
    assert "no earlier run" in window.last_message
    # Reset: the pictures were of a run that is gone
    window.actions.reset.trigger()
    assert tool.view is None and pane.plot.view is None
    # a change of problem drops a picture too
    choose(qtbot, pane.mode, "Random directions (filter-normalized)")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: not tool.runner.busy and tool.view is not None, timeout=T)
    window.load_experiment("circle-features", run=False)
    assert tool.view is None


def test_cancel_keeps_the_picture_so_far(window, qtbot):
    window.load_experiment("spiral-deep", run=False)
    tool, pane = open_tab(window, qtbot)
    choose(qtbot, pane.resolution, "201 x 201")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: tool.runner.busy and pane.plot.view is not None, timeout=T)
    assert pane.plot.view.stride > 1 and "coarse" in pane.plot.readout.text()  # coarse first
    click(qtbot, pane.cancel)
    qtbot.waitUntil(lambda: not tool.runner.busy, timeout=T)
    assert tool.view is not None and not tool.view.done and "cancelled" in window.last_message
    assert pane.compute.isEnabled() and not pane.cancel.isEnabled()


def test_spectrum_at_the_point_shown(window, qtbot):
    window.load_experiment("xor-hidden", run=False)
    _tool, pane = open_tab(window, qtbot)
    choose(qtbot, pane.page, "Hessian spectrum")
    click(qtbot, pane.spectrum_compute)
    qtbot.waitUntil(lambda: pane.spectrum.view is not None, timeout=T)
    want = compute_spectrum(window.setup, window.runs.point_on_screen()[0], k=5)
    np.testing.assert_allclose(pane.spectrum.view.top, want.top, rtol=1e-6)
    assert "Hessian of the" in pane.spectrum.readout.text() and "λmax" in window.last_message


def test_edge_of_stability_samples_the_sharpness_live_and_saves_it(window, qtbot, tmp_path):
    window.load_experiment("edge-of-stability")
    tool = window.tools["landscape"]
    assert window.plots.tabs.currentIndex() == tool.index and tool.pane.page.currentIndex() == 2
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        pass
    ep, val = window.controller.sharpness.arrays()
    assert list(ep) == list(range(0, 3001, 20))  # every 20 epochs, none skipped
    assert val[0] < 20 and val.max() > 40 and abs(np.mean(val[-50:]) - 40) < 3  # 2/lr = 40
    tool.sync_sharpness()
    assert tool.pane.sharpness.bound.isVisible() and tool.pane.sharpness.bound.value() == 40
    # saved and reopened with the session; New drops it
    path = tmp_path / "edge.bpgui"
    assert window.document.save_as(path)
    assert window.document.new() and len(window.controller.sharpness) == 0
    assert window.document.open(path)
    ep2, val2 = window.controller.sharpness.arrays()
    np.testing.assert_array_equal(ep2, ep)
    np.testing.assert_array_equal(val2, val)


def test_a_landscape_is_saved_with_the_session(window, qtbot, tmp_path):
    window.load_experiment("xor-hidden", run=False)
    tool, pane = open_tab(window, qtbot)
    choose(qtbot, pane.resolution, "21 x 21")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: not tool.runner.busy and tool.view is not None, timeout=T)
    shown = tool.view
    path = tmp_path / "l.bpgui"
    assert window.document.save_as(path)
    assert window.document.new() and tool.view is None
    assert window.document.open(path)
    np.testing.assert_array_equal(tool.view.values, shown.values)
    assert pane.plot.view is tool.view and "saved with the session" in pane.plot.readout.text()


def test_an_experiments_sampling_ends_with_it_and_a_failed_request_keeps_the_picture(window, qtbot):
    window.load_experiment("edge-of-stability", run=False)
    track = window.controller.sharpness
    assert track.every == 20 and track.budget == 0.0  # exact: the experiment's curve
    window.load_experiment("xor-hidden", run=False)
    assert track.every == 0 and track.budget == 0.15  # not carried to the next problem
    tool, pane = open_tab(window, qtbot)
    assert not pane.sample.isChecked() and pane.budget.isChecked()
    choose(qtbot, pane.resolution, "21 x 21")
    click(qtbot, pane.compute)
    qtbot.waitUntil(lambda: not tool.runner.busy and tool.view is not None, timeout=T)
    shown = tool.view
    assert not pane.plot.colorbar.axis.autoSIPrefix  # log10 values, no "(x0.001)"
    type_into(qtbot, pane.span, "-3")
    click(qtbot, pane.compute)
    assert "span" in window.last_message and not tool.runner.busy
    assert tool.view is shown and pane.plot.view is shown  # on screen what a save keeps
