"""The exact Hessian of the performance index by Pearlmutter's R-operator.  Qt-free.

For a direction ``v`` in parameter space, ``R{.} = d/dr (.)(theta + r v)|_{r=0}`` applied to
every quantity of the forward and backward passes gives ``H v`` exactly (forward-over-reverse
differentiation, Pearlmutter 1994):

* forward:  ``R{n^m} = R{W^m} a^{m-1} + W^m R{a^{m-1}} + R{b^m}``, ``R{a^0} = 0``,
  ``R{a^m} = F'^m(n^m) R{n^m}`` (softmax: ``a (R{n} - a.R{n})`` per column);
* output:   ``R{s^M}`` from ``s^M = dF/dn^M`` (SSE/MSE: ``s = F'(n) c (a - t)``; CE with
  logsig ``s = (a - t)/Q``, with softmax ``s = (a sum t - t)/Q``);
* backward: ``s^m = F'^m(n^m) u``, ``u = (W^{m+1})^T s^{m+1}``, so
  ``R{u} = R{W}^T s + W^T R{s}`` and ``R{s^m} = F'(n) R{u} + F''(n) R{n} u``;
* gradient: ``R{dF/dW^m} = R{s^m} (a^{m-1})^T + s^m R{a^{m-1}}^T``, ``R{dF/db^m} = sum_q R{s^m}``.

With ``v`` the unit vectors of the free parameters this gives the rows of the Hessian over
them; all directions run at once along an extra axis (chunked when large), and any leading
batch shape of ``theta`` (many points at once) is kept.  The Hessian is exact up to
rounding; ``poslin``'s second derivative is taken as 0 (its kink at ``n = 0`` has none).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.performance import Performance

__all__ = ["value_grad_hessian"]

#: direction chunks hold at most this many (point x direction x neuron x sample) values
CHUNK_ELEMENTS = 2_000_000


def _second(name: str, n: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f'(n), f''(n))`` of an element-wise transfer function."""
    if name == "logsig":
        d = a * (1.0 - a)
        return d, d * (1.0 - 2.0 * a)
    if name == "tansig":
        d = 1.0 - a * a
        return d, -2.0 * a * d
    if name == "purelin":
        return np.ones_like(n), np.zeros_like(n)
    if name == "poslin":
        return (n > 0.0).astype(float), np.zeros_like(n)
    raise ValueError(f"hessian: no second derivative for transfer function {name!r}")


class _Layer:
    """A layer's transfer function, its derivatives at ``n`` and the R-operators."""

    def __init__(self, name: str, n: np.ndarray, a: np.ndarray) -> None:
        self.softmax = name == "softmax"
        self.a = a
        if not self.softmax:
            self.d1, self.d2 = _second(name, n, a)

    def back(self, g: np.ndarray) -> np.ndarray:
        """``dF/dn`` from ``g = dF/da``."""
        if self.softmax:
            a = self.a
            return a * (g - (a * g).sum(axis=-2, keepdims=True))
        return self.d1 * g

    def r_forward(self, rn: np.ndarray) -> np.ndarray:
        """``R{a}`` from ``R{n}`` (direction axis -3 on ``rn``; the layer's arrays lack it)."""
        if self.softmax:
            a = self.a[..., None, :, :]
            return a * (rn - (a * rn).sum(axis=-2, keepdims=True))
        return self.d1[..., None, :, :] * rn

    def r_back(self, g: np.ndarray, rn: np.ndarray, ra: np.ndarray, rg: np.ndarray) -> np.ndarray:
        """``R{dF/dn}`` for ``dF/dn = back(g)``, given ``R{n}``, ``R{a}``, ``R{g}``."""
        g = g[..., None, :, :]
        if self.softmax:
            a = self.a[..., None, :, :]
            ag = (a * g).sum(axis=-2, keepdims=True)
            return ra * (g - ag) + a * (
                rg - (ra * g).sum(axis=-2, keepdims=True) - (a * rg).sum(axis=-2, keepdims=True)
            )
        return self.d1[..., None, :, :] * rg + self.d2[..., None, :, :] * rn * g


