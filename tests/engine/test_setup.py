"""Setup (the experiment model), experiments, gradient check, contour lines, history."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpgui_engine.analysis.contour import contour_levels, isolines
from bpgui_engine.analysis.gradcheck import gradient_check
from bpgui_engine.model.experiments import EXPERIMENTS, get_experiment
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.setup import DataRecipe, Setup, setup_from_dict, setup_to_dict
from bpgui_engine.train.history import COLUMNS, Decimator, History
from bpgui_engine.train.trainer import StopCriteria, Trainer

from .conftest import SHAPES, random_problem


def test_setup_from_preset_is_the_book_slice():
    s = Setup.from_preset()
    assert s.free == ("W1[1,1]", "W2[1,1]") and s.axes == s.free
    assert s.start().tolist() == [10.0, 1.0]
    obj = s.objective()
    assert obj.value(s.start()) == 0.0


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"free": ()}, "free"),
        ({"free": ("W1[1,1]", "W1[1,1]")}, "free"),
        ({"free": ("W9[1,1]",)}, "W9"),
        ({"axes": ("W1[1,1]", "W1[1,1]")}, "axes"),
        ({"axes": ("W1[1,1]", "b2[1]")}, "axes"),
        ({"ranges": ((1.0, 1.0), (0.0, 1.0))}, "range"),
        ({"ranges": ((0.0, float("nan")), (0.0, 1.0))}, "range"),
        ({"optimizer": "newton"}, "optimizer"),
        ({"hyper": {"lr": -1.0}}, "lr"),
        ({"hyper": {"momentum": 1.0}}, "momentum"),
        ({"theta": (1.0,) * 6}, "theta"),
        ({"init": "magic"}, "init"),
    ],
)
def test_setup_rejects_bad_values_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        Setup.from_preset().replace(**changes)


def test_data_recipe_errors_name_the_problem():
    with pytest.raises(ValueError, match="kind"):
        DataRecipe(kind="web")
    with pytest.raises(ValueError, match="validation"):
        DataRecipe(validation=1.0)
    with pytest.raises(ValueError):
        DataRecipe(kind="expression", expression="__import__('os')").build()
    with pytest.raises(ValueError, match="csv"):
        DataRecipe(kind="csv").build()
    bad = DataRecipe(kind="csv", csv_text="p,t\n1,2\n3,x\n", inputs=("p",), targets=("t",))
    with pytest.raises(ValueError, match="line 3"):
        bad.build()


def test_setup_round_trips_through_json():
    for e in EXPERIMENTS.values():
        s = e.setup()
        assert setup_from_dict(json.loads(json.dumps(setup_to_dict(s)))) == s
    s = Setup.from_preset().replace(
        data=DataRecipe(kind="expression", expression="exp(-p**2)", noise=0.1, validation=0.2)
    )
    back = setup_from_dict(json.loads(json.dumps(setup_to_dict(s))))
    assert back == s
    a, b = s.data.build(), back.data.build()
    np.testing.assert_array_equal(a[0].T, b[0].T)
    with pytest.raises(ValueError, match="setup.data: expected an object"):
        setup_from_dict({"network": {}})
    d = setup_to_dict(s)
    with pytest.raises(ValueError, match="the field 'theta' is missing"):
        setup_from_dict({k: v for k, v in d.items() if k != "theta"})
    with pytest.raises(ValueError, match="setup: unknown field 'colour'"):
        setup_from_dict({**d, "colour": "red"})
    with pytest.raises(ValueError, match="setup.data: unknown field 'shape'"):
        setup_from_dict({**d, "data": {**d["data"], "shape": 3}})


def test_with_network_initializes_and_frees_everything():
    s = Setup.from_preset().with_network(NetworkSpec(1, (3, 1), ("tansig", "purelin")), seed=4)
    assert s.free == s.spec.labels and len(s.theta) == 10
    again = Setup.from_preset().with_network(NetworkSpec(1, (3, 1), ("tansig", "purelin")), seed=4)
    assert np.array_equal(again.theta, s.theta)  # seeded
    assert s.axes == ("W1[1,1]", "W1[2,1]")


def test_axis_values_and_points_from_axes():
    s = Setup.from_preset(free=("W1[1,1]", "b1[1]", "W2[1,1]"), axes=("W2[1,1]", "W1[1,1]"))
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    xs, ys = s.axis_values(X)
    assert xs.tolist() == [3.0, 6.0] and ys.tolist() == [1.0, 4.0]
    v = s.point_from_axes(7.0, 8.0, np.array([0.0, 9.0, 0.0]))
    assert v.tolist() == [8.0, 9.0, 7.0]


@pytest.mark.parametrize("key", list(EXPERIMENTS))
def test_experiments_set_the_books_start_and_optimizer(key):
    e = get_experiment(key)
    s = e.setup()
    assert tuple(s.start()) == e.start_point()
    assert s.optimizer == e.changes["optimizer"]
    assert s.axes == s.free[:2]
    obj = s.objective()
    assert np.isfinite(obj.value(s.start()))


def test_quick_experiments_reach_what_the_book_says():
    def run(key, epochs=None):
        s = get_experiment(key).setup()
        crit = s.criteria if epochs is None else StopCriteria(epochs=epochs)
        tr = Trainer(s.objective(), s.make_optimizer(), s.start(), crit)
        with np.errstate(all="ignore"):
            return list(tr.run())

    cg = run("cg")
    assert cg[-1].sse < 1e-12 and np.allclose(cg[-1].x, [10, 1], atol=1e-5)
    lm = run("lm")
    assert np.allclose(lm[-1].x, [0.882828, 38.6187], atol=1e-3)  # the local minimum
    unstable = run("unstable-lr")
    tail = np.array([r.sse for r in unstable[-200:]])
    assert tail.min() > 0.05  # oscillates instead of falling
    saddle = get_experiment("saddle").setup()
    obj = saddle.objective()
    _, g = obj.value_and_grad(np.zeros(2))
    eig = np.linalg.eigvalsh(obj.hessian(np.zeros(2)))
    assert np.linalg.norm(g) < 1e-12 and eig[0] < 0 < eig[1]


@pytest.mark.parametrize("spec, perf", SHAPES)
def test_gradient_check_passes_for_backprop(spec, perf):
    data, theta = random_problem(spec, perf, seed=3)
    obj = Objective(spec, data, theta, performance=perf)
    rows = gradient_check(obj, theta)
    assert [r.layer for r in rows] == list(range(1, spec.n_layers + 1))
    assert sum(r.n_checked for r in rows) == spec.n_params
    assert max(r.max_rel_error for r in rows) < 1e-4


def test_gradient_check_catches_a_wrong_gradient():
    spec, perf = SHAPES[1]
    data, theta = random_problem(spec, perf, seed=1)
    obj = Objective(spec, data, theta, performance=perf)
    right = obj.value_and_grad

    def wrong(x):
        F, g = right(x)
        g = g.copy()
        g[spec.slices[1][0]] *= 1.5  # layer 2's weights off by half
        return F, g

    obj.value_and_grad = wrong
    rows = {r.layer: r for r in gradient_check(obj, theta)}
    assert rows[1].max_rel_error < 1e-5
    assert rows[2].max_rel_error > 0.2 and rows[2].worst.startswith("W2")


def test_gradient_check_samples_large_networks():
    spec = NetworkSpec(5, (40, 20, 1), ("tansig", "tansig", "purelin"))
    data, theta = random_problem(spec, "sse", Q=5)
    obj = Objective(spec, data, theta)
    rows = gradient_check(obj, theta)
    assert sum(r.n_checked for r in rows) == 500 < spec.n_params
    assert max(r.max_rel_error for r in rows) < 1e-4


def test_isolines_lie_on_the_level_set():
    xs, ys = np.linspace(-2, 2, 81), np.linspace(-2, 2, 61)
    V = xs[:, None] ** 2 + ys[None, :] ** 2
    X, Y = isolines(xs, ys, V, [1.0, 2.0])
    r2 = X**2 + Y**2
    assert len(X) % 2 == 0 and len(X) > 100
    assert np.all((np.abs(r2 - 1) < 5e-3) | (np.abs(r2 - 2) < 5e-3))
    # each segment joins two crossings of the same cell (short)
    seg = np.hypot(X[1::2] - X[::2], Y[1::2] - Y[::2])
    assert seg.max() < 2 * np.hypot(xs[1] - xs[0], ys[1] - ys[0])


def test_isolines_handle_saddles_and_non_finite_values():
    xs = ys = np.linspace(-1, 1, 21)
    V = xs[:, None] * ys[None, :]
    X, _ = isolines(xs, ys, V, [0.0])
    assert np.all(np.isfinite(X)) and len(X) > 0
    V2 = V.copy()
    V2[5:8, 5:8] = np.nan
    X2, _ = isolines(xs, ys, V2, [0.1])
    assert np.all(np.isfinite(X2))
    assert isolines(xs, ys, np.ones((21, 21)), [0.5])[0].size == 0
    with pytest.raises(ValueError, match="shape"):
        isolines(xs, ys, np.ones((3, 3)), [0.5])


def test_contour_levels():
    v = np.array([[1e-6, 1.0], [10.0, np.inf]])
    lv = contour_levels(v, 5, log=True)
    assert len(lv) == 5 and np.all(np.diff(np.log(lv)) > 0) and lv[0] > 1e-6 and lv[-1] < 10
    assert contour_levels(np.zeros((2, 2)), 5).size == 0


def test_history_grows_and_hands_out_views():
    h = History(2, capacity=16)
    for k in range(10):
        n = 7 + k
        cols = {c: np.full(n, float(k)) for c in COLUMNS}
        cols["epoch"] = np.arange(len(h), len(h) + n)
        h.extend(cols, np.full((n, 2), float(k)))
    assert len(h) == sum(7 + k for k in range(10))
    assert np.array_equal(h.column("epoch"), np.arange(len(h)))
    assert h.x.shape == (len(h), 2) and h.x[-1, 0] == 9.0
    assert h.nbytes < 4 * len(h) * (len(COLUMNS) + 2) * 8  # doubling, not quadratic


def test_decimator_keeps_every_blocks_extremes():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=50_000))
    y[::97] += 30  # spikes a stride would miss
    d = Decimator(max_blocks=256)
    idx = np.empty(0)
    for n in range(1000, 50_001, 7_000):  # grows in pieces, like a run
        idx = d.update(y[:n])
    idx = d.update(y)
    assert np.all(np.diff(idx) >= 0) and idx[-1] == len(y) - 1
    assert len(idx) <= 2 * 256 + 2 * d.block + 1
    # brute force: every block's min and max are kept
    k = d.block
    nb = len(y) // k
    blocks = y[: nb * k].reshape(nb, k)
    kept = set(idx.tolist())
    for b in range(nb):
        assert b * k + int(blocks[b].argmin()) in kept
        assert b * k + int(blocks[b].argmax()) in kept
    assert y[idx].max() == y.max() and y[idx].min() == y.min()
