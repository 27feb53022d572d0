"""Issue 13 in the window: critical points, curvature and the stability bound, update
vectors, the equations panel, the backprop inspector, per-layer learning rates, editable
weights.  Every number shown is compared with the engine's headless result."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_window import T, epochs

from engine.critical import find_critical_points


# ---- critical points ------------------------------------------------------------------------
def _find(window, qtbot):
    window.actions.critical.trigger()
    pane = window.critical_pane
    qtbot.waitUntil(lambda: not pane.busy and window.critical_current() is not None, timeout=T)
    return window.critical_current()


def _table(pane) -> list[list[str]]:
    t = pane.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_critical_points_on_the_book_slice(window, qtbot):
    window.apply_setup(window.setup.replace(ranges=((-5.0, 15.0), (-5.0, 45.0))))
    res = _find(window, qtbot)
    headless = find_critical_points(window.setup, x=window.explain_point())
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
    xs, ys = window.critical_marks.xy()
    assert sorted(zip(xs, ys, strict=True)) == sorted((p.x[0], p.x[1]) for p in res.points)
    symbols = {s["data"].split("\n")[0].split(" ")[0]: s["symbol"]
               for s in window.critical_marks.item.data}  # fmt: skip
    assert symbols["minimum"] != symbols["saddle"] != symbols["degenerate"]
    rows = _table(window.critical_pane)
    assert len(rows) == len(res.points)
    assert rows[0][:4] == ["minimum", "10", "1", "0"]
    assert "in 2 dimensions" in window.critical_pane.status.text()
    # hover text: performance and eigenvalues
    tip = window.critical_marks.item.data[0]["data"]
    assert "performance" in tip and "eigenvalues 0.003822, 1.156" in tip
    # the local minimum is outside the default range: not found there
    window.apply_setup(window.setup.replace(ranges=((-5.0, 15.0), (-5.0, 15.0))))
    assert window.critical_current() is None and len(window.critical_marks.xy()[0]) == 0
    res = _find(window, qtbot)
    assert not any(p.kind == "minimum" and p.x[1] > 30 for p in res.points)


def test_critical_points_saddle_experiment(window, qtbot):
    window.load_experiment("saddle", run=False)
    res = _find(window, qtbot)
    headless = find_critical_points(window.setup, x=window.explain_point())
    assert [p.kind for p in res.points] == [p.kind for p in headless]
    saddles = [p for p in res.points if p.kind == "saddle"]
    assert len(saddles) == 1
    np.testing.assert_allclose(saddles[0].x, [0.0, 0.0], atol=1e-9)
    assert saddles[0].eigenvalues[0] < 0 < saddles[0].eigenvalues[1]
    xs, ys = window.critical_marks.xy()
    assert any(abs(x) < 1e-9 and abs(y) < 1e-9 for x, y in zip(xs, ys, strict=True))


def test_critical_points_in_all_dimensions_and_nothing_found(window, qtbot):
    s = window.setup
    window.apply_setup(s.replace(free=("W1[1,1]", "W2[1,1]", "b2")))
    res = _find(window, qtbot)
    assert res.dims == 3 and "in 3 dimensions" in window.critical_pane.status.text()
    headless = find_critical_points(window.setup, free="all", x=window.explain_point())
    assert [p.kind for p in res.points] == [p.kind for p in headless]
    # a range with no stationary point in it says so
    window.apply_setup(window.setup.replace(free=s.free, ranges=((20.0, 30.0), (20.0, 30.0))))
    res = _find(window, qtbot)
    assert res.points == []
    assert "no stationary point found" in window.critical_pane.status.text()


def test_critical_points_hidden_after_a_problem_change(window, qtbot):
    res = _find(window, qtbot)
    assert res.points and len(window.critical_marks.xy()[0]) == len(res.points)
    s = window.setup
    window.apply_setup(s.replace(performance="mse"))  # another problem
    assert window.critical_current() is None
    assert len(window.critical_marks.xy()[0]) == 0 and window.critical_pane.table.rowCount() == 0
    window.apply_setup(s.replace(axes=("W2[1,1]", "W1[1,1]"),
                                 ranges=(s.ranges[1], s.ranges[0])))  # fmt: skip
    assert len(window.critical_marks.xy()[0]) == 0  # other axes: not drawn either


# ---- per-layer learning rates ------------------------------------------------------------------
def _type(widget, text: str) -> None:
    """Select the field's text and type ``text`` key by key."""
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    for ch in text:
        QTest.keyClick(widget, ch)


def test_per_layer_rates_typed_key_by_key_reach_the_run(window, qtbot):
    from engine.optim import OPTIMIZERS

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
    window.start_at(-4.0, -4.0)
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
