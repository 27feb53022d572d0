"""The network's response against the targets (the function-fit view)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bpgui_engine.data import Dataset
from bpgui_engine.network import NetworkSpec

N_DENSE = 300


class ResponsePlot(QWidget):
    """One input: targets as points and the response as a curve over the input range.
    Several inputs: targets and responses of the first output against the sample index."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setContentsMargins(2, 10, 6, 2)  # room for the top tick label
        self.plot.disableAutoRange()  # ranges follow the data, not the moving response
        for name in ("left", "bottom"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(10, 10))
        self.targets = self.plot.plot(
            name="targets", pen=None, symbol="o", symbolSize=6, symbolBrush="#2ec4b6"
        )
        self.val_targets = self.plot.plot(
            name="validation", pen=None, symbol="t", symbolSize=7, symbolBrush="#ff9f1c"
        )
        self.response = self.plot.plot(name="network", pen=pg.mkPen("#ffffff", width=2))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self._spec: NetworkSpec | None = None
        self._dense: np.ndarray | None = None
        self._t_range = self._y_range = (0.0, 1.0)

    def set_problem(self, spec: NetworkSpec, data: Dataset, validation: Dataset | None) -> None:
        self._spec, self._data = spec, data
        one = spec.n_inputs == 1
        if one:
            p = data.P[0]
            lo, hi = float(p.min()), float(p.max())
            pad = 0.05 * (hi - lo or 1.0)
            self._dense = np.linspace(lo - pad, hi + pad, N_DENSE)[None, :]
            self.targets.setData(p, data.T[0])
            if validation is not None:
                self.val_targets.setData(validation.P[0], validation.T[0])
            else:
                self.val_targets.setData([], [])
            self.plot.setLabel("bottom", "input p")
        else:
            self._dense = None
            self.targets.setData(np.arange(data.n_samples), data.T[0])
            self.val_targets.setData([], [])
            self.plot.setLabel("bottom", "sample")
        self.plot.setLabel("left", "target t, response a")
        legend = self.plot.legend
        has_val = one and validation is not None
        if has_val and legend.getLabel(self.val_targets) is None:
            legend.addItem(self.val_targets, "validation")
        elif not has_val and legend.getLabel(self.val_targets) is not None:
            legend.removeItem(self.val_targets)
        x = self._dense[0] if one else np.arange(data.n_samples)
        t = data.T[0]
        pad = 0.15 * (float(t.max() - t.min()) or 1.0)
        self.plot.setXRange(float(x.min()), float(x.max()), padding=0.02)
        self._t_range = (float(t.min()) - pad, float(t.max()) + pad)
        self._y_range = self._t_range
        self.plot.setYRange(*self._y_range, padding=0)

    def _fit_y(self, a: np.ndarray) -> None:
        """Widen the y range when the response leaves it (in steps, never per frame);
        at most ten times the targets' span, so a diverging net does not flatten them."""
        fin = a[np.isfinite(a)]
        if not fin.size:
            return
        lo_t, hi_t = self._t_range
        span_t = hi_t - lo_t
        lo = max(min(lo_t, float(fin.min())), lo_t - 10 * span_t)
        hi = min(max(hi_t, float(fin.max())), hi_t + 10 * span_t)
        if lo < self._y_range[0] or hi > self._y_range[1]:
            pad = 0.1 * (hi - lo)
            self._y_range = (lo - pad, hi + pad)
            self.plot.setYRange(*self._y_range, padding=0)

    def set_theta(self, theta: np.ndarray) -> None:
        self.theta = np.array(theta, dtype=float)  # what the curve shows
        if self._spec is None:
            return
        P = self._dense if self._dense is not None else self._data.P
        with np.errstate(all="ignore"):
            a = self._spec.output(theta, P)[0]
        a = np.where(np.isfinite(a), a, np.nan)
        self._fit_y(a)
        x = P[0] if self._dense is not None else np.arange(P.shape[1])
        self.response.setData(x, a, connect="finite")
