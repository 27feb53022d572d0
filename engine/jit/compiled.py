"""Compiled (numba) kernels: forward pass, performance, backprop, optimizer epochs, surfaces.

The maths is :mod:`bpgui_engine.model.network`, :mod:`bpgui_engine.model.transfer`,
:mod:`bpgui_engine.model.performance`,
:mod:`bpgui_engine.optim` (sd, momentum, vlbp, sgd) and
:class:`bpgui_engine.train.trainer.Trainer`'s stop
tests, written as scalar loops in the same operation order wherever NumPy's order is known
(BLAS sums are not, so results agree to rounding, not bit for bit).

Data layout (built by :mod:`bpgui_engine.jit.plan`): every layer's net inputs ``n^m`` and outputs
``a^m`` (``a^0 = P``) live in flat buffers ``Nb``/``Ab``, layer ``m`` at ``off[m]`` with
row stride ``Q`` (``(S_m, Q)`` row-major).  ``lay[m] = (S_m, transfer, W offset, b offset)``
for ``m = 1..L`` (``lay[0, 0] = R``), offsets into the full parameter vector ``theta``.
``free[k] = (theta index, layer, is_bias, i, j)``.  Forward passes start at layer ``start``
and skip the neurons of that layer flagged in ``skip`` (their outputs are constant and were
computed by an earlier full pass).  Nothing here allocates per epoch.

A long module (about 800 lines) on purpose: every kernel here calls the same private
helpers (forward pass, backprop, transfer functions, the optimizers' epochs), and the
warm-up checks that the whole file's kernels are compiled and cached together; split, the
helpers would have to become a public API of a second kernel module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# codes shared with bpgui_engine.jit.plan
LOGSIG, TANSIG, PURELIN, POSLIN, SOFTMAX = 0, 1, 2, 3, 4
SSE, MSE, CE = 0, 1, 2
SD, MOMENTUM, VLBP, SGD = 0, 1, 2, 3
NESTEROV, RMSPROP, ADAGRAD, RPROP, ADAM, ADAMW = 4, 5, 6, 7, 8, 9  # the row kernel only
NONE, EPOCHS, GOAL, MIN_GRAD, NO_CHANGE, VALIDATION, DIVERGED = 0, 1, 2, 3, 4, 5, 6
# state vector of one run
S_LR, S_MOM_ON, S_HAS_DX, S_EPOCH, S_VAL_BEST, S_VAL_FAILS, S_STARTED = range(7)
N_STATE = 7
# hyperparameter vector
H_LR, H_GAMMA, H_ZETA, H_RHO, H_ETA, H_LR_SCALE, H_BATCH = range(7)
# criteria vector
C_GOAL, C_MIN_GRAD, C_EPOCHS, C_MAX_FAIL, C_FAST = range(5)
# output columns of a block: performance, sse, grad_norm, lr, mu, val_performance
N_COLS = 6

_opts = {"cache": True, "error_model": "numpy", "nogil": True}


# ---- transfer functions (engine/model/transfer.py) ----------------------------------------------
# Loops index views (``row[q]``, ``q`` from ``range``): an offset index ``buf[o + q]`` makes
# numba check for negative indices on every access, which blocks vectorization (10x slower).
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * LN2_HI is exact (Cody-Waite)
LN2_LO = 1.90821492927058770002e-10
ROUND_BITS = 6755399441055744.0  # 1.5 * 2^52: x + ROUND_BITS holds round(x) in its low bits
ROUND_BITS_INT = 0x4338000000000000  # the bits of ROUND_BITS


@njit(inline="always", **_opts)
def _exp_taylor(r):
    """``exp(r)`` for ``|r| <= ln2/2``: the degree-13 Taylor polynomial (Horner), inlined
    into its callers' loops at numba's level so that they still vectorize."""
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    return p * r + 1.0


@njit(**_opts)
def _pow2_bits(Ib):
    """``Ib[k]`` holding the bits of ``kf + ROUND_BITS`` (``kf`` an integer-valued double)
    becomes the bits of ``2^kf`` (an integer loop: AVX2 has no packed double -> int64)."""
    for k in range(Ib.shape[0]):
        Ib[k] = (Ib[k] - ROUND_BITS_INT + 1023) << 52


@njit(**_opts)
def _logsig_row(n, a, Ib):
    """``a = 1/(1+exp(-max(n, -700)))`` with an inline exp that vectorizes (a libm call per
    element does not): ``exp(x) = 2^k p(r)``, ``x = k ln2 + r``, ``|r| <= ln2/2``, ``p`` the
    degree-13 Taylor polynomial; ``2^k`` is built from its bits in ``Ib``.  Within 2 ulp of
    ``np.exp``; ``x < -708`` gives ``2^-1022 p`` instead of a subnormal, and then ``a = 1``
    exactly either way.  NaN stays NaN."""
    fb = Ib.view(np.float64)
    for k in range(n.shape[0]):
        v = n[k]
        x = 700.0 if v < -700.0 else -v
        x = -708.0 if x < -708.0 else x
        kf = math.floor(x * LOG2E + 0.5)
        r = (x - kf * LN2_HI) - kf * LN2_LO
        a[k] = _exp_taylor(r)
        fb[k] = kf + ROUND_BITS  # k in the low bits of the mantissa
    _pow2_bits(Ib[: n.shape[0]])
    for k in range(n.shape[0]):
        a[k] = 1.0 / (a[k] * fb[k] + 1.0)


# Cephes' tanh: x + x^3 P(x^2)/Q(x^2) below |x| = 0.625 (within an ulp there)
TANH_P0, TANH_P1, TANH_P2 = (
    -9.64399179425052238628e-1,
    -9.92877231001918586564e1,
    -1.61468768441708447952e3,
)
TANH_Q0, TANH_Q1, TANH_Q2 = (
    1.12811678491632931402e2,
    2.23548839060100448583e3,
    4.84406305325125486048e3,
)


@njit(fastmath={"contract"}, **_opts)
def _tanh_row(n, a, Ib):
    """``a = tanh(n)`` in loops that vectorize (a libm ``tanh`` per element costs 13 ns
    and does not): Cephes' rational form below ``|n| = 0.625``, ``1 - 2/(e^{2|n|} + 1)``
    above, with ``e^{2|n|}`` (``2|n|`` capped at 40, where tanh is 1 to the last bit) from
    the same inline exp as :func:`_logsig_row`.  Within 2 ulp of ``np.tanh``; odd, so
    ``-0.0`` stays ``-0.0``; NaN stays NaN; ``n`` and ``a`` must not overlap."""
    fb = Ib.view(np.float64)
    for k in range(n.shape[0]):
        v = n[k]
        x = -2.0 * v if v < 0.0 else 2.0 * v
        x = 40.0 if x > 40.0 else x
        kf = math.floor(x * LOG2E + 0.5)
        r = (x - kf * LN2_HI) - kf * LN2_LO
        a[k] = _exp_taylor(r)
        fb[k] = kf + ROUND_BITS  # k in the low bits of the mantissa
    _pow2_bits(Ib[: n.shape[0]])
    for k in range(n.shape[0]):
        v = n[k]
        big = 1.0 - 2.0 / (a[k] * fb[k] + 1.0)
        s = v * v
        q = ((s + TANH_Q0) * s + TANH_Q1) * s + TANH_Q2
        small = v + v * (s * ((TANH_P0 * s + TANH_P1) * s + TANH_P2) / q)
        big = -big if v < 0.0 else big
        small = v if s == 0.0 else small  # keeps -0.0
        a[k] = small if (v < 0.625 and v > -0.625) else big


@njit(**_opts)
def _activate_row(t, n, a, Ib):
    if t == LOGSIG:
        _logsig_row(n, a, Ib)
    elif t == TANSIG:
        _tanh_row(n, a, Ib)
    elif t == PURELIN:
        for k in range(n.shape[0]):
            a[k] = n[k]
    elif t == POSLIN:  # np.maximum(n, 0) keeps NaN
        for k in range(n.shape[0]):
            v = n[k]
            a[k] = 0.0 if v < 0.0 else v


@njit(**_opts)
def _softmax(n, a, S, Q):
    """Column-wise softmax of a layer ``(S, Q)`` (flat views), max-shifted."""
    for q in range(Q):
        mx = n[q]
        for i in range(1, S):
            v = n[i * Q + q]
            if v > mx or v != v:
                mx = v
        tot = 0.0
        for i in range(S):
            e = math.exp(n[i * Q + q] - mx)
            a[i * Q + q] = e
            tot += e
        for i in range(S):
            a[i * Q + q] /= tot


@njit(**_opts)
def _backward_row(t, n, a, g):
    """``g *= f'(n)`` for an element-wise transfer (not softmax), views of equal length."""
    if t == LOGSIG:
        for k in range(g.shape[0]):
            g[k] = g[k] * (a[k] * (1.0 - a[k]))
    elif t == TANSIG:
        for k in range(g.shape[0]):
            g[k] = g[k] * (1.0 - a[k] * a[k])
    elif t == POSLIN:
        for k in range(g.shape[0]):
            g[k] = g[k] * (1.0 if n[k] > 0.0 else 0.0)


