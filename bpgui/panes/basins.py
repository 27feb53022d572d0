"""Tools ▸ Basin map: the settings of a basin-of-attraction map over the contour's two axes,
Start/Cancel, progress, the overlay's opacity and its legend.

The pane builds a validated :class:`bpgui_engine.maps.basins.BasinJob` (its errors go under
the field they name) and runs it in the compute service
(:class:`~bpgui.service.runner.JobRunner`); the window draws what it emits (``progress`` /
``finished``)."""

from __future__ import annotations

import dataclasses
import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bpgui.plots.basin_overlay import legend_rows
from bpgui.service.runner import JobRunner
from bpgui.widgets.fields import ErrorLabel, NumberEdit, attach_error, mark, with_error
from bpgui.widgets.theme import set_role
from bpgui_engine.maps.basins import BasinJob, BasinMap
from bpgui_engine.memory import MemoryLimitError
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS

#: the defaults tell the story in a lecture minute: Levenberg-Marquardt settles from
#: almost every start within a few hundred epochs, so a 60 x 60 map of the book's slice
#: takes about a second and shows both basins (steepest descent at lr 1 needs ~10^5
#: epochs a cell to cross the flat regions: minutes, and most cells unsettled)
DEFAULT_OPTIMIZER = "lm"
DEFAULT_RESOLUTION = 60
DEFAULT_EPOCHS = 300
DEFAULT_MIN_GRAD = 1e-5
WHY_DEFAULTS = (
    "Defaults: Levenberg-Marquardt, 60 × 60 cells, 300 epochs — about a second, and nearly "
    "every start settles, so the map shows which minimum each start reaches. Steepest "
    "descent at lr 1 needs ~10⁵ epochs a cell to cross the flat regions (minutes): choose "
    "it, with more epochs, to see where it stalls."
)
#: about this many cell-epochs per chunk (~1 s on two cores): cells appear steadily and
#: Cancel or closing waits at most about a chunk
CHUNK_WORK = 2_000_000
#: Cancel waits this long for the chunk in progress before ending the job's process
MAP_GRACE_MS = 20_000
EPOCHS_TIP = (
    "the most epochs each cell trains. On the book's slice steepest descent at lr 1 needs "
    "about 10^5 epochs to cross the flat regions, so 2,000 epochs leave most cells "
    "'not converged'; 30,000 with a minimum gradient of 1e-4 (each run stops once it has "
    "settled in a minimum) shows where the basins are. A larger learning rate (below the "
    "stability bound, ~71 here) gets there in fewer epochs."
)


