"""The selected optimizer's update rule with the current epoch's numbers (issue 13 #5).

Rendered as rich text (subscripts, Greek letters), never raw LaTeX.  The numbers come from
:func:`bpgui_engine.analysis.steps.update_vectors` at the current point: the same step the
optimizer takes
(on a copy), so the result shown is the step of the next epoch.  Below it, what to watch
for in the seed's experiment that uses the method.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from bpgui.panes.equations_family import WATCH as FAMILY_WATCH
from bpgui.panes.equations_family import family_lines
from bpgui.widgets.theme import set_role
from bpgui_engine.analysis.steps import UpdateVectors
from bpgui_engine.model.experiments import EXPERIMENTS

MAX_ENTRIES = 4  # vector entries written out (more: the first ones and the norm)
#: the experiment whose "what to look for" is shown for each optimizer
EXPERIMENT_OF = {
    "sd": "unstable-lr",
    "momentum": "momentum",
    "vlbp": "vlbp",
    "cg": "cg",
    "lm": "lm",
    "sgd": "incremental",
}
WATCH = {  # one or two sentences per method
    "sd": "The step is the learning rate times the negative gradient: long where the surface "
    "is steep, tiny on flat plateaus. Above the stability bound 2/λ<sub>max</sub> the steps "
    "overshoot across the valley and the error oscillates.",
    "momentum": "The momentum term γ Δx<sub>k−1</sub> averages the steps: it cancels the "
    "zig-zag across a valley and keeps the motion along it, so a learning rate that makes "
    "steepest descent oscillate still converges.",
    "vlbp": "α grows by η while the error falls and shrinks by ρ after a rise of more than ζ "
    "(that step is discarded and momentum is switched off until a step succeeds).",
    "cg": "Each epoch is one line search along p<sub>k</sub>; successive directions are "
    "conjugate, so on a quadratic n of them reach the minimum.",
    "lm": "Large μ gives a short step along −g (steepest descent); small μ gives the "
    "Gauss-Newton step. μ falls by θ after a step that lowers the error and rises by θ until "
    "one does.",
    "sgd": "Each epoch is many small steps, one per mini-batch in a shuffled order: the path "
    "is ragged where batch steepest descent is smooth.",
    "adam": "Each parameter gets its own step size from running averages of the gradient and "
    "its square: steps of about α regardless of the gradient's scale.",
    **FAMILY_WATCH,
}


GT = "g<sub>k−1</sub><sup>T</sup>"
BETA = {  # conjugate gradient's beta, by the hyperparameter's value
    "fr": f"g<sub>k</sub><sup>T</sup>g<sub>k</sub> / {GT}g<sub>k−1</sub> (Fletcher-Reeves)",
    "pr": f"Δ{GT}g<sub>k</sub> / {GT}g<sub>k−1</sub> (Polak-Ribière)",
    "pr+": f"max(0, Δ{GT}g<sub>k</sub> / {GT}g<sub>k−1</sub>) (Polak-Ribière, clipped)",
}


def sub(name: str, k: str) -> str:
    return f"{name}<sub>{k}</sub>"


def vec(v: np.ndarray | None) -> str:
    """A vector as ``[a, b]`` (long ones: the first entries and the norm)."""
    if v is None:
        return "—"
    v = np.asarray(v, float)
    with np.errstate(all="ignore"):
        norm = float(np.linalg.norm(v))
    parts = [_n(t) for t in v[:MAX_ENTRIES]]
    if v.size > MAX_ENTRIES:
        return f"[{', '.join(parts)}, …] (‖·‖ = {_n(norm)})"
    return f"[{', '.join(parts)}]"


def _n(t: float) -> str:
    return f"{t:.4g}" if math.isfinite(t) else "undefined"


def what_to_watch(optimizer: str, experiment: str | None = None) -> str:
    """The method's sentences and the "What to look for" of the experiment on screen when
    it uses this method (else of the seed's experiment for the method)."""
    text = WATCH.get(optimizer, "")
    on_screen = EXPERIMENTS.get(experiment) if experiment else None
    if on_screen is not None and on_screen.changes.get("optimizer") == optimizer:
        key = experiment
    else:
        key = EXPERIMENT_OF.get(optimizer)
    if key in EXPERIMENTS:
        e = EXPERIMENTS[key]
        look = e.description.partition("What to look for:")[2].strip()
        if look:
            text += f"<br><i>In the experiment “{e.title}”:</i> {look}"
    return text


def equation_html(optimizer: str, hyper: dict, uv: UpdateVectors, lr_scale: float,
                  state: dict, epoch: int | None) -> str:  # fmt: skip
    """The update rule of ``optimizer`` with the numbers of ``uv`` (see the module);
    ``state``: what the optimizer's state holds now (``lr`` of VLBP, ``mu`` of LM)."""
    g = -uv.neg_gradient
    k = "k" if epoch is None else str(epoch)
    km1 = "k−1" if epoch is None else str(epoch - 1)
    kp1 = "k+1" if epoch is None else str(epoch + 1)
    dx = f"Δx<sub>{k}</sub>"
    gk = sub("g", k)
    lines: list[str] = []
    at = f"epoch {epoch}" if epoch is not None else "the start point"
    q = round(1 / lr_scale) if lr_scale and lr_scale < 1 else None
    a_of = (lambda lr: f"lr/Q = {lr:g}/{q}") if q else (lambda lr: f"lr = {lr:g}")
    # the methods whose g is the sample-averaged gradient name ∇F itself here (their rule
    # defines g = ∇F/Q below)
    own_g = optimizer in ("quickprop", "nesterov", "rmsprop", "adagrad", "adamw")
    grad = "∇F" if own_g else f"{gk} = ∇F"
    lines.append(f"at {at}: {sub('x', k)} = {vec(uv.x)}, {grad} = {vec(g)}")
    if optimizer in ("sd", "sgd"):
        lr = float(hyper["lr"])
        alpha = lr * lr_scale
        if optimizer == "sd":
            lines.insert(0, f"<b>{dx} = −α {gk}</b>, &nbsp; {sub('x', kp1)} = {sub('x', k)} + {dx}")
        else:
            b = hyper.get("batch_size", 1)
            lines.insert(0, f"<b>x ← x − α ∇F<sub>batch</sub>(x)</b> for each of the shuffled "
                            f"mini-batches of {b} sample(s)")  # fmt: skip
        lines.append(f"α = {a_of(lr)} = {alpha:.4g}" + _layers(hyper))
        lines.append(f"{dx} = {vec(uv.step)}")
    elif optimizer in ("momentum", "vlbp"):
        gamma = float(hyper["gamma"])
        lr = float(state.get("lr", hyper["lr"]))
        on = state.get("momentum_on", True)
        g_eff = gamma if on else 0.0
        alpha = lr * lr_scale
        lines.insert(0, f"<b>{dx} = γ Δx<sub>{km1}</sub> − (1−γ) α {gk}</b>, &nbsp; "
                        f"{sub('x', kp1)} = {sub('x', k)} + {dx}")  # fmt: skip
        prev = None if uv.momentum is None or not g_eff else uv.momentum / g_eff
        lines.append(f"γ = {g_eff:g}{'' if on else ' (switched off after a rejected step)'}, "
                     f"α = {a_of(lr)} = {alpha:.4g}{_layers(hyper)}")  # fmt: skip
        lines.append(f"Δx<sub>{km1}</sub> = {vec(prev) if prev is not None else '0 (first step)'}")
        lines.append(
            f"{dx} = {vec(uv.step)}" + ("" if uv.accepted else " (rejected: F rose by more than ζ)")
        )
        if optimizer == "vlbp":
            eta, rho, zeta = hyper["eta"], hyper["rho"], hyper["zeta"]
            lines.append(f"then α ← η α = {eta:g} α if F fell; α ← ρ α = {rho:g} α and Δx "
                         f"discarded if F rose by more than ζ = {zeta:g}")  # fmt: skip
    elif optimizer == "cg":
        pk = sub("p", k)
        xk1 = sub("x", kp1)
        lines.insert(0, f"<b>{pk} = −{gk} + β<sub>{k}</sub> {sub('p', km1)}</b>, &nbsp; "
                        f"<b>{xk1} = {sub('x', k)} + α<sub>{k}</sub> {pk}/‖{pk}‖</b>")  # fmt: skip
        b = str(hyper.get("beta"))
        lines.append(f"β<sub>k</sub> = {BETA.get(b, b)}")
        if hyper.get("powell") == "on":
            lines.append(f"Powell–Beale restarts: p<sub>{k}</sub> = −{gk} when |g<sub>{km1}"
                         f"</sub><sup>T</sup>{gk}| ≥ 0.2 ‖{gk}‖²")  # fmt: skip
        lines.append(f"{sub('p', k)} = {vec(uv.conjugate)}")
        with np.errstate(all="ignore"):
            a = float(np.linalg.norm(uv.step))
        lines.append(
            f"α<sub>{k}</sub> = {_n(a)} (the line search's minimum), {dx} = {vec(uv.step)}"
        )
    elif optimizer == "lm":
        mu = state.get("mu", hyper["mu"])
        jtj = "J<sup>T</sup>J"
        lines.insert(0, f"<b>{dx} = −[{jtj} + μ<sub>{k}</sub> I]<sup>−1</sup> J<sup>T</sup>e</b>"
                        f" &nbsp; (SSE: J<sup>T</sup>e = ½ {gk})")  # fmt: skip
        lines.append(f"μ<sub>{k}</sub> = {_n(float(mu))}, θ = {hyper['theta']:g}")
        lines.append(f"LM step at μ<sub>{k}</sub>: {vec(uv.lm_step)}; Gauss-Newton (μ → 0): "
                     f"{vec(uv.gauss_newton)}")  # fmt: skip
        lines.append(f"{dx} = {vec(uv.step)} (after any μ increases)")
    elif optimizer == "adam":
        b1, b2 = "β<sub>1</sub>", "β<sub>2</sub>"
        lines.insert(0, f"<b>m ← {b1} m + (1−{b1}) g, &nbsp; v ← {b2} v + (1−{b2}) g², &nbsp; "
                        "Δx = −α m̂ / (√v̂ + ε)</b>")  # fmt: skip
        lines.append(f"α = {float(hyper['lr']):g}, β<sub>1</sub> = {hyper['beta1']:g}, "
                     f"β<sub>2</sub> = {hyper['beta2']:g}")  # fmt: skip
        lines.append(f"{dx} = {vec(uv.step)}")
    else:
        family = family_lines(optimizer, hyper, uv, lr_scale, state, vec, k, dx)
        if family is not None:
            head, more = family
            lines.insert(0, head)
            lines.extend(more)
    return "<br>".join(lines)


def _layers(hyper: dict) -> str:
    r = hyper.get("lr_layers", 1.0)
    if isinstance(r, list | tuple):
        return " × lr_layers<sup>m</sup> = " + ", ".join(f"{t:g}" for t in r) + " per layer"
    return "" if float(r) == 1.0 else f" × {float(r):g}"


class EquationsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Update rule</b>")
        self.title.setWordWrap(True)  # a long method's name wraps: the dock stays narrow
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.watch = QLabel()
        self.watch.setWordWrap(True)
        self.watch.setTextFormat(Qt.TextFormat.RichText)
        set_role(self.watch, "dim")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        for w in (self.title, self.text, self.watch):
            lay.addWidget(w)

    def show_update(
        self, title: str, optimizer: str, html: str, note: str = "", experiment: str | None = None
    ) -> None:
        self.title.setText(f"<b>{title}: the update rule</b>")
        self.text.setText(html + (f'<br><span style="color:#aaaaaa">{note}</span>' if note else ""))
        self.watch.setText(what_to_watch(optimizer, experiment))
