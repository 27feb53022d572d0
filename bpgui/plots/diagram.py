"""A drawn network: neurons in columns, each connection's colour and width showing the
weight's sign and size, updated live; hovering shows the label and value.

Editable (issue 13 #8): a double-click on a connection or a neuron (its bias) opens a field
in place to type the parameter's value (refused in place when not finite or beyond ±1e6);
a right-click makes it free or fixed.  The backprop inspector draws neurons coloured by
f'(n) instead (:meth:`NetworkDiagram.set_activity`)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QLineEdit, QMenu, QToolTip, QVBoxLayout, QWidget

from bpgui.plots.thumbnails import layer_thumbnails
from bpgui.widgets.theme import repolish, set_role
from bpgui_engine.model.network import NetworkSpec

POSITIVE = QColor("#4cc9f0")
NEGATIVE = QColor("#f72585")
MAX_DRAWN = 4000  # connections; beyond this only neurons are drawn
SMOOTH_LINES = 40  # connections drawn antialiased up to this many
MAX_WEIGHT = 1e6  # a typed value beyond this is refused
SATURATED, RESPONSIVE = QColor("#9d0208"), QColor("#2ec4b6")


class NetworkDiagram(QWidget):
    theta_changed = Signal(object)  # the current full parameter vector shown (set_theta)
    value_edited = Signal(int, float)  # a parameter (index) typed in place
    free_toggled = Signal(int)  # make a parameter free (or fixed, when it is free)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(150)
        self.setMouseTracking(True)
        self.setToolTip("")
        self.spec: NetworkSpec | None = None
        self.theta = np.zeros(0)
        self.free: set[int] = set()
        self._segments: list[tuple[QPointF, QPointF, int]] = []  # (from, to, param index)
        self._nodes: list[tuple[QPointF, int | None, str]] = []  # (centre, bias index, name)
        self.activity: list[np.ndarray] | None = None  # per layer f'(n) / max f' (inspector)
        self.shown_weights: np.ndarray | None = None  # drawn instead of theta (inspector)
        self.editable = False
        self.editor: WeightEditor | None = None
        #: per layer (inputs first) each neuron's map over the input plane (None: circles)
        self.thumbs: list[list[QImage]] | None = None
        self._hover: tuple[QPointF, QImage] | None = None  # a thumbnail shown large

    def set_network(self, spec: NetworkSpec, theta: np.ndarray, free_idx) -> None:
        if spec != self.spec:
            self.thumbs, self._hover = None, None  # the old network's maps
        self.spec = spec
        self.theta = np.asarray(theta, float)
        self.free = {int(i) for i in free_idx}
        self.update()

    def set_theta(self, theta: np.ndarray) -> None:
        """The current parameters (live while training); ``theta_changed`` passes them on."""
        self.theta = np.asarray(theta, float)
        self.update()
        self.theta_changed.emit(self.theta)

    def set_maps(self, maps) -> None:
        """Every neuron's activation over the input plane (from the decision map: per
        layer, inputs first; None: plain circles)."""
        ok = maps is not None and self.spec is not None and len(maps) == self.spec.n_layers + 1
        self.thumbs = layer_thumbnails(maps, self.spec.transfers) if ok else None
        if self.thumbs is None:
            self._hover = None
        self.update()

    def set_activity(self, fractions: list[np.ndarray] | None, weights=None) -> None:
        """Colour neurons by ``fractions`` (per layer, f'(n) over its largest value: 0 =
        saturated) and draw connections by ``weights`` (e.g. gradients); None: normal."""
        self.activity = fractions
        self.shown_weights = None if weights is None else np.asarray(weights, float)
        self.update()

    # ---- geometry ----------------------------------------------------------------------------
    def _layout(self) -> list[list[QPointF]]:
        spec = self.spec
        sizes = (spec.n_inputs, *spec.sizes)
        w, h = self.width(), self.height()
        top = bottom = 22.0
        side = 30.0
        if self.thumbs is not None:  # pictures, not dots: below the labels, inside the edges
            half = self.thumb_side() / 2
            top, bottom, side = max(top, 18 + half), max(bottom, 4 + half), max(side, 4 + half)
        cols = []
        for k, n in enumerate(sizes):
            x = side + (w - 2 * side) * k / max(1, len(sizes) - 1)
            shown = min(n, 24)  # very wide layers: the first 24 neurons
            span = h - top - bottom
            ys = [h / 2] if shown == 1 else [top + span * i / (shown - 1) for i in range(shown)]
            cols.append([QPointF(x, y) for y in ys])
        return cols

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()  # the theme's (dark or light)
        light = pal.color(QPalette.ColorRole.Base).lightness() > 128
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        self._segments, self._nodes = [], []
        if self.spec is None or self.theta.size != self.spec.n_params:
            return
        spec = self.spec
        cols = self._layout()
        shown = self.theta if self.shown_weights is None else self.shown_weights
        with np.errstate(all="ignore"):
            finite = np.abs(shown[np.isfinite(shown)])
        wmax = max(1e-12, float(finite.max())) if finite.size else 1.0
        n_conn = sum(len(a) * len(b) for a, b in itertools.pairwise(cols))
        # antialiased wide lines cost ~60 µs each: smooth for the book's few connections,
        # plain beyond (a 2-8-8-1's 88 draw in a quarter of the time, every frame)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, n_conn <= SMOOTH_LINES)
        layers = list(enumerate(zip(spec.slices, spec.fan_ins, strict=True)))
        for m, ((wsl, _bsl), r) in layers if n_conn <= MAX_DRAWN else ():  # lines first:
            for i, q in enumerate(cols[m + 1]):  # no line crosses a neuron's picture
                for j, a in enumerate(cols[m]):
                    self._line(p, a, q, wsl.start + i * r + j, wmax)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for m, ((_wsl, bsl), _r) in layers:
            for i, q in enumerate(cols[m + 1]):
                act = None
                if self.activity is not None and i < len(self.activity[m]):
                    act = float(self.activity[m][i])
                self._node(p, q, bsl.start + i, wmax, f"layer {m + 1}, neuron {i + 1}", act)
        for j, a in enumerate(cols[0]):
            p.setPen(QPen(QColor("#555555" if light else "#aaaaaa"), 1.2))
            p.setBrush(QColor("#dddddd" if light else "#333333"))
            if self._thumb(0, j) is not None:
                self._draw_thumb(p, a, self._thumb(0, j), QColor("#888888"), 1.2)
            else:
                p.drawEllipse(a, 7, 7)
            self._nodes.append((a, None, f"input p{j + 1}"))
        p.setPen(pal.color(QPalette.ColorRole.Text))
        last = len(cols) - 1
        for k, col in enumerate(cols):
            label = "inputs" if k == 0 else f"layer {k}: {spec.transfers[k - 1]}"
            if k and (self.width() - 60) / max(1, last) < 125:  # narrow: short labels
                label = f"{k}: {spec.transfers[k - 1]}"
            x = col[0].x()
            # the outer labels hug the edges so they are never cut off
            if k == 0:
                rect, align = QRectF(4, 0, 120, 16), Qt.AlignmentFlag.AlignLeft
            elif k == last:
                rect, align = QRectF(self.width() - 124, 0, 120, 16), Qt.AlignmentFlag.AlignRight
            else:
                rect, align = QRectF(x - 60, 0, 120, 16), Qt.AlignmentFlag.AlignCenter
            p.drawText(rect, align, label)
        if self._hover is not None:  # the neuron under the pointer, large
            q, img = self._hover
            side = min(170, self.height() - 8)
            x = q.x() - side - 14  # left of the pointer (its tooltip opens to the right)
            if x < 4:
                x = min(q.x() + 14, self.width() - side - 4)
            y = min(max(4.0, q.y() - side / 2), self.height() - side - 4)
            p.setPen(QPen(pal.color(QPalette.ColorRole.Text), 1))
            p.drawImage(QRectF(x, y, side, side), img)
            p.drawRect(QRectF(x, y, side, side))
        p.end()

    def _thumb(self, layer: int, i: int):
        t = self.thumbs
        if t is None or layer >= len(t) or i >= len(t[layer]):
            return None
        return t[layer][i]

    def thumb_side(self) -> float:
        """A thumbnail's side: as large as the columns and rows leave room for."""
        spec = self.spec
        rows = min(24, max(spec.n_inputs, *spec.sizes))
        h = self.height() - 60
        dy = h / max(1, rows - 1) if rows > 1 else h
        dx = (self.width() - 60) / max(1, spec.n_layers)
        return float(max(10.0, min(40.0, 0.85 * dy, 0.35 * dx)))

    def _draw_thumb(self, p: QPainter, q: QPointF, img, edge: QColor, width: float) -> None:
        s = self.thumb_side()
        rect = QRectF(q.x() - s / 2, q.y() - s / 2, s, s)
        p.drawImage(rect, img)
        p.setPen(QPen(edge, width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(rect)

    def _line(self, p: QPainter, a: QPointF, b: QPointF, k: int, wmax: float) -> None:
        w = float(self.theta[k] if self.shown_weights is None else self.shown_weights[k])
        w = w if math.isfinite(w) else 0.0
        c = QColor(POSITIVE if w >= 0 else NEGATIVE)
        free = k in self.free
        c.setAlpha(235 if free else 110)
        pen = QPen(c, 0.6 + 5.0 * math.sqrt(abs(w) / wmax))
        if not free:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(a, b)
        self._segments.append((a, b, k))

    def _node(self, p: QPainter, q: QPointF, k: int, wmax: float, name: str,
              activity: float | None = None) -> None:  # fmt: skip
        b = float(self.theta[k] if self.shown_weights is None else self.shown_weights[k])
        b = b if math.isfinite(b) else 0.0
        c = QColor(POSITIVE if b >= 0 else NEGATIVE)
        c.setAlpha(200)
        if activity is not None:  # the inspector: f'(n), saturated -> responsive
            t = min(1.0, max(0.0, activity)) if math.isfinite(activity) else 0.0
            c = QColor.fromRgbF(*(SATURATED.getRgbF()[i] * (1 - t) + RESPONSIVE.getRgbF()[i] * t
                                  for i in range(3)))  # fmt: skip
            name = f"{name}, f'(n) at {100 * t:.0f} % of its largest value"
        text = self.palette().color(QPalette.ColorRole.Text)
        p.setPen(QPen(text if k in self.free else QColor("#888888"), 1.5))
        p.setBrush(c)
        radius = 5 + 5 * math.sqrt(abs(b) / wmax) if activity is None else 9
        img = self._thumb(*self._neuron_of(k)) if activity is None else None
        if img is not None:  # its map, framed in the bias's sign colour, as thick as big
            c.setAlpha(255)
            self._draw_thumb(p, q, img, c, 1.0 + 3.0 * math.sqrt(abs(b) / wmax))
        else:
            p.drawEllipse(q, radius, radius)
        self._nodes.append((q, k, name))

    def _neuron_of(self, k: int) -> tuple[int, int]:
        """(layer, neuron) of bias ``k`` (layers from 1: 0 is the inputs)."""
        for m, (_w, b) in enumerate(self.spec.slices, 1):
            if b.start <= k < b.stop:
                return m, k - b.start
        return 0, 0

    # ---- hover -------------------------------------------------------------------------------
    def param_at(self, pos: QPointF) -> int | None:
        """The parameter under ``pos``: a neuron's bias or the nearest connection."""
        for q, k, _name in self._nodes:
            if math.hypot(q.x() - pos.x(), q.y() - pos.y()) <= 10:
                return k
        best, best_d = None, 6.0
        for a, b, k in self._segments:
            d = _segment_distance(pos, a, b)
            if d < best_d:
                best, best_d = k, d
        return best

    def describe(self, pos: QPointF) -> str | None:
        """What is under ``pos``: a neuron (its bias) or the nearest connection."""
        for q, k, name in self._nodes:
            if math.hypot(q.x() - pos.x(), q.y() - pos.y()) <= 10:
                if k is None:
                    return name
                return f"{name}: {self._describe_param(k)}"
        best, best_d = None, 6.0
        for a, b, k in self._segments:
            d = _segment_distance(pos, a, b)
            if d < best_d:
                best, best_d = k, d
        return None if best is None else self._describe_param(best)

    def _describe_param(self, k: int) -> str:
        state = "free" if k in self.free else "fixed"
        text = f"{self.spec.labels[k]} = {self.theta[k]:.6g} ({state})"
        if self.shown_weights is not None:
            text += f"; this sample's gradient {self.shown_weights[k]:.4g}"
        elif self.editable:
            text += "; double-click to type a value, right-click to make it free or fixed"
        return text

    # ---- editing (issue 13 #8) -----------------------------------------------------------------
    def mouseDoubleClickEvent(self, event) -> None:
        k = self.param_at(event.position()) if self.editable else None
        if k is None:
            super().mouseDoubleClickEvent(event)
            return
        self.edit_param(k, event.position())

    def edit_param(self, k: int, pos: QPointF | None = None) -> WeightEditor:
        """Open the in-place field for parameter ``k`` (at ``pos``)."""
        if self.editor is not None:
            self.editor.close()
        self.editor = WeightEditor(self, k, self.spec.labels[k], float(self.theta[k]))
        self.editor.accepted.connect(self.value_edited)
        x = 4 if pos is None else int(min(max(4, pos.x() - 60), max(4, self.width() - 184)))
        y = 4 if pos is None else int(min(max(4, pos.y() - 12), max(4, self.height() - 60)))
        self.editor.move(x, y)
        self.editor.show()
        self.editor.edit.setFocus()
        self.editor.edit.selectAll()
        return self.editor

    def contextMenuEvent(self, event) -> None:
        k = self.param_at(QPointF(event.pos())) if self.editable else None
        if k is None:
            return
        menu = self.context_menu(k)
        menu.exec(event.globalPos())

    def context_menu(self, k: int) -> QMenu:
        menu = QMenu(self)
        label = self.spec.labels[k]
        free = k in self.free
        act = menu.addAction(f"Make {label} {'fixed' if free else 'free'}")
        act.triggered.connect(lambda: self.free_toggled.emit(k))
        edit = menu.addAction(f"Set {label}…")
        edit.triggered.connect(lambda: self.edit_param(k))
        return menu

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        hover = None
        if self.thumbs is not None:
            for q, k, name in self._nodes:
                if abs(q.x() - pos.x()) <= 10 and abs(q.y() - pos.y()) <= 10:
                    where = self._neuron_of(k) if k is not None else (0, int(name[7:]) - 1)
                    img = self._thumb(*where)
                    hover = None if img is None else (q, img)
                    break
        if (hover is None) != (self._hover is None) or hover is not None:
            self._hover = hover
            self.update()
        text = self.describe(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()

    def leaveEvent(self, event) -> None:
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)


class WeightEditor(QWidget):
    """A field over the diagram for one parameter's value: Enter applies, Esc cancels; a
    bad value is refused in place with the reason under the field."""

    accepted = Signal(int, float)

    def __init__(self, parent: QWidget, k: int, label: str, value: float) -> None:
        super().__init__(parent)
        self.k = k
        self.setAutoFillBackground(True)
        self.setAutoFillBackground(True)  # the palette's window colour, in either theme
        self.edit = QLineEdit(repr(value))
        self.edit.setToolTip(f"{label}: type a value, Enter applies, Esc cancels")
        self.error = QLabel()
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        self.error.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(3, 3, 3, 3)
        lay.setSpacing(1)
        lay.addWidget(QLabel(label))
        lay.addWidget(self.edit)
        lay.addWidget(self.error)
        self.setFixedWidth(180)
        self.edit.returnPressed.connect(self.apply)

    def apply(self) -> None:
        from bpgui.widgets.fields import parse_number

        try:
            v = float(parse_number(self.edit.text()))
            if abs(v) > MAX_WEIGHT:
                raise ValueError(f"must be within ±{MAX_WEIGHT:g}")
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.edit.setProperty("invalid", True)
            repolish(self.edit)
            self.adjustSize()
            return
        self.close()
        self.accepted.emit(self.k, v)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)


def _segment_distance(p: QPointF, a: QPointF, b: QPointF) -> float:
    ax, ay, bx, by = a.x(), a.y(), b.x(), b.y()
    dx, dy = bx - ax, by - ay
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p.x() - ax) * dx + (p.y() - ay) * dy) / L2))
    return math.hypot(p.x() - (ax + t * dx), p.y() - (ay + t * dy))
