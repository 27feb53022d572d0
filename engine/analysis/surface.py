"""The performance index over a grid of two parameters, the others held fixed.

The result is indexed ``[ix, iy]`` (x varies along axis 0), matching pyqtgraph's
column-major images.  Each layer's weights are built with broadcast shapes: a layer that
holds neither chosen parameter is evaluated once, a layer that depends on ``x`` only is
evaluated once per ``x`` value, and only from the first layer holding ``y`` on is the full
``nx * ny`` grid computed -- in chunks of ``x`` rows to bound memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.penalty import Penalty, grid_penalty
from bpgui_engine.model.performance import get_performance
from bpgui_engine.model.transfer import get_transfer

__all__ = ["Surface", "affordable_resolution", "evaluate_surface", "surface_grid"]

CHUNK_ELEMENTS = 100_000  # grid values per chunk (measured best: ~6 rows of a 200-point grid)
MAX_RESOLUTION = 4000


@dataclass(frozen=True)
class Surface:
    x_label: str
    y_label: str
    xs: np.ndarray  # (nx,)
    ys: np.ndarray  # (ny,)
    values: np.ndarray  # (nx, ny): F at (xs[i], ys[j])

    def argmin(self) -> tuple[float, float, float]:
        i, j = np.unravel_index(np.nanargmin(self.values), self.values.shape)
        return float(self.xs[i]), float(self.ys[j]), float(self.values[i, j])


#: multiply-adds one contour may cost (~0.5 s with BLAS): a grid point is a forward pass
SURFACE_WORK = 500_000_000
MIN_AFFORDABLE = 16


def affordable_resolution(spec, n_samples: int, resolution: int) -> int:
    """``resolution`` (points per axis), or fewer for a network so large that the grid
    would cost more than :data:`SURFACE_WORK` multiply-adds (a 200x200 contour of a
    2,700-parameter network on 1,000 samples is 110 billion: minutes), never below
    :data:`MIN_AFFORDABLE`.  The book's 1-2-1 is never coarsened."""
    per_point = max(1, int(n_samples) * int(spec.n_params))
    cap = int((SURFACE_WORK / per_point) ** 0.5)
    return int(min(resolution, max(MIN_AFFORDABLE, cap)))


def surface_grid(spec, x_label, x_range, y_label, y_range, resolution):
    """The checked grid of a surface: ``(nx, ny, ix, iy, xs, ys)``; ``ValueError`` with one
    line for a resolution outside [2, MAX_RESOLUTION], a range that is not finite
    ``MIN < MAX`` (or too wide for a finite grid), or the same parameter on both axes."""
    nx, ny = (resolution, resolution) if np.isscalar(resolution) else resolution
    for k, v in (("x", nx), ("y", ny)):
        if int(v) != v or not 2 <= v <= MAX_RESOLUTION:
            raise ValueError(f"resolution: {k} must be an integer in [2, {MAX_RESOLUTION}]")
    for lab, (lo, hi) in ((x_label, x_range), (y_label, y_range)):
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"range of {lab}: need finite MIN < MAX, got [{lo}, {hi}]")
        if not np.isfinite(float(hi) - float(lo)):  # linspace's step overflows: nan and inf
            raise ValueError(
                f"range of {lab}: [{lo:g}, {hi:g}] is too wide, its grid is not finite "
                "(MAX - MIN must be below 1.8e308)"
            )
    ix, iy = spec.index(x_label), spec.index(y_label)
    if ix == iy:
        raise ValueError("surface: the two axes must be different parameters")
    xs = np.linspace(x_range[0], x_range[1], int(nx))
    ys = np.linspace(y_range[0], y_range[1], int(ny))
    return int(nx), int(ny), ix, iy, xs, ys


