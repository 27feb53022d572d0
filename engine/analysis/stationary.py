"""Stationary points: the batched searches behind :mod:`bpgui_engine.analysis.critical` (damped
Newton on
``|g|^2`` and on ``F``, the polishing Newton steps, the flat-floor test), the Hessian's
eigen-decomposition and classification, and :func:`classify_points`, the one classifier of
a point that every tool uses.  Qt-free.

Every function takes an :class:`~engine.model.objective.Objective` and a batch ``X`` of free
parameter vectors (``(B, n_free)``) and works on all rows at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from bpgui_engine.model.objective import Objective

__all__ = [
    "KINDS",
    "RTOL",
    "classify",
    "classify_points",
    "eigen",
    "lm_on_gradient",
    "newton_on_value",
    "polish",
    "same_floor",
]

NEWTON_TOL = 1e-7  # an isolated point's last Newton step, relative to max(1, |x|)
DEDUPE_TOL = 1e-5  # two points closer than this (relative) are one
FLAT_RTOL = 1e-4  # degenerate points within this relative performance form one floor
SEGMENT_POINTS = 17
MU0, MU_MIN, MU_MAX = 1e-3, 1e-12, 1e12


def lm_on_gradient(
    obj: Objective, X: np.ndarray, max_iter: int, should_stop: Callable[[], bool] | None
) -> np.ndarray:
    """Minimize ``|g|^2 / 2`` from every row of ``X`` at once (damped Gauss-Newton)."""
    X = X.copy()
    B, n = X.shape
    _, g, H = obj.value_grad_hessian(X)
    phi = 0.5 * np.einsum("bi,bi->b", g, g)
    mu = np.full(B, MU0)
    active = np.isfinite(phi) & (phi > 0)
    eye = np.eye(n)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not idx.size or (should_stop is not None and should_stop()):
            break
        Hs, gs = H[idx], g[idx]
        A = Hs @ Hs
        scale = np.trace(A, axis1=1, axis2=2) / n + 1e-300
        d = _solve(A + (mu[idx] * scale)[:, None, None] * eye, -np.einsum("bij,bj->bi", Hs, gs))
        Xn = X[idx] + d
        _, gn, Hn = obj.value_grad_hessian(Xn)
        phin = 0.5 * np.einsum("bi,bi->b", gn, gn)
        ok = np.isfinite(phin) & np.all(np.isfinite(Hn), axis=(1, 2)) & (phin < phi[idx])
        acc = idx[ok]
        X[acc], g[acc], H[acc], phi[acc] = Xn[ok], gn[ok], Hn[ok], phin[ok]
        mu[idx] = np.where(ok, np.maximum(mu[idx] / 10.0, MU_MIN), mu[idx] * 10.0)
        tiny = np.linalg.norm(d, axis=1) <= 1e-15 * (1.0 + np.linalg.norm(X[idx], axis=1))
        done = (phi[idx] == 0.0) | (mu[idx] > MU_MAX) | (ok & tiny)
        active[idx[done]] = False
    return X


def newton_on_value(
    obj: Objective, X: np.ndarray, max_iter: int, should_stop: Callable[[], bool] | None
) -> np.ndarray:
    """Damped Newton on ``F`` itself from every row of ``X``: ``-(H + nu I)^{-1} g`` with
    ``nu`` above ``-lambda_min`` (a descent step), taken when ``F`` falls.  It reaches the
    minima whose basins of ``|g|^2`` are small (a flat direction makes them so)."""
    X = X.copy()
    B, n = X.shape
    F, g, H = obj.value_grad_hessian(X)
    mu = np.full(B, MU0)
    active = np.isfinite(F) & np.all(np.isfinite(g), axis=1)
    eye = np.eye(n)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not idx.size or (should_stop is not None and should_stop()):
            break
        Hs = H[idx]
        bad = ~np.all(np.isfinite(Hs), axis=(1, 2))
        Hs = np.where(bad[:, None, None], eye, Hs)
        lam = np.linalg.eigvalsh(Hs)
        big = np.abs(lam).max(axis=1) + 1e-300
        nu = np.maximum(0.0, -lam[:, 0]) * 1.01 + mu[idx] * big
        d = _solve(Hs + nu[:, None, None] * eye, -g[idx])
        Xn = X[idx] + d
        Fn, gn, Hn = obj.value_grad_hessian(Xn)
        ok = np.isfinite(Fn) & np.all(np.isfinite(gn), axis=1) & (Fn < F[idx])
        acc = idx[ok]
        X[acc], F[acc], g[acc], H[acc] = Xn[ok], Fn[ok], gn[ok], Hn[ok]
        mu[idx] = np.where(ok, np.maximum(mu[idx] / 10.0, MU_MIN), mu[idx] * 10.0)
        tiny = np.linalg.norm(d, axis=1) <= 1e-15 * (1.0 + np.linalg.norm(X[idx], axis=1))
        done = (mu[idx] > MU_MAX) | (ok & tiny) | ~np.all(np.isfinite(g[idx]), axis=1)
        active[idx[done]] = False
    return X


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``A^{-1} b`` (rows of a singular or non-finite system give NaN)."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full_like(b, np.nan)
        for i in range(len(b)):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.solve(A[i], b[i])
        return out


def polish(obj, X, F, g, H, gn, grad_tol):
    """Short Newton steps while they lower ``|g|``; then *isolated* = the Newton step is
    negligible (or ``g = 0``)."""
    scale = np.maximum(1.0, np.linalg.norm(X, axis=1))
    for _ in range(8):
        d = _solve(H, -g)
        short = np.all(np.isfinite(d), axis=1) & (np.linalg.norm(d, axis=1) <= 1e-2 * scale)
        if not short.any():
            break
        Xn = np.where(short[:, None], X + np.nan_to_num(d), X)
        Fn, g_n, Hn = obj.value_grad_hessian(Xn)
        gnn = np.linalg.norm(g_n, axis=1)
        ok = short & np.isfinite(gnn) & (gnn < gn)
        if not ok.any():
            break
        X, F, g, H, gn = (np.where(ok.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)
                          for a, b in ((X, Xn), (F, Fn), (g, g_n), (H, Hn), (gn, gnn)))  # fmt: skip
    d = _solve(H, -g)
    step = np.linalg.norm(d, axis=1)
    isolated = (gn == 0.0) | (np.isfinite(step) & (step <= NEWTON_TOL * scale))
    return X, F, g, H, gn, isolated


def same_floor(obj, a, b, Fa, Fb) -> bool:
    top = max(Fa, Fb)
    tol = FLAT_RTOL * max(abs(top), 1e-12)
    if abs(Fa - Fb) > tol:
        return False
    if np.abs(a - b).max() <= DEDUPE_TOL * max(1.0, float(np.abs(a).max())):
        return True
    t = np.linspace(0.0, 1.0, SEGMENT_POINTS)[:, None]
    v = np.asarray(obj.value((1 - t) * a + t * b), dtype=float)
    return bool(np.all(v <= top + tol))


#: the possible classifications
KINDS = ("minimum", "saddle", "maximum", "degenerate", "undefined")
#: an eigenvalue with ``|lambda| <= RTOL * max |lambda|`` counts as zero
RTOL = 1e-6


def eigen(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending eigenvalues and eigenvectors (columns) of the symmetric ``H`` (``(n, n)``);
    NaN arrays (no exception) when ``H`` has a non-finite entry."""
    H = np.asarray(H, dtype=float)
    n = H.shape[-1]
    if not np.all(np.isfinite(H)):
        return np.full(n, np.nan), np.full((n, n), np.nan)
    try:
        lam, vec = np.linalg.eigh(0.5 * (H + H.T))
    except np.linalg.LinAlgError:
        return np.full(n, np.nan), np.full((n, n), np.nan)
    return lam, vec


