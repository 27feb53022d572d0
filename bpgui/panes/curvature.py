"""The curvature at the current point (issue 13 #3): the exact Hessian's eigenvalues over the
free parameters, the condition number, the classification and steepest descent's stability
bound -- a panel redrawn with the slow frames (one Hessian, about a millisecond)."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from bpgui_engine.analysis.curvature import Curvature

MAX_SHOWN = 8  # eigenvalues listed (the smallest and largest when there are more)
WARN = "#ff6b6b"
KIND_TEXT = {
    "minimum": "positive definite: curves up in every direction (like a minimum)",
    "saddle": "indefinite: curves up in some directions and down in others (like a saddle)",
    "maximum": "negative definite: curves down in every direction (like a maximum)",
    "degenerate": "singular: flat (zero curvature) in some direction",
    "undefined": "undefined (a non-finite value)",
}
#: optimizers whose step is lr times the gradient (with the book's momentum for these)
LR_METHODS = {"sd": False, "sgd": False, "momentum": True, "vlbp": True}


def num(v: float, digits: int = 4) -> str:
    return f"{v:.{digits}g}" if math.isfinite(v) else ("∞" if v == math.inf else "undefined")


def gamma_of(optimizer: str, hyper: dict) -> float | None:
    """The momentum in the stability bound (None: the optimizer has no such bound)."""
    if optimizer not in LR_METHODS or "lr" not in hyper:
        return None
    return float(hyper.get("gamma", 0.0)) if LR_METHODS[optimizer] else 0.0


def stability(curv: Curvature | None, optimizer: str, hyper: dict,
              recent: list[Curvature] = ()) -> tuple[str, bool]:  # fmt: skip
    """The stability line beside the learning rate: the bound 2/λmax here and, from
    ``recent`` (the curvature at the last few epochs of the run), the smallest bound near
    here -- a run that oscillates between two points is unstable if either point says so.
    Returns the text and whether ``lr`` is above the bound."""
    gamma = gamma_of(optimizer, hyper)
    if curv is None or gamma is None:
        return "", False
    name = "2(1+γ)/((1−γ)λ<sub>max</sub>)" if gamma else "2/λ<sub>max</sub>"
    if curv.lr_scale != 1.0:  # the rate multiplies the mean gradient: λmax of SSE/Q
        q = round(1.0 / curv.lr_scale)
        name = name.replace("λ<sub>max</sub>", f"(λ<sub>max</sub>/{q})")
    here = curv.lr_bound_momentum(gamma)
    if math.isnan(here):
        return f"stability bound {name} here: undefined", False
    near = [c.lr_bound_momentum(gamma) for c in recent]
    near = [b for b in near if math.isfinite(b)]
    lowest = min([here, *near]) if near else here
    lr = float(hyper["lr"])
    if not math.isfinite(lowest):
        return f"stability bound {name} here: none (no positive curvature)", False
    where = "here" if lowest == here else f"near here (over the last {len(recent) + 1} epochs)"
    if lr > lowest:
        return (
            f'<span style="color:{WARN}"><b>⚠ lr {lr:g} is above {name} = {lowest:.4g} '
            f"{where}</b>: steps along the steepest direction overshoot, so the error "
            "oscillates instead of falling</span>"
        ), True
    text = f"stable {where} for lr &lt; {name} = {lowest:.4g}"
    if lowest != here:
        text += f" (here {num(here)})"
    return text, False


class CurvaturePanel(QWidget):
    """The numbers, and switches for what the contour shows of them."""

    overlays_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Curvature at the current point</b>")
        self.title.setWordWrap(True)  # a long method's name wraps: the dock stays narrow
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bound = QLabel()
        self.bound.setWordWrap(True)
        self.bound.setTextFormat(Qt.TextFormat.RichText)
        self.eigen_box = QCheckBox("eigenvectors on the contour")
        self.eigen_box.setToolTip(
            "the principal axes of the slice's Hessian at the current point, both ways, "
            "with their eigenvalues"
        )
        self.eigen_box.setChecked(True)
        self.quad_box = QCheckBox("quadratic model's isolines")
        self.quad_box.setToolTip(
            "F(x) ≈ F(x_k) + g_kᵀ(x − x_k) + ½ (x − x_k)ᵀ H_k (x − x_k) on the slice, at the "
            "contour's levels (dashed): where it matches the real isolines, Newton's method "
            "works well"
        )
        for box in (self.eigen_box, self.quad_box):
            box.toggled.connect(lambda _on: self.overlays_changed.emit())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        for w in (self.title, self.text, self.bound, self.eigen_box, self.quad_box):
            lay.addWidget(w)
        self.curvature: Curvature | None = None
        self.unstable = False

    def show_curvature(self, curv: Curvature | None, where: str, optimizer: str,
                       hyper: dict, note: str = "", recent=(), approx=None) -> None:  # fmt: skip
        """``curv`` at ``where`` ("epoch 12", "the start point"); None: nothing to show.
        ``approx``: a quasi-Newton method's approximate Hessian's eigenvalues (BFGS's
        H⁻¹), listed beside the exact ones."""
        self.curvature = curv
        if curv is None:
            self.text.setText(note or "no current point")
            self.bound.setText("")
            self.unstable = False
            return
        lam = curv.eigenvalues
        shown = list(lam)
        if len(shown) > MAX_SHOWN:
            half = MAX_SHOWN // 2
            shown = [*shown[:half], None, *shown[-half:]]
        eig = ", ".join("…" if v is None else num(v) for v in shown)
        rows = [
            f"at {where}: F = {num(curv.value, 6)}, |g| = {num(float(_norm(curv.gradient)))}",
            f"eigenvalues of the Hessian over the {len(lam)} free parameter(s) "
            f"(ascending): <b>{eig}</b>",
            f"condition number λ<sub>max</sub>/λ<sub>min</sub> (by magnitude): "
            f"<b>{num(curv.condition)}</b>",
            f"the Hessian here is {KIND_TEXT.get(curv.kind, curv.kind)}",
        ]
        if approx is not None and len(approx):
            a = sorted(float(v) for v in approx)
            if len(a) > MAX_SHOWN:
                a = [*a[: MAX_SHOWN // 2], *a[-MAX_SHOWN // 2 :]]
            rows.insert(2, f"BFGS's approximate Hessian H⁻¹ learned so far (ascending): "
                           f"<b>{', '.join(num(v) for v in a)}</b>")  # fmt: skip
        if note:
            rows.append(f'<span style="color:#aaaaaa">{note}</span>')
        self.text.setText("<br>".join(rows))
        text, self.unstable = stability(curv, optimizer, hyper, recent)
        self.bound.setText(text or "(no learning-rate bound for this optimizer)")


def _norm(v) -> float:
    import numpy as np

    with np.errstate(all="ignore"):
        return float(np.linalg.norm(v))
