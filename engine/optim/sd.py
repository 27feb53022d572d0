"""Batch steepest descent backpropagation (SDBP): ``x_{k+1} = x_k - lr * mean_q grad l_q``
(times ``lr_layers[m]`` for layer ``m``'s parameters)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import (
    Hyper,
    Optimizer,
    StepResult,
    hyper,
    layer_multipliers,
    layer_rates,
    register,
)


@dataclass(frozen=True)
class SDHyper(Hyper):
    lr: float = hyper(
        1.0,
        "learning rate",
        0.0,
        1e6,
        lo_open=True,
        log=True,
        help="step = lr x gradient averaged over the samples",
    )
    lr_layers: float | tuple[float, ...] = layer_rates()


@register
class SteepestDescent(Optimizer):
    name = "sd"
    title = "Steepest descent (batch)"
    Hyper = SDHyper

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        m = layer_multipliers(self._hyper, objective)
        if m is not None:
            g = g * m
        return StepResult(x - (self._hyper.lr * objective.lr_scale) * g)

    def show(self) -> dict[str, float]:
        return {"lr": self._hyper.lr}
