"""Critical points on the contour: a symbol per kind, hover for performance and eigenvalues.

The items are added to the contour's plot item from here (the contour module knows nothing
of them), like :mod:`bpgui.tools.replay`'s cursor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from bpgui.plots.critical_style import KIND_STYLE, describe


class CriticalMarks:
    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.item = pg.ScatterPlotItem(
            size=15, hoverable=True, tip=lambda x, y, data: data, hoverSize=19
        )
        self.item.setZValue(8.5)
        self.selected = pg.ScatterPlotItem(
            symbol="o", size=26, brush=None, pen=pg.mkPen("#ffffff", width=2)
        )
        self.selected.setZValue(8.4)
        plot_item.addItem(self.item)
        plot_item.addItem(self.selected)
        self.points: list = []

    def set_points(self, points, setup) -> None:
        """``points`` (:class:`~engine.analysis.critical.CriticalPoint`) projected onto ``setup``'s
        axes (a parameter not searched keeps its value); ``[]`` clears."""
        self.points = list(points)
        self.selected.setData([], [])
        if not self.points:
            self.item.setData([])
            return
        spots = []
        for p in self.points:
            x, y = _project(p, setup)
            symbol, colour, _ = KIND_STYLE.get(p.kind, KIND_STYLE["undefined"])
            spots.append(
                {
                    "pos": (x, y),
                    "symbol": symbol,
                    "brush": pg.mkBrush(colour),
                    "pen": pg.mkPen("#000000", width=1.2),
                    "data": describe(p),
                }
            )
        self.item.setData(spots)

    def select(self, row: int | None, setup) -> None:
        if row is None or not 0 <= row < len(self.points):
            self.selected.setData([], [])
            return
        x, y = _project(self.points[row], setup)
        self.selected.setData([x], [y])

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = self.item.getData()
        return (np.asarray(xs if xs is not None else []), np.asarray(ys if ys is not None else []))


def _project(p, setup) -> tuple[float, float]:
    params = p.params
    theta = dict(zip(setup.spec.labels, setup.theta, strict=True))
    return tuple(float(params.get(lab, theta[lab])) for lab in setup.axes)
