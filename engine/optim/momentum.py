"""Momentum backpropagation (MOBP), the book's form (NND eq. 12.36-12.37):

``dx_k = gamma dx_{k-1} - (1 - gamma) lr mean_q grad l_q``, ``x_{k+1} = x_k + dx_k``.
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
class MomentumHyper(Hyper):
    lr: float = hyper(
        4.0,
        "learning rate",
        0.0,
        1e6,
        lo_open=True,
        log=True,
        help="step scale on the sample-averaged gradient",
    )
    gamma: float = hyper(
        0.8,
        "momentum γ",
        0.0,
        1.0,
        hi_open=True,
        help="low-pass filter coefficient, 0 <= gamma < 1",
    )
    lr_layers: float | tuple[float, ...] = layer_rates()


@register
class Momentum(Optimizer):
    name = "momentum"
    title = "Momentum (MOBP)"
    Hyper = MomentumHyper

    def reset(self) -> None:
        self.dx: np.ndarray | None = None

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        m = layer_multipliers(h, objective)
        if m is not None:
            g = g * m
        dx = -(1.0 - h.gamma) * h.lr * objective.lr_scale * g
        if self.dx is not None:
            dx += h.gamma * self.dx
        self.dx = dx
        return StepResult(x + dx)

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"dx": lst(self.dx)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dx = arr(state.get("dx"))
