"""L2 and L1 weight penalties in the objective: every path sees the regularized index
(issue 21)."""

import math

import numpy as np
import pytest

from bpgui_engine.analysis.classify import accuracy, grid_inputs, layer_maps, metrics
from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.model.penalty import Penalty, weight_mask
from bpgui_engine.model.problem import plane_setup
from bpgui_engine.model.setup import DataRecipe, Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.fast import FastTrainer, fast_train_batch

L2, L1 = 3e-3, 2e-3


def _setup(performance="ce", l2=L2, l1=L1, free=None):
    s = plane_setup("gauss:samples=60,noise=0.3", layers=(3,), performance=performance,
                    l2=l2, l1=l1, seed=1)  # fmt: skip
    if free is not None:
        s = s.replace(free=free, axes=free[:2])
    return s


def _weights(setup, x):
    return setup.full_theta(x)[weight_mask(setup.spec)]


def _plain(setup):
    return setup.replace(l2=0.0, l1=0.0).objective()


def test_penalty_is_the_plain_index_plus_the_documented_terms_on_every_path():
    for perf in ("sse", "mse", "ce"):
        s = _setup(perf, free=("W1[1,1]", "b1[2]", "W2[1,3]", "W1[2,2]"))
        obj, plain = s.objective(), _plain(s)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(5, obj.n_free))
        for x in X:
            w = _weights(s, x)
            want = plain.value(x) + L2 * w @ w + L1 * np.abs(w).sum()
            assert obj.value(x) == pytest.approx(want, rel=1e-13)
            assert obj.value_and_grad(x)[0] == pytest.approx(want, rel=1e-13)
            H = obj.value_grad_hessian(x)
            assert H[0] == pytest.approx(want, rel=1e-12)
        Fb, _ = obj.value_and_grad_batch(X)
        np.testing.assert_allclose(Fb, [obj.value(x) for x in X], rtol=1e-12)
        assert obj.value(X[0], obj.data) == pytest.approx(plain.value(X[0]))  # a set: plain
        assert obj.sse(X[0]) == pytest.approx(plain.sse(X[0]))


def test_regularized_gradient_matches_central_differences():
    s = _setup("ce")
    obj = s.objective()
    x = np.random.default_rng(3).normal(size=obj.n_free)
    _, g = obj.value_and_grad(x)
    h = 1e-6
    fd = np.array([(obj.value(x + h * e) - obj.value(x - h * e)) / (2 * h)
                   for e in np.eye(obj.n_free)])  # fmt: skip
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)
    _, gb = obj.value_and_grad_batch(x[None])
    np.testing.assert_allclose(gb[0], g, rtol=1e-12)


def test_regularized_hessian_matches_differences_of_the_gradient():
    s = _setup("sse", l1=0.0)
    obj = s.objective()
    x = np.random.default_rng(4).normal(size=obj.n_free)
    np.testing.assert_allclose(obj.hessian(x), obj.hessian_fd(x), rtol=1e-6, atol=1e-6)
    diff = obj.hessian(x) - _plain(s).hessian(x)
    np.testing.assert_allclose(diff, np.diag(2 * L2 * weight_mask(s.spec)), atol=1e-12)


