"""The path decimator keeps a long trajectory's shape (issue 9, a newcomer's report:
trajectory b's first leg drawn along a route it never took)."""

from __future__ import annotations

import itertools

import numpy as np

from bpgui_engine.train.history import Decimator
from bpgui_engine.train.pathdec import PathDecimator


def _max_gap(xs, ys, idx) -> float:
    """The largest distance of any path point from the drawn polyline through ``idx``."""
    worst = 0.0
    for a, b in itertools.pairwise(idx):
        p = np.column_stack([xs[a : b + 1], ys[a : b + 1]])
        u, v = p[0], p[-1]
        seg = v - u
        L2 = float(seg @ seg)
        t = np.clip(((p - u) @ seg) / L2, 0, 1) if L2 > 0 else np.zeros(len(p))
        d = np.linalg.norm(p - (u + t[:, None] * seg), axis=1)
        worst = max(worst, float(d.max()))
    return worst


def _feed(dec, xs, ys, rng, scale=(1.0, 1.0)):
    i = 0
    idx = None
    while i < len(xs):
        k = int(rng.integers(1, 5000))
        idx = dec.update(xs[i : i + k], ys[i : i + k], scale)
        i += k
    return idx


def test_a_bend_where_the_error_falls_steadily_is_kept():
    # an L-shaped path: right along y = 0, then up; the error falls all the way
    n = 200_000
    t = np.linspace(0, 2, n)
    xs = np.minimum(t, 1.0)
    ys = np.maximum(t - 1.0, 0.0)
    sse = np.exp(-5 * t)
    by_error = Decimator(max_blocks=256).update(sse)
    by_length = _feed(PathDecimator(500), xs, ys, np.random.default_rng(0))
    assert _max_gap(xs, ys, by_error) > 0.001  # the corner is cut: the old behaviour
    assert _max_gap(xs, ys, by_length) < 0.005
    assert by_length[0] == 0 and by_length[-1] == n - 1
    assert np.all(np.diff(by_length) > 0)


def test_memory_stays_bounded_and_spacing_even_on_a_long_noisy_path():
    rng = np.random.default_rng(1)
    n = 1_000_000
    steps = rng.normal(size=(n, 2)) * 1e-3
    steps[:, 0] += 1e-5  # a drift
    xs, ys = np.cumsum(steps, axis=0).T
    dec = PathDecimator(1000)
    idx = _feed(dec, xs, ys, rng)
    assert len(idx) <= 2 * 1000 + 1
    d = np.hypot(np.diff(xs), np.diff(ys))
    cum = np.concatenate(([0.0], np.cumsum(d)))
    gaps = np.diff(cum[idx])
    assert gaps[:-1].max() <= 2 * dec.eps + d.max() + 1e-12


def test_non_finite_points_do_not_break_it():
    xs = np.array([0.0, 1.0, np.nan, np.inf, 2.0])
    ys = np.zeros(5)
    idx = PathDecimator(10).update(xs, ys, (1.0, 1.0))
    assert idx.tolist() == [0, 1, 2, 3, 4]
