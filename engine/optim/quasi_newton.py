"""Quasi-Newton methods with a backtracking line search (one iteration a epoch):

- **bfgs** — BFGS on the inverse Hessian (Nocedal & Wright, *Numerical Optimization*, 2nd
  ed., Algorithm 6.1): ``d = −H g``; after the step ``s = x⁺ − x``, ``y = g⁺ − g``,
  ``ρ = 1/yᵀs``: ``H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ``, with ``H = (yᵀs/yᵀy) I``
  before the first update (their eq. 6.20).  MATLAB's ``trainbfg`` is the same
  update on the Hessian itself.
- **lbfgs** — limited-memory BFGS (Algorithm 7.4, the two-loop recursion) over the last
  ``memory`` pairs ``(s, y)``, ``H0 = (sᵀy/yᵀy) I`` from the newest pair.
- **oss** — the one-step secant method (Battiti 1992; MATLAB's ``trainoss``): BFGS with
  ``H = I`` before each update, i.e. ``d = −g + A s + B y`` with
  ``B = sᵀg/sᵀy`` and ``A = −(1 + yᵀy/sᵀy) B + yᵀg/sᵀy``.

The line search is backtracking on the Armijo condition (Nocedal & Wright, Algorithm
3.1): ``α = 1, ρα, ρ²α, …`` until ``F(x + αd) ≤ F(x) + c α gᵀd`` (c = 1e-4, ρ = ½; MATLAB's
``srchbac`` interpolates cubically instead of halving).  A pair with ``yᵀs ≤ 0`` (no
curvature along the step) is not used; a direction that is not downhill, and one every
``n`` iterations in oss, restarts along ``−g``.  When no step along ``d`` lowers the error
within 60 halvings, the epoch is a rejected trial and the method restarts along ``−g``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, arr, hyper, lst, register

C1 = 1e-4
SHRINK = 0.5
MAX_HALVINGS = 60


def backtrack(objective: Objective, x, f: float, g, d):
    """``(α, x + αd, F, ∇F)`` of the first Armijo point of ``1, ½, ¼, …``, or None."""
    slope = float(g @ d)
    a = 1.0
    for _ in range(MAX_HALVINGS):
        x_new = x + a * d
        f_new, g_new = objective.value_and_grad(x_new)
        if np.isfinite(f_new) and f_new <= f + C1 * a * slope:
            return a, x_new, float(f_new), g_new
        a *= SHRINK
    return None


class _LineSearchMethod(Optimizer):
    """One epoch: a direction (:meth:`direction`), the line search, :meth:`learn`."""

    def reset(self) -> None:
        self.iters = 0

    def direction(self, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def learn(self, s: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def forget(self) -> None:
        raise NotImplementedError

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        self.iters += 1
        d = self.direction(g)
        if not float(g @ d) < 0:  # not downhill (or NaN): start again along -g
            self.forget()
            d = -g
        found = backtrack(objective, x, f, g, d)
        if found is None:
            self.forget()
            return StepResult(x, f, g, accepted=False)
        _, x_new, f_new, g_new = found
        s, y = x_new - x, g_new - g
        if float(y @ s) > 0:
            self.learn(s, y)
        return StepResult(x_new, f_new, g_new)


@dataclass(frozen=True)
class BFGSHyper(Hyper):
    pass


@register
class BFGS(_LineSearchMethod):
    name = "bfgs"
    title = "BFGS quasi-Newton"
    Hyper = BFGSHyper

    def reset(self) -> None:
        super().reset()
        self.H: np.ndarray | None = None

    def direction(self, g):
        return -g if self.H is None else -(self.H @ g)

    def learn(self, s, y):
        rho = 1.0 / float(y @ s)
        n = s.size
        H = (float(y @ s) / float(y @ y)) * np.eye(n) if self.H is None else self.H
        V = np.eye(n) - rho * np.outer(s, y)
        self.H = V @ H @ V.T + rho * np.outer(s, s)

    def forget(self):
        self.H = None

    def state_dict(self) -> dict[str, Any]:
        return {"iters": self.iters,
                "H": None if self.H is None else [lst(r) for r in self.H]}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iters = int(state.get("iters", 0))
        H = state.get("H")
        self.H = None if H is None else np.array(H, dtype=float)


@dataclass(frozen=True)
class LBFGSHyper(Hyper):
    memory: int = hyper(
        10, "memory m", 1, 1000,
        help="how many of the last steps (s, y) the approximation keeps (m ≥ 1)",
    )  # fmt: skip


@register
class LBFGS(_LineSearchMethod):
    name = "lbfgs"
    title = "L-BFGS (limited memory)"
    Hyper = LBFGSHyper

    def reset(self) -> None:
        super().reset()
        self.S: list[np.ndarray] = []
        self.Y: list[np.ndarray] = []

    def direction(self, g):
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(self.S), reversed(self.Y), strict=True):
            a = float(s @ q) / float(y @ s)
            alphas.append(a)
            q -= a * y
        if self.S:
            s, y = self.S[-1], self.Y[-1]
            q *= float(s @ y) / float(y @ y)
        for (s, y), a in zip(zip(self.S, self.Y, strict=True), reversed(alphas), strict=True):
            b = float(y @ q) / float(y @ s)
            q += (a - b) * s
        return -q

    def learn(self, s, y):
        self.S.append(s)
        self.Y.append(y)
        m = self.hyper.memory
        del self.S[:-m], self.Y[:-m]

    def forget(self):
        self.S, self.Y = [], []

    def state_dict(self) -> dict[str, Any]:
        return {"iters": self.iters, "S": [lst(v) for v in self.S],
                "Y": [lst(v) for v in self.Y]}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iters = int(state.get("iters", 0))
        self.S = [np.array(v, float) for v in state.get("S", [])]
        self.Y = [np.array(v, float) for v in state.get("Y", [])]


@dataclass(frozen=True)
class OSSHyper(Hyper):
    pass


@register
class OSS(_LineSearchMethod):
    name = "oss"
    title = "One-step secant (OSS)"
    Hyper = OSSHyper

    def reset(self) -> None:
        super().reset()
        self.s: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def direction(self, g):
        n = g.size
        if self.s is None or (self.iters - 1) % n == 0:
            return -g  # the first step, and a restart every n iterations
        s, y = self.s, self.y
        sy = float(s @ y)
        B = float(s @ g) / sy
        A = -(1.0 + float(y @ y) / sy) * B + float(y @ g) / sy
        return -g + A * s + B * y

    def learn(self, s, y):
        self.s, self.y = s, y

    def forget(self):
        self.s = self.y = None

    def state_dict(self) -> dict[str, Any]:
        return {"iters": self.iters, "s": lst(self.s), "y": lst(self.y)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iters = int(state.get("iters", 0))
        self.s, self.y = arr(state.get("s")), arr(state.get("y"))