def test_lm_residuals_carry_the_l2_penalty_and_refuse_l1():
    s = _setup("sse", l1=0.0, free=("W1[1,1]", "b1[1]", "W2[1,2]"))
    obj = s.objective()
    x = np.array([0.3, -0.2, 0.7])
    e, J = obj.residuals_and_jacobian(x)
    assert e @ e == pytest.approx(obj.value(x), rel=1e-13)
    h = 1e-7
    Jfd = np.stack([(obj.residuals_and_jacobian(x + h * d)[0] - e) / h for d in np.eye(3)], 1)
    np.testing.assert_allclose(J, Jfd, atol=1e-5)
    with pytest.raises(ValueError, match="L1"):
        _setup("sse").replace(optimizer="lm").make_optimizer()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_trains_the_regularized_index(name):
    perf = "sse" if OPTIMIZERS[name].least_squares else "ce"
    s = _setup(perf, l1=0.0 if OPTIMIZERS[name].least_squares else L1)
    s = s.replace(optimizer=name)
    obj = s.objective()
    if name == "br":  # Bayesian regularization sets its own penalty: refused in one line
        with pytest.raises(ValueError, match="sets its own weight penalty"):
            s.make_optimizer()
        return
    ft = FastTrainer(obj, s.make_optimizer(), s.start(), s.criteria.__class__(epochs=30))
    compiled = ("sd", "momentum", "vlbp", "sgd", "nesterov", "rmsprop", "adagrad", "rprop")
    assert ft.kernel != "numba" and (name not in compiled
                                     or "penalty" in (ft.kernel_note or ""))  # fmt: skip
    recs = list(ft.run())
    x = recs[-1].x
    assert recs[-1].performance == pytest.approx(obj.value(x), rel=1e-9)
    assert recs[-1].sse == pytest.approx(obj.sse(x), rel=1e-9)  # the SSE, not F
    if name != "sgd":
        assert recs[-1].performance < recs[0].performance


def test_a_penalty_set_during_a_run_moves_it_off_the_compiled_loops():
    s = _setup("sse", l2=0.0, l1=0.0).replace(optimizer="sd", hyper={"lr": 0.5})
    ft = FastTrainer(s.objective(), s.make_optimizer(), s.start(), s.criteria.__class__(epochs=40))
    blocks = ft.blocks()
    ft.max_block = 10
    first = next(blocks)
    ft.set_penalty(Penalty(0.01))
    rest = list(blocks)
    assert ft.kernel == "numpy" and rest[-1].cols["epoch"][-1] == 40
    x = rest[-1].x[-1]
    w = _weights(s, x)
    obj = s.objective()
    assert rest[-1].cols["performance"][-1] == pytest.approx(obj.value(x) + 0.01 * w @ w)
    assert len(first)


def test_a_penalty_set_before_the_kernels_are_ready_keeps_the_run_on_numpy(monkeypatch):
    """CI found it: a run that starts on NumPy while numba loads (``wait=False``) and gets
    an L2 penalty before the kernels are ready must not switch to them (the run failed
    with "the compiled kernels have no weight penalty")."""
    from bpgui_engine import jit

    s = _setup("sse", l2=0.0, l1=0.0).replace(optimizer="sd", hyper={"lr": 0.5})
    kernels = jit.row_kernels(True)
    if kernels is None:
        pytest.skip("numba unavailable")
    ready = [None]  # the kernels are "still loading" until the penalty is set
    monkeypatch.setattr(jit, "row_kernels", lambda wait=True: ready[0])
    ft = FastTrainer(s.objective(), s.make_optimizer(), s.start(), s.criteria.__class__(epochs=40),
                     wait=False)  # fmt: skip
    assert ft.kernel == "numpy"
    ft.max_block = 10
    blocks = ft.blocks()
    first = next(blocks)
    ft.set_penalty(Penalty(0.01))
    ready[0] = kernels
    rest = list(blocks)
    assert ft.kernel == "numpy" and rest[-1].cols["epoch"][-1] == 40
    x = rest[-1].x[-1]
    w = _weights(s, x)
    assert rest[-1].cols["performance"][-1] == pytest.approx(s.objective().value(x) + 0.01 * w @ w)
    assert len(first)


def test_penalized_batch_paths():
    s = _setup("sse", l1=0.0)
    obj = s.objective()
    X0 = np.random.default_rng(5).uniform(-1, 1, (3, obj.n_free))
    res = fast_train_batch(obj, X0, "sd", {"lr": 0.1}, epochs=20)
    for r in range(3):
        opt = OPTIMIZERS["sd"](OPTIMIZERS["sd"].Hyper.from_dict({"lr": 0.1}))
        ft = FastTrainer(obj.copy(), opt, X0[r], s.criteria.__class__(epochs=20))
        for _ in ft.blocks():
            pass
        np.testing.assert_allclose(res.x[r], ft.x, rtol=1e-10)
        assert res.performance[r] == pytest.approx(obj.value(ft.x), rel=1e-10)
    with pytest.raises(ValueError, match="penalty"):
        fast_train_batch(obj, X0, "vlbp", {}, epochs=5)


