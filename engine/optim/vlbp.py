"""Variable learning rate backpropagation (VLBP), NND ch. 12:

1. If the error grows by more than ``zeta`` (a fraction) after a trial update, the update
   is discarded, the learning rate multiplied by ``rho`` and momentum switched off.
2. If the error falls, the update is accepted and the learning rate multiplied by ``eta``;
   momentum, if it was switched off, is restored to ``gamma``.
3. If the error grows by less than ``zeta``, the update is accepted, the rate unchanged,
   momentum restored.

A rejected trial counts as an epoch (the parameters stay put).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import (
    Hyper,
    Optimizer,
    StepResult,
    arr,
    hyper,
    layer_multipliers,
    layer_rates,
    lst,
    register,
)


@dataclass(frozen=True)
class VLBPHyper(Hyper):
    lr: float = hyper(1.0, "initial learning rate", 0.0, 1e6, lo_open=True, log=True)
    gamma: float = hyper(0.5, "momentum γ", 0.0, 1.0, hi_open=True)
    zeta: float = hyper(
        0.04,
        "tolerated error increase ζ",
        0.0,
        10.0,
        help="fractional increase of the error that still accepts a step",
    )
    rho: float = hyper(0.7, "decrease factor ρ", 0.0, 1.0, lo_open=True, hi_open=True)
    eta: float = hyper(1.05, "increase factor η", 1.0, 100.0)
    lr_layers: float | tuple[float, ...] = layer_rates()


@register
class VLBP(Optimizer):
    name = "vlbp"
    title = "Variable learning rate (VLBP)"
    Hyper = VLBPHyper

    def reset(self) -> None:
        self.lr = self.hyper.lr
        self.dx: np.ndarray | None = None
        self.momentum_on = True

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        gamma = h.gamma if self.momentum_on else 0.0
        m = layer_multipliers(h, objective)
        gs = g if m is None else g * m
        dx = -(1.0 - gamma) * self.lr * objective.lr_scale * gs
        if self.dx is not None and gamma:
            dx += gamma * self.dx
        x_new = x + dx
        f_new, g_new = objective.value_and_grad(x_new)
        if not np.isfinite(f_new) or f_new > f * (1.0 + h.zeta):
            self.lr *= h.rho
            self.momentum_on = False
            self.dx = None
            return StepResult(x, f, g, accepted=False)
        if f_new < f:
            self.lr *= h.eta
        self.momentum_on = True
        self.dx = dx
        return StepResult(x_new, f_new, g_new)

    def show(self) -> dict[str, float]:
        return {"lr": self.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "dx": lst(self.dx), "momentum_on": self.momentum_on}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr = float(state["lr"])
        self.dx = arr(state.get("dx"))
        self.momentum_on = bool(state["momentum_on"])
