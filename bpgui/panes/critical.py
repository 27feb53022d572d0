"""Tools ▸ Find critical points (issue 13 #2): the search in a worker thread and the table
of what it found.

The search is :func:`bpgui_engine.analysis.critical.find_critical_points` over the current slice's
ranges
(all free parameters when more than two are free).  It runs in its own :class:`QThread`;
the worker only emits signals (the pane lives in the GUI thread).  A result carries the
key of what it was computed on (problem, axes, ranges): the window shows it only while
that is current.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bpgui.plots.critical_style import describe, fmt, kind_text_colour, kinds_legend
from bpgui.service.runner import JobRunner
from bpgui_engine.analysis.critical import CriticalPoint
from bpgui_engine.analysis.curvature import KIND_WORDS
from bpgui_engine.model.setup import Setup

HEADERS = ("kind", "x", "y", "performance", "eigenvalues (ascending)")


@dataclass(frozen=True)
class CriticalJob:
    setup: Setup
    x: np.ndarray  # the free parameters the search starts from (the current point)
    free: str  # "slice" | "all"
    key: tuple  # what the result belongs to


@dataclass(frozen=True)
class CriticalResult:
    key: tuple
    setup: Setup
    points: list[CriticalPoint]
    free: str
    dims: int
    cancelled: bool = False
    error: str = ""


class CriticalPane(QWidget):
    """The search's controls and the table of points (one row per point)."""

    started = Signal(object)  # CriticalJob
    finished = Signal(object)  # CriticalResult
    row_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None, service=None) -> None:
        super().__init__(parent)
        self.find_button = QPushButton("Find")
        self.find_button.setToolTip(
            "search the current ranges for stationary points (Newton on the gradient from a "
            "15 x 15 grid of starts); all free parameters when more than two are free"
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = QLabel("Find searches the contour's ranges for stationary points.")
        self.status.setWordWrap(True)
        legend = self.legend = QLabel(kinds_legend())
        legend.setToolTip("the symbols on the contour and the 3-D view")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        self.table.setMinimumHeight(60)
        self.table.itemSelectionChanged.connect(self._selected)
        top = QHBoxLayout()
        top.addWidget(self.find_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(legend)
        lay.addWidget(self.table, 1)
        self.cancel_button.clicked.connect(self.cancel)
        self.runner = JobRunner(service, self)
        self.runner.finished.connect(self._finished)
        self.job: CriticalJob | None = None
        self.result: CriticalResult | None = None

    # ---- the search ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    def start(self, job: CriticalJob) -> None:
        self.drop()
        self.job = job
        if not self.runner.start("critical", {"setup": job.setup, "free": job.free, "x": job.x}):
            return  # the window has closed: nothing new starts
        self.find_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        where = f"all {len(job.setup.free)} free parameters" if job.free == "all" else "the slice"
        self.status.setText(f"searching {where}…")
        self.started.emit(job)

    def cancel(self) -> None:
        self.runner.cancel()

    def _finished(self, out, error: str) -> None:
        j = self.job
        self._end()
        dims = len(j.setup.free) if j.free == "all" else 2
        if out is None:  # failed, or ended when it did not stop in time
            res = CriticalResult(j.key, j.setup, [], j.free, dims, not error, error)
        else:
            pts, cancelled = out
            res = CriticalResult(j.key, j.setup, list(pts), j.free, dims, cancelled, error)
        self.finished.emit(res)

    def _end(self) -> None:
        self.find_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def drop(self) -> None:
        """Cancel a running search and forget it (nothing waits for it)."""
        self.runner.drop()
        self._end()

    def shutdown(self) -> None:
        """Drop a running search; none starts after this (closing the window)."""
        self.closed = True
        self.runner.shutdown()

    # ---- the table ---------------------------------------------------------------------------
    def show_result(self, res: CriticalResult | None, setup: Setup | None = None) -> None:
        """Fill the table with ``res`` (None: nothing for the current problem and view)."""
        self.result = res
        t = self.table
        t.blockSignals(True)
        t.setRowCount(0)
        if res is None:
            t.setColumnCount(len(HEADERS))
            t.setHorizontalHeaderLabels(HEADERS)  # no stale axis names from another view
            t.blockSignals(False)
            if not self.busy:
                self.status.setText("Find searches the contour's ranges for stationary points.")
            return
        s = setup or res.setup
        # one column per searched parameter: the axes first, then any other free ones
        canon = [s.spec.labels[s.spec.index(lab)] for lab in (*s.axes, *s.free)]
        xl, yl = canon[:2]
        labels = [xl, yl] + [lab for lab in dict.fromkeys(canon[2:]) if lab not in (xl, yl)]
        if not any(lab in p.params for p in res.points for lab in labels[2:]):
            labels = labels[:2]
        t.setColumnCount(len(labels) + 3)
        # which index's Hessian (the sweep's bound uses the per-sample mean's: issue 18 #23)
        eig = f"eigenvalues of the {s.performance.upper()} Hessian (ascending)"
        t.setHorizontalHeaderLabels(("kind", *labels, "performance", eig))
        t.setRowCount(len(res.points))
        theta = dict(zip(s.spec.labels, s.theta, strict=True))
        for r, p in enumerate(res.points):
            params = p.params
            cells = (
                KIND_WORDS.get(p.kind, p.kind)
                + (f" ×{p.count}" if p.count > 1 else "")
                + (f", copy of row {p.copy_of + 1}" if p.copy_of >= 0 else ""),
                *(fmt(params.get(lab, theta[lab]), 6) for lab in labels),
                fmt(p.performance, 6),
                ", ".join(fmt(v) for v in p.eigenvalues),
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(describe(p))
                if c == 0:
                    item.setForeground(kind_text_colour(p.kind))
                else:  # numbers on the right, the eigenvalue list on the left
                    last = c == len(cells) - 1
                    side = Qt.AlignmentFlag.AlignLeft if last else Qt.AlignmentFlag.AlignRight
                    item.setTextAlignment(side | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, c, item)
        t.blockSignals(False)
        self.status.setText(summary(res))

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.row_selected.emit(rows[0].row())


def summary(res: CriticalResult) -> str:
    """What the search found, in how many dimensions (``nothing found`` says so)."""
    where = f"in {res.dims} dimensions" + (" (all free parameters)" if res.free == "all" else "")
    if res.error:
        return f"the search failed: {res.error}"
    tail = " (cancelled: what was found so far)" if res.cancelled else ""
    if not res.points:
        return f"no stationary point found in this range, {where}{tail}"
    counts: dict[str, int] = {}
    for p in res.points:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    plural = {"minimum": "minima", "maximum": "maxima", "saddle": "saddles"}
    parts = ", ".join(f"{n} {k if n == 1 else plural.get(k, k)}" for k, n in counts.items())
    copies = sum(p.copy_of >= 0 for p in res.points)
    if copies:  # hidden neurons swapped or sign-flipped: the same F by construction
        parts += f"; {copies} of them symmetric copies of another"
    return f"{len(res.points)} stationary point(s) {where}: {parts}{tail}"
