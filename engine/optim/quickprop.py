"""Quickprop (Fahlman 1988, "An empirical study of learning speed in back-propagation
networks", CMU-CS-88-162; the rule of his reference code ``quickprop1.c``): each
parameter takes the step to the minimum of the parabola through its last two slopes,
limited to ``μ`` times its previous step, plus a gradient term while the slope still
points the same way.

With ``s = −lr_scale ∇F`` (the downhill slope of the sample-averaged error) and the
previous step ``Δ⁻`` and slope ``s⁻`` of each parameter, ``shrink = μ / (1 + μ)``:

- ``Δ⁻ > 0``: ``Δ = ε s`` if ``s > 0`` (else 0), plus ``μ Δ⁻`` if ``s > shrink · s⁻``,
  else ``Δ⁻ s / (s⁻ − s)`` (the parabola's minimum);
- ``Δ⁻ < 0``: the same with the signs turned (``s < 0``, ``s < shrink · s⁻``);
- ``Δ⁻ = 0`` (the first epoch, or a parameter that stopped): ``Δ = ε s`` (gradient
  descent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, arr, hyper, lst, register


@dataclass(frozen=True)
class QuickpropHyper(Hyper):
    lr: float = hyper(
        1.0, "learning rate ε", 0.0, 1e6, lo_open=True, log=True,
        help="the gradient-descent term's scale (the first step is ε s)",
    )  # fmt: skip
    mu: float = hyper(
        1.75, "maximum growth μ", 0.0, 100.0, lo_open=True,
        help="a step is at most μ times the previous one (Fahlman: 1.75)",
    )  # fmt: skip


@register
class Quickprop(Optimizer):
    name = "quickprop"
    title = "Quickprop"
    Hyper = QuickpropHyper

    def reset(self) -> None:
        self.dx_prev: np.ndarray | None = None
        self.s_prev: np.ndarray | None = None

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        s = -objective.lr_scale * g
        if self.dx_prev is None:
            self.dx_prev, self.s_prev = np.zeros_like(x), np.zeros_like(x)
        d, sp = self.dx_prev, self.s_prev
        shrink = h.mu / (1.0 + h.mu)
        pos, neg = d > 0, d < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            quad = d * s / (sp - s)
        linear = np.where(pos, np.where(s > 0, h.lr * s, 0.0),
                          np.where(neg, np.where(s < 0, h.lr * s, 0.0), h.lr * s))  # fmt: skip
        big = np.where(pos, s > shrink * sp, s < shrink * sp)
        curved = np.where(big, h.mu * d, quad)
        dx = linear + np.where(pos | neg, curved, 0.0)
        self.dx_prev, self.s_prev = dx, s
        return StepResult(x + dx)

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"dx_prev": lst(self.dx_prev), "s_prev": lst(self.s_prev)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dx_prev, self.s_prev = arr(state.get("dx_prev")), arr(state.get("s_prev"))
