"""The network's response against the targets (the function-fit view)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec

N_DENSE = 300
MAX_OUTPUTS = 6  # outputs drawn (each its targets and response, in its own colour)
#: outputs 2, 3, ...: (targets, response) colours; output 1 keeps teal points, white curve
OUTPUT_COLOURS = ["#ff9f1c", "#e71d36", "#9b5de5", "#00bbf9", "#f15bb5"]


class ResponsePlot(QWidget):
    """One input: targets as points and the response as a curve over the input range.
    Several inputs: targets and responses against the sample index.  Every output (up to
    :data:`MAX_OUTPUTS`) has its targets and its response, the second and later in their
    own colours."""

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
        self._extra: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []  # outputs 2, 3, ...
        self._spec: NetworkSpec | None = None
        self._dense: np.ndarray | None = None
        self._t_range = self._y_range = (0.0, 1.0)

    def _outputs(self, n: int) -> None:
        """Items for outputs 2..n (created or removed as the problem needs)."""
        legend = self.plot.legend
        while len(self._extra) > n - 1:
            for item in self._extra.pop():
                legend.removeItem(item)
                self.plot.removeItem(item)
        while len(self._extra) < n - 1:
            k = len(self._extra) + 2
            c = OUTPUT_COLOURS[(k - 2) % len(OUTPUT_COLOURS)]
            t = self.plot.plot(name=f"targets {k}", pen=None, symbol="o", symbolSize=5,
                               symbolBrush=c)  # fmt: skip
            r = self.plot.plot(name=f"network {k}", pen=pg.mkPen(c, width=2))
            self._extra.append((t, r))

    def set_problem(self, spec: NetworkSpec, data: Dataset, validation: Dataset | None) -> None:
        self._spec, self._data = spec, data
        one = spec.n_inputs == 1
        # several inputs: samples by index, the validation samples after the training ones
        self._P = data.P if validation is None else np.hstack([data.P, validation.P])
        self._outputs(min(spec.n_outputs, MAX_OUTPUTS))
        x_t = data.P[0] if one else np.arange(data.n_samples)
        for k, (t_item, r_item) in enumerate(self._extra, 1):
            t_item.setData(x_t, data.T[k])
            r_item.setData([], [])
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
            n = data.n_samples
            self.targets.setData(np.arange(n), data.T[0])
            if validation is not None:
                self.val_targets.setData(n + np.arange(validation.n_samples), validation.T[0])
            else:
                self.val_targets.setData([], [])
            self.plot.setLabel("bottom", "sample (validation after training)"
                               if validation is not None else "sample")  # fmt: skip
        self.plot.setLabel("left", "target t, response a")
        legend = self.plot.legend
        has_val = validation is not None
        if has_val and legend.getLabel(self.val_targets) is None:
            legend.addItem(self.val_targets, "validation")
        elif not has_val and legend.getLabel(self.val_targets) is not None:
            legend.removeItem(self.val_targets)
        x = self._dense[0] if one else np.arange(self._P.shape[1])
        t = data.T[:MAX_OUTPUTS]
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
        P = self._dense if self._dense is not None else self._P
        with np.errstate(all="ignore"):
            out = self._spec.output(theta, P)[:MAX_OUTPUTS]
        out = np.where(np.isfinite(out), out, np.nan)
        self._fit_y(out)
        x = P[0] if self._dense is not None else np.arange(P.shape[1])
        self.response.setData(x, out[0], connect="finite")
        for (_t, r_item), a in zip(self._extra, out[1:], strict=False):
            r_item.setData(x, a, connect="finite")
