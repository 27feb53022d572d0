"""How critical points look: each kind's marker, colour and words, and a point in words
(the contour's marks and the critical-points table both use them)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from bpgui.widgets.theme import current as theme_now
from bpgui_engine.analysis.critical import CriticalPoint
from bpgui_engine.analysis.curvature import KIND_WORDS

#: how each kind is drawn: (symbol, colour, words for the legend)
#: (the words: :data:`bpgui_engine.analysis.curvature.KIND_WORDS`, which every tool uses)
KIND_STYLE = {
    "minimum": ("t", "#80ed99", "▼ " + KIND_WORDS["minimum"]),
    "saddle": ("x", "#ff4d6d", "✕ " + KIND_WORDS["saddle"]),
    "maximum": ("t1", "#f9c74f", "▲ " + KIND_WORDS["maximum"]),
    "degenerate": ("h", "#adb5bd", "⬢ " + KIND_WORDS["degenerate"]),
    "undefined": ("h", "#6c757d", KIND_WORDS["undefined"]),
}
#: the kinds' text colours on a light theme (the markers keep KIND_STYLE's on the contour)
KIND_TEXT_LIGHT = {"minimum": "#1b6e20", "saddle": "#b00020", "maximum": "#7a5a00",
                   "degenerate": "#4a4a4a", "undefined": "#4a4a4a"}  # fmt: skip


def kind_text_colour(kind: str) -> QColor:
    """A kind's colour for text, legible in the current theme."""
    if theme_now() == "light":
        return QColor(KIND_TEXT_LIGHT.get(kind, KIND_TEXT_LIGHT["undefined"]))
    return QColor(KIND_STYLE.get(kind, KIND_STYLE["undefined"])[1])


def kinds_legend() -> str:
    return "   ".join(
        f'<span style="color:{kind_text_colour(k).name()}">{words}</span>'
        for k, (_s, _c, words) in KIND_STYLE.items() if k != "undefined"
    )  # fmt: skip


def fmt(v: float, digits: int = 4) -> str:
    """A number for the tables: ``undefined`` when not finite."""
    return f"{v:.{digits}g}" if np.isfinite(v) else "undefined"


def describe(p: CriticalPoint) -> str:
    """One point for a tooltip: kind, parameters, performance, eigenvalues."""
    params = ", ".join(f"{k} = {fmt(v, 6)}" for k, v in p.params.items())
    lam = ", ".join(fmt(v) for v in p.eigenvalues)
    extra = f" (a flat floor of {p.count} points)" if p.count > 1 else ""
    kind = KIND_WORDS.get(p.kind, p.kind)
    return f"{kind}{extra}\n{params}\nperformance {fmt(p.performance, 6)}\neigenvalues {lam}"
