"""Issue 13 in the window: critical points, curvature and the stability bound, update
vectors, the equations panel, the backprop inspector, per-layer learning rates, editable
weights.  Every number shown is compared with the engine's headless result."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_window import T, epochs

from bpgui.plots.critical_style import fmt
from bpgui_engine.analysis.critical import find_critical_points


# ---- critical points ------------------------------------------------------------------------
def _find(window, qtbot):
    window.actions.critical.trigger()
    pane = window.tools["critical"].critical_pane
    qtbot.waitUntil(
        lambda: not pane.busy and window.tools["critical"].critical_current() is not None, timeout=T
    )
    return window.tools["critical"].critical_current()


def _table(pane) -> list[list[str]]:
    t = pane.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_critical_points_on_the_book_slice(window, qtbot):
    window.apply_setup(window.setup.replace(ranges=((-5.0, 15.0), (-5.0, 45.0))))
    res = _find(window, qtbot)
    headless = find_critical_points(window.setup, x=window.runs.current_point())
    assert [p.kind for p in res.points] == [p.kind for p in headless]
    for a, b in zip(res.points, headless, strict=True):
        np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=1e-9, atol=1e-15)
    by_kind = {}
    for p in res.points:
        by_kind.setdefault(p.kind, []).append(p)
    mins = sorted(by_kind["minimum"], key=lambda p: p.performance)
    np.testing.assert_allclose(mins[0].x, [10.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(mins[1].x, [0.8828, 38.619], atol=1e-3)
    (saddle,) = by_kind["saddle"]
    assert 0.88 < saddle.x[0] < 10 and 1 < saddle.x[1] < 38.6  # between the two basins
    # drawn on the contour, one symbol per kind, and listed in the table
    xs, ys = window.tools["critical"].critical_marks.xy()
    assert sorted(zip(xs, ys, strict=True)) == sorted((p.x[0], p.x[1]) for p in res.points)
    symbols = {s["data"].split("\n")[0].split(" ")[0]: s["symbol"]
               for s in window.tools["critical"].critical_marks.item.data}  # fmt: skip
    assert symbols["minimum"] != symbols["saddle"] != symbols["degenerate"]
    rows = _table(window.tools["critical"].critical_pane)
    assert len(rows) == len(res.points)
    assert rows[0][:4] == ["minimum", "10", "1", "0"]
    assert "in 2 dimensions" in window.tools["critical"].critical_pane.status.text()
    # hover text: performance and eigenvalues
    tip = window.tools["critical"].critical_marks.item.data[0]["data"]
    assert "performance" in tip and "eigenvalues 0.003822, 1.156" in tip
    # the local minimum is outside the default range: not found there
    window.apply_setup(window.setup.replace(ranges=((-5.0, 15.0), (-5.0, 15.0))))
    assert (
        window.tools["critical"].critical_current() is None
        and len(window.tools["critical"].critical_marks.xy()[0]) == 0
    )
    res = _find(window, qtbot)
    assert not any(p.kind == "minimum" and p.x[1] > 30 for p in res.points)


def test_critical_points_saddle_experiment(window, qtbot):
    window.load_experiment("saddle", run=False)
    res = _find(window, qtbot)
    headless = find_critical_points(window.setup, x=window.runs.current_point())
    assert [p.kind for p in res.points] == [p.kind for p in headless]
    saddles = [p for p in res.points if p.kind == "saddle"]
    assert len(saddles) == 1
    np.testing.assert_allclose(saddles[0].x, [0.0, 0.0], atol=1e-9)
    assert saddles[0].eigenvalues[0] < 0 < saddles[0].eigenvalues[1]
    xs, ys = window.tools["critical"].critical_marks.xy()
    assert any(abs(x) < 1e-9 and abs(y) < 1e-9 for x, y in zip(xs, ys, strict=True))


@pytest.mark.slow  # 8-18 s (searches in 7 dimensions): make test-slow, CI
def test_critical_points_in_all_dimensions_and_nothing_found(window, qtbot):
    s = window.setup
    window.apply_setup(s.replace(free=("W1[1,1]", "W2[1,1]", "b2")))
    res = _find(window, qtbot)
    assert (
        res.dims == 3 and "in 3 dimensions" in window.tools["critical"].critical_pane.status.text()
    )
    headless = find_critical_points(window.setup, free="all", x=window.runs.current_point())
    assert [p.kind for p in res.points] == [p.kind for p in headless]
    # the table has a column for every searched parameter, b2 included
    t = window.tools["critical"].critical_pane.table
    heads = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    assert heads[1:4] == ["W1[1,1]", "W2[1,1]", "b2[1]"]
    b2 = next(p for p in res.points if "b2[1]" in p.params).params["b2[1]"]
    assert any(t.item(r, 3).text() == fmt(b2, 6) for r in range(t.rowCount()))
    # a range with no stationary point in it says so
    window.apply_setup(window.setup.replace(free=s.free, ranges=((20.0, 30.0), (20.0, 30.0))))
    res = _find(window, qtbot)
    assert res.points == []
    assert "no stationary point found" in window.tools["critical"].critical_pane.status.text()


def test_critical_points_hidden_after_a_problem_change(window, qtbot):
    res = _find(window, qtbot)
    assert res.points and len(window.tools["critical"].critical_marks.xy()[0]) == len(res.points)
    s = window.setup
    window.apply_setup(s.replace(performance="mse"))  # another problem
    assert window.tools["critical"].critical_current() is None
    assert (
        len(window.tools["critical"].critical_marks.xy()[0]) == 0
        and window.tools["critical"].critical_pane.table.rowCount() == 0
    )
    t = window.tools["critical"].critical_pane.table  # no axis names left from the old view
    assert [t.horizontalHeaderItem(c).text() for c in range(3)] == ["kind", "x", "y"]
    window.apply_setup(s.replace(axes=("W2[1,1]", "W1[1,1]"),
                                 ranges=(s.ranges[1], s.ranges[0])))  # fmt: skip
    assert len(window.tools["critical"].critical_marks.xy()[0]) == 0  # other axes: not drawn either


# ---- per-layer learning rates ------------------------------------------------------------------
def _type(widget, text: str) -> None:
    """Select the field's text and type ``text`` key by key."""
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    for ch in text:
        QTest.keyClick(widget, ch)


