"""Element-wise transfer functions in compiled loops for the BLAS path
(:mod:`bpgui_engine.model.fused` with ``fast=True``): the layer products stay NumPy/BLAS
GEMMs, the transfer functions and their derivatives run here.

``np.tanh`` costs ~13 ns an element on this class of machine, more than a 50x50 layer's
GEMM per sample; :func:`bpgui_engine.jit.compiled._tanh_row` vectorizes (~1-2 ns).  The
forward functions agree with NumPy's within 2 ulp; the derivatives compute
``g * (1 - a*a)`` and ``g * (a * (1 - a))`` in NumPy's order, so bit for bit.  Arrays are
1-D contiguous views (``x.reshape(-1)`` of a C-contiguous block), float64 or float32.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bpgui_engine.jit.compiled import _logsig_row, _opts, _tanh_row

__all__ = [
    "logsig32_into", "logsig_back", "logsig_into", "tansig32_into", "tansig_back",
    "tansig_into", "warm",
]  # fmt: skip

# float32 tanh as Eigen computes it (``generic_fast_tanh_float``): a 13/6 rational
# approximation on [-7.9053, 7.9053] (beyond, tanh is 1 in float32), within a few ulp
_A = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
      -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)  # fmt: skip
_B = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
_CLAMP = 7.90531110763549805


@njit(**_opts)
def tansig_into(n, a, Ib):
    _tanh_row(n, a, Ib)


@njit(**_opts)
def logsig_into(n, a, Ib):
    _logsig_row(n, a, Ib)


@njit(**_opts)
def tansig_back(a, g):
    for k in range(g.shape[0]):
        g[k] = g[k] * (1.0 - a[k] * a[k])


@njit(**_opts)
def logsig_back(a, g):
    for k in range(g.shape[0]):
        g[k] = g[k] * (a[k] * (1.0 - a[k]))


@njit(fastmath={"contract"}, **_opts)
def _tanh32(x):
    x = min(max(x, np.float32(-_CLAMP)), np.float32(_CLAMP))
    x2 = x * x
    p = np.float32(_A[6])
    for c in (_A[5], _A[4], _A[3], _A[2], _A[1], _A[0]):
        p = p * x2 + np.float32(c)
    q = np.float32(_B[3])
    for c in (_B[2], _B[1], _B[0]):
        q = q * x2 + np.float32(c)
    return x * p / q


@njit(fastmath={"contract"}, **_opts)
def tansig32_into(n, a):
    """``a = tanh(n)`` for float32 arrays (landscapes: a picture's precision)."""
    for k in range(n.shape[0]):
        a[k] = _tanh32(n[k])


@njit(fastmath={"contract"}, **_opts)
def logsig32_into(n, a):
    """``a = 1 / (1 + e^-n) = (1 + tanh(n / 2)) / 2`` for float32 arrays."""
    for k in range(n.shape[0]):
        a[k] = np.float32(0.5) + np.float32(0.5) * _tanh32(np.float32(0.5) * n[k])


def warm() -> None:
    """Compile (or load) every function for float64 and check it on a few values."""
    n = np.array([-30.0, -1.0, -0.3, -0.0, 0.2, 0.7, 3.0, 800.0])
    a, Ib = np.empty_like(n), np.empty(n.size, dtype=np.int64)
    for fwd, back, ref in ((tansig_into, tansig_back, np.tanh(n)),
                           (logsig_into, logsig_back, 1.0 / (1.0 + np.exp(-n)))):  # fmt: skip
        fwd(n, a, Ib)
        if not np.allclose(a, ref, rtol=1e-14, atol=0.0):
            raise RuntimeError(f"{fwd.__name__} gave a wrong result on the warm-up values")
        g = np.ones_like(n)
        back(a, g)
