"""Bayesian regularization (MacKay 1992; Foresee & Hagan 1997, "Gauss-Newton approximation
to Bayesian learning"; MATLAB's ``trainbr``): Levenberg-Marquardt on
``F = β E_D + α E_W`` — ``E_D`` the sum of squared errors (the index, SSE or MSE), ``E_W``
the sum of squares of the free parameters — with ``α`` and ``β`` re-estimated every epoch
from the effective number of parameters ``γ``.

One epoch (Foresee & Hagan's steps 2-4):

2. one LM step on ``F`` at the current ``α, β``: ``Δx = −(β JᵀJ + (α + μ) I)⁻¹ (β Jᵀe +
   α x)`` (the factor 2 of both sides cancels; ``μ`` as ``trainbr``'s), ``μ ← μ·μ_dec``
   after a step that lowers ``F``, ``μ ← μ·μ_inc`` and again until one does;
3. at the new point, with the Gauss-Newton Hessian ``2βJᵀJ + 2αI`` there:
   ``γ = N − 2α tr((2βJᵀJ + 2αI)⁻¹) = N − α tr((βJᵀJ + αI)⁻¹)``;
4. ``α = γ / (2 E_W)``, ``β = (n − γ) / (2 E_D)`` (``n`` errors).

Start: ``α = 0``, ``β = 1`` (Foresee & Hagan).  ``γ``, ``α`` and ``β`` are in the optimizer's
state (sessions), its :meth:`report` (``bpgui train --json``) and the equations panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, hyper, register
from bpgui_engine.optim.lm import check_mu

MAX_TRIALS = 2000


@dataclass(frozen=True)
class BRHyper(Hyper):
    mu: float = hyper(0.005, "initial μ", 0.0, 1e10, lo_open=True, log=True)
    mu_dec: float = hyper(0.1, "μ decrease", 0.0, 1.0, lo_open=True, hi_open=True,
                          help="μ is multiplied by this after a good step (< 1)")  # fmt: skip
    mu_inc: float = hyper(10.0, "μ increase", 1.0, 1e6, lo_open=True,
                          help="μ is multiplied by this until a step lowers F (> 1)")  # fmt: skip
    mu_max: float = hyper(1e10, "maximum μ", 0.0, 1e100, lo_open=True, log=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_mu(self)


@register
class BayesianRegularization(Optimizer):
    name = "br"
    title = "Bayesian regularization (trainbr)"
    least_squares = True
    Hyper = BRHyper

    def reset(self) -> None:
        self.mu = self.hyper.mu
        self.alpha, self.beta, self.gamma = 0.0, 1.0, math.nan

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        e, J = objective.residuals_and_jacobian(x)
        a, b = self.alpha, self.beta
        F = b * float(e @ e) + a * float(x @ x)
        JtJ, rhs = J.T @ J, b * (J.T @ e) + a * x
        eye = np.eye(x.size)
        for _ in range(MAX_TRIALS):
            try:
                dx = -np.linalg.solve(b * JtJ + (a + self.mu) * eye, rhs)
            except np.linalg.LinAlgError:
                dx = None
            if dx is not None and np.all(np.isfinite(dx)):
                x_new = x + dx
                e_new, J_new = objective.residuals_and_jacobian(x_new)
                ED = float(e_new @ e_new)
                if b * ED + a * float(x_new @ x_new) < F:
                    self.mu = max(self.mu * h.mu_dec, 1e-300)
                    self._estimate(x_new, ED, J_new, e_new.size)
                    return StepResult(x_new, objective.value(x_new))
            self.mu *= h.mu_inc
            if self.mu > h.mu_max:
                return StepResult(x, f, g, accepted=False, stop="mu_max")
        return StepResult(x, f, g, accepted=False, stop="no_step")

    def _estimate(self, x, ED: float, J, n_errors: int) -> None:
        """Steps 3 and 4 at the new point."""
        a, b = self.alpha, self.beta
        N = x.size
        H = b * (J.T @ J) + a * np.eye(N)
        try:
            gamma = N - a * float(np.trace(np.linalg.inv(H))) if a > 0 else float(N)
        except np.linalg.LinAlgError:
            gamma = float(N)
        EW = float(x @ x)
        self.gamma = gamma
        self.alpha = gamma / (2.0 * EW) if EW > 0 else 1.0
        self.beta = (n_errors - gamma) / (2.0 * ED) if ED > 0 else self.beta

    def show(self) -> dict[str, float]:
        return {"mu": self.mu}

    def report(self) -> dict[str, float]:
        return {"gamma": self.gamma, "alpha": self.alpha, "beta": self.beta, "mu": self.mu}

    def state_dict(self) -> dict[str, Any]:
        return {"mu": self.mu, "alpha": self.alpha, "beta": self.beta,
                "gamma": None if math.isnan(self.gamma) else self.gamma}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mu = float(state["mu"])
        self.alpha, self.beta = float(state["alpha"]), float(state["beta"])
        gm = state.get("gamma")
        self.gamma = math.nan if gm is None else float(gm)
