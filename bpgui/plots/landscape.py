"""The landscape views' plots (issue 22): the loss over a plane of two directions (or
along a line), the Hessian's eigenvalue density, and the sharpness along the run.

They draw what the engine computed (:class:`~bpgui_engine.analysis.views.LandscapeView`,
:class:`~bpgui_engine.analysis.views.SpectrumView`, the run's samples); nothing here
computes (colour levels aside)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bpgui.plots.log_axis import log_axes
from bpgui.widgets.elided import ClampedLabel, ElidedLabel
from bpgui_engine.analysis.landscape import lattice

FLOOR = 1e-30
ISO_PEN = pg.mkPen((255, 255, 255, 110), width=1)
PATH_PEN = pg.mkPen("#ffffff", width=2)
TOP_PEN = pg.mkPen("#e71d36", width=1.5)
NEG_PEN = pg.mkPen("#3a86ff", width=1.5)
BOUND_PEN = pg.mkPen("#ff9f1c", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
CURVE_PEN = pg.mkPen("#2ec4b6", width=2)


def _plot(minimum=(260, 160)) -> tuple[pg.PlotWidget, pg.PlotItem]:
    w = pg.PlotWidget(axisItems=log_axes())
    w.setMinimumSize(*minimum)
    pi = w.getPlotItem()
    pi.setMenuEnabled(False)
    pi.hideButtons()
    pi.setContentsMargins(2, 10, 6, 2)
    for name in ("left", "bottom"):
        pi.getAxis(name).enableAutoSIPrefix(False)
    return w, pi


def _stack(owner: QWidget, widget: QWidget, readout: QWidget) -> None:
    lay = QVBoxLayout(owner)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(widget, 1)
    lay.addWidget(readout)


def style_label(label, presentation: bool) -> None:
    """A line's label in the theme's text colour, larger in presentation mode."""
    if label is None:
        return
    from bpgui.widgets.theme import current

    label.setColor("#e6e6e6" if current() == "dark" else "#1a1a1a")
    font = QFont()
    font.setPointSizeF(13.0 if presentation else 9.0)
    label.setFont(font)


class LandscapePlot(QWidget):
    """A grid as a colour image with isolines (log colour for a positive index), the
    centre marked, the PCA's projected trajectory; a line as a curve with both ends."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget, pi = _plot()
        self.plot_item = pi
        pi.getViewBox().setDefaultPadding(0.0)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-10)
        pi.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False,
                                        width=14, label="")  # fmt: skip
        self.colorbar.setImageItem(self.image, insert_in=pi)
        self.colorbar.axis.enableAutoSIPrefix(False)  # log10 values: no "(x0.001)"
        self.iso = pg.PlotCurveItem(connect="pairs", pen=ISO_PEN)
        self.path = pg.PlotDataItem(pen=PATH_PEN, connect="finite")
        self.curve = pg.PlotDataItem(pen=CURVE_PEN)
        # markers as data items: they follow a log axis like the curve
        self.centre = pg.PlotDataItem(pen=None, symbol="star", symbolSize=16,
                                      symbolBrush="#ffd23f", symbolPen="k")  # fmt: skip
        self.start = pg.PlotDataItem(pen=None, symbol="o", symbolSize=10,
                                     symbolBrush="#2ec4b6", symbolPen="k")  # fmt: skip
        for z, item in enumerate((self.iso, self.path, self.curve, self.start, self.centre)):
            item.setZValue(z + 1)
            pi.addItem(item)
        self.readout = ElidedLabel("", "what the landscape shows")
        _stack(self, self.widget, self.readout)
        self.view = None
        self.caption = ""
        self.clear("")

    def clear(self, message: str) -> None:
        """Nothing drawn (no axis of an earlier picture either); ``message`` says why (or
        what to do)."""
        self.view = None
        self.image.clear()
        for item in (self.iso, self.path, self.curve, self.start, self.centre):
            item.setData([], [])
        self.colorbar.setOpacity(0.0)
        pi = self.plot_item
        pi.setLogMode(x=False, y=False)
        pi.setLabel("bottom", "")
        pi.setLabel("left", "")
        pi.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
        self.readout.setText(message)

    def show_view(self, v, caption: str) -> None:
        """Draw ``v`` (a :class:`~bpgui_engine.analysis.views.LandscapeView`)."""
        self.view, self.caption = v, caption
        pi = self.plot_item
        xl, yl = v.axis_labels()
        pi.setLabel("bottom", xl)
        pi.setLabel("left", yl)
        for item in (self.iso, self.path, self.curve, self.start, self.centre):
            item.setData([], [])
        line = v.mode == "line"
        self.image.setVisible(not line)
        self.colorbar.setVisible(not line)
        if line:
            fa, fb = v.ends()
            finite = v.values[np.isfinite(v.values)]
            log = bool(finite.size and finite.min() > 0)
            pi.setLogMode(x=False, y=log)  # the loss over decades: a log axis
            pi.setLabel("left", f"{v.index_name} (log scale)" if log else v.index_name)
            self.curve.setData(v.x_axis, v.values)
            self.start.setData([0.0], [fa])
            self.centre.setData([1.0], [fb])
            pi.enableAutoRange()
            self.readout.setText(f"{caption}: F(a) = {fa:.6g} at t = 0, F(b) = {fb:.6g} at t = 1")
            return
        pi.setLogMode(x=False, y=False)
        idx = lattice(len(v.x_axis), v.stride)
        vals = v.values[np.ix_(idx, idx)]
        finite = vals[np.isfinite(vals)]
        log = bool(finite.size and finite.min() > 0)
        img = np.log10(np.maximum(vals, FLOOR)) if log else vals
        img = np.where(np.isfinite(img), img, np.nan)
        lo, hi = (float(np.nanmin(img)), float(np.nanmax(img))) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        a = v.x_axis[idx]
        step = a[1] - a[0] if len(a) > 1 else 1.0
        self.image.setImage(img, levels=(lo, hi), autoLevels=False)
        self.image.setRect(QRectF(a[0] - step / 2, a[0] - step / 2, len(a) * step,
                                  len(a) * step))  # fmt: skip
        self.colorbar.setLevels((lo, hi))
        self.colorbar.setOpacity(1.0)
        self.colorbar.setVisible(True)
        self.colorbar.axis.setLabel(f"log10 {v.index_name}" if log else v.index_name)
        self.iso.setData(v.iso_x, v.iso_y)
        self.centre.setData([0.0], [0.0])
        if len(v.path):
            self.path.setData(v.path[:, 0], v.path[:, 1])
            self.start.setData([v.path[0, 0]], [v.path[0, 1]])
        pi.setRange(xRange=(a[0] - step / 2, a[-1] + step / 2),
                    yRange=(a[0] - step / 2, a[-1] + step / 2), padding=0)  # fmt: skip
        n = len(v.x_axis)
        done = "" if v.done else f" — coarse {len(idx)}×{len(idx)} of {n}×{n}"
        self.readout.setText(
            f"{caption}: {v.index_name} at the centre {v.centre_value():.6g}{done}"
        )


