"""The error surface through the compiled forward pass (rows of the grid in parallel);
:func:`bpgui_engine.analysis.surface.evaluate_surface` without numba."""

from __future__ import annotations

import numpy as np

from bpgui_engine import jit
from bpgui_engine.analysis.surface import Surface, evaluate_surface, surface_grid
from bpgui_engine.jit import driver
from bpgui_engine.jit.plan import PERF_CODES, layer_table, lowest_layer
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.penalty import Penalty, grid_penalty
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
    penalty: Penalty | None = None,
) -> Surface:
    """:func:`bpgui_engine.analysis.surface.evaluate_surface` through the compiled forward pass
    (rows of the
    grid in parallel); the NumPy function without numba."""
    mod = jit.kernels()
    args = (spec, data, theta, x_label, x_range, y_label, y_range, resolution, performance)
    if mod is None:
        return evaluate_surface(*args, penalty)
    _, _, ix, iy, xs, ys = surface_grid(spec, x_label, x_range, y_label, y_range, resolution)
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
        return evaluate_surface(*args, penalty)
    values = np.ascontiguousarray(out.T) if swap else out
    if penalty:
        values = values + grid_penalty(penalty, spec, theta, ix, iy, xs, ys)
    return Surface(spec.label(ix), spec.label(iy), xs, ys, values)