def test_the_surface_includes_the_penalty():
    s = _setup("ce")
    obj = s.objective()
    xs_ = ("W1[1,1]", (-2.0, 2.0), "b1[1]", (-1.0, 1.0))
    surf = evaluate_surface(s.spec, obj.data, s.theta, *xs_, 7, "ce", s.penalty)
    ix, iy = s.spec.index("W1[1,1]"), s.spec.index("b1[1]")
    full = obj.copy()
    full_all = type(obj)(s.spec, obj.data, s.theta, None, "ce", penalty=s.penalty)
    for i in (0, 3, 6):
        for j in (0, 5):
            th = np.array(s.theta)
            th[ix], th[iy] = surf.xs[i], surf.ys[j]
            assert surf.values[i, j] == pytest.approx(full_all.value(th), rel=1e-12)
    assert full.n_free == obj.n_free


def test_metrics_and_maps_against_plain_loops():
    s = _setup("ce")
    prep = s.data.prepare()
    x = s.start()
    m = metrics(s, np.stack([x, 2 * x]))
    for k, xk in enumerate((x, 2 * x)):
        theta = s.full_theta(xk)
        for name, d in (("train", prep.train), ("test", prep.test)):
            right = 0
            for q in range(d.n_samples):
                a = d.P[:, q]
                for W, b in s.spec.unpack(theta):
                    a = W @ a + b
                    a = np.tanh(a) if a.size == 3 else 1 / (1 + np.exp(-a))
                right += (a[0] > 0.5) == (d.T[0, q] == 1)
            assert getattr(m, f"{name}_acc")[k] == right / d.n_samples
        assert m.train_acc[k] == accuracy(s.spec, theta, prep.train)
    plain = _plain(s)
    assert m.train_loss[0] == pytest.approx(plain.value(x))  # the plain index
    grid = grid_inputs(prep, 9)
    maps = layer_maps(s.spec, s.full_theta(x), grid)
    assert [a.shape for a in maps] == [(3, 9, 9), (1, 9, 9)]
    x0, x1, y0, y1 = grid.extent
    p = np.array([[np.linspace(x0, x1, 9)[2]], [np.linspace(y0, y1, 9)[7]]])
    want = s.spec.forward(s.full_theta(x), prep.inputs(p)).a
    assert maps[0][:, 2, 7] == pytest.approx(want[0][:, 0])
    assert maps[1][0, 2, 7] == pytest.approx(want[1][0, 0])
    with pytest.raises(ValueError, match="plane"):
        grid_inputs(Setup.from_preset().data.prepare())


def test_penalty_fields_are_checked():
    for bad in (-1.0, math.inf, math.nan, "x", True, 1e7):
        with pytest.raises(ValueError):
            Penalty(l2=bad)
    assert Penalty(1e-3, 0).text() == " + 0.001‖w‖²" and not Penalty()
    assert DataRecipe.plane("xor").test == 0.5


@pytest.mark.parametrize("opt", ["sd", "momentum", "vlbp", "lm", "adam"])
def test_basin_maps_train_the_regularized_index(opt):
    from bpgui_engine.maps.basins import basin_chunk
    from bpgui_engine.model.setup import setup_to_dict

    s = _setup("sse", l1=0.0)
    X0 = np.random.default_rng(0).uniform(-1, 1, (3, len(s.free)))
    end, F, *_rest, kernel = basin_chunk(setup_to_dict(s), X0, opt, {}, 20, 0.0, 0.0)
    obj = s.objective()
    np.testing.assert_allclose(F, [obj.value(x) for x in end], rtol=1e-10)
    assert kernel == "numpy"


def test_single_precision_maps_agree_with_double():
    s = _setup("ce")
    grid = grid_inputs(s.data.prepare(), 40)
    for a, b in zip(layer_maps(s.spec, s.theta, grid, single=True),
                    layer_maps(s.spec, s.theta, grid), strict=True):  # fmt: skip
        assert a.dtype == np.float32 and b.dtype == np.float64
        np.testing.assert_allclose(a, b, atol=1e-6)
