"""The Network & data pane: the problem (preset or custom), the network builder, the live
diagram, the parameter table with the contour axes, and the data form.

Network and data are applied together: the data's input and target rows set the
network's inputs and output neurons, so no combination the forms allow is refused for
a mismatch.  Every error is shown under the field it concerns; :meth:`problems` lists
them as sentences for the status bar.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bpgui.panes.builder import NetworkForm
from bpgui.panes.data import DataForm
from bpgui.panes.params import ParamsTable
from bpgui.panes.problem_text import plane_output, problem_text
from bpgui.plots.diagram import NetworkDiagram
from bpgui.widgets.fields import NumberEdit, attach_error, mark, problem_of, with_error
from bpgui.widgets.theme import set_role
from bpgui_engine.model.labels import ParamLabels
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.penalty import MAX_RATE
from bpgui_engine.model.performance import PERFORMANCE
from bpgui_engine.model.presets import PRESETS
from bpgui_engine.model.setup import Setup

PERF_TIP = (
    "what training minimizes: SSE (the book's), MSE (SSE / (outputs x samples)) or "
    "cross-entropy (needs a logsig or softmax output layer and targets in [0, 1])"
)
AXIS_X_TIP = "horizontal axis of the contour (a free parameter)"
L2_TIP = (
    "L2 weight penalty (weight decay): rate x the sum of the squared weights is added to the "
    "performance index (biases are not penalized); can change during a run"
)
L1_TIP = "L1 weight penalty: rate x the sum of |w| added to the performance index"
MAX_AXIS_CHOICES = 1000
AXIS_Y_TIP = "vertical axis of the contour (a free parameter)"


class NetworkPane(QWidget):
    setup_edited = Signal(object, object)  # a new, valid Setup and its Objective
    preset_requested = Signal(str)
    validity_changed = Signal(bool)
    start_edited = Signal(object)  # np.ndarray: the full parameter vector to start from
    weight_edited = Signal(int, float)  # a parameter (index in theta) set to a value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setup: Setup | None = None
        self._start: np.ndarray | None = None  # free vector of the next run, when known
        self._message: str | None = None  # an error no single field owns
        self._quiet = False
        lay = QVBoxLayout(self)
        lay.addWidget(self._problem_box())
        self.error = QLabel()  # a summary of the problems (details under each field)
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        self.error.hide()
        lay.addWidget(self.error)
        self.network = NetworkForm()
        self.network.build_requested.connect(self._build_network)
        lay.addWidget(self.network)
        self.diagram = NetworkDiagram()
        self.diagram.editable = True  # double-click: a value; right-click: free or fixed
        lay.addWidget(self.diagram)
        # the data before the parameter table (long for a large network): easy to find
        self.data = DataForm()
        self.data.edited.connect(self._data_edited)
        self.data.problems_changed.connect(self._report)
        lay.addWidget(self.data)
        # a warning (not an error: Start stays enabled) about the data and the network
        self.data_warning = QLabel()
        self.data_warning.setObjectName("data-warning")
        self.data_warning.setWordWrap(True)
        set_role(self.data_warning, "warning")
        self.data_warning.hide()
        lay.addWidget(self.data_warning)
        lay.addWidget(self._params_box())
        lay.addStretch(1)
        self.diagram.theta_changed.connect(self.params.set_current)
        self.diagram.value_edited.connect(self.weight_edited)
        self.diagram.free_toggled.connect(self.params.toggle_free)
        self.params.value_edited.connect(self.weight_edited)
        # the forms' fields, for code that drives them
        self.kind, self.expr = self.data.kind, self.data.expr

    # ---- sections --------------------------------------------------------------------
    def _problem_box(self) -> QGroupBox:
        box = QGroupBox("Problem")
        v = QVBoxLayout(box)
        h = QHBoxLayout()
        self.preset = QComboBox()
        for name, p in PRESETS.items():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, p.description, Qt.ToolTipRole)
        load = self.preset_load = QPushButton("Load preset")
        load.setToolTip("replace network, data and parameters with the preset's")
        load.clicked.connect(lambda: self.preset_requested.emit(self.preset.currentData()))
        h.addWidget(self.preset, 1)
        h.addWidget(load)
        v.addLayout(h)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        set_role(self.problem_label, "dim")
        v.addWidget(self.problem_label)
        f = QFormLayout()
        self.performance = QComboBox()
        for name, p in PERFORMANCE.items():
            self.performance.addItem(f"{name.upper()}: {p.description}", name)
        self.performance.setToolTip(PERF_TIP)
        # long descriptions must not widen the dock: the closed combo elides them
        self.performance.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.performance.setMinimumContentsLength(10)
        attach_error(self.performance, "performance index")
        self.performance.currentIndexChanged.connect(self._performance_edited)
        f.addRow("performance index", with_error(self.performance, self.performance))
        self.l2 = NumberEdit(0.0, L2_TIP, lo=0, hi=MAX_RATE, label="L2")
        self.l1 = NumberEdit(0.0, L1_TIP, lo=0, hi=MAX_RATE, label="L1")
        row = QHBoxLayout()
        row.addWidget(QLabel("L2"))
        row.addWidget(self.l2, 1)
        row.addWidget(QLabel("L1"))
        row.addWidget(self.l1, 1)
        for w in (self.l2, self.l1):
            w.editingFinished.connect(self._penalty_edited)
            w.textEdited.connect(lambda _t: self._report())
        f.addRow("weight penalty", with_error(row, self.l2, self.l1))
        v.addLayout(f)
        return box

    def _params_box(self) -> QGroupBox:
        box = QGroupBox("Parameters and contour axes")
        v = QVBoxLayout(box)
        self.params = ParamsTable()
        self.params.free_edited.connect(self._free_edited)
        self.params.start_edited.connect(self.start_edited)
        v.addWidget(self.params)
        row = QHBoxLayout()
        for text, state in (("All free", True), ("None but axes", False)):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, s=state: self._set_all_free(s))
            row.addWidget(b)
        v.addLayout(row)
        f = QFormLayout()
        self.axis_x = QComboBox()
        self.axis_y = QComboBox()
        self.axis_x.setToolTip(AXIS_X_TIP)
        self.axis_y.setToolTip(AXIS_Y_TIP)
        attach_error(self.axis_y, "contour y")
        self.axis_x.currentIndexChanged.connect(self._axes_edited)
        self.axis_y.currentIndexChanged.connect(self._axes_edited)
        f.addRow("contour x", self.axis_x)
        f.addRow("contour y", with_error(self.axis_y, self.axis_y))
        v.addLayout(f)
        return box

    # ---- showing a setup -------------------------------------------------------------
    def set_setup(self, setup: Setup) -> None:
        prev, self.setup = self.setup, setup
        problem_changed = prev is None or prev.differs(setup, "spec", "data", "free", "theta")
        self._quiet = True
        try:
            self.network.set_spec(setup.spec, setup.init, setup.seed)
            self.data.set_recipe(setup.data)
            self._fill_axes(setup)
            self.preset.setCurrentIndex(max(0, self.preset.findData(setup.data.preset)))
            self.performance.setCurrentIndex(self.performance.findData(setup.performance))
            self.l2.set_value(setup.l2)
            self.l1.set_value(setup.l1)
        finally:
            self._quiet = False
        self.problem_label.setText(problem_text(setup))
        if problem_changed:
            self._start = None
            self.diagram.set_network(setup.spec, setup.theta_array, setup.free_idx)
            self.params.set_current(None)
        self.params.set_setup(setup, self._start)
        mark(self.axis_y, None, AXIS_Y_TIP)
        mark(self.performance, None, PERF_TIP)
        self._message = None
        self._report()

    def set_data_warning(self, text: str | None) -> None:
        self.data_warning.setText(text or "")
        self.data_warning.setVisible(bool(text))

    def set_start(self, start_free: np.ndarray | None) -> None:
        """The free parameters' values the next (or current) run starts from."""
        self._start = None if start_free is None else np.array(start_free, float)
        self.params.set_start(self._start)

    def set_current(self, theta_full: np.ndarray | None) -> None:
        """The current full parameter vector (None: none yet): diagram and table."""
        if theta_full is None:
            if self.setup is not None:
                self.diagram.set_network(
                    self.setup.spec, self.setup.theta_array, self.setup.free_idx
                )
            self.params.set_current(None)
        else:
            self.diagram.set_theta(theta_full)  # the table follows theta_changed

    def _fill_axes(self, setup: Setup) -> None:
        labels = setup.free if len(setup.free) >= 2 else ParamLabels.all(setup.spec)
        # millions of labels are unusable: the first MAX_AXIS_CHOICES, and the axes
        choices = list(labels[:MAX_AXIS_CHOICES])
        choices += [a for a in setup.axes if a not in choices]
        more = len(labels) - MAX_AXIS_CHOICES
        note = (
            f"\n\nThe list holds the first {MAX_AXIS_CHOICES:,} of {len(labels):,} parameters."
            if more > 0
            else ""
        )
        for combo, lab, tip in (
            (self.axis_x, setup.axes[0], AXIS_X_TIP + note),
            (self.axis_y, setup.axes[1], AXIS_Y_TIP + note),
        ):
            combo.blockSignals(True)
            if [combo.itemText(i) for i in range(combo.count())] != choices:
                combo.clear()
                combo.addItems(choices)
            combo.setCurrentText(lab)
            combo.setToolTip(tip)
            combo.blockSignals(False)

    def _performance_edited(self, _index: int) -> None:
        name = self.performance.currentData()

        def make():
            try:
                new = self.setup.replace(performance=name)
                new.check()
            except ValueError as exc:
                mark(self.performance, str(exc), PERF_TIP)
                raise
            mark(self.performance, None, PERF_TIP)
            return new

        self._emit(make)

    def _penalty_edited(self) -> None:
        if any(w.check() for w in (self.l2, self.l1)):
            self._report()
            return

        def make():
            return self.setup.replace(l2=float(self.l2.value()), l1=float(self.l1.value()))

        if (self.setup.l2, self.setup.l1) != (self.l2.value(), self.l1.value()):
            self._emit(make)  # LM with L1 is refused under the performance index

    # ---- problems --------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Why this pane's forms cannot be applied, one sentence per field."""
        out = [*self.network.problems(), *self.data.problems(), *self.params.problems()]
        out += [p for p in map(problem_of, (self.performance, self.axis_y)) if p]
        out += [p for p in (w.check(typing=w.hasFocus()) for w in (self.l2, self.l1)) if p]
        if self._message and not out:
            out.append(self._message)
        return out

    def _report(self) -> None:
        problems = self.problems()
        self.error.setText("\n".join(problems))
        self.error.setVisible(bool(problems))
        self.validity_changed.emit(not problems)

    # ---- edits -----------------------------------------------------------------------
    def _emit(self, make) -> None:
        """Build a new setup with ``make()`` (which marks the field at fault) and emit it."""
        if self._quiet or self.setup is None:
            return
        try:
            new = make()
            obj = new.objective()
        except ValueError as exc:
            self._message = str(exc)
            self._report()
            return
        self._message = None
        self._report()
        self.setup_edited.emit(new, obj)

    def _build_network(self) -> None:
        def make():
            train, _ = self.setup.data.build()
            try:
                spec = self.network.spec(train.n_inputs, train.n_outputs)
                return self.setup.with_network(
                    spec, self.network.init.currentText(), self.network.seed.value()
                )
            except ValueError as exc:
                self.network.show_error(str(exc))
                raise

        self.network.show_error(None)
        self._emit(make)

    def _data_edited(self) -> None:
        """Apply the data; a different number of inputs or targets rebuilds the network
        with the same layers (new weights), so the two always fit."""

        def make():
            recipe, train = self.data.build()
            old = self.setup
            new = old.replace(data=recipe)
            spec, perf = old.spec, old.performance
            # a new data set in the plane: the output and index a playground expects
            toy = recipe.kind == "toy" and (old.data.kind, old.data.toy) != ("toy", recipe.toy)
            transfers = spec.transfers
            if toy:
                out, perf = plane_output(recipe.prepare().classes, train.n_outputs, old)
                transfers = (*transfers[:-1], out)
            if toy or (train.n_inputs, train.n_outputs) != (spec.n_inputs, spec.n_outputs):
                sizes = (*spec.sizes[:-1], train.n_outputs)
                try:
                    spec = NetworkSpec(train.n_inputs, sizes, transfers)
                except ValueError as exc:
                    self.network.show_error(str(exc))
                    raise
                new = new.with_network(spec).replace(performance=perf)
            return new

        self._emit(make)

    def _free_edited(self, free: tuple[str, ...]) -> None:
        if self._quiet or self.setup is None:
            return

        def make():
            axes = self.setup.axes
            if len(free) >= 2 and not set(axes) <= set(free):
                keep = [a for a in axes if a in free]
                rest = [f for f in free if f not in keep]
                axes = tuple((keep + rest)[:2])
            try:
                return self.setup.replace(free=free, axes=axes)
            except ValueError as exc:
                self.params.error.show_error(str(exc))
                raise

        self._emit(make)

    def _set_all_free(self, on: bool) -> None:
        if self.setup is not None:
            self.params.set_all_free(on, keep=self.setup.axes)

    def _axes_edited(self, *_):
        x, y = self.axis_x.currentText(), self.axis_y.currentText()
        if not x or not y or self._quiet:
            return
        if x == y:
            mark(self.axis_y, "choose two different parameters", AXIS_Y_TIP)
            self._report()
            return
        mark(self.axis_y, None, AXIS_Y_TIP)

        def make():
            s = self.setup
            # an axis keeps its range when it stays an axis (also when x and y swap)
            old = dict(zip(s.axes, s.ranges, strict=True))
            ranges = tuple(old.get(lab) or _default_ranges(s, (lab,))[0] for lab in (x, y))
            return s.replace(axes=(x, y), ranges=ranges)

        self._emit(make)

    # ---- for code and tests that drive the forms -------------------------------------
    def load_csv(self, path: str) -> None:
        self.data.load_csv(path)

    def layer_rows(self) -> list[tuple[int, str]]:
        return self.network.layer_rows()

    def _add_layer(self) -> None:
        self.network._add_layer()


def _default_ranges(setup: Setup, axes: tuple[str, str]):
    """Ranges centred on the current values, 10 wide each side (at least)."""
    out = []
    for lab in axes:
        v = setup.theta[setup.spec.index(lab)]
        half = max(10.0, 2 * abs(v))
        out.append((v - half, v + half))
    return tuple(out)