class SpectrumPlot(QWidget):
    """The eigenvalue density (log scale), the top eigenvalues in red, the negative ones
    (a saddle's directions down) in blue."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget, pi = _plot()
        self.plot_item = pi
        pi.setLogMode(x=False, y=True)
        pi.setLabel("left", "density")
        self.density = pg.PlotDataItem(pen=CURVE_PEN)
        pi.addItem(self.density)
        self.marks: list[pg.InfiniteLine] = []
        self.readout = ClampedLabel("", max_lines=3)
        _stack(self, self.widget, self.readout)
        self.view = None
        self.presentation = False
        self.clear("")

    def style_labels(self) -> None:
        for m in self.marks:
            style_label(getattr(m, "label", None), self.presentation)

    def clear(self, message: str) -> None:
        self.view = None
        self.density.setData([], [])
        for m in self.marks:
            self.plot_item.removeItem(m)
        self.marks = []
        self.plot_item.setLabel("bottom", "eigenvalue λ of the Hessian")
        hint = "Compute spectrum: the Hessian's extreme eigenvalues and density at the point shown"
        self.readout.setText(message or hint)

    def show_view(self, v, caption: str) -> None:
        self.clear("")
        self.view = v
        pi = self.plot_item
        pi.setLabel("bottom", f"eigenvalue λ of the Hessian of the {v.index_name}")
        # below a billionth of the peak: no density to speak of (a gap, not a floor line)
        y = np.where(v.density_y > 1e-9 * float(v.density_y.max()), v.density_y, np.nan)
        self.density.setData(v.density_x, y, connect="finite")
        for k, lam in enumerate(v.top):
            self.marks.append(pg.InfiniteLine(float(lam), angle=90, pen=TOP_PEN,
                                              label=f"λ{k + 1}" if k < 3 else None,
                                              labelOpts={"position": 0.9 - 0.07 * k}))  # fmt: skip
        for lam in v.saddle_directions():
            self.marks.append(pg.InfiniteLine(float(lam), angle=90, pen=NEG_PEN))
        self.style_labels()
        for m in self.marks:
            pi.addItem(m)
        pi.enableAutoRange()
        self.readout.setText(f"{caption}: {v.message()}")


class SharpnessPlot(QWidget):
    """λmax against the epoch, with the optimizer's stability bound as a dashed line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget, pi = _plot()
        self.plot_item = pi
        pi.setLabel("bottom", "epoch")
        pi.setLabel("left", "sharpness λmax")
        self.curve = pg.PlotDataItem(pen=CURVE_PEN, symbol="o", symbolSize=4,
                                     symbolBrush="#2ec4b6", symbolPen=None)  # fmt: skip
        pi.addItem(self.curve)
        self.bound = pg.InfiniteLine(0.0, angle=0, pen=BOUND_PEN,
                                     label="", labelOpts={"position": 0.1})  # fmt: skip
        self.bound.setVisible(False)
        pi.addItem(self.bound)
        self.readout = ElidedLabel("", "the sharpness along the run")
        _stack(self, self.widget, self.readout)
        self.presentation = False

    def style_labels(self) -> None:
        style_label(self.bound.label, self.presentation)

    def set_data(self, epochs, values, bound: tuple[float, str] | None, text: str) -> None:
        self.curve.setData(np.asarray(epochs, float), np.asarray(values, float))
        if bound is None:
            self.bound.setVisible(False)
        else:
            value, formula = bound
            self.bound.setValue(value)
            self.bound.label.setFormat(f"{formula} = {value:.4g}")
            self.bound.setVisible(True)
            self.style_labels()
        self.readout.setText(text)
