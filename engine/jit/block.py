"""Batch kernel over blocks of rows: ``BW`` rows side by side, the row index innermost.

Every buffer of :mod:`bpgui_engine.jit.compiled` (net inputs, outputs, sensitivities, the eight
partial sums of every sample sum) gets a trailing axis of ``BW`` lanes, one row each, so the
per-sample loops vectorize across the rows.  Each lane does exactly the arithmetic of
:func:`bpgui_engine.jit.compiled.run_row` for its row, in the same order (every sum over samples
keeps its eight interleaved partial sums and its tail; no operation mixes lanes), so a row
equals a single compiled run bit for bit.

Covers ``sd``, ``momentum`` and ``vlbp`` on networks of element-wise transfer functions
(logsig, tansig, purelin, poslin) with ``sse`` or ``mse`` (:func:`eligible`; batches ignore
a validation set, as the row kernel does); everything else takes
:func:`bpgui_engine.jit.compiled.run_batch`.  Lanes whose row has stopped keep their point (their
arithmetic is wasted, their results never stored); the driver packs the still running rows
into blocks at every call.

A long module (over 400 lines) on purpose: the block kernels share their private
helpers and are compiled, cached and warmed up as one file (see :mod:`.compiled`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from bpgui_engine.jit.compiled import (
    C_FAST,
    DIVERGED,
    H_ETA,
    H_GAMMA,
    H_LR,
    H_LR_SCALE,
    H_RHO,
    H_ZETA,
    LOGSIG,
    MOMENTUM,
    MSE,
    NONE,
    POSLIN,
    PURELIN,
    S_EPOCH,
    S_HAS_DX,
    S_LR,
    S_MOM_ON,
    S_STARTED,
    SD,
    SSE,
    TANSIG,
    VLBP,
    _activate_row,
    _backward_row,
    _opts,
    _stop,
    offsets,
)

BW = 16  # rows per block (lanes): 8, 16, 32 gave 2.8, 3.3, 3.5 M row-epochs/s per core


def eligible(plan, opt: int) -> bool:
    """Whether :func:`run_batch_block` runs this problem (else the row kernel)."""
    transfers = {int(t) for t in plan.lay[1:, 1]}
    return (
        opt in (SD, MOMENTUM, VLBP)
        and transfers <= {LOGSIG, TANSIG, PURELIN, POSLIN}
        and plan.perf in (SSE, MSE)
    )


# ---- lane-wise sums: compiled._sum/_dot/_sqdiff per lane, same partial sums and order ----
@njit(**_opts)
def _sum_lanes(x, acc, out):
    n = x.shape[0] // BW
    m = n - n % 8
    for j in range(8 * BW):
        acc[j] = 0.0
    for k in range(0, m, 8):
        for j in range(8):
            xb = (k + j) * BW
            ab = j * BW
            for l in range(BW):
                acc[ab + l] += x[xb + l]
    for l in range(BW):
        out[l] = ((acc[l] + acc[BW + l]) + (acc[2 * BW + l] + acc[3 * BW + l])) + (
            (acc[4 * BW + l] + acc[5 * BW + l]) + (acc[6 * BW + l] + acc[7 * BW + l])
        )
    for k in range(m, n):
        for l in range(BW):
            out[l] += x[k * BW + l]


@njit(**_opts)
def _dot_lanes(x, y, acc, out):
    n = x.shape[0] // BW
    m = n - n % 8
    for j in range(8 * BW):
        acc[j] = 0.0
    for k in range(0, m, 8):
        for j in range(8):
            xb = (k + j) * BW
            ab = j * BW
            for l in range(BW):
                acc[ab + l] += x[xb + l] * y[xb + l]
    for l in range(BW):
        out[l] = ((acc[l] + acc[BW + l]) + (acc[2 * BW + l] + acc[3 * BW + l])) + (
            (acc[4 * BW + l] + acc[5 * BW + l]) + (acc[6 * BW + l] + acc[7 * BW + l])
        )
    for k in range(m, n):
        for l in range(BW):
            out[l] += x[k * BW + l] * y[k * BW + l]


@njit(**_opts)
def _sqdiff_lanes(t, a, acc, out):
    """``sum_k (t[k] - a[k, lane])^2`` (targets shared by the lanes)."""
    n = t.shape[0]
    m = n - n % 8
    for j in range(8 * BW):
        acc[j] = 0.0
    for k in range(0, m, 8):
        for j in range(8):
            tk = t[k + j]
            xb = (k + j) * BW
            ab = j * BW
            for l in range(BW):
                e = tk - a[xb + l]
                acc[ab + l] += e * e
    for l in range(BW):
        out[l] = ((acc[l] + acc[BW + l]) + (acc[2 * BW + l] + acc[3 * BW + l])) + (
            (acc[4 * BW + l] + acc[5 * BW + l]) + (acc[6 * BW + l] + acc[7 * BW + l])
        )
    for k in range(m, n):
        tk = t[k]
        for l in range(BW):
            e = tk - a[k * BW + l]
            out[l] += e * e


# ---- forward pass and backprop over a block (compiled.forward / compiled.evaluate) --------
@njit(**_opts)
def _forward_lanes(lay, TH, Ab, Nb, Ib, off, Q, start, skip):
    L = lay.shape[0] - 1
    QB = Q * BW
    for m in range(start, L + 1):
        r, s, t, wo, bo = lay[m - 1, 0], lay[m, 0], lay[m, 1], lay[m, 2], lay[m, 3]
        ap, o = off[m - 1] * BW, off[m] * BW
        for i in range(s):
            if m == start and skip[i]:
                continue
            nrow = Nb[o + i * QB : o + (i + 1) * QB]
            a0 = Ab[ap : ap + QB]
            w = TH[wo + i * r]
            b = TH[bo + i]
            if r == 1:
                for q in range(Q):
                    for l in range(BW):
                        nrow[q * BW + l] = w[l] * a0[q * BW + l] + b[l]
            else:
                for q in range(Q):
                    for l in range(BW):
                        nrow[q * BW + l] = w[l] * a0[q * BW + l]
                for j in range(1, r - 1):
                    w = TH[wo + i * r + j]
                    aj = Ab[ap + j * QB : ap + (j + 1) * QB]
                    for q in range(Q):
                        for l in range(BW):
                            nrow[q * BW + l] += w[l] * aj[q * BW + l]
                w = TH[wo + i * r + r - 1]
                aj = Ab[ap + (r - 1) * QB : ap + r * QB]
                for q in range(Q):
                    for l in range(BW):
                        nrow[q * BW + l] = (nrow[q * BW + l] + w[l] * aj[q * BW + l]) + b[l]
            _activate_row(t, nrow, Ab[o + i * QB : o + (i + 1) * QB], Ib)


@njit(**_opts)
def _evaluate_lanes(lay, free, perf, TH, Ab, Nb, Ib, Sa, Sb, T, off, Q, start, skip, m0,
                    const, G, F, acc):  # fmt: skip
    """``F[lane]`` and ``G[k, lane] = dF/dx_k`` (compiled.evaluate with want_grad)."""
    _forward_lanes(lay, TH, Ab, Nb, Ib, off, Q, start, skip)
    L = lay.shape[0] - 1
    QB = Q * BW
    S, t, o = lay[L, 0], lay[L, 1], off[L] * BW
    a = Ab[o : o + S * QB]
    n = Nb[o : o + S * QB]
    _sqdiff_lanes(T, a, acc, F)
    if perf == MSE:
        for l in range(BW):
            F[l] = F[l] / (S * Q)
    sl = Sa[: S * QB]
    scale = -2.0 if perf == SSE else -2.0 / (S * Q)
    for k in range(S * Q):
        tk = T[k]
        for l in range(BW):
            sl[k * BW + l] = (tk - a[k * BW + l]) * scale
    _backward_row(t, n, a, sl)
    cur, nxt = Sa, Sb
    nf = free.shape[0]
    for m in range(L, m0 - 1, -1):
        ap = off[m - 1] * BW
        for k in range(nf):
            if free[k, 1] != m:
                continue
            i = free[k, 3]
            srow = cur[i * QB : (i + 1) * QB]
            if free[k, 2]:
                _sum_lanes(srow, acc, G[k])
            else:
                j = free[k, 4]
                _dot_lanes(srow, Ab[ap + j * QB : ap + (j + 1) * QB], acc, G[k])
        if m == m0:
            break
        r, s, wo = lay[m - 1, 0], lay[m, 0], lay[m, 2]
        tp = lay[m - 1, 1]
        for j in range(r):
            if m - 1 == m0 and const[j]:
                continue
            nrow = nxt[j * QB : (j + 1) * QB]
            c0 = cur[0:QB]
            w = TH[wo + j]
            for q in range(Q):
                for l in range(BW):
                    nrow[q * BW + l] = w[l] * c0[q * BW + l]
            for i in range(1, s):
                w = TH[wo + i * r + j]
                ci = cur[i * QB : (i + 1) * QB]
                for q in range(Q):
                    for l in range(BW):
                        nrow[q * BW + l] += w[l] * ci[q * BW + l]
            lo = ap + j * QB
            _backward_row(tp, Nb[lo : lo + QB], Ab[lo : lo + QB], nrow)
        cur, nxt = nxt, cur


@njit(**_opts)
def _grad_norm_lane(G, lane, fast):
    """compiled._grad_norm of ``G[:, lane]``."""
    acc = 0.0
    finite = True
    for k in range(G.shape[0]):
        v = G[k, lane]
        acc += v * v
        if not math.isfinite(v):
            finite = False
    if not fast and not finite:
        return math.inf
    return math.sqrt(acc)


@njit(**_opts)
def _run_block(lay, free, perf, m0, const, P, T, Q, theta, opt, hyp, crit, ST, X, DX, F, STOP,
               K, stride, path, path_f, rws):  # fmt: skip
    """Up to ``K`` epochs of the rows ``rws`` (at most ``BW``), as ``run_row`` each."""
    nr = rws.shape[0]
    nf = X.shape[1]
    L = lay.shape[0] - 1
    R = lay[0, 0]
    off = offsets(lay, Q)
    smax = 1
    for m in range(1, L + 1):
        smax = max(smax, lay[m, 0])
    Ab = np.empty(off[L + 1] * BW)
    Nb = np.empty(off[L + 1] * BW)
    Ib = np.empty(Q * BW, np.int64)
    Sa = np.empty(smax * Q * BW)
    Sb = np.empty(smax * Q * BW)
    acc = np.empty(8 * BW)
    for k in range(R * Q):
        for l in range(BW):
            Ab[k * BW + l] = P[k]
    noskip = np.zeros(smax + 1, dtype=np.int64)
    TH = np.empty((theta.shape[0], BW))
    for i in range(theta.shape[0]):
        for l in range(BW):
            TH[i, l] = theta[i]
    x = np.empty((nf, BW))
    xn = np.empty((nf, BW))
    dx = np.empty((nf, BW))
    dxn = np.empty((nf, BW))
    G = np.empty((nf, BW))
    Gt = np.empty((nf, BW))
    f = np.empty(BW)
    ft = np.empty(BW)
    lrl = np.empty(BW)  # vlbp: each row's rate, momentum switch
    mon = np.empty(BW)
    cl = np.empty(BW)
    gml = np.empty(BW)
    act = np.zeros(BW, dtype=np.bool_)
    ep = np.zeros(BW, dtype=np.int64)
    hd = np.zeros(BW)
    for l in range(BW):
        r = rws[l] if l < nr else rws[0]  # padding lanes repeat the first row, never stored
        for k in range(nf):
            x[k, l] = X[r, k]
            dx[k, l] = DX[r, k]
        hd[l] = ST[r, S_HAS_DX]
        lrl[l] = ST[r, S_LR]
        mon[l] = ST[r, S_MOM_ON]
        ep[l] = np.int64(ST[r, S_EPOCH])
        act[l] = l < nr
    for k in range(nf):
        for l in range(BW):
            TH[free[k, 0], l] = x[k, l]
    _evaluate_lanes(lay, free, perf, TH, Ab, Nb, Ib, Sa, Sb, T, off, Q, 1, noskip, m0, const,
                    G, f, acc)  # fmt: skip
    n_act = nr
    for l in range(nr):  # the start record of rows not started yet
        r = rws[l]
        if ST[r, S_STARTED] != 0.0:
            continue
        ST[r, S_STARTED] = 1.0
        gn = _grad_norm_lane(G, l, False)
        stop = _stop(f[l], gn, True, True, ep[l], crit)
        if not math.isfinite(f[l]):
            stop = DIVERGED
        if ep[l] % stride == 0:
            slot = ep[l] // stride
            for k in range(nf):
                path[slot, r, k] = x[k, l]
            path_f[slot, r] = f[l]
        if stop != NONE:
            act[l] = False
            n_act -= 1
            F[r] = f[l]
            STOP[r] = stop
    fast = crit[C_FAST] != 0.0
    lr_h, lr_scale, gamma = hyp[H_LR], hyp[H_LR_SCALE], hyp[H_GAMMA]
    for _ in range(K):
        if n_act == 0:
            break
        if opt == SD:
            c = lr_h * lr_scale
            for k in range(nf):
                for l in range(BW):
                    xn[k, l] = x[k, l] - c * G[k, l]
        elif opt == VLBP:
            for l in range(BW):
                gml[l] = gamma if mon[l] != 0.0 else 0.0
                cl[l] = -(1.0 - gml[l]) * lrl[l] * lr_scale
            for k in range(nf):
                for l in range(BW):
                    v = cl[l] * G[k, l]
                    if hd[l] != 0.0 and gml[l] != 0.0:
                        v += gml[l] * dx[k, l]
                    dxn[k, l] = v
                    xn[k, l] = x[k, l] + v
        else:  # MOMENTUM: dx = gamma dx_prev - (1 - gamma) lr grad
            c = -(1.0 - gamma) * lr_h * lr_scale
            for k in range(nf):
                for l in range(BW):
                    v = c * G[k, l]
                    if hd[l] != 0.0:
                        v += gamma * dx[k, l]
                    dxn[k, l] = v
                    xn[k, l] = x[k, l] + v
        for l in range(BW):
            if not act[l]:  # a stopped lane keeps its point
                for k in range(nf):
                    xn[k, l] = x[k, l]
        for k in range(nf):
            for l in range(BW):
                TH[free[k, 0], l] = xn[k, l]
        if opt == VLBP:  # the trial step: kept or rejected row by row below
            _evaluate_lanes(lay, free, perf, TH, Ab, Nb, Ib, Sa, Sb, T, off, Q, m0, const, m0,
                            const, Gt, ft, acc)  # fmt: skip
        else:
            _evaluate_lanes(lay, free, perf, TH, Ab, Nb, Ib, Sa, Sb, T, off, Q, m0, const, m0,
                            const, G, f, acc)  # fmt: skip
        for l in range(nr):
            if not act[l]:
                continue
            r = rws[l]
            accepted = True
            if opt == MOMENTUM:
                for k in range(nf):
                    dx[k, l] = dxn[k, l]
                hd[l] = 1.0
            elif opt == VLBP:
                if not math.isfinite(ft[l]) or ft[l] > f[l] * (1.0 + hyp[H_ZETA]):
                    lrl[l] *= hyp[H_RHO]
                    mon[l] = 0.0
                    hd[l] = 0.0
                    accepted = False
                else:
                    if ft[l] < f[l]:
                        lrl[l] *= hyp[H_ETA]
                    mon[l] = 1.0
                    hd[l] = 1.0
                    for k in range(nf):
                        dx[k, l] = dxn[k, l]
                        G[k, l] = Gt[k, l]
                    f[l] = ft[l]
            ep[l] += 1
            moved = not accepted
            if accepted:
                for k in range(nf):
                    if xn[k, l] != x[k, l]:
                        moved = True
                    x[k, l] = xn[k, l]
            gn = _grad_norm_lane(G, l, fast)
            stop = _stop(f[l], gn, accepted, moved, ep[l], crit)
            if ep[l] % stride == 0:
                slot = ep[l] // stride
                for k in range(nf):
                    path[slot, r, k] = x[k, l]
                path_f[slot, r] = f[l]
            if stop != NONE:
                act[l] = False
                n_act -= 1
                STOP[r] = stop
                _store_lane(ST, X, DX, F, r, l, x, dx, ep, hd, f, lrl, mon)
    for l in range(nr):
        if act[l]:
            _store_lane(ST, X, DX, F, rws[l], l, x, dx, ep, hd, f, lrl, mon)


@njit(**_opts)
def _store_lane(ST, X, DX, F, r, l, x, dx, ep, hd, f, lrl, mon):
    for k in range(X.shape[1]):
        X[r, k] = x[k, l]
        DX[r, k] = dx[k, l]
    ST[r, S_EPOCH] = ep[l]
    ST[r, S_HAS_DX] = hd[l]
    ST[r, S_LR] = lrl[l]
    ST[r, S_MOM_ON] = mon[l]
    F[r] = f[l]


@njit(parallel=True, **_opts)
def run_batch_block(lay, free, perf, m0, const, P, T, Q, theta, opt, hyp, crit, ST, X, DX, F,
                    STOP, K, stride, path, path_f, rows):  # fmt: skip
    """``compiled.run_batch`` over the rows listed in ``rows`` (those still running), in
    blocks of ``BW`` in parallel."""
    nb = (rows.shape[0] + BW - 1) // BW
    for bi in prange(nb):
        lo = bi * BW
        hi = min(lo + BW, rows.shape[0])
        _run_block(lay, free, perf, m0, const, P, T, Q, theta, opt, hyp, crit, ST, X, DX, F,
                   STOP, K, stride, path, path_f, rows[lo:hi])  # fmt: skip