@njit(**_opts)
def _softmax_backward(a, g, S, Q):
    """``g <- a * (g - sum_i a g)`` column by column."""
    for q in range(Q):
        d = 0.0
        for i in range(S):
            d += a[i * Q + q] * g[i * Q + q]
        for i in range(S):
            g[i * Q + q] = a[i * Q + q] * (g[i * Q + q] - d)


# ---- sums in eight interleaved partial sums (SIMD lanes; BLAS sums in its own order too) ----
@njit(**_opts)
def _dot(x, y):
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    n = x.shape[0]
    m = n - n % 8
    for k in range(0, m, 8):
        a0 += x[k] * y[k]
        a1 += x[k + 1] * y[k + 1]
        a2 += x[k + 2] * y[k + 2]
        a3 += x[k + 3] * y[k + 3]
        a4 += x[k + 4] * y[k + 4]
        a5 += x[k + 5] * y[k + 5]
        a6 += x[k + 6] * y[k + 6]
        a7 += x[k + 7] * y[k + 7]
    acc = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    for k in range(m, n):
        acc += x[k] * y[k]
    return acc


@njit(**_opts)
def _sum(x):
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    n = x.shape[0]
    m = n - n % 8
    for k in range(0, m, 8):
        a0 += x[k]
        a1 += x[k + 1]
        a2 += x[k + 2]
        a3 += x[k + 3]
        a4 += x[k + 4]
        a5 += x[k + 5]
        a6 += x[k + 6]
        a7 += x[k + 7]
    acc = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    for k in range(m, n):
        acc += x[k]
    return acc


