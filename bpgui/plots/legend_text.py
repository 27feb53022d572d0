"""Legends drawn as text items inside a plot: kept inside the plot's view box."""

from __future__ import annotations


def fits(item, width: float) -> bool:
    """Whether a text item's text, at its natural width, fits ``width`` pixels.  A legend
    that does not fit is hidden (the dock beside lists the same rows) rather than drawn
    past the plot's edge."""
    item.textItem.setTextWidth(-1)
    return item.textItem.document().idealWidth() <= width


def legend_pt() -> float:
    """The text size of a legend drawn in a plot: a little under the application's font,
    so it grows with presentation mode's large fonts."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    size = app.font().pointSizeF() if app is not None else 9.0
    return round(max(7.0, 0.85 * (size if size > 0 else 9.0)), 1)
