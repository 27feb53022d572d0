"""The Hessian's spectrum without forming the matrix: Hessian-vector products by the
R-operator (Pearlmutter 1994; the same passes the exact Hessian uses, one direction at a
time: about two gradients each), Lanczos for the extreme eigenvalues, Hutchinson's
estimator for the trace and stochastic Lanczos quadrature for the eigenvalue density
(Ghorbani, Krishnan & Xiao 2019; Yao et al., PyHessian 2020).

The Hessian is that of the performance index the objective minimizes (weight penalties
included), over its free parameters.  Randomness only from the ``seed`` given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.analysis.hessian import _hessian_rows, _Layer

__all__ = [
    "HessianOperator",
    "Spectrum",
    "hutchinson_trace",
    "lanczos",
    "sharpness",
    "slq_density",
]


class HessianOperator:
    """``v -> H v`` at the free vector ``x`` of ``objective`` (``H`` the Hessian of the
    performance index it minimizes); :attr:`count` counts the products."""

    def __init__(self, objective, x: np.ndarray) -> None:
        self.obj = objective
        self.x = np.asarray(x, dtype=float)
        self.n = objective.n_free
        self.count = 0
        spec, d = objective.spec, objective.data
        theta = objective.full(self.x)
        perf, out = objective.perf, spec.transfers[-1]
        P, T, Q = d.P, d.T, d.n_samples
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            fw = spec.forward(theta, P)
            layers_w = spec.unpack(theta)
            tr = [_Layer(name, fw.n[m], fw.a[m]) for m, name in enumerate(spec.transfers)]
            a_out = fw.a[-1]
            if perf.name == "ce":
                scale = (T.sum(axis=-2, keepdims=True) if out == "softmax" else 1.0) / Q
                s = a_out * scale - T / Q if out == "softmax" else (a_out - T) / Q
                g_out = None
            else:
                c = 2.0 if perf.name == "sse" else 2.0 / (Q * T.shape[-2])
                g_out = c * (a_out - T)
                s = tr[-1].back(g_out)
            L = spec.n_layers
            sens, us = [None] * L, [None] * L
            sens[-1] = s
            for m in range(L - 1, 0, -1):
                u = layers_w[m][0].T @ sens[m]
                us[m - 1] = u
                sens[m - 1] = tr[m - 1].back(u)
        self._state = (spec, P, T, perf, fw, layers_w, tr, sens, us, g_out)
        pen = objective._pen
        self._pen = None if pen is None or not pen.penalty.l2 else (pen.free_w, 2 * pen.penalty.l2)

    def __call__(self, V: np.ndarray) -> np.ndarray:
        """``H v`` for a vector ``v (n,)`` or each row of ``V (k, n)``."""
        V = np.asarray(V, dtype=float)
        one = V.ndim == 1
        V2 = np.atleast_2d(V)
        spec = self._state[0]
        full = np.zeros((len(V2), spec.n_params))
        full[:, self.obj.free_idx] = V2
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rows = _hessian_rows(*self._state, full)[:, self.obj.free_idx]
        if self._pen is not None:
            idx, c = self._pen
            rows[:, idx] += c * V2[:, idx]
        self.count += len(V2)
        return rows[0] if one else rows


@dataclass(frozen=True)
class Spectrum:
    """Ritz values of one Lanczos run: ``values`` ascending, their ``vectors`` (n, k),
    the residual norms ``residuals`` (``||H y - theta y||``), the products used."""

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    hvps: int
    converged: bool


def _lanczos_basis(op, v0: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m`` steps of Lanczos with full reorthogonalization from ``v0``: the basis
    ``Qm (n, j)``, the tridiagonal's diagonal ``alpha`` and off-diagonal ``beta``."""
    n = v0.size
    m = int(min(m, n))
    Qm = np.zeros((n, m))
    alpha, beta = np.zeros(m), np.zeros(max(m - 1, 0))
    q = v0 / np.linalg.norm(v0)
    for j in range(m):
        Qm[:, j] = q
        w = op(q)
        alpha[j] = q @ w
        w -= Qm[:, : j + 1] @ (Qm[:, : j + 1].T @ w)  # twice: full reorthogonalization
        w -= Qm[:, : j + 1] @ (Qm[:, : j + 1].T @ w)
        if j == m - 1:
            break
        b = np.linalg.norm(w)
        if b < 1e-12 * max(1.0, abs(alpha[j])):  # an invariant subspace: exact
            return Qm[:, : j + 1], alpha[: j + 1], beta[:j]
        beta[j] = b
        q = w / b
    return Qm, alpha, beta


