"""Levenberg-Marquardt backpropagation (LMBP), NND ch. 12:

``dx = -[J^T J + mu I]^{-1} J^T e``.  If ``F`` falls, the step is taken and ``mu`` divided by
``theta``; otherwise ``mu`` is multiplied by ``theta`` and the step recomputed.  One accepted
step is one epoch.  ``theta > 1`` is enforced, so ``mu`` grows geometrically and every
epoch ends (the book's demo freezes when that factor is 1); when ``mu`` passes ``mu_max``
the run stops, and so it does after ``MAX_TRIALS`` rejected trials in one epoch (a
``theta`` barely above 1 would otherwise take astronomically many).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, hyper, register

MAX_TRIALS = 2000  # a hard bound besides mu_max


def check_mu(h) -> None:
    """The initial ``mu`` of a Levenberg-Marquardt method may not exceed ``mu_max``."""
    if h.mu > h.mu_max:
        raise ValueError(f"mu: {h.mu:g} is above mu_max {h.mu_max:g}")


@dataclass(frozen=True)
class LMHyper(Hyper):
    mu: float = hyper(0.01, "initial μ", 0.0, 1e10, lo_open=True, log=True)
    theta: float = hyper(
        10.0,
        "μ factor ϑ",
        1.0,
        1e6,
        lo_open=True,
        log=True,
        help="mu is multiplied or divided by this (> 1)",
    )
    mu_max: float = hyper(1e10, "maximum μ", 0.0, 1e100, lo_open=True, log=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_mu(self)


@register
class LevenbergMarquardt(Optimizer):
    name = "lm"
    title = "Levenberg-Marquardt (LMBP)"
    least_squares = True
    Hyper = LMHyper

    def reset(self) -> None:
        self.mu = self.hyper.mu

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        e, J = objective.residuals_and_jacobian(x)
        JtJ, Jte = J.T @ J, J.T @ e
        eye = np.eye(x.size)
        for _ in range(MAX_TRIALS):
            try:
                dx = -np.linalg.solve(JtJ + self.mu * eye, Jte)
            except np.linalg.LinAlgError:
                dx = None
            if dx is not None and np.all(np.isfinite(dx)):
                x_new = x + dx
                f_new = objective.value(x_new)
                if f_new < f:
                    self.mu = max(self.mu / h.theta, 1e-300)
                    return StepResult(x_new, f_new)
            self.mu *= h.theta
            if self.mu > h.mu_max:
                return StepResult(x, f, g, accepted=False, stop="mu_max")
        return StepResult(x, f, g, accepted=False, stop="no_step")

    def show(self) -> dict[str, float]:
        return {"mu": self.mu}

    def state_dict(self) -> dict[str, Any]:
        return {"mu": self.mu}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mu = float(state["mu"])
