"""Train many start points at once, vectorized over a leading batch axis.

The base for random restarts and basin maps: ``X0`` has shape ``(B, n_free)`` and every
epoch updates all still-running starts with one batched forward/backward pass.  Each
start stops by itself (divergence, goal, minimum gradient, no change, LM's ``mu_max``,
tested in the order and with the expressions of :class:`~engine.train.trainer.Trainer`, so a
start ends at the same epoch with the same reason as its single run); the others go on.
Supported methods: ``sd``, ``momentum`` and ``lm`` with the same hyperparameters (and
the same maths) as their single-run optimizers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.optim.lm import MAX_TRIALS

__all__ = ["BATCH_METHODS", "BatchResult", "train_batch"]

BATCH_METHODS = ("sd", "momentum", "lm")


@dataclass(frozen=True)
class BatchResult:
    x: np.ndarray  # (B, n) final free parameters
    performance: np.ndarray  # (B,) final F
    epochs: np.ndarray  # (B,) epochs each start ran
    stop: np.ndarray  # (B,) stop reason per start (str)
    path: np.ndarray  # (K, B, n) parameters every ``stride`` epochs (start and end included)
    path_performance: np.ndarray  # (K, B)
    path_epochs: np.ndarray  # (K,)
    grad_norm: np.ndarray | None = None  # (B,) final ||dF/dx||; None in older sessions


def train_batch(
    objective: Objective,
    X0: np.ndarray,
    method: str = "sd",
    hyper: dict | None = None,
    epochs: int = 1000,
    goal: float = 0.0,
    stride: int = 1,
    should_stop: Callable[[], bool] | None = None,
    min_grad: float = 0.0,
) -> BatchResult:
    """Run ``method`` from every row of ``X0`` for at most ``epochs`` epochs.

    ``goal`` and ``min_grad`` mean what they mean in :class:`~engine.train.trainer.StopCriteria`
    (a gradient norm of exactly 0 stops with ``"min_grad"``).  ``should_stop`` (checked
    every epoch) ends every start that is still running with the reason ``"stopped"``."""
    return _train_batch(objective, X0, method, hyper, epochs, goal, stride, should_stop, min_grad)


def _train_batch(
    objective: Objective,
    X0: np.ndarray,
    method: str,
    hyper: dict | None,
    epochs: int,
    goal: float,
    stride: int,
    should_stop: Callable[[], bool] | None,
    min_grad: float,
) -> BatchResult:
    if method not in BATCH_METHODS:
        raise ValueError(f"batch: method must be one of {', '.join(BATCH_METHODS)}, not {method!r}")
    h = OPTIMIZERS[method].Hyper.from_dict(hyper or {})
    X = np.array(X0, dtype=float)
    if X.ndim != 2 or X.shape[1] != objective.n_free:
        raise ValueError(f"batch: X0 must have shape (B, {objective.n_free}), got {X.shape}")
    if int(stride) < 1:
        raise ValueError("batch: stride must be >= 1")
    B = X.shape[0]
    with np.errstate(all="ignore"):
        F, G = objective.value_and_grad_batch(X)
        V = np.zeros_like(X)
        mu = np.full(B, getattr(h, "mu", 0.0))
        run = np.ones(B, dtype=bool)
        stop = np.full(B, "epochs", dtype=object)
        n_ep = np.zeros(B, dtype=np.int64)
        gn = _norms(G)
        _check(F, gn, goal, min_grad, run, stop, np.ones(B, dtype=bool))
        path, path_f, path_e = [X.copy()], [F.copy()], [0]
        scale = objective.lr_scale
        for k in range(1, epochs + 1):
            if not run.any():
                break
            if should_stop is not None and should_stop():
                stop[run] = "stopped"
                path.append(X.copy())
                path_f.append(F.copy())
                path_e.append(k - 1)
                break
            r = np.flatnonzero(run)
            Xr = X[r]
            if method == "sd":
                Xn = Xr - (h.lr * scale) * G[r]
            elif method == "momentum":  # dx = gamma dx_prev - (1 - gamma) lr grad
                V[r] = h.gamma * V[r] - (1.0 - h.gamma) * h.lr * scale * G[r]
                Xn = Xr + V[r]
            else:
                Xn, gave_up = _lm_epoch(objective, Xr, F[r], mu, r, h)
                stop[r[gave_up]] = "mu_max"
                run[r[gave_up]] = False
            moved = np.any(Xn != Xr, axis=1)
            X[r] = Xn
            Fr, Gr = objective.value_and_grad_batch(Xn)
            F[r], G[r] = Fr, Gr
            gn[r] = _norms(Gr)
            n_ep[r] = k
            rows = np.zeros(B, dtype=bool)
            rows[r] = True
            _check(F, gn, goal, min_grad, run, stop, rows)
            stalled = ~moved & run[r]  # then, as in Trainer._stop: an unmoved accepted step
            stop[r[stalled]] = "no_change"
            run[r[stalled]] = False
            if k % stride == 0 or not run.any() or k == epochs:
                path.append(X.copy())
                path_f.append(F.copy())
                path_e.append(k)
    return BatchResult(
        X,
        F,
        n_ep,
        stop,
        np.array(path),
        np.array(path_f),
        np.array(path_e, dtype=np.int64),
        gn,
    )


def _norms(G: np.ndarray) -> np.ndarray:
    """``||g||`` per row as the trainer computes it: inf where a component is not finite,
    and inf when the squares overflow although every component is finite."""
    n = np.sqrt(np.einsum("bi,bi->b", G, G))
    return np.where(np.all(np.isfinite(G), axis=1), n, np.inf)


def _check(F, gn, goal, min_grad, run, stop, rows) -> None:
    """Trainer._stop's order: diverged, goal, min_grad (no_change is the caller's)."""
    bad = rows & run & ~(np.isfinite(F) & np.isfinite(gn))
    stop[bad], run[bad] = "diverged", False
    met = rows & run & (goal >= F)
    stop[met], run[met] = "goal", False
    flat = rows & run & (gn <= min_grad)
    stop[flat], run[flat] = "min_grad", False


def _lm_epoch(obj, X, F, mu, r, h):
    """One accepted LM step per start; starts whose mu passes mu_max give up."""
    e, J = obj.residuals_and_jacobian(X)
    JtJ = np.einsum("bki,bkj->bij", J, J)
    Jte = np.einsum("bki,bk->bi", J, e)
    eye = np.eye(X.shape[1])
    Xn = X.copy()
    pending = np.ones(len(X), dtype=bool)
    gave_up = np.zeros(len(X), dtype=bool)
    for _ in range(MAX_TRIALS):
        p = np.flatnonzero(pending)
        if p.size == 0:
            break
        A = JtJ[p] + mu[r[p], None, None] * eye
        try:
            dx = -np.linalg.solve(A, Jte[p][..., None])[..., 0]
        except np.linalg.LinAlgError:
            dx = np.full((p.size, X.shape[1]), np.nan)
        Ft = obj.value(X[p] + dx)
        ok = Ft < F[p]  # NaN compares False: rejected
        Xn[p[ok]] = X[p[ok]] + dx[ok]
        mu[r[p[ok]]] = np.maximum(mu[r[p[ok]]] / h.theta, 1e-300)
        mu[r[p[~ok]]] *= h.theta
        over = ~ok & (mu[r[p]] > h.mu_max)
        gave_up[p[over]] = True
        pending[p[ok | over]] = False
    gave_up |= pending  # MAX_TRIALS reached (the single-run optimizer says "no_step")
    return Xn, gave_up
