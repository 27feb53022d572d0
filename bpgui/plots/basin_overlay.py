"""A basin map drawn over the contour: each cell coloured by the minimum its run reached
(M1, M2, … distinct colours; "not converged" and "diverged" their own), shaded by the
epochs it needed (bright: fast, dark: slow), with an opacity and a legend listing each
minimum's performance and cell count.

The overlay is an :class:`pyqtgraph.ImageItem` placed in parameter coordinates above the
surface image and below the isolines and paths; it takes no mouse events, so a click still
reaches the contour (which starts a run there).  It lives in the contour's plot item, so a
PNG/SVG export of the contour includes it.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt

from bpgui.plots.legend_text import fits, legend_pt
from bpgui_engine.analysis.curvature import KIND_WORDS
from bpgui_engine.maps.basins import DIVERGED, NOT_CONVERGED, BasinMap

#: one colour per minimum (M1, M2, …; cycled past the end)
MINIMUM_COLOURS = ("#ff3b3b", "#3d8bff", "#c45cff", "#ff9f1c", "#30d158", "#ff5fbf",
                   "#00d0d0", "#b8b800")  # fmt: skip
NOT_CONVERGED_COLOUR = "#9a9a9a"
DIVERGED_COLOUR = "#111111"
OVERLAY_Z = -5  # above the surface (-10), below the isolines (0) and paths (2…8)
DARKEST = 0.45  # the shade of a cell that needed every epoch
DEFAULT_OPACITY = 0.75


def colour_of(code: int) -> str:
    if code >= 0:
        return MINIMUM_COLOURS[code % len(MINIMUM_COLOURS)]
    return {NOT_CONVERGED: NOT_CONVERGED_COLOUR, DIVERGED: DIVERGED_COLOUR}.get(code, "#000000")


def basin_rgba(m: BasinMap) -> np.ndarray:
    """``(N, N, 4)`` uint8 image, indexed ``[ix, iy]``: colour by label, brightness by
    ``log(1 + epochs) / log(1 + max_epochs)``; cells not computed are transparent."""
    labels = m.labels
    rgb = np.zeros((*labels.shape, 3))
    for code in np.unique(labels):
        if code == -1:
            continue
        c = pg.mkColor(colour_of(int(code)))
        rgb[labels == code] = (c.red(), c.green(), c.blue())
    ep = np.clip(m.epochs.astype(float), 0, None)
    frac = np.log1p(ep) / np.log1p(max(1, m.max_epochs))
    shade = 1.0 - (1.0 - DARKEST) * np.clip(frac, 0.0, 1.0)
    out = np.empty((*labels.shape, 4), dtype=np.uint8)
    out[..., :3] = np.clip(rgb * shade[..., None], 0, 255).astype(np.uint8)
    out[..., 3] = np.where(labels == -1, 0, 255).astype(np.uint8)
    return out


def legend_rows(m: BasinMap, kinds: list[str] | None = None) -> list[tuple[str, str, str]]:
    """``(colour, name, text)`` per label present: the groups of converged end points first
    (with performance and position, and, when ``kinds`` is given, what the point is in the
    critical-points classifier's words, :data:`bpgui_engine.analysis.curvature.KIND_WORDS`: runs
    stop
    on small gradients at saddles and on flat floors too), then not converged, diverged,
    not computed."""
    counts = m.counts()
    rows = []
    for k, f in enumerate(m.minima_performance.tolist()):
        name = f"M{k + 1}"
        where = ", ".join(f"{v:.3g}" for v in m.minima[k][:3])
        more = "…" if m.minima.shape[1] > 3 else ""
        kind = kinds[k] if kinds is not None and k < len(kinds) else None
        what = f", {KIND_WORDS[kind]}" if kind in KIND_WORDS else ""
        text = f"{name}{what}: F = {f:.3g} at ({where}{more}), {counts.get(name, 0):,} cells"
        rows.append((colour_of(k), name, text))
    for code, name in ((NOT_CONVERGED, "not converged"), (DIVERGED, "diverged")):
        if counts.get(name):
            rows.append((colour_of(code), name, f"{name}: {counts[name]:,} cells"))
    if counts.get("not computed"):
        rows.append(("#00000000", "not computed",
                     f"not computed: {counts['not computed']:,} cells (partial)"))  # fmt: skip
    return rows


class BasinOverlay:
    """The overlay image and its legend inside ``plot_item`` (the contour's)."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.plot_item = plot_item
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(OVERLAY_Z)
        self.image.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks reach the contour
        self.image.setAcceptHoverEvents(False)
        self.image.setOpacity(DEFAULT_OPACITY)
        plot_item.addItem(self.image)
        # the legend in the view box's pixel coordinates (top right), on top of everything
        vb = plot_item.getViewBox()
        self.legend = pg.TextItem(anchor=(1, 0), fill=pg.mkBrush(0, 0, 0, 190))
        self._legend_on = False  # a legend to show (when it fits the plot)
        self.legend.setParentItem(vb)
        self.legend.setZValue(20)
        vb.sigResized.connect(self._place_legend)
        self.map: BasinMap | None = None
        self.hide()

    def set_map(self, m: BasinMap | None, kinds: list[str] | None = None) -> None:
        """Show ``m`` (None: nothing); ``kinds``: what each minimum is (see legend_rows)."""
        self.map = m
        if m is None:
            self.hide()
            return
        self.image.setImage(basin_rgba(m), autoLevels=False, levels=(0, 255))
        xs, ys = m.xs, m.ys
        dx = (xs[-1] - xs[0]) / (len(xs) - 1)
        dy = (ys[-1] - ys[0]) / (len(ys) - 1)
        self.image.setRect(QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys)))
        part = ", partial" if m.partial else ""
        hyper = ", ".join(f"{k} {v:g}" for k, v in m.hyper.items()
                          if isinstance(v, float | int) and k != "lr_layers")  # fmt: skip
        title = (f"basin map: {m.optimizer} ({hyper}), {m.resolution}×{m.resolution}, "
                 f"≤ {m.max_epochs:,} epochs{part}")  # fmt: skip
        rows = [
            f'<span style="color:{c}">■</span> {html.escape(t)}'
            for c, _n, t in legend_rows(m, kinds)
        ]
        body = "<br>".join([html.escape(title), *rows])
        style = f"color:#eeeeee; font-size:{legend_pt()}pt"
        self.legend.setHtml(f'<div style="{style}">{body}</div>')
        self._legend_on = True
        self.image.show()
        self._place_legend()

    def _place_legend(self, *_) -> None:
        vb = self.plot_item.getViewBox()
        self.legend.setVisible(self._legend_on and fits(self.legend, vb.width() - 12))
        self.legend.setPos(vb.width() - 6, 6)

    def set_opacity(self, value: float) -> None:
        self.image.setOpacity(float(value))

    def hide(self) -> None:
        self.image.hide()
        self._legend_on = False
        self.legend.hide()

    @property
    def visible(self) -> bool:
        return self.image.isVisible()

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The ``(ix, iy)`` of the cell under parameter point ``(x, y)`` (None: outside)."""
        m = self.map
        if m is None:
            return None
        n = m.resolution
        dx = (m.xs[-1] - m.xs[0]) / (n - 1)
        dy = (m.ys[-1] - m.ys[0]) / (n - 1)
        ix, iy = round((x - m.xs[0]) / dx), round((y - m.ys[0]) / dy)
        return (ix, iy) if 0 <= ix < n and 0 <= iy < n else None