def classify(eigenvalues: np.ndarray, rtol: float = RTOL) -> str:
    """``minimum`` (all positive), ``maximum`` (all negative), ``saddle`` (both signs),
    ``degenerate`` (otherwise: some eigenvalue is zero within ``rtol * max |lambda|``, or
    all are zero) or ``undefined`` (non-finite)."""
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        return "undefined"
    big = float(np.abs(lam).max())
    tol = rtol * big
    pos, neg = lam > tol, lam < -tol
    if big == 0.0:
        return "degenerate"
    if pos.any() and neg.any():
        return "saddle"
    if pos.all():
        return "minimum"
    if neg.all():
        return "maximum"
    return "degenerate"


def classify_points(
    obj: Objective,
    X: np.ndarray,
    *,
    grad_tol: float = 1e-6,
    near: float = 2e-2,
    rtol: float = RTOL,
    max_iter: int = 150,
) -> list[str]:
    """What each point of ``X`` (``(K, n_free)``, e.g. the "minima" of a basin map or of
    random restarts, where runs stopped on a small gradient) is, in the words of
    :func:`find_critical_points`: the same search (damped Newton on ``|g|^2``, then the
    polishing and the isolated/degenerate test) run from the point itself.

    ``"minimum"``, ``"saddle"``, ``"maximum"``, ``"degenerate"`` (on a flat floor: the search
    reached a degenerate point of the same performance joined to it by a flat segment, as
    :func:`find_critical_points` groups a floor), or ``"not stationary"`` when the search
    finds no stationary point (``|g| <= grad_tol``) within ``near * max(1, max|x|)`` of it
    nor on its floor (e.g. a point where a run met its goal on a slope); ``"undefined"``
    for a non-finite point."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    out = ["undefined"] * len(X)
    ok = np.flatnonzero(np.all(np.isfinite(X), axis=1))
    if not ok.size:
        return out
    X0 = X[ok]
    with np.errstate(all="ignore"):
        Xs = lm_on_gradient(obj, X0, max_iter, None)
        F, g, H = obj.value_grad_hessian(Xs)
        gn = np.linalg.norm(g, axis=1)
        Xs, F, g, H, gn, isolated = polish(obj, Xs, F, g, H, gn, grad_tol)
        F0, G0 = obj.value_and_grad_batch(X0)
        g0 = np.linalg.norm(G0, axis=1)
        scale = np.maximum(1.0, np.abs(X0).max(axis=1))
        moved = np.abs(Xs - X0).max(axis=1)
        for j, i in enumerate(ok.tolist()):
            # a floor's gradient may only tend to 0 far out (the book slice's towards
            # W1[1,1] = -inf): on one, the search need only have got flatter than the start
            tol = grad_tol if isolated[j] else max(grad_tol, float(g0[j]))
            if not (np.isfinite(gn[j]) and gn[j] <= tol):
                out[i] = "not stationary"
            elif not isolated[j]:
                floor = same_floor(obj, X0[j], Xs[j], float(F0[j]), float(F[j]))
                out[i] = "degenerate" if floor else "not stationary"
            elif moved[j] > near * scale[j]:
                out[i] = "not stationary"
            else:
                out[i] = classify(eigen(H[j])[0], rtol)
    return out
