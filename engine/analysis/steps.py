"""Update vectors and the book's two step views, at the current point.  Qt-free.

Everything here works on *copies*: the optimizer is rebuilt from its hyperparameters and
``state_dict`` and the objective copied, so asking never changes a run.

* :func:`update_vectors` -- the negative gradient, the step one epoch of the optimizer takes
  from ``x`` (one step on the copy: the same code, so the same numbers), and where they
  exist the momentum term ``gamma dx_{k-1}`` (momentum, VLBP), the conjugate direction
  ``p_k`` (CG), the Gauss-Newton step ``-(J^T J)^+ J^T e`` (least-squares indices) and the
  Levenberg-Marquardt step at the optimizer's current ``mu`` (LM).
* :func:`cg_line_search` -- CG's line search for one epoch: the search line and every trial
  point of interval location and golden section (through the optimizer's ``trace`` hook).
* :func:`lm_curve` -- the LM step ``-(J^T J + mu I)^{-1} J^T e`` as ``mu`` goes from large (a
  short step along ``-g``) to small (the Gauss-Newton step), with the ``mu`` of the step the
  optimizer takes from ``x``.

Vectors are over the free parameters, in parameter units; scaling arrows for display is the
view's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import Optimizer

__all__ = [
    "LMCurve",
    "LineSearch",
    "UpdateVectors",
    "cg_line_search",
    "copy_optimizer",
    "lm_curve",
    "update_vectors",
]


def copy_optimizer(optimizer: Optimizer) -> Optimizer:
    """An independent optimizer in the same state (hyperparameters, seed, ``state_dict``)."""
    twin = type(optimizer)(optimizer.hyper, seed=optimizer.seed)
    twin.load_state_dict(optimizer.state_dict())
    return twin


@dataclass(frozen=True)
class UpdateVectors:
    """The arrows at ``x`` (all ``(n_free,)``; ``None`` where the method has none)."""

    x: np.ndarray
    labels: tuple[str, ...]
    value: float
    neg_gradient: np.ndarray  # -dF/dx
    step: np.ndarray  # x_{k+1} - x_k of one epoch (zeros for a rejected trial)
    accepted: bool  # False: VLBP/LM rejected the trial (the point stays)
    momentum: np.ndarray | None  # gamma dx_{k-1} (momentum; VLBP while momentum is on)
    conjugate: np.ndarray | None  # CG's search direction p_k
    gauss_newton: np.ndarray | None  # -(J^T J)^+ J^T e (sse, mse)
    lm_step: np.ndarray | None  # -(J^T J + mu I)^{-1} J^T e at the optimizer's mu (lm)
    mu: float | None  # that mu


def update_vectors(objective: Objective, optimizer: Optimizer, x: np.ndarray) -> UpdateVectors:
    """The update vectors at ``x`` for ``optimizer`` in its current state (see the module)."""
    obj = objective.copy()
    x = np.array(x, dtype=float)
    x.flags.writeable = False
    f, g = obj.value_and_grad(x)
    g = np.array(g)
    twin = copy_optimizer(optimizer)
    momentum = _momentum_term(twin)
    conjugate = None
    if twin.name == "cg":
        seen: dict[str, np.ndarray] = {}
        twin.trace = lambda kind, v: seen.setdefault(kind, v) if kind == "direction" else None
    with np.errstate(all="ignore"):
        res = twin.step(x, f, g, obj)
    if twin.name == "cg":
        conjugate = seen.get("direction")
        conjugate = None if conjugate is None else np.array(conjugate)
    gn, lm, mu = None, None, None
    if obj.perf.least_squares:
        e, J = obj.residuals_and_jacobian(x)
        JtJ, Jte = J.T @ J, J.T @ e
        gn = -np.linalg.lstsq(JtJ, Jte, rcond=None)[0]
        if optimizer.name == "lm":
            mu = float(optimizer.mu)
            lm = _lm_step(JtJ, Jte, mu)
    return UpdateVectors(
        x=np.array(x),
        labels=obj.free_labels,
        value=float(f),
        neg_gradient=-g,
        step=np.asarray(res.x) - x,
        accepted=bool(res.accepted),
        momentum=momentum,
        conjugate=conjugate,
        gauss_newton=gn,
        lm_step=lm,
        mu=mu,
    )


def _momentum_term(opt: Optimizer) -> np.ndarray | None:
    if opt.name == "momentum" and opt.dx is not None:
        return opt.hyper.gamma * opt.dx
    if opt.name == "vlbp" and opt.dx is not None and opt.momentum_on:
        return opt.hyper.gamma * opt.dx
    return None


def _lm_step(JtJ: np.ndarray, Jte: np.ndarray, mu: float) -> np.ndarray | None:
    """The LM step, as :mod:`bpgui_engine.optim.lm` computes it (None when singular)."""
    try:
        return -np.linalg.solve(JtJ + mu * np.eye(JtJ.shape[0]), Jte)
    except np.linalg.LinAlgError:
        return None


def _or_nan(v: np.ndarray | None, nan: np.ndarray) -> np.ndarray:
    return nan if v is None else v


# ---- conjugate gradient's line search --------------------------------------------------------
@dataclass(frozen=True)
class LineSearch:
    """One CG epoch's line search from ``x`` along ``direction`` (unit vector ``u``).

    ``trials[k] = (phase, a, F)`` in the order evaluated (phase ``"locate"`` or
    ``"golden"``); ``points`` are the trial points ``x + a u`` (``(k, n_free)``);
    ``alpha`` the distance chosen and ``x_new`` where the epoch ends (``x`` when the
    search found nothing lower)."""

    x: np.ndarray
    value: float
    direction: np.ndarray
    u: np.ndarray
    trials: list[tuple[str, float, float]]
    points: np.ndarray
    alpha: float
    x_new: np.ndarray
    accepted: bool

    def phase(self, name: str) -> np.ndarray:
        """The trial points of one phase, ``(k, n_free)``."""
        idx = [i for i, t in enumerate(self.trials) if t[0] == name]
        return self.points[idx]


def cg_line_search(objective: Objective, optimizer: Optimizer, x: np.ndarray) -> LineSearch:
    """CG's line search for the epoch that starts at ``x`` (``optimizer`` must be ``cg``)."""
    if optimizer.name != "cg":
        raise ValueError(f"line search: the optimizer is {optimizer.name}, not cg")
    obj = objective.copy()
    x = np.array(x, dtype=float)
    x.flags.writeable = False
    f, g = obj.value_and_grad(x)
    twin = copy_optimizer(optimizer)
    events: list[tuple[str, object]] = []
    twin.trace = lambda kind, v: events.append((kind, v))
    with np.errstate(all="ignore"):
        res = twin.step(x, f, np.array(g), obj)
    n = x.size
    dirs = [v for k, v in events if k == "direction"]
    if not dirs:  # a zero or non-finite direction: no search
        z = np.zeros(n)
        return LineSearch(np.array(x), float(f), z, z, [], np.empty((0, n)), 0.0, np.array(x),
                          False)  # fmt: skip
    p = np.array(dirs[0])
    u = p / float(np.linalg.norm(p))
    trials = [(k, float(v[0]), float(v[1])) for k, v in events if k != "direction"]
    a = np.array([t[1] for t in trials])
    points = x + a[:, None] * u if trials else np.empty((0, n))
    moved = not np.array_equal(res.x, x)
    alpha = float(twin.last_step) if moved else 0.0
    return LineSearch(np.array(x), float(f), p, u, trials, points, alpha, np.array(res.x), moved)


