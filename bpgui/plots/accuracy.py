"""Training and test accuracy (and the test set's SSE beside the training SSE) on the
error-curve plot, for data with a test set or classes.

The engine's history has the training SSE of every epoch; the test set's error and both
accuracies are computed here from the history's parameters: at each frame for the
newest epoch, and for a history opened or replayed, at up to :data:`BACKFILL` epochs
spaced evenly on a log scale.  A forward pass of both sets per sample: microseconds for
a playground network."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg

from bpgui.plots.curves import LEFT_AXIS_PX
from bpgui.plots.log_axis import log_axes
from bpgui_engine.analysis.classify import metrics

BACKFILL = 200
MAX_POINTS = 4000  # past this, every other point is dropped (memory stays bounded)
MIN_INTERVAL_S = 0.1  # a run's metrics are sampled at most ten times a second


class MetricsTrack:
    """The sampled metrics of one run (``epochs`` and a :class:`Metrics`-like dict)."""

    def __init__(self) -> None:
        self.setup = None
        self.clear()

    def clear(self) -> None:
        self._next = 0.0  # no sample before this (monotonic seconds)
        self.history = None
        self.epochs = np.empty(0)
        self.values: dict[str, np.ndarray] = {}

    def reset(self, setup) -> None:
        """A new problem: nothing of the old one's metrics stays."""
        self.setup = setup
        self.clear()

    @property
    def wanted(self) -> bool:
        """Whether the problem has anything to show (a test set or classes)."""
        if self.setup is None:
            return False
        try:
            p = self.setup.data.prepare()
        except ValueError:
            return False
        return p.test is not None or p.classes > 0

    def update(self, h) -> bool:
        """Follow history ``h``; True when something was added."""
        if h is None or not len(h) or not self.wanted or h.n_free != len(self.setup.free):
            return False
        ep = h.column("epoch")
        if h is not self.history:  # another run (or one opened): sample it afresh
            self.history = h
            rows = np.unique(np.geomspace(1, len(h), min(BACKFILL, len(h))).astype(int) - 1)
            self._set(ep[rows], h.x[rows])
            return True
        if len(self.epochs) and ep[-1] <= self.epochs[-1]:
            return False
        now = time.monotonic()
        if now < self._next and h.stop is None:  # large sets: a tenth of the GUI's time
            # at most (the run's last epoch is always sampled)
            return False
        self._add(ep[-1:], h.x[-1:])
        self._next = now + max(MIN_INTERVAL_S, 9 * (time.monotonic() - now))
        return True

    def _set(self, epochs, X) -> None:
        m = metrics(self.setup, X)
        self.epochs = np.asarray(epochs, float)
        self.values = {k: getattr(m, k) for k in ("test_sse", "train_acc", "test_acc")}

    def _add(self, epochs, X) -> None:
        m = metrics(self.setup, X)
        self.epochs = np.concatenate([self.epochs, np.asarray(epochs, float)])
        for k in self.values:
            self.values[k] = np.concatenate([self.values[k], getattr(m, k)])
        if len(self.epochs) > MAX_POINTS:  # keep the first and the newest
            keep = np.r_[0 : len(self.epochs) - 1 : 2, len(self.epochs) - 1]
            self.epochs = self.epochs[keep]
            self.values = {k: v[keep] for k, v in self.values.items()}

    def latest(self) -> dict[str, float] | None:
        if not len(self.epochs):
            return None
        return {k: float(v[-1]) for k, v in self.values.items()}


class AccuracyCurves:
    """The accuracy plot under the error curves (shown for classes) and the test SSE on
    the SSE plot; ``curves`` is the :class:`~bpgui.plots.curves.CurvesPlot`."""

    def __init__(self, curves) -> None:
        self.curves = curves
        self.track = MetricsTrack()
        # always in the layout (a parentless plot item left to the garbage collector is
        # a crash risk): collapsed to no height while there are no classes
        self.plot = curves.glw.addPlot(row=2, col=0, axisItems=log_axes())
        self.plot.setMenuEnabled(False)
        self.plot.setXLink(curves.sse_plot)
        self.plot.setLabel("left", "accuracy")
        self.plot.getAxis("left").setWidth(LEFT_AXIS_PX)  # lined up with the curves above
        self.plot.setYRange(0.0, 1.0, padding=0.04)
        self.plot.addLegend(offset=(-10, -10))
        self.train = self.plot.plot(name="training", pen=pg.mkPen("#2ec4b6", width=1.5))
        self.test = self.plot.plot(
            name="test", pen=pg.mkPen("#ff9f1c", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self.test_sse = curves.sse_plot.plot(  # listed in the legend while it has data
            pen=pg.mkPen("#ff9f1c", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self._shown = True
        self._show_plot(False)
        curves.log_x.toggled.connect(self._log_x)
        self._legend(False)

    def _show_plot(self, on: bool) -> None:
        if on == self._shown:
            return
        self._shown = on
        self.plot.setVisible(on)
        self.plot.setMaximumHeight(1e6 if on else 0)
        self.plot.setMinimumHeight(60 if on else 0)
        self.curves.glw.ci.layout.setRowStretchFactor(2, 2 if on else 0)

    def _log_x(self, on: bool) -> None:
        self.plot.setLogMode(x=on, y=False)
        self.draw()

    def reset(self, setup) -> None:
        self.track.reset(setup)
        self.draw()

    def update(self, h) -> None:
        if self.track.update(h):
            self.draw()

    def clear(self) -> None:
        self.track.clear()
        self.draw()

    def draw(self) -> None:
        t = self.track
        classes = t.wanted and t.setup.data.prepare().classes > 0
        self._show_plot(bool(classes))
        ep = np.maximum(t.epochs, 0.5) if self.curves.log_x.isChecked() else t.epochs
        has = len(ep) > 0
        for item, key in ((self.train, "train_acc"), (self.test, "test_acc"),
                          (self.test_sse, "test_sse")):  # fmt: skip
            y = t.values.get(key) if has else None
            if y is None or np.isnan(y).all():
                item.setData([], [])
                continue
            if key == "test_sse":  # on the training set's scale: the SSE sums its samples
                y = np.maximum(y * self._scale(), 1e-300)
            item.setData(ep, y, connect="finite")
        self._legend(has and not np.isnan(t.values.get("test_sse", np.nan)).all())

    def _scale(self) -> float:
        p = self.track.setup.data.prepare()
        if p.test is None:
            return 1.0
        return p.train.n_samples / p.test.n_samples

    def _legend(self, on: bool) -> None:
        legend = self.curves.sse_plot.legend
        listed = legend.getLabel(self.test_sse) is not None
        name = "test SSE"
        if on and self._scale() != 1.0:
            p = self.track.setup.data.prepare()
            name += f" × {p.train.n_samples}/{p.test.n_samples}"
        if listed and (not on or legend.getLabel(self.test_sse).text != name):
            legend.removeItem(self.test_sse)
            listed = False
        if on and not listed:
            legend.addItem(self.test_sse, name)
