"""Tools ▸ Sweep: two hyperparameters of an optimizer over a grid, one run from the current
start point per cell, shown as a heatmap (:class:`~bpgui.plots.heatmap.HeatmapPlot`).

The axes' combos list the optimizer's numeric hyperparameters (from their metadata); a
log-scale field gets a geometric axis.  Where steepest descent's stability bound applies
(momentum's lr, with its γ) the heatmap draws it at the minimum the sweep's runs reach
from the same start (computed in the worker thread after the cells)."""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bpgui.plots.heatmap import HeatmapPlot
from bpgui.service.runner import JobRunner
from bpgui.widgets.fields import ErrorLabel, NumberEdit, attach_error, mark, with_error
from bpgui_engine.maps.sweep import SweepJob, SweepResult
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS

DEFAULT_GOAL = 1e-2
#: Cancel waits this long for the rows in progress before ending the job's process
MAP_GRACE_MS = 20_000
WIDE_PX = 700  # narrower than this: the heat map goes under the form


def numeric_fields(optimizer: str) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(OPTIMIZERS[optimizer].Hyper)
            if not f.metadata.get("choices") and not f.metadata.get("per_layer")]  # fmt: skip


def default_range(f: dataclasses.Field, value: float) -> tuple[float, float]:
    """A range around ``value`` within the field's limits: two decades either side on a
    log axis, else the allowed interval (an open end pulled in by 5%)."""
    md = f.metadata
    lo, hi = md.get("lo"), md.get("hi")
    if md.get("log"):
        # a learning rate: a decade below to three above, so the stability edge (2/λmax,
        # ~71 at the book's minimum for lr 1) lies well inside and the cells above it
        # visibly fail to reach the goal
        a, b = (value / 10, value * 1000) if f.name == "lr" else (value / 100, value * 100)
        if lo is not None:
            a = max(a, lo if not md.get("lo_open") else lo * 1.0001 or 1e-12)
        if hi is not None:
            b = min(b, hi)
        return float(a), float(b)
    a = 0.0 if lo is None else float(lo)
    b = max(2 * value, 1.0) if hi is None else float(hi)
    if md.get("lo_open"):
        a += 0.05 * (b - a)
    if md.get("hi_open"):
        b -= 0.05 * (b - a)
    return a, b


def bound_note(r: SweepResult, bound) -> str:
    """Why the stability bound is not on the heatmap, where it applies ("" when it is)."""
    if r.optimizer not in ("sd", "momentum") or "lr" not in (r.x_param, r.y_param):
        return ""
    if bound is None:
        return (
            " No stability bound drawn: no run reached the goal, so there is no minimum "
            "to compute it at (raise the epochs or the goal)."
        )
    lrs = bound[0] if r.x_param == "lr" else bound[1]
    swept = r.xs if r.x_param == "lr" else r.ys
    if np.all(lrs > swept.max()) or np.all(lrs < swept.min()):
        return (
            f" The stability bound (lr < {float(np.min(lrs)):.3g}) lies outside the swept "
            "learning rates."
        )
    return ""


