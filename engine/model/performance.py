"""Performance indices: SSE (the book's), MSE and cross-entropy.

Each index is a reduction of per-sample losses ``l_q``:

=========  ===============================================  =========
name       per-sample loss ``l_q``                           F
=========  ===============================================  =========
``sse``    ``||t_q - a_q||^2``                               sum
``mse``    ``||t_q - a_q||^2 / S_M``                         mean
``ce``     ``-sum t log a`` (+ ``(1-t) log(1-a)`` for logsig) mean
=========  ===============================================  =========

Learning-rate methods step along the gradient *averaged over the samples* (the book's
batching rule), ``mean_q grad l_q = lr_scale * grad F``, so a learning rate means the
same whatever the number of samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PERFORMANCE", "Performance", "get_performance"]


@dataclass(frozen=True)
class Performance:
    name: str
    description: str
    reduction: str  # "sum" or "mean"
    least_squares: bool

    def value(
        self, n_out: np.ndarray, a_out: np.ndarray, T: np.ndarray, transfer: str
    ) -> np.ndarray:
        """``F`` over the batch (shape ``(...)``); ``transfer`` names the output layer's."""
        Q = T.shape[-1]
        if self.name == "ce":
            return _ce_sum(n_out, T, transfer == "softmax") / Q
        e = T - a_out
        sse = np.einsum("...ij,...ij->...", e, e)
        if self.name == "sse":
            return sse
        return sse / (Q * T.shape[-2])

    def output_sensitivity(
        self, n_out: np.ndarray, a_out: np.ndarray, T: np.ndarray, transfer
    ) -> np.ndarray:
        """``dF/dn^M`` (shape ``(..., S_M, Q)``)."""
        Q, S = T.shape[-1], T.shape[-2]
        if self.name == "ce":
            if transfer.name == "softmax":
                s = a_out * T.sum(axis=-2, keepdims=True) - T
            else:  # logsig: d/dn of -(t log a + (1-t) log(1-a)) = a - t
                s = a_out - T
            return s / Q
        g = a_out - T  # dF/da = -2 e, times scale below
        g *= 2.0 if self.name == "sse" else 2.0 / (Q * S)
        return transfer.backward(n_out, a_out, g)

    def lr_scale(self, n_samples: int) -> float:
        """Factor turning ``grad F`` into the per-sample averaged gradient."""
        return 1.0 / n_samples if self.reduction == "sum" else 1.0

    def residual_scale(self, n_samples: int, n_outputs: int) -> float:
        """``F = (c e)^T (c e)`` for the least-squares indices: the factor ``c``."""
        if not self.least_squares:
            raise ValueError(f"performance index {self.name!r} is not a sum of squares")
        return 1.0 if self.name == "sse" else 1.0 / np.sqrt(n_samples * n_outputs)


def _ce_sum(n_out: np.ndarray, T: np.ndarray, softmax: bool) -> np.ndarray:
    """``sum_q l_q`` as sums of non-negative terms (for targets in [0, 1]): a saturated
    output's loss (1e-18, say) survives instead of cancelling to 0 against ``t n``."""
    if softmax:
        return softmax_ce_sum(n_out, T)
    # logsig: -log a = softplus(-n), -log(1-a) = softplus(n)
    la = np.logaddexp(0.0, -n_out)
    l1a = np.logaddexp(0.0, n_out)
    return np.einsum("...ij,...ij->...", T, la) + np.einsum("...ij,...ij->...", 1.0 - T, l1a)


def softmax_ce_sum(n_out: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``-sum t log softmax(n)`` over the last two axes (``(..., S, Q)``), computed as
    ``sum t (max - n) + sum_q (sum_i t) log1p(r_q)`` with ``r_q`` the column's exp-sum less
    one maximal entry: ``log(sum exp(n - max))`` would round ``1 + r`` to 1 once one output
    dominates, and ``lse - n`` would cancel."""
    mx = n_out.max(axis=-2, keepdims=True)
    d = n_out - mx  # <= 0, exactly 0 at the column's maximum
    e = np.exp(d)
    np.put_along_axis(e, np.argmax(n_out, axis=-2)[..., None, :], 0.0, axis=-2)
    lr = np.log1p(e.sum(axis=-2))  # (..., Q)
    return -np.einsum("...ij,...ij->...", T, d) + np.einsum("...j,...j->...", T.sum(axis=-2), lr)


PERFORMANCE: dict[str, Performance] = {
    p.name: p
    for p in (
        Performance("sse", "sum of squared errors (the book's)", "sum", True),
        Performance("mse", "mean squared error", "mean", True),
        Performance("ce", "cross-entropy (logsig or softmax output)", "mean", False),
    )
}


def get_performance(name: str) -> Performance:
    try:
        return PERFORMANCE[name]
    except KeyError:
        raise ValueError(
            f"performance: unknown index {name!r}; choose one of {', '.join(PERFORMANCE)}"
        ) from None
