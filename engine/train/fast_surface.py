"""The error surface through the compiled forward pass (rows of the grid in parallel);
:func:`bpgui_engine.analysis.surface.evaluate_surface` without numba."""

from __future__ import annotations

import numpy as np

from bpgui_engine import jit
from bpgui_engine.analysis.surface import MAX_RESOLUTION, Surface, evaluate_surface
from bpgui_engine.jit import driver
from bpgui_engine.jit.plan import PERF_CODES, layer_table, lowest_layer
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.performance import get_performance

__all__ = ["fast_surface"]


def fast_surface(
    spec: NetworkSpec,
    data: Dataset,
    theta: np.ndarray,
    x_label: str,
    x_range: tuple[float, float],
    y_label: str,
    y_range: tuple[float, float],
    resolution: int | tuple[int, int] = 100,
    performance: str = "sse",
) -> Surface:
    """:func:`bpgui_engine.analysis.surface.evaluate_surface` through the compiled forward pass
    (rows of the
    grid in parallel); the NumPy function without numba."""
    mod = jit.kernels()
    if mod is None:
        return evaluate_surface(
            spec, data, theta, x_label, x_range, y_label, y_range, resolution, performance
        )
    nx, ny = (resolution, resolution) if np.isscalar(resolution) else resolution
    for k, v in (("x", nx), ("y", ny)):
        if int(v) != v or not 2 <= v <= MAX_RESOLUTION:
            raise ValueError(f"resolution: {k} must be an integer in [2, {MAX_RESOLUTION}]")
    for lab, (lo, hi) in ((x_label, x_range), (y_label, y_range)):
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"range of {lab}: need finite MIN < MAX, got [{lo}, {hi}]")
    ix, iy = spec.index(x_label), spec.index(y_label)
    if ix == iy:
        raise ValueError("surface: the two axes must be different parameters")
    xs = np.linspace(x_range[0], x_range[1], int(nx))
    ys = np.linspace(y_range[0], y_range[1], int(ny))
    swap = spec.layer_of[iy] < spec.layer_of[ix]  # the inner loop runs the later layer
    ip, iq, ps, qs = (iy, ix, ys, xs) if swap else (ix, iy, xs, ys)
    mq, const = lowest_layer(spec, [iq] if spec.layer_of[ip] < spec.layer_of[iq] else [ip, iq])
    try:
        out = driver.surface(
            mod, layer_table(spec), PERF_CODES[get_performance(performance).name],
            np.array(data.P, dtype=np.float64).ravel(),
            np.array(data.T, dtype=np.float64).ravel(), data.n_samples,
            np.array(theta, dtype=np.float64), ip, iq, mq, const, ps, qs,
        )  # fmt: skip
    except TypeError:  # frozen kernels (the window's) without these types
        return evaluate_surface(
            spec, data, theta, x_label, x_range, y_label, y_range, resolution, performance
        )
    values = np.ascontiguousarray(out.T) if swap else out
    return Surface(spec.label(ix), spec.label(iy), xs, ys, values)
