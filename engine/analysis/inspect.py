"""Backpropagation laid open for one sample: the data of a backprop inspector.  Qt-free.

For sample ``q`` of the training set, layer by layer (``m = 1..M``, as in the book):

* forward pass: ``n^m = W^m a^{m-1} + b^m`` and ``a^m = f^m(n^m)`` (``a^0 = p_q``);
* ``f'(n^m)`` per neuron -- near 0 means a saturated neuron whose sensitivity vanishes
  (softmax: the diagonal ``a (1 - a)`` of its Jacobian);
* backward pass: the sensitivities ``s^m = F'^m(n^m) (W^{m+1})^T s^{m+1}`` from
  ``s^M = dF/dn^M`` (NND eq. 11.44-11.45), as the sample's column of the batch's: they carry
  the performance index's own scaling (2 for SSE, 2/(S_M Q) for MSE, 1/Q for CE), so the
  sample's gradients ``s^m (a^{m-1})^T`` and ``s^m`` summed over the samples are exactly the
  batch gradient ``dF/dW^m``, ``dF/db^m``;
* the batch gradient beside it, and a central-difference estimate of every batch derivative
  ``(F(theta + h e_i) - F(theta - h e_i)) / 2h`` (the gradient check's numeric value).

All parameters are included (free or not); ``free[m]`` marks which are trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.analysis.hessian import _Layer
from bpgui_engine.model.objective import Objective

__all__ = ["Inspection", "LayerTrace", "inspect_sample"]


@dataclass(frozen=True)
class LayerTrace:
    """Layer ``m`` (1-based) for one sample; ``S`` neurons, ``R`` inputs."""

    m: int
    transfer: str
    W: np.ndarray  # (S, R)
    b: np.ndarray  # (S,)
    a_prev: np.ndarray  # (R,) the layer's input a^{m-1}
    n: np.ndarray  # (S,) net input
    a: np.ndarray  # (S,) output
    fprime: np.ndarray  # (S,) f'(n)
    s: np.ndarray  # (S,) sensitivity dF/dn^m (this sample's share)
    grad_W: np.ndarray  # (S, R) s (a^{m-1})^T, this sample's share of dF/dW^m
    grad_b: np.ndarray  # (S,) s
    batch_grad_W: np.ndarray  # (S, R) dF/dW^m over the whole batch
    batch_grad_b: np.ndarray  # (S,)
    numeric_W: np.ndarray  # (S, R) central difference of F
    numeric_b: np.ndarray  # (S,)
    free_W: np.ndarray  # (S, R) bool: trained
    free_b: np.ndarray  # (S,) bool


@dataclass(frozen=True)
class Inspection:
    q: int  # the sample (0-based)
    p: np.ndarray  # (R,) its input
    t: np.ndarray  # (S_M,) its target
    value: float  # F over the batch
    layers: list[LayerTrace]


def inspect_sample(
    objective: Objective, x: np.ndarray, q: int, *, numeric: bool = True
) -> Inspection:
    """Forward and backward pass for sample ``q`` at the free parameters ``x`` (see the
    module); ``numeric=False`` skips the central differences (``2 N`` evaluations of F)."""
    spec, data, perf = objective.spec, objective.data, objective.perf
    Q = data.n_samples
    if isinstance(q, bool) or int(q) != q or not 0 <= q < Q:
        raise ValueError(f"sample: must be an integer in [0, {Q - 1}], got {q!r}")
    q = int(q)
    theta = objective.full(np.asarray(x, dtype=float))
    P, T = data.P, data.T
    with np.errstate(all="ignore"):
        fw = spec.forward(theta, P)
        layers = spec.unpack(theta)
        tr = [_Layer(name, fw.n[m], fw.a[m]) for m, name in enumerate(spec.transfers)]
        F = float(perf.value(fw.n[-1], fw.a[-1], T, spec.transfers[-1]))
        sens = [None] * spec.n_layers
        sens[-1] = perf.output_sensitivity(fw.n[-1], fw.a[-1], T, spec._t[-1])
        for m in range(spec.n_layers - 1, 0, -1):
            sens[m - 1] = tr[m - 1].back(layers[m][0].T @ sens[m])
        num = _numeric_gradient(objective, theta) if numeric else np.full(theta.size, np.nan)
    free = np.zeros(theta.size, dtype=bool)
    free[objective.free_idx] = True
    out = []
    for m, ((W, b), (wsl, bsl)) in enumerate(zip(layers, spec.slices, strict=True)):
        a_prev = P if m == 0 else fw.a[m - 1]
        s = sens[m]
        if spec.transfers[m] == "softmax":
            fprime = fw.a[m][:, q] * (1.0 - fw.a[m][:, q])
        else:
            fprime = tr[m].d1[:, q]
        S, R = W.shape
        out.append(
            LayerTrace(
                m=m + 1,
                transfer=spec.transfers[m],
                W=W.copy(),
                b=b.copy(),
                a_prev=a_prev[:, q].copy(),
                n=fw.n[m][:, q].copy(),
                a=fw.a[m][:, q].copy(),
                fprime=np.array(fprime),
                s=s[:, q].copy(),
                grad_W=np.outer(s[:, q], a_prev[:, q]),
                grad_b=s[:, q].copy(),
                batch_grad_W=s @ a_prev.T,
                batch_grad_b=s.sum(axis=1),
                numeric_W=num[wsl].reshape(S, R),
                numeric_b=num[bsl].copy(),
                free_W=free[wsl].reshape(S, R),
                free_b=free[bsl].copy(),
            )
        )
    return Inspection(q, P[:, q].copy(), T[:, q].copy(), F, out)


def _numeric_gradient(objective: Objective, theta: np.ndarray) -> np.ndarray:
    """``dF/dtheta_i`` by central differences, every parameter, one batched evaluation."""
    spec, data, perf = objective.spec, objective.data, objective.perf
    N = theta.size
    h = 1e-6 * np.maximum(1.0, np.abs(theta))
    Th = np.repeat(theta[None, :], 2 * N, axis=0)
    Th[np.arange(N), np.arange(N)] += h
    Th[N + np.arange(N), np.arange(N)] -= h
    rows = max(1, 2_000_000 // (data.n_samples * max(spec.sizes)))
    Fv = np.empty(2 * N)
    for lo in range(0, 2 * N, rows):
        fw = spec.forward(Th[lo : lo + rows], data.P)
        Fv[lo : lo + rows] = perf.value(fw.n[-1], fw.a[-1], data.T, spec.transfers[-1])
    return (Fv[:N] - Fv[N:]) / (2.0 * h)
