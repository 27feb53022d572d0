"""Curvature helpers (engine/analysis/curvature.py): classification, undefined values, the stability
bound in the engine's learning-rate units (checked by running steepest descent), the
quadratic approximation (exact for a linear network) and the cost of a call."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from bpgui_engine.analysis.curvature import (
    classify,
    condition_number,
    curvature_at,
    eigen,
    quadratic_grid,
    stability_bound,
)
from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.maps.sweep import stability_bound as sweep_bound
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.trainer import StopCriteria, Trainer

BOOK_MIN = np.array([10.0, 1.0])


def book_objective(free=("W1[1,1]", "W2[1,1]")):
    b = get_preset("book-1-2-1")
    return Objective(b.spec, b.data, b.theta, list(free))


@pytest.mark.parametrize(
    "lam, kind",
    [
        ((1.0, 2.0), "minimum"),
        ((-1.0, 2.0), "saddle"),
        ((-1.0, -2.0), "maximum"),
        ((0.0, 2.0), "degenerate"),
        ((1e-9, 2.0), "degenerate"),
        ((-1e-9, -2.0), "degenerate"),
        ((1e-5, 2.0), "minimum"),
        ((0.0, 0.0), "degenerate"),
        ((np.nan, 1.0), "undefined"),
        ((np.inf, 1.0), "undefined"),
    ],
)
def test_classify(lam, kind):
    assert classify(np.array(lam)) == kind


def test_eigen_of_non_finite_is_undefined_not_an_exception():
    lam, vec = eigen(np.array([[1.0, np.nan], [np.nan, 2.0]]))
    assert lam.shape == (2,) and np.isnan(lam).all() and np.isnan(vec).all()
    assert classify(lam) == "undefined" and math.isnan(condition_number(lam))
    assert math.isnan(stability_bound(lam[-1], 1.0))


def test_curvature_at_a_non_finite_point_is_undefined():
    obj = book_objective()
    c = curvature_at(obj, np.array([np.nan, 1.0]))
    assert c.kind == "undefined" and np.isnan(c.eigenvalues).all()
    assert math.isnan(c.lr_bound) and not c.unstable(100.0)
    assert c.to_json()["eigenvalues"] == [None, None]


def test_eigen_decomposition_reconstructs_the_hessian():
    obj = book_objective(get_preset("book-1-2-1").spec.labels)
    c = curvature_at(obj, obj.x0() + 0.3)
    V, lam = c.eigenvectors, c.eigenvalues
    assert np.all(np.diff(lam) >= 0)
    np.testing.assert_allclose(V @ np.diag(lam) @ V.T, c.hessian, atol=1e-12 * np.abs(lam).max())
    np.testing.assert_allclose(V.T @ V, np.eye(obj.n_free), atol=1e-12)
    assert c.condition == pytest.approx(np.abs(lam).max() / np.abs(lam).min())


def test_condition_number_of_a_singular_matrix_is_infinite():
    assert condition_number(np.array([0.0, 3.0])) == math.inf
    assert condition_number(np.array([-2.0, 4.0])) == 2.0


def test_book_minimum_curvature_and_shared_bound():
    obj = book_objective()
    c = curvature_at(obj, BOOK_MIN)
    assert c.kind == "minimum"
    np.testing.assert_allclose(c.eigenvalues, [0.003822, 1.156], rtol=1e-3)
    # the engine's units: the rate multiplies the gradient averaged over the 41 samples
    assert c.lr_bound == pytest.approx(2 * 41 / c.eigenvalues[-1], rel=1e-12)
    assert c.lr_bound == pytest.approx(70.95, abs=0.01)
    from bpgui_engine.model.setup import Setup

    assert sweep_bound(Setup.from_preset("book-1-2-1"), BOOK_MIN) == pytest.approx(c.lr_bound)
    assert c.lr_bound_momentum(0.8) == pytest.approx(c.lr_bound * 1.8 / 0.2)


@pytest.mark.parametrize("factor, stable", [(0.95, True), (1.05, False)])
def test_stability_bound_is_the_edge_for_steepest_descent(factor, stable):
    """Independent of the Hessian code: run the engine's steepest descent just below and just
    above the bound from a point near the minimum."""
    obj = book_objective()
    lr = curvature_at(obj, BOOK_MIN).lr_bound * factor
    x0 = BOOK_MIN + 1e-4 * np.array([0.0249, 0.9997])  # along the stiff eigenvector
    recs = list(Trainer(obj, make_optimizer("sd", lr=lr), x0, StopCriteria(epochs=400)).run())
    d0 = np.linalg.norm(recs[0].x - BOOK_MIN)
    d1 = np.linalg.norm(recs[-1].x - BOOK_MIN)
    assert (d1 < d0) == stable


def test_unstable_lr_experiment_is_above_the_bound_where_it_oscillates():
    """The "lr 100" experiment: at the minimum the bound is 70.95 < 100; the path settles
    into a 2-cycle across the valley, (8.28, 1.68) <-> (8.24, 0.73), and at one of its two
    points the rate is above the local bound, so the warning shows on every other frame.
    The momentum experiment (gamma 0.8, same rate) is inside its bound (9 x 70.95)."""
    e = get_experiment("unstable-lr")
    s = e.setup()
    obj = s.objective()
    assert curvature_at(obj, BOOK_MIN).unstable(100.0)
    recs = list(Trainer(obj, s.make_optimizer(), s.start(), StopCriteria(epochs=1200)).run())
    flags = [curvature_at(obj, r.x).unstable(100.0) for r in recs[-200:]]
    assert 0.3 <= np.mean(flags) <= 0.7
    assert not curvature_at(obj, BOOK_MIN).unstable(100.0, gamma=0.8)
    assert not curvature_at(obj, recs[-1].x).unstable(1.0)


def test_quadratic_grid_matches_a_loop():
    obj = book_objective()
    c = curvature_at(obj, np.array([2.0, 3.0]))
    xs, ys = np.linspace(0, 4, 5), np.linspace(1, 5, 4)
    Q = quadratic_grid(c, 0, 1, xs, ys)
    for i, xv in enumerate(xs):
        for j, yv in enumerate(ys):
            d = np.array([xv, yv]) - c.x
            assert Q[i, j] == pytest.approx(c.value + c.gradient @ d + 0.5 * d @ c.hessian @ d)
    # an axis that is not free: constant along it
    Q1 = quadratic_grid(c, 0, None, xs, ys)
    assert np.all(Q1[:, :1] == Q1)


def test_quadratic_grid_is_the_surface_of_a_linear_network():
    """SSE of a purelin network is exactly quadratic: the approximation equals the surface."""
    rng = np.random.default_rng(3)
    spec = NetworkSpec(2, (1,), ("purelin",))
    data = Dataset(rng.normal(size=(2, 9)), rng.normal(size=(1, 9)))
    theta = rng.normal(size=spec.n_params)
    obj = Objective(spec, data, theta)
    c = curvature_at(obj, theta)
    xs, ys = np.linspace(-3, 3, 7), np.linspace(-2, 4, 6)
    Q = quadratic_grid(c, 0, 1, xs, ys)
    S = evaluate_surface(spec, data, theta, "W1[1,1]", (-3, 3), "W1[1,2]", (-2, 4), (7, 6))
    np.testing.assert_allclose(Q, S.values, rtol=1e-10, atol=1e-10)


def test_fast_enough_for_a_live_panel():
    """~10 calls a second are needed; small networks take about a millisecond."""
    rng = np.random.default_rng(0)
    spec = NetworkSpec(1, (10, 1), ("logsig", "purelin"))
    data = Dataset(rng.normal(size=(1, 41)), rng.normal(size=(1, 41)))
    for obj in (book_objective(), Objective(spec, data, rng.normal(size=spec.n_params))):
        x = obj.x0()
        curvature_at(obj, x)
        best = []
        for _ in range(5):  # the best of five batches: robust to a busy shared machine
            t = time.perf_counter()
            for _ in range(5):
                curvature_at(obj, x)
            best.append((time.perf_counter() - t) / 5)
        per_call = min(best)
        assert per_call < 0.02, per_call  # 20 ms: 5x margin on a shared machine


def test_kinds_at_agrees_with_the_critical_points_of_the_book_slice():
    """What the maps' legend says of each "minimum" the runs found: the Hessian's word."""
    from bpgui_engine.analysis.critical import find_critical_points
    from bpgui_engine.analysis.curvature import kinds_at
    from bpgui_engine.model.setup import Setup

    setup = Setup.from_preset().replace(ranges=((-5.0, 15.0), (-5.0, 15.0)))
    pts = [p for p in find_critical_points(setup) if p.count == 1]
    kinds = {p.kind for p in pts}
    assert {"minimum", "saddle"} <= kinds  # the book slice has both
    got = kinds_at(setup.objective(), np.array([p.x for p in pts]))
    assert got == [p.kind for p in pts]
    assert kinds_at(setup.objective(), np.array([[10.0, 1.0]])) == ["minimum"]
    big = Setup.from_preset().replace(free=Setup.from_preset().spec.labels).objective()
    assert kinds_at(big, np.zeros((1, 7)), max_free=5) is None  # above the limit: no answer
