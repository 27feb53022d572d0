import numpy as np
import pytest

from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.model.objective import Objective

from .conftest import SHAPES, random_problem


def naive_surface(spec, data, theta, lx, xs, ly, ys, perf="sse"):
    obj = Objective(spec, data, theta, performance=perf)
    out = np.empty((len(xs), len(ys)))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            t = theta.copy()
            t[spec.index(lx)], t[spec.index(ly)] = x, y
            out[i, j] = obj.value(t)
    return out


@pytest.mark.parametrize(
    "lx, ly",
    [
        ("W1[1,1]", "W2[1,1]"),
        ("W2[1,1]", "W1[1,1]"),
        ("b1[1]", "b1[2]"),
        ("W2[1,2]", "b2[1]"),
        ("b1[2]", "W1[1,1]"),
    ],
)
def test_book_surface_matches_a_plain_loop(book, lx, ly):
    s = evaluate_surface(book.spec, book.data, book.theta, lx, (-5, 15), ly, (-3, 7), (7, 5))
    assert s.values.shape == (7, 5)
    assert s.xs[0] == -5 and s.xs[-1] == 15 and s.ys[0] == -3 and s.ys[-1] == 7
    want = naive_surface(book.spec, book.data, book.theta, lx, s.xs, ly, s.ys)
    np.testing.assert_allclose(s.values, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("spec, perf", SHAPES, ids=lambda v: str(v)[:30])
def test_any_network_surface_matches_a_plain_loop(spec, perf):
    data, theta = random_problem(spec, perf)
    lx, ly = spec.labels[0], spec.labels[-1]
    s = evaluate_surface(spec, data, theta, lx, (-2, 2), ly, (-1, 3), (4, 6), perf)
    want = naive_surface(spec, data, theta, lx, s.xs, ly, s.ys, perf)
    np.testing.assert_allclose(s.values, want, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("spec, perf", SHAPES, ids=lambda v: str(v)[:30])
@pytest.mark.parametrize("pair", [(0, 3), (-4, 2), (-1, -2), (1, -3)])
def test_any_pair_of_parameters_matches_a_plain_loop(spec, perf, pair):
    """Weights and biases in the same layer, in later and earlier layers, in either
    order -- every path of the grid code (incl. the one-row update for y's layer)."""
    data, theta = random_problem(spec, perf, seed=3)
    lx, ly = spec.labels[pair[0]], spec.labels[pair[1]]
    s = evaluate_surface(spec, data, theta, lx, (-2, 2), ly, (-1, 3), (5, 4), perf)
    want = naive_surface(spec, data, theta, lx, s.xs, ly, s.ys, perf)
    np.testing.assert_allclose(s.values, want, rtol=1e-11, atol=1e-13)


def test_chunking_gives_the_same_grid(book, monkeypatch):
    import bpgui_engine.analysis.surface as surface

    a = evaluate_surface(
        book.spec, book.data, book.theta, "W1[1,1]", (-5, 15), "W2[1,1]", (-5, 15), 60
    )
    monkeypatch.setattr(surface, "CHUNK_ELEMENTS", 1)
    b = evaluate_surface(
        book.spec, book.data, book.theta, "W1[1,1]", (-5, 15), "W2[1,1]", (-5, 15), 60
    )
    np.testing.assert_array_equal(a.values, b.values)


def test_book_contour_minimum_and_saddle(book):
    s = evaluate_surface(
        book.spec, book.data, book.theta, "W1[1,1]", (-5, 15), "W2[1,1]", (-5, 15), 201
    )
    x, y, v = s.argmin()
    assert (x, y) == (10.0, 1.0) and v == pytest.approx(0.0, abs=1e-20)
    b = evaluate_surface(
        book.spec, book.data, book.theta, "b1[1]", (-10, 10), "b1[2]", (-10, 10), 201
    )
    np.testing.assert_allclose(b.values, b.values.T, rtol=1e-12)  # symmetric, as the seed says


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(lx="W1[1,1]", ly="W1[1,1]"), "different"),
        (dict(lx="W5[1,1]", ly="W1[1,1]"), "unknown parameter label"),
        (dict(xr=(1, 1)), "MIN < MAX"),
        (dict(xr=(0, np.inf)), "MIN < MAX"),
        (dict(res=1), "resolution"),
        (dict(res=10**6), "resolution"),
    ],
)
def test_bad_surface_requests(book, kw, match):
    with pytest.raises(ValueError, match=match):
        evaluate_surface(
            book.spec,
            book.data,
            book.theta,
            kw.get("lx", "W1[1,1]"),
            kw.get("xr", (0, 1)),
            kw.get("ly", "W2[1,1]"),
            (0, 1),
            kw.get("res", 5),
        )


def test_a_large_networks_contour_comes_on_a_grid_it_can_afford(book):
    """Issue 20: a 200x200 contour of a 2,700-parameter network on 1,000 samples would
    cost 110 billion multiply-adds (minutes): the surface job coarsens the grid to stay
    within SURFACE_WORK; the book's 1-2-1 keeps its full grid."""
    import threading

    from bpgui_engine import jobs
    from bpgui_engine.analysis import surface as srf
    from bpgui_engine.model.data import Dataset
    from bpgui_engine.model.network import NetworkSpec

    assert srf.affordable_resolution(book.spec, book.data.n_samples, 200) == 200
    spec = NetworkSpec(1, (50, 50, 1), ("tansig", "tansig", "purelin"))
    P = np.linspace(-2, 2, 1000)[None, :]
    data = Dataset(P, np.sin(P))
    res = srf.affordable_resolution(spec, 1000, 200)
    assert res == srf.MIN_AFFORDABLE  # sqrt(5e8 / 2.7e6) = 13, floored at 16
    assert res**2 * 1000 * spec.n_params <= 1.5 * srf.SURFACE_WORK
    theta = np.random.default_rng(0).normal(0, 0.3, spec.n_params)
    req = {"spec": spec, "data": data, "theta": theta, "axes": (spec.label(0), spec.label(1)),
           "ranges": ((-2.0, 2.0), (-2.0, 2.0)), "resolution": 200, "performance": "sse",
           "log_levels": True}  # fmt: skip
    gen = jobs.JOBS["surface"](req, threading.Event())
    try:
        next(gen)
    except StopIteration as done:
        (s, *_), err = done.value
    assert err == "" and s.values.shape == (res, res)
    # the coarse grid is the same function: a point of it equals the objective there
    obj = Objective(spec, data, theta)
    x = theta.copy()
    x[0], x[1] = s.xs[3], s.ys[5]
    assert s.values[3, 5] == pytest.approx(obj.value(x), rel=1e-12)  # values[ix, iy]
