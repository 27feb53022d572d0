"""Arrows and curves on the contour that explain a step (issue 13 #3, #4): the Hessian's
eigenvector directions and the quadratic approximation's isolines at the current point;
the update vectors with a legend; CG's line-search trial points; the LM step as mu varies.

The items are added to the contour's plot item from here (the contour module knows nothing
of them).  Everything is given in parameter coordinates already projected onto the axes;
an arrow's head is drawn in screen proportions and redrawn when the view is resized.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QApplication

HEAD_PX = 9.0  # arrow head length in pixels
MIN_FRAC, MAX_FRAC = 0.05, 0.3  # drawn arrow lengths, as fractions of the view's diagonal

#: a narrow plot's legend: key -> short name
SHORT_NAMES = {
    "neg_gradient": "−g",
    "step": "Δx",
    "momentum": "γ Δx₋₁",
    "conjugate": "p",
    "gauss_newton": "Gauss-Newton",
    "lm_step": "LM step",
}
LEGEND_SHARE = 0.75  # a legend wider than this share of the plot uses the short names
#: update vectors: key -> (legend name, colour)
VECTOR_STYLE = {
    "neg_gradient": ("−g (negative gradient)", "#ff9f1c"),
    "step": ("Δx (the step taken)", "#ef476f"),
    "momentum": ("γ Δx₋₁ (momentum term)", "#c77dff"),
    "conjugate": ("p (conjugate direction)", "#4cc9f0"),
    "gauss_newton": ("Gauss-Newton step", "#80ed99"),
    "lm_step": ("LM step at μ", "#b5179e"),
}
EIGEN_COLOURS = ("#ffd23f", "#06d6a0")
CORNERS = ((0.0, 1.0), (0.0, 0.0), (1.0, 0.0))  # the legend's: top left, bottom left, right
QUAD_PEN = pg.mkPen((255, 210, 63, 170), width=1.2, style=Qt.PenStyle.DashLine)


class Arrows:
    """A set of arrows (shaft + head) in one plot, reused between frames."""

    def __init__(self, plot_item: pg.PlotItem, z: float = 9.0) -> None:
        self.plot_item = plot_item
        self.z = z
        self.items: dict[str, pg.PlotDataItem] = {}
        self.arrows: dict[str, tuple[float, float, float, float]] = {}  # key -> x, y, dx, dy
        plot_item.getViewBox().sigResized.connect(self._redraw)

    def set(self, arrows: dict[str, tuple[float, float, float, float, str]]) -> None:
        """``key -> (x, y, dx, dy, colour)``; keys not given are removed."""
        for key in list(self.items):
            if key not in arrows:
                self.plot_item.removeItem(self.items.pop(key))
                self.arrows.pop(key, None)
        for key, (x, y, dx, dy, colour) in arrows.items():
            item = self.items.get(key)
            if item is None:
                item = pg.PlotDataItem(pen=pg.mkPen(colour, width=2.5), connect="finite")
                item.setZValue(self.z)
                self.plot_item.addItem(item)
                self.items[key] = item
            item.setPen(pg.mkPen(colour, width=2.5))
            self.arrows[key] = (x, y, dx, dy)
        self._redraw()

    def _redraw(self, *_) -> None:
        vb = self.plot_item.getViewBox()
        sx, sy = vb.viewPixelSize()
        for key, (x, y, dx, dy) in self.arrows.items():
            self.items[key].setData(*_arrow_path(x, y, dx, dy, sx, sy))

    def clear(self) -> None:
        self.set({})


def _arrow_path(x, y, dx, dy, sx, sy) -> tuple[np.ndarray, np.ndarray]:
    """Shaft and a head of :data:`HEAD_PX` pixels (``sx``, ``sy``: view units per pixel)."""
    if not all(map(math.isfinite, (x, y, dx, dy))) or (dx == 0 and dy == 0):
        return np.empty(0), np.empty(0)
    ex, ey = x + dx, y + dy
    px, py = dx / sx, dy / sy  # the direction in pixels
    n = math.hypot(px, py)
    if n == 0 or not math.isfinite(n):
        return np.array([x, ex]), np.array([y, ey])
    ux, uy = px / n, py / n
    head = min(HEAD_PX, 0.6 * n)
    xs, ys = [x, ex, np.nan], [y, ey, np.nan]
    for s in (1, -1):  # two barbs at +-25 degrees
        c, si = math.cos(math.radians(155)), s * math.sin(math.radians(155))
        bx, by = ux * c - uy * si, ux * si + uy * c
        xs += [ex, ex + bx * head * sx, np.nan]
        ys += [ey, ey + by * head * sy, np.nan]
    return np.array(xs), np.array(ys)


def display_scale(dx: float, dy: float, ranges) -> float:
    """The factor an arrow is drawn with: its length kept between :data:`MIN_FRAC` and
    :data:`MAX_FRAC` of the view's diagonal (in the view's own proportions)."""
    (x0, x1), (y0, y1) = ranges
    n = math.hypot(dx / (x1 - x0), dy / (y1 - y0)) / math.sqrt(2)
    if not math.isfinite(n) or n == 0:
        return 1.0
    return min(max(n, MIN_FRAC), MAX_FRAC) / n


class CurvatureOverlay:
    """The eigenvector directions of the slice's Hessian at the current point (arrows both
    ways, labelled with the eigenvalue) and the quadratic approximation's isolines."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.arrows = Arrows(plot_item, z=9.2)
        self.labels = [pg.TextItem(color=c, anchor=(0, 1)) for c in EIGEN_COLOURS]
        for t in self.labels:
            t.setZValue(9.3)
            plot_item.addItem(t)
        self.quad = pg.PlotCurveItem(connect="pairs", pen=QUAD_PEN)
        self.quad.setZValue(1)
        plot_item.addItem(self.quad)

    def set_eigen(self, point, lam, vecs, ranges) -> None:
        """``point`` (x, y); ``lam`` (2,) and ``vecs`` (2, 2) columns of the slice's Hessian;
        None hides."""
        if point is None or lam is None or not np.all(np.isfinite(vecs)):
            self.arrows.clear()
            for t in self.labels:
                t.setText("")
            return
        (x0, x1), (y0, y1) = ranges
        arrows = {}
        for k in range(2):
            vx, vy = vecs[0, k], vecs[1, k]
            n = math.hypot(vx / (x1 - x0), vy / (y1 - y0))
            f = 0.12 / n if n > 0 else 0.0  # 12 % of the view either way
            colour = EIGEN_COLOURS[k]
            arrows[f"e{k}+"] = (point[0], point[1], f * vx, f * vy, colour)
            arrows[f"e{k}-"] = (point[0], point[1], -f * vx, -f * vy, colour)
            self.labels[k].setText(f"λ{'₁₂'[k]} = {lam[k]:.3g}")
            self.labels[k].setPos(point[0] + f * vx, point[1] + f * vy)
        self.arrows.set(arrows)

    def set_quadratic(self, iso_x: np.ndarray | None, iso_y: np.ndarray | None) -> None:
        self.quad.setData([] if iso_x is None else iso_x, [] if iso_y is None else iso_y)

    def clear(self) -> None:
        self.set_eigen(None, None, None, None)
        self.set_quadratic(None, None)


