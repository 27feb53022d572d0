"""The update rules of the methods added in issue 23 (Rprop, Quickprop, Nesterov, RMSprop,
Adagrad, AdamW) for the equations panel, with the current epoch's numbers; the panel
(:mod:`bpgui.panes.equations`) adds the first line (the point and the gradient)."""

from __future__ import annotations

import numpy as np

WATCH = {
    "rprop": "Only the gradient's sign counts: each parameter's step Δ grows by η⁺ while its "
    "slope keeps its sign and shrinks by η⁻ when it flips. Flat plateaus are crossed at full "
    "speed; the path moves along the axes' diagonals.",
    "quickprop": "Each parameter jumps to the minimum of the parabola through its last two "
    "slopes, at most μ times its previous step: a few huge steps along a valley, then a "
    "stall where the parabola guess is wrong.",
    "nesterov": "The momentum buffer b remembers past gradients; the step looks ahead along it "
    "(g + μ b), so it brakes before a valley's far wall instead of after.",
    "rmsprop": "Each gradient is divided by the running root mean square of its own history: "
    "every parameter moves at about the same speed, and flat directions are not starved.",
    "adagrad": "The divisor is the root of all past squared gradients: steps shrink for ever, "
    "quickly where gradients were large. Good on sparse features, slow at the end.",
    "scg": "No line search: the curvature along p comes from one extra gradient a small "
    "distance σ/|p| away, and λ (a trust region) keeps it positive; a failed step raises λ "
    "and the point stays.",
    "bfgs": "H learns the inverse Hessian from the steps taken: the first steps are steepest "
    "descent, then the direction turns towards Newton's and the last steps are long.",
    "lbfgs": "BFGS from the last m steps only: the same directions while m covers them, memory "
    "n·m instead of n².",
    "oss": "BFGS that forgets: each direction uses only the last step's secant pair, starting "
    "from H = I — between conjugate gradient and BFGS.",
    "br": "Levenberg-Marquardt on β E<sub>D</sub> + α E<sub>W</sub>; γ, the number of "
    "parameters the data can pin down, sets α and β each epoch: large weights are pulled in "
    "unless the data needs them.",
    "adamw": "Adam's step plus a decay of the weights by lr·λ every epoch, outside the "
    "gradient: the weights are pulled to 0 at a rate that does not depend on their gradient's "
    "size (an L2 penalty in Adam would be divided by √v̂).",
}


def _v(vec, x) -> str:
    return vec(None if x is None else np.asarray(x, float))


