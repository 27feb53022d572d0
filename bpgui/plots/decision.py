"""The decision map: the network's output over the input plane, coloured by class with the
confidence as saturation (TensorFlow Playground's view), behind the training points (●)
and the test points (○, a toggle); "discretize" shows hard class regions.  Every layer's
activations over the same grid come with each redraw (``maps_ready``: the network
diagram's thumbnails).

One forward pass of the grid (100 x 100 points) per frame, in NumPy: a few milliseconds
for a 2-8-8-1 network (``benchmarks/bench_decision.py``)."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from bpgui.plots.decision_colours import class_colour, decision_rgba
from bpgui.widgets.elided import ElidedLabel
from bpgui_engine.analysis.classify import GridInputs, grid_inputs, layer_maps
from bpgui_engine.analysis.contour import isolines

RESOLUTION = 100
MAX_POINTS = 2000  # points drawn per set: more hide the map and slow every frame
MAPS_INTERVAL_MS = 150  # the neurons' maps go to the diagram about seven times a second


def _shown(n: int) -> np.ndarray | slice:
    """Which of ``n`` points are drawn: all, or :data:`MAX_POINTS` evenly spread."""
    if n <= MAX_POINTS:
        return slice(None)
    return np.linspace(0, n - 1, MAX_POINTS).astype(np.intp)


class DecisionPlot(QWidget):
    #: per layer (the inputs first) the (S_m, n, n) activations over the grid, or None
    maps_ready = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "x₁")
        self.plot.setLabel("left", "x₂")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        # training points filled with a white rim (Playground's); test points rings in the
        # class colour over a dark halo: both visible on either class's region
        self.train_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#ffffff", width=1.0))
        self.test_halo = pg.ScatterPlotItem(size=7, brush=None, pen=pg.mkPen("#202020", width=3))
        self.test_points = pg.ScatterPlotItem(size=7, brush=None)
        for z, item in enumerate((self.train_points, self.test_halo, self.test_points)):
            item.setZValue(10 + z)
            self.plot.addItem(item)
        self.note = ElidedLabel("", "what the map shows: classes, training and test points")
        self.show_test = QCheckBox("test points ○")
        self.show_test.setChecked(True)
        self.show_test.setToolTip("show the test set (not trained on) as hollow circles")
        self.show_test.toggled.connect(self.test_points.setVisible)
        self.show_test.toggled.connect(self.test_halo.setVisible)
        self.discrete = QCheckBox("discretize")
        self.discrete.setToolTip("hard class regions instead of confidence as saturation")
        self.discrete.toggled.connect(lambda _on: self._redraw())
        self.show_test.setText("test ○")
        top = QHBoxLayout()
        top.addWidget(self.note, 1)  # elided in a narrow pane (its tooltip has it all)
        top.addWidget(self.show_test)
        top.addWidget(self.discrete)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.widget, 1)
        # where the class changes (one output: 0.5; several: the top two are equal)
        self.boundary = pg.PlotCurveItem(pen=pg.mkPen("#202020", width=1.5))
        self.boundary.setZValue(5)
        self.plot.addItem(self.boundary)
        self.key = self.plot.addLegend(offset=(4, 4), brush=(255, 255, 255, 170),
                                       labelTextColor="#202020")  # fmt: skip
        self.key.setZValue(20)
        self._key_items: list = []  # legend-only samples: a class's colour, a test ring
        self.neutral = (235, 235, 235)
        self.spec = None
        self.classes = 0
        self.grid: GridInputs | None = None
        self._maps_at = -1e9
        self._maps_timer = QTimer(self)
        self._maps_timer.setSingleShot(True)
        self._maps_timer.timeout.connect(self._emit_maps)
        self.theta: np.ndarray | None = None
        self.maps: list[np.ndarray] | None = None

    @property
    def active(self) -> bool:
        """Whether the data is in the plane (a map to draw)."""
        return self.grid is not None

    def set_problem(self, setup) -> None:
        """The problem's data and network: the grid, the points; None/not in the plane:
        nothing to draw."""
        self.theta = self.maps = None
        prep = None
        if setup is not None:
            try:
                prep = setup.data.prepare()
            except ValueError:
                prep = None
        self._set_key(prep)
        if prep is None or not prep.in_plane:
            self.grid, self.spec = None, None
            self.image.clear()
            self.boundary.setData([], [])
            for item in (self.train_points, self.test_points, self.test_halo):
                item.setData([])
            self.note.setText("the decision map needs data in the plane (two inputs)")
            self.maps_ready.emit(None)
            return
        self.spec, self.classes = setup.spec, prep.classes
        self.grid = grid_inputs(prep, RESOLUTION)
        x0, x1, y0, y1 = self.grid.extent
        n = self.grid.n
        dx, dy = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
        # placed after each image is set: pyqtgraph scales the rect by the image's size
        self._rect = QRectF(x0 - dx / 2, y0 - dy / 2, dx * n, dy * n)
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        for item, plane, filled in ((self.train_points, prep.plane_train, True),
                                    (self.test_points, prep.plane_test, False)):  # fmt: skip
            if plane is None:
                item.setData([])
                continue
            k = _shown(len(plane.y))  # a large set: an even sample of its points
            X, y = plane.X[:, k], plane.y[k]
            item.setData(X[0], X[1], **self._point_style(y, filled))
            if not filled:
                self.test_halo.setData(X[0], X[1])
        if prep.plane_test is None:
            self.test_halo.setData([])
        what = f"{prep.classes} classes" if prep.classes else "regression"
        test = prep.test.n_samples if prep.test is not None else 0
        text = f"{what}: {prep.train.n_samples:,} training points ●, {test:,} test points ○"
        if max(prep.train.n_samples, test) > MAX_POINTS:
            text += f" ({MAX_POINTS:,} of each drawn)"
        self.note.setText(text)
        self.show_test.setEnabled(test > 0)

    def _set_key(self, prep) -> None:
        """The colour key: each class's colour (filled: training), a ring: test."""
        self.key.clear()
        self._key_items = []
        if prep is None or not prep.in_plane:
            return
        names = [f"class {k}" for k in range(prep.classes)] or ["target < 0", "target > 0"]
        for k, name in enumerate(names):
            item = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(*class_colour(k)),
                                      pen=pg.mkPen("#ffffff", width=1.0))  # fmt: skip
            self._key_items.append(item)
            self.key.addItem(item, name)
        if prep.plane_test is not None:
            ring = pg.ScatterPlotItem(size=8, brush=None, pen=pg.mkPen("#202020", width=2))
            self._key_items.append(ring)
            self.key.addItem(ring, "test ○")

    def _point_style(self, y: np.ndarray, filled: bool) -> dict:
        if self.classes:
            cols = [pg.mkColor(*class_colour(int(k))) for k in y]
        else:
            t = np.clip(y, -1, 1)
            cols = [pg.mkColor(*class_colour(int(v > 0))) for v in t]
        if filled:
            return {"brush": cols}
        return {"pen": [pg.mkPen(c, width=2.0) for c in cols], "brush": None}

    def set_theta(self, theta: np.ndarray) -> None:
        """Redraw for the full parameter vector ``theta``."""
        if self.grid is None or self.spec is None or len(theta) != self.spec.n_params:
            return
        self.theta = np.asarray(theta, float)
        self._redraw()

    def set_neutral(self, rgb) -> None:
        """The colour of no confidence (the theme's background)."""
        self.neutral = tuple(rgb)
        self._redraw()

    def _redraw(self) -> None:
        if self.grid is None or self.theta is None:
            return
        with np.errstate(all="ignore"):
            self.maps = layer_maps(self.spec, self.theta, self.grid, single=True)
            img = decision_rgba(self.maps[-1], self.classes, self.discrete.isChecked(),
                                self.neutral)  # fmt: skip
        self.image.setImage(img, autoLevels=False)
        self.image.setRect(self._rect)
        self._draw_boundary(self.maps[-1])
        self._emit_maps()

    def _draw_boundary(self, out: np.ndarray) -> None:
        """The decision boundary as a line: one output at 0.5 (regression: 0); several
        where each class's output equals the largest of the others'."""
        x0, x1, y0, y1 = self.grid.extent
        xs, ys = np.linspace(x0, x1, self.grid.n), np.linspace(y0, y1, self.grid.n)
        with np.errstate(all="ignore"):
            if out.shape[0] == 1:
                fields = [out[0] - (0.5 if self.classes else 0.0)]
            else:
                fields = [out[k] - np.delete(out, k, axis=0).max(axis=0) for k in range(len(out))]
            parts = [isolines(xs, ys, f, np.array([0.0])) for f in fields if np.isfinite(f).all()]
        if not parts:
            self.boundary.setData([], [])
            return
        bx = np.concatenate([p[0] for p in parts])
        by = np.concatenate([p[1] for p in parts])
        self.boundary.setData(bx, by, connect="pairs")

    def _emit_maps(self) -> None:
        """``maps_ready`` at most every :data:`MAPS_INTERVAL_MS` (the diagram's thumbnails
        and repaint cost more than the map): the latest maps, always, once that passes."""
        wait = MAPS_INTERVAL_MS - (time.monotonic() - self._maps_at) * 1000
        if wait > 0:
            if not self._maps_timer.isActive():
                self._maps_timer.start(int(wait) + 1)
            return
        self._maps_at = time.monotonic()
        if self.grid is None or self.maps is None:
            return
        g = self.grid
        self.maps_ready.emit([g.inputs.reshape(-1, g.n, g.n), *self.maps])
