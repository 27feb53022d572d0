"""The network builder: layers (neurons and transfer function), initialization and seed.

The number of inputs and of output neurons follow the data (its input and target rows),
so a network and its data always fit together: choosing two CSV input columns makes a
two-input network, and every layer combination the form allows can be built.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from bpgui.widgets.fields import attach_error, mark, problem_of, with_error
from bpgui_engine.model.initialize import INITS
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.transfer import TRANSFERS

ROW_H = 28


class NetworkForm(QGroupBox):
    build_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Network", parent)
        v = QVBoxLayout(self)
        f = QFormLayout()
        self.inputs = QSpinBox()
        self.inputs.setRange(1, 1_000_000)
        self.inputs.setReadOnly(True)
        self.inputs.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        self.inputs.setToolTip("R: the number of inputs, set by the data (its input columns)")
        f.addRow("inputs (from data)", self.inputs)
        v.addLayout(f)
        self.layers = QTableWidget(0, 2)
        self.layers.setHorizontalHeaderLabels(["neurons", "transfer"])
        self.layers.verticalHeader().setVisible(True)
        self.layers.horizontalHeader().setStretchLastSection(True)
        self.layers.verticalHeader().setDefaultSectionSize(ROW_H)
        self.layers.setMinimumHeight(ROW_H * 4)
        self.layers.setMaximumHeight(ROW_H * 6)
        self.layers.setToolTip(
            "one row per layer; the last row is the output layer (its neurons: the data's "
            "target rows)"
        )
        attach_error(self.layers, "layers")
        v.addWidget(with_error(self.layers, self.layers))
        row = QHBoxLayout()
        add = QPushButton("Add layer")
        add.setToolTip("insert a hidden layer before the output layer")
        add.clicked.connect(self._add_layer)
        rem = QPushButton("Remove layer")
        rem.setToolTip("remove the selected hidden layer (or the last hidden one)")
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
        self.build_button = QPushButton("Build network")
        self.build_button.setToolTip(
            "make the network above with freshly initialized weights, all free"
        )
        self.build_button.clicked.connect(self.build_requested)
        v.addWidget(self.build_button)
        self._outputs = 1

    # ---- in --------------------------------------------------------------------------
    def set_spec(self, spec: NetworkSpec, init: str, seed: int) -> None:
        self.inputs.setValue(spec.n_inputs)
        self._outputs = spec.n_outputs
        if self.layer_rows() != list(zip(spec.sizes, spec.transfers, strict=True)):
            self._fill(list(zip(spec.sizes, spec.transfers, strict=True)))
        self.init.setCurrentText(init)
        self.seed.setValue(seed)
        self.show_error(None)

    def show_error(self, message: str | None) -> None:
        mark(self.layers, message, self.layers.tip)

    def problems(self) -> list[str]:
        p = problem_of(self.layers)
        return [p] if p else []

    # ---- out -------------------------------------------------------------------------
    def layer_rows(self) -> list[tuple[int, str]]:
        return [
            (self.layers.cellWidget(r, 0).value(), self.layers.cellWidget(r, 1).currentText())
            for r in range(self.layers.rowCount())
        ]

    def spec(self, n_inputs: int, n_outputs: int) -> NetworkSpec:
        """The form's network for data with ``n_inputs`` rows in P and ``n_outputs`` in T."""
        rows = self.layer_rows()
        sizes = (*(s for s, _ in rows[:-1]), n_outputs)
        return NetworkSpec(n_inputs, sizes, tuple(t for _, t in rows))

    # ---- rows ------------------------------------------------------------------------
    def _fill(self, rows: list[tuple[int, str]]) -> None:
        self.layers.setRowCount(0)
        for r, (s, t) in enumerate(rows):
            self.layers.insertRow(r)
            sp = QSpinBox()
            sp.setRange(1, 100_000)
            sp.setValue(self._outputs if r == len(rows) - 1 else s)
            cb = QComboBox()
            cb.addItems(list(TRANSFERS))
            cb.setCurrentText(t)
            cb.setToolTip("transfer function (softmax only for the output layer)")
            if r == len(rows) - 1:
                sp.setEnabled(False)
                sp.setToolTip("output neurons: one per target row of the data")
            else:
                sp.setToolTip(f"neurons in layer {r + 1}")
            self.layers.setCellWidget(r, 0, sp)
            self.layers.setCellWidget(r, 1, cb)

    def _add_layer(self) -> None:
        rows = self.layer_rows()
        rows.insert(max(0, len(rows) - 1), (3, "tansig"))
        self._fill(rows)
        self.show_error(None)

    def _remove_layer(self) -> None:
        rows = self.layer_rows()
        if len(rows) <= 1:  # a note, not an invalid form: nothing to remove
            self.layers.error_label.show_error("the output layer cannot be removed")
            return
        r = self.layers.currentRow()
        r = r if 0 <= r < len(rows) - 1 else len(rows) - 2
        del rows[r]
        self._fill(rows)
        self.show_error(None)