@njit(**_opts)
def _sqdiff(t, a):
    """``sum_k (t[k] - a[k])^2``."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    n = t.shape[0]
    m = n - n % 8
    for k in range(0, m, 8):
        e0 = t[k] - a[k]
        e1 = t[k + 1] - a[k + 1]
        e2 = t[k + 2] - a[k + 2]
        e3 = t[k + 3] - a[k + 3]
        e4 = t[k + 4] - a[k + 4]
        e5 = t[k + 5] - a[k + 5]
        e6 = t[k + 6] - a[k + 6]
        e7 = t[k + 7] - a[k + 7]
        a0 += e0 * e0
        a1 += e1 * e1
        a2 += e2 * e2
        a3 += e3 * e3
        a4 += e4 * e4
        a5 += e5 * e5
        a6 += e6 * e6
        a7 += e7 * e7
    acc = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    for k in range(m, n):
        e = t[k] - a[k]
        acc += e * e
    return acc


# ---- forward pass, performance, backprop ---------------------------------------------------
@njit(**_opts)
def offsets(lay, Q):
    L = lay.shape[0] - 1
    off = np.empty(L + 2, dtype=np.int64)
    off[0] = 0
    for m in range(L + 1):
        off[m + 1] = off[m] + lay[m, 0] * Q
    return off


@njit(**_opts)
def forward(lay, theta, Ab, Nb, Ib, off, Q, start, skip):
    """``n^m = W^m a^{m-1} + b^m``, ``a^m = f^m(n^m)`` for layers ``start..L``: per neuron
    ``((w_1 a_1 + w_2 a_2) + ...) + b``."""
    L = lay.shape[0] - 1
    for m in range(start, L + 1):
        r, s, t, wo, bo = lay[m - 1, 0], lay[m, 0], lay[m, 1], lay[m, 2], lay[m, 3]
        ap, o = off[m - 1], off[m]
        for i in range(s):
            if m == start and skip[i]:
                continue
            nrow = Nb[o + i * Q : o + (i + 1) * Q]
            a0 = Ab[ap : ap + Q]
            w = theta[wo + i * r]
            b = theta[bo + i]
            if r == 1:
                for q in range(Q):
                    nrow[q] = w * a0[q] + b
            else:
                for q in range(Q):
                    nrow[q] = w * a0[q]
                for j in range(1, r - 1):
                    w = theta[wo + i * r + j]
                    aj = Ab[ap + j * Q : ap + (j + 1) * Q]
                    for q in range(Q):
                        nrow[q] += w * aj[q]
                w = theta[wo + i * r + r - 1]
                aj = Ab[ap + (r - 1) * Q : ap + r * Q]
                for q in range(Q):
                    nrow[q] = (nrow[q] + w * aj[q]) + b
            if t != SOFTMAX:
                _activate_row(t, nrow, Ab[o + i * Q : o + (i + 1) * Q], Ib)
        if t == SOFTMAX:
            _softmax(Nb[o : o + s * Q], Ab[o : o + s * Q], s, Q)


@njit(**_opts)
def _logaddexp0(v):
    """``np.logaddexp(0, v)`` (numpy's npy_logaddexp)."""
    if v == 0.0:
        return math.log(2.0)
    tmp = -v
    if tmp > 0.0:
        return math.log1p(math.exp(v))
    if tmp <= 0.0:
        return v + math.log1p(math.exp(-v))
    return tmp


@njit(**_opts)
def loss(lay, perf, Ab, Nb, Tb, off, Q):
    """``(F, SSE)`` from the output layer (engine/model/performance.py)."""
    L = lay.shape[0] - 1
    S, t, o = lay[L, 0], lay[L, 1], off[L]
    a = Ab[o : o + S * Q]
    n = Nb[o : o + S * Q]
    sse = _sqdiff(Tb, a)
    if perf == SSE:
        return sse, sse
    if perf == MSE:
        return sse / (S * Q), sse
    if t == SOFTMAX:  # -log a = (max - n) + log1p(r), non-negative terms (performance.py)
        acc = 0.0
        for q in range(Q):
            mx, top = n[q], 0
            for i in range(1, S):
                v = n[i * Q + q]
                if v > mx or v != v:
                    mx, top = v, i
            rest = 0.0  # sum exp(n - max) less the maximal entry's 1
            tsum = 0.0
            for i in range(S):
                if i != top:
                    rest += math.exp(n[i * Q + q] - mx)
                tsum += Tb[i * Q + q]
                acc += Tb[i * Q + q] * (mx - n[i * Q + q])
            acc += tsum * math.log1p(rest)
        return acc / Q, sse
    acc1 = 0.0  # logsig: log a = -log(1+e^-n), log(1-a) = -log(1+e^n)
    acc2 = 0.0
    for k in range(S * Q):
        acc1 += Tb[k] * -_logaddexp0(-n[k])
        acc2 += (1.0 - Tb[k]) * -_logaddexp0(n[k])
    return (-acc1 - acc2) / Q, sse


@njit(**_opts)
def evaluate(lay, free, perf, theta, Ab, Nb, Ib, Sa, Sb, Tb, off, Q, start, skip, m0, const,
             want_grad, g):  # fmt: skip
    """Forward from ``start`` (skipping ``skip``), ``(F, SSE)``; with ``want_grad`` also
    ``g = dF/dx`` over the free parameters (book eq. 11.44-11.47), back-propagating only down
    to ``m0``, the lowest layer holding a free parameter, and there only through the neurons
    not flagged ``const``."""
    forward(lay, theta, Ab, Nb, Ib, off, Q, start, skip)
    F, sse = loss(lay, perf, Ab, Nb, Tb, off, Q)
    if not want_grad:
        return F, sse
    L = lay.shape[0] - 1
    S, t, o = lay[L, 0], lay[L, 1], off[L]
    a = Ab[o : o + S * Q]
    n = Nb[o : o + S * Q]
    sl = Sa[: S * Q]
    # output sensitivity s^M = dF/dn^M
    if perf == CE:
        if t == SOFTMAX:
            for q in range(Q):
                st = 0.0
                for i in range(S):
                    st += Tb[i * Q + q]
                for i in range(S):
                    sl[i * Q + q] = (a[i * Q + q] * st - Tb[i * Q + q]) / Q
        else:
            for k in range(S * Q):
                sl[k] = (a[k] - Tb[k]) / Q
    else:
        scale = -2.0 if perf == SSE else -2.0 / (S * Q)
        for k in range(S * Q):
            sl[k] = (Tb[k] - a[k]) * scale
        if t == SOFTMAX:
            _softmax_backward(a, sl, S, Q)
        else:
            _backward_row(t, n, a, sl)
    cur, nxt = Sa, Sb
    nf = free.shape[0]
    for m in range(L, m0 - 1, -1):
        ap = off[m - 1]
        for k in range(nf):
            if free[k, 1] != m:
                continue
            i = free[k, 3]
            srow = cur[i * Q : (i + 1) * Q]
            if free[k, 2]:
                g[k] = _sum(srow)
            else:
                j = free[k, 4]
                g[k] = _dot(srow, Ab[ap + j * Q : ap + (j + 1) * Q])
        if m == m0:
            break
        # s^{m-1} = F'^{m-1}(n^{m-1}) (W^m)^T s^m  (book eq. 11.45)
        r, s, wo = lay[m - 1, 0], lay[m, 0], lay[m, 2]
        tp = lay[m - 1, 1]
        for j in range(r):
            if m - 1 == m0 and const[j]:
                continue
            nrow = nxt[j * Q : (j + 1) * Q]
            c0 = cur[0:Q]
            w = theta[wo + j]
            for q in range(Q):
                nrow[q] = w * c0[q]
            for i in range(1, s):
                w = theta[wo + i * r + j]
                ci = cur[i * Q : (i + 1) * Q]
                for q in range(Q):
                    nrow[q] += w * ci[q]
            lo = ap + j * Q
            _backward_row(tp, Nb[lo : lo + Q], Ab[lo : lo + Q], nrow)
        cur, nxt = nxt, cur
    return F, sse


# ---- the run loop (engine/train/trainer.py) with the optimizers' updates (engine/optim/) --------
@njit(**_opts)
def _grad_norm(g, fast):
    """``sqrt(g.g)``; the trainer's general path reports ``inf`` for a non-finite ``g``."""
    acc = 0.0
    finite = True
    for k in range(g.shape[0]):
        acc += g[k] * g[k]
        if not math.isfinite(g[k]):
            finite = False
    if not fast and not finite:
        return math.inf
    return math.sqrt(acc)


@njit(**_opts)
def _stop(f, gn, accepted, moved, epoch, crit):
    if not (math.isfinite(f) and math.isfinite(gn)):
        return DIVERGED
    if f <= crit[C_GOAL]:
        return GOAL
    if gn <= crit[C_MIN_GRAD]:
        return MIN_GRAD
    if accepted and not moved:
        return NO_CHANGE
    if epoch >= crit[C_EPOCHS]:
        return EPOCHS
    return NONE


@njit(**_opts)
def _workspace(lay, Q):
    off = offsets(lay, Q)
    L = lay.shape[0] - 1
    smax = 1
    for m in range(1, L + 1):
        smax = max(smax, lay[m, 0])
    buf = np.empty(off[L + 1])
    return (
        off,
        buf,
        np.empty(off[L + 1]),
        np.empty(Q, np.int64),
        np.empty(smax * Q),
        np.empty(smax * Q),
    )


@njit(**_opts)
def _record(mode, cols, xs, path, path_f, row, k, epoch, stride, x, f, sse_col, gn, lr, vf):
    if mode == 0:
        cols[k, 0] = f
        cols[k, 1] = sse_col
        cols[k, 2] = gn
        cols[k, 3] = lr
        cols[k, 4] = math.nan
        cols[k, 5] = vf
        xs[k, :] = x
    elif epoch % stride == 0:
        slot = epoch // stride
        path[slot, row, :] = x
        path_f[slot, row] = f


@njit(**_opts)
def run_row(
    lay,
    free,
    perf,
    m0,
    const,
    P,
    T,
    Q,
    Pv,
    Tv,
    Qv,
    theta,
    opt,
    hyp,
    crit,
    st,
    x,
    dx,
    perms,
    K,
    emit_start,
    cols,
    xs,
    stride,
    path,
    path_f,
    row,
):
    """Run at most ``K`` epochs from ``x`` (updated in place, with ``dx`` and the state ``st``).

    ``stride == 0``: every epoch (and the start if ``emit_start``) goes to ``cols``/``xs``;
    otherwise ``x`` and ``F`` go to ``path[epoch // stride, row]`` every ``stride`` epochs.
    Returns ``(records written, stop code, F)``.
    """
    L = lay.shape[0] - 1
    nf = x.shape[0]
    R = lay[0, 0]
    SM = lay[L, 0]
    mode = 0 if stride == 0 else 1
    off, Ab, Nb, Ib, Sa, Sb = _workspace(lay, Q)
    Ab[: R * Q] = P
    noskip = np.zeros(Ab.shape[0], dtype=np.int64)
    has_val = Qv > 0
    offv, Av, Nv, Ivb, Sva, Svb = _workspace(lay, max(Qv, 1))
    if has_val:
        Av[: R * Qv] = Pv
    g = np.empty(nf)
    gt = np.empty(nf)
    xn = np.empty(nf)
    dxn = np.empty(nf)
    for k in range(nf):
        theta[free[k, 0]] = x[k]
    f, sse = evaluate(
        lay, free, perf, theta, Ab, Nb, Ib, Sa, Sb, T, off, Q, 1, noskip, m0, const, True, g
    )
    fast = crit[C_FAST] != 0.0
    lr_h, lr_scale = hyp[H_LR], hyp[H_LR_SCALE]
    gamma = hyp[H_GAMMA]
    epoch = np.int64(st[S_EPOCH])
    nrec = 0
    sgd_b = min(np.int64(hyp[H_BATCH]), Q) if opt == SGD else 1
    offb, Abs, Nbs, Ibs, Sas, Sbs = _workspace(lay, sgd_b)
    Tbs = np.empty(SM * sgd_b)
    if emit_start:
        gn = _grad_norm(g, False)
        stop = _stop(f, gn, True, True, epoch, crit)
        vf = math.nan
        if has_val:
            vf, _ = evaluate(
                lay,
                free,
                perf,
                theta,
                Av,
                Nv,
                Ivb,
                Sva,
                Svb,
                Tv,
                offv,
                Qv,
                1,
                noskip,
                m0,
                const,
                False,
                gt,
            )
            if vf < st[S_VAL_BEST]:
                st[S_VAL_BEST] = vf
                st[S_VAL_FAILS] = 0.0
            elif epoch > 0:
                st[S_VAL_FAILS] += 1.0
                if st[S_VAL_FAILS] >= crit[C_MAX_FAIL] and stop == NONE:
                    stop = VALIDATION
        if not math.isfinite(f):
            stop = DIVERGED
        sse_col = f if perf == SSE else (f * (SM * Q) if perf == MSE else sse)
        lr = _shown_lr(opt, st, lr_h, dx, nf)
        _record(mode, cols, xs, path, path_f, row, nrec, epoch, stride, x, f, sse_col, gn, lr, vf)
        nrec += 1
        if stop != NONE:
            return nrec, stop, f
    stop = NONE
    for kk in range(K):
        accepted = True
        if opt == SD:
            c = lr_h * lr_scale
            for k in range(nf):
                xn[k] = x[k] - c * g[k]
        elif opt == MOMENTUM:  # dx = gamma dx_prev - (1 - gamma) lr grad (NND eq. 12.36)
            c = -(1.0 - gamma) * lr_h * lr_scale
            for k in range(nf):
                dxn[k] = c * g[k]
                if st[S_HAS_DX] != 0.0:
                    dxn[k] += gamma * dx[k]
                dx[k] = dxn[k]
                xn[k] = x[k] + dxn[k]
            st[S_HAS_DX] = 1.0
        elif opt == VLBP:
            gm = gamma if st[S_MOM_ON] != 0.0 else 0.0
            c = -(1.0 - gm) * st[S_LR] * lr_scale
            for k in range(nf):
                dxn[k] = c * g[k]
                if st[S_HAS_DX] != 0.0 and gm != 0.0:
                    dxn[k] += gm * dx[k]
                xn[k] = x[k] + dxn[k]
                theta[free[k, 0]] = xn[k]
            ft, sset = evaluate(
                lay,
                free,
                perf,
                theta,
                Ab,
                Nb,
                Ib,
                Sa,
                Sb,
                T,
                off,
                Q,
                m0,
                const,
                m0,
                const,
                True,
                gt,
            )
            if not math.isfinite(ft) or ft > f * (1.0 + hyp[H_ZETA]):
                st[S_LR] *= hyp[H_RHO]
                st[S_MOM_ON] = 0.0
                st[S_HAS_DX] = 0.0
                accepted = False
                for k in range(nf):
                    theta[free[k, 0]] = x[k]
            else:
                if ft < f:
                    st[S_LR] *= hyp[H_ETA]
                st[S_MOM_ON] = 1.0
                st[S_HAS_DX] = 1.0
                dx[:] = dxn
                f, sse = ft, sset
                g, gt = gt, g
        elif opt == NESTEROV:  # b = mu b + g; x -= lr (g + mu b)   (gamma: mu)
            for k in range(nf):
                gk = lr_scale * g[k]
                if st[S_HAS_DX] != 0.0:
                    dx[k] = gamma * dx[k] + gk
                else:
                    dx[k] = gk
                xn[k] = x[k] - lr_h * (gk + gamma * dx[k])
            st[S_HAS_DX] = 1.0
        elif opt == RMSPROP:  # v = a v + (1 - a) g^2; x -= lr g / (sqrt v + eps)
            for k in range(nf):
                gk = lr_scale * g[k]
                dx[k] = gamma * dx[k] + (1.0 - gamma) * gk * gk
                xn[k] = x[k] - lr_h * gk / (math.sqrt(dx[k]) + hyp[H_ZETA])
            st[S_HAS_DX] = 1.0
        elif opt == ADAGRAD:  # G += g^2; x -= lr g / (sqrt G + eps)
            for k in range(nf):
                gk = lr_scale * g[k]
                dx[k] = dx[k] + gk * gk
                xn[k] = x[k] - lr_h * gk / (math.sqrt(dx[k]) + hyp[H_ZETA])
            st[S_HAS_DX] = 1.0
        elif opt == RPROP:
            # an iRprop+ epoch where every moving parameter's sign flipped only adapts Δ:
            # not a converged run (the trainer's "accepted but unmoved")
            accepted = _rprop_step(hyp, st, x, f, g, dx, xn, nf)
        elif opt == ADAM or opt == ADAMW:  # noqa: SIM109  (numba: plain comparisons)
            _adam_step(opt, hyp, st, x, g, dx, xn, nf, free)
        else:  # SGD: mini-batches in the order perms[kk]
            xn[:] = x
            for s0 in range(0, Q, sgd_b):
                nb = min(sgd_b, Q - s0)
                for j in range(R):
                    for t in range(nb):
                        Abs[j * nb + t] = P[j * Q + perms[kk, s0 + t]]
                for i in range(SM):
                    for t in range(nb):
                        Tbs[i * nb + t] = T[i * Q + perms[kk, s0 + t]]
                offb = offsets(lay, nb)
                for k in range(nf):
                    theta[free[k, 0]] = xn[k]
                evaluate(
                    lay,
                    free,
                    perf,
                    theta,
                    Abs,
                    Nbs,
                    Ibs,
                    Sas,
                    Sbs,
                    Tbs,
                    offb,
                    nb,
                    1,
                    noskip,
                    m0,
                    const,
                    True,
                    gt,
                )
                c = lr_h * (1.0 / nb) if perf == SSE else lr_h * 1.0
                for k in range(nf):
                    xn[k] = xn[k] - c * gt[k]
        if opt != VLBP:
            for k in range(nf):
                theta[free[k, 0]] = xn[k]
            f, sse = evaluate(
                lay, free, perf, theta, Ab, Nb, Ib, Sa, Sb, T, off, Q, m0, const, m0, const, True, g
            )
        epoch += 1
        moved = not accepted
        if accepted:
            for k in range(nf):
                if xn[k] != x[k]:
                    moved = True
                x[k] = xn[k]
        gn = _grad_norm(g, fast)
        stop = _stop(f, gn, accepted, moved, epoch, crit)
        vf = math.nan
        if has_val:
            vf, _ = evaluate(
                lay,
                free,
                perf,
                theta,
                Av,
                Nv,
                Ivb,
                Sva,
                Svb,
                Tv,
                offv,
                Qv,
                1,
                noskip,
                m0,
                const,
                False,
                gt,
            )
            if vf < st[S_VAL_BEST]:
                st[S_VAL_BEST] = vf
                st[S_VAL_FAILS] = 0.0
            else:
                st[S_VAL_FAILS] += 1.0
                if st[S_VAL_FAILS] >= crit[C_MAX_FAIL] and stop == NONE:
                    stop = VALIDATION
        sse_col = f if perf == SSE else (f * (SM * Q) if perf == MSE else sse)
        lr = _shown_lr(opt, st, lr_h, dx, nf)
        _record(mode, cols, xs, path, path_f, row, nrec, epoch, stride, x, f, sse_col, gn, lr, vf)
        nrec += 1
        if stop != NONE:
            break
    st[S_EPOCH] = epoch
    return nrec, stop, f


@njit(**_opts)
def _shown_lr(opt, st, lr_h, dx, nf):
    """The ``lr`` column: VLBP's current rate, Rprop's mean step Δ, else the rate."""
    if opt == VLBP:
        return st[S_LR]
    if opt == RPROP:
        if st[S_HAS_DX] == 0.0:
            return math.nan
        t = 0.0
        for k in range(nf):
            t += dx[k]
        return t / nf
    return lr_h


@njit(**_opts)
def _rprop_step(hyp, st, x, f, g, dx, xn, nf):
    """Rprop (:mod:`bpgui_engine.optim.rprop`): ``dx`` holds ``[Δ | g_prev | dx_prev]``,
    ``st[S_LR]`` the previous error (NaN: none); hyperparameters: ``H_LR`` Δ0, ``H_ETA``
    η⁺, ``H_RHO`` η⁻, ``H_ZETA`` Δmax, ``H_GAMMA`` Δmin, ``H_BATCH`` 0 rprop- / 1 irprop+.
    Returns False for an iRprop+ epoch that only adapted Δ (every step 0, a sign flipped)."""
    if st[S_HAS_DX] == 0.0:
        for k in range(nf):
            dx[k] = hyp[H_LR]
            dx[nf + k] = 0.0
            dx[2 * nf + k] = 0.0
        st[S_LR] = math.nan
    plus = hyp[H_BATCH] != 0.0
    rose = st[S_LR] == st[S_LR] and f > st[S_LR]  # not NaN, and higher
    flipped, stepped = False, False
    for k in range(nf):
        prod = dx[nf + k] * g[k]
        d = dx[k]
        if prod > 0.0:
            d = min(d * hyp[H_ETA], hyp[H_ZETA])
        elif prod < 0.0:
            d = max(d * hyp[H_RHO], hyp[H_GAMMA])
        dx[k] = d
        gk = g[k]
        sg = 1.0 if gk > 0.0 else (-1.0 if gk < 0.0 else (0.0 if gk == 0.0 else gk))
        if plus and prod < 0.0:
            step = -dx[2 * nf + k] if rose else 0.0
            dx[nf + k] = 0.0
            flipped = True
        else:
            step = -sg * d
            dx[nf + k] = gk
        if step != 0.0:
            stepped = True
        dx[2 * nf + k] = step
        xn[k] = x[k] + step
    st[S_LR] = f
    st[S_HAS_DX] = 1.0
    return not (plus and flipped and not stepped)


@njit(**_opts)
def _adam_step(opt, hyp, st, x, g, dx, xn, nf, free):
    """Adam (:mod:`bpgui_engine.optim.adam`) and AdamW (:mod:`bpgui_engine.optim.modern`):
    ``dx`` holds ``[m | v]``, ``st[S_LR]`` the step count ``t``; hyperparameters: ``H_LR``
    lr, ``H_GAMMA`` β1, ``H_RHO`` β2, ``H_ZETA`` ε, ``H_ETA`` AdamW's decay λ (weights
    only: ``free[k, 2] == 0``)."""
    lr, b1, b2, eps = hyp[H_LR], hyp[H_GAMMA], hyp[H_RHO], hyp[H_ZETA]
    if st[S_HAS_DX] == 0.0:
        for k in range(2 * nf):
            dx[k] = 0.0
        st[S_LR] = 0.0
    t = st[S_LR] + 1.0
    st[S_LR] = t
    c1 = 1.0 - b1**t
    c2 = 1.0 - b2**t
    for k in range(nf):
        gk = g[k] * hyp[H_LR_SCALE]
        dx[k] = b1 * dx[k] + (1.0 - b1) * gk
        dx[nf + k] = b2 * dx[nf + k] + (1.0 - b2) * gk * gk
        step = lr * (dx[k] / c1) / (math.sqrt(dx[nf + k] / c2) + eps)
        xk = x[k]
        if opt == ADAMW and free[k, 2] == 0:
            xk = x[k] * (1.0 - lr * hyp[H_ETA])
        xn[k] = xk - step
    st[S_HAS_DX] = 1.0


@njit(parallel=True, **_opts)
def run_batch(
    lay,
    free,
    perf,
    m0,
    const,
    P,
    T,
    Q,
    theta,
    opt,
    hyp,
    crit,
    ST,
    X,
    DX,
    F,
    STOP,
    K,
    stride,
    path,
    path_f,
):
    """``run_row`` over the rows of ``X`` in parallel (rows with a stop code are skipped)."""
    B = X.shape[0]
    nf = X.shape[1]
    empty_v = np.empty(0)
    perms = np.empty((0, Q), dtype=np.int64)
    cols = np.empty((0, N_COLS))
    xs = np.empty((0, nf))
    for r in prange(B):
        if STOP[r] != NONE:
            continue
        th = theta.copy()
        start = ST[r, S_STARTED] == 0.0
        ST[r, S_STARTED] = 1.0
        _, stop, f = run_row(
            lay,
            free,
            perf,
            m0,
            const,
            P,
            T,
            Q,
            empty_v,
            empty_v,
            0,
            th,
            opt,
            hyp,
            crit,
            ST[r],
            X[r],
            DX[r],
            perms,
            K,
            start,
            cols,
            xs,
            stride,
            path,
            path_f,
            r,
        )
        F[r] = f
        STOP[r] = stop


# ---- surfaces (engine/analysis/surface.py)
# ---------------------------------------------------------
@njit(parallel=True, **_opts)
def surface(lay, perf, P, T, Q, theta, ip, iq, mq, skip_q, ps, qs, out):
    """``out[a, b] = F`` with ``theta[ip] = ps[a]``, ``theta[iq] = qs[b]``, the layer of ``iq``
    not below that of ``ip``: per ``a`` one full pass, then per ``b`` only layers ``mq..L``
    (skipping the neurons of layer ``mq`` flagged in ``skip_q``, constant along the row)."""
    L = lay.shape[0] - 1
    R = lay[0, 0]
    free = np.zeros((0, 5), dtype=np.int64)
    g = np.empty(0)
    for a in prange(ps.shape[0]):
        off, Ab, Nb, Ib, Sa, Sb = _workspace(lay, Q)
        Ab[: R * Q] = P
        noskip = np.zeros(Ab.shape[0], dtype=np.int64)
        th = theta.copy()
        th[ip] = ps[a]
        th[iq] = qs[0]
        forward(lay, th, Ab, Nb, Ib, off, Q, 1, noskip)
        for b in range(qs.shape[0]):
            th[iq] = qs[b]
            out[a, b], _ = evaluate(
                lay, free, perf, th, Ab, Nb, Ib, Sa, Sb, T, off, Q, mq, skip_q, L, noskip, False, g
            )