def test_per_layer_rates_typed_key_by_key_reach_the_run(window, qtbot):
    from bpgui_engine.optim import OPTIMIZERS

    pane = window.optimizer_pane
    rates = pane.fields["lr_layers"]
    assert len(rates.fields) == 2  # the book's network: two layers
    _type(rates.fields[0], "0.")  # an unfinished number is left as typed, marked in place
    assert rates.fields[0].text() == "0."
    assert "layer 1: must be > 0" in rates.error_label.text()
    assert rates.error_label.isVisibleTo(window.optimizer_pane)
    assert not window.actions.start.isEnabled()
    _type(rates.fields[0], "0.25")
    assert rates.problem() is None and window.actions.start.isEnabled()
    assert window.setup.hyper["lr_layers"] == (0.25, 1.0)
    window.runs.start_at(-4.0, -4.0)
    qtbot.waitUntil(lambda: epochs(window) >= 3, timeout=T)
    assert window.controller.setup.hyper["lr_layers"] == (0.25, 1.0)
    # the run's first step is the headless one with these multipliers
    h = window.controller.history
    s = window.setup
    obj = s.objective()
    opt = OPTIMIZERS["sd"](OPTIMIZERS["sd"].Hyper.from_dict(s.hyper))
    f, g = obj.value_and_grad(h.x[0])
    np.testing.assert_allclose(opt.step(h.x[0], f, g, obj).x, h.x[1], rtol=1e-12)


def test_per_layer_fields_follow_the_network(window, qtbot):
    window.load_experiment("deep-layer-rates", run=False)
    rates = window.optimizer_pane.fields["lr_layers"]
    assert [f.value() for f in rates.fields] == [64.0, 16.0, 4.0, 1.0]
    window.load_preset("book-1-2-1")
    assert len(window.optimizer_pane.fields["lr_layers"].fields) == 2


# ---- curvature, the stability bound, equations, update vectors ---------------------------------
def _run_to_end(window, qtbot, key: str, epochs_max: int | None = None):
    window.load_experiment(key, run=False)
    if epochs_max is not None:
        window.apply_setup(window.setup.replace(
            criteria=window.setup.criteria.__class__(epochs=epochs_max)))  # fmt: skip
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_new_run(window.start_x)
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)