def value_grad_hessian(
    spec: NetworkSpec,
    P: np.ndarray,
    T: np.ndarray,
    perf: Performance,
    theta: np.ndarray,
    free_idx: Sequence[int] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``F``, ``dF/dx`` and the exact Hessian ``d2F/dx2`` over the free parameters ``x``.

    Parameters
    ----------
    spec : NetworkSpec
    P : (R, Q), T : (S_M, Q)   the data
    perf : Performance         sse, mse or ce
    theta : (..., N)           full parameter vector(s)
    free_idx : (n,) int        the free parameters' positions in ``theta`` (default: all)

    Returns
    -------
    F : (...), g : (..., n), H : (..., n, n) symmetric.
    """
    theta = np.asarray(theta, dtype=float)
    N = spec.n_params
    idx = np.arange(N) if free_idx is None else np.asarray(free_idx, dtype=np.intp)
    lead = theta.shape[:-1]
    L = spec.n_layers
    Q = P.shape[-1]
    out_name = spec.transfers[-1]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fw = spec.forward(theta, P)
        layers_w = spec.unpack(theta)
        tr = [_Layer(name, fw.n[m], fw.a[m]) for m, name in enumerate(spec.transfers)]
        F = perf.value(fw.n[-1], fw.a[-1], T, out_name)
        # ---- output sensitivity and its ingredients -----------------------------------------
        a_out = fw.a[-1]
        if perf.name == "ce":
            ce_scale = (T.sum(axis=-2, keepdims=True) if out_name == "softmax" else 1.0) / Q
            s = (a_out * ce_scale - T / Q) if out_name == "softmax" else (a_out - T) / Q
            g_out = None
        else:
            c = 2.0 if perf.name == "sse" else 2.0 / (Q * T.shape[-2])
            g_out = c * (a_out - T)  # dF/da^M
            s = tr[-1].back(g_out)
        # ---- backward pass: sensitivities, u = W^T s and the gradient -----------------------
        sens: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        us: list[np.ndarray | None] = [None] * L  # us[m] = (W^{m+1})^T s^{m+1}
        sens[-1] = s
        for m in range(L - 1, 0, -1):
            W = layers_w[m][0]
            u = np.swapaxes(W, -1, -2) @ sens[m]
            us[m - 1] = u
            sens[m - 1] = tr[m - 1].back(u)
        grad = []
        for m in range(L):
            a_prev = P if m == 0 else fw.a[m - 1]
            gW = sens[m] @ np.swapaxes(a_prev, -1, -2)
            grad.append(gW.reshape((*lead, -1)))
            grad.append(sens[m].sum(axis=-1))
        g_full = np.concatenate([np.broadcast_to(x, (*lead, x.shape[-1])) for x in grad], axis=-1)
        # ---- R-operator passes, a chunk of directions at a time -----------------------------
        n = idx.size
        per_dir = max(1, int(np.prod(lead, dtype=np.int64))) * max(spec.sizes) * Q
        step = max(1, CHUNK_ELEMENTS // per_dir)
        H = np.empty((*lead, n, n))
        for lo in range(0, n, step):
            V = np.zeros((min(step, n - lo), N))
            V[np.arange(V.shape[0]), idx[lo : lo + step]] = 1.0
            rows = _hessian_rows(spec, P, T, perf, fw, layers_w, tr, sens, us, g_out, V)
            H[..., lo : lo + V.shape[0], :] = rows[..., idx]
        H = 0.5 * (H + np.swapaxes(H, -1, -2))
    return F, g_full[..., idx], H


def _hessian_rows(spec, P, T, perf, fw, layers_w, tr, sens, us, g_out, V) -> np.ndarray:
    """``H v`` for each row ``v`` of ``V`` (D, N): shape ``(..., D, N)``."""
    L = spec.n_layers
    Q = P.shape[-1]
    dirs = spec.unpack(V)  # (D, S, R) and (D, S)
    ex = (..., None, slice(None), slice(None))  # insert the direction axis into a (.., S, Q)
    # forward
    rn_l, ra_l = [], []
    ra = None
    for m in range(L):
        RW, Rb = dirs[m]
        a_prev = P if m == 0 else fw.a[m - 1][ex]
        rn = RW @ a_prev + Rb[..., None]
        if ra is not None:
            rn = rn + layers_w[m][0][ex] @ ra
        ra = tr[m].r_forward(rn)
        rn_l.append(rn)
        ra_l.append(ra)
    # output sensitivity
    if perf.name == "ce":
        if spec.transfers[-1] == "softmax":
            rs = ra_l[-1] * (T.sum(axis=-2, keepdims=True) / Q)
        else:
            rs = ra_l[-1] / Q
    else:
        c = 2.0 if perf.name == "sse" else 2.0 / (Q * T.shape[-2])
        rs = tr[-1].r_back(g_out, rn_l[-1], ra_l[-1], c * ra_l[-1])
    # backward
    rows: list[np.ndarray] = [None] * (2 * L)  # type: ignore[list-item]
    for m in range(L - 1, -1, -1):
        s = sens[m][ex]
        if m == 0:
            rgW = rs @ P.T
        else:
            rgW = rs @ np.swapaxes(fw.a[m - 1][ex], -1, -2) + s @ np.swapaxes(ra_l[m - 1], -1, -2)
        rows[2 * m] = rgW.reshape((*rgW.shape[:-2], -1))
        rows[2 * m + 1] = rs.sum(axis=-1)
        if m:
            W = layers_w[m][0][ex]
            RW = dirs[m][0]
            ru = np.swapaxes(RW, -1, -2) @ s + np.swapaxes(W, -1, -2) @ rs
            rs = tr[m - 1].r_back(us[m - 1], rn_l[m - 1], ra_l[m - 1], ru)
    shape = np.broadcast_shapes(*(r.shape[:-1] for r in rows))
    return np.concatenate([np.broadcast_to(r, (*shape, r.shape[-1])) for r in rows], axis=-1)
