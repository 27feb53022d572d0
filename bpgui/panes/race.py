"""The optimizer race pane: its entries (optimizer, hyperparameters as ``key=value``
text, colour, label), epochs and goal, the race's controls, and the results table (click
a row to highlight that entry's path).

A view: it holds the entries being edited and shows the results it is given; the race
itself is the window's (:attr:`bpgui.service.controller.TrainingController.race`).

A long module (just over 400 lines): the entries' editor and the results table validate
and colour the same rows."""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bpgui.widgets.fields import NumberEdit, attach_error
from bpgui.widgets.theme import colour
from bpgui_engine.maps.race import COLOURS, EntryResult, RaceEntry
from bpgui_engine.maps.race_presets import race_preset
from bpgui_engine.model.problem import parse_hyper
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.trainer import STOP_LABELS, STOP_REASONS

ENTRY_COLUMNS = ("", "optimizer", "hyperparameters", "label")
RESULT_COLUMNS = ("entry", "epochs to goal", "final SSE", "minimum", "wall s", "epochs", "stop")
NO_ENTRIES = "add at least one entry (Add, or Preset for the book's five methods)"


def hyper_text(optimizer: str, hyper: dict) -> str:
    """The hyperparameters that differ from the optimizer's defaults, as ``k=v, …``."""
    defaults = OPTIMIZERS[optimizer].Hyper().to_dict()
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v}"
        for k, v in hyper.items()
        if defaults.get(k) != v
    )


def parse_entry(optimizer: str, text: str, colour: str, label: str) -> RaceEntry:
    """An entry from the table's texts; ``ValueError`` saying what is wrong."""
    items = [t for t in text.replace(";", ",").split(",") if t.strip()]
    hyper = parse_hyper(optimizer, items)
    try:
        return RaceEntry(optimizer, hyper, colour, label.strip())
    except ValueError as exc:
        raise ValueError(str(exc).removeprefix("race: ")) from None


def swatch(colour: str, size: int = 12) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(colour))
    return QIcon(pm)


def _fmt(v: float | None, spec: str = ".4g") -> str:
    if v is None:
        return "—"
    return format(v, spec) if math.isfinite(v) else str(v)


