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


class ClampedLabel(QLabel):
    """A word-wrapped label of at most ``max_lines`` lines (fewer in a small window: see
    :meth:`set_max_lines`); text that does not fit ends in "…" and is whole in the
    tooltip.  The plots below it keep their room (the contour wins over its caption)."""

    def __init__(self, text: str = "", max_lines: int = 3) -> None:
        super().__init__(text)
        self.setWordWrap(True)
        self.max_lines = max_lines
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
        self.setMinimumWidth(40)
        self._clamp()

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.updateGeometry()
        self.update()

    def set_max_lines(self, n: int) -> None:
        if n != self.max_lines:
            self.max_lines = max(1, n)
            self._clamp()

    def _clamp(self) -> None:
        m = self.contentsMargins()
        self.setMaximumHeight(self.max_lines * self.fontMetrics().lineSpacing() + 4 + m.top()
                              + m.bottom())  # fmt: skip
        self.updateGeometry()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.StyleChange):
            self._clamp()

    def _fits(self, text: str, rect) -> bool:
        flags = int(Qt.TextFlag.TextWordWrap)
        return self.fontMetrics().boundingRect(rect, flags, text).height() <= rect.height()

    def paintEvent(self, _event) -> None:
        rect = self.contentsRect()
        text = self.text()
        if not self._fits(text, rect):
            lo, hi = 0, len(text)  # the longest prefix that fits with "…"
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self._fits(text[:mid].rstrip() + "…", rect):
                    lo = mid
                else:
                    hi = mid - 1
            text = text[:lo].rstrip() + "…"
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        flags = int(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        )
        p.drawText(rect, flags, text)
        p.end()
