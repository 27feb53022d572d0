"""Legends drawn as text items inside a plot: kept inside the plot's view box."""

from __future__ import annotations


def fits(item, width: float) -> bool:
    """Whether a text item's text, at its natural width, fits ``width`` pixels.  A legend
    that does not fit is hidden (the dock beside lists the same rows) rather than drawn
    past the plot's edge."""
    item.textItem.setTextWidth(-1)
    return item.textItem.document().idealWidth() <= width