# ---- one Marquardt step -------------------------------------------------------------------------
@dataclass(frozen=True)
class LMCurve:
    """The LM step ``delta(mu)`` for ``mu`` in ``mus`` (descending: from a short step along
    ``-g`` to the Gauss-Newton step); ``steps[i]`` belongs to ``mus[i]``.  ``accepted_mu``
    and ``accepted_step``: the step the LM optimizer takes from ``x`` (None when it takes
    none); ``gauss_newton``: ``-(J^T J)^+ J^T e``."""

    x: np.ndarray
    mus: np.ndarray
    steps: np.ndarray  # (k, n_free)
    gauss_newton: np.ndarray
    neg_gradient: np.ndarray
    accepted_mu: float | None
    accepted_step: np.ndarray | None


def lm_curve(
    objective: Objective,
    x: np.ndarray,
    optimizer: Optimizer | None = None,
    *,
    n: int = 61,
    decades: float = 6.0,
) -> LMCurve:
    """The Marquardt step as a function of ``mu`` at ``x``: ``n`` values of ``mu``
    geometrically spaced ``decades`` either side of ``s = trace(J^T J) / n_free``, plus
    the optimizer's accepted ``mu`` (``optimizer``: an ``lm`` one, run one step on a copy)."""
    if not objective.perf.least_squares:
        raise ValueError(
            f"LM step: the performance index {objective.perf.name} is not a sum of squares"
        )
    if optimizer is not None and optimizer.name != "lm":
        raise ValueError(f"LM step: the optimizer is {optimizer.name}, not lm")
    obj = objective.copy()
    x = np.array(x, dtype=float)
    x.flags.writeable = False
    e, J = obj.residuals_and_jacobian(x)
    JtJ, Jte = J.T @ J, J.T @ e
    s = float(np.trace(JtJ)) / max(1, x.size)
    s = s if s > 0 and math.isfinite(s) else 1.0
    mus = s * np.logspace(decades, -decades, int(n))
    acc_mu, acc_step = None, None
    if optimizer is not None:
        twin = copy_optimizer(optimizer)
        f, g = obj.value_and_grad(x)
        with np.errstate(all="ignore"):
            res = twin.step(x, f, np.array(g), obj)
        if res.accepted and not np.array_equal(res.x, x):
            # the mu that made the step: replay the optimizer's mu *= theta until mu / theta
            # is what it kept (the same floating-point operations, so the same number)
            theta, m = twin.hyper.theta, float(optimizer.mu)
            for _ in range(100_000):
                if max(m / theta, 1e-300) == twin.mu:
                    acc_mu = m
                    break
                m *= theta
            acc_step = np.asarray(res.x) - x
            if acc_mu is not None:
                mus = np.sort(np.append(mus, acc_mu))[::-1]
    nan = np.full(x.size, np.nan)
    steps = np.array([_or_nan(_lm_step(JtJ, Jte, float(m)), nan) for m in mus])
    gn = -np.linalg.lstsq(JtJ, Jte, rcond=None)[0]
    _, g = obj.value_and_grad(x)
    return LMCurve(np.array(x), mus, steps, gn, -np.array(g), acc_mu, acc_step)
