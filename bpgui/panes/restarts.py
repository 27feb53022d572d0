"""Random restarts (seed 001): many seeded random starts trained at once, their paths and
error curves overlaid, and a table of where each ended: a minimum (only converged runs
count, see :mod:`bpgui_engine.analysis.minima`), "not converged" or "diverged".

Trained by :func:`bpgui_engine.train.fast.fast_train_batch`: ``sd``, ``momentum`` and ``vlbp`` in
the
compiled kernel (rows in parallel over the cores), ``lm`` vectorized in NumPy; without
numba ``sd``/``momentum`` fall back to NumPy and ``vlbp`` says it needs numba."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bpgui.service.runner import JobRunner
from bpgui_engine.analysis.curvature import NOT_A_MINIMUM, kinds_at
from bpgui_engine.analysis.minima import DIVERGED, NOT_CONVERGED, find_minima
from bpgui_engine.model.initialize import initialize
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.batch import BatchResult
from bpgui_engine.train.fast import COMPILED_BATCH_METHODS
from bpgui_engine.train.trainer import STOP_LABELS, STOP_REASONS

MAX_PATH_POINTS = 1500
RESTARTS_GRACE_MS = 10_000  # a cancelled run stops at its next chunk; past this it is ended


def classify(res: BatchResult, objective: Objective | None = None, tol: float = 1e-2) -> list[str]:
    """Per run: the minimum it reached ("M1 (…)", M1 the lowest error), "not converged"
    (it stopped before converging, e.g. on the maximum epochs) or "diverged".  The
    clustering is :func:`bpgui_engine.analysis.minima.find_minima`.  With ``objective``, a group
    whose Hessian says it is a saddle or a flat floor is named so ("M2 (…), a saddle")."""
    m = find_minima(res.x, res.performance, res.stop, res.grad_norm, tol=tol)
    kinds = kinds_at(objective, m.centres) if objective is not None and m.count else None
    if not kinds:
        return m.labels
    return [
        f"{lab}, {NOT_A_MINIMUM[kinds[k]]}" if k >= 0 and kinds[k] in NOT_A_MINIMUM else lab
        for lab, k in zip(m.labels, m.index.tolist(), strict=True)
    ]


def summary(names: list[str]) -> str:
    """``20 runs: 2 minima — M1 (…): 12, M2 (…): 3; not converged: 5`` (a group that is a
    saddle or a flat floor is listed, not counted as a minimum)."""
    groups = sorted({n for n in names if n not in (NOT_CONVERGED, DIVERGED)}, key=_m_order)
    parts = [f"{n}: {names.count(n)}" for n in groups]
    rest = [f"{n}: {names.count(n)}" for n in (NOT_CONVERGED, DIVERGED) if n in names]
    k = sum(1 for n in groups if not n.endswith(tuple(NOT_A_MINIMUM.values())))
    found = f"{k} minimum" if k == 1 else f"{k} minima"
    text = f"{len(names)} runs: {found}"
    if parts:
        text += " — " + ", ".join(parts)
    if rest:
        text += "; " + ", ".join(rest)
    return text


def _m_order(name: str) -> int:
    return int(name[1:].split(" ", 1)[0].rstrip(","))


class RestartsPane(QWidget):
    started = Signal()
    finished = Signal(object)  # BatchResult
    failed = Signal(str)
    row_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None, service=None) -> None:
        super().__init__(parent)
        self.count = QSpinBox()
        self.count.setRange(2, 10_000)
        self.count.setValue(20)
        self.count.setToolTip("number of random starts")
        self.method = QComboBox()
        self.method.addItems(list(OPTIMIZERS))
        self.method.setToolTip(
            "trained at once for all starts: "
            + ", ".join(COMPILED_BATCH_METHODS)
            + " compiled (numba, rows in parallel), lm vectorized in NumPy; the others "
            "start by start, each as its own run"
        )
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000_000)
        self.epochs.setValue(20_000)
        self.epochs.setSingleStep(1000)
        self.epochs.setToolTip("epochs per start")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("seed of the random starts")
        self.run_button = QPushButton("Run restarts")
        self.run_button.setToolTip("draw the starts with the network's initialization method")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop the runs where they are and show them")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["start", "final SSE", "epochs", "stop", "reached"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.summary = QLabel("Each start is drawn like a fresh network's weights (seeded).")
        self.summary.setWordWrap(True)

        # one row of settings, so the dock can stay small
        top = QHBoxLayout()
        for text, w in (
            ("starts", self.count),
            ("method", self.method),
            ("epochs", self.epochs),
            ("seed", self.seed),
        ):
            top.addWidget(QLabel(text))
            top.addWidget(w)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        self.table.setMinimumHeight(48)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        self.setup: Setup | None = None
        self.objective: Objective | None = None
        self.result: BatchResult | None = None
        self.result_method: str | None = None  # the method that produced ``result``
        # a first step includes loading the kernels into a fresh process: seconds when busy
        self.runner = JobRunner(service, self, grace_ms=RESTARTS_GRACE_MS)
        self.runner.finished.connect(self._finished)

    def set_problem(self, setup: Setup, objective: Objective) -> None:
        self.setup, self.objective = setup, objective
        if setup.optimizer in OPTIMIZERS:
            self.method.setCurrentText(setup.optimizer)

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def starts(self) -> np.ndarray:
        s, obj = self.setup, self.objective
        theta = initialize(
            s.spec, s.init, np.random.default_rng(self.seed.value()), obj.data.P, self.count.value()
        )
        return theta[:, obj.free_idx]

    def run(self) -> None:
        if self.busy or self.setup is None or getattr(self, "closed", False):
            return
        method = self.method.currentText()
        hyper = self.setup.hyper if method == self.setup.optimizer else {}
        self.result_method = method
        X0, epochs = self.starts(), self.epochs.value()
        self._run_objective = self.objective  # the problem the batch belongs to
        request = {
            "setup": self.setup, "starts": X0, "method": method, "hyper": hyper,
            "epochs": epochs, "stride": max(1, epochs // MAX_PATH_POINTS),
        }  # fmt: skip
        self.run_button.setEnabled(False)
        self.summary.setText(f"training {self.count.value()} starts with {method}…")
        if self.runner.start("restarts", request):
            self.cancel_button.setEnabled(True)
            self.started.emit()

    def cancel(self) -> None:
        """Stop the runs where they are (each shows how far it got)."""
        if self.busy:
            self.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.summary.setText("cancelling…")

    def _end(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _finished(self, res: BatchResult | None, error: str) -> None:
        if res is None:
            self._failed(error or "cancelled")
            return
        self._end()
        # classified on the problem it ran on (the window drops it if that is not current)
        self.show_result(res, self._run_objective)

    def settings(self) -> dict:
        return {
            "count": self.count.value(),
            "method": self.method.currentText(),
            "epochs": self.epochs.value(),
            "seed": self.seed.value(),
        }

    def restore(self, res: BatchResult | None, settings: dict) -> None:
        """A saved session's restarts: its settings and (if any) its results."""
        for key, box in (("count", self.count), ("epochs", self.epochs), ("seed", self.seed)):
            v = settings.get(key)
            if isinstance(v, int) and not isinstance(v, bool):
                box.setValue(v)
        if settings.get("method") in OPTIMIZERS:
            self.method.setCurrentText(settings["method"])
        self.result_method = (
            settings.get("method") if isinstance(settings.get("method"), str) else None
        )
        self.result = None
        with QSignalBlocker(self.table):  # no selection signal from rows being removed
            self.table.setRowCount(0)
        self.summary.setText("")
        if res is not None:
            self.show_result(res)

    def show_result(self, res: BatchResult, objective: Objective | None = None) -> None:
        self.result = res
        names = classify(res, objective or self.objective)
        with QSignalBlocker(self.table):  # no selection signal from rows being replaced
            self.table.setRowCount(len(res.performance))
            for i in range(len(res.performance)):
                start = ", ".join(f"{v:.3g}" for v in res.path[0, i, :3])
                cells = (
                    f"({start}{'…' if res.x.shape[1] > 3 else ''})",
                    f"{res.performance[i]:.4g}",
                    f"{int(res.epochs[i]):,}",
                    STOP_LABELS.get(str(res.stop[i]), str(res.stop[i])),
                    names[i],
                )
                for j, text in enumerate(cells):
                    self.table.setItem(i, j, QTableWidgetItem(text))
                self.table.item(i, 3).setToolTip(STOP_REASONS.get(str(res.stop[i]), ""))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        method = self.result_method or self.method.currentText()
        text = f"{method}, {self._epochs_text(res)}; {summary(names)}"
        if self.runner.cancelled:
            text = f"cancelled, each run where it was: {text}"
        if NOT_CONVERGED in names and len(set(names) - {NOT_CONVERGED, DIVERGED}) == 0:
            text += self._lowest(res)
        self.summary.setText(text)
        self.finished.emit(res)

    @staticmethod
    def _lowest(res: BatchResult) -> str:
        """Where the best run got, when none counts as converged (it may be at a minimum
        still creeping: more epochs, or a minimum gradient, would say)."""
        ok = np.flatnonzero(np.isfinite(res.performance))
        if not ok.size:
            return ""
        b = ok[np.argmin(res.performance[ok])]
        where = ", ".join(f"{v:.3g}" for v in res.x[b][:3]) + ("…" if res.x.shape[1] > 3 else "")
        return (
            f" (lowest F {res.performance[b]:.3g} at ({where}); more epochs or a minimum "
            "gradient would let it count as converged)"
        )

    @staticmethod
    def _epochs_text(res: BatchResult) -> str:
        top = int(np.max(res.epochs)) if len(res.epochs) else 0
        return f"the longest run {top:,} epochs"  # what they took, not the limit

    def _failed(self, message: str) -> None:
        self._end()
        self.summary.setText(f"restarts failed: {message}")
        self.failed.emit(message)

    def _selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) == 1:
            self.row_selected.emit(rows.pop())

    def drop(self) -> None:
        """Forget a batch in progress (another problem, New, Open)."""
        if self.busy:
            self.runner.drop()
            self._end()

    def shutdown(self) -> None:
        self.closed = True  # the window has closed: no batch starts after this
        self.runner.shutdown()
