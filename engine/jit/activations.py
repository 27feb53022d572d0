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

__all__ = ["logsig_back", "logsig_into", "tansig_back", "tansig_into", "warm"]


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
