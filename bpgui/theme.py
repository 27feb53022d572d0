"""Themes and presentation mode (View ▸ Theme, View ▸ Presentation, F11).

A theme sets the application palette and every plot's background, axes, legends and
main curves; exports render the widgets, so a PNG/SVG follows the theme (light: it sits on
a white slide).  Presentation mode, for a lecture hall: large fonts, thick lines and
markers, the secondary panels hidden and the window full screen; leaving it restores
what was there."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
SCALE = 1.6  # presentation: fonts and markers
PEN_SCALE = 2.5  # presentation: line widths


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    curve: str  # the error curve and the network's response
    faint: tuple[int, int, int, int]  # earlier runs' curves


DARK = Theme("dark", "#000000", "#d0d0d0", "#ffffff", (255, 255, 255, 60))
LIGHT = Theme("light", "#ffffff", "#202020", "#111111", (0, 0, 0, 70))


def resolve(choice: str) -> Theme:
    """``system`` follows the desktop's colour scheme (dark when it cannot tell)."""
    if choice == "light":
        return LIGHT
    if choice == "dark":
        return DARK
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", lambda: None)()
    return LIGHT if scheme == Qt.ColorScheme.Light else DARK


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor("#1e1e1e"), QColor("#2a2a2a"), QColor("#e6e6e6")
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, QColor("#333333")),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor("#2a82da")),
        (QPalette.ColorRole.HighlightedText, QColor("#ffffff")),
        (QPalette.ColorRole.PlaceholderText, QColor("#888888")),
    ):
        p.setColor(role, color)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#777777"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#777777"))
    return p


def light_palette() -> QPalette:
    app = QApplication.instance()
    return app.style().standardPalette() if app is not None else QPalette()


def _plot_items(win):
    for view in win.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem):
                yield view, item


def apply(win, theme: Theme, presentation: bool = False) -> None:
    """Colour ``win``'s widgets and plots for ``theme``, sized for ``presentation``."""
    app = QApplication.instance()
    app.setPalette(dark_palette() if theme is DARK else light_palette())
    width = PEN_SCALE if presentation else 1.0
    # plots made later (the sweep's heatmap, docks opened afterwards) start in the theme
    pg.setConfigOptions(background=theme.background, foreground=theme.foreground)
    for view in win.findChildren(pg.GraphicsView):
        view.setBackground(theme.background)
    font = app.font()
    tick_font = font
    if presentation:
        tick_font = type(font)(font)
        tick_font.setPointSizeF(font.pointSizeF() * SCALE)
    for _view, pi in _plot_items(win):
        for name in ("left", "bottom", "right", "top"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen(theme.foreground))
            ax.setTextPen(pg.mkPen(theme.foreground))
            ax.setTickFont(tick_font)
            if ax.label is not None:
                ax.label.setFont(tick_font)
        if pi.legend is not None:
            pi.legend.setLabelTextColor(theme.foreground)
            pi.legend.setLabelTextSize(f"{9 * (SCALE if presentation else 1):.0f}pt")
    p = win.plots
    p.curves.sse_curve.setPen(pg.mkPen(theme.curve, width=width))
    for c, colour in (
        (p.curves.val_curve, "#ff9f1c"),
        (p.curves.grad_curve, "#2ec4b6"),
        (p.curves.lr_curve, "#c8a000" if theme is LIGHT else "#ffd23f"),
        (p.curves.mu_curve, "#e71d36"),
    ):
        c.setPen(pg.mkPen(colour, width=width))
    for item in p.curves.previous:
        item.setPen(pg.mkPen(theme.faint, width=width))
    p.response.response.setPen(pg.mkPen(theme.curve, width=2 * width))
    p.contour.path.setPen(pg.mkPen("#ffffff", width=2 * width))
    for m, size in (
        (p.contour.start_marker, 11),
        (p.contour.current_marker, 9),
        (p.contour.end_marker, 10),
        (p.contour.optimum, 16),
    ):
        m.setSize(size * (SCALE if presentation else 1.0))
    p.hint.setVisible(not presentation)  # the room goes to the plots
    p.slice_info.setVisible(not presentation)
    win.replay.bar.setVisible(not presentation)
    p.hint.setStyleSheet(
        f"font-size: {int(14 * (SCALE if presentation else 1))}px; "
        f"color: {'#8a6d00' if theme is LIGHT else '#ffd23f'};"
    )
