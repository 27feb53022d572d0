"""Gradient check: backpropagation against central finite differences, layer by layer.

The tutorial seed's advice: before trusting a training run, compare the analytic
gradient with ``(F(x + h e_i) - F(x - h e_i)) / 2h`` and look at the largest relative
error.  Values near 1e-7 or below mean the backprop is right; 1e-2 or above means a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objective import Objective

__all__ = ["LayerCheck", "gradient_check"]

MAX_CHECKED = 500  # parameters per check; larger networks are sampled (seeded)


@dataclass(frozen=True)
class LayerCheck:
    layer: int  # 1-based, as in the book
    n_checked: int
    n_params: int  # free parameters in this layer
    max_rel_error: float
    worst: str  # label of the parameter with the largest relative error
    backprop: float  # its analytic derivative
    numeric: float  # its finite-difference estimate


def gradient_check(
    objective: Objective, x: np.ndarray, h: float = 1e-6, seed: int = 0
) -> list[LayerCheck]:
    """Per layer, the largest ``|g - g_num| / max(|g|, |g_num|, 1e-8)`` at ``x``."""
    x = np.asarray(x, dtype=float)
    if x.shape != (objective.n_free,) or not np.all(np.isfinite(x)):
        raise ValueError("gradient check: needs a finite point with one value per free parameter")
    n = x.size
    idx = np.arange(n)
    if n > MAX_CHECKED:
        idx = np.sort(np.random.default_rng(seed).choice(n, MAX_CHECKED, replace=False))
    with np.errstate(all="ignore"):
        _, g = objective.value_and_grad(x)
        steps = h * np.maximum(1.0, np.abs(x[idx]))
        X = np.repeat(x[None, :], 2 * idx.size, axis=0)
        k = np.arange(idx.size)
        X[k, idx] += steps
        X[idx.size + k, idx] -= steps
        F = np.asarray(objective.value(X))
        num = (F[: idx.size] - F[idx.size :]) / (2 * steps)
    ana = g[idx]
    rel = np.abs(ana - num) / np.maximum(np.maximum(np.abs(ana), np.abs(num)), 1e-8)
    layers = objective.spec.layer_of[objective.free_idx]
    out = []
    for m in np.unique(layers):
        sel = np.flatnonzero(layers[idx] == m)
        if sel.size == 0:
            continue
        j = sel[int(np.argmax(rel[sel]))]
        out.append(
            LayerCheck(
                int(m) + 1,
                int(sel.size),
                int(np.sum(layers == m)),
                float(rel[j]),
                objective.free_labels[idx[j]],
                float(ana[j]),
                float(num[j]),
            )
        )
    return out
