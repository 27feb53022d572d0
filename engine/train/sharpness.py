"""The sharpness along a run, sampled live: λmax of the Hessian of the per-sample mean of
the performance index (the curvature a learning rate meets: steepest descent is stable
on a quadratic while ``lr * λmax < 2``), every ``every`` epochs, within a time budget.

:class:`SharpnessProbe` is driven by the run loop (the engine process's, or a script's):
after every block (the start point's included), :meth:`~SharpnessProbe.sample` computes
λmax when a sample is due.  Two ways:

- **within a budget** (the default, 15 %; with the samples' other costs the run slows by
  up to about a fifth): sampling never takes more than that share of the run's time
  (the next sample is expected to cost the last one's); a sample is due at the first
  block end ``every`` epochs or more after the last sample when the budget allows.
  Blocks are not split (at full speed a block is ~20 ms of epochs), so samples are at
  least ``every`` epochs apart, often more;
- **exact** (budget 0): before each block :meth:`~SharpnessProbe.cap` makes it end on the
  next multiple of ``every``, and every multiple is sampled, however long it takes.

Each Lanczos run starts from the previous top eigenvector (the top eigenvector moves
slowly along a run): a few Hessian-vector products a sample.  Qt-free.
"""

from __future__ import annotations

import time

import numpy as np

from bpgui_engine.analysis.spectrum import HessianOperator, lanczos
from bpgui_engine.optim.base import layer_rates_active

__all__ = ["SharpnessProbe", "stability_bound"]

BUDGET = 0.15  # the share of the run's time sampling may take at most
TOL = 1e-5  # Lanczos's relative residual (a curve's precision)
MAX_HVPS = 60


def stability_bound(optimizer: str, hyper) -> tuple[float, str] | None:
    """The largest sharpness a run of ``optimizer`` is stable under on a quadratic, and
    its formula: ``2/lr`` for steepest descent; ``2(1+γ)/((1-γ) lr)`` for the book's
    momentum (its step carries a factor ``1 - γ``: with ``c = (1-γ) lr λ`` the iteration
    ``x+ = x + γ (x - x-) - c x`` is stable for ``0 < c < 2 (1 + γ)``).  ``None`` when
    there is no fixed bound (adaptive or second-order methods, per-layer rates)."""
    if layer_rates_active(hyper):
        return None
    lr = float(getattr(hyper, "lr", 0.0) or 0.0)
    if not lr > 0:
        return None
    if optimizer == "sd":
        return 2.0 / lr, "2/lr"
    if optimizer == "momentum":
        g = float(hyper.gamma)
        if g >= 1.0:
            return None
        return 2.0 * (1.0 + g) / ((1.0 - g) * lr), "2(1+γ)/((1−γ)·lr)"
    return None


class SharpnessProbe:
    def __init__(self, every: int, budget: float = BUDGET) -> None:
        """``budget``: the share of the run's time sampling may take; 0: no limit (every
        multiple of ``every`` is sampled, however long it takes)."""
        self.every = max(int(every), 0)
        self.budget = max(float(budget), 0.0)
        self.train_s = 0.0  # training time seen (blocks)
        self.probe_s = 0.0  # time spent sampling
        self.vector: np.ndarray | None = None  # the last top eigenvector
        self.last_cost = 0.0  # the last sample's seconds: the next is expected to cost as much
        self.last_epoch = -1

    def set_every(self, every: int, budget: float | None = None) -> None:
        self.every = max(int(every), 0)
        if budget is not None:
            self.budget = max(float(budget), 0.0)

    def _allowed(self) -> bool:
        """Within the budget after the next sample (expected to cost the last one's)?"""
        return self.budget == 0.0 or self.probe_s + self.last_cost <= self.budget * self.train_s

    def cap(self, epoch: int) -> int | None:
        """Epochs the next block may run so that it ends on the next sample's epoch —
        exact sampling only (no budget): within a budget, samples are taken at the block
        ends that come due (splitting blocks would cost more than the samples) — or
        ``None``: run freely."""
        if self.every <= 0 or self.budget > 0.0:
            return None
        return (epoch // self.every + 1) * self.every - epoch

    def due(self, epoch: int) -> bool:
        """Is a sample due at ``epoch`` (a block's end)?  Exact: on multiples of
        ``every``; within a budget: ``every`` epochs or more after the last sample, when
        the budget allows it."""
        if self.every <= 0 or epoch == self.last_epoch:
            return False
        if self.budget == 0.0:
            return epoch % self.every == 0
        return (self.last_epoch < 0 or epoch - self.last_epoch >= self.every) and self._allowed()

    def trained(self, seconds: float) -> None:
        """The run went on for ``seconds`` (training, and waiting at a limited speed:
        sampling in a slow run's idle time slows nothing)."""
        self.train_s += max(float(seconds), 0.0)

    def sample(self, objective, x: np.ndarray, epoch: int) -> float | None:
        """λmax × ``lr_scale`` at ``x`` when ``epoch`` is due (within the budget), else
        ``None``."""
        if not self.due(epoch):
            return None
        t0 = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                op = HessianOperator(objective, x)
                sp = lanczos(op, k=1, which="top", tol=TOL, max_hvps=MAX_HVPS, v0=self.vector,
                             steps=8)  # fmt: skip
            lam = float(sp.values[-1] * objective.lr_scale)
            self.vector = sp.vectors[:, -1].copy()
        finally:
            self.last_cost = time.perf_counter() - t0
            self.probe_s += self.last_cost
        self.last_epoch = int(epoch)
        return lam if np.isfinite(lam) else None
