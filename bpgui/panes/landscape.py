"""The contour pane's "Landscape" tab (issue 22): the loss landscape of any network, the
Hessian's spectrum and the sharpness along the run, each a page with its own controls.

The pane asks (its signals) and draws what it is given; the tool
(:mod:`bpgui.tools.landscape`) runs the jobs and decides what is current."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from bpgui.plots.landscape import LandscapePlot, SharpnessPlot, SpectrumPlot
from bpgui.widgets.fields import NumberEdit, with_error
from bpgui.widgets.theme import set_role
from bpgui_engine.train.sharpness import BUDGET

#: the landscape's modes: (label, engine mode, line's first end)
MODES = (
    ("Random directions (filter-normalized)", "random", None),
    ("PCA plane of the trajectory", "pca", None),
    ("Line: start → point", "line", "start"),
    ("Line: earlier run's end → point", "line", "earlier"),
)
RESOLUTIONS = (21, 51, 101, 201)
PAGES = ("Landscape", "Hessian spectrum", "Sharpness along the run")
WHICH_LAMBDA = (
    "λmax is the largest eigenvalue of the Hessian of the per-sample mean of the index "
    "(the SSE's Hessian divided by Q): the curvature the learning rate multiplies. "
    "Steepest descent is stable on a quadratic while λmax < 2/lr; the book's momentum "
    "while λmax < 2(1+γ)/((1−γ)·lr)."
)


def _row(*widgets: QWidget) -> QWidget:
    """A short row of controls, left-aligned (a page not shown yet lays it out right: a
    flow layout on a hidden page does not)."""
    box = QWidget()
    h = QHBoxLayout(box)
    h.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        h.addWidget(w)
    h.addStretch(1)
    return box


def _button(text: str, tip: str) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    return b


class LandscapePane(QWidget):
    compute_requested = Signal()  # the landscape, with the form's settings
    spectrum_requested = Signal()
    cancel_requested = Signal()
    sharpness_changed = Signal(int, float)  # epochs between samples (0: off), budget

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = QComboBox()
        self.page.addItems(PAGES)
        self.page.setToolTip("what this tab shows")
        self.stack = QStackedWidget()
        self.page.currentIndexChanged.connect(self.stack.setCurrentIndex)

        # the landscape
        self.mode = QComboBox()
        for label, _, _ in MODES:
            self.mode.addItem(label)
        self.mode.setToolTip(
            "random: two Gaussian directions, each neuron's incoming weights scaled to the "
            "norm of the same weights at the point (Li et al. 2018; biases stay); PCA: the "
            "plane of the first two principal components of the trajectory (its points "
            "minus the last); line: F((1−t)a + t b) (Goodfellow et al. 2015)"
        )
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setPrefix("seed ")
        self.seed.setToolTip("the random directions' seed")
        self.span = NumberEdit(1.0, "random: the half-width in units of the filter-normalized "
                               "directions; PCA: a multiple of the trajectory's extent",
                               lo=1e-9, hi=1e6, label="span")  # fmt: skip
        self.span.setFixedWidth(64)
        self.resolution = QComboBox()
        for r in RESOLUTIONS:
            self.resolution.addItem(f"{r} x {r}", r)
        self.resolution.setCurrentIndex(1)
        self.resolution.setToolTip("grid points per axis (a line: points along it)")
        self.compute = _button("Compute", "compute the landscape around the point shown "
                               "(coarse first; the last picture per setting is kept)")  # fmt: skip
        self.cancel = _button("Cancel", "stop: the picture so far stays")
        self.cancel.setEnabled(False)
        self.compute.clicked.connect(self.compute_requested)
        self.cancel.clicked.connect(self.cancel_requested)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.plot = LandscapePlot()
        # two fixed rows (a flow layout on a page shown later keeps a stale geometry)
        span = QWidget()
        sl = QHBoxLayout(span)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("span"))
        sl.addWidget(self.span)
        rows = QWidget()
        rl = QVBoxLayout(rows)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(_row(self.mode, self.seed))
        rl.addWidget(_row(span, self.resolution, self.compute, self.cancel))
        self.stack.addWidget(self._page(with_error(rows, self.span), self.plot))

        # the spectrum
        self.k = QSpinBox()
        self.k.setRange(1, 20)
        self.k.setValue(5)
        self.k.setPrefix("top/bottom ")
        self.k.setToolTip("how many of the largest and of the smallest eigenvalues (Lanczos)")
        self.spectrum_compute = _button(
            "Compute spectrum",
            "the Hessian's eigenvalues at the point shown: Lanczos for the "
            "largest and smallest, stochastic Lanczos quadrature for the density",
        )
        self.spectrum_compute.clicked.connect(self.spectrum_requested)
        self.spectrum = SpectrumPlot()
        self.stack.addWidget(self._page(_row(self.k, self.spectrum_compute), self.spectrum))

        # the sharpness
        self.sample = QCheckBox("Sample λmax every")
        self.sample.setToolTip(
            "while training, the engine computes λmax (Lanczos) every so many epochs"
        )
        self.every = QSpinBox()
        self.every.setRange(1, 10**6)
        self.every.setValue(10)
        self.every.setSuffix(" epochs")
        self.budget = QCheckBox(f"within {BUDGET:.0%} of the run's time")
        self.budget.setChecked(True)
        self.budget.setToolTip(
            f"ticked: samples due while sampling has taken more than {BUDGET:.0%} of the "
            "run's time are skipped (training stays fast); unticked: every one is taken, "
            "however long it takes"
        )
        self.sample.toggled.connect(lambda _on: self._sharpness_edited())
        self.budget.toggled.connect(lambda _on: self._sharpness_edited())
        self.every.editingFinished.connect(self._sharpness_edited)
        which = QLabel(WHICH_LAMBDA)
        which.setWordWrap(True)
        set_role(which, "dim")
        self.sharpness = SharpnessPlot()
        page = self._page(_row(self.sample, self.every, self.budget), self.sharpness)
        page.layout().insertWidget(1, which)
        self.stack.addWidget(page)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(_row(self.page))
        lay.addWidget(self.stack, 1)

    @staticmethod
    def _page(controls: QWidget, plot: QWidget) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addWidget(controls)
        v.addWidget(plot, 1)
        return w

    def _mode_changed(self) -> None:
        mode = MODES[self.mode.currentIndex()][1]
        self.seed.setEnabled(mode == "random")
        self.span.setEnabled(mode != "line")

    def _sharpness_edited(self) -> None:
        every = self.every.value() if self.sample.isChecked() else 0
        self.sharpness_changed.emit(every, BUDGET if self.budget.isChecked() else 0.0)

    # ---- what the tool reads and sets ---------------------------------------------------
    def settings(self) -> dict:
        """The form's landscape settings (raises ValueError with the field's reason)."""
        label, mode, first = MODES[self.mode.currentIndex()]
        try:
            span = self.span.value()
        except ValueError as exc:
            raise ValueError(f"span: {exc}") from None
        if span is None:
            raise ValueError("span: a number > 0")
        return {"mode": mode, "first": first, "seed": self.seed.value(), "span": float(span),
                "resolution": int(self.resolution.currentData()), "label": label}  # fmt: skip

    def set_busy(self, busy: bool, spectrum: bool = False) -> None:
        self.compute.setEnabled(not busy)
        self.spectrum_compute.setEnabled(not busy)
        self.cancel.setEnabled(busy and not spectrum)

    def set_sharpness_every(self, every: int, budget: float) -> None:
        """Show the run's sampling (silently)."""
        for w in (self.sample, self.every, self.budget):
            w.blockSignals(True)
        self.sample.setChecked(every > 0)
        self.budget.setChecked(budget > 0)
        if every > 0:
            self.every.setValue(every)
        for w in (self.sample, self.every, self.budget):
            w.blockSignals(False)
