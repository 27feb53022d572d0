"""The compiled kernels' view of an objective: integer tables and flat float64 arrays.

Pure NumPy (no numba import), so the layout can be built and tested without the compiler.
Codes match :mod:`bpgui_engine.jit.compiled`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.network import NetworkSpec

__all__ = ["OPT_CODES", "STOP_NAMES", "Plan", "build_plan", "layer_table", "lowest_layer"]

TRANSFER_CODES = {"logsig": 0, "tansig": 1, "purelin": 2, "poslin": 3, "softmax": 4}
PERF_CODES = {"sse": 0, "mse": 1, "ce": 2}
OPT_CODES = {"sd": 0, "momentum": 1, "vlbp": 2, "sgd": 3,
             "nesterov": 4, "rmsprop": 5, "adagrad": 6, "rprop": 7, "adam": 8,
             "adamw": 9}  # fmt: skip
#: kernel stop code -> the trainer's reason (bpgui_engine.train.trainer.STOP_REASONS)
STOP_NAMES = (None, "epochs", "goal", "min_grad", "no_change", "validation", "diverged")


@dataclass(frozen=True)
class Plan:
    lay: np.ndarray  # (L+1, 4) int64: (S_m, transfer, W offset, b offset); lay[0, 0] = R
    free: np.ndarray  # (n_free, 5) int64: (theta index, layer 1..L, is_bias, i, j)
    perf: int
    m0: int  # lowest layer holding a free parameter
    const: np.ndarray  # (max S,) int64: neurons of layer m0 < L with no free parameter
    P: np.ndarray  # (R*Q,) training inputs, row-major
    T: np.ndarray  # (S_M*Q,)
    Q: int
    Pv: np.ndarray  # validation set (empty without one)
    Tv: np.ndarray
    Qv: int
    theta: np.ndarray  # (N,) the objective's base vector
    lr_scale: float


def layer_table(spec: NetworkSpec) -> np.ndarray:
    lay = np.zeros((spec.n_layers + 1, 4), dtype=np.int64)
    lay[0, 0] = spec.n_inputs
    for m, ((w, b), s, t) in enumerate(zip(spec.slices, spec.sizes, spec.transfers, strict=True)):
        lay[m + 1] = (s, TRANSFER_CODES[t], w.start, b.start)
    return lay


def free_table(spec: NetworkSpec, free_idx: Sequence[int]) -> np.ndarray:
    out = np.zeros((len(free_idx), 5), dtype=np.int64)
    for k, idx in enumerate(free_idx):
        m = int(spec.layer_of[idx])
        (w, b), r = spec.slices[m], spec.fan_ins[m]
        if idx < w.stop:
            i, j = divmod(idx - w.start, r)
            out[k] = (idx, m + 1, 0, i, j)
        else:
            out[k] = (idx, m + 1, 1, idx - b.start, 0)
    return out


def lowest_layer(spec: NetworkSpec, free_idx: Sequence[int]) -> tuple[int, np.ndarray]:
    """The lowest layer ``m0`` (1-based) holding a free parameter, and the flags of its
    neurons that hold none (constant: their inputs are fixed too).  Only a hidden layer's
    neurons are flagged (an output layer's feed the performance; softmax couples them)."""
    m0 = int(min(spec.layer_of[i] for i in free_idx)) + 1
    const = np.zeros(max(spec.sizes), dtype=np.int64)
    if m0 < spec.n_layers:
        (w, b), r, s = spec.slices[m0 - 1], spec.fan_ins[m0 - 1], spec.sizes[m0 - 1]
        const[:s] = 1
        for idx in free_idx:
            if w.start <= idx < w.stop:
                const[(idx - w.start) // r] = 0
            elif b.start <= idx < b.stop:
                const[idx - b.start] = 0
    return m0, const


def build_plan(objective) -> Plan:
    if getattr(objective, "penalty", None):
        raise ValueError("the compiled kernels have no weight penalty (L2/L1)")
    spec, data, val = objective.spec, objective.data, objective.validation
    free_idx = [int(i) for i in objective.free_idx]
    m0, const = lowest_layer(spec, free_idx)
    Pv = np.array(val.P, dtype=np.float64).ravel() if val else np.empty(0)
    Tv = np.array(val.T, dtype=np.float64).ravel() if val else np.empty(0)
    return Plan(
        lay=layer_table(spec),
        free=free_table(spec, free_idx),
        perf=PERF_CODES[objective.perf.name],
        m0=m0,
        const=const,
        P=np.array(data.P, dtype=np.float64).ravel(),
        T=np.array(data.T, dtype=np.float64).ravel(),
        Q=int(data.n_samples),
        Pv=Pv,
        Tv=Tv,
        Qv=int(val.n_samples) if val else 0,
        theta=np.array(objective.base, dtype=np.float64),
        lr_scale=float(objective.lr_scale),
    )