def evaluate_surface(
    spec: NetworkSpec,
    data: Dataset,
    theta: np.ndarray,
    x_label: str,
    x_range: tuple[float, float],
    y_label: str,
    y_range: tuple[float, float],
    resolution: int | tuple[int, int] = 100,
    performance: str = "sse",
    penalty: Penalty | None = None,
) -> Surface:
    """``F`` on a ``resolution``-point grid including both ends of each range (plus the
    weight ``penalty``, :mod:`bpgui_engine.model.penalty`)."""
    nx, ny, ix, iy, xs, ys = surface_grid(spec, x_label, x_range, y_label, y_range, resolution)
    theta = np.asarray(theta, dtype=float)
    perf = get_performance(performance)
    layer = spec.layer_of
    per_row = max(1, int(ny) * data.n_samples * max(spec.sizes))
    chunk = max(1, CHUNK_ELEMENTS // per_row)
    out = np.empty((int(nx), int(ny)))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # layers before the first chosen one: once for the whole grid
        first = min(layer[ix], layer[iy])
        a = data.P
        for m, (W, b) in enumerate(spec.unpack(theta)[:first]):
            a = spec._t[m].forward(W @ a + b[:, None])
        for c0 in range(0, int(nx), chunk):
            out[c0 : c0 + chunk] = _grid(
                spec, data, theta, a, first, ix, xs[c0 : c0 + chunk], iy, ys, perf
            )
    if penalty:
        out += grid_penalty(penalty, spec, theta, ix, iy, xs, ys)
    return Surface(spec.labels[ix], spec.labels[iy], xs, ys, out)


def _grid(spec, data, theta, a, first, ix, xs, iy, ys, perf) -> np.ndarray:
    """Forward from layer ``first`` with ``x`` along axis 0 and ``y`` along axis 1."""
    layer = spec.layer_of
    n = None
    Q = data.n_samples
    for m in range(first, spec.n_layers):
        (w, b), r, s = spec.slices[m], spec.fan_ins[m], spec.sizes[m]
        has_x, has_y = layer[ix] == m, layer[iy] == m
        if has_y and not has_x:
            # Only one row of n^m depends on y, and linearly: evaluate the layer at y's
            # value in theta, then add (y - y0) a_j (for a weight W[i,j]) or (y - y0) (for
            # a bias b[i]) to row i -- a broadcast add instead of a product per grid point.
            n0 = theta[w].reshape(s, r) @ a
            n0 += theta[b][:, None]
            n0 = n0.reshape(-1, 1, s, Q)
            k = iy - w.start
            dy = (ys - theta[iy])[None, :, None]
            i, j = divmod(k, r) if k < s * r else (k - s * r, None)  # W[i, j] or b[i]
            d = dy * a[..., j, :].reshape(-1, 1, Q) if j is not None else dy
            if s == 1:  # the whole layer is that row: n = n0 + d, one pass
                n = np.add(n0[:, :, 0], d, out=d if j is not None else None)
                n = n.reshape(-1, len(ys), 1, Q)
            else:
                n = np.broadcast_to(n0, (n0.shape[0], len(ys), s, Q)).copy()
                n[:, :, i, :] += d
        else:
            shape = (len(xs) if has_x else 1, len(ys) if has_y else 1)
            flat = np.broadcast_to(theta[w.start : b.stop], (*shape, b.stop - w.start)).copy()
            if has_x:
                flat[:, :, ix - w.start] = xs[:, None]
            if has_y:
                flat[:, :, iy - w.start] = ys[None, :]
            W = flat[..., : s * r].reshape((*shape, s, r))
            bias = flat[..., s * r :]
            n = W @ a if (has_x or has_y) else W[0, 0] @ a
            n += bias[..., None] if (has_x or has_y) else bias[0, 0][:, None]
        a = _activate(spec.transfers[m], n, keep_n=perf.name == "ce" and m == spec.n_layers - 1)
    if perf.name == "ce":
        F = perf.value(n, a, data.T, spec.transfers[-1])
    else:  # the squared errors, in place (a is a fresh array here)
        a -= data.T
        F = np.einsum("...ij,...ij->...", a, a)
        if perf.name == "mse":
            F /= data.T.size
    return np.broadcast_to(F, (len(xs), len(ys)))


def _activate(name: str, n: np.ndarray, keep_n: bool) -> np.ndarray:
    """``f(n)``, in place on ``n`` unless ``keep_n`` (cross-entropy reads ``n^M``).

    ``logsig`` skips the transfer's overflow clip: this runs under
    ``errstate(over="ignore")``, where ``exp(-n) = inf`` gives ``a = 0`` exactly, and the
    clip is a fifth pass over the largest array of the surface."""
    if name == "purelin":
        return n
    if name == "logsig" and not keep_n:
        np.negative(n, out=n)
        np.exp(n, out=n)
        n += 1.0
        return np.reciprocal(n, out=n)
    return get_transfer(name).forward(n)
