"""Scaled conjugate gradient (Møller 1993, "A scaled conjugate gradient algorithm for fast
supervised learning", Neural Networks 6: 525-533; MATLAB's ``trainscg``): conjugate
directions without a line search.  The curvature along ``p`` is estimated from one extra
gradient, ``s = (∇F(x + σ_k p) − ∇F(x)) / σ_k`` with ``σ_k = σ / |p|``, and a
Levenberg-Marquardt-like scale ``λ`` keeps it positive and acts as a trust region.

One epoch is one pass of Møller's steps 2-8 (``r = −∇F``, ``N`` free parameters):

2. if the last pass succeeded: ``δ = pᵀs`` (else the ``δ`` left by the last pass);
3. ``δ ← δ + (λ − λ̄)|p|²``;
4. if ``δ ≤ 0``: ``λ̄ = 2(λ − δ/|p|²)``, ``δ ← −δ + λ|p|²``, ``λ = λ̄``;
5. ``μ = pᵀr``, ``α = μ/δ``;
6. ``Δ = 2δ (F(x) − F(x + αp)) / μ²``;
7. ``Δ ≥ 0``: ``x ← x + αp``, ``λ̄ = 0``, success; every ``N`` passes ``p ← r`` (restart),
   else ``p ← r + β p`` with ``β = (|r⁺|² − r⁺ᵀr)/μ``; ``Δ ≥ 0.75``: ``λ ← λ/4``.
   ``Δ < 0``: no step (the epoch is a rejected trial), ``λ̄ = λ``, no success;
8. ``Δ < 0.25``: ``λ ← λ + δ(1 − Δ)/|p|²`` (the ``p`` of this pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, arr, hyper, lst, register


@dataclass(frozen=True)
class SCGHyper(Hyper):
    sigma: float = hyper(5e-5, "σ (curvature probe)", 0.0, 1.0, lo_open=True, log=True,
                         help="the finite-difference step for the curvature, σ/|p|")  # fmt: skip
    lam: float = hyper(5e-7, "λ (initial scale)", 0.0, 1e6, lo_open=True, log=True,
                       help="the trust-region scale's start (Møller's λ1)")  # fmt: skip


@register
class SCG(Optimizer):
    name = "scg"
    title = "Scaled conjugate gradient (SCG)"
    Hyper = SCGHyper

    def reset(self) -> None:
        self.p: np.ndarray | None = None
        self.lam: float | None = None
        self.lam_bar = 0.0
        self.success = True
        self.delta = 0.0
        self.k = 0  # passes so far

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        r = -g
        if self.p is None:
            self.p, self.lam, self.lam_bar, self.success = r.copy(), h.lam, 0.0, True
        p = self.p
        self.k += 1
        pp = float(p @ p)
        if pp == 0.0:  # r = 0: a stationary point (step 9 ends here)
            return StepResult(x, f, g)
        if self.success:  # step 2
            sig = h.sigma / np.sqrt(pp)
            _, g_probe = objective.value_and_grad(x + sig * p)
            self.delta = float(p @ ((g_probe - g) / sig))
        delta = self.delta + (self.lam - self.lam_bar) * pp  # step 3
        lam = self.lam
        if delta <= 0:  # step 4
            self.lam_bar = 2.0 * (lam - delta / pp)
            delta = -delta + lam * pp
            lam = self.lam_bar
        mu = float(p @ r)  # step 5
        alpha = mu / delta
        x_new = x + alpha * p
        f_new, g_new = objective.value_and_grad(x_new)
        cmp = 2.0 * delta * (f - f_new) / (mu * mu)  # step 6
        accepted = bool(cmp >= 0)  # NaN (a step off to infinity): not accepted
        if accepted:  # step 7
            r_new = -g_new
            self.lam_bar, self.success = 0.0, True
            n = x.size
            if self.k % n == 0:
                self.p = r_new.copy()
            else:
                beta = (float(r_new @ r_new) - float(r_new @ r)) / mu
                self.p = r_new + beta * p
            if cmp >= 0.75:
                lam = 0.25 * lam
        else:
            self.lam_bar, self.success = lam, False
        if not cmp >= 0.25:  # step 8 (NaN included: the trust region shrinks)
            lam = lam + delta * (1.0 - cmp) / pp if np.isfinite(cmp) else 4.0 * lam + 1e-300
        self.lam, self.delta = float(lam), float(delta)
        if accepted:
            return StepResult(x_new, float(f_new), g_new)
        return StepResult(x, f, g, accepted=False)

    def show(self) -> dict[str, float]:
        return {} if self.lam is None else {"mu": float(self.lam)}

    def state_dict(self) -> dict[str, Any]:
        return {"p": lst(self.p), "lam": self.lam, "lam_bar": self.lam_bar,
                "success": self.success, "delta": self.delta, "k": self.k}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = arr(state.get("p"))
        lam = state.get("lam")
        self.lam = None if lam is None else float(lam)
        self.lam_bar = float(state.get("lam_bar", 0.0))
        self.success = bool(state.get("success", True))
        self.delta = float(state.get("delta", 0.0))
        self.k = int(state.get("k", 0))
