"""Resilient backpropagation (Riedmiller & Braun 1993): every parameter has its own step
size ``Δ_i``, adapted from the signs of successive gradients only (a gradient's size is
ignored).

- ``rprop-`` (Igel & Hüsken 2000's name; MATLAB's ``trainrp``): ``Δ_i ← min(η⁺ Δ_i, Δmax)``
  where ``g_i`` kept its sign, ``max(η⁻ Δ_i, Δmin)`` where it changed, unchanged where
  either is 0; then ``x_i ← x_i − sign(g_i) Δ_i``.
- ``irprop+`` (Igel & Hüsken 2000, "improved Rprop with weight backtracking"): the same
  adaptation, but where the sign changed the gradient is set to 0 (no step, no adaptation
  next epoch), and the previous step is taken back there if the error rose.

``Δ0``, ``Δmax`` and ``Δmin`` are in the parameters' own units.  Full-batch: the signs of
the sample-averaged gradient are those of ``∇F``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, arr, hyper, lst, register


@dataclass(frozen=True)
class RpropHyper(Hyper):
    eta_plus: float = hyper(
        1.2, "η⁺ (increase)", 1.0, 10.0, lo_open=True,
        help="step growth where the gradient keeps its sign (η⁺ > 1)",
    )  # fmt: skip
    eta_minus: float = hyper(
        0.5, "η⁻ (decrease)", 0.0, 1.0, lo_open=True, hi_open=True,
        help="step shrink where the gradient changes sign (0 < η⁻ < 1)",
    )  # fmt: skip
    delta0: float = hyper(0.07, "Δ0 (initial step)", 0.0, 1e6, lo_open=True, log=True)
    delta_max: float = hyper(50.0, "Δmax", 0.0, 1e6, lo_open=True, log=True)
    delta_min: float = hyper(
        0.0, "Δmin", 0.0, 1e6,
        help="the smallest step (trainrp has none: 0; Riedmiller & Braun used 1e-6)",
    )  # fmt: skip
    variant: str = hyper(
        "rprop-", "variant", choices=("rprop-", "irprop+"),
        help="rprop-: MATLAB's trainrp; irprop+: with weight backtracking",
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.delta_min <= self.delta0 <= self.delta_max:
            raise ValueError(
                f"delta0: {self.delta0:g} must lie between delta_min {self.delta_min:g} "
                f"and delta_max {self.delta_max:g}"
            )


@register
class Rprop(Optimizer):
    name = "rprop"
    title = "Resilient backpropagation (Rprop)"
    Hyper = RpropHyper

    def reset(self) -> None:
        self.delta: np.ndarray | None = None
        self.g_prev: np.ndarray | None = None
        self.dx_prev: np.ndarray | None = None
        self.f_prev: float | None = None

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        if self.delta is None:
            self.delta = np.full_like(x, h.delta0)
            self.g_prev = np.zeros_like(x)
            self.dx_prev = np.zeros_like(x)
        prod = self.g_prev * g
        grow, shrink = prod > 0, prod < 0
        delta = np.where(grow, np.minimum(self.delta * h.eta_plus, h.delta_max), self.delta)
        delta = np.where(shrink, np.maximum(self.delta * h.eta_minus, h.delta_min), delta)
        if h.variant == "rprop-":
            dx = -np.sign(g) * delta
            g_keep = g
        else:  # irprop+
            rose = self.f_prev is not None and f > self.f_prev
            dx = np.where(shrink, -self.dx_prev if rose else 0.0, -np.sign(g) * delta)
            g_keep = np.where(shrink, 0.0, g)
        self.delta, self.g_prev, self.dx_prev, self.f_prev = delta, g_keep, dx, float(f)
        if h.variant == "irprop+" and shrink.any() and not np.any(dx):
            # every step 0 because signs flipped: an epoch that only adapted Δ, not a
            # converged run (the trainer stops on an accepted step that does not move)
            return StepResult(x, f, g, accepted=False)
        return StepResult(x + dx)

    def show(self) -> dict[str, float]:
        return {} if self.delta is None else {"lr": float(np.mean(self.delta))}

    def state_dict(self) -> dict[str, Any]:
        return {"delta": lst(self.delta), "g_prev": lst(self.g_prev),
                "dx_prev": lst(self.dx_prev), "f_prev": self.f_prev}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.delta, self.g_prev = arr(state.get("delta")), arr(state.get("g_prev"))
        self.dx_prev = arr(state.get("dx_prev"))
        fp = state.get("f_prev")
        self.f_prev = None if fp is None else float(fp)