class SweepPane(QWidget):
    started = Signal(object)  # the SweepJob
    progress = Signal(object)  # SweepResult so far
    finished = Signal(object, object, str)  # SweepResult, bound (or None), error
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, service=None) -> None:
        super().__init__(parent)
        self.setup: Setup | None = None
        self.start_x: np.ndarray | None = None
        self.current = None  # () -> (the window's Setup, start point), read at Start
        self.job: SweepJob | None = None
        self.runner = JobRunner(service, self, grace_ms=MAP_GRACE_MS)
        self._last: SweepResult | None = None  # the newest partial sweep
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.optimizer = QComboBox()
        for name, cls in OPTIMIZERS.items():
            if len(numeric_fields(name)) >= 2:
                self.optimizer.addItem(f"{cls.title} [{name}]", name)
        self.optimizer.setToolTip(
            "the optimizer whose hyperparameters are swept (steepest descent has only lr: "
            "momentum with γ = 0 is steepest descent)"
        )
        self.optimizer.currentIndexChanged.connect(lambda _: self._fill_params({}))
        self.x_param, self.y_param = QComboBox(), QComboBox()
        self.x_param.currentIndexChanged.connect(lambda _: self._param_picked(0))
        self.y_param.currentIndexChanged.connect(lambda _: self._param_picked(1))
        self.x0, self.x1, self.y0, self.y1 = (
            NumberEdit(v, tip, label=tip) for v, tip in
            ((0.1, "x minimum"), (100, "x maximum"), (0, "y minimum"), (0.95, "y maximum"))
        )  # fmt: skip
        for w in (self.x0, self.x1, self.y0, self.y1):
            w.setFixedWidth(70)
        self.resolution = QSpinBox()
        self.resolution.setRange(2, 500)
        self.resolution.setValue(30)
        self.resolution.setToolTip("values per axis")
        self.epochs = NumberEdit(2000, "the most epochs each run trains", integer=True, lo=1,
                                 hi=1e9, label="epochs")  # fmt: skip
        self.goal = NumberEdit(DEFAULT_GOAL, "a run reaches the goal at the first epoch with "
                               "performance <= this (0: off)", lo=0, label="goal")  # fmt: skip
        self.scheduler = QLineEdit()
        self.scheduler.setPlaceholderText("blank: this machine; or tcp://host:8786")
        self.scheduler.setToolTip("a Dask distributed scheduler (bpgui[cluster]); blank: here")
        attach_error(self.scheduler, "scheduler")
        self.mode = QComboBox()
        self.mode.addItems(["epochs to the goal", "final performance"])
        self.mode.setToolTip("what the colours show")
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m rows")
        self.error = ErrorLabel()
        self.status = QLabel(
            "Each cell trains from the current start point. Defaults: momentum's lr from "
            "a tenth to a thousand times the current one against γ, 30 × 30 cells of 2,000 "
            "epochs (a few seconds). Where the runs end near a minimum, its stability bound "
            "(drawn dashed) lies in that range and the cells above it oscillate; grey cells "
            "never reached the goal."
        )
        self.status.setWordWrap(True)
        self.heatmap = HeatmapPlot()
        self.heatmap.cell_clicked.connect(self.cell_clicked)
        self.bound = None

        form = QFormLayout()
        form.addRow("optimizer", self.optimizer)

        def axis(combo, a, b):
            row = QHBoxLayout()
            row.addWidget(combo)
            row.addWidget(a)
            row.addWidget(b)
            return with_error(row, a, b)

        form.addRow("x", axis(self.x_param, self.x0, self.x1))
        form.addRow("y", axis(self.y_param, self.y0, self.y1))
        form.addRow("resolution", self.resolution)
        form.addRow("epochs", with_error(self.epochs, self.epochs))
        form.addRow("goal", with_error(self.goal, self.goal))
        form.addRow("scheduler", with_error(self.scheduler, self.scheduler))
        form.addRow("show", self.mode)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.bar, 1)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.error)
        left.addWidget(self.status)
        left.addStretch(1)
        box = QWidget()
        box.setLayout(left)
        box.setMaximumWidth(380)
        self.heatmap.setMinimumSize(260, 240)  # the lr axis and its labels always fit
        # the heat map beside the form when the dock is wide, under it when narrow (a tab
        # beside the setup): never squeezed to a strip
        self._box_layout = lay = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        lay.addWidget(box)
        lay.addWidget(self.heatmap, 1)
        self._fill_params({})

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() >= WIDE_PX
        want = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._box_layout.direction() != want:
            self._box_layout.setDirection(want)

    # ---- the form ------------------------------------------------------------------------
    def set_setup(self, setup: Setup, start: np.ndarray | None) -> None:
        """The window's setup and start point; when idle the form takes its optimizer (or
        momentum when it has fewer than two numeric hyperparameters) and its values."""
        self.setup, self.start_x = setup, start
        if self.busy:
            return
        name = setup.optimizer if len(numeric_fields(setup.optimizer)) >= 2 else "momentum"
        self.optimizer.blockSignals(True)
        self.optimizer.setCurrentIndex(self.optimizer.findData(name))
        self.optimizer.blockSignals(False)
        values = setup.hyper if name == setup.optimizer else {}
        if name != setup.optimizer and "lr" in setup.hyper:
            values = {"lr": setup.hyper["lr"]}
        self._fill_params(values)
        if setup.criteria.goal > 0:
            self.goal.set_value(setup.criteria.goal)

    def _fill_params(self, values: dict) -> None:
        name = self.optimizer.currentData()
        self._values = dict(OPTIMIZERS[name].Hyper.from_dict(values).to_dict())
        fields = numeric_fields(name)
        for combo, k in ((self.x_param, 0), (self.y_param, 1)):
            combo.blockSignals(True)
            combo.clear()
            for f in fields:
                log = " (log)" if f.metadata.get("log") else ""
                combo.addItem(f"{f.name}{log}", f.name)
            combo.setCurrentIndex(k)
            combo.blockSignals(False)
        self._param_picked(0)
        self._param_picked(1)

    def _param_picked(self, which: int) -> None:
        combo, a, b = ((self.x_param, self.x0, self.x1), (self.y_param, self.y0, self.y1))[which]
        name = combo.currentData()
        if name is None:
            return
        f = {g.name: g for g in numeric_fields(self.optimizer.currentData())}[name]
        lo, hi = default_range(f, float(self._values[name]))
        a.set_value(lo)
        b.set_value(hi)

    def _fields(self) -> dict:
        out = {"epochs": self.epochs, "goal": self.goal, "scheduler": self.scheduler,
               "resolution": self.resolution}  # fmt: skip
        xp, yp = self.x_param.currentData(), self.y_param.currentData()
        out[f"range of {xp}"] = out[xp] = self.x1
        out[f"range of {yp}"] = out[yp] = self.y1
        return out

    def _show_error(self, message: str) -> None:
        head, _, rest = message.partition(": ")
        field = self._fields().get(head)
        if field is not None and hasattr(field, "error_label"):
            mark(field, rest or message)
        else:
            self.error.show_error(message)

    def _clear_errors(self) -> None:
        self.error.show_error(None)
        for w in (self.x0, self.x1, self.y0, self.y1, self.epochs, self.goal, self.scheduler):
            mark(w, None, getattr(w, "tip", ""))

    def make_job(self) -> SweepJob:
        if self.setup is None:
            raise ValueError("sweep: no problem yet")
        vals = []
        for w in (self.x0, self.x1, self.y0, self.y1, self.epochs, self.goal):
            try:
                vals.append(w.value())
            except ValueError as exc:
                raise ValueError(f"{w.field_name}: {exc}") from None
        x0, x1, y0, y1, epochs, goal = vals
        axes = (self.x_param.currentData(), (x0, x1), self.y_param.currentData(), (y0, y1))
        options = dict(
            resolution=self.resolution.value(), optimizer=self.optimizer.currentData(),
            hyper=self._values, x0=self.start_x, epochs=int(epochs), goal=float(goal),
        )  # fmt: skip
        job = SweepJob(self.setup, *axes, **options)  # validated here: errors under fields
        job.request = {"setup": self.setup, "axes": axes, "options": options}
        return job

    # ---- running ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    def start(self) -> bool:
        if self.busy:
            return False
        self._clear_errors()
        if self.current is not None:
            self.setup, self.start_x = self.current()
        try:
            job = self.make_job()
        except ValueError as exc:
            self._show_error(str(exc))
            return False
        self.job = job
        address = self.scheduler.text().strip() or None
        self.bar.setRange(0, len(job.xs))
        self.bar.setValue(0)
        self.status.setText(f"training {len(job.xs) * len(job.ys):,} runs of {job.optimizer} "
                            f"for up to {job.epochs:,} epochs…")  # fmt: skip
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._last = None
        self.started.emit(job)
        self.runner.start("sweep", {**job.request, "address": address})
        return True

    def cancel(self) -> None:
        if self.busy:
            self.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("cancelling after the rows in progress…")

    def _progress(self, r: SweepResult, _n: int) -> None:
        self._last = r
        self.bar.setValue(int(np.any(r.stop >= 0, axis=1).sum()))
        self.progress.emit(r)

    def _finished(self, out, error: str) -> None:
        r, bound = out if isinstance(out, tuple) else (out, None)
        r = r if r is not None else self._last  # its process ended: what arrived so far
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if r is None:
            self.bar.setValue(0)
            if error:
                self._show_error(f"sweep: {error}")
            self.status.setText("no sweep" + (f": {error}" if error else " (cancelled)"))
            return
        self.bar.setValue(int(np.all(r.stop >= 0, axis=1).sum()))
        if error:
            self._show_error(error if error.startswith("scheduler") else f"sweep: {error}")
        reached = int(r.reached.sum())
        self.status.setText(
            f"{'partial: ' if r.partial else ''}{reached:,} of {r.stop.size:,} runs reached the "
            f"goal, {int(r.diverged.sum()):,} diverged. Click a cell to run with its values."
            + bound_note(r, bound)
        )
        self.finished.emit(r, bound, error)

    def show_result(self, r: SweepResult | None, bound=None, value_name: str = "SSE") -> None:
        self.bound = bound
        mode = "epochs" if self.mode.currentIndex() == 0 else "performance"
        self.heatmap.set_result(r, mode, value_name)
        if r is not None and bound is not None:
            self.heatmap.set_bound(*bound)
        else:
            self.heatmap.set_bound(None, None)

    def _mode_changed(self, _i: int) -> None:
        r = self.heatmap.result
        if r is not None:
            self.show_result(r, self.bound, getattr(self.heatmap, "value_name", "SSE"))

    def shutdown(self) -> None:
        self.runner.shutdown()