def test_curvature_panel_equals_the_engine_at_the_current_point(window, qtbot):
    from bpgui_engine.analysis.curvature import curvature_at

    window.actions.explain.trigger()
    _run_to_end(window, qtbot, "momentum", 40)
    x = window.controller.history.x[-1]
    assert np.array_equal(window.runs.current_point(), x)
    c = curvature_at(window.setup.objective(), x)
    text = window.tools["explain"].curvature_panel.text.text()
    assert f"at epoch {epochs(window)}" in text
    for lam in c.eigenvalues:
        assert f"{lam:.4g}" in text
    assert f"<b>{c.condition:.4g}</b>" in text
    assert {"minimum": "positive definite", "saddle": "indefinite"}.get(c.kind, c.kind) in text
    np.testing.assert_array_equal(window.tools["explain"].curvature.hessian, c.hessian)
    # the eigenvector arrows start at the current point, along the slice's eigenvectors
    ov = window.tools["explain"].curvature_overlay
    x0, y0, dx, dy = ov.arrows.arrows["e1+"]
    assert (x0, y0) == (x[0], x[1])
    v = c.eigenvectors[:, 1]
    assert abs(dx * v[1] - dy * v[0]) < 1e-9 * np.hypot(dx, dy)  # parallel
    # the quadratic approximation's isolines, on request
    q = ov.quad.getData()[0]
    assert q is None or len(q) == 0
    window.tools["explain"].curvature_panel.quad_box.setChecked(True)
    assert len(ov.quad.getData()[0]) > 10


def test_stability_warning_in_the_lr_100_experiment_not_at_lr_1(window, qtbot):
    from bpgui_engine.analysis.curvature import curvature_at

    _run_to_end(window, qtbot, "unstable-lr")
    label = window.optimizer_pane.stability
    assert "lr 100 is above 2/(λ<sub>max</sub>/41)" in label.text() and not label.isHidden()
    # the bound is the smallest over the current point and the epochs just before it
    h, obj = window.controller.history, window.setup.objective()
    bounds = [curvature_at(obj, h.x[i]).lr_bound for i in range(len(h) - 8, len(h))]
    assert f"= {min(bounds):.4g}" in label.text()
    assert min(bounds) < 100
    # the same run at learning rate 1: no warning
    window.apply_setup(window.setup.replace(hyper={**window.setup.hyper, "lr": 1.0}))
    window.runs.reset()
    window.runs.start_new_run(window.start_x)
    qtbot.waitUntil(lambda: epochs(window) > 300, timeout=T)
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    window.refresh()
    assert "⚠" not in label.text() and "stable" in label.text()
    # at the book's minimum the bound is about 71
    c = curvature_at(obj, np.array([10.0, 1.0]))
    assert abs(c.lr_bound - 70.95) < 0.01


def test_curvature_of_a_non_finite_point_is_undefined(window, qtbot):
    window.actions.explain.trigger()
    window.start_x = np.array([np.nan, 1.0])
    window.refresh()
    assert "undefined" in window.tools["explain"].curvature_panel.text.text()
    assert "undefined" in window.tools["explain"].equations_panel.text.text()


def test_equations_show_the_current_numbers(window, qtbot):
    from bpgui_engine.analysis.steps import update_vectors
    from bpgui_engine.session.schema import run_state_from_dict

    window.actions.explain.trigger()
    _run_to_end(window, qtbot, "momentum", 25)
    s = window.setup
    opt = s.make_optimizer()
    opt.load_state_dict(run_state_from_dict(window.controller.last_state).optimizer_state)
    uv = update_vectors(s.objective(), opt, window.controller.history.x[-1])
    text = window.tools["explain"].equations_panel.text.text()
    assert "Δx<sub>25</sub> = γ Δx<sub>24</sub> − (1−γ) α g<sub>25</sub>" in text
    assert "γ = 0.8" in text and f"α = lr/Q = 100/41 = {100 / 41:.4g}" in text
    g = -uv.neg_gradient
    assert f"g<sub>25</sub> = ∇F = [{g[0]:.4g}, {g[1]:.4g}]" in text
    prev = uv.momentum / 0.8
    assert f"Δx<sub>24</sub> = [{prev[0]:.4g}, {prev[1]:.4g}]" in text
    assert f"Δx<sub>25</sub> = [{uv.step[0]:.4g}, {uv.step[1]:.4g}]" in text
    assert (
        "What to look for" not in text
        and "zig-zag" in window.tools["explain"].equations_panel.watch.text()
    )


