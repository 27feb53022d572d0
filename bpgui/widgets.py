"""Small input widgets that mark invalid input in place."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QSlider, QWidget

INVALID_STYLE = "border: 2px solid #e71d36; background: #3a1018;"


def mark(widget: QWidget, error: str | None, tip: str = "") -> None:
    """Show ``error`` on ``widget`` (red border, tooltip) or clear it."""
    widget.setProperty("invalid", bool(error))
    widget.setStyleSheet(INVALID_STYLE if error else "")
    widget.setToolTip(error if error else tip)


def parse_number(text: str, integer: bool = False) -> float | int:
    """A finite number from user text (no ``eval``): ``ValueError`` with a clear message."""
    t = text.strip().replace("_", "")
    if not t:
        raise ValueError("enter a number")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    if integer:
        if not v.is_integer():
            raise ValueError(f"{text.strip()!r} is not a whole number")
        return int(v)
    return v


class NumberEdit(QLineEdit):
    """A line edit for one number; ``value_changed`` fires with each valid entry."""

    value_changed = Signal(float)

    def __init__(
        self,
        value: float = 0.0,
        tip: str = "",
        integer: bool = False,
        lo: float | None = None,
        hi: float | None = None,
        allow_blank: bool = False,
    ) -> None:
        super().__init__()
        self.tip, self.integer, self.lo, self.hi = tip, integer, lo, hi
        self.allow_blank = allow_blank
        self.setToolTip(tip)
        self.set_value(value)
        self.textEdited.connect(self._edited)
        self.editingFinished.connect(self._edited)

    def set_value(self, v: float | None) -> None:
        if v is None or (isinstance(v, float) and math.isinf(v) and self.allow_blank):
            self.setText("")
        else:
            self.setText(f"{int(v)}" if self.integer else f"{v:.10g}")
        mark(self, None, self.tip)

    def value(self) -> float | None:
        """The number, or None if the text is blank and blank is allowed; raises otherwise."""
        if self.allow_blank and not self.text().strip():
            return None
        v = parse_number(self.text(), self.integer)
        if self.lo is not None and v < self.lo:
            raise ValueError(f"must be >= {self.lo:g}")
        if self.hi is not None and v > self.hi:
            raise ValueError(f"must be <= {self.hi:g}")
        return v

    def check(self) -> str | None:
        try:
            self.value()
        except ValueError as exc:
            mark(self, str(exc), self.tip)
            return str(exc)
        mark(self, None, self.tip)
        return None

    def _edited(self, *_):
        if self.check() is None:
            v = self.value()
            if v is not None:
                self.value_changed.emit(float(v))


class LogNumber(QWidget):
    """A number edit with a logarithmic slider beside it (learning rates, mu)."""

    STEPS = 1000

    def __init__(self, edit: NumberEdit, lo: float, hi: float) -> None:
        super().__init__()
        self.edit = edit
        self.lo, self.hi = math.log10(lo), math.log10(hi)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.STEPS)
        self.slider.setToolTip(f"drag: {lo:g} to {hi:g}, logarithmic")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 2)
        lay.addWidget(self.slider, 3)
        self.slider.valueChanged.connect(self._slid)
        edit.value_changed.connect(self._sync)
        self._sync_silently()

    def _slid(self, pos: int) -> None:
        if self.slider.signalsBlocked():
            return
        v = 10 ** (self.lo + (self.hi - self.lo) * pos / self.STEPS)
        v = float(f"{v:.3g}")
        self.edit.setText(f"{v:g}")
        self.edit._edited()

    def _sync(self, v: float) -> None:
        if v > 0:
            pos = round((math.log10(v) - self.lo) / (self.hi - self.lo) * self.STEPS)
            self.slider.blockSignals(True)
            self.slider.setValue(max(0, min(self.STEPS, pos)))
            self.slider.blockSignals(False)

    def _sync_silently(self) -> None:
        try:
            v = self.edit.value()
        except ValueError:
            return
        if v:
            self._sync(float(v))
