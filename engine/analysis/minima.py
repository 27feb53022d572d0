"""Which end points of many runs are minima, and which minima are the same.

Used by random restarts (and by basin-of-attraction maps): only a *converged* end point
is a minimum -- the goal was met, the gradient is below a threshold, or the weights
stopped changing (also LM's "no step lowers the error").  A run that merely ran out of
epochs part-way along a valley is "not converged", however many of them there are; a
run with a non-finite value is "diverged".  Converged end points within ``tol``
(relative) of each other are one minimum; minima are numbered M1, M2, ... from the
lowest performance up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONVERGED_STOPS",
    "DIVERGED",
    "GRAD_TOL",
    "NOT_CONVERGED",
    "Minima",
    "converged",
    "find_minima",
]

#: stop reasons that mean "the end point is a minimum"
CONVERGED_STOPS = frozenset({"goal", "min_grad", "no_change", "mu_max", "no_step"})
GRAD_TOL = 1e-6  # a gradient norm at or below this is a minimum whatever the stop reason
NOT_CONVERGED = "not converged"
DIVERGED = "diverged"


@dataclass(frozen=True)
class Minima:
    """``index[b]``: the minimum run ``b`` reached (0 = M1), -1 not converged, -2 diverged."""

    index: np.ndarray  # (B,) int
    centres: np.ndarray  # (K, n) the lowest end point of each minimum
    performance: np.ndarray  # (K,) its performance (ascending)
    labels: list[str]  # (B,) "M1 (10, 1)", "not converged" or "diverged"

    @property
    def count(self) -> int:
        return int(self.centres.shape[0])


def converged(
    stop: np.ndarray | list[str],
    grad_norm: np.ndarray | None = None,
    grad_tol: float = GRAD_TOL,
) -> np.ndarray:
    """Per run: did it end at a minimum?  ``grad_norm`` may be None (sessions that did not
    keep it): then only the stop reason counts."""
    stop = np.asarray(stop, dtype=object)
    ok = np.array([str(s) in CONVERGED_STOPS for s in stop], dtype=bool)
    if grad_norm is not None:
        g = np.asarray(grad_norm, dtype=float)
        ok |= np.isfinite(g) & (g <= grad_tol)
    return ok


def find_minima(
    x: np.ndarray,
    performance: np.ndarray,
    stop: np.ndarray | list[str],
    grad_norm: np.ndarray | None = None,
    *,
    tol: float = 1e-2,
    grad_tol: float = GRAD_TOL,
) -> Minima:
    """Group the converged end points ``x`` (shape ``(B, n)``) into minima.

    Two converged end points are the same minimum when they differ by at most
    ``tol * max(1, max|centre|)`` in every parameter (the centre being the lowest end
    point of the group)."""
    x = np.asarray(x, dtype=float)
    F = np.asarray(performance, dtype=float)
    stop = np.asarray(stop, dtype=object)
    B = len(F)
    if x.shape[0] != B or len(stop) != B:
        raise ValueError("minima: x, performance and stop must have one entry per run")
    bad = np.array([str(s) == "diverged" for s in stop], dtype=bool)
    bad |= ~np.isfinite(F) | ~np.all(np.isfinite(x), axis=1)
    ok = converged(stop, grad_norm, grad_tol) & ~bad
    index = np.where(bad, -2, -1)
    centres: list[int] = []
    for i in np.flatnonzero(ok)[np.argsort(F[ok], kind="stable")]:
        for k, c in enumerate(centres):
            scale = max(1.0, float(np.max(np.abs(x[c]))))
            if np.max(np.abs(x[i] - x[c])) <= tol * scale:
                index[i] = k
                break
        else:
            index[i] = len(centres)
            centres.append(int(i))
    labels = []
    for k in index:
        if k == -2:
            labels.append(DIVERGED)
        elif k == -1:
            labels.append(NOT_CONVERGED)
        else:
            c = x[centres[k]]
            where = ", ".join(f"{v:.3g}" for v in c[:3]) + ("…" if c.size > 3 else "")
            labels.append(f"M{k + 1} ({where})")
    n = x.shape[1] if x.ndim == 2 else 0
    return Minima(
        index=index.astype(np.int64),
        centres=x[centres] if centres else np.empty((0, n)),
        performance=F[centres] if centres else np.empty(0),
        labels=labels,
    )