def chunk_cells(epochs: int) -> int:
    return int(min(4096, max(16, CHUNK_WORK // max(1, epochs))))


class BasinsPane(QWidget):
    started = Signal(object)  # the BasinJob
    progress = Signal(object)  # BasinMap so far
    finished = Signal(object, str)  # BasinMap (partial when cancelled), error or ""
    opacity_changed = Signal(float)
    shown_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, service=None) -> None:
        super().__init__(parent)
        self.setup: Setup | None = None
        self.current = None  # () -> the window's Setup, read when Start is pressed
        self.job: BasinJob | None = None
        self.runner = JobRunner(service, self, grace_ms=MAP_GRACE_MS)
        self._last: BasinMap | None = None  # the newest partial map
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)

        self.resolution = QSpinBox()
        self.resolution.setRange(2, 1000)
        self.resolution.setValue(DEFAULT_RESOLUTION)
        self.resolution.setToolTip("cells per axis (N x N start points)")
        self.epochs = NumberEdit(DEFAULT_EPOCHS, EPOCHS_TIP, integer=True, lo=1, hi=1e9,
                                 label="epochs")  # fmt: skip
        self.min_grad = NumberEdit(
            DEFAULT_MIN_GRAD,
            "a cell's run stops once its gradient norm falls below this (it has settled in a "
            "minimum); 0: off. " + EPOCHS_TIP.split(". ", 1)[1],
            lo=0, label="min gradient",
        )  # fmt: skip
        self.goal = NumberEdit(0.0, "stop a cell's run at this performance (0: off)", lo=0,
                               label="goal")  # fmt: skip
        self.optimizer = QComboBox()
        for name, cls in OPTIMIZERS.items():
            self.optimizer.addItem(f"{cls.title} [{name}]", name)
        self.optimizer.setToolTip(
            "sd, momentum and vlbp train all cells of a chunk at once in the compiled kernel; "
            "the others one run per cell"
        )
        self.optimizer.setCurrentIndex(list(OPTIMIZERS).index(DEFAULT_OPTIMIZER))
        self.optimizer.currentIndexChanged.connect(lambda _: self._build_hyper({}))
        self.why = QLabel(WHY_DEFAULTS)
        self.why.setWordWrap(True)
        set_role(self.why, "dim")
        self.hyper_box = QWidget()
        self.hyper_form = QHBoxLayout(self.hyper_box)
        self.hyper_form.setContentsMargins(0, 0, 0, 0)
        self.hyper_fields: dict[str, QWidget] = {}
        self.x0, self.x1, self.y0, self.y1 = (
            NumberEdit(v, tip, label=tip) for v, tip in
            ((0, "x minimum"), (1, "x maximum"), (0, "y minimum"), (1, "y maximum"))
        )  # fmt: skip
        for w in (self.x0, self.x1, self.y0, self.y1):
            w.setFixedWidth(70)
        self.x_label, self.y_label = QLabel("x"), QLabel("y")
        self.scheduler = QLineEdit()
        self.scheduler.setPlaceholderText("blank: this machine; or tcp://host:8786")
        self.scheduler.setToolTip(
            "a Dask distributed scheduler to run the chunks on (bpgui[cluster]); blank: the "
            "cores of this machine"
        )
        attach_error(self.scheduler, "scheduler")
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("train every cell; the overlay fills in as chunks finish")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop after the chunk in progress; the partial map stays")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m cells")
        self.bar.setRange(0, DEFAULT_RESOLUTION**2)
        self.bar.setValue(0)
        self.resolution.valueChanged.connect(
            lambda n: None if self.busy else self.bar.setRange(0, n * n)
        )
        self.error = ErrorLabel()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.show_box = QCheckBox("show on the contour")
        self.show_box.setChecked(True)
        self.show_box.toggled.connect(self.shown_changed)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(75)
        self.opacity.setToolTip("opacity of the basin overlay")
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self.legend = QLabel("")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)

        form = QFormLayout()
        form.addRow("resolution", self.resolution)
        form.addRow("epochs", with_error(self.epochs, self.epochs))
        form.addRow("min gradient", with_error(self.min_grad, self.min_grad))
        form.addRow("goal", with_error(self.goal, self.goal))
        form.addRow("optimizer", self.optimizer)
        form.addRow("", self.hyper_box)
        grid = QGridLayout()
        grid.addWidget(self.x_label, 0, 0)
        grid.addWidget(self.x0, 0, 1)
        grid.addWidget(self.x1, 0, 2)
        grid.addWidget(self.y_label, 1, 0)
        grid.addWidget(self.y0, 1, 1)
        grid.addWidget(self.y1, 1, 2)
        form.addRow("ranges", with_error(grid, self.x0, self.x1, self.y0, self.y1))
        form.addRow("scheduler", with_error(self.scheduler, self.scheduler))
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.bar, 1)
        view = QHBoxLayout()
        view.addWidget(self.show_box)
        view.addWidget(QLabel("opacity"))
        view.addWidget(self.opacity, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.why)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.error)
        lay.addWidget(self.status)
        lay.addLayout(view)
        lay.addWidget(self.legend)
        lay.addStretch(1)
        self._build_hyper({})

    # ---- the form ------------------------------------------------------------------------
    def set_setup(self, setup: Setup) -> None:
        """Fill the form from the window's setup: its axes and ranges, and the setup's
        hyperparameters when the map's optimizer is the setup's (when idle).  The map's
        optimizer stays the user's choice (by default Levenberg-Marquardt: see
        :data:`WHY_DEFAULTS`)."""
        if self.busy:
            return
        self.set_ranges(setup)
        if self.optimizer.currentData() == setup.optimizer:
            self._build_hyper(setup.hyper)

    def set_ranges(self, setup: Setup) -> None:
        """The contour's axes and ranges (when idle)."""
        self.setup = setup
        if self.busy:
            return
        (a, b), (c, d) = setup.ranges
        for w, v in ((self.x0, a), (self.x1, b), (self.y0, c), (self.y1, d)):
            w.set_value(v)
        self.x_label.setText(setup.axes[0])
        self.y_label.setText(setup.axes[1])

    def _build_hyper(self, values: dict) -> None:
        while self.hyper_form.count():
            w = self.hyper_form.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.hyper_fields = {}
        self._hidden = {}  # per-layer multipliers: kept as the setup has them
        cls = OPTIMIZERS[self.optimizer.currentData()]
        defaults = cls.Hyper()
        for f in dataclasses.fields(cls.Hyper):
            v = values.get(f.name, getattr(defaults, f.name))
            if f.metadata.get("per_layer"):
                self._hidden[f.name] = v
                continue
            if f.metadata.get("choices"):
                w = QComboBox()
                w.addItems(list(f.metadata["choices"]))
                w.setCurrentText(str(v))
            else:
                w = NumberEdit(v, f.metadata.get("label", f.name),
                               integer=f.type in ("int", int), label=f.name)  # fmt: skip
                w.setMaximumWidth(80)
            self.hyper_fields[f.name] = w
            self.hyper_form.addWidget(QLabel(f.name))
            if isinstance(w, NumberEdit):
                self.hyper_form.addWidget(with_error(w, w))
            else:
                self.hyper_form.addWidget(w)
        self.hyper_form.addStretch(1)

    def hyper(self) -> dict:
        out = dict(self._hidden)
        for name, w in self.hyper_fields.items():
            if isinstance(w, QComboBox):
                out[name] = w.currentText()
            else:
                try:
                    out[name] = w.value()
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return out

    def _fields(self) -> dict[str, QWidget]:
        """Which field an engine message ``"<name>: …"`` belongs to."""
        out = {"epochs": self.epochs, "min_grad": self.min_grad, "goal": self.goal,
               "scheduler": self.scheduler}  # fmt: skip
        out.update({k: w for k, w in self.hyper_fields.items() if isinstance(w, NumberEdit)})
        if self.setup is not None:
            out[f"range of {self.setup.axes[0]}"] = self.x1
            out[f"range of {self.setup.axes[1]}"] = self.y1
        return out

    def _show_error(self, message: str) -> None:
        """One line next to the field it names, else under the buttons."""
        head = message.split(": ", 1)[0]
        field = self._fields().get(head)
        if field is not None:
            mark(field, message.split(": ", 1)[1] if ": " in message else message)
        else:
            self.error.show_error(message)

    def _clear_errors(self) -> None:
        self.error.show_error(None)
        for w in self._fields().values():
            mark(w, None, getattr(w, "tip", ""))

    def make_job(self) -> BasinJob:
        """A validated job from the form (``ValueError`` names the field)."""
        if self.setup is None:
            raise ValueError("basins: no problem yet")
        vals = {}
        for name, w in (("epochs", self.epochs), ("min_grad", self.min_grad),
                        ("goal", self.goal)):  # fmt: skip
            try:
                vals[name] = w.value()
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        rng = []
        for w in (self.x0, self.x1, self.y0, self.y1):
            try:
                rng.append(float(w.value()))
            except (ValueError, TypeError):
                raise ValueError(f"range of {self.setup.axes[w in (self.y0, self.y1)]}: "
                                 "MIN and MAX must be numbers") from None  # fmt: skip
        epochs = int(vals["epochs"])
        options = dict(
            resolution=self.resolution.value(), epochs=epochs,
            optimizer=self.optimizer.currentData(), hyper=self.hyper(), goal=vals["goal"],
            min_grad=vals["min_grad"], x_range=(rng[0], rng[1]), y_range=(rng[2], rng[3]),
            chunk_cells=chunk_cells(epochs),
        )  # fmt: skip
        job = BasinJob(self.setup, **options)  # validated here: errors under their fields
        job.options = options
        return job

    # ---- running ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    def start(self) -> bool:
        """Validate and start; False (with the error shown) when the form is not valid."""
        if self.busy:
            return False
        self._clear_errors()
        if self.current is not None:
            self.setup = self.current()
        try:
            job = self.make_job()
        except (ValueError, MemoryLimitError) as exc:
            self._show_error(str(exc))
            return False
        self.job = job
        address = self.scheduler.text().strip() or None
        self.bar.setRange(0, job.cells)
        self.bar.setValue(0)
        where = f"on {address}" if address else "on this machine"
        self.status.setText(
            f"training {job.cells:,} starts with {job.optimizer} for up to {job.epochs:,} "
            f"epochs {where}…"
        )
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.started.emit(job)
        self._last = None
        request = {"setup": job.setup, "options": job.options, "address": address}
        self.runner.start("basins", request)
        return True

    def cancel(self) -> None:
        if self.busy:
            self.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("cancelling after the chunk in progress…")

    def _progress(self, m: BasinMap, _n: int) -> None:
        self._last = m
        done = int((m.stop >= 0).sum())
        self.bar.setValue(done)
        self.show_legend(m)
        self.progress.emit(m)

    def _finished(self, m: BasinMap | None, error: str) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        m = m if m is not None else self._last  # its process ended: what arrived so far
        if m is None:
            self.bar.setValue(0)
            if error:
                self._show_error(f"basins: {error}")
            self.status.setText("no map" + (f": {error}" if error else " (cancelled)"))
            return
        self.bar.setValue(int((m.stop >= 0).sum()))
        if error:
            self._show_error(error if error.startswith("scheduler") else f"basins: {error}")
        self.show_legend(m)
        if m.partial:
            why = "cancelled" if self.runner.cancelled else error or "some chunks failed"
            self.status.setText(f"partial map ({why}): {int((m.stop >= 0).sum()):,} of "
                                f"{m.labels.size:,} cells")  # fmt: skip
        else:
            self.status.setText(f"done: {m.labels.size:,} cells ({m.kernel} kernel)")
        self.finished.emit(m, error)

    def show_legend(self, m: BasinMap | None, kinds: list[str] | None = None) -> None:
        if m is None:
            self.legend.setText("")
            return
        rows = [
            f'<span style="color:{c}">■</span> {html.escape(t)}'
            for c, _n, t in legend_rows(m, kinds)
        ]
        self.legend.setText("<br>".join(rows))

    def shutdown(self) -> None:
        self.runner.shutdown()