def family_lines(optimizer, hyper, uv, lr_scale, state, vec, k: str, dx: str):
    """(the rule's first line, the lines with numbers), or None for another method."""
    g = "g<sub>" + k + "</sub>"
    q = round(1 / lr_scale) if lr_scale and lr_scale < 1 else None
    gq = f"∇F/{q}" if q else "∇F"
    if optimizer == "rprop":
        plus = hyper.get("variant") == "irprop+"
        head = ("<b>Δ<sub>i</sub> ← min(η⁺Δ<sub>i</sub>, Δmax) if g<sub>i</sub> kept its sign, "
                "max(η⁻Δ<sub>i</sub>, Δmin) if it flipped; &nbsp; Δx<sub>i</sub> = −sign("
                "g<sub>i</sub>) Δ<sub>i</sub></b>")  # fmt: skip
        lines = [
            f"η⁺ = {hyper['eta_plus']:g}, η⁻ = {hyper['eta_minus']:g}, Δ0 = "
            f"{hyper['delta0']:g}, Δmax = {hyper['delta_max']:g}, Δmin = "
            f"{hyper['delta_min']:g} ({hyper['variant']})",
            f"Δ (per parameter, before this epoch) = {_v(vec, state.get('delta'))}",
        ]
        if plus:
            lines.append("iRprop+: where the sign flipped, no step (and the last one is taken "
                         "back if F rose); that gradient counts as 0 next epoch")  # fmt: skip
        lines.append(f"{dx} = {vec(uv.step)}")
        return head, lines
    if optimizer == "quickprop":
        head = ("<b>Δx<sub>i</sub> = Δx⁻<sub>i</sub> s<sub>i</sub> / (s⁻<sub>i</sub> − "
                "s<sub>i</sub>) (at most μ Δx⁻<sub>i</sub>) + ε s<sub>i</sub> while the slope "
                f"keeps its sign</b>, s = −{gq}")  # fmt: skip
        lines = [f"s = −{gq} = {vec(uv.neg_gradient * lr_scale)}",
                 f"ε = lr = {hyper['lr']:g}, μ = {hyper['mu']:g}",
                 f"Δx⁻ = {_v(vec, state.get('dx_prev'))}, s⁻ = {_v(vec, state.get('s_prev'))}",
                 f"{dx} = {vec(uv.step)}"]  # fmt: skip
        return head, lines
    g_now = f"{g} = {gq} = {vec(-uv.neg_gradient * lr_scale)}"
    if optimizer == "nesterov":
        head = f"<b>b ← μ b + {g}, &nbsp; {dx} = −lr ({g} + μ b)</b>, {g} = {gq}"
        lines = [
            g_now,
            f"lr = {hyper['lr']:g}, μ = {hyper['momentum']:g}",
            f"b (before this epoch) = {_v(vec, state.get('buf'))}",
            f"{dx} = {vec(uv.step)}",
        ]
        return head, lines
    if optimizer in ("rmsprop", "adagrad"):
        acc = "v ← α v + (1−α) g²" if optimizer == "rmsprop" else "G ← G + g²"
        den = "√v" if optimizer == "rmsprop" else "√G"
        head = f"<b>{acc}, &nbsp; {dx} = −lr {g} / ({den} + ε)</b>, {g} = {gq}"
        key = "v" if optimizer == "rmsprop" else "G"
        extra = f", α = {hyper['alpha']:g}" if optimizer == "rmsprop" else ""
        lines = [
            g_now,
            f"lr = {hyper['lr']:g}{extra}, ε = {hyper['eps']:g}",
            f"{key} (before this epoch) = {_v(vec, state.get(key))}",
            f"{dx} = {vec(uv.step)}",
        ]
        return head, lines
    if optimizer == "scg":
        head = ("<b>s = (∇F(x + σ<sub>k</sub>p) − ∇F(x))/σ<sub>k</sub>, δ = pᵀs + (λ − λ̄)|p|², "
                f"α = pᵀr/δ, &nbsp; {dx} = α p</b> if Δ = 2δ(F(x) − F(x + αp))/μ² ≥ 0")  # fmt: skip
        lam = state.get("lam")
        lines = [
            f"σ = {hyper['sigma']:g}, λ = {lam if lam is not None else hyper['lam']:.4g}"
            f" (now), p = {_v(vec, state.get('p'))}",
            f"{dx} = {vec(uv.step)}" + ("" if uv.accepted else " (Δ < 0: no step, λ rises)"),
        ]
        return head, lines
    if optimizer in ("bfgs", "lbfgs", "oss"):
        which = {"bfgs": "H ← (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ",
                 "lbfgs": f"H from the last m = {hyper.get('memory', 10)} pairs (s, y)",
                 "oss": "H = I updated once with the last (s, y)"}[optimizer]  # fmt: skip
        head = (f"<b>d = −H {g}, &nbsp; {dx} = α d</b> (α = 1, ½, ¼, … until F(x+αd) ≤ F + "
                f"10⁻⁴ α {g}ᵀd); {which}")  # fmt: skip
        lines = []
        H = state.get("H")
        if H is not None:
            lines.append(f"d = −H {g} = {vec(np.asarray(H, float) @ uv.neg_gradient)}")
            with np.errstate(all="ignore"):
                B = np.linalg.inv(np.asarray(H, float))  # the approximate Hessian
                lam = np.sort(np.linalg.eigvalsh((B + B.T) / 2))
            lines.append("eigenvalues of H⁻¹ (the approximate Hessian): "
                         + ", ".join(f"{v:.4g}" for v in lam[:6])
                         + " — the exact ones are in the curvature panel")  # fmt: skip
        lines.append(f"{dx} = {vec(uv.step)}")
        return head, lines
    if optimizer == "br":
        head = (
            "<b>Δx = −(β JᵀJ + (α + μ) I)⁻¹ (β Jᵀe + α x)</b>, then γ = N − "
            "α tr((β JᵀJ + α I)⁻¹), α = γ/2E<sub>W</sub>, β = (n − γ)/2E<sub>D</sub>"
        )
        gm = state.get("gamma")
        lines = [
            f"γ = {'—' if gm is None else f'{gm:.4g}'} effective parameters, "
            f"α = {state.get('alpha', 0.0):.4g}, β = {state.get('beta', 1.0):.4g}, "
            f"μ = {state.get('mu', hyper['mu']):.4g}",
            f"{dx} = {vec(uv.step)}",
        ]
        return head, lines
    if optimizer == "adamw":
        b1, b2 = "β<sub>1</sub>", "β<sub>2</sub>"
        head = (f"<b>w ← (1 − lr λ) w, &nbsp; then Adam: m ← {b1} m + (1−{b1}) g, v ← {b2} v + "
                f"(1−{b2}) g², Δx = −lr m̂ / (√v̂ + ε)</b>")  # fmt: skip
        lines = [g_now, f"lr = {hyper['lr']:g}, λ = {hyper['weight_decay']:g} (weights only), "
                 f"β<sub>1</sub> = {hyper['beta1']:g}, β<sub>2</sub> = {hyper['beta2']:g}",
                 f"{dx} = {vec(uv.step)} (the decay included)"]  # fmt: skip
        return head, lines
    return None