class RacePane(QWidget):
    """Signals ask the window to act; the window calls :meth:`show_race` and
    :meth:`set_state` back."""

    start_requested = Signal()
    pause_requested = Signal()  # pause or resume
    step_requested = Signal()
    stop_requested = Signal()
    row_selected = Signal(int)  # -1: none
    problems_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(ENTRY_COLUMNS))
        self.table.setHorizontalHeaderLabels(ENTRY_COLUMNS)
        self.table.setToolTip(
            "the competitors: hyperparameters as key=value, separated by commas (empty: "
            "the optimizer's defaults); double-click a cell to edit it"
        )
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(0, 28)
        self.table.setColumnWidth(1, 100)
        self.table.setColumnWidth(2, 150)
        hh.setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(self._item_changed)
        self.error = attach_error(self.table, "race entries")
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("a new entry (steepest descent, default settings)")
        self.add_button.clicked.connect(lambda: self.add_entry(RaceEntry("sd")))
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("remove the selected entries")
        self.remove_button.clicked.connect(self.remove_selected)
        # a combo and a button, not a menu button: a popup menu's modal loop would stop
        # the window's scripted users (the soak) until it closes
        self.preset_choice = QComboBox()
        for name, text, tip in (
            ("seed", "the seed's five", "steepest descent, momentum, variable learning rate, "
             "conjugate gradient, Levenberg-Marquardt (the experiments' settings)"),
            ("matlab", "the MATLAB family", "traingd, traingdm, traingdx, traincgf, traincgp, "
             "traincgb, trainscg, trainbfg, trainoss, trainrp, trainlm, trainbr"),
            ("modern", "modern", "Nesterov, RMSprop, Adagrad, Adam, AdamW, iRprop+"),
        ):  # fmt: skip
            self.preset_choice.addItem(text, name)
            self.preset_choice.setItemData(self.preset_choice.count() - 1, tip,
                                           Qt.ItemDataRole.ToolTipRole)  # fmt: skip
        self.preset_choice.setToolTip("which preset the Preset button puts in the table")
        self.preset_button = QPushButton("Preset")
        self.preset_button.setToolTip("replace the entries with the chosen preset's")
        self.preset_button.clicked.connect(
            lambda: self.set_entries(race_preset(self.preset_choice.currentData()))
        )
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000_000)
        self.epochs.setGroupSeparatorShown(True)
        self.epochs.setValue(500_000)
        self.epochs.setSingleStep(1000)
        self.epochs.setToolTip("each entry stops after this many epochs at the latest")
        self.goal = NumberEdit(
            1e-6, "an entry stops once its performance is at or below this", lo=0.0,
            label="goal",
        )  # fmt: skip
        self.goal.setFixedWidth(70)
        self.goal.textEdited.connect(lambda _t: self.validate())
        self.goal.editingFinished.connect(self.validate)
        self.start_button = QPushButton("Start race")
        self.start_button.setToolTip("race the entries from the start point (the teal dot)")
        self.start_button.clicked.connect(self.start_requested)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause_requested)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("every entry one epoch on")
        self.step_button.clicked.connect(self.step_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_requested)
        self.clock = QLabel("")
        self.clock.setToolTip("the epoch every entry still running is at")

        self.results = QTableWidget(0, len(RESULT_COLUMNS))
        self.results.setHorizontalHeaderLabels(RESULT_COLUMNS)
        self.results.verticalHeader().setVisible(False)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.horizontalHeader().setStretchLastSection(True)
        self.results.setToolTip("click a row to highlight that entry's path and curve")
        self.results.itemSelectionChanged.connect(self._result_selected)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)

        top = QHBoxLayout()
        for w in (self.add_button, self.remove_button, self.preset_choice, self.preset_button):
            top.addWidget(w)
        top.addSpacing(8)
        top.addWidget(QLabel("epochs"))
        top.addWidget(self.epochs)
        top.addWidget(QLabel("goal"))
        top.addWidget(self.goal)
        top.addSpacing(8)
        for w in (self.start_button, self.pause_button, self.step_button, self.stop_button):
            top.addWidget(w)
        top.addWidget(self.clock, 1)
        left = QVBoxLayout()
        left.setSpacing(2)
        left.addWidget(self.table, 1)
        left.addWidget(self.error)
        left.addWidget(self.goal.error_label)
        right = QVBoxLayout()
        right.setSpacing(2)
        right.addWidget(self.results, 1)
        right.addWidget(self.summary)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addLayout(right, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addLayout(body, 1)
        for t in (self.table, self.results):
            t.setMinimumHeight(60)
            t.verticalHeader().setDefaultSectionSize(20)
        self._auto_labels: list[str] = []  # each row's label as generated (not typed)
        self._filling = False
        self._problems: list[str] = []
        self.set_state("idle")
        self.validate()

    # ---- the entries -------------------------------------------------------------------------
    def set_entries(self, entries: list[RaceEntry]) -> None:
        self._filling = True
        self.table.setRowCount(0)
        self._auto_labels = []
        self._filling = False
        for e in entries:
            self.add_entry(e, validate=False)
        self.validate()

    def add_entry(self, e: RaceEntry, validate: bool = True) -> None:
        self._filling = True
        row = self.table.rowCount()
        self.table.insertRow(row)
        used = {self._colour(r) for r in range(row)}
        colour = e.colour or next((c for c in COLOURS if c not in used), COLOURS[row % 7])
        button = QPushButton()
        button.setToolTip("the entry's colour: click to choose another")
        button.setProperty("colour", colour)
        button.setStyleSheet(f"background: {colour}; border: 1px solid #222;")
        button.clicked.connect(lambda _=False, b=button: self._pick_colour(b))
        self.table.setCellWidget(row, 0, button)
        combo = QComboBox()
        combo.addItems(list(OPTIMIZERS))
        combo.setCurrentText(e.optimizer)
        combo.currentTextChanged.connect(lambda _t, c=combo: self._optimizer_changed(c))
        self.table.setCellWidget(row, 1, combo)
        self.table.setItem(row, 2, QTableWidgetItem(hyper_text(e.optimizer, e.hyper)))
        self.table.setItem(row, 3, QTableWidgetItem(e.label))
        self._auto_labels.append(RaceEntry(e.optimizer, e.hyper).label)
        self._filling = False
        if validate:
            self.validate()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.rowCount():
            rows = [self.table.rowCount() - 1]
        for r in rows:
            self.table.removeRow(r)
            del self._auto_labels[r]
        self.validate()

    def _colour(self, row: int) -> str:
        w = self.table.cellWidget(row, 0)
        return w.property("colour") if w is not None else ""

    def _pick_colour(self, button: QPushButton) -> None:
        c = QColorDialog.getColor(QColor(button.property("colour")), self, "Entry colour")
        if c.isValid():
            button.setProperty("colour", c.name())
            button.setStyleSheet(f"background: {c.name()}; border: 1px solid #222;")

    def _row_of(self, widget: QWidget, column: int) -> int:
        for r in range(self.table.rowCount()):
            if self.table.cellWidget(r, column) is widget:
                return r
        return -1

    def _optimizer_changed(self, combo: QComboBox) -> None:
        row = self._row_of(combo, 1)
        if row >= 0:
            self._filling = True
            self.table.item(row, 2).setText("")  # the new optimizer's defaults
            self._filling = False
            self._relabel(row)
        self.validate()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        if item.column() == 2:
            self._relabel(item.row())
        self.validate()

    def _relabel(self, row: int) -> None:
        """A label that was generated follows the entry's settings; a typed one stays."""
        label = self.table.item(row, 3)
        try:
            e = self._entry(row, "")
        except ValueError:
            return
        if label.text().strip() in ("", self._auto_labels[row]):
            self._filling = True
            label.setText(e.label)
            self._filling = False
        self._auto_labels[row] = e.label

    def _entry(self, row: int, label: str | None = None) -> RaceEntry:
        combo = self.table.cellWidget(row, 1)
        text = self.table.item(row, 2).text()
        if label is None:
            label = self.table.item(row, 3).text()
        return parse_entry(combo.currentText(), text, self._colour(row), label)

    def entries(self) -> list[RaceEntry] | None:
        """The validated entries (None while one is invalid)."""
        out = []
        for r in range(self.table.rowCount()):
            try:
                out.append(self._entry(r))
            except ValueError:
                return None
        return out

    def validate(self) -> list[str]:
        """Mark the first invalid entry (its message under the table); the problems that
        keep Start disabled."""
        problems = []
        bad_row = None
        for r in range(self.table.rowCount()):
            try:
                self._entry(r)
            except ValueError as exc:
                if bad_row is None:
                    bad_row = r
                    name = self.table.cellWidget(r, 1).currentText()
                    problems.append(f"row {r + 1} ({name}): {exc}")
        self._filling = True
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 2)
            bad = colour("invalid_bg") if r == bad_row else QColor(0, 0, 0, 0)
            item.setBackground(bad)
        self._filling = False
        self.error.show_error(problems[0] if problems else None)
        if not self.table.rowCount():
            problems.append(NO_ENTRIES)
        bad_goal = self.goal.check()
        if bad_goal is not None:
            problems.append(f"goal: {bad_goal}")
        if problems != self._problems:
            self._problems = problems
            self.problems_changed.emit(problems)
        self._sync_buttons()
        return problems

    def problems(self) -> list[str]:
        return list(self._problems)

    def goal_value(self) -> float:
        return float(self.goal.value())

    # ---- state and results --------------------------------------------------------------------
    def set_state(self, state: str, racing: bool = False) -> None:
        """``state``: the controller's ("idle", "running", "paused"); ``racing``: the
        engine's job is the race."""
        self._state = state if racing else "idle"
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        st = getattr(self, "_state", "idle")
        self.start_button.setEnabled(st == "idle" and not self._problems)
        self.start_button.setToolTip(
            f"Start is disabled: {self._problems[0]}"
            if self._problems
            else "race the entries from the start point (the teal dot)"
        )
        self.pause_button.setEnabled(st != "idle")
        self.pause_button.setText("Resume" if st == "paused" else "Pause")
        self.step_button.setEnabled(st != "idle")
        self.stop_button.setEnabled(st != "idle")
        for w in (self.add_button, self.remove_button, self.preset_choice, self.preset_button,
                  self.table):  # fmt: skip
            w.setEnabled(st == "idle")

    def show_race(
        self,
        results: list[EntryResult] | None,
        performance: str = "SSE",
        clock: int | None = None,
        note: str = "",
        highlight: int | None = None,
    ) -> None:
        """The results table (None: no race to show; ``note`` says why)."""
        # no selection signal while the rows change: removing a selected row would emit
        # row_selected(-1), whose handler redraws the race and re-enters this method while
        # Qt is still freeing the rows (a segfault in libQt6Widgets)
        with QSignalBlocker(self.results):
            self._fill_results(results, performance, clock, note, highlight)

    def _fill_results(self, results, performance, clock, note, highlight) -> None:
        self.results.horizontalHeaderItem(2).setText(f"final {performance}")
        self.clock.setText("" if clock is None or clock < 0 else f"  epoch {clock:,}")
        if results is None:
            self.results.setRowCount(0)
            self.summary.setText(note)
            return
        self.results.setRowCount(len(results))
        for i, r in enumerate(results):
            cells = (
                r.label,
                "—" if r.epochs_to_goal is None else f"{r.epochs_to_goal:,}",
                _fmt(r.performance),
                r.minimum
                + ("" if r.minimum_performance is None else f" ({_fmt(r.minimum_performance)})"),
                "—" if r.stop is None or not r.wall_seconds else f"{r.wall_seconds:.3f}",
                f"{r.epochs:,}",
                STOP_LABELS.get(r.stop, r.stop) if r.stop else "running",
            )
            for j, text in enumerate(cells):
                item = self.results.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    self.results.setItem(i, j, item)
                if item.text() != text:
                    item.setText(text)
                    if j == len(cells) - 1:
                        item.setToolTip(STOP_REASONS.get(r.stop, "") if r.stop else "")
                if j == 0:
                    item.setIcon(swatch(r.colour or COLOURS[i % len(COLOURS)]))
        if highlight is None:
            self.results.clearSelection()
        elif self.results.currentRow() != highlight:
            self.results.selectRow(highlight)
        self.summary.setText(note)
        self.results.resizeColumnToContents(0)

    def _result_selected(self) -> None:
        rows = {i.row() for i in self.results.selectedIndexes()}
        self.row_selected.emit(rows.pop() if len(rows) == 1 else -1)
