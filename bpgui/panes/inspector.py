"""Tools ▸ Inspect backprop (issue 13 #6): one sample's forward and backward pass at the
current point, layer by layer, as numbers and on the network diagram (neurons coloured by
f'(n): dark red = saturated, its sensitivity vanishes), with the gradient check's central
difference beside every weight's backpropagated derivative.  The data is
:func:`bpgui_engine.analysis.inspect.inspect_sample`; this pane only shows it."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bpgui.plots.diagram import NetworkDiagram
from bpgui.widgets.theme import colour
from bpgui_engine.analysis.inspect import Inspection

NEURON_HEADERS = ("layer", "neuron", "n", "a = f(n)", "f'(n)", "s = ∂F/∂n")
PARAM_HEADERS = ("parameter", "value", "sample's s·aᵀ", "batch: backprop", "batch: numeric",
                 "|difference|")  # fmt: skip
#: the largest f'(n) of each transfer function (to say how saturated a neuron is)
FPRIME_MAX = {"logsig": 0.25, "tansig": 1.0, "purelin": 1.0, "poslin": 1.0, "softmax": 0.25}


def num(v: float) -> str:
    return f"{v:.6g}" if np.isfinite(v) else "undefined"


@contextmanager
def _bulk(t: QTableWidget):
    """Refill ``t`` at once: its columns sized to their contents once at the end, not at
    every cell (with ``ResizeToContents`` each ``setItem`` re-measures the column: a
    refill of a 500-parameter network's table took 40 s)."""
    h = t.horizontalHeader()
    h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    t.setUpdatesEnabled(False)
    try:
        yield
    finally:
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.setUpdatesEnabled(True)


def _table(headers) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(20)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    h = t.horizontalHeader()
    h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    h.setStretchLastSection(True)
    return t


class InspectorPane(QWidget):
    sample_changed = Signal(int)  # 0-based

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample = QSpinBox()
        self.sample.setMinimum(1)
        self.sample.setToolTip("the training sample q whose forward and backward pass is shown")
        self.sample.valueChanged.connect(lambda v: self.sample_changed.emit(v - 1))
        self.where = QLabel()
        self.where.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("sample q"))
        top.addWidget(self.sample)
        top.addWidget(self.where, 1)
        self.diagram = NetworkDiagram()
        self.diagram.setMinimumHeight(120)
        self.diagram.setMinimumWidth(220)
        self.diagram.setToolTip("")
        self.legend = QLabel(
            "neurons: f'(n) over its largest value, "
            '<span style="color:#2ec4b6">■</span> responsive … '
            '<span style="color:#d00000">■</span> saturated (its sensitivity vanishes); '
            "connections: this sample's gradient s<sup>m</sup>(a<sup>m−1</sup>)<sup>T</sup>"
        )
        self.legend.setWordWrap(True)
        self.neurons = _table(NEURON_HEADERS)
        self.neurons.setToolTip(
            "forward: n^m = W^m a^(m-1) + b^m, a^m = f^m(n^m); backward: s^M = ∂F/∂n^M, "
            "s^m = F'^m(n^m) (W^(m+1))^T s^(m+1) (NND eq. 11.44-11.45)"
        )
        self.params = _table(PARAM_HEADERS)
        self.params.setToolTip(
            "each parameter's derivative: this sample's share s·aᵀ, the whole batch's by "
            "backpropagation and by central differences (the gradient check)"
        )
        split = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.diagram, self.neurons, self.params):
            split.addWidget(w)
        split.setSizes([300, 420, 560])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(3)
        lay.addLayout(top)
        lay.addWidget(self.legend)
        lay.addWidget(split, 1)
        self.inspection: Inspection | None = None

    def set_samples(self, n: int) -> None:
        self.sample.blockSignals(True)
        self.sample.setMaximum(max(1, n))
        self.sample.blockSignals(False)

    def show_inspection(self, ins: Inspection | None, spec, theta=None, free_idx=(),
                        where: str = "", message: str = "") -> None:  # fmt: skip
        self.inspection = ins
        if ins is None:
            self.where.setText(message)
            self.neurons.setRowCount(0)
            self.params.setRowCount(0)
            self.diagram.set_activity(None)
            return
        p = ", ".join(num(v) for v in ins.p)
        t = ", ".join(num(v) for v in ins.t)
        a = ", ".join(num(v) for v in ins.layers[-1].a)
        self.where.setText(f"at {where}: p = {p}, t = {t}, a = {a}; F (batch) = {num(ins.value)}")
        self._fill_neurons(ins)
        self._fill_params(ins, spec)
        grads = np.zeros(spec.n_params)
        for L, (wsl, bsl) in zip(ins.layers, spec.slices, strict=True):
            grads[wsl], grads[bsl] = L.grad_W.ravel(), L.grad_b
        if self.diagram.spec != spec or self.diagram.theta.size != theta.size:
            self.diagram.set_network(spec, theta, free_idx)
        self.diagram.set_activity(
            [L.fprime / FPRIME_MAX.get(L.transfer, 1.0) for L in ins.layers], weights=grads
        )
        self.diagram.set_theta(theta)

    def _fill_neurons(self, ins: Inspection) -> None:
        rows = [(L, i) for L in ins.layers for i in range(L.n.size)]
        t = self.neurons
        with _bulk(t):
            self._neuron_rows(t, rows)

    @staticmethod
    def _neuron_rows(t, rows) -> None:
        t.setRowCount(len(rows))
        for r, (L, i) in enumerate(rows):
            sat = L.fprime[i] / FPRIME_MAX.get(L.transfer, 1.0)
            cells = (f"{L.m} ({L.transfer})", str(i + 1), num(L.n[i]), num(L.a[i]),
                     num(L.fprime[i]), num(L.s[i]))  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if c == 4 and np.isfinite(sat) and sat < 0.05:
                    item.setForeground(colour("error"))
                    item.setToolTip("saturated: f'(n) is under 5 % of its largest value")
                t.setItem(r, c, item)

    def _fill_params(self, ins: Inspection, spec) -> None:
        rows = []
        for L, (wsl, bsl) in zip(ins.layers, spec.slices, strict=True):
            S, R = L.W.shape
            for i in range(S):
                for j in range(R):
                    lab = spec.labels[wsl.start + i * R + j]
                    rows.append((lab, L.W[i, j], L.grad_W[i, j], L.batch_grad_W[i, j],
                                 L.numeric_W[i, j], L.free_W[i, j]))  # fmt: skip
            for i in range(S):
                rows.append((spec.labels[bsl.start + i], L.b[i], L.grad_b[i], L.batch_grad_b[i],
                             L.numeric_b[i], L.free_b[i]))  # fmt: skip
        with _bulk(self.params):
            self._param_rows(self.params, rows)

    @staticmethod
    def _param_rows(t, rows) -> None:
        t.setRowCount(len(rows))
        for r, (label, v, gs, gb, gn, free) in enumerate(rows):
            diff = abs(gb - gn)
            cells = (label + ("" if free else " (fixed)"), num(v), num(gs), num(gb), num(gn),
                     f"{diff:.2g}" if np.isfinite(diff) else "undefined")  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                t.setItem(r, c, item)
