"""Isolines of a gridded surface by vectorized marching squares, and level choice.

The result is a list of line segments (pairs of points) in the grid's own coordinates,
ready to draw in one call (pyqtgraph's ``connect="pairs"``).  Pure NumPy, so it runs on
the surface worker thread beside the surface itself.
"""

from __future__ import annotations

import numpy as np

__all__ = ["contour_levels", "isolines"]


def contour_levels(values: np.ndarray, n: int = 12, log: bool = True) -> np.ndarray:
    """``n`` levels spread over the finite values: geometric when ``log`` (positive part)."""
    v = values[np.isfinite(values)]
    if log:
        v = v[v > 0]
    if v.size == 0:
        return np.empty(0)
    lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        return np.empty(0)
    if log:
        lo = max(lo, hi * 1e-12)
        return np.geomspace(lo, hi, n + 2)[1:-1]
    return np.linspace(lo, hi, n + 2)[1:-1]


def isolines(
    xs: np.ndarray, ys: np.ndarray, values: np.ndarray, levels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Segment endpoints ``(X, Y)`` (even length: points 2k and 2k+1 form one segment)
    of the curves ``values == level`` for every level; ``values[i, j]`` sits at
    ``(xs[i], ys[j])``.  Non-finite values produce no segments."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    v = np.asarray(values, float)
    if v.shape != (xs.size, ys.size):
        raise ValueError(f"isolines: values must have shape {(xs.size, ys.size)}, got {v.shape}")
    outx, outy = [], []
    for level in np.atleast_1d(levels):
        px, py = _segments(xs, ys, v, float(level))
        outx.append(px)
        outy.append(py)
    if not outx:
        return np.empty(0), np.empty(0)
    return np.concatenate(outx), np.concatenate(outy)


def _segments(xs, ys, v, level):
    # corners of cell (i, j): c00 = v[i, j], c10 = v[i+1, j], c01 = v[i, j+1], c11 = v[i+1, j+1];
    # edges in order bottom (c00-c10), right (c10-c11), top (c01-c11), left (c00-c01)
    with np.errstate(invalid="ignore"):
        below = v < level
    ok = np.isfinite(v)
    hh = (below[:-1, :] != below[1:, :]) & ok[:-1, :] & ok[1:, :]  # horizontal edges
    vv = (below[:, :-1] != below[:, 1:]) & ok[:, :-1] & ok[:, 1:]  # vertical edges
    hit = np.stack([hh[:, :-1], vv[1:, :], hh[:, 1:], vv[:-1, :]], axis=-1)
    count = hit.sum(axis=-1, dtype=np.int8)
    ci, cj = np.nonzero(count)
    if ci.size == 0:
        return np.empty(0), np.empty(0)
    h = hit[ci, cj]  # (k, 4)
    # the four edges' end points (a -> b) for the cells with crossings
    ai = np.stack([ci, ci + 1, ci, ci], axis=-1)
    aj = np.stack([cj, cj, cj + 1, cj], axis=-1)
    bi = np.stack([ci + 1, ci + 1, ci + 1, ci], axis=-1)
    bj = np.stack([cj, cj + 1, cj + 1, cj + 1], axis=-1)
    va, vb = v[ai, aj], v[bi, bj]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(h, (level - va) / np.where(h, vb - va, 1.0), 0.0)
    px = xs[ai] + t * (xs[bi] - xs[ai])
    py = ys[aj] + t * (ys[bj] - ys[aj])
    c = count[ci, cj]
    two = c == 2
    order = np.argsort(~h[two], axis=-1, kind="stable")[:, :2]
    sx = np.take_along_axis(px[two], order, axis=-1)
    sy = np.take_along_axis(py[two], order, axis=-1)
    four = c == 4
    if np.any(four):  # a saddle cell: pair the crossings by the value at the centre
        i, j = ci[four], cj[four]
        centre = (v[i, j] + v[i + 1, j] + v[i, j + 1] + v[i + 1, j + 1]) / 4
        joined = (v[i, j] >= level) == (centre >= level)
        # c00 joined to c11 through the centre: cut off c10 (bottom, right) and c01 (top,
        # left); otherwise cut off c00 (bottom, left) and c11 (right, top)
        a = np.where(joined[:, None], [[0, 1, 2, 3]], [[0, 3, 1, 2]])
        fx = np.take_along_axis(px[four], a, axis=-1).reshape(-1, 2)
        fy = np.take_along_axis(py[four], a, axis=-1).reshape(-1, 2)
        sx, sy = np.concatenate([sx, fx]), np.concatenate([sy, fy])
    return sx.ravel(), sy.ravel()
