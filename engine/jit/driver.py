"""Typed calls into the compiled kernels: one place that fixes every argument's dtype, so
each kernel compiles exactly one specialization (and the on-disk cache always hits)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from types import ModuleType

import numpy as np

from bpgui_engine.jit.plan import OPT_CODES, Plan

__all__ = [
    "crit_vector",
    "hyper_vector",
    "row_state",
    "run_batch",
    "run_row",
    "store_state",
    "surface",
]

N_STATE = 7  # compiled.N_STATE
#: one parallel region at a time per process: numba's ``workqueue`` threading layer (the
#: one left where neither OpenMP nor TBB loads) aborts on concurrent launches, e.g. a
#: surface from the contour's pool thread during random restarts
_PARALLEL = threading.Lock()


def hyper_vector(optimizer, lr_scale: float) -> np.ndarray:
    """The kernel's seven hyperparameter slots (``compiled.H_*``); the methods of issue 23
    reuse them: Nesterov's μ and RMSprop's α in ``gamma``, ε in ``zeta``; Rprop's Δ0,
    Δmin, Δmax, η⁻, η⁺ in ``lr``, ``gamma``, ``zeta``, ``rho``, ``eta`` and its variant
    in ``batch_size`` (0 rprop-, 1 irprop+); Adam's β1, ε, β2 and AdamW's λ in
    ``gamma``, ``zeta``, ``rho``, ``eta``."""
    h = optimizer.hyper
    name = optimizer.name
    if name == "rprop":
        return np.array([h.delta0, h.delta_min, h.delta_max, h.eta_minus, h.eta_plus,
                         float(lr_scale), 1.0 if h.variant == "irprop+" else 0.0])  # fmt: skip
    if name in ("adam", "adamw"):  # lr, β1, ε, β2, λ (AdamW)
        return np.array([h.lr, h.beta1, h.eps, h.beta2, float(getattr(h, "weight_decay", 0.0)),
                         float(lr_scale), 1.0])  # fmt: skip
    gamma = {"nesterov": "momentum", "rmsprop": "alpha"}.get(name, "gamma")
    zeta = "eps" if name in ("rmsprop", "adagrad") else "zeta"
    return np.array(
        [
            float(getattr(h, "lr", 1.0)),
            float(getattr(h, gamma, 0.0)),
            float(getattr(h, zeta, 0.0)),
            float(getattr(h, "rho", 1.0)),
            float(getattr(h, "eta", 1.0)),
            float(lr_scale),
            float(getattr(h, "batch_size", 1)),
        ]
    )


def crit_vector(criteria, fast: bool) -> np.ndarray:
    return np.array(
        [
            float(criteria.goal),
            float(criteria.min_grad),
            float(criteria.epochs),
            float(criteria.max_fail),
            1.0 if fast else 0.0,
        ]
    )


def row_state(
    optimizer, n_free: int, epoch: int, val_best: float, val_fails: int
) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's state vector and ``dx`` from an optimizer object (its state_dict form):
    ``dx`` is momentum's and VLBP's last step, Nesterov's buffer, RMSprop's ``v``,
    Adagrad's ``G``, Adam's ``[m | v]`` (its step count in ``st[0]``), and Rprop's
    ``[Δ | g_prev | dx_prev]`` (its previous error in ``st[0]``)."""
    st = np.zeros(N_STATE)
    name = optimizer.name
    dx = {"nesterov": "buf", "rmsprop": "v", "adagrad": "G"}.get(name, "dx")
    dx = getattr(optimizer, dx, None)
    st[0] = float(getattr(optimizer, "lr", math.nan)) if name == "vlbp" else math.nan
    st[1] = 1.0 if getattr(optimizer, "momentum_on", True) else 0.0
    st[2] = 0.0 if dx is None else 1.0
    st[3] = float(epoch)
    st[4] = float(val_best)
    st[5] = float(val_fails)
    if name in ("adam", "adamw"):
        m = optimizer.m
        st[2] = 0.0 if m is None else 1.0
        st[0] = float(optimizer.t)
        if m is None:
            return st, np.zeros(2 * n_free)
        return st, np.concatenate([m, optimizer.v]).astype(np.float64)
    if name == "rprop":
        d = optimizer.delta
        st[2] = 0.0 if d is None else 1.0
        fp = optimizer.f_prev
        st[0] = math.nan if fp is None else float(fp)
        if d is None:
            return st, np.zeros(3 * n_free)
        return st, np.concatenate([d, optimizer.g_prev, optimizer.dx_prev]).astype(np.float64)
    return st, (np.zeros(n_free) if dx is None else np.array(dx, dtype=np.float64))


