"""The live-plot pane: contour (or 3-D surface) with its controls, error curves and the
network's response or, for data in the plane, its decision map.  It draws what it is
given; the window decides when."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bpgui.panes.outputs import OutputTabs
from bpgui.plots.accuracy import AccuracyCurves
from bpgui.plots.contour import ContourPlot
from bpgui.plots.curves import CurvesPlot
from bpgui.plots.decision import DecisionPlot
from bpgui.plots.response import ResponsePlot
from bpgui.plots.surface3d import Surface3DView
from bpgui.service.surfaces import SurfaceRequest, SurfaceResult, SurfaceService
from bpgui.widgets.elided import ClampedLabel
from bpgui.widgets.fields import NumberEdit, mark, with_error
from bpgui.widgets.flow_layout import flow_row
from bpgui.widgets.theme import set_role
from bpgui_engine.model.presets import BOOK_OPTIMUM, get_preset
from bpgui_engine.model.setup import Setup
from bpgui_engine.train.history import Decimator, History
from bpgui_engine.train.pathdec import PathDecimator

RESOLUTIONS = (50, 100, 200, 400)
BOOK_SPEC = get_preset("book-1-2-1").spec


class PlotsPane(QWidget):
    ranges_edited = Signal(object)  # ((x0, x1), (y0, y1))
    start_requested = Signal(float, float)

    def __init__(self, surfaces: SurfaceService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.surfaces = surfaces
        self.setup: Setup | None = None
        self.contour = ContourPlot()
        self.contour.start_requested.connect(self.start_requested)
        self.view3d = Surface3DView()
        self.curves = CurvesPlot()
        self.accuracy = AccuracyCurves(self.curves)  # test error and accuracy
        self.response = ResponsePlot()
        self.decision = DecisionPlot()
        self.decimator = Decimator(max_blocks=1024)
        self.pathdec = PathDecimator(2000)
        self._path_key: tuple | None = None
        self._decimated: History | None = None  # the history the decimators follow
        self.slice_x: np.ndarray | None = None  # free vector the contour was drawn through
        self.slice_epoch: int | None = None  # ... at this epoch (None/0: the start)
        self._asked: tuple[np.ndarray, int | None] | None = None  # the newest slice asked
        self.surface: SurfaceResult | None = None
        self._last_path: tuple | None = None

        # contour controls
        self.x0 = NumberEdit(0, "x minimum", label="x minimum")
        self.x1 = NumberEdit(1, "x maximum", label="x maximum")
        self.y0 = NumberEdit(0, "y minimum", label="y minimum")
        self.y1 = NumberEdit(1, "y maximum", label="y maximum")
        for w in (self.x0, self.x1, self.y0, self.y1):
            w.setFixedWidth(64)
            w.editingFinished.connect(self._ranges_typed)
        self.scale = QComboBox()
        self.scale.addItems(["log colour", "linear colour"])
        self.scale.setToolTip("colour scale of the error surface")
        self.scale.currentIndexChanged.connect(lambda _: self.request_surface())
        self.resolution = QComboBox()
        for r in RESOLUTIONS:
            self.resolution.addItem(f"{r} x {r}", r)
        self.resolution.setCurrentIndex(2)
        self.resolution.setToolTip("grid points per axis")
        self.resolution.currentIndexChanged.connect(lambda _: self.request_surface())
        self.fit_button = QPushButton("Fit to trajectory")
        self.fit_button.setToolTip("set the ranges around the current path (Ctrl+F)")
        self.fit_button.clicked.connect(self.fit_to_trajectory)

        def group(*ws: QWidget) -> QWidget:
            box = QWidget()
            h = QHBoxLayout(box)
            h.setContentsMargins(0, 0, 0, 0)
            h.setSpacing(3)
            for w in ws:
                h.addWidget(w)
            return box

        # wraps onto a second line when the window is narrow, instead of cutting widgets
        controls = flow_row(
            group(QLabel("x"), self.x0, self.x1),
            group(QLabel("y"), self.y0, self.y1),
            self.fit_button,
            self.resolution,
            self.scale,
        )
        # at most three lines (two in a small window): the contour keeps its room
        self.hint = ClampedLabel("Click on the contour to start training.", max_lines=3)
        self.hint.setStyleSheet("font-size: 14px; color: #ffd23f;")
        self.slice_info = QLabel()
        set_role(self.slice_info, "dim")
        self.slice_info.setWordWrap(True)
        self.slice_info.setToolTip(
            "with more than two free parameters the contour is a slice through the "
            "parameters at one epoch; this says how far the others have moved since"
        )
        head = QHBoxLayout()
        head.addWidget(self.hint, 1)
        head.addWidget(self.slice_info)

        contour_page = QWidget()
        cl = QVBoxLayout(contour_page)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(head)
        cl.addWidget(with_error(controls, self.x0, self.x1, self.y0, self.y1))
        cl.addWidget(self.contour, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(contour_page, "Contour")
        self.tabs.addTab(self.view3d, "3-D surface")
        self.tabs.currentChanged.connect(self._tab_changed)

        self.outputs = OutputTabs(self.response, self.decision)
        right = self.right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.curves)
        right.addWidget(self.outputs)
        right.setSizes([500, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(right)
        split.setSizes([700, 450])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        surfaces.ready.connect(self._surface_ready)

    # ---- problem -----------------------------------------------------------------------
    def set_setup(self, setup: Setup, objective, problem_changed: bool) -> None:
        prev, self.setup = self.setup, setup
        if (
            problem_changed
            or prev is None
            or (prev.axes, prev.ranges) != (setup.axes, setup.ranges)
        ):
            self.surface = None  # the surface shown belongs to the previous setup
            self.contour.set_pending(setup.axes, setup.ranges)
        self.objective = objective
        (x0, x1), (y0, y1) = setup.ranges
        for w, v in ((self.x0, x0), (self.x1, x1), (self.y0, y0), (self.y1, y1)):
            w.set_value(v)
        if problem_changed:
            self.response.set_problem(setup.spec, objective.data, objective.validation)
            self.response.set_theta(setup.theta_array)
            self.accuracy.reset(setup)
            self.outputs.set_problem(setup, self.right)
        self.contour.set_optimum(self._optimum(setup))
        self.contour.value_name = setup.index_name
        if problem_changed:  # nothing of the old problem's run or slice is read again
            self.slice_x = self.slice_epoch = self._asked = None
            self.reset_decimation()

    def _optimum(self, setup: Setup) -> tuple[float, float] | None:
        """The book's optimum, when the slice is of the book's problem through it."""
        d = setup.data
        book = (d.kind, d.preset, d.normalize, d.validation) == ("preset", "book-1-2-1", "none", 0)
        if not book or setup.spec != BOOK_SPEC:
            return None
        fixed = [k for k, lab in enumerate(setup.spec.labels) if lab not in setup.free]
        if any(setup.theta[k] != BOOK_OPTIMUM[k] for k in fixed):
            return None
        i, j = setup.spec.index(setup.axes[0]), setup.spec.index(setup.axes[1])
        return float(BOOK_OPTIMUM[i]), float(BOOK_OPTIMUM[j])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.hint.set_max_lines(3 if self.height() >= 640 else 2)

    def request_surface(self, x: np.ndarray | None = None, epoch: int | None = None) -> None:
        """Recompute the contour through free vector ``x`` (default: the slice asked for
        last).  :attr:`slice_x` changes when that surface is drawn, not before: the
        readout describes the slice on screen."""
        s = self.setup
        if s is None:
            return
        if x is not None:
            self._asked = (np.array(x, float), epoch)
        elif self._asked is not None:
            epoch = self._asked[1]
        theta = s.theta_array if self._asked is None else s.full_theta(self._asked[0])
        self.surfaces.request(
            SurfaceRequest(
                s.spec,
                self.objective.data,
                theta,
                s.axes,
                s.ranges,
                self.resolution.currentData(),
                s.performance,
                log_levels=self.scale.currentIndex() == 0,
                tag=epoch,
                penalty=(s.l2, s.l1),
            )
        )
        self.update_slice_info(self._decimated)  # "(redrawing at epoch …)" until it comes

    def _surface_ready(self, res: SurfaceResult) -> None:
        self.surface = res
        s = self.setup
        if s is not None and len(res.request.theta) == s.spec.n_params:
            self.slice_x = np.array(res.request.theta[s.free_idx], float)
            self.slice_epoch = res.request.tag if isinstance(res.request.tag, int) else None
            self.update_slice_info(self._decimated)
        self.contour.set_surface(res, log_scale=self.scale.currentIndex() == 0)
        self.view3d.value_name = self.contour.value_name
        self.view3d.set_surface(res)
        if self.tabs.currentIndex() == 1:
            self._sync_3d_markers()

    # ---- history -------------------------------------------------------------------------
    def show_start(self, start: np.ndarray | None) -> None:
        """No current run: an empty path and curves, and the marker where the next run
        starts (free vector ``start``; None: no marker)."""
        self.reset_decimation()
        self._last_path = None
        self.contour.clear_path()
        self.curves.set_history(None, np.empty(0, dtype=np.int64))
        self.accuracy.clear()
        point = None
        if start is not None and self.setup is not None:
            x, y = self.setup.axis_values(np.asarray(start, float)[None, :])
            point = (float(x[0]), float(y[0]))
            if len(start) == len(self.setup.free):
                self.decision.set_theta(self.setup.full_theta(np.asarray(start, float)))
        self.contour.set_start(point)
        if self.tabs.currentIndex() == 1:
            self.view3d.set_path(np.empty(0), np.empty(0), np.empty(0))
            self._sync_3d_markers()

    def set_earlier(self, runs) -> None:
        """Earlier runs (:class:`~bpgui.document.runs.ArchivedRun` of this problem), projected
        onto the current axes."""
        s = self.setup
        paths = [s.axis_values(r.X) for r in runs] if s is not None else []
        self.contour.set_previous(paths)
        self.curves.set_previous([(r.epochs, r.performance) for r in runs])

    def set_restarts(self, res, highlight: int | None = None) -> None:
        """A restart batch's paths and curves (None: none), projected onto the current
        axes, with run ``highlight`` drawn bold."""
        s = self.setup
        if res is None or s is None:
            self.contour.set_restarts([])
            self.curves.set_overlays([])
            self.contour.set_highlight(None, None)
            return
        n = res.path.shape[1]
        self.contour.set_restarts([s.axis_values(res.path[:, i, :]) for i in range(n)])
        self.curves.set_overlays([(res.path_epochs, res.path_performance[:, i]) for i in range(n)])
        if highlight is not None and 0 <= highlight < n:
            self.contour.set_highlight(*s.axis_values(res.path[:, highlight, :]))
        else:
            self.contour.set_highlight(None, None)

    def show_history(self, h: History, finished: bool, slow_parts: bool) -> None:
        if len(h) == 0 or self.setup is None:
            return
        if h is not self._decimated:  # another run: start the decimation afresh
            self.reset_decimation()
            self._decimated = h
        idx = self.decimator.update(h.column("sse"), h.column("epoch"))  # min/max of the error
        pidx = self._path_indices(h)  # the path: evenly along its length
        xs, ys = self.setup.axis_values(h.x[pidx])
        self.contour.set_path(xs, ys, finished)
        self.curves.set_history(h, idx)
        self._last_path = (xs, ys, h.column("performance")[pidx])
        self.accuracy.update(h)
        if self.decision.active:  # every frame: Playground's live regions
            self.decision.set_theta(self.setup.full_theta(h.x[-1]))
        if slow_parts:
            self.response.set_theta(self.setup.full_theta(h.x[-1]))
            if self.tabs.currentIndex() == 1:
                self.view3d.set_path(*self._last_path)
                self._sync_3d_markers()
        self.update_slice_info(h)

    def shown_rows(self, h: History) -> np.ndarray | None:
        """The rows of ``h`` the curves and the path draw (and those not drawn yet);
        None when ``h`` is not the history shown."""
        if h is not self._decimated or not len(h):
            return None
        idx = self.decimator.update(h.column("sse"), h.column("epoch"))
        done = self.pathdec.follow(h.column("epoch"))
        path = np.concatenate([self.pathdec.kept_rows(), np.arange(done, len(h))])
        return np.concatenate([idx, path])

    def reset_decimation(self) -> None:
        self.decimator.reset()
        self.pathdec.reset()
        self._path_key = None
        self._decimated = None

    def _path_indices(self, h: History) -> np.ndarray:
        s = self.setup
        key = (s.axes, s.ranges)
        done = self.pathdec.follow(h.column("epoch"))  # rows a thinning history moved
        if key != self._path_key or len(h) < done:
            self.pathdec.reset()
            self._path_key = key
            done = self.pathdec.follow(h.column("epoch"))
        xs, ys = s.axis_values(h.x[done:])
        (x0, x1), (y0, y1) = s.ranges
        return self.pathdec.update(xs, ys, (x1 - x0, y1 - y0))

    def slice_drift(self, x: np.ndarray) -> float:
        """How far the free parameters other than the axes are from the drawn slice."""
        s = self.setup
        if self.slice_x is None or s is None:
            return 0.0
        others = [i for i, f in enumerate(s.free) if f not in s.axes]
        if not others:
            return 0.0
        with np.errstate(all="ignore"):
            return float(np.linalg.norm(x[others] - self.slice_x[others]))

    def update_slice_info(self, h: History | None) -> None:
        s = self.setup
        if s is None or h is None or len(h) == 0 or len(s.free) <= 2 or h.n_free != len(s.free):
            self.slice_info.setText("")
            return
        drift = self.slice_drift(h.x[-1])
        at = "the start" if not self.slice_epoch else f"epoch {self.slice_epoch:,}"
        text = f"slice drawn at {at}; other {len(s.free) - 2} parameters moved by {drift:.3g}"
        shown = self.surface
        if shown is not None and shown.surface.xs.size < shown.request.resolution:
            n = shown.surface.xs.size  # coarsened by the compute job for a large network
            text += f"; a {n}x{n} grid for a network this size"
        if self.surfaces.busy and self._asked is not None and self._asked[1] != self.slice_epoch:
            asked = self._asked[1]
            text += f" (redrawing at epoch {asked:,}…)" if asked else " (redrawing…)"
        self.slice_info.setText(text)

    # ---- ranges --------------------------------------------------------------------------
    def _ranges_typed(self) -> None:
        vals = []
        for w in (self.x0, self.x1, self.y0, self.y1):
            if w.check():
                return
            vals.append(float(w.value()))
        bad = None
        if not vals[1] > vals[0]:
            bad = self.x1
        elif not vals[3] > vals[2]:
            bad = self.y1
        if bad is not None:
            mark(bad, "the maximum must be above the minimum")
            return
        rng = ((vals[0], vals[1]), (vals[2], vals[3]))
        if self.setup is not None and rng != self.setup.ranges:
            self.ranges_edited.emit(rng)

    def fit_to_trajectory(self) -> None:
        b = self.contour.path_bounds()
        if b is not None:
            self.ranges_edited.emit(b)

    def _tab_changed(self, index: int) -> None:
        if index == 1 and self.view3d.ensure() and self.surface is not None:
            self.view3d.set_surface(self.surface)
            empty = (np.empty(0), np.empty(0), np.empty(0))
            self.view3d.set_path(*(self._last_path or empty))
            self._sync_3d_markers()

    def _sync_3d_markers(self) -> None:
        """The 3-D view's start, end and optimum: the contour's markers."""
        c = self.contour

        def point(item):
            xs, ys = item.getData()
            return None if xs is None or len(xs) == 0 else (float(xs[-1]), float(ys[-1]))

        end = point(c.end_marker) or point(c.current_marker)
        self.view3d.set_markers(point(c.start_marker), end, point(c.optimum))
