"""A sweep's stability bound: the minimum its runs reach, and the learning-rate bound
``lr < 2(1+γ)/((1−γ)λmax)`` there, in the sweep's axes (computed with the sweep's cells, in
the compute service).  Qt-free."""

from __future__ import annotations

import numpy as np

from bpgui_engine.maps.sweep import SweepResult, bound_eigenvalue, stability_bound
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria

MIN_EPOCHS = 1000  # LM's epochs to find the minimum for the stability bound


def bound_curve(setup: Setup, x_min: np.ndarray, r: SweepResult):
    """``(xs, ys, text)`` of the stability bound in the sweep's axes, or None where it does
    not apply (the learning rate of steepest descent or momentum not swept)."""
    if r.optimizer not in ("sd", "momentum") or "lr" not in (r.x_param, r.y_param):
        return None
    other = r.y_param if r.x_param == "lr" else r.x_param
    if r.optimizer == "momentum" and other == "gamma":
        gvals = r.ys if r.x_param == "lr" else r.xs
        gammas = np.linspace(float(gvals.min()), float(gvals.max()), 60)
    else:
        g = float(r.hyper.get("gamma", 0.0)) if r.optimizer == "momentum" else 0.0
        gammas = np.array([g])
    try:
        lrs = np.array([stability_bound(setup, x_min, float(g)) for g in gammas])
        lr0 = stability_bound(setup, x_min, 0.0)
    except ValueError:  # no positive curvature where the runs ended (a flat floor): no bound
        return None
    where = ", ".join(f"{v:.3g}" for v in x_min[:3])
    which = bound_eigenvalue(setup, x_min)[2]  # which Hessian's λmax (issue 18 #23)
    text = f"stability bound lr < 2(1+γ)/((1−γ)λmax): {lr0:.3g} at γ = 0, minimum ({where})"
    if r.optimizer == "sd" or other != "gamma":
        text = f"stability bound lr < 2/λmax = {lrs[0]:.3g} at the minimum ({where})"
    text += f"; {which}"
    if other == "gamma":
        along = gammas
    else:
        lo, hi = (r.ys if r.x_param == "lr" else r.xs)[[0, -1]]
        along = np.array([lo, hi], float)
        lrs = np.repeat(lrs, 2)
    return (lrs, along, text) if r.x_param == "lr" else (along, lrs, text)


def find_minimum(
    setup: Setup, x0: np.ndarray, result: SweepResult | None = None
) -> np.ndarray | None:
    """The minimum the sweep's runs reach from ``x0``: the fastest cell that met the goal,
    run on until its gradient vanishes (None: no cell converged).  Without a result:
    where Levenberg-Marquardt ends from ``x0``."""
    name, hyper, epochs = "lm", {}, MIN_EPOCHS
    if result is not None and result.reached.any():
        e = result.epochs_to_goal
        ix, iy = np.unravel_index(int(np.nanargmin(e)), e.shape)
        name = result.optimizer
        hyper = {
            **result.hyper,
            result.x_param: float(result.xs[ix]),
            result.y_param: float(result.ys[iy]),
        }
        epochs = max(20 * int(result.epochs[ix, iy]), 20_000)
    elif result is not None:
        return None
    cls = OPTIMIZERS[name]
    crit = StopCriteria(epochs=epochs, min_grad=1e-10)
    with np.errstate(all="ignore"):
        opt = cls(cls.Hyper.from_dict(hyper))
        tr = FastTrainer(setup.objective(), opt, np.asarray(x0, float), crit)
        blocks = list(tr.blocks())
    last = blocks[-1] if blocks else None
    if last is None or last.stop == "diverged":
        return None
    x = np.asarray(last.x[-1], float)
    return x if np.all(np.isfinite(x)) else None


def with_bound(setup: Setup, x0: np.ndarray, r: SweepResult):
    """``(r, bound)``: the sweep's result and its stability bound (None where none applies)."""
    x_min = find_minimum(setup, x0, r)
    return r, (None if x_min is None else bound_curve(setup, x_min, r))
