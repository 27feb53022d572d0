"""Gradient check: backpropagation against central finite differences, layer by layer.

The tutorial seed's advice: before trusting a training run, compare the analytic
gradient with ``(F(x + h e_i) - F(x - h e_i)) / 2h`` and look at the largest relative
error.  Values near 1e-7 or below mean the backprop is right; 1e-2 or above means a bug.

Finite differences have an error of their own: rounding, about ``eps |F| / h`` (and
``eps sqrt(F) / h`` near a zero of a sum of squares, whose residuals are rounded), and
truncation, ``h^2 F'''/6``, estimated here from the same difference with step ``2h``
(whose truncation error is four times larger).  Only the disagreement *beyond* that
error counts, so a gradient that is exactly 0 (at a minimum, say) is not reported as
wrong because its numeric estimate is 1e-13 instead of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.objective import Objective

__all__ = ["LayerCheck", "gradient_check"]

MAX_CHECKED = 500  # parameters per check; larger networks are sampled (seeded)
ROUNDING_ULPS = 32.0  # rounding error of one evaluation of F, in eps (|F| + sqrt|F|) (generous)
EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class LayerCheck:
    layer: int  # 1-based, as in the book
    n_checked: int
    n_params: int  # free parameters in this layer
    max_rel_error: float  # beyond the finite difference's own error (0: agree within it)
    worst: str  # label of the parameter with the largest relative error
    backprop: float  # its analytic derivative
    numeric: float  # its finite-difference estimate
    fd_error: float = 0.0  # the bound on that estimate's own error


def gradient_check(
    objective: Objective, x: np.ndarray, h: float = 1e-6, seed: int = 0
) -> list[LayerCheck]:
    """Per layer, the largest relative error beyond the finite differences' own error,

    ``max(|g - g_num| - e_fd, 0) / max(|g|, |g_num|, e_fd)``,

    where ``g_num`` is the central difference with step ``h max(1, |x_i|)`` and ``e_fd``
    bounds its error: rounding ``ROUNDING_ULPS eps (|F| + sqrt|F|) / (2 step)`` (``|F|``
    the largest value evaluated; ``sqrt|F|`` covers rounded residuals near F = 0, the
    targets being of order 1) plus the change of
    ``g_num`` when the step is doubled (three times the truncation error)."""
    x = np.asarray(x, dtype=float)
    if x.shape != (objective.n_free,) or not np.all(np.isfinite(x)):
        raise ValueError("gradient check: needs a finite point with one value per free parameter")
    n = x.size
    idx = np.arange(n)
    if n > MAX_CHECKED:
        idx = np.sort(np.random.default_rng(seed).choice(n, MAX_CHECKED, replace=False))
    m = idx.size
    k = np.arange(m)
    with np.errstate(all="ignore"):
        f0, g = objective.value_and_grad(x)
        steps = h * np.maximum(1.0, np.abs(x[idx]))
        X = np.repeat(x[None, :], 4 * m, axis=0)
        for j, mult in enumerate((1.0, -1.0, 2.0, -2.0)):
            X[j * m + k, idx] += mult * steps
        F = np.asarray(objective.value(X), dtype=float).reshape(4, m)
        # divide by the spans actually stepped (x + s is rounded)
        span1 = X[k, idx] - X[m + k, idx]
        span2 = X[2 * m + k, idx] - X[3 * m + k, idx]
        num = (F[0] - F[1]) / span1
        num2 = (F[2] - F[3]) / span2
        big = np.maximum(np.max(np.abs(F), axis=0), abs(float(f0)))
        big = big + np.sqrt(big)
        e_fd = ROUNDING_ULPS * EPS * big / span1 + np.abs(num2 - num)
        ana = g[idx]
        scale = np.maximum(np.maximum(np.abs(ana), np.abs(num)), e_fd)
        excess = np.abs(ana - num) - e_fd
        rel = np.where(excess > 0, excess / np.maximum(scale, np.finfo(float).tiny), 0.0)
        rel = np.where(np.isnan(rel), np.inf, rel)
    layers = objective.spec.layer_of[objective.free_idx]
    out = []
    for layer in np.unique(layers):
        sel = np.flatnonzero(layers[idx] == layer)
        if sel.size == 0:
            continue
        j = sel[int(np.argmax(rel[sel]))]
        out.append(
            LayerCheck(
                int(layer) + 1,
                int(sel.size),
                int(np.sum(layers == layer)),
                float(rel[j]),
                objective.free_labels[idx[j]],
                float(ana[j]),
                float(num[j]),
                float(e_fd[j]),
            )
        )
    return out