def test_update_vectors_equal_the_engine(window, qtbot):
    from bpgui_engine.analysis.steps import cg_line_search, lm_curve, update_vectors
    from bpgui_engine.session.schema import run_state_from_dict

    window.actions.vectors.setChecked(True)
    window.resize(1600, 1000)  # a wide contour: the legend's long rows (test_vectors_legend)
    for key, n in (("momentum", 30), ("cg", 2), ("lm", 3)):
        _run_to_end(window, qtbot, key, n)
        s = window.setup
        x = window.controller.history.x[-1]
        opt = s.make_optimizer()
        opt.load_state_dict(run_state_from_dict(window.controller.last_state).optimizer_state)
        uv = update_vectors(s.objective(), opt, x)
        shown = window.tools["explain"].vectors_overlay.shown
        for name in ("neg_gradient", "step", "momentum", "conjugate", "gauss_newton", "lm_step"):
            v = getattr(uv, name)
            if v is None:
                assert name not in shown
                continue
            dx, dy, f = shown[name]
            assert (dx, dy) == (v[0], v[1]), (key, name)
            x0, y0, ax, ay = window.tools["explain"].vectors_overlay.arrows.arrows[name]
            assert (x0, y0) == (x[0], x[1]) and np.allclose((ax, ay), (f * dx, f * dy))
        assert {"momentum": "momentum", "cg": "conjugate", "lm": "lm_step"}[key] in shown
        legend = [lab.text for _, lab in window.tools["explain"].vectors_overlay.legend.items]
        assert any(t.startswith("−g (negative gradient)") for t in legend)
        if key == "cg":
            ls = cg_line_search(s.objective(), opt, x)
            lx, _ly = window.tools["explain"].vectors_overlay.locate.getData()
            np.testing.assert_array_equal(lx, ls.phase("locate")[:, 0])
            _gx, gy = window.tools["explain"].vectors_overlay.golden.getData()
            np.testing.assert_array_equal(gy, ls.phase("golden")[:, 1])
        if key == "lm":
            lc = lm_curve(s.objective(), x, opt)
            cx, _cy = window.tools["explain"].vectors_overlay.lm_curve.getData()
            np.testing.assert_allclose(cx, x[0] + lc.steps[:, 0], rtol=1e-12)
            assert lc.accepted_mu is not None
            ax, ay = window.tools["explain"].vectors_overlay.lm_accepted.getData()
            np.testing.assert_allclose(ax, x[0] + lc.accepted_step[0], rtol=1e-12)
            legend = window.tools["explain"].vectors_overlay.legend
            assert any(f"accepted μ = {lc.accepted_mu:.3g}" in t for t in
                       [lab.text for _, lab in legend.items])  # fmt: skip
    window.actions.vectors.setChecked(False)
    assert window.tools["explain"].vectors_overlay.shown == {}


