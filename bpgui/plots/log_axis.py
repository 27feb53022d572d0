"""A log axis whose labels never overlap.

pyqtgraph's log mode labels the decades, but when the view spans about two decades or
less its tick generator has no level spaced a decade or more apart, and the minor ticks
(2…9 × 10ᵏ) become the top level: every one is labelled, and near the top of each decade
the labels 6, 7, 8, 9 sit on each other.  :class:`LogAxis` always makes the decades the
top level and labels a minor tick only where its text clears the decades' and the other
labels' (2 and 5 first), so a short axis shows 0.1, 1, 10 and a tall or narrow-range one
adds 0.2, 0.5, ….  A horizontal linear axis labels every 2nd, 5th or 10th major tick
when its labels would touch (large type, a narrow plot); a vertical linear axis is
pyqtgraph's unchanged.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

MINOR_ORDER = (2, 5, 3, 4, 6, 7, 8, 9)  # which minor ticks get a label first
PLAIN = (-3, 4)  # minor labels only between 10^-3 and 10^4 (outside: "2·10⁻⁹", too wide)
WIDEST = ("10⁻³⁰", "0.002", "5000")  # the widest labels a log axis draws
GAP = 1.1  # a label's clearance: this many text heights between label centres


class LogAxis(pg.AxisItem):
    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.setStyle(maxTextLevel=1)  # the decades, then the minor ticks that fit
        self._px_per_decade = math.inf
        self._range = (0.0, 0.0)  # the view's decades, from the last logTickValues

    def tickValues(self, minVal, maxVal, size):
        """A horizontal linear axis: every k-th major tick keeps its label, the others
        become unlabelled ticks, so that the labels never touch (pyqtgraph draws at least
        three whatever the font: "10002000 3000" in presentation mode's large type on a
        narrow plot)."""
        levels = super().tickValues(minVal, maxVal, size)
        if self.logMode or self.orientation not in ("top", "bottom") or not levels or size <= 0:
            return levels
        spacing, values = levels[0]
        if len(values) < 2 or not spacing:
            return levels
        fm = QFontMetricsF(self.style["tickFont"] or self.font())
        texts = self.tickStrings(values, self.autoSIPrefixScale * self.scale, spacing)
        widest = max(fm.horizontalAdvance(t) for t in texts)
        step_px = spacing / abs(maxVal - minVal) * size
        k = math.ceil(1.2 * widest / step_px) if step_px > 0 else 1
        if k <= 1:
            return levels
        k = next((m for m in (2, 5, 10) if m >= k), k)  # 2, 5 or 10 apart: round labels
        big = spacing * k
        keep = [v for v in values if abs(v / big - round(v / big)) < 1e-6]
        rest = [v for v in values if v not in keep]
        return [(big, keep), (spacing, rest), *levels[1:]]

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        lo, hi = sorted((float(minVal), float(maxVal)))
        span = max(hi - lo, 1e-12)
        self._px_per_decade = float(size) / span
        self._range = (lo, hi)
        major = [(s, t) for s, t in stdTicks if s >= 1.0]  # decades, or every k-th decade
        if not major:
            major = [(1.0, [float(v) for v in range(math.ceil(lo), math.floor(hi) + 1)])]
        if span > 6:  # many decades: the minor ticks would be a grey band
            return major
        minor = [
            v + math.log10(m)
            for v in range(math.floor(lo), math.ceil(hi))
            for m in range(2, 10)
            if lo < v + math.log10(m) < hi
        ]
        return [*major, (None, minor)]

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode or spacing is not None or not values:
            return strings
        return [s if keep else None for s, keep in zip(strings, self._clear(values), strict=True)]

    def _clear(self, values) -> list[bool]:
        """Which minor ticks may carry a label: greedily, in :data:`MINOR_ORDER`, those
        at least :data:`GAP` text heights (on screen) from every decade and kept label."""
        font = self.style["tickFont"] or self.font()
        need = GAP * QFontMetricsF(font).height() / self._px_per_decade  # in decades
        if self.orientation in ("top", "bottom"):
            need = 2 * need  # a number is wider than it is tall
        lo, hi = self._range
        taken = [float(v) for v in range(math.ceil(lo), math.floor(hi) + 1)]  # the decades

        def mantissa(v: float) -> int:
            return round(10 ** (v - math.floor(v + 1e-9)))

        keep = [False] * len(values)
        for m in MINOR_ORDER:
            for i, v in enumerate(values):
                plain = PLAIN[0] <= v < PLAIN[1]
                if plain and mantissa(v) == m and all(abs(v - t) >= need for t in taken):
                    keep[i] = True
                    taken.append(v)
        return keep


def log_axes() -> dict[str, LogAxis]:
    """A plot's left and bottom axes (``axisItems=`` of pyqtgraph's plots)."""
    return {"left": LogAxis("left"), "bottom": LogAxis("bottom")}


def label_width(axis: pg.AxisItem) -> int:
    """The width a left axis needs for its widest log label and its title."""
    fm = QFontMetricsF(axis.style["tickFont"] or axis.font())
    ticks = max(fm.horizontalAdvance(t) for t in WIDEST)
    title = QFontMetricsF(axis.label.font()).height() if axis.label is not None else 0.0
    return math.ceil(ticks + max(axis.style["tickLength"], 0) + axis.style["tickTextOffset"][0]
                     + 1.2 * title + 4)  # fmt: skip
