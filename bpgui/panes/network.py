"""Network builder: architecture, initialization, the live diagram, free parameters and
contour axes, and the data."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from engine.data import METHODS
from engine.initialize import INITS
from engine.network import NetworkSpec
from engine.presets import PRESETS
from engine.setup import DataRecipe, Setup
from engine.transfer import TRANSFERS

from ..diagram import NetworkDiagram
from ..widgets import NumberEdit, mark

MAX_CSV_BYTES = 50_000_000


class NetworkPane(QWidget):
    setup_edited = Signal(object, object)  # a new, valid Setup and its Objective
    preset_requested = Signal(str)
    validity_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setup: Setup | None = None
        self._quiet = False
        lay = QVBoxLayout(self)
        lay.addWidget(self._problem_box())
        lay.addWidget(self._network_box())
        self.diagram = NetworkDiagram()
        self.diagram.setToolTip("")
        lay.addWidget(self.diagram)
        lay.addWidget(self._params_box())
        lay.addWidget(self._data_box())
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff6b6b;")
        lay.addWidget(self.error)
        lay.addStretch(1)

    # ---- sections --------------------------------------------------------------------
    def _problem_box(self) -> QGroupBox:
        box = QGroupBox("Problem")
        h = QHBoxLayout(box)
        self.preset = QComboBox()
        for name, p in PRESETS.items():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, p.description, Qt.ToolTipRole)
        load = QPushButton("Load preset")
        load.setToolTip("replace network, data and parameters with the preset's")
        load.clicked.connect(lambda: self.preset_requested.emit(self.preset.currentData()))
        h.addWidget(self.preset, 1)
        h.addWidget(load)
        return box

    def _network_box(self) -> QGroupBox:
        box = QGroupBox("Network")
        v = QVBoxLayout(box)
        f = QFormLayout()
        self.inputs = QSpinBox()
        self.inputs.setRange(1, 1000)
        self.inputs.setToolTip("R: the number of inputs (must match the data)")
        f.addRow("inputs", self.inputs)
        v.addLayout(f)
        self.layers = QTableWidget(0, 2)
        self.layers.setHorizontalHeaderLabels(["neurons", "transfer"])
        self.layers.verticalHeader().setVisible(True)
        self.layers.horizontalHeader().setStretchLastSection(True)
        self.layers.verticalHeader().setDefaultSectionSize(28)
        self.layers.setMinimumHeight(28 * 4)
        self.layers.setMaximumHeight(28 * 6)
        self.layers.setToolTip("one row per layer; the last row is the output layer")
        v.addWidget(self.layers)
        row = QHBoxLayout()
        add = QPushButton("Add layer")
        add.setToolTip("insert a hidden layer before the output layer")
        add.clicked.connect(self._add_layer)
        rem = QPushButton("Remove layer")
        rem.setToolTip("remove the selected layer (or the last hidden one)")
        rem.clicked.connect(self._remove_layer)
        row.addWidget(add)
        row.addWidget(rem)
        v.addLayout(row)
        f2 = QFormLayout()
        self.init = QComboBox()
        self.init.addItems(INITS)
        self.init.setToolTip("how the new network's weights are drawn")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("seed of the random initialization (and of SGD's shuffling)")
        f2.addRow("initialization", self.init)
        f2.addRow("seed", self.seed)
        v.addLayout(f2)
        build = QPushButton("Build network")
        build.setToolTip("make the network above with freshly initialized weights, all free")
        build.clicked.connect(self._build_network)
        v.addWidget(build)
        return box

    def _params_box(self) -> QGroupBox:
        box = QGroupBox("Free parameters and contour axes")
        v = QVBoxLayout(box)
        self.free_list = QListWidget()
        self.free_list.setMaximumHeight(140)
        self.free_list.setToolTip("checked parameters are trained; the others stay fixed")
        self.free_list.itemChanged.connect(self._free_edited)
        v.addWidget(self.free_list)
        row = QHBoxLayout()
        for text, state in (("All", True), ("None but axes", False)):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, s=state: self._set_all_free(s))
            row.addWidget(b)
        v.addLayout(row)
        f = QFormLayout()
        self.axis_x = QComboBox()
        self.axis_y = QComboBox()
        self.axis_x.setToolTip("horizontal axis of the contour (a free parameter)")
        self.axis_y.setToolTip("vertical axis of the contour (a free parameter)")
        self.axis_x.currentIndexChanged.connect(self._axes_edited)
        self.axis_y.currentIndexChanged.connect(self._axes_edited)
        f.addRow("contour x", self.axis_x)
        f.addRow("contour y", self.axis_y)
        v.addLayout(f)
        return box

    def _data_box(self) -> QGroupBox:
        box = QGroupBox("Data")
        f = QFormLayout(box)
        self.kind = QComboBox()
        self.kind.addItem("preset targets", "preset")
        self.kind.addItem("function of p", "expression")
        self.kind.addItem("CSV file", "csv")
        self.kind.setToolTip("where the training data comes from")
        f.addRow("source", self.kind)
        self.expr = QLineEdit()
        self.expr.setToolTip(
            "targets t = g(p), e.g. 1 + sin(pi/4*p); + - * / **, sin, cos, exp, log, pi ..."
        )
        f.addRow("t =", self.expr)
        self.lo = NumberEdit(-2.0, "first input value")
        self.hi = NumberEdit(2.0, "last input value")
        rng = QHBoxLayout()
        rng.addWidget(self.lo)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.hi)
        f.addRow("p from", rng)
        self.points = NumberEdit(41, "number of equally spaced points", integer=True, lo=2, hi=1e6)
        f.addRow("points", self.points)
        self.noise = NumberEdit(0.0, "standard deviation of Gaussian noise on t", lo=0)
        self.noise_seed = NumberEdit(0, "seed of the noise", integer=True, lo=0, hi=2**31 - 1)
        nz = QHBoxLayout()
        nz.addWidget(self.noise)
        nz.addWidget(QLabel("seed"))
        nz.addWidget(self.noise_seed)
        f.addRow("noise", nz)
        csv_row = QHBoxLayout()
        self.csv_button = QPushButton("Open CSV…")
        self.csv_button.setToolTip("load a CSV file (a first row of names is a header)")
        self.csv_button.clicked.connect(self._open_csv)
        self.csv_label = QLabel("no file")
        csv_row.addWidget(self.csv_button)
        csv_row.addWidget(self.csv_label, 1)
        f.addRow("CSV", csv_row)
        self.csv_inputs = QLineEdit("0")
        self.csv_inputs.setToolTip(
            "input columns: 0-based numbers or header names, comma separated"
        )
        self.csv_targets = QLineEdit("1")
        self.csv_targets.setToolTip("target columns: 0-based numbers or header names")
        f.addRow("input columns", self.csv_inputs)
        f.addRow("target columns", self.csv_targets)
        self.normalize = QComboBox()
        self.normalize.addItems(METHODS)
        self.normalize.setToolTip("minmax: inputs to [-1, 1]; standard: zero mean, unit variance")
        f.addRow("normalize inputs", self.normalize)
        self.validation = NumberEdit(0.0, "fraction held out for validation", lo=0, hi=0.9)
        self.split_seed = NumberEdit(0, "seed of the split", integer=True, lo=0, hi=2**31 - 1)
        sp = QHBoxLayout()
        sp.addWidget(self.validation)
        sp.addWidget(QLabel("seed"))
        sp.addWidget(self.split_seed)
        f.addRow("validation", sp)
        self._csv_text, self._csv_name = "", ""
        for w in (self.lo, self.hi, self.points, self.noise, self.noise_seed):
            w.editingFinished.connect(self._data_edited)
        for w in (self.validation, self.split_seed):
            w.editingFinished.connect(self._data_edited)
        self.expr.editingFinished.connect(self._data_edited)
        self.csv_inputs.editingFinished.connect(self._data_edited)
        self.csv_targets.editingFinished.connect(self._data_edited)
        self.kind.currentIndexChanged.connect(self._data_edited)
        self.normalize.currentIndexChanged.connect(self._data_edited)
        return box

    # ---- showing a setup -------------------------------------------------------------
    def set_setup(self, setup: Setup) -> None:
        self.setup = setup
        self._quiet = True
        try:
            spec = setup.spec
            self.inputs.setValue(spec.n_inputs)
            self.layers.setRowCount(0)
            for s, t in zip(spec.sizes, spec.transfers, strict=True):
                self._append_layer_row(s, t)
            self.init.setCurrentText(setup.init)
            self.seed.setValue(setup.seed)
            self.free_list.clear()
            for lab in spec.labels:
                item = QListWidgetItem(lab)
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked if lab in setup.free else Qt.Unchecked)
                self.free_list.addItem(item)
            self._fill_axes(setup)
            d = setup.data
            self.kind.setCurrentIndex(["preset", "expression", "csv"].index(d.kind))
            self.expr.setText(d.expression)
            self.lo.set_value(d.lo)
            self.hi.set_value(d.hi)
            self.points.set_value(d.points)
            self.noise.set_value(d.noise)
            self.noise_seed.set_value(d.noise_seed)
            self._csv_text, self._csv_name = d.csv_text, d.csv_name
            self.csv_label.setText(d.csv_name or "no file")
            self.csv_inputs.setText(",".join(d.inputs))
            self.csv_targets.setText(",".join(d.targets))
            self.normalize.setCurrentText(d.normalize)
            self.validation.set_value(d.validation)
            self.split_seed.set_value(d.split_seed)
            self._enable_data_fields(d.kind)
        finally:
            self._quiet = False
        self.diagram.set_network(setup.spec, setup.theta_array, setup.free_idx)
        self._show_error(None)

    def _fill_axes(self, setup: Setup) -> None:
        for combo, lab in ((self.axis_x, setup.axes[0]), (self.axis_y, setup.axes[1])):
            combo.blockSignals(True)
            combo.clear()
            choices = setup.free if len(setup.free) >= 2 else setup.spec.labels
            combo.addItems(list(choices))
            combo.setCurrentText(lab)
            combo.blockSignals(False)

    def _enable_data_fields(self, kind: str) -> None:
        for w in (self.expr, self.lo, self.hi, self.points, self.noise, self.noise_seed):
            w.setEnabled(kind == "expression")
        for w in (self.csv_button, self.csv_inputs, self.csv_targets):
            w.setEnabled(kind == "csv")

    # ---- edits -----------------------------------------------------------------------
    def _emit(self, make) -> None:
        """Build a new setup with ``make()``; show its error in place or emit it."""
        if self._quiet or self.setup is None:
            return
        try:
            new = make()
            obj = new.objective()  # data and network must fit together
        except ValueError as exc:
            self._show_error(str(exc))
            return
        self._show_error(None)
        self.setup_edited.emit(new, obj)

    def _show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.validity_changed.emit(message is None)

    def _append_layer_row(self, size: int, transfer: str) -> None:
        r = self.layers.rowCount()
        self.layers.insertRow(r)
        self._set_layer_row(r, size, transfer)

    def _set_layer_row(self, r: int, size: int, transfer: str) -> None:
        sp = QSpinBox()
        sp.setRange(1, 100_000)
        sp.setValue(size)
        sp.setToolTip(f"neurons in layer {r + 1}")
        cb = QComboBox()
        cb.addItems(list(TRANSFERS))
        cb.setCurrentText(transfer)
        cb.setToolTip("transfer function (softmax only for the output layer)")
        self.layers.setCellWidget(r, 0, sp)
        self.layers.setCellWidget(r, 1, cb)

    def layer_rows(self) -> list[tuple[int, str]]:
        return [
            (self.layers.cellWidget(r, 0).value(), self.layers.cellWidget(r, 1).currentText())
            for r in range(self.layers.rowCount())
        ]

    def _add_layer(self) -> None:
        rows = self.layer_rows()
        rows.insert(max(0, len(rows) - 1), (3, "tansig"))
        self.layers.setRowCount(0)
        for s, t in rows:
            self._append_layer_row(s, t)

    def _remove_layer(self) -> None:
        rows = self.layer_rows()
        if len(rows) <= 1:
            self._show_error("the network needs at least one layer")
            return
        r = self.layers.currentRow()
        r = r if 0 <= r < len(rows) else len(rows) - 2
        del rows[r]
        self.layers.setRowCount(0)
        for s, t in rows:
            self._append_layer_row(s, t)

    def _build_network(self) -> None:
        def make():
            rows = self.layer_rows()
            spec = NetworkSpec(
                self.inputs.value(), tuple(s for s, _ in rows), tuple(t for _, t in rows)
            )
            return self.setup.with_network(spec, self.init.currentText(), self.seed.value())

        self._emit(make)

    def free_labels(self) -> tuple[str, ...]:
        return tuple(
            self.free_list.item(i).text()
            for i in range(self.free_list.count())
            if self.free_list.item(i).checkState() == Qt.Checked
        )

    def _free_edited(self, *_):
        if self._quiet:
            return
        free = self.free_labels()

        def make():
            axes = self.setup.axes
            if len(free) >= 2 and not set(axes) <= set(free):
                keep = [a for a in axes if a in free]
                rest = [f for f in free if f not in keep]
                axes = tuple((keep + rest)[:2])
            return self.setup.replace(free=free, axes=axes)

        self._emit(make)

    def _set_all_free(self, on: bool) -> None:
        self._quiet = True
        for i in range(self.free_list.count()):
            item = self.free_list.item(i)
            keep = on or item.text() in self.setup.axes
            item.setCheckState(Qt.Checked if keep else Qt.Unchecked)
        self._quiet = False
        self._free_edited()

    def _axes_edited(self, *_):
        x, y = self.axis_x.currentText(), self.axis_y.currentText()
        if not x or not y:
            return
        if x == y:
            mark(self.axis_y, "choose two different parameters")
            self.validity_changed.emit(False)
            return
        mark(self.axis_y, None, "vertical axis of the contour (a free parameter)")

        def make():
            s = self.setup
            ranges = s.ranges if (x, y) == s.axes else _default_ranges(s, (x, y))
            return s.replace(axes=(x, y), ranges=ranges)

        self._emit(make)

    def _recipe(self) -> DataRecipe:
        errors = [
            w.check()
            for w in (self.lo, self.hi, self.points, self.noise, self.noise_seed, self.validation)
        ]
        errors.append(self.split_seed.check())
        bad = next((e for e in errors if e), None)
        if bad:
            raise ValueError(f"data: {bad}")
        return DataRecipe(
            kind=self.kind.currentData(),
            preset=self.setup.data.preset,
            expression=self.expr.text(),
            lo=float(self.lo.value()),
            hi=float(self.hi.value()),
            points=int(self.points.value()),
            noise=float(self.noise.value()),
            noise_seed=int(self.noise_seed.value()),
            csv_text=self._csv_text,
            csv_name=self._csv_name,
            inputs=tuple(c.strip() for c in self.csv_inputs.text().split(",") if c.strip()),
            targets=tuple(c.strip() for c in self.csv_targets.text().split(",") if c.strip()),
            normalize=self.normalize.currentText(),
            validation=float(self.validation.value()),
            split_seed=int(self.split_seed.value()),
        )

    def _data_edited(self, *_):
        if self._quiet:
            return
        self._enable_data_fields(self.kind.currentData())

        def make():
            recipe = self._recipe()
            try:
                recipe.build()
                mark(self.expr, None, self.expr.toolTip())
            except ValueError as exc:
                if recipe.kind == "expression":
                    mark(self.expr, str(exc))
                raise
            return self.setup.replace(data=recipe)

        self._emit(make)

    def _open_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open CSV data", "", "CSV (*.csv *.txt);;All (*)"
        )
        if path:
            self.load_csv(path)

    def load_csv(self, path: str) -> None:
        p = Path(path)
        try:
            if p.stat().st_size > MAX_CSV_BYTES:
                raise ValueError(f"csv: {p.name} is larger than {MAX_CSV_BYTES // 1_000_000} MB")
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self._show_error(f"csv: cannot read {p.name}: {exc}")
            return
        self._csv_text, self._csv_name = text, p.name
        self.csv_label.setText(p.name)
        self.kind.setCurrentIndex(2)
        self._data_edited()


def _default_ranges(setup: Setup, axes: tuple[str, str]):
    """Ranges centred on the current values, 10 wide each side (at least)."""
    out = []
    for lab in axes:
        v = setup.theta[setup.spec.index(lab)]
        half = max(10.0, 2 * abs(v))
        out.append((v - half, v + half))
    return tuple(out)
