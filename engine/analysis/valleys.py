"""Grouping the end points of many runs into minima, for maps and races.  Qt-free.

:func:`bpgui_engine.analysis.minima.find_minima` groups *converged* end points that lie within
``tol`` of
each other.  On the book's surface that splits one minimum into several when it is a flat
valley floor: with ``W2[1,1]`` near 0 the first weight hardly matters, and runs stop
(gradient below the minimum) at many different ``W1[1,1]`` on a floor of equal error.
:func:`group_minima` then merges two minima when their performances agree (``rtol``) and
the straight segment between them stays on that floor (no point of it higher than the two
ends by more than ``rtol``): one valley floor is one minimum.  Distinct minima of equal
error (the saddle slice's two) are kept apart by the ridge between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.analysis.minima import find_minima
from bpgui_engine.model.objective import Objective

__all__ = ["Grouped", "group_minima"]

SEGMENT_POINTS = 33  # samples of the segment between two candidate minima


@dataclass(frozen=True)
class Grouped:
    """``index[b]``: minimum of run ``b`` (0 = M1), -1 not converged, -2 diverged."""

    index: np.ndarray  # (B,) int64
    centres: np.ndarray  # (K, n) lowest end point of each minimum
    performance: np.ndarray  # (K,) ascending

    @property
    def names(self) -> list[str]:
        return [f"M{k + 1}" for k in range(len(self.performance))]

    def name(self, b: int) -> str:
        """``"M1"``, …, ``"not converged"`` or ``"diverged"`` for run ``b``."""
        k = int(self.index[b])
        return f"M{k + 1}" if k >= 0 else ("not converged" if k == -1 else "diverged")


def group_minima(
    objective: Objective,
    x: np.ndarray,
    performance: np.ndarray,
    stop: np.ndarray | list[str],
    grad_norm: np.ndarray | None = None,
    *,
    tol: float = 2e-2,
    rtol: float = 1e-4,
) -> Grouped:
    """Minima of the end points ``x (B, n_free)`` (see the module); M1 is the lowest."""
    m = find_minima(x, performance, stop, grad_norm, tol=tol)
    K = m.count
    parent = list(range(K))

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    F = m.performance
    for a in range(K):
        for b in range(a + 1, K):
            if root(a) == root(b):
                continue
            top = max(F[a], F[b])
            if abs(F[a] - F[b]) > rtol * max(abs(top), 1e-12):
                continue
            t = np.linspace(0.0, 1.0, SEGMENT_POINTS)[:, None]
            seg = (1 - t) * m.centres[a] + t * m.centres[b]
            with np.errstate(all="ignore"):
                v = np.asarray(objective.value(seg), dtype=float)
            if np.all(v <= top + rtol * max(abs(top), 1e-12)):
                ra, rb = root(a), root(b)
                parent[max(ra, rb)] = min(ra, rb)  # the lower minimum stays the root
    roots = sorted({root(k) for k in range(K)}, key=lambda r: F[r])  # F ascending
    new = {r: i for i, r in enumerate(roots)}
    remap = np.array([new[root(k)] for k in range(K)], dtype=np.int64)
    index = m.index.copy()
    index[index >= 0] = remap[index[index >= 0]]
    centres = m.centres[roots] if K else m.centres
    return Grouped(index.astype(np.int64), centres, F[roots] if K else F)
