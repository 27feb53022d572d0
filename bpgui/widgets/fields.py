"""Small input widgets that mark invalid input in place: a red border, the message in a
label directly under the field (shown only while there is one) and in the tooltip.

A long module (just over 400 lines): every field shares the one marking mechanism
defined at its top, so they stay together."""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from bpgui.widgets.theme import repolish, set_role

LABEL_PAUSE_MS = 700  # an error's message shows once the typing pauses this long

# colours follow the theme: text roles and the "invalid" property are styled by the
# application's style sheet (bpgui.widgets.theme.app_stylesheet)


class ErrorLabel(QLabel):
    """The message under a field; hidden while there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        set_role(self, "error")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_error(self, message: str | None) -> None:
        self.setText(message or "")
        # a label not placed in a layout stays hidden (it would become a window)
        self.setVisible(bool(message) and self.parentWidget() is not None)


def attach_error(widget: QWidget, label: str) -> ErrorLabel:
    """Give ``widget`` an :class:`ErrorLabel` (``widget.error_label``) and a name for
    :meth:`problems` sentences (``widget.field_name``)."""
    err = getattr(widget, "error_label", None)
    if err is None:
        err = ErrorLabel()
        # a label never placed in a layout has no parent: it goes with its field
        widget.destroyed.connect(err.deleteLater)
        widget.error_label = err
    widget.field_name = label
    if not hasattr(widget, "tip"):
        widget.tip = widget.toolTip()  # restored when the error goes
    return err


def with_error(content: QWidget | QLayout, *fields: QWidget) -> QWidget:
    """``content`` with the error labels of ``fields`` stacked directly under it."""
    box = QWidget()
    v = QVBoxLayout(box)
    v.setContentsMargins(0, 0, 0, 0)
    v.setSpacing(2)
    if isinstance(content, QLayout):
        v.addLayout(content)
    else:
        v.addWidget(content)
    for f in fields:
        v.addWidget(f.error_label)
    return box


def mark(widget: QWidget, error: str | None, tip: str = "", label: bool = True) -> None:
    """Show ``error`` on ``widget`` (red border, tooltip, its error label) or clear it.
    ``label=False``: the label under the field waits (the user is still typing: a label
    appearing and going with each key would push every later field up and down)."""
    if bool(widget.property("invalid")) != bool(error):
        widget.setProperty("invalid", bool(error))
        repolish(widget)
    widget.setToolTip(error if error else tip)
    err = getattr(widget, "error_label", None)
    if err is not None and (label or not error or err.isVisible()):
        err.show_error(error)  # (already shown: its text follows at once, nothing moves)


def problem_of(widget: QWidget) -> str | None:
    """``"<field name>: <message>"`` when ``widget`` is marked invalid, else None."""
    if not widget.property("invalid"):
        return None
    err = getattr(widget, "error_label", None)
    msg = err.text() if err is not None and err.text() else widget.toolTip()
    return f"{getattr(widget, 'field_name', '') or widget.objectName()}: {msg}"


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
    """A line edit for one number.

    Whatever a person types is left alone while they type (``0.``, ``.5``, ``1e-``, ``-``):
    each keystroke is validated (marked invalid at once) and each valid one emits
    ``value_changed``; the text is reformatted only when editing ends.  A programmatic
    :meth:`set_value` never rewrites text that already means that value and never
    clobbers a field the user is editing.
    """

    value_changed = Signal(float)

    def __init__(
        self,
        value: float = 0.0,
        tip: str = "",
        integer: bool = False,
        lo: float | None = None,
        hi: float | None = None,
        allow_blank: bool = False,
        label: str = "",
    ) -> None:
        super().__init__()
        self.tip, self.integer, self.lo, self.hi = tip, integer, lo, hi
        self.allow_blank = allow_blank
        attach_error(self, label)
        self.setToolTip(tip)
        self.setText(self.format(value))
        self.textEdited.connect(self._edited)
        self.editingFinished.connect(self._finished)
        # while typing, an error's message under the field waits for a pause in the typing
        self._label_timer = QTimer(self)
        self._label_timer.setSingleShot(True)
        self._label_timer.setInterval(LABEL_PAUSE_MS)
        self._label_timer.timeout.connect(self.check)

    def format(self, v: float | None) -> str:
        if self._blank(v):
            return ""
        return f"{int(v)}" if self.integer else f"{v:.10g}"

    def _blank(self, v: float | None) -> bool:
        return v is None or (self.allow_blank and isinstance(v, float) and math.isinf(v))

    def _parsed(self) -> float | None:
        if self.allow_blank and not self.text().strip():
            return None
        return parse_number(self.text(), self.integer)

    def set_value(self, v: float | None) -> None:
        """Show ``v`` (silently): keeps text that already means ``v`` (``.5`` for 0.5, ``-0``)
        and the text of a field being edited."""
        want = None if self._blank(v) else v
        try:
            same = self._parsed() == want
        except ValueError:
            same = False
        if same:
            if self.property("invalid"):
                self.check()
            return
        if self.hasFocus() and self.isModified():
            return  # the user is typing: their text wins when editing ends
        self.setText(self.format(v))
        mark(self, None, self.tip)

    def value(self) -> float | None:
        """The number, or None if the text is blank and blank is allowed; raises otherwise."""
        v = self._parsed()
        if v is None:
            return None
        if self.lo is not None and v < self.lo:
            raise ValueError(f"must be >= {self.lo:g}")
        if self.hi is not None and v > self.hi:
            raise ValueError(f"must be <= {self.hi:g}")
        return v

    def check(self, typing: bool = False) -> str | None:
        """Mark the field from its text; ``typing``: the message under it comes after a
        pause (the red border, the tooltip and the status bar's reason at once)."""
        try:
            self.value()
        except ValueError as exc:
            mark(self, str(exc), self.tip, label=not typing)
            if typing:
                self._label_timer.start()
            return str(exc)
        self._label_timer.stop()
        mark(self, None, self.tip)
        return None

    def problem(self) -> str | None:
        return problem_of(self)

    def _edited(self, *_):
        if self.check(typing=True) is None:
            v = self.value()
            if v is not None:
                self.value_changed.emit(float(v))

    def _finished(self) -> None:
        """Editing ended: reformat valid text (``.5`` -> ``0.5``) and emit once more."""
        if self.check() is not None:
            return
        v = self.value()
        text = self.format(v)
        if text != self.text():
            self.setText(text)
        self.setModified(False)
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
        self.edit._finished()

    def _sync(self, v: float) -> None:
        if v > 0:
            pos = round((math.log10(v) - self.lo) / (self.hi - self.lo) * self.STEPS)
            self.slider.blockSignals(True)
            self.slider.setValue(max(0, min(self.STEPS, pos)))
            self.slider.blockSignals(False)

    def sync(self) -> None:
        """Move the slider to the edit's value (after a programmatic set)."""
        self._sync_silently()

    def _sync_silently(self) -> None:
        try:
            v = self.edit.value()
        except ValueError:
            return
        if v:
            self._sync(float(v))


class WheelGuard(QObject):
    """An event filter: a wheel turned over a combo box, or over a spin box that does not
    have the keyboard focus, scrolls the panel around it instead of changing the value
    (a list's choice is never changed by scrolling past it).  One per application
    (:meth:`install`): it sees every event, so one per window made each event cost more."""

    @classmethod
    def install(cls, app) -> None:
        if app.property("bpgui_wheel_guard"):
            return
        guard = cls(app)
        app.installEventFilter(guard)
        app.setProperty("bpgui_wheel_guard", True)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, (QAbstractSpinBox, QComboBox)):
            return False
        if obj.hasFocus() and not isinstance(obj, QComboBox):
            return False  # a spin box being edited takes the wheel; a list never does
        w = obj.parentWidget()
        while w is not None and not isinstance(w, QAbstractScrollArea):
            w = w.parentWidget()
        if w is not None:
            QCoreApplication.sendEvent(w.viewport(), event)
        return True  # never to the field itself


