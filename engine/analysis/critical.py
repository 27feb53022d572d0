"""Stationary points of the performance surface: found, de-duplicated and classified.  Qt-free.

:func:`find_critical_points` starts a damped Newton search from every node of a grid over the
2-D slice (the setup's contour axes).  Stationary points are the zeros of the gradient ``g``,
so it minimizes ``phi = |g|^2 / 2`` by Levenberg-Marquardt with the exact Hessian ``H``
(:mod:`bpgui_engine.analysis.hessian`): ``grad phi = H g`` and ``phi``'s Gauss-Newton matrix is
``H^2``, so
the step is ``-(H^2 + mu I)^{-1} H g`` -- Newton's ``-H^{-1} g`` for small ``mu``, a short
step downhill on ``phi`` for large ``mu`` (taken only when it lowers ``phi``).  Minima,
saddles and maxima alike are zeros of ``g``, and all starts run at once (batched).  A
flat direction makes a minimum's basin for ``|g|^2`` small (the book's global minimum has
eigenvalues 0.0038 and 1.16), so every start also runs damped Newton on ``F`` itself (a
descent step ``-(H + nu I)^{-1} g``, ``nu`` above ``-lambda_min``), which finds the minima.

A converged point (``|g| <= grad_tol``, inside the slice's ranges) is *isolated* when a last
Newton step ``H^{-1} g`` is negligible: it is then classified by the exact Hessian's
eigenvalues (:func:`bpgui_engine.analysis.curvature.classify`, relative tolerance ``rtol``).  A
point where
the gradient is small but the Newton step is not (the Hessian is singular along a flat valley
floor, e.g. the book slice near ``W2[1,1] = 0``, where the gradient only tends to 0 towards
``W1[1,1] = -inf``) is ``degenerate``; degenerate points of equal performance joined by a flat
segment are one group (``count`` points, ``extent`` the box they span), so a floor is one
entry, not hundreds.

``free="slice"`` searches the two contour parameters with every other parameter held at the
current point; ``free="all"`` searches all the setup's free parameters, and ``dims`` says how
many: the grid's starts vary the two contour parameters with the others at the current point,
and as many seeded starts more are spread over the whole box (the contour axes over their
ranges, every other free parameter over ``[-M, M]``, ``M`` the largest bound or ``|x|``).
Points that are symmetric copies of one another (the same ``F`` by the network's symmetry:
hidden neurons swapped or sign-flipped) are marked so (``copy_of``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from bpgui_engine.analysis.curvature import RTOL, classify, eigen
from bpgui_engine.analysis.stationary import (
    classify_points,
    lm_on_gradient,
    newton_on_value,
    polish,
    same_floor,
)
from bpgui_engine.analysis.symmetry import Symmetries
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.setup import Setup

__all__ = ["CriticalPoint", "classify_points", "find_critical_points", "slice_objective"]

MAX_STARTS_PER_CHUNK = 256
DEDUPE_TOL = 1e-5  # two isolated points closer than this (relative) are one


@dataclass(frozen=True)
class CriticalPoint:
    """One stationary point (or one group of degenerate ones).

    ``x`` are the searched parameters' values (``labels``), ``params`` the same by label;
    ``eigenvalues`` ascending with ``eigenvectors[:, k]`` for ``eigenvalues[k]``; ``dims``
    the number of parameters searched; ``count > 1`` for a group of degenerate points
    spanning ``extent`` (label -> (lo, hi)), represented by its member of smallest gradient;
    ``copy_of`` the index (in the list returned) of the first point this one is a symmetric
    copy of (:mod:`bpgui_engine.analysis.symmetry`: hidden-neuron permutations and sign flips, and
    the
    data's mirror when it has one), -1 for none.
    """

    x: np.ndarray
    labels: tuple[str, ...]
    performance: float
    grad_norm: float
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    kind: str
    dims: int
    isolated: bool = True
    count: int = 1
    extent: dict[str, tuple[float, float]] = field(default_factory=dict)
    copy_of: int = -1  # the earlier point of the list it is a symmetric copy of (-1: none)

    @property
    def params(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.labels, self.x, strict=True)}

    def to_json(self) -> dict:
        """``params``, ``performance``, ``eigenvalues`` (ascending), ``kind``, plus
        ``grad_norm``, ``dims`` and, for a group, ``count`` and ``extent``."""

        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        out = {
            "params": self.params,
            "performance": num(self.performance),
            "eigenvalues": [num(v) for v in self.eigenvalues],
            "kind": self.kind,
            "grad_norm": num(self.grad_norm),
            "dims": self.dims,
        }
        if self.count > 1:
            out["count"] = self.count
            out["extent"] = {k: [float(a), float(b)] for k, (a, b) in self.extent.items()}
        if self.copy_of >= 0:
            out["copy_of"] = self.copy_of
        return out


def slice_objective(setup: Setup, x: np.ndarray | None = None, free: str = "slice") -> Objective:
    """The objective searched: the two contour parameters (``"slice"``) or all the setup's
    free parameters (``"all"``), the rest at the current point ``x`` (default: the start)."""
    if free not in ("slice", "all"):
        raise ValueError(f"free: must be 'slice' or 'all', not {free!r}")
    obj = setup.objective()
    x = setup.start() if x is None else np.asarray(x, dtype=float)
    if x.shape != (obj.n_free,):
        raise ValueError(f"x: expected {obj.n_free} values, got {x.shape}")
    theta = obj.full(x)
    params = list(setup.axes) if free == "slice" else list(setup.free)
    return Objective(obj.spec, obj.data, theta, params, obj.perf.name, penalty=obj.penalty)


def find_critical_points(
    setup: Setup,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    *,
    grid: int | tuple[int, int] = 15,
    free: str = "slice",
    x: np.ndarray | None = None,
    max_iter: int = 150,
    grad_tol: float = 1e-6,
    rtol: float = RTOL,
    should_stop: Callable[[], bool] | None = None,
    seed: int | None = None,
) -> list[CriticalPoint]:
    """The stationary points of the slice ``x_range x y_range`` of the setup's contour axes
    (default: the setup's ranges), lowest performance first (see the module).

    ``grid`` starts per axis; ``x`` the current free parameters (default: the setup's
    start); ``grad_tol`` the gradient norm below which a point is stationary; ``rtol`` the
    relative eigenvalue tolerance of the classification; ``should_stop`` is polled between
    iterations (cancelling returns what is found so far); ``seed`` the random starts' of
    ``free="all"`` (default: the setup's).  An empty list when none is found.
    """
    ranges = [
        _check_range(lab, r if r is not None else setup.ranges[k])
        for k, (lab, r) in enumerate(zip(setup.axes, (x_range, y_range), strict=True))
    ]
    nx, ny = (grid, grid) if np.isscalar(grid) else grid
    for v in (nx, ny):
        if isinstance(v, bool) or int(v) != v or not 1 <= v <= 200:
            raise ValueError(f"grid: starts per axis must be an integer in [1, 200], got {v!r}")
    if not (grad_tol > 0 and math.isfinite(grad_tol)):
        raise ValueError(f"grad_tol: must be positive, got {grad_tol!r}")
    obj = slice_objective(setup, x, free)
    ax = [obj.free_labels.index(lab) if lab in obj.free_labels else None for lab in setup.axes]
    # the starts: a grid over the two axes, every other parameter at the current point
    gx = np.linspace(*ranges[0], int(nx)) if nx > 1 else np.array([np.mean(ranges[0])])
    gy = np.linspace(*ranges[1], int(ny)) if ny > 1 else np.array([np.mean(ranges[1])])
    X0 = np.repeat(obj.x0()[None, :], gx.size * gy.size, axis=0)
    GX, GY = np.meshgrid(gx, gy, indexing="ij")
    for i, vals in zip(ax, (GX.ravel(), GY.ravel()), strict=True):
        if i is not None:
            X0[:, i] = vals
    if free == "all" and obj.n_free > 2:
        s = setup.seed if seed is None else seed
        X0 = np.vstack([X0, _box_starts(obj, ax, ranges, len(X0), s)])
    ends = []
    with np.errstate(all="ignore"):
        for lo in range(0, len(X0), MAX_STARTS_PER_CHUNK):
            chunk = X0[lo : lo + MAX_STARTS_PER_CHUNK]
            ends.append(lm_on_gradient(obj, chunk, max_iter, should_stop))
            ends.append(newton_on_value(obj, chunk, max_iter, should_stop))
            if should_stop is not None and should_stop():
                break
        X = np.concatenate(ends)
        X = X[np.all(np.isfinite(X), axis=1)]
        X = X[_inside(X, ax, ranges)]
        if not len(X):
            return []
        F, g, H = obj.value_grad_hessian(X)
        gn = np.linalg.norm(g, axis=1)
        keep = np.isfinite(gn) & (gn <= grad_tol)
        X, F, g, H, gn = X[keep], F[keep], g[keep], H[keep], gn[keep]
        if not len(X):
            return []
        X, F, g, H, gn, isolated = polish(obj, X, F, g, H, gn, grad_tol)
        whole = Objective(obj.spec, obj.data, obj.base, None, obj.perf.name, penalty=obj.penalty)
        sym = Symmetries(obj.spec, whole.value)
        X2 = _images(obj, sym, X[isolated])  # the copies no start happened to reach
        if len(X2):
            F2, g2, H2 = obj.value_grad_hessian(X2)
            gn2 = np.linalg.norm(g2, axis=1)
            parts = polish(obj, X2, F2, g2, H2, gn2, grad_tol)
            ok = np.isfinite(parts[4]) & (parts[4] <= grad_tol)
            X, F, g, H, gn, isolated = (np.concatenate([a, b[ok]])
                                        for a, b in zip((X, F, g, H, gn, isolated), parts,
                                                        strict=True))  # fmt: skip
        inside = _inside(X, ax, ranges)
        X, F, g, H, gn, isolated = (a[inside] for a in (X, F, g, H, gn, isolated))
        points = _collect(obj, X, F, H, gn, isolated, rtol)
    points.sort(key=lambda p: (p.performance, p.kind, tuple(p.x)))
    return _mark_copies(obj, sym, points)


def _images(obj: Objective, sym: Symmetries, X: np.ndarray) -> np.ndarray:
    """The symmetric images of the points ``X`` that lie in the searched subspace (the
    parameters not searched unchanged); none when the group is too large to enumerate."""
    fixed = np.setdiff1d(np.arange(obj.spec.n_params), obj.free_idx)
    out = []
    for x in X:
        orbit = sym.orbit(obj.full(x))
        if orbit is None:
            return np.empty((0, obj.n_free))
        tol = DEDUPE_TOL * max(1.0, float(np.abs(orbit[0]).max()))
        same = np.all(np.abs(orbit[:, fixed] - obj.base[fixed]) <= tol, axis=1)
        out.append(orbit[same][1:, obj.free_idx])
    return np.concatenate(out) if out else np.empty((0, obj.n_free))


def _box_starts(obj: Objective, ax, ranges, n: int, seed: int) -> np.ndarray:
    """``n`` seeded starts uniform over the box: the axes over their ranges, every other
    free parameter over ``[-M, M]``."""
    x0 = obj.x0()
    M = max(max(abs(v) for r in ranges for v in r), float(np.abs(x0).max()))
    X = np.random.default_rng(seed).uniform(-M, M, (n, obj.n_free))
    for i, (lo, hi) in zip(ax, ranges, strict=True):
        if i is not None:
            X[:, i] = lo + (hi - lo) * (X[:, i] + M) / (2 * M)
    return X


def _mark_copies(
    obj: Objective, sym: Symmetries, points: list[CriticalPoint]
) -> list[CriticalPoint]:
    """``copy_of`` set on the points that are symmetric copies of an earlier one."""
    if len(points) < 2:
        return points
    thetas = np.array([obj.full(p.x) for p in points])
    return [
        replace(p, copy_of=j) if j >= 0 else p
        for p, j in zip(points, sym.copies(thetas), strict=True)
    ]


def _collect(obj, X, F, H, gn, isolated, rtol) -> list[CriticalPoint]:
    labels, n = obj.free_labels, obj.n_free
    eig = [eigen(h) for h in H]
    kinds = [
        classify(lam, rtol) if iso else "degenerate"
        for (lam, _), iso in zip(eig, isolated, strict=True)
    ]
    order = np.argsort(gn, kind="stable")  # best converged first
    points: list[CriticalPoint] = []
    # isolated, non-degenerate points: one per location
    reps: list[int] = []
    for i in order:
        if kinds[i] == "degenerate":
            continue
        tol = DEDUPE_TOL * max(1.0, float(np.abs(X[i]).max()))
        if any(np.abs(X[i] - X[r]).max() <= tol for r in reps):
            continue
        reps.append(int(i))
        lam, vec = eig[i]
        points.append(CriticalPoint(X[i].copy(), labels, float(F[i]), float(gn[i]), lam, vec,
                                    kinds[i], n, bool(isolated[i])))  # fmt: skip
    # degenerate points: one entry per flat floor
    groups: list[list[int]] = []
    for i in order:
        if kinds[i] != "degenerate":
            continue
        for grp in groups:
            j = min(grp, key=lambda k: float(np.linalg.norm(X[k] - X[i])))
            if same_floor(obj, X[i], X[j], F[i], F[j]):
                grp.append(int(i))
                break
        else:
            groups.append([int(i)])
    for grp in groups:
        r = grp[0]  # the smallest gradient
        lam, vec = eig[r]
        lo, hi = X[grp].min(axis=0), X[grp].max(axis=0)
        extent = {lab: (float(lo[k]), float(hi[k])) for k, lab in enumerate(labels)}
        points.append(CriticalPoint(X[r].copy(), labels, float(F[r]), float(gn[r]), lam, vec,
                                    "degenerate", n, bool(isolated[r]), len(grp),
                                    extent if len(grp) > 1 else {}))  # fmt: skip
    return points


def _inside(X: np.ndarray, ax, ranges) -> np.ndarray:
    ok = np.ones(len(X), dtype=bool)
    for i, (lo, hi) in zip(ax, ranges, strict=True):
        if i is not None:
            pad = 1e-9 * (hi - lo)
            ok &= (X[:, i] >= lo - pad) & (X[:, i] <= hi + pad)
    return ok


def _check_range(label: str, r) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"range of {label}: need two numbers MIN MAX") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"range of {label}: need finite MIN < MAX, got [{lo}, {hi}]")
    return lo, hi