def store_state(optimizer, st: np.ndarray, dx: np.ndarray) -> None:
    """The kernel's state back into the optimizer object (see :func:`row_state`)."""
    name = optimizer.name
    if name == "momentum":
        optimizer.dx = dx.copy() if st[2] else None
    elif name == "vlbp":
        optimizer.lr = float(st[0])
        optimizer.momentum_on = bool(st[1])
        optimizer.dx = dx.copy() if st[2] else None
    elif name in ("nesterov", "rmsprop", "adagrad") and st[2]:
        setattr(optimizer, {"nesterov": "buf", "rmsprop": "v", "adagrad": "G"}[name], dx.copy())
    elif name in ("adam", "adamw") and st[2]:
        n = dx.size // 2
        optimizer.m, optimizer.v, optimizer.t = dx[:n].copy(), dx[n:].copy(), int(st[0])
    elif name == "rprop" and st[2]:
        n = dx.size // 3
        optimizer.delta, optimizer.g_prev = dx[:n].copy(), dx[n : 2 * n].copy()
        optimizer.dx_prev = dx[2 * n :].copy()
        optimizer.f_prev = None if math.isnan(st[0]) else float(st[0])


def run_row(
    mod: ModuleType,
    plan: Plan,
    opt: str,
    hyp: np.ndarray,
    crit: np.ndarray,
    st: np.ndarray,
    x: np.ndarray,
    dx: np.ndarray,
    perms: np.ndarray,
    K: int,
    emit_start: bool,
    cols: np.ndarray,
    xs: np.ndarray,
) -> tuple[int, int, float]:
    n, code, f = mod.run_row(
        plan.lay, plan.free, int(plan.perf), int(plan.m0), plan.const, plan.P, plan.T,
        int(plan.Q), plan.Pv, plan.Tv, int(plan.Qv), plan.theta.copy(), int(OPT_CODES[opt]),
        hyp, crit, st, x, dx, perms, int(K), bool(emit_start), cols, xs, 0,
        np.empty((0, 0, x.shape[0])), np.empty((0, 0)), 0,
    )  # fmt: skip
    return int(n), int(code), float(f)


def run_batch(
    mod: ModuleType,
    plan: Plan,
    opt: str,
    hyp: np.ndarray,
    crit: np.ndarray,
    ST: np.ndarray,
    X: np.ndarray,
    DX: np.ndarray,
    F: np.ndarray,
    STOP: np.ndarray,
    K: int,
    stride: int,
    path: np.ndarray,
    path_f: np.ndarray,
    block: bool = True,
) -> None:
    """``K`` epochs of every running row (``STOP == 0``).  ``block``: rows side by side
    (:mod:`bpgui_engine.jit.block`) where that kernel covers the problem and is compiled
    (:func:`bpgui_engine.jit.block_kernels`), else one row per iteration (``compiled.run_batch``);
    both give every row its single run's numbers, bit for bit."""
    with _PARALLEL:
        blk = _block_module() if block else None
        if blk is not None and blk.eligible(plan, OPT_CODES[opt]):
            try:
                run_blocks(blk, plan, opt, hyp, crit, ST, X, DX, F, STOP, K, stride, path, path_f)
                return
            except TypeError:  # types the warm-up did not compile (compiling is disabled)
                pass
        _run_batch(mod, plan, opt, hyp, crit, ST, X, DX, F, STOP, K, stride, path, path_f)


#: where the block kernel comes from: :func:`bpgui_engine.jit.block_kernels`, set by the
#: package when it loads (so this module never imports its package: no import cycle)
def _no_block_kernels() -> ModuleType | None:
    return None


block_source: Callable[[], ModuleType | None] = _no_block_kernels


def _block_module() -> ModuleType | None:
    return block_source()


def run_blocks(blk, plan, opt, hyp, crit, ST, X, DX, F, STOP, K, stride, path, path_f) -> None:
    """The block kernel on the running rows (the caller holds ``_PARALLEL``)."""
    rows = np.flatnonzero(STOP == 0).astype(np.int64)
    blk.run_batch_block(
        plan.lay, plan.free, int(plan.perf), int(plan.m0), plan.const, plan.P, plan.T,
        int(plan.Q), plan.theta, int(OPT_CODES[opt]), hyp, crit, ST, X, DX, F, STOP, int(K),
        int(stride), path, path_f, rows,
    )  # fmt: skip


def _run_batch(mod, plan, opt, hyp, crit, ST, X, DX, F, STOP, K, stride, path, path_f) -> None:
    mod.run_batch(
        plan.lay, plan.free, int(plan.perf), int(plan.m0), plan.const, plan.P, plan.T,
        int(plan.Q), plan.theta, int(OPT_CODES[opt]), hyp, crit, ST, X, DX, F, STOP, int(K),
        int(stride), path, path_f,
    )  # fmt: skip


def surface(
    mod: ModuleType,
    lay: np.ndarray,
    perf: int,
    P: np.ndarray,
    T: np.ndarray,
    Q: int,
    theta: np.ndarray,
    ip: int,
    iq: int,
    mq: int,
    skip_q: np.ndarray,
    ps: np.ndarray,
    qs: np.ndarray,
) -> np.ndarray:
    out = np.empty((ps.size, qs.size))
    with _PARALLEL:
        mod.surface(
            lay, int(perf), P, T, int(Q), theta, int(ip), int(iq), int(mq), skip_q, ps, qs, out
        )
    return out