class LayerRatesEdit(QWidget):
    """One number per layer (``lr_layers``: learning-rate multipliers), each field checked
    as it is typed; the message goes under the row.

    :meth:`value` is a float when every layer has the same multiplier (``1``: the plain
    method), else a tuple with one value per layer.  A value from the setup with a number
    of multipliers other than the network's layers is marked until a field is edited."""

    edited = Signal()

    def __init__(self, value, n_layers: int, tip: str, label: str, lo: float, hi: float) -> None:
        super().__init__()
        self.tip, self.lo, self.hi = tip, lo, hi
        self.fields: list[NumberEdit] = []
        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(3)
        self.error_label = ErrorLabel()
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addLayout(self._row)
        v.addWidget(self.error_label)
        attach_error(self, label)
        self.setToolTip(tip)
        self.n_layers = max(1, int(n_layers))
        self._mismatch: int | None = None  # multipliers given for another number of layers
        self.set_value(value)

    def _build(self, n: int) -> None:
        while self._row.count():
            w = self._row.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.fields = []
        for m in range(n):
            f = NumberEdit(1.0, f"layer {m + 1}: {self.tip}", label=f"lr_layers layer {m + 1}")
            f.setMinimumWidth(44)
            f.textEdited.connect(self._edited)
            f.editingFinished.connect(self._edited)
            name = QLabel(f"{m + 1}:")
            name.setToolTip(f"layer {m + 1}")
            self._row.addWidget(name)
            self._row.addWidget(f, 1)
            self.fields.append(f)

    def set_layers(self, n: int) -> None:
        """The network's number of layers: one field each."""
        n = max(1, int(n))
        if n == self.n_layers and len(self.fields) == n:
            return
        self.n_layers = n
        self.set_value(self._shown)

    def set_value(self, value) -> None:
        """Show ``value`` (a number for every layer, or one per layer) silently."""
        self._shown = value
        many = isinstance(value, list | tuple)
        vals = [float(t) for t in value] if many else [float(value)] * self.n_layers
        self._mismatch = len(vals) if many and len(vals) != self.n_layers else None
        if len(self.fields) != self.n_layers:
            self._build(self.n_layers)
        for f, v in zip(self.fields, vals + [1.0] * self.n_layers, strict=False):
            f.set_value(v)
        self.check()

    def value(self) -> float | tuple[float, ...]:
        if self._mismatch is not None:
            raise ValueError(self._mismatch_text())
        vals = []
        for m, f in enumerate(self.fields):
            try:
                v = float(f.value())
            except ValueError as exc:
                raise ValueError(f"layer {m + 1}: {exc}") from None
            if not self.lo < v <= self.hi:
                raise ValueError(f"layer {m + 1}: must be > {self.lo:g} and <= {self.hi:g}")
            vals.append(v)
        return vals[0] if len(set(vals)) == 1 else tuple(vals)

    def _mismatch_text(self) -> str:
        return (
            f"{self._mismatch} multipliers for a network of {self.n_layers} layer(s): "
            "type the one per layer you want"
        )

    def check(self) -> str | None:
        bad = None
        for f in self.fields:
            if f.check() is not None or not (self.lo < float(f.value()) <= self.hi):
                bad = f
                break
        try:
            self.value()
            msg = None
        except ValueError as exc:
            msg = str(exc)
        for f in self.fields:
            f.error_label.hide()  # the row's one message says which layer
            if f is not bad and f.property("invalid"):
                mark(f, None, f.tip)
        if bad is not None and msg:
            bad.setProperty("invalid", True)
            repolish(bad)
        self.setProperty("invalid", bool(msg))
        self.error_label.show_error(msg)
        return msg

    def problem(self) -> str | None:
        return problem_of(self)

    def _edited(self, *_) -> None:
        self._mismatch = None  # the fields now say what the user wants
        if self.check() is None:
            self._shown = self.value()
        self.edited.emit()
