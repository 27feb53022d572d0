"""A one-line label that ends in "…" when its text is wider than the label (the whole
text is in the tooltip), so a long message never widens the window or is cut mid-word."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", tip: str = "") -> None:
        super().__init__(text)
        self._tip = tip
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(20)
        self._sync_tip()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._sync_tip()

    def _sync_tip(self) -> None:
        text = self.text()
        self.setToolTip(f"{text}\n\n{self._tip}" if text and self._tip else text or self._tip)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, rect.width()
        )
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
        p.end()
