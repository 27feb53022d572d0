"""The setup forms driven as a person drives them: clicks and key-by-key typing into the
real window (issue 9: #1 decimals, #2 network with CSV data, #8 errors under fields,
#18/#7 the parameter table and a typed start point, #6 the problem name)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QLineEdit,
    QPushButton,
)

from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.setup import Setup
from bpgui_engine.train.trainer import StopCriteria

T = 60_000


# ---- driving helpers -----------------------------------------------------------------
def show_tab(window, pane) -> None:
    """Click the Setup dock's tab that holds ``pane``."""
    tabs = window.left_tabs
    for i in range(tabs.count()):
        if tabs.widget(i).isAncestorOf(pane):
            bar = tabs.tabBar()
            click(bar, bar.tabRect(i).center())
            assert tabs.currentIndex() == i
            return
    raise AssertionError("pane not in the setup tabs")


def click(widget, pos: QPoint | None = None) -> None:
    """A left click at ``pos`` (default: the middle of ``widget``)."""
    QTest.mouseClick(
        widget,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        pos if pos is not None else widget.rect().center(),
    )


def type_into(qtbot, widget, text: str, enter: bool = True) -> None:
    """Click the field, select what is there, type ``text`` key by key, press Enter."""
    widget.window().activateWindow()
    click(widget, QPoint(5, widget.height() // 2))
    qtbot.waitUntil(widget.hasFocus, timeout=2000)
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    if text:
        qtbot.keyClicks(widget, text)
    else:
        qtbot.keyClick(widget, Qt.Key.Key_Delete)
    if enter:
        qtbot.keyClick(widget, Qt.Key.Key_Return)


def choose(qtbot, combo, text: str) -> None:
    """Pick ``text`` in a combo box with the keyboard (type its first letters)."""
    combo.window().activateWindow()
    combo.setFocus(Qt.FocusReason.MouseFocusReason)
    if combo.currentText() != text:
        qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == text:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == text


def error_shown(field) -> str:
    """The message in the label under ``field`` ('' while hidden)."""
    lab = field.error_label
    return lab.text() if lab.isVisible() else ""


# ---- #1: what a person types is what the field keeps ---------------------------------
def test_decimals_are_typed_key_by_key_and_the_goal_stops_the_run(window, qtbot):
    window.load_experiment("trajectory-a", run=False)
    pane = window.optimizer_pane
    show_tab(window, pane)
    type_into(qtbot, pane.goal, "0.01", enter=False)
    assert pane.goal.text() == "0.01"  # the "." was not swallowed while typing
    qtbot.keyClick(pane.goal, Qt.Key.Key_Return)
    assert pane.goal.text() == "0.01" and window.setup.criteria.goal == 0.01
    type_into(qtbot, pane.max_time, "1.5")
    assert pane.max_time.text() == "1.5" and window.setup.criteria.max_time == 1.5
    type_into(qtbot, pane.max_time, "")  # blank: no time limit
    assert window.setup.criteria.max_time == np.inf
    type_into(qtbot, pane.fields["lr"], ".5", enter=False)
    assert pane.fields["lr"].text() == ".5" and window.setup.hyper["lr"] == 0.5
    qtbot.keyClick(pane.fields["lr"], Qt.Key.Key_Return)
    assert pane.fields["lr"].text() == "0.5"  # reformatted when editing ended
    type_into(qtbot, pane.fields["lr"], "1")
    for text, value in (("1e-3", 1e-3), ("1.", 1.0), ("-0", 0.0)):
        type_into(qtbot, pane.min_grad, text, enter=False)
        assert pane.min_grad.text() == text and window.setup.criteria.min_grad == value
        assert pane.min_grad.property("invalid") is False
    qtbot.keyClick(pane.min_grad, Qt.Key.Key_Return)
    type_into(qtbot, pane.min_grad, "0")
    with qtbot.waitSignal(window.controller.run_finished, timeout=T) as sig:
        window.actions.start.trigger()
    assert sig.args == ["goal"]
    h = window.controller.history
    assert h.x[0] == pytest.approx([-4.0, -4.0]) and h.last()["sse"] <= 0.01


def test_a_partial_number_is_marked_at_once_and_kept(window, qtbot):
    pane = window.optimizer_pane
    show_tab(window, pane)
    type_into(qtbot, pane.goal, "1e-", enter=False)
    assert pane.goal.text() == "1e-" and pane.goal.property("invalid") is True
    assert not window.actions.start.isEnabled()  # at once; its message after a pause
    qtbot.waitUntil(lambda: bool(error_shown(pane.goal)), timeout=3000)
    qtbot.keyClicks(pane.goal, "3")
    assert pane.goal.text() == "1e-3" and not error_shown(pane.goal)
    assert window.setup.criteria.goal == 1e-3 and window.actions.start.isEnabled()
    # the window pushing an equal value back leaves the text alone
    window.apply_setup(window.setup.replace(optimizer="momentum"))
    assert pane.goal.text() == "1e-3"


# ---- #2: a network on 2-input CSV data --------------------------------------------------
def write_csv(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (30, 2))
    y = np.tanh(X[:, 0] - 2 * X[:, 1])
    path = tmp_path / "two.csv"
    rows = "\n".join(f"{a:.6f},{b:.6f},{c:.6f}" for (a, b), c in zip(X, y, strict=True))
    path.write_text("x1,x2,y\n" + rows + "\n")
    return path


def open_csv(qtbot, pane, path, monkeypatch) -> None:
    """Click Open CSV… and pick ``path`` in the (patched) file dialog."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    click(pane.data.csv_button)


def test_a_2_3_1_network_on_two_input_csv_data(window, qtbot, tmp_path, monkeypatch):
    pane = window.network_pane
    show_tab(window, pane)
    choose(qtbot, pane.data.kind, "CSV file")
    assert "no file" in error_shown(pane.data.csv_button)
    open_csv(qtbot, pane, write_csv(tmp_path), monkeypatch)
    assert not error_shown(pane.data.csv_button)
    type_into(qtbot, pane.data.csv_inputs, "x1, x2")
    type_into(qtbot, pane.data.csv_targets, "y")
    assert pane.problems() == [] and window.actions.start.isEnabled()
    assert window.objective.data.P.shape == (2, 30)
    assert pane.network.inputs.value() == 2 and window.setup.spec.n_inputs == 2
    # the hidden layer: 3 tansig neurons; output purelin
    hidden = pane.network.layers.cellWidget(0, 0)
    type_into(qtbot, hidden.lineEdit(), "3")
    choose(qtbot, pane.network.layers.cellWidget(0, 1), "tansig")
    choose(qtbot, pane.network.layers.cellWidget(1, 1), "purelin")
    click(pane.network.build_button)
    assert window.setup.spec == NetworkSpec(2, (3, 1), ("tansig", "purelin"))
    assert pane.problems() == [] and window.actions.start.isEnabled()
    assert "custom (from book-1-2-1)" in pane.problem_label.text()  # issue 9 #6
    assert "2-3-1" in pane.problem_label.text()
    assert pane.params.model.rowCount() == window.setup.spec.n_params == 2 * 3 + 3 + 3 + 1
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.actions.start.trigger()
    # one input column again: the network follows (every combination is reachable)
    type_into(qtbot, pane.data.csv_inputs, "x2")
    assert window.setup.spec == NetworkSpec(1, (3, 1), ("tansig", "purelin"))
    assert pane.network.inputs.value() == 1 and pane.problems() == []
    # back to the preset data: 1 input, and the Problem box says the preset again
    choose(qtbot, pane.data.kind, "preset targets")
    assert window.setup.spec.n_inputs == 1
    assert "custom" in pane.problem_label.text()  # still the 1-3-1 network
    click(pane.preset_load)
    assert pane.problem_label.text().startswith("book-1-2-1")


# ---- #8: errors under their fields -------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", ""),
        ("9**9**9", "not finite"),
        ("p/0", "not finite"),
        ("", "empty"),
    ],
)
def test_expression_errors_show_under_the_field(window, qtbot, text, message):
    pane = window.network_pane
    show_tab(window, pane)
    choose(qtbot, pane.data.kind, "function of p")
    assert window.setup.data.kind == "expression"
    before = window.setup
    type_into(qtbot, pane.data.expr, text)
    shown = error_shown(pane.data.expr)
    assert shown and message in shown
    assert any(p.startswith("t =: ") for p in pane.problems())
    assert not window.actions.start.isEnabled() and window.setup == before
    assert "t =" in window.last_message
    type_into(qtbot, pane.data.expr, "1 + sin(pi/4*p)")
    assert not error_shown(pane.data.expr) and pane.problems() == []
    assert window.actions.start.isEnabled()


def test_data_range_and_csv_column_errors_show_under_their_fields(
    window, qtbot, tmp_path, monkeypatch
):
    pane = window.network_pane
    show_tab(window, pane)
    choose(qtbot, pane.data.kind, "function of p")
    type_into(qtbot, pane.data.lo, "-2.5")
    assert pane.data.lo.text() == "-2.5" and window.setup.data.lo == -2.5
    type_into(qtbot, pane.data.lo, "3")  # above "to" (2)
    assert "lo < hi" in error_shown(pane.data.hi)
    assert any(p.startswith("p to: ") for p in pane.problems())
    type_into(qtbot, pane.data.lo, "-2.5")
    assert not error_shown(pane.data.hi) and pane.problems() == []
    type_into(qtbot, pane.data.points, "1")
    assert "must be >= 2" in error_shown(pane.data.points)
    assert "points: must be >= 2" in pane.problems()
    type_into(qtbot, pane.data.points, "21")
    assert not error_shown(pane.data.points) and window.setup.data.points == 21
    choose(qtbot, pane.data.kind, "CSV file")
    open_csv(qtbot, pane, write_csv(tmp_path), monkeypatch)
    type_into(qtbot, pane.data.csv_inputs, "x1,x9")
    assert "x9" in error_shown(pane.data.csv_inputs)
    assert any(p.startswith("input columns: ") for p in pane.problems())
    type_into(qtbot, pane.data.csv_inputs, "x1")
    type_into(qtbot, pane.data.csv_targets, "")
    assert error_shown(pane.data.csv_targets) and not error_shown(pane.data.csv_inputs)
    assert not window.actions.start.isEnabled()
    type_into(qtbot, pane.data.csv_targets, "y")
    assert pane.problems() == [] and window.actions.start.isEnabled()


def test_optimizer_errors_show_under_their_fields(window, qtbot):
    pane = window.optimizer_pane
    show_tab(window, pane)
    lr = pane.fields["lr"]
    type_into(qtbot, lr, "x", enter=False)
    qtbot.waitUntil(lambda: "not a number" in error_shown(lr), timeout=3000)
    assert any(p.startswith("lr: ") for p in pane.problems())
    type_into(qtbot, lr, "-3", enter=False)
    qtbot.waitUntil(lambda: "allowed range" in error_shown(lr), timeout=3000)
    assert not window.actions.start.isEnabled()
    assert "lr" in window.last_message
    type_into(qtbot, lr, "0.5")
    assert not error_shown(lr) and pane.problems() == []
    type_into(qtbot, pane.goal, "-1", enter=False)
    qtbot.waitUntil(lambda: error_shown(pane.goal) == "must be >= 0", timeout=3000)
    assert pane.problems() == ["goal: must be >= 0"]
    type_into(qtbot, pane.goal, "0")
    assert not error_shown(pane.goal) and window.actions.start.isEnabled()


# ---- #18 / #7: the parameter table ----------------------------------------------------------
def cell_rect(table, row: int, col: int):
    view = table.view
    index = table.model.index(row, col)
    view.scrollTo(index)
    return view.visualRect(index)


def test_parameter_table_types_an_exact_start_and_shows_current_values(window, qtbot):
    pane = window.network_pane
    show_tab(window, pane)
    table = pane.params
    labels = [table.model.data(table.model.index(r, 0)) for r in range(table.model.rowCount())]
    assert labels == list(window.setup.spec.labels)
    assert labels[:3] == ["W1[1,1]", "W1[2,1]", "b1[1]"]
    # before a run the start column says where Start begins (the dot on the contour)
    free_idx = window.setup.free_idx
    assert table.model.start[free_idx] == pytest.approx(window.start_x)
    # a fixed parameter's value is editable too: it changes the problem (issue 13 #8)
    flags = table.model.flags(table.model.index(1, 2))
    assert flags & Qt.ItemFlag.ItemIsEditable
    # type the start point (0, 0) into the free parameters W1[1,1] and W2[1,1]
    for label in ("W1[1,1]", "W2[1,1]"):
        type_cell(qtbot, table, labels.index(label), "0")
    assert window.start_x == pytest.approx([0.0, 0.0])
    assert table.model.data(table.model.index(0, 2)) == "0"
    # a bad value is refused with a message next to the table
    type_cell(qtbot, table, labels.index("W1[1,1]"), "1e9")
    assert "1e+06" in error_shown_label(table.error)
    type_cell(qtbot, table, labels.index("W1[1,1]"), "zero")
    assert "not a number" in error_shown_label(table.error)
    type_cell(qtbot, table, labels.index("W1[1,1]"), "-0")
    assert not error_shown_label(table.error)
    assert window.start_x == pytest.approx([0.0, 0.0])
    window.actions.start.trigger()
    qtbot.waitUntil(lambda: window.controller.history is not None, timeout=T)
    qtbot.waitUntil(lambda: len(window.controller.history) > 20, timeout=T)
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.actions.stop.trigger()
    h = window.controller.history
    assert h.x[0] == pytest.approx([0.0, 0.0])
    # the current column follows the run
    qtbot.waitUntil(lambda: table.model.current is not None, timeout=T)
    cur = table.model.current
    assert cur[window.setup.free_idx] == pytest.approx(h.x[-1])
    text = table.model.data(table.model.index(labels.index("W2[1,1]"), 3))
    assert text == f"{h.x[-1][1]:.6g}"


def type_cell(qtbot, table, row: int, text: str) -> None:
    """Click a start cell, type ``text`` (any key starts editing), press Enter."""
    view = table.view
    click(view.viewport(), cell_rect(table, row, 2).center())
    qtbot.keyClicks(view, text[0])
    editor = QApplication.focusWidget()  # the keys go where the focus is
    assert isinstance(editor, QLineEdit)
    qtbot.keyClicks(editor, text[1:])
    assert editor.text() == text
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.state() == QAbstractItemView.State.NoState, timeout=2000)


def error_shown_label(lab) -> str:
    return lab.text() if lab.isVisible() else ""


def test_parameter_table_free_checkboxes(window, qtbot):
    pane = window.network_pane
    show_tab(window, pane)
    table = pane.params
    view = table.view
    row = window.setup.spec.labels.index("b1[1]")
    click(view.viewport(), cell_rect(table, row, 1).center())  # on the check box
    assert window.setup.free == ("W1[1,1]", "b1[1]", "W2[1,1]")
    assert table.model.flags(table.model.index(row, 2)) & Qt.ItemFlag.ItemIsEditable
    assert pane.params.free_labels() == window.setup.free
    click(view.viewport(), cell_rect(table, row, 1).center())
    assert window.setup.free == ("W1[1,1]", "W2[1,1]")
    # "All free", then unchecking an axis keeps the axes valid
    click(next(b for b in pane.findChildren(QPushButton) if b.text() == "All free"))
    assert window.setup.free == window.setup.spec.labels
    click(view.viewport(), cell_rect(table, 0, 1).center())  # W1[1,1], the x axis
    assert "W1[1,1]" not in window.setup.free and "W1[1,1]" not in window.setup.axes
    assert pane.problems() == []


def test_problem_box_names_a_custom_problem(window, qtbot):
    pane = window.network_pane
    assert pane.problem_label.text().startswith("book-1-2-1: ")
    window.apply_setup(Setup.from_preset("sine-1-2-1"))
    assert pane.problem_label.text().startswith("sine-1-2-1: ")
    assert pane.preset.currentText() == "sine-1-2-1"


def test_a_new_csv_starts_with_all_but_the_last_column_as_inputs(
    window, qtbot, tmp_path, monkeypatch
):
    pane = window.network_pane
    show_tab(window, pane)
    choose(qtbot, pane.data.kind, "CSV file")
    open_csv(qtbot, pane, write_csv(tmp_path), monkeypatch)
    assert pane.data.csv_inputs.text() == "x1,x2"
    assert pane.data.csv_targets.text() == "y"
    assert "target y" in pane.data.csv_info.text()
    qtbot.waitUntil(lambda: window.setup.data.inputs == ("x1", "x2"), timeout=T)
    assert window.setup.spec.n_inputs == 2
    # a column cannot be an input and the target at once
    type_into(qtbot, pane.data.csv_targets, "x2")
    assert "both an input and a target" in error_shown(pane.data.csv_targets) + error_shown(
        pane.data.csv_inputs
    )


def test_the_performance_index_is_chosen_in_the_window(window, qtbot):
    """Before: SSE, MSE and cross-entropy were available only on the command line."""
    from test_window import click_contour

    pane = window.network_pane
    show_tab(window, pane)
    combo = pane.performance
    assert combo.currentData() == "sse" and window.setup.performance == "sse"
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    QTest.keyClick(combo, Qt.Key.Key_Down)  # SSE -> MSE -> CE (the book's output is logsig)
    assert window.setup.performance == "ce" and not pane.problems()
    assert window.plots.contour.value_name == "CE"
    qtbot.waitUntil(lambda: window.plots.surface is not None, timeout=T)
    assert window.plots.surface.request.performance == "ce"
    window.apply_setup(window.setup.replace(criteria=StopCriteria(epochs=300)))
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        click_contour(window, 2.0, 2.0)
    h = window.controller.history
    assert len(h) == 301
    assert not np.allclose(h.column("performance"), h.column("sse"))  # CE is what trained
    assert h.column("performance")[-1] < h.column("performance")[0]
    # a linear output cannot take cross-entropy: refused under the field, nothing changes
    window.load_preset("sine-1-2-1")
    assert combo.currentData() == "sse"  # the preset's
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert window.setup.performance == "mse"  # fine on any output
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert window.setup.performance == "mse"  # CE refused: the last good choice stays
    assert pane.problems() == [
        "performance index: performance: cross-entropy needs a logsig or softmax output "
        "layer, not purelin"
    ]
    QTest.keyClick(combo, Qt.Key.Key_Up)
    assert window.setup.performance == "mse" and not pane.problems()


def test_an_error_message_waits_for_a_pause_in_the_typing(window, qtbot):
    """Issue 18 #13: the label under an invalid field appeared and went with each key,
    pushing every later field up and down while typing "1e-3"."""
    pane = window.optimizer_pane
    show_tab(window, pane)
    field, below = pane.goal, pane.min_grad
    y0 = below.y()
    moves = []
    field.textEdited.connect(lambda _t: moves.append(below.mapTo(pane, below.rect().topLeft()).y()))
    type_into(qtbot, field, "1e-3", enter=False)  # "1e" and "1e-" are not numbers
    assert field.property("invalid") is False or field.property("invalid") is None
    # "1e" and "1e-" are errors: the field below did not move while they were typed
    assert len(moves) == 4 and len(set(moves[1:])) == 1, moves
    del y0
    type_into(qtbot, field, "-1", enter=False)
    assert field.property("invalid") and not window.actions.start.isEnabled()
    assert not error_shown(field)  # not yet: the user may still be typing
    qtbot.waitUntil(lambda: error_shown(field) == "must be >= 0", timeout=3000)
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(field, "0")
    assert not error_shown(field) and not field.property("invalid")


def test_switching_methods_keeps_each_methods_settings(window, qtbot):
    """Issue 23 review: L-BFGS's memory typed, sd picked, L-BFGS picked again: still 3
    (Rprop's variant likewise); an experiment's setup starts the memory afresh."""
    pane = window.optimizer_pane
    show_tab(window, pane)
    choose(qtbot, pane.combo, "L-BFGS (limited memory)  [lbfgs]")
    type_into(qtbot, pane.fields["memory"], "3")
    assert window.setup.hyper == {"memory": 3}
    choose(qtbot, pane.combo, "Resilient backpropagation (Rprop)  [rprop]")
    choose(qtbot, pane.fields["variant"], "irprop+")
    choose(qtbot, pane.combo, "Steepest descent (batch)  [sd]")
    choose(qtbot, pane.combo, "L-BFGS (limited memory)  [lbfgs]")
    assert pane.fields["memory"].value() == 3 and window.setup.hyper == {"memory": 3}
    choose(qtbot, pane.combo, "Resilient backpropagation (Rprop)  [rprop]")
    assert window.setup.hyper["variant"] == "irprop+"
    window.load_experiment("momentum", run=False)
    window.apply_setup(window.setup.replace(optimizer="lbfgs", hyper={}))
    assert window.setup.hyper == {"memory": 10}


def test_every_field_out_of_range_is_marked_not_only_the_first(window, qtbot):
    """Before: with lr = -1 and gamma = 2 only lr was marked; gamma looked fine until lr
    was mended."""
    pane = window.optimizer_pane
    show_tab(window, pane)
    choose(qtbot, pane.combo, "Momentum (MOBP)  [momentum]")
    lr, gamma = pane.fields["lr"], pane.fields["gamma"]
    type_into(qtbot, lr, "-1")
    type_into(qtbot, gamma, "2")
    assert lr.property("invalid") and gamma.property("invalid")
    qtbot.waitUntil(lambda: error_shown(gamma).startswith("2.0 is outside"), timeout=3000)
    assert error_shown(lr).startswith("-1.0 is outside")
    type_into(qtbot, lr, "0.5")
    assert not lr.property("invalid") and gamma.property("invalid")
    type_into(qtbot, gamma, "0.5")
    assert not gamma.property("invalid") and window.setup.hyper["gamma"] == 0.5
