"""A drawn network: neurons in columns, each connection's colour and width showing the
weight's sign and size, updated live; hovering shows the label and value."""

from __future__ import annotations

import itertools
import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from engine.network import NetworkSpec

POSITIVE = QColor("#4cc9f0")
NEGATIVE = QColor("#f72585")
MAX_DRAWN = 4000  # connections; beyond this only neurons are drawn


class NetworkDiagram(QWidget):
    theta_changed = Signal(object)  # the current full parameter vector shown (set_theta)

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

    def set_network(self, spec: NetworkSpec, theta: np.ndarray, free_idx) -> None:
        self.spec = spec
        self.theta = np.asarray(theta, float)
        self.free = {int(i) for i in free_idx}
        self.update()

    def set_theta(self, theta: np.ndarray) -> None:
        """The current parameters (live while training); ``theta_changed`` passes them on."""
        self.theta = np.asarray(theta, float)
        self.update()
        self.theta_changed.emit(self.theta)

    # ---- geometry ----------------------------------------------------------------------------
    def _layout(self) -> list[list[QPointF]]:
        spec = self.spec
        sizes = (spec.n_inputs, *spec.sizes)
        w, h = self.width(), self.height()
        cols = []
        for k, n in enumerate(sizes):
            x = 30 + (w - 60) * k / max(1, len(sizes) - 1)
            shown = min(n, 24)  # very wide layers: the first 24 neurons
            ys = [h / 2] if shown == 1 else [22 + (h - 44) * i / (shown - 1) for i in range(shown)]
            cols.append([QPointF(x, y) for y in ys])
        return cols

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#151515"))
        self._segments, self._nodes = [], []
        if self.spec is None or self.theta.size != self.spec.n_params:
            return
        spec = self.spec
        cols = self._layout()
        wmax = max(1e-12, float(np.max(np.abs(self.theta)))) if self.theta.size else 1.0
        n_conn = sum(len(a) * len(b) for a, b in itertools.pairwise(cols))
        for m, ((wsl, bsl), r) in enumerate(zip(spec.slices, spec.fan_ins, strict=True)):
            src, dst = cols[m], cols[m + 1]
            if n_conn <= MAX_DRAWN:
                for i, q in enumerate(dst):
                    for j, a in enumerate(src):
                        k = wsl.start + i * r + j
                        self._line(p, a, q, k, wmax)
            for i, q in enumerate(dst):
                self._node(p, q, bsl.start + i, wmax, f"layer {m + 1}, neuron {i + 1}")
        for j, a in enumerate(cols[0]):
            p.setPen(QPen(QColor("#aaaaaa"), 1.2))
            p.setBrush(QColor("#333333"))
            p.drawEllipse(a, 7, 7)
            self._nodes.append((a, None, f"input p{j + 1}"))
        p.setPen(QColor("#bbbbbb"))
        last = len(cols) - 1
        for k, col in enumerate(cols):
            label = "inputs" if k == 0 else f"layer {k}: {spec.transfers[k - 1]}"
            x = col[0].x()
            # the outer labels hug the edges so they are never cut off
            if k == 0:
                rect, align = QRectF(4, 0, 120, 16), Qt.AlignmentFlag.AlignLeft
            elif k == last:
                rect, align = QRectF(self.width() - 124, 0, 120, 16), Qt.AlignmentFlag.AlignRight
            else:
                rect, align = QRectF(x - 60, 0, 120, 16), Qt.AlignmentFlag.AlignCenter
            p.drawText(rect, align, label)
        p.end()

    def _line(self, p: QPainter, a: QPointF, b: QPointF, k: int, wmax: float) -> None:
        w = float(self.theta[k])
        c = QColor(POSITIVE if w >= 0 else NEGATIVE)
        free = k in self.free
        c.setAlpha(235 if free else 110)
        pen = QPen(c, 0.6 + 5.0 * math.sqrt(abs(w) / wmax))
        if not free:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(a, b)
        self._segments.append((a, b, k))

    def _node(self, p: QPainter, q: QPointF, k: int, wmax: float, name: str) -> None:
        b = float(self.theta[k])
        c = QColor(POSITIVE if b >= 0 else NEGATIVE)
        c.setAlpha(200)
        p.setPen(QPen(QColor("#eeeeee") if k in self.free else QColor("#777777"), 1.5))
        p.setBrush(c)
        radius = 5 + 5 * math.sqrt(abs(b) / wmax)
        p.drawEllipse(q, radius, radius)
        self._nodes.append((q, k, name))

    # ---- hover -------------------------------------------------------------------------------
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
        return f"{self.spec.labels[k]} = {self.theta[k]:.6g} ({state})"

    def mouseMoveEvent(self, event) -> None:
        text = self.describe(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()


def _segment_distance(p: QPointF, a: QPointF, b: QPointF) -> float:
    ax, ay, bx, by = a.x(), a.y(), b.x(), b.y()
    dx, dy = bx - ax, by - ay
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p.x() - ax) * dx + (p.y() - ay) * dy) / L2))
    return math.hypot(p.x() - (ax + t * dx), p.y() - (ay + t * dy))
