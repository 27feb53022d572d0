"""The data form: preset targets, a function of p, a CSV file or a data set in the plane
(:mod:`bpgui.panes.plane_form`); normalization and a validation split.  Each field shows
its own error directly under it."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from bpgui.panes.plane_form import PlaneFields, toy_tooltips
from bpgui.widgets.fields import NumberEdit, attach_error, mark, problem_of, with_error
from bpgui_engine.model.data import MAX_CSV_BYTES, METHODS, Dataset, default_columns, parse_csv
from bpgui_engine.model.setup import DataRecipe
from bpgui_engine.safe_write import open_regular

KINDS = ("preset", "expression", "csv", "toy")
#: files larger than this are read and parsed on a worker thread ("reading…" meanwhile)
ASYNC_CSV_BYTES = 1_000_000


def read_csv_file(path: str) -> tuple[str, str, str]:
    """Read and parse a CSV file (any thread): ``(text, header note, error)``.  Only a
    regular file is opened (a FIFO would block forever); the parsed table stays cached,
    so building the dataset afterwards on the GUI thread does not parse again."""
    p = Path(path)
    try:
        with open_regular(p, MAX_CSV_BYTES) as fh:
            text = fh.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return "", "", f"cannot read {p.name}: {exc}"
    return text, header_note(text), ""


def header_note(text: str) -> str:
    """What the form says about the file's first row."""
    try:
        table = parse_csv(text)
    except ValueError:
        return ""  # the error is shown when the data is built
    if table.header is None:
        return f"no header: the first row is data; {table.rows:,} rows x {table.width:,} columns"
    names = ", ".join(table.header[:6]) + (", …" if table.width > 6 else "")
    return f"header detected ({names}); {table.rows:,} data rows"


class _CsvSignals(QObject):
    done = Signal(int, str, str, str, str)  # generation, name, text, note, error


class _CsvJob(QRunnable):
    def __init__(self, signals: _CsvSignals, generation: int, path: str) -> None:
        super().__init__()
        self.signals, self.generation, self.path = signals, generation, path

    def run(self) -> None:
        text, note, error = read_csv_file(self.path)
        self.signals.done.emit(self.generation, Path(self.path).name, text, note, error)