# ---- the backprop inspector ---------------------------------------------------------------------
def test_inspector_numbers_equal_the_engine(window, qtbot):
    from bpgui_engine.analysis.inspect import inspect_sample

    window.actions.inspect.trigger()
    pane = window.tools["inspector"].inspector_pane
    qtbot.waitUntil(lambda: window.tools["inspector"].inspector_dock.isVisible(), timeout=T)
    pane.sample.setFocus()
    QTest.keyClick(pane.sample, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(pane.sample, "7")  # the 7th sample
    s = window.setup
    ins = inspect_sample(s.objective(), window.runs.current_point(), 6)
    assert f"p = {ins.p[0]:.6g}" in pane.where.text()
    rows = [[pane.neurons.item(r, c).text() for c in range(6)] for r in range(3)]
    flat = [(L, i) for L in ins.layers for i in range(L.n.size)]
    for row, (L, i) in zip(rows, flat, strict=True):
        assert row[2:] == [f"{L.n[i]:.6g}", f"{L.a[i]:.6g}", f"{L.fprime[i]:.6g}", f"{L.s[i]:.6g}"]
    params = {pane.params.item(r, 0).text().split(" ")[0]: [pane.params.item(r, c).text()
              for c in range(1, 6)] for r in range(pane.params.rowCount())}  # fmt: skip
    L1, L2 = ins.layers
    assert params["W1[1,1]"][1:4] == [f"{L1.grad_W[0, 0]:.6g}", f"{L1.batch_grad_W[0, 0]:.6g}",
                                      f"{L1.numeric_W[0, 0]:.6g}"]  # fmt: skip
    assert params["b2[1]"][1:4] == [f"{L2.grad_b[0]:.6g}", f"{L2.batch_grad_b[0]:.6g}",
                                    f"{L2.numeric_b[0]:.6g}"]  # fmt: skip
    # the diagram: neurons coloured by f'(n) over its largest value (logsig: 1/4)
    np.testing.assert_allclose(pane.diagram.activity[0], L1.fprime / 0.25)


def test_inspector_shows_saturation_in_the_deep_network(window, qtbot):
    window.load_experiment("deep-layer-rates", run=False)
    window.actions.inspect.trigger()
    ins = window.tools["inspector"].inspector_pane.inspection
    assert len(ins.layers) == 4
    # sensitivities shrink layer by layer towards the input
    s = [float(np.abs(L.s).max()) for L in ins.layers]
    assert s[0] < s[-1]


# ---- editable weights ---------------------------------------------------------------------------
def test_double_click_a_connection_sets_the_weight(window, qtbot):
    d = window.network_pane.diagram
    window.left_tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len(d._segments) > 0, timeout=T)
    a, b, k = next(seg for seg in d._segments if d.spec.labels[seg[2]] == "W2[1,1]")
    mid = (a + b) / 2
    QTest.mouseDClick(d, Qt.MouseButton.LeftButton, pos=mid.toPoint())
    ed = d.editor
    assert ed is not None and ed.isVisible() and ed.k == k
    for bad, why in (("nan", "finite"), ("2e6", "±1e+06")):
        QTest.keyClick(ed.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(ed.edit, bad)
        QTest.keyClick(ed.edit, Qt.Key.Key_Return)
        assert ed.isVisible() and why in ed.error.text()  # refused in place
    assert window.setup.theta[k] != 3.5
    QTest.keyClick(ed.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(ed.edit, "3.5")
    QTest.keyClick(ed.edit, Qt.Key.Key_Return)
    assert window.setup.theta[k] == 3.5
    # a free weight: the start point moves there
    i = window.setup.free.index("W2[1,1]")
    assert window.start_x[i] == 3.5
    _xs, ys = window.plots.contour.start_marker.getData()
    assert ys[0] == 3.5


def test_editing_a_fixed_weight_reslices_and_right_click_frees_it(window, qtbot):
    s0 = window.setup
    k = s0.spec.index("b2[1]")
    window.left_tabs.setCurrentIndex(0)
    table = window.network_pane.params
    view = table.view
    idx = table.model.index(k, 2)
    view.setCurrentIndex(idx)
    view.edit(idx)
    editor = view.focusWidget()
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, "2e7")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "b2[1] value: must be within ±1e+06" in table.error.text(), timeout=T)
    assert window.setup.theta[k] == -1.0  # refused in place
    view.edit(idx)
    editor = view.focusWidget()
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, "-0.5")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.setup.theta[k] == -0.5, timeout=T)
    # the contour re-slices through the new value
    qtbot.waitUntil(
        lambda: window.plots.surface is not None and window.plots.surface.request.theta[k] == -0.5,
        timeout=T,
    )
    res = window.plots.surface
    i, j = 37, 120
    x, y = res.surface.xs[i], res.surface.ys[j]
    obj = window.setup.objective()
    assert abs(res.surface.values[i, j] - obj.value(np.array([x, y]))) < 1e-9
    # right-click: make it free
    menu = table.context_menu(k)
    (act,) = [a for a in menu.actions() if a.text().startswith("Make b2[1] free")]
    act.trigger()
    assert "b2[1]" in window.setup.free
    menu = window.network_pane.diagram.context_menu(k)
    (act,) = [a for a in menu.actions() if a.text().startswith("Make b2[1] fixed")]
    act.trigger()
    assert "b2[1]" not in window.setup.free


def test_the_critical_points_dock_starts_small_at_1024_by_700(window, qtbot):
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700, timeout=T)
    _find(window, qtbot)
    qtbot.wait(100)
    assert window.height() == 700 and window.width() == 1024
    assert window.tools["critical"].critical_dock.height() <= 700 // 3
    contour = window.plots.contour.widget
    assert contour.width() >= 320 and contour.height() >= 220


