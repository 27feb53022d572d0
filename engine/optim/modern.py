"""The first-order methods of deep-learning courses, as PyTorch defines them (its
``torch.optim`` documentation's algorithms), on the sample-averaged gradient
``g = lr_scale ∇F``:

- **nesterov** — Nesterov momentum in Sutskever et al. (2013)'s form as PyTorch computes it
  (``SGD(nesterov=True)``): ``b ← μ b + g`` (``b = g`` the first time), ``x ← x − lr (g + μ b)``.
- **rmsprop** — Hinton's RMSprop (lecture 6e, 2012): ``v ← α v + (1 − α) g²``,
  ``x ← x − lr g / (√v + ε)``.
- **adagrad** — Duchi, Hazan & Singer (2011): ``G ← G + g²``, ``x ← x − lr g / (√G + ε)``.
- **adamw** — Adam with decoupled weight decay (Loshchilov & Hutter 2019):
  ``x ← x − lr λ x`` on the weights (biases are not decayed, as bpgui's penalties), then
  Adam's step (:mod:`bpgui_engine.optim.adam`) with the gradient of ``F`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.model.penalty import weight_mask
from bpgui_engine.optim.adam import Adam, AdamHyper
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, arr, hyper, lst, register


@dataclass(frozen=True)
class NesterovHyper(Hyper):
    lr: float = hyper(0.1, "learning rate", 0.0, 1e6, lo_open=True, log=True,
                      help="about lr / (1 − μ) per step on a long slope")  # fmt: skip
    momentum: float = hyper(0.9, "momentum μ", 0.0, 1.0, hi_open=True)


@register
class Nesterov(Optimizer):
    name = "nesterov"
    title = "Nesterov momentum"
    Hyper = NesterovHyper

    def reset(self) -> None:
        self.buf: np.ndarray | None = None

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        g = objective.lr_scale * g
        self.buf = g.copy() if self.buf is None else h.momentum * self.buf + g
        return StepResult(x - h.lr * (g + h.momentum * self.buf))

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"buf": lst(self.buf)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buf = arr(state.get("buf"))


@dataclass(frozen=True)
class RMSpropHyper(Hyper):
    lr: float = hyper(0.01, "learning rate", 0.0, 1e6, lo_open=True, log=True)
    alpha: float = hyper(0.99, "smoothing α", 0.0, 1.0, hi_open=True)
    eps: float = hyper(1e-8, "ε", 0.0, 1.0, lo_open=True, log=True)


@register
class RMSprop(Optimizer):
    name = "rmsprop"
    title = "RMSprop"
    Hyper = RMSpropHyper

    def reset(self) -> None:
        self.v: np.ndarray | None = None

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        g = objective.lr_scale * g
        v = np.zeros_like(x) if self.v is None else self.v
        self.v = h.alpha * v + (1.0 - h.alpha) * g * g
        return StepResult(x - h.lr * g / (np.sqrt(self.v) + h.eps))

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"v": lst(self.v)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.v = arr(state.get("v"))


@dataclass(frozen=True)
class AdagradHyper(Hyper):
    lr: float = hyper(0.5, "learning rate", 0.0, 1e6, lo_open=True, log=True)
    eps: float = hyper(1e-10, "ε", 0.0, 1.0, lo_open=True, log=True)


@register
class Adagrad(Optimizer):
    name = "adagrad"
    title = "Adagrad"
    Hyper = AdagradHyper

    def reset(self) -> None:
        self.G: np.ndarray | None = None

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        g = objective.lr_scale * g
        self.G = g * g if self.G is None else self.G + g * g
        return StepResult(x - h.lr * g / (np.sqrt(self.G) + h.eps))

    def show(self) -> dict[str, float]:
        return {"lr": self.hyper.lr}

    def state_dict(self) -> dict[str, Any]:
        return {"G": lst(self.G)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G = arr(state.get("G"))


@dataclass(frozen=True)
class AdamWHyper(AdamHyper):
    weight_decay: float = hyper(
        0.01, "weight decay λ", 0.0, 1e3,
        help="decoupled: x ← x − lr λ x on the weights, every epoch",
    )  # fmt: skip


@register
class AdamW(Adam):
    name = "adamw"
    title = "AdamW (decoupled weight decay)"
    Hyper = AdamWHyper

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        w = weight_mask(objective.spec)[objective.free_idx]
        decayed = np.where(w, x * (1.0 - h.lr * h.weight_decay), x)
        return super().step(decayed, f, g, objective)
