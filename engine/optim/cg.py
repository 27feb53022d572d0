"""Conjugate gradient backpropagation (CGBP), NND ch. 12.

Each epoch is one line search along ``p_k``: interval location (evaluate ``F`` at
``eps, 2 eps, 4 eps, ...`` along the unit direction until it rises), then golden-section
search down to ``tol`` times the bracket.  Then ``p_{k+1} = -g_{k+1} + beta_k p_k`` with
``beta`` chosen by ``beta``:

* ``fr``  Fletcher-Reeves   ``beta = g_{k+1}.g_{k+1} / g_k.g_k`` (NND ch. 9)
* ``pr``  Polak-Ribiere     ``beta = (g_{k+1} - g_k).g_{k+1} / g_k.g_k`` (may be negative)
* ``pr+`` Polak-Ribiere-plus ``beta = max(0, PR)`` (a negative beta restarts along ``-g``)

The search also restarts along ``-g`` every ``restart`` epochs (0 = the number of free
parameters) or when ``p`` is not downhill, and with ``powell="on"`` when successive
gradients are far from orthogonal, ``|g_{k-1}ᵀ g_k| ≥ 0.2 |g_k|²`` (Powell 1977's restart
test, the one MATLAB's ``traincgb`` names; its Beale three-term direction is not used:
the restart is along ``-g``).

``trace`` (an attribute, ``None`` by default; not part of the state) is called during a
step with ``("direction", p)`` and then ``("locate", (a, F))`` / ``("golden", (a, F))`` for
every trial point ``x + a p/|p|`` of the line search (:mod:`bpgui_engine.analysis.steps` draws
them).

Sessions of schema version 1 called PR+ ``pr``; they are migrated to ``pr+``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim.base import Hyper, Optimizer, StepResult, arr, hyper, lst, register

GOLD = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...
MAX_DOUBLINGS = 60
BETAS = ("fr", "pr", "pr+")
POWELL = 0.2  # Powell (1977): successive gradients far from orthogonal: restart


@dataclass(frozen=True)
class CGHyper(Hyper):
    beta: str = hyper(
        "fr",
        "β formula",
        choices=BETAS,
        help="fr = Fletcher-Reeves, pr = Polak-Ribiere, pr+ = Polak-Ribiere clipped at 0",
    )
    epsilon: float = hyper(
        0.1,
        "first step ε",
        0.0,
        1e6,
        lo_open=True,
        log=True,
        help="interval location's first trial distance (parameter units)",
    )
    tol: float = hyper(
        1e-6,
        "line-search tolerance",
        0.0,
        0.5,
        lo_open=True,
        log=True,
        help="golden section stops at this fraction of the bracket",
    )
    restart: int = hyper(
        0, "restart every n epochs", 0, 1_000_000, help="0 = the number of free parameters"
    )
    powell: str = hyper(
        "off", "Powell-Beale restarts", choices=("off", "on"),
        help="on: also restart along −g when |g_k−1ᵀg_k| ≥ 0.2 |g_k|² (MATLAB's traincgb)",
    )  # fmt: skip


def conjugate_beta(kind: str, g: np.ndarray, g_prev: np.ndarray) -> float:
    """``beta_k`` of ``p_{k+1} = -g_{k+1} + beta_k p_k`` (0 when ``g_prev`` is 0)."""
    gg = float(g_prev @ g_prev)
    if not gg:
        return 0.0
    if kind == "fr":
        return float(g @ g) / gg
    pr = float((g - g_prev) @ g) / gg
    return max(0.0, pr) if kind == "pr+" else pr


@register
class ConjugateGradient(Optimizer):
    name = "cg"
    title = "Conjugate gradient (CGBP)"
    Hyper = CGHyper

    trace: Callable[[str, Any], None] | None = None

    def reset(self) -> None:
        self.p: np.ndarray | None = None
        self.g_prev: np.ndarray | None = None
        self.k = 0
        self.last_step = 0.0

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        h = self.hyper
        n_restart = h.restart or x.size
        lost = (h.powell == "on" and self.g_prev is not None
                and abs(float(self.g_prev @ g)) >= POWELL * float(g @ g))  # fmt: skip
        if self.p is None or self.g_prev is None or self.k >= n_restart or lost:
            p, self.k = -g, 0
        else:
            beta = conjugate_beta(h.beta, g, self.g_prev)
            p = -g + beta * self.p
            if float(p @ g) >= 0.0:  # not a descent direction: restart
                p, self.k = -g, 0
        norm = float(np.linalg.norm(p))
        if norm == 0.0 or not math.isfinite(norm):
            return StepResult(x, f, g)
        u = p / norm
        trace = self.trace
        if trace is None:
            alpha = self._line_search(lambda a: objective.value(x + a * u), f)
        else:
            trace("direction", p)

            def traced(a: float) -> float:
                f_a = objective.value(x + a * u)
                trace(self._phase, (a, f_a))
                return f_a

            alpha = self._line_search(traced, f)
        x_new = x + alpha * u
        f_new, g_new = objective.value_and_grad(x_new)
        if not f_new <= f:  # the search found nothing lower: stay (no-change stop)
            return StepResult(x, f, g)
        self.p, self.g_prev, self.k = p, g, self.k + 1
        self.last_step = alpha
        return StepResult(x_new, f_new, g_new)

    def _line_search(self, F, f0: float) -> float:
        """Minimize ``F(a)`` for ``a >= 0`` by interval location plus golden section."""
        self._phase = "locate"
        eps = self.hyper.epsilon
        f1 = F(eps)
        halvings = 0
        while not f1 < f0 and halvings < MAX_DOUBLINGS:  # the minimum lies inside [0, eps]
            eps *= 0.5
            f1 = F(eps)
            halvings += 1
        if not f1 < f0:
            return 0.0
        a_lo, a_mid, f_mid = 0.0, eps, f1
        a_hi = 2.0 * eps
        f_hi = F(a_hi)
        for _ in range(MAX_DOUBLINGS):
            if not f_hi < f_mid:
                break
            a_lo, a_mid, f_mid = a_mid, a_hi, f_hi
            a_hi *= 2.0
            f_hi = F(a_hi)
        # golden section on [a_lo, a_hi]
        self._phase = "golden"
        a, b = a_lo, a_hi
        tol = self.hyper.tol * (b - a)
        c, d = b - GOLD * (b - a), a + GOLD * (b - a)
        fc, fd = F(c), F(d)
        while b - a > tol:
            if fc < fd:
                b, d, fd = d, c, fc
                c = b - GOLD * (b - a)
                fc = F(c)
            else:
                a, c, fc = c, d, fd
                d = a + GOLD * (b - a)
                fd = F(d)
        best = min(((fc, c), (fd, d), (f_mid, a_mid)), key=lambda t: (not t[0] < math.inf, t[0]))
        return best[1]

    def show(self) -> dict[str, float]:
        return {"lr": self.last_step}

    def state_dict(self) -> dict[str, Any]:
        return {
            "p": lst(self.p),
            "g_prev": lst(self.g_prev),
            "k": self.k,
            "last_step": self.last_step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p, self.g_prev = arr(state.get("p")), arr(state.get("g_prev"))
        self.k, self.last_step = int(state["k"]), float(state["last_step"])