def test_the_watch_text_is_the_experiment_on_screen(window, qtbot):
    from bpgui.panes.equations import what_to_watch

    assert "Trajectory a" in what_to_watch("sd", "trajectory-a")
    assert "Learning rate 100" in what_to_watch("sd", None)  # the method's seed experiment
    assert "Trajectory a" not in what_to_watch("sd", "momentum")  # another method's
    window.load_experiment("trajectory-a", run=False)
    assert window.current_experiment() == "trajectory-a"
    window.apply_setup(window.setup.replace(hyper={"lr": 2.0}))
    assert window.current_experiment() is None  # changed since: not that experiment


def test_an_edit_applies_to_the_point_on_screen(window, qtbot):
    """Issue 18 #8: editing a weight of a replayed or stopped run reset the other free
    parameters to their start values; it applies to the point shown, and says so."""
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("vlbp")
    h = c.history
    row = len(h) // 2
    window.tools["replay"].scrub(row)
    shown = h.x[row].copy()
    s = window.setup
    k = s.spec.index("W2[1,1]")
    i = s.free.index("W2[1,1]")
    window.runs.set_weight(k, 2.5)
    expect = shown.copy()
    expect[i] = 2.5
    assert np.array_equal(window.start_x, expect)  # W1[1,1] kept where the replay was
    assert f"epoch {int(h.column('epoch')[row]):,}" in window.last_message
    # a stopped run, no replay: its last point
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("vlbp")
    last = c.history.x[-1].copy()
    window.runs.set_weight(k, -1.5)
    last[i] = -1.5
    assert np.array_equal(window.start_x, last)


@pytest.mark.parametrize("key", ["cg", "lm"])
def test_the_explanations_dock_shows_its_text_whole(window, qtbot, key):
    """Before: on cg and lm runs the dock opened narrower than its titles and check
    boxes, so the equations ran past its edge behind a horizontal scroll bar."""
    window.resize(1600, 1000)
    _run_to_end(window, qtbot, key)
    window.actions.explain.trigger()
    dock = window.tools["explain"].explain_dock
    scroll = dock.widget()
    qtbot.waitUntil(lambda: dock.isVisible(), timeout=T)
    qtbot.wait(50)  # the dock's layout
    assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width()
    assert not scroll.horizontalScrollBar().isVisible()


def test_the_explanations_follow_the_replayed_epoch(window, qtbot):
    """Before: scrubbing a finished run moved the cursor, the response and the weights to
    that epoch while the curvature, the equations, the update vectors and the inspector
    stayed at the run's last epoch."""
    from bpgui_engine.analysis.curvature import curvature_at
    from bpgui_engine.analysis.inspect import inspect_sample
    from bpgui_engine.analysis.steps import update_vectors

    window.actions.explain.trigger()
    window.actions.vectors.setChecked(True)
    window.actions.inspect.trigger()
    _run_to_end(window, qtbot, "momentum", 40)
    h, tool = window.controller.history, window.tools["explain"]
    assert int(h.column("epoch")[-1]) == 40 and h.kept is None
    row = 12
    window.tools["replay"].scrub(row)
    x = np.array(h.x[row])
    assert np.array_equal(window.runs.current_point(), x)
    c = curvature_at(window.setup.objective(), x)
    text = tool.curvature_panel.text.text()
    assert "at epoch 12" in text and f"{c.eigenvalues[0]:.4g}" in text
    np.testing.assert_array_equal(tool.curvature.hessian, c.hessian)
    # momentum's state at epoch 12 is its last step, x12 − x11, read from the history
    opt = window.setup.make_optimizer()
    opt.dx = x - np.array(h.x[row - 1])
    uv = update_vectors(window.setup.objective(), opt, x)
    eq = tool.equations_panel.text.text()
    assert "Δx<sub>12</sub> = γ Δx<sub>11</sub> − (1−γ) α g<sub>12</sub>" in eq
    assert f"Δx<sub>12</sub> = [{uv.step[0]:.4g}, {uv.step[1]:.4g}]" in eq
    x0, y0, *_ = tool.vectors_overlay.arrows.arrows["step"]
    assert (x0, y0) == (x[0], x[1])  # the arrows start at the replay's cursor
    assert tool.vectors_overlay.shown["step"][:2] == (uv.step[0], uv.step[1])
    pane = window.tools["inspector"].inspector_pane
    ins = inspect_sample(window.setup.objective(), x, pane.sample.value() - 1)
    assert "epoch 12" in pane.where.text() and f"p = {ins.p[0]:.6g}" in pane.where.text()
    # back to the end (Ctrl+Shift+→ past it): the last epoch's numbers again
    window.tools["replay"].scrub(len(h) - 1)
    assert "at epoch 40" in tool.curvature_panel.text.text()
    assert "Δx<sub>40</sub>" in tool.equations_panel.text.text()
    window.actions.vectors.setChecked(False)


