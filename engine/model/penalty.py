"""Weight penalties added to the performance index: L2 (weight decay) and L1.

The regularized index is

    F_reg(x) = F(x) + l2 * sum_w w^2 + l1 * sum_w |w|

over every *weight* of the network (the ``W`` entries; biases are not penalized), the
fixed weights included (they add a constant).  ``F`` is the index as it is (SSE, MSE or
cross-entropy), so with the book's SSE a rate ``l2`` weighs ``||w||^2`` against the sum
over the samples, with MSE or cross-entropy against their mean.  The gradient of
``|w|`` is taken as ``sign(w)`` (0 at ``w = 0``) and its second derivative as 0, so the
Hessian adds ``2 l2`` on the diagonal of the free weights only.  Validation and test
performances are the plain index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_RATE", "BoundPenalty", "Penalty", "grid_penalty", "weight_mask"]

MAX_RATE = 1e6


@dataclass(frozen=True)
class Penalty:
    l2: float = 0.0
    l1: float = 0.0

    def __post_init__(self) -> None:
        for k in ("l2", "l1"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"{k}: must be a finite number, got {v!r}")
            if not 0.0 <= v <= MAX_RATE:
                raise ValueError(f"{k}: must be in [0, {MAX_RATE:g}], got {v:g}")
            object.__setattr__(self, k, float(v))

    def __bool__(self) -> bool:
        return self.l2 > 0.0 or self.l1 > 0.0

    def text(self) -> str:
        """``" + 0.001‖w‖² + 0.01‖w‖₁"``: what is added to the index ("" when nothing)."""
        out = ""
        if self.l2:
            out += f" + {self.l2:g}‖w‖²"
        if self.l1:
            out += f" + {self.l1:g}‖w‖₁"
        return out

    def value(self, W: np.ndarray) -> np.ndarray | float:
        """The penalty of weight values ``W`` (shape ``(..., n)``)."""
        v = 0.0
        if self.l2:
            v = v + self.l2 * np.einsum("...i,...i->...", W, W)
        if self.l1:
            v = v + self.l1 * np.abs(W).sum(axis=-1)
        return v

    def grad(self, W: np.ndarray) -> np.ndarray:
        return 2.0 * self.l2 * W + self.l1 * np.sign(W)


def weight_mask(spec) -> np.ndarray:
    """``True`` at every weight of ``spec``'s flat vector, ``False`` at the biases."""
    mask = np.zeros(spec.n_params, dtype=bool)
    for w, _ in spec.slices:
        mask[w] = True
    return mask


def grid_penalty(penalty: Penalty, spec, theta, ix: int, iy: int, xs, ys) -> np.ndarray:
    """The penalty over a surface's grid (``[i, j]`` at ``theta`` with parameter ``ix`` at
    ``xs[i]`` and ``iy`` at ``ys[j]``): one constant plus a term per axis that is a
    weight."""
    mask = weight_mask(spec)
    rest = mask.copy()
    rest[[ix, iy]] = False
    const = float(penalty.value(np.asarray(theta, float)[rest]))
    px = penalty.value(np.asarray(xs, float)[:, None]) if mask[ix] else np.zeros(len(xs))
    py = penalty.value(np.asarray(ys, float)[:, None]) if mask[iy] else np.zeros(len(ys))
    return const + np.asarray(px)[:, None] + np.asarray(py)[None, :]


class BoundPenalty:
    """A penalty over an objective's free parameters: the free weights' positions among
    them and the fixed weights' constant."""

    def __init__(self, penalty: Penalty, spec, base: np.ndarray, free_idx: np.ndarray):
        self.penalty = penalty
        mask = weight_mask(spec)
        self.free_w = np.flatnonzero(mask[free_idx])  # positions within x
        fixed = mask.copy()
        fixed[free_idx] = False
        self.fixed_w = base[fixed]
        self.const = float(penalty.value(self.fixed_w))

    def value(self, x: np.ndarray) -> np.ndarray | float:
        return self.penalty.value(np.asarray(x)[..., self.free_w]) + self.const

    def add_grad(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``g`` plus the penalty's gradient (a new array)."""
        g = np.array(g, dtype=float)
        g[..., self.free_w] += self.penalty.grad(np.asarray(x)[..., self.free_w])
        return g

    def add_hessian(self, H: np.ndarray) -> np.ndarray:
        H = np.array(H, dtype=float)
        if self.penalty.l2:
            k = self.free_w
            H[..., k, k] += 2.0 * self.penalty.l2
        return H

    def residuals(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The L2 penalty as residuals for Levenberg-Marquardt: ``r`` with
        ``r.r`` = the penalty, and ``dr/dx`` (shapes ``(..., k+1)``, ``(..., k+1, n_free)``):
        ``sqrt(l2) w`` per free weight and one constant row for the fixed ones."""
        if self.penalty.l1:
            raise ValueError("an L1 penalty is not a sum of squares")
        x = np.asarray(x, dtype=float)
        c = math.sqrt(self.penalty.l2)
        k = self.free_w.size
        r = np.empty((*x.shape[:-1], k + 1))
        r[..., :k] = c * x[..., self.free_w]
        r[..., k] = math.sqrt(self.const)
        J = np.zeros((*x.shape[:-1], k + 1, x.shape[-1]))
        J[..., np.arange(k), self.free_w] = c
        return r, J
