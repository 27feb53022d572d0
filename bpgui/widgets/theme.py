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
from PySide6.QtWidgets import QApplication, QLabel

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


LEGEND_ALPHA = 200  # a legend's background: the curves behind it show, dimmed
DARK = Theme("dark", "#000000", "#d0d0d0", "#ffffff", (255, 255, 255, 60))
LIGHT = Theme("light", "#ffffff", "#202020", "#111111", (0, 0, 0, 70))

#: text colours by role, per theme: each at least 4.5:1 against the theme's window and
#: base colours (tests/gui/test_contrast.py measures what is drawn)
ROLES = {
    "dark": {"error": "#ff8080", "warning": "#ffb347", "dim": "#bdbdbd", "hint": "#ffd23f",
             "ok": "#7ee081", "invalid_bg": "#3a1018", "invalid_fg": "#ffffff"},
    "light": {"error": "#b00020", "warning": "#8a4500", "dim": "#4a4a4a", "hint": "#7a5a00",
              "ok": "#1b6e20", "invalid_bg": "#ffe3e6", "invalid_fg": "#000000"},
}  # fmt: skip


def current() -> str:
    """The theme the application shows now ("dark" or "light"), from its palette."""
    app = QApplication.instance()
    if app is None:
        return "dark"
    return "light" if app.palette().window().color().lightness() > 128 else "dark"


def colour(role: str) -> QColor:
    """The current theme's colour for ``role`` (error, warning, dim, hint, ok, …)."""
    return QColor(ROLES[current()][role])


def set_role(widget, role: str | None) -> None:
    """Give ``widget`` a text role (its colour follows the theme); None: none."""
    if widget.property("role") != role:
        widget.setProperty("role", role)
        repolish(widget)


def repolish(widget) -> None:
    st = widget.style()
    st.unpolish(widget)
    st.polish(widget)
    widget.update()


def app_stylesheet(name: str) -> str:
    r = ROLES[name]
    check_bg = "#1e1e1e" if name == "dark" else "#ffffff"
    return (
        f'QLabel[role="error"] {{ color: {r["error"]}; }}\n'
        f'QLabel[role="warning"] {{ color: {r["warning"]}; }}\n'
        f'QLabel[role="dim"] {{ color: {r["dim"]}; }}\n'
        f'QLabel[role="ok"] {{ color: {r["ok"]}; }}\n'
        f'*[invalid="true"] {{ border: 2px solid #e71d36; background: {r["invalid_bg"]};'
        f" color: {r['invalid_fg']}; }}\n"
        # an unchecked box must be visible on either palette
        f"QTableView::indicator:unchecked {{ border: 1px solid #9a9a9a; background: {check_bg};"
        " width: 12px; height: 12px; }\n"
    )


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
        (QPalette.ColorRole.PlaceholderText, QColor("#9a9a9a")),
        (QPalette.ColorRole.Link, QColor("#8ab4f8")),  # legible on the dark window
        (QPalette.ColorRole.LinkVisited, QColor("#c58af9")),
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


def legend_size(presentation: bool) -> str:
    return f"{9 * (SCALE if presentation else 1):.0f}pt"


def style_legend(legend, theme: Theme, presentation: bool) -> None:
    """The legend's text in the theme's colour and size, its entries re-rendered
    (pyqtgraph's setLabelTextColor/Size only store the option for later entries)."""
    legend.setLabelTextColor(theme.foreground)
    legend.setLabelTextSize(legend_size(presentation))
    back = QColor(theme.background)
    back.setAlpha(LEGEND_ALPHA)
    legend.setBrush(pg.mkBrush(back))  # its text stays readable over the curves behind
    for _sample, label in legend.items:
        label.setText(label.text, color=theme.foreground, size=legend_size(presentation))


def apply(win, theme: Theme, presentation: bool = False) -> None:
    """Colour ``win``'s widgets and plots for ``theme``, sized for ``presentation``."""
    app = QApplication.instance()
    palette = dark_palette() if theme is DARK else light_palette()
    if app.palette() != palette:
        app.setPalette(palette)
    css = app_stylesheet(theme.name)
    # setStyleSheet re-polishes every widget of the application (and so gives styled widgets
    # a new application font, e.g. presentation mode's): only when the style or the font
    # changed, not for every new window
    key = f"{css}\n{app.font().toString()}"
    if app.property("bpgui_style_key") != key:
        app.setStyleSheet(css)
        app.setProperty("bpgui_style_key", key)
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
            style_legend(pi.legend, theme, presentation)
    p = win.plots
    p.curves.fit_left_axes()
    if getattr(win, "status", None) is not None:  # the fields' widths in the new font
        win.status.fit_widths(presentation)
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
    p.hint.setStyleSheet(
        f"font-size: {int(14 * (SCALE if presentation else 1))}px; "
        f"color: {ROLES[theme.name]['hint']};"
    )
    for lab in win.findChildren(QLabel):  # links are coloured when laid out: again
        text = lab.text()
        if "<a " in text:
            lab.setText("")
            lab.setText(text)
    win.theme_changed.emit()  # tables and items coloured in code redraw in the theme
