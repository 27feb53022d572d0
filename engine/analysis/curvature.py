"""Curvature at a point: the exact Hessian's eigen-decomposition, its classification, the
condition number, steepest descent's stability bound and the quadratic approximation.  Qt-free.

Everything is over the free parameters ``x`` of an :class:`~engine.model.objective.Objective`.
A Hessian with a non-finite entry is not decomposed: its eigenvalues are NaN and its kind
``"undefined"`` (never an exception), so a live panel can show "undefined".

Learning-rate units: the engine's learning rate multiplies the gradient *averaged over the
samples*, ``lr_scale * grad F`` (:meth:`bpgui_engine.model.performance.Performance.lr_scale`); near
a
minimum steepest descent is stable iff ``lr * lr_scale * lambda_max < 2`` (NND eq. 9.25),
so the bound in the engine's units is ``2 / (lr_scale * lambda_max)`` (:func:`stability_bound`,
also used by :func:`bpgui_engine.maps.sweep.stability_bound`).  A call of :func:`curvature_at` on
the
book's 1-2-1 network takes about 0.25 ms (two or all seven free parameters); on a 1-10-1
network with all 31 parameters free, about 1 ms (tests/engine/test_curvature.py measures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bpgui_engine.analysis.stationary import KINDS, RTOL, classify, classify_points, eigen
from bpgui_engine.model.objective import Objective

__all__ = [
    "KINDS",
    "RTOL",
    "Curvature",
    "classify",
    "condition_number",
    "curvature_at",
    "eigen",
    "quadratic_grid",
    "stability_bound",
]


def condition_number(eigenvalues: np.ndarray) -> float:
    """``max |lambda| / min |lambda|`` (inf when an eigenvalue is 0, NaN when undefined)."""
    lam = np.abs(np.asarray(eigenvalues, dtype=float))
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        return math.nan
    lo = float(lam.min())
    return math.inf if lo == 0.0 else float(lam.max()) / lo


def stability_bound(lam_max: float, lr_scale: float, gamma: float = 0.0) -> float:
    """The largest stable learning rate in the engine's units: ``2 (1 + gamma) /
    ((1 - gamma) lr_scale lambda_max)`` (``gamma``: the book's momentum, 0 = steepest
    descent).  ``inf`` when ``lambda_max <= 0`` (no positive curvature limits the rate),
    NaN when ``lambda_max`` is not finite."""
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma: must be in [0, 1), got {gamma!r}")
    lam = float(lam_max)
    if not math.isfinite(lam):
        return math.nan
    if lam <= 0.0:
        return math.inf
    return 2.0 * (1.0 + gamma) / ((1.0 - gamma) * lr_scale * lam)


@dataclass(frozen=True)
class Curvature:
    """The curvature at ``x``; ``eigenvectors[:, k]`` belongs to ``eigenvalues[k]``."""

    x: np.ndarray  # (n,) free parameters
    labels: tuple[str, ...]  # their labels
    value: float  # F(x)
    gradient: np.ndarray  # (n,)
    hessian: np.ndarray  # (n, n)
    eigenvalues: np.ndarray  # (n,) ascending (NaN: undefined)
    eigenvectors: np.ndarray  # (n, n) columns
    kind: str  # one of KINDS
    condition: float  # max|lambda| / min|lambda|
    lr_bound: float  # steepest descent's stability bound 2 / (lr_scale lambda_max)
    lr_scale: float

    def lr_bound_momentum(self, gamma: float) -> float:
        """The bound with the book's momentum ``gamma``."""
        return stability_bound(self.eigenvalues[-1], self.lr_scale, gamma)

    def unstable(self, lr: float, gamma: float = 0.0) -> bool:
        """Is the learning rate ``lr`` above the stability bound here?"""
        b = self.lr_bound_momentum(gamma)
        return bool(math.isfinite(b) and lr > b)

    def to_json(self) -> dict:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "params": {k: float(v) for k, v in zip(self.labels, self.x, strict=True)},
            "performance": num(self.value),
            "eigenvalues": [num(v) for v in self.eigenvalues],
            "kind": self.kind,
            "condition": num(self.condition),
            "lr_bound": num(self.lr_bound),
        }