def _ritz(alpha, beta):
    Tm = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    return np.linalg.eigh(Tm)


def lanczos(
    op: HessianOperator, k: int = 3, which: str = "top", tol: float = 1e-8,
    max_hvps: int = 200, seed: int = 0, v0: np.ndarray | None = None, steps: int | None = None,
) -> Spectrum:  # fmt: skip
    """The ``k`` largest (``which="top"``) or smallest (``"bottom"``) eigenvalues of the
    operator: Lanczos restarted with more steps until the wanted Ritz pairs' residuals
    fall below ``tol`` times the largest Ritz value's magnitude (or ``max_hvps``).
    ``v0``: the start vector (default: Gaussian from ``seed``); ``steps``: the first
    basis's size (default ``max(2k + 10, 20)``)."""
    if which not in ("top", "bottom"):
        raise ValueError(f"lanczos: which must be top or bottom, not {which!r}")
    n = op.n
    k = int(min(k, n))
    if k < 1:
        raise ValueError("lanczos: ask for at least one eigenvalue")
    if v0 is None or not np.any(v0) or not np.all(np.isfinite(v0)):
        v0 = np.random.default_rng(seed).standard_normal(n)
    m = min(n, max(2 * k + 10, 20) if steps is None else max(int(steps), k + 1))
    start = op.count
    while True:
        Qm, alpha, beta = _lanczos_basis(op, v0, m)
        theta, S = _ritz(alpha, beta)
        sel = np.arange(len(theta))[-k:] if which == "top" else np.arange(len(theta))[:k]
        Y = Qm @ S[:, sel]
        R = op(Y.T).T - Y * theta[sel]
        op.count -= len(sel)  # the residual check is bookkeeping, not the method's cost
        res = np.linalg.norm(R, axis=0)
        scale = max(np.abs(theta).max(), 1e-300)
        ok = bool(np.all(res <= tol * scale)) or Qm.shape[1] == n
        if ok or op.count - start >= max_hvps or m >= n:
            order = np.argsort(theta[sel])
            return Spectrum(theta[sel][order], Y[:, order], res[order], op.count - start, ok)
        m = min(n, 2 * m)


def sharpness(objective, x: np.ndarray, tol: float = 1e-6, seed: int = 0) -> float:
    """``lambda_max`` of the Hessian of the per-sample mean of the index (the Hessian of F
    times ``objective.lr_scale``): the sharpness a learning rate meets, stable for
    steepest descent below ``2 / lr`` (Cohen et al. 2021's "edge of stability")."""
    sp = lanczos(HessianOperator(objective, x), k=1, which="top", tol=tol, seed=seed)
    return float(sp.values[-1] * objective.lr_scale)


def hutchinson_trace(op: HessianOperator, samples: int = 100, seed: int = 0) -> tuple[float, float]:
    """Hutchinson's estimate of ``tr H`` from ``samples`` Rademacher vectors, and its
    standard error."""
    rng = np.random.default_rng(seed)
    V = rng.choice([-1.0, 1.0], size=(int(samples), op.n))
    est = np.einsum("ij,ij->i", V, op(V))
    return float(est.mean()), float(est.std(ddof=1) / np.sqrt(len(est))) if len(est) > 1 else 0.0


def slq_density(
    op: HessianOperator, steps: int = 30, runs: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic Lanczos quadrature: nodes and weights of the eigenvalue density (the
    weights sum to 1; ``sum w f(node)`` estimates ``tr f(H) / n``)."""
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    for _ in range(int(runs)):
        v = rng.choice([-1.0, 1.0], size=op.n)
        _, alpha, beta = _lanczos_basis(op, v, steps)
        theta, S = _ritz(alpha, beta)
        nodes.append(theta)
        weights.append(S[0] ** 2 / runs)
    return np.concatenate(nodes), np.concatenate(weights)