@pytest.mark.parametrize(
    ("name", "rule"),
    [("rprop", "sign(g<sub>i</sub>) Δ<sub>i</sub>"), ("quickprop", "s⁻<sub>i</sub>"),
     ("nesterov", "b ← μ b + g"), ("rmsprop", "v ← α v + (1−α) g²"),
     ("adagrad", "G ← G + g²"), ("adamw", "w ← (1 − lr λ) w"),
     ("scg", "σ<sub>k</sub>p"), ("bfgs", "eigenvalues of H⁻¹"), ("lbfgs", "last m = 10 pairs"),
     ("oss", "H = I updated once"), ("br", "effective parameters")],
)  # fmt: skip
def test_the_added_methods_show_their_rule_and_step(window, qtbot, name, rule):
    """Issue 23: chosen in the optimizer form, trained from (-4, -4), each method's rule
    with the step it takes next (the engine's, on a copy in the run's state)."""
    from bpgui_engine.analysis.steps import update_vectors
    from bpgui_engine.session.schema import run_state_from_dict

    window.actions.explain.trigger()
    crit = window.setup.criteria.__class__(epochs=12)
    window.apply_setup(window.setup.replace(optimizer=name, hyper={}, criteria=crit))
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_at(-4.0, -4.0)
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    window.refresh()
    s = window.setup
    opt = s.make_optimizer()
    opt.load_state_dict(run_state_from_dict(window.controller.last_state).optimizer_state)
    uv = update_vectors(s.objective(), opt, window.controller.history.x[-1])
    panel = window.tools["explain"].equations_panel
    text = panel.text.text()
    assert rule in text, text
    assert f"Δx<sub>12</sub> = [{uv.step[0]:.4g}, {uv.step[1]:.4g}]" in text
    assert panel.watch.text()  # what to watch for this method
    g = -uv.neg_gradient
    if name in ("nesterov", "rmsprop", "adagrad", "adamw"):  # g is ∇F/Q: labelled so
        assert f"g<sub>12</sub> = ∇F/41 = [{g[0] / 41:.4g}, {g[1] / 41:.4g}]" in text
        assert "g<sub>12</sub> = ∇F = " not in text


def test_bfgs_shows_its_approximate_hessian_beside_the_exact_one(window, qtbot):
    """Issue 23 #4: the curvature panel lists the eigenvalues of the Hessian BFGS has learned
    (H⁻¹ from the run's state) beside the exact Hessian's."""
    from bpgui_engine.session.schema import run_state_from_dict

    window.actions.explain.trigger()
    crit = window.setup.criteria.__class__(epochs=10)
    window.apply_setup(window.setup.replace(optimizer="bfgs", hyper={}, criteria=crit))
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_at(-4.0, -4.0)
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    window.refresh()
    st = run_state_from_dict(window.controller.last_state).optimizer_state
    lam = np.linalg.eigvalsh(np.linalg.inv(np.array(st["H"])))
    text = window.tools["explain"].curvature_panel.text.text()
    assert "BFGS's approximate Hessian" in text
    assert f"{lam[0]:.4g}" in text and f"{lam[-1]:.4g}" in text
    assert "eigenvalues of the Hessian over the 2 free parameter(s)" in text


def test_the_view_menus_toggles_show_a_check_mark(window):
    """Before: Update vectors and Presentation mode showed their toolbar icon in the menu,
    where a check mark says whether they are on."""
    for action in (window.actions.vectors, window.actions.presentation):
        assert action.isCheckable() and not action.isIconVisibleInMenu()
        assert not action.icon().isNull()  # the toolbar keeps its icon