def curvature_at(objective: Objective, x: np.ndarray, *, rtol: float = RTOL) -> Curvature:
    """The exact Hessian at ``x`` (free parameters) and everything derived from it."""
    x = np.array(x, dtype=float)
    if x.shape != (objective.n_free,):
        raise ValueError(f"x: expected {objective.n_free} values, got {x.shape}")
    F, g, H = objective.value_grad_hessian(x)
    lam, vec = eigen(H)
    return Curvature(
        x=x,
        labels=objective.free_labels,
        value=float(F),
        gradient=g,
        hessian=H,
        eigenvalues=lam,
        eigenvectors=vec,
        kind=classify(lam, rtol),
        condition=condition_number(lam),
        lr_bound=stability_bound(lam[-1], objective.lr_scale) if lam.size else math.nan,
        lr_scale=objective.lr_scale,
    )


def quadratic_grid(
    curv: Curvature,
    ix: int | None,
    iy: int | None,
    xs: np.ndarray,
    ys: np.ndarray,
) -> np.ndarray:
    """The quadratic approximation ``F + g.d + d.H.d / 2`` (``d = x - x_k``) on the grid
    ``xs x ys`` of the free parameters ``ix`` and ``iy`` (positions in ``x``; ``None``: an
    axis that is not free, held at its value), the others at ``curv.x``.  Indexed
    ``[i, j]`` = ``(xs[i], ys[j])`` like :mod:`bpgui_engine.analysis.surface`; NaN when
    undefined."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    g, H = curv.gradient, curv.hessian
    dx = xs - curv.x[ix] if ix is not None else np.zeros_like(xs)
    dy = ys - curv.x[iy] if iy is not None else np.zeros_like(ys)
    gx = g[ix] if ix is not None else 0.0
    gy = g[iy] if iy is not None else 0.0
    hxx = H[ix, ix] if ix is not None else 0.0
    hyy = H[iy, iy] if iy is not None else 0.0
    hxy = H[ix, iy] if ix is not None and iy is not None else 0.0
    DX, DY = dx[:, None], dy[None, :]
    with np.errstate(all="ignore"):
        quad = hxx * DX**2 + 2.0 * hxy * DX * DY + hyy * DY**2
        return curv.value + gx * DX + gy * DY + 0.5 * quad


#: the words for a stationary point's kind, used by every tool (Find critical points, the
#: basin map's legend, random restarts, the CLI's ``critical`` and ``basins``): the kinds of
#: :func:`bpgui_engine.analysis.critical.classify_points`
KIND_WORDS = {
    "minimum": "minimum",
    "saddle": "saddle",
    "maximum": "maximum",
    "degenerate": "degenerate (flat)",
    "not stationary": "not stationary",
    "undefined": "undefined",
}
#: the words for a group of run end points that is not a minimum
NOT_A_MINIMUM = {k: v for k, v in KIND_WORDS.items() if k != "minimum"}


def kinds_at(objective: Objective, X: np.ndarray, max_free: int = 400) -> list[str] | None:
    """What the points ``X`` (shape ``(K, n_free)``) are -- e.g. the "minima" a map or
    restarts found: a run that stops on a small gradient may stop on a saddle or a flat
    floor, and one that meets its goal on a slope is not stationary at all -- by the
    critical-points classifier (:func:`bpgui_engine.analysis.critical.classify_points`, keys of
    :data:`KIND_WORDS`); ``None`` above ``max_free`` parameters."""
    X = np.asarray(X, dtype=float)
    if objective.n_free > max_free:
        return None
    if X.size == 0:
        return []
    return classify_points(objective, X.reshape(-1, objective.n_free))
