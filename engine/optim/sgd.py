"""Stochastic (incremental / mini-batch) steepest descent.

One epoch is one pass over the training set in a fresh random order drawn from the
optimizer's seeded generator; each mini-batch of ``batch_size`` samples takes a step
``lr * mean_{q in batch} grad l_q``.  ``batch_size = 1`` is the book's incremental training.
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
    hyper,
    layer_multipliers,
    layer_rates,
    register,
)


@dataclass(frozen=True)
class SGDHyper(Hyper):
    lr: float = hyper(1.0, "learning rate", 0.0, 1e6, lo_open=True, log=True)
    batch_size: int = hyper(
        1, "batch size", 1, 10_000_000, help="samples per update; 1 = incremental (per-sample)"
    )
    lr_layers: float | tuple[float, ...] = layer_rates()


@register
class SGD(Optimizer):
    name = "sgd"
    title = "Stochastic gradient descent"
    Hyper = SGDHyper
    stochastic = True

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        Q = objective.data.n_samples
        order = self.rng.permutation(Q)
        b = min(self.hyper.batch_size, Q)
        m = layer_multipliers(self.hyper, objective)
        for start in range(0, Q, b):
            idx = order[start : start + b]
            _, gb = objective.value_and_grad_batch(x, samples=idx)
            if m is not None:
                gb = gb * m
            x = x - (self.hyper.lr * objective.perf.lr_scale(idx.size)) * gb
        return StepResult(x)

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
