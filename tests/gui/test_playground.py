"""Classification in the plane in the window, as a person uses it (issue 21): the data
form's fields typed key by key, the decision map and the neurons' maps, the accuracy
curves, the weight penalty changed during a run, sessions and the decision map's export."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from bpgui_engine.model.penalty import weight_mask
from tests.gui.test_forms import choose, error_shown, show_tab, type_into

T = 30_000


def plane_tab(window, qtbot, dataset="spiral (two arms)"):
    pane = window.network_pane
    show_tab(window, pane)
    choose(qtbot, pane.data.kind, "data set in the plane")
    choose(qtbot, pane.data.plane.toy, dataset)
    qtbot.waitUntil(lambda: pane.data.plane.samples.height() > 0, timeout=2000)  # laid out
    return pane


def test_choosing_a_plane_data_set_shows_its_decision_map_and_follows_the_features(window, qtbot):
    pane = plane_tab(window, qtbot)
    s = window.setup
    assert s.data.kind == "toy" and s.data.toy == "spiral" and s.data.test == 0.5
    assert s.spec.n_inputs == 2 and s.spec.n_outputs == 1
    dec = window.plots.decision
    assert dec.active and window.plots.outputs.currentWidget() is dec
    assert len(dec.train_points.data) == 250 and len(dec.test_points.data) == 250
    type_into(qtbot, pane.data.plane.samples, "400")
    assert window.setup.data.samples == 400 and len(dec.train_points.data) == 200
    for name in ("x1sq", "x2sq"):  # the network's input count follows the features
        QTest.mouseClick(pane.data.plane.features[name], Qt.MouseButton.LeftButton)
    assert window.setup.data.features == ("x1", "x2", "x1sq", "x2sq")
    assert window.setup.spec.n_inputs == 4
    # the diagram draws a thumbnail of every neuron's map, the inputs' too (the maps
    # reach it at most ten times a second: the latest within 0.1 s)
    qtbot.waitUntil(lambda: pane.diagram.thumbs is not None and len(pane.diagram.thumbs[0]) == 4)
    thumbs = pane.diagram.thumbs
    assert [len(t) for t in thumbs] == [4, *window.setup.spec.sizes]
    assert all(isinstance(i, QImage) and not i.isNull() for t in thumbs for i in t)
    seed = window.setup.data.noise_seed
    QTest.mouseClick(pane.data.plane.regenerate, Qt.MouseButton.LeftButton)
    assert window.setup.data.noise_seed == seed + 1


def test_bad_plane_fields_are_explained_and_keep_start_disabled(window, qtbot):
    pane = plane_tab(window, qtbot, "circle")
    plane = pane.data.plane
    for field, text, why in ((plane.samples, "3", "samples"), (plane.noise, "-1", "noise"),
                             (plane.test, "1", "test share")):  # fmt: skip
        type_into(qtbot, field, text)
        assert error_shown(field), why
        assert not window.actions.start.isEnabled()
        type_into(qtbot, field, {"samples": "500", "noise": "0", "test share": "0.5"}[why])
        assert not error_shown(field) and window.actions.start.isEnabled()
    for box in plane.features.values():  # no feature at all
        if box.isChecked():
            QTest.mouseClick(box, Qt.MouseButton.LeftButton)
    assert "at least one" in error_shown(plane.feature_box)
    assert not window.actions.start.isEnabled()
    QTest.mouseClick(plane.features["x1x2"], Qt.MouseButton.LeftButton)
    assert window.actions.start.isEnabled() and window.setup.data.features == ("x1x2",)


def test_spiral_experiment_trains_to_its_accuracy_with_live_maps(window, qtbot):
    window.load_experiment("spiral-deep")
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        pass
    qtbot.wait(100)
    track = window.plots.accuracy.track
    last = track.latest()
    assert last["train_acc"] >= 0.98 and 0.8 <= last["test_acc"] <= 1.0
    assert window.status_fields["accuracy"].isVisible()
    assert window.status_fields["accuracy"].text().startswith("acc 1")
    assert window.plots.accuracy._shown and len(window.plots.accuracy.train.getData()[0])
    dec = window.plots.decision
    h = window.controller.history
    np.testing.assert_array_equal(dec.theta, window.setup.full_theta(h.x[-1]))
    img = dec.image.image
    assert img.shape == (100, 100, 4)
    # the image covers the grid's extent (one cell beyond each end's centre) ...
    x0, x1, y0, y1 = dec.grid.extent
    r = dec.image.mapRectToParent(dec.image.boundingRect())
    assert (
        abs(r.left() - (x0 - (x1 - x0) / 198)) < 1e-6
        and abs(r.width() - (x1 - x0) * 100 / 99) < 1e-6
    )
    # ... and the colour under each training point is its class's (100 % trained)
    prep = window.setup.data.prepare()
    ix = np.rint((prep.plane_train.X[0] - x0) / (x1 - x0) * 99).astype(int)
    iy = np.rint((prep.plane_train.X[1] - y0) / (y1 - y0) * 99).astype(int)
    blue = img[ix, iy, 2] > img[ix, iy, 0]  # class 1 is blue, class 0 orange
    assert np.mean(blue == (prep.plane_train.y == 1)) > 0.9
    dec.discrete.setChecked(True)
    hard = dec.image.image.copy()
    assert not np.array_equal(hard, img) and len(np.unique(hard.reshape(-1, 4), axis=0)) == 2
    dec.show_test.setChecked(False)
    assert not dec.test_points.isVisible()
    # hovering a neuron shows its map large
    diagram = window.network_pane.diagram
    show_tab(window, window.network_pane)
    area = diagram.parentWidget()
    while not hasattr(area, "ensureWidgetVisible"):  # the setup panel scrolls it into view
        area = area.parentWidget()
    area.ensureWidgetVisible(diagram)
    qtbot.waitUntil(lambda: any(n[1] is not None for n in diagram._nodes), timeout=3000)
    q = next(n[0] for n in diagram._nodes if n[1] is not None)
    QTest.mouseMove(diagram, q.toPoint())
    qtbot.waitUntil(lambda: diagram._hover is not None, timeout=2000)


def test_l2_changed_during_a_run_applies_from_then_on(window, qtbot):
    window.load_experiment("overfit", run=False)
    window.setup = window.setup.replace(criteria=window.setup.criteria.__class__(epochs=400))
    pane = window.network_pane
    window.speed.setValue(5)  # slow enough to edit mid-run
    window.runs.start_new_run(window.start_x)
    qtbot.waitUntil(lambda: len(window.controller.history or []) > 3, timeout=T)
    show_tab(window, pane)
    type_into(qtbot, pane.l2, "0.02")
    assert window.setup.l2 == 0.02 and window.controller.setup.l2 == 0.02
    window.speed.setValue(window.speed.maximum())
    with qtbot.waitSignal(window.controller.run_finished, timeout=2 * T):  # a busy machine
        pass
    h = window.controller.history
    x = h.x[-1]
    obj = window.setup.objective()  # with the new penalty
    assert h.column("performance")[-1] == pytest.approx(obj.value(x), rel=1e-9)
    w = window.setup.full_theta(x)[weight_mask(window.setup.spec)]
    plain = window.setup.replace(l2=0.0).objective().value(x)
    assert obj.value(x) == pytest.approx(plain + 0.02 * w @ w, rel=1e-12)
    assert "weight penalty + 0.02‖w‖²" in pane.problem_label.text()


def test_plane_session_round_trip_and_decision_export(window, qtbot, tmp_path):
    window.load_experiment("circle-features")
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        pass
    path = tmp_path / "circle.bpgui"
    assert window.document.save_as(path)
    recipe = window.setup.data
    assert window.document.new() and not window.plots.decision.active
    assert window.document.open(path)
    assert window.setup.data == recipe and window.plots.decision.active
    out = tmp_path / "map.png"
    r = subprocess.run([sys.executable, "-m", "bpgui", "export", str(path), "--decision",
                        str(out)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert not img.isNull() and img.width() >= 1200
    # the CLI trains the same recipe from flags and reports both accuracies
    r = subprocess.run([sys.executable, "-m", "bpgui", "train", str(path), "--epochs", "10",
                        "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
    out = json.loads(r.stdout)
    assert out["train_accuracy"] == 1.0 and out["dataset"].startswith("circle:")


def test_a_book_session_has_no_decision_map_export(window, tmp_path):
    from bpgui.export.plots import export_plot

    assert not window.plots.decision.active
    with pytest.raises(ValueError, match="plane"):
        export_plot(window.plots, "decision", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_neuron_maps_reach_the_diagram_throttled_and_the_last_always(qtbot):
    from bpgui.plots.decision import DecisionPlot
    from bpgui_engine.analysis.classify import layer_maps
    from bpgui_engine.model.problem import plane_setup

    dec = DecisionPlot()
    qtbot.addWidget(dec)
    s = plane_setup("moons", layers=(3,))
    dec.set_problem(s)
    qtbot.wait(150)
    got = []
    dec.maps_ready.connect(got.append)
    for k in range(5):  # five frames in a burst: one emission now, the latest after
        dec.set_theta(s.theta_array * (1 + k / 10))
    assert len(got) <= 1
    qtbot.waitUntil(lambda: len(got) >= 2, timeout=2000)
    want = layer_maps(s.spec, s.theta_array * 1.4, dec.grid)  # float64: the window's float32
    np.testing.assert_allclose(got[-1][-1], want[-1], atol=1e-6)
    assert got[-1][0].shape == (2, 100, 100)  # the inputs' maps first


def test_a_large_data_set_draws_a_sample_of_its_points_and_says_so(qtbot):
    from bpgui.plots.decision import MAX_POINTS, DecisionPlot
    from bpgui_engine.model.problem import plane_setup

    dec = DecisionPlot()
    qtbot.addWidget(dec)
    s = plane_setup("gauss:samples=20000", layers=(2,))
    dec.set_problem(s)
    assert len(dec.train_points.data) == MAX_POINTS == len(dec.test_points.data)
    assert "10,000 training points" in dec.note.text() and "2,000 of each drawn" in dec.note.text()


def test_a_three_class_set_gets_a_softmax_output_and_cross_entropy(window, qtbot):
    plane_tab(window, qtbot, "three Gaussians (3 classes)")
    s = window.setup
    assert s.spec.n_outputs == 3 and s.spec.transfers[-1] == "softmax"
    assert s.performance == "ce" and s.data.prepare().classes == 3
    assert window.plots.decision.key.items  # the colour key lists the classes
    assert [lab.text for _, lab in window.plots.decision.key.items][:3] == [
        "class 0", "class 1", "class 2"]  # fmt: skip
    # the curves' plots share one left-axis width: their epoch axes line up
    c = window.plots.curves
    axes = [p.getAxis("left") for p in (c.sse_plot, c.aux_plot, window.plots.accuracy.plot)]
    assert len({a.fixedWidth for a in axes}) == 1 and axes[0].fixedWidth


def test_the_live_curvature_is_not_computed_while_nothing_shows_it(window, qtbot, monkeypatch):
    import bpgui.tools.explain as explain

    calls = []
    monkeypatch.setattr(explain, "update_live", lambda tool: calls.append(1))
    tool = window.tools["explain"]
    show_tab(window, window.network_pane)  # the optimizer form (its bound) is hidden
    monkeypatch.setattr(window.controller, "state", "running")
    tool.sync_live()
    assert calls == []
    show_tab(window, window.optimizer_pane)  # the bound on screen: drawn at once
    assert calls


def test_the_inspector_refills_a_large_networks_table_without_resizing_per_cell(qtbot):
    """The soak found a 40 s hang: with ResizeToContents every setItem re-measured the
    column, quadratic in the rows (a 2-20-20-1 network's 501). The refill sizes once."""
    from PySide6.QtWidgets import QHeaderView

    from bpgui.panes.inspector import InspectorPane
    from bpgui_engine.analysis.inspect import inspect_sample
    from bpgui_engine.model.problem import plane_setup

    s = plane_setup("gauss:samples=40", layers=(20, 20))
    ins = inspect_sample(s.objective(), s.start(), 0)
    pane = InspectorPane()
    qtbot.addWidget(pane)
    pane.show()
    pane.show_inspection(ins, s.spec, s.theta_array, s.free_idx, "x")
    modes = []
    table, header = pane.params, pane.params.horizontalHeader()
    set_item = table.setItem
    table.setItem = lambda *a: (modes.append(header.sectionResizeMode(0)), set_item(*a))
    pane.show_inspection(ins, s.spec, s.theta_array, s.free_idx, "x")  # the refill
    assert len(modes) == 6 * 501
    assert set(modes) == {QHeaderView.ResizeMode.Interactive}
    assert header.sectionResizeMode(0) == QHeaderView.ResizeMode.ResizeToContents