class DataForm(QGroupBox):
    """Edits a :class:`DataRecipe`; ``edited`` asks the pane to apply :meth:`build`."""

    edited = Signal()
    problems_changed = Signal()  # an error found outside build(): a file that cannot be read
    csv_loaded = Signal()  # a CSV file was read (or could not be): the form shows it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Data", parent)
        f = QFormLayout(self)
        self.kind = QComboBox()
        self.kind.addItem("preset targets", "preset")
        self.kind.addItem("function of p", "expression")
        self.kind.addItem("CSV file", "csv")
        self.kind.addItem("data set in the plane", "toy")
        self.kind.setToolTip("where the training data comes from")
        attach_error(self.kind, "source")
        f.addRow("source", with_error(self.kind, self.kind))
        self._rows: list[tuple[str, QWidget]] = []  # (kind, field): shown for that kind
        self.expr = QLineEdit()
        self.expr.setToolTip(
            "targets t = g(p), e.g. 1 + sin(pi/4*p); + - * / **, sin, cos, exp, log, pi ..."
        )
        attach_error(self.expr, "t =")
        self._row("expression", f, "t =", with_error(self.expr, self.expr))
        self.lo = NumberEdit(-2.0, "first input value", label="p from")
        self.hi = NumberEdit(2.0, "last input value", label="p to")
        rng = QHBoxLayout()
        rng.addWidget(self.lo)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.hi)
        self._row("expression", f, "p from", with_error(rng, self.lo, self.hi))
        self.points = NumberEdit(
            41, "number of equally spaced points", integer=True, lo=2, hi=1e6, label="points"
        )
        self._row("expression", f, "points", with_error(self.points, self.points))
        self.noise = NumberEdit(
            0.0, "standard deviation of Gaussian noise on t", lo=0, label="noise"
        )
        self.noise_seed = NumberEdit(
            0, "seed of the noise", integer=True, lo=0, hi=2**31 - 1, label="noise seed"
        )
        nz = QHBoxLayout()
        nz.addWidget(self.noise)
        nz.addWidget(QLabel("seed"))
        nz.addWidget(self.noise_seed)
        self._row("expression", f, "noise", with_error(nz, self.noise, self.noise_seed))
        csv_row = QHBoxLayout()
        self.csv_button = QPushButton("Open CSV…")
        self.csv_button.setToolTip("load a CSV file (a first row of names is a header)")
        self.csv_button.clicked.connect(self._open_csv)
        attach_error(self.csv_button, "CSV file")
        self.csv_label = QLabel("no file")
        csv_row.addWidget(self.csv_button)
        csv_row.addWidget(self.csv_label, 1)
        self._row("csv", f, "CSV", with_error(csv_row, self.csv_button))
        self.csv_info = QLabel("")
        self.csv_info.setWordWrap(True)
        self.csv_info.setToolTip(
            "a first row is a header only when a field is not a number "
            "(nan, inf and 0x1f are numbers)"
        )
        self._row("csv", f, "", self.csv_info)
        self.csv_inputs = QLineEdit("0")
        self.csv_inputs.setToolTip(
            "input columns: 0-based numbers or header names, comma separated; "
            "their count is the network's number of inputs"
        )
        self.csv_targets = QLineEdit("1")
        self.csv_targets.setToolTip(
            "target columns: 0-based numbers or header names; "
            "their count is the number of output neurons"
        )
        attach_error(self.csv_inputs, "input columns")
        attach_error(self.csv_targets, "target columns")
        self._row("csv", f, "input columns", with_error(self.csv_inputs, self.csv_inputs))
        self._row("csv", f, "target columns", with_error(self.csv_targets, self.csv_targets))
        self.plane = PlaneFields()
        toy_tooltips(self.plane.toy)
        self.plane.changed.connect(self._changed)
        self.plane.typed.connect(self.problems_changed)
        f.addRow(self.plane)
        self.normalize = QComboBox()
        self.normalize.addItems(METHODS)
        self.normalize.setToolTip("minmax: inputs to [-1, 1]; standard: zero mean, unit variance")
        f.addRow("normalize inputs", self.normalize)
        self.validation = NumberEdit(
            0.0, "fraction held out for validation", lo=0, hi=0.9, label="validation"
        )
        self.split_seed = NumberEdit(
            0, "seed of the split", integer=True, lo=0, hi=2**31 - 1, label="split seed"
        )
        sp = QHBoxLayout()
        sp.addWidget(self.validation)
        sp.addWidget(QLabel("seed"))
        sp.addWidget(self.split_seed)
        f.addRow("validation", with_error(sp, self.validation, self.split_seed))
        self.numbers = (
            self.lo, self.hi, self.points, self.noise, self.noise_seed, self.validation,
            self.split_seed,
        )  # fmt: skip
        self.fields = (
            *self.numbers, self.kind, self.expr, self.csv_button, self.csv_inputs,
            self.csv_targets, *self.plane.numbers, self.plane.toy, self.plane.feature_box,
            self.plane.coding,
        )  # fmt: skip
        self.preset = "book-1-2-1"
        self._csv_text, self._csv_name = "", ""
        for w in (*self.numbers, self.expr, self.csv_inputs, self.csv_targets):
            w.editingFinished.connect(self._changed)
        for w in self.numbers:  # each keystroke is checked: Start says why it is disabled
            w.textEdited.connect(lambda _t: self.problems_changed.emit())
        self.kind.currentIndexChanged.connect(self._changed)
        self.normalize.currentIndexChanged.connect(self._changed)
        self._quiet = False
        self._kind = "preset"  # the source shown last (a switch to a toy set: test 0.5)
        self.loading = False
        self._csv_generation = 0
        self._csv_signals = _CsvSignals(self)
        self._csv_signals.done.connect(self._csv_read)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    # ---- in --------------------------------------------------------------------------
    def set_recipe(self, d: DataRecipe) -> None:
        """Show ``d`` without emitting ``edited``; keeps what is being typed."""
        self._quiet = True
        try:
            self.preset = d.preset
            self.kind.setCurrentIndex(KINDS.index(d.kind))
            _set_text(self.expr, d.expression)
            self.lo.set_value(d.lo)
            self.hi.set_value(d.hi)
            self.points.set_value(d.points)
            self.noise.set_value(d.noise)
            self.noise_seed.set_value(d.noise_seed)
            if (d.csv_text, d.csv_name) != (self._csv_text, self._csv_name):
                self._csv_text, self._csv_name = d.csv_text, d.csv_name
                self.csv_label.setText(d.csv_name or "no file")
                self.csv_info.setText(header_note(d.csv_text) if d.csv_text else "")
            if _columns(self.csv_inputs.text()) != d.inputs:
                _set_text(self.csv_inputs, ",".join(d.inputs))
            if _columns(self.csv_targets.text()) != d.targets:
                _set_text(self.csv_targets, ",".join(d.targets))
            self.normalize.setCurrentText(d.normalize)
            self.validation.set_value(d.validation)
            self.split_seed.set_value(d.split_seed)
            self.plane.set_recipe(d)
            self._kind = d.kind
            self._enable(d.kind)
        finally:
            self._quiet = False
        for w in self.fields:
            if not isinstance(w, NumberEdit):
                mark(w, None, w.tip)

    # ---- out -------------------------------------------------------------------------
    def build(self) -> tuple[DataRecipe, Dataset]:
        """The recipe in the form and its training set; ``ValueError`` after marking the
        field at fault."""
        for w in self.fields:
            if not isinstance(w, NumberEdit):
                mark(w, None, w.tip)
        kind = self.kind.currentData()
        numbers = self.numbers + (self.plane.numbers if kind in ("toy", "csv") else ())
        bad = [e for e in (w.check(typing=w.hasFocus()) for w in numbers) if e]
        if bad:
            raise ValueError(bad[0])
        plane = self.plane.fields(kind) if kind in ("toy", "csv") else {}
        fields = {
            "kind": kind,
            "preset": self.preset,
            "expression": self.expr.text(),
            "lo": float(self.lo.value()),
            "hi": float(self.hi.value()),
            "points": int(self.points.value()),
            "noise": float(self.noise.value()),
            "noise_seed": int(self.noise_seed.value()),
            "csv_text": self._csv_text,
            "csv_name": self._csv_name,
            "inputs": _columns(self.csv_inputs.text()),
            "targets": _columns(self.csv_targets.text()),
            "normalize": self.normalize.currentText(),
            "validation": float(self.validation.value()),
            "split_seed": int(self.split_seed.value()),
        }
        try:
            recipe = DataRecipe(**(fields | plane))  # the plane's noise and seed for toys
            train, _ = recipe.build()
        except ValueError as exc:
            self._blame(str(exc), kind)
            raise
        return recipe, train

    def problems(self) -> list[str]:
        return [p for p in (problem_of(w) for w in self.fields) if p]

    def _blame(self, message: str, kind: str) -> None:
        """Mark the field ``message`` is about."""
        text = message.split(": ", 1)[1] if ": " in message else message
        if message.startswith("validation split"):
            w = self.validation
        elif self.plane.blame(message) is not None:
            w = self.plane.blame(message)
        elif kind == "expression":
            w = self.expr
            if "range needs lo < hi" in message:
                w = self.hi
            elif "points must" in message:
                w = self.points
            elif "noise must" in message:
                w = self.noise
        elif kind == "csv":
            w = self._csv_column_field(message) or self.csv_button
        else:
            w = self.kind
        mark(w, text, w.tip)

    def _csv_column_field(self, message: str) -> QLineEdit | None:
        ins = _columns(self.csv_inputs.text())
        if "choose at least one input column" in message:
            return self.csv_inputs if not ins else self.csv_targets
        if "both an input and a target" in message:
            return self.csv_targets
        m = re.search(r"no column named '([^']*)'|column (-?\d+) out of range", message)
        if m:
            name = m.group(1) if m.group(1) is not None else m.group(2)
            return self.csv_inputs if name in ins else self.csv_targets
        return None

    # ---- CSV -------------------------------------------------------------------------
    def _open_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open CSV data", "", "CSV (*.csv *.txt);;All (*)"
        )
        if path:
            self.load_csv(path)

    def load_csv(self, path: str) -> None:
        """Read a CSV file: a small one at once, a large one on a worker thread while the
        form says "reading…" (the window stays responsive; ``csv_loaded`` when done)."""
        self._csv_generation += 1
        try:
            large = Path(path).stat().st_size > ASYNC_CSV_BYTES
        except OSError:
            large = False
        if not large:
            text, note, error = read_csv_file(path)
            self._csv_read(self._csv_generation, Path(path).name, text, note, error)
            return
        self.loading = True
        self.csv_button.setEnabled(False)
        self.csv_label.setText(f"reading {Path(path).name}…")
        self.csv_info.setText("")
        self._pool.start(_CsvJob(self._csv_signals, self._csv_generation, path))

    def _csv_read(self, generation: int, name: str, text: str, note: str, error: str) -> None:
        if generation != self._csv_generation:
            return  # a newer file was chosen meanwhile
        self.loading = False
        self._enable(self.kind.currentData())
        if error:
            self.csv_label.setText(self._csv_name or "no file")
            mark(self.csv_button, error, self.csv_button.tip)
            self.problems_changed.emit()
            self.csv_loaded.emit()
            return
        new_file = text != self._csv_text
        self._csv_text, self._csv_name = text, name
        self.csv_label.setText(name)
        self.csv_info.setText(note)
        if new_file:  # a new file: all columns but the last are inputs, the last the target
            try:
                ins, outs = default_columns(text)
            except ValueError:
                ins, outs = (), ()
            if ins and outs:
                _set_text(self.csv_inputs, ",".join(ins))
                _set_text(self.csv_targets, ",".join(outs))
                self.csv_info.setText(
                    f"{note}; inputs {', '.join(ins)}, target {', '.join(outs)} (change below)"
                )
        self._quiet = True
        self.kind.setCurrentIndex(KINDS.index("csv"))
        self._quiet = False
        self._changed()
        self.csv_loaded.emit()

    def shutdown(self) -> None:
        """Wait for a file being read (at most a few seconds) before the form goes away."""
        self._csv_generation += 1
        self._pool.waitForDone(5000)

    # ---- helpers ---------------------------------------------------------------------
    def _changed(self, *_) -> None:
        if self._quiet:
            return
        kind = self.kind.currentData()
        if kind == "toy" and self._kind != "toy" and not self.plane.test.value():
            self.plane.test.set_value(0.5)  # a new toy set: half of it tests (Playground's)
        self._kind = kind
        self._enable(kind)
        self.edited.emit()

    def _row(self, kind: str, form: QFormLayout, label: str, field: QWidget) -> None:
        form.addRow(label, field)
        self._rows.append((kind, field))

    def _enable(self, kind: str) -> None:
        for k, field in self._rows:  # only the source's own fields are shown
            self.layout().setRowVisible(field, k == kind)
        for w in (self.expr, self.lo, self.hi, self.points, self.noise, self.noise_seed):
            w.setEnabled(kind == "expression")
        for w in (self.csv_button, self.csv_inputs, self.csv_targets):
            w.setEnabled(kind == "csv")
        self.plane.enable(kind)
        if self.loading:
            self.csv_button.setEnabled(False)


def _columns(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _set_text(edit: QLineEdit, text: str) -> None:
    """Programmatic text that never clobbers what the user is typing."""
    if edit.text() != text and not (edit.hasFocus() and edit.isModified()):
        edit.setText(text)
