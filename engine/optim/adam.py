"""Adam (Kingma & Ba, 2015) on the sample-averaged gradient; ``lr_layers`` scales each
layer's step (Adam ignores a gradient's scale)."""

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
class AdamHyper(Hyper):
    lr: float = hyper(0.1, "learning rate", 0.0, 1e6, lo_open=True, log=True)
    beta1: float = hyper(0.9, "β1", 0.0, 1.0, hi_open=True)
    beta2: float = hyper(0.999, "β2", 0.0, 1.0, hi_open=True)
    eps: float = hyper(1e-8, "ε", 0.0, 1.0, lo_open=True, log=True)
    lr_layers: float | tuple[float, ...] = layer_rates()


@register
class Adam(Optimizer):
    name = "adam"
    title = "Adam"
    Hyper = AdamHyper

    def reset(self) -> None:
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        g = g * objective.lr_scale
        if self.m is None:
            self.m, self.v = np.zeros_like(x), np.zeros_like(x)
        self.t += 1
        self.m = h.beta1 * self.m + (1 - h.beta1) * g
        self.v = h.beta2 * self.v + (1 - h.beta2) * g * g
        mhat = self.m / (1 - h.beta1**self.t)
        vhat = self.v / (1 - h.beta2**self.t)
        step = h.lr * mhat / (np.sqrt(vhat) + h.eps)
        m = layer_multipliers(h, objective)
        if m is not None:  # Adam is invariant to a gradient's scale: scale the step itself
            step = step * m
        return StepResult(x - step)

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"m": lst(self.m), "v": lst(self.v), "t": self.t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.m, self.v, self.t = arr(state.get("m")), arr(state.get("v")), int(state["t"])