class VectorsOverlay:
    """The update vectors with their legend, CG's trial points and the LM curve."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.plot_item = plot_item
        self.arrows = Arrows(plot_item, z=9.5)
        # bottom left: the basin map's legend holds the top right, the hint the top
        self.legend = pg.LegendItem(offset=(8, -8), labelTextColor="#ffffff",
                                    brush=pg.mkBrush(0, 0, 0, 150))  # fmt: skip
        self.legend.setParentItem(plot_item.getViewBox())
        self.legend.setZValue(20)
        self.samples = {  # legend swatches (never drawn in the plot)
            k: pg.PlotDataItem(pen=pg.mkPen(c, width=3)) for k, (_n, c) in VECTOR_STYLE.items()
        }
        self.search_line = pg.PlotDataItem(
            pen=pg.mkPen("#4cc9f0", width=1, style=Qt.PenStyle.DotLine)
        )
        self.locate = pg.ScatterPlotItem(symbol="o", size=7, brush="#4cc9f0", pen="k")
        self.golden = pg.ScatterPlotItem(symbol="d", size=8, brush="#ffd23f", pen="k")
        self.lm_curve = pg.PlotDataItem(pen=pg.mkPen("#f72585", width=1.5))
        self.lm_accepted = pg.ScatterPlotItem(symbol="star", size=15, brush="#f72585", pen="w")
        for item, z in ((self.search_line, 9.0), (self.locate, 9.6), (self.golden, 9.7),
                        (self.lm_curve, 9.0), (self.lm_accepted, 9.8)):  # fmt: skip
            item.setZValue(z)
            plot_item.addItem(item)
        self.shown: dict[str, tuple] = {}  # key -> (dx, dy) as projected (not scaled)
        self.corner: tuple[float, float] | None = None  # the legend's (x, y) in the plot, 0 or 1
        self.legend_form = 1  # 1 long rows, 2 short, 3 the names alone, 0 none (no room)
        self.legend.hide()

    def set_vectors(self, point, vectors: dict[str, tuple[float, float, float]], ranges) -> None:
        """``point`` (x, y); ``vectors``: key -> (dx, dy, norm over all free parameters),
        projected; drawn scaled (the legend says by how much)."""
        self.legend.clear()
        if point is None:
            self.arrows.clear()
            self.shown = {}
            self.legend.hide()
            return
        arrows = {}
        self.shown = {}
        rows = []
        for key, (dx, dy, norm) in vectors.items():
            name, colour = VECTOR_STYLE[key]
            f = display_scale(dx, dy, ranges)
            arrows[key] = (point[0], point[1], f * dx, f * dy, colour)
            self.shown[key] = (dx, dy, f)
            same = abs(f - 1) < 1e-9
            rows.append(
                (
                    key,
                    f"{name}: |·| {norm:.3g}{'' if same else f', drawn ×{f:.3g}'}",
                    f"{SHORT_NAMES[key]} |{norm:.3g}|{'' if same else f' ×{f:.3g}'}",
                )
            )
        # a narrow plot (a docked tool beside it): shorter rows, then the names alone, so
        # the legend neither runs past the plot's edge nor covers the arrows it explains;
        # where even the names do not fit, no legend (the equations panel has the numbers)
        vb = self.plot_item.getViewBox()
        fm = QFontMetricsF(QApplication.font())
        for form in (1, 2, 3):
            texts = [r[form] if form < 3 else SHORT_NAMES[r[0]] for r in rows]
            width = max((fm.horizontalAdvance(t) for t in texts), default=0.0) + 40
            height = len(texts) * 1.6 * fm.height() + 10
            fits = vb.width() <= 0 or (
                width <= LEGEND_SHARE * vb.width() and height <= 0.45 * vb.height()
            )
            if fits:
                break
        self.legend_form = form if fits else 0
        for (key, *_), text in zip(rows, texts, strict=True):
            self.legend.addItem(self.samples[key], text)
        self.arrows.set(arrows)
        self._place_legend(point, ranges)
        self.legend.setVisible(bool(vectors) and self.legend_form > 0)

    def _place_legend(self, point, ranges) -> None:
        """In the corner farthest from the point (top left, bottom left or bottom right;
        the basin map's legend holds the top right), so the legend never hides the arrows'
        foot."""
        (x0, x1), (y0, y1) = ranges
        u = (point[0] - x0) / ((x1 - x0) or 1.0)
        v = (point[1] - y0) / ((y1 - y0) or 1.0)
        self.corner = max(CORNERS, key=lambda c: math.hypot(u - c[0], v - c[1]))
        cx, cy = self.corner  # (0, 1): left, top in the plot's coordinates
        anchor = (cx, 1 - cy)  # in Qt's, y down
        self.legend.anchor(itemPos=anchor, parentPos=anchor,
                           offset=(8 if cx == 0 else -8, 8 if cy == 1 else -8))  # fmt: skip

    def add_legend_note(self, item, text: str) -> None:
        if self.legend_form not in (1, 2):  # a narrow plot: the arrows' names, or nothing
            return
        self.legend.addItem(item, text)
        self.legend.show()

    def set_line_search(self, line, locate, golden) -> None:
        """``line``: (xs, ys) of the search line; ``locate``/``golden``: trial points."""
        self.search_line.setData(*(line if line is not None else ([], [])))
        self.locate.setData(*(locate if locate is not None else ([], [])))
        self.golden.setData(*(golden if golden is not None else ([], [])))

    def set_lm(self, curve, accepted) -> None:
        self.lm_curve.setData(*(curve if curve is not None else ([], [])))
        self.lm_accepted.setData(*(accepted if accepted is not None else ([], [])))

    def clear(self) -> None:
        self.set_vectors(None, {}, None)
        self.set_line_search(None, None, None)
        self.set_lm(None, None)
