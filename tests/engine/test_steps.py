"""Update vectors and step views (engine/analysis/steps.py) against the optimizers' own steps."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.analysis.steps import cg_line_search, lm_curve, update_vectors
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset
from bpgui_engine.optim import make_optimizer
from bpgui_engine.optim.cg import GOLD, conjugate_beta
from bpgui_engine.train.trainer import StopCriteria, Trainer

METHODS = ["sd", "momentum", "vlbp", "sgd", "cg", "lm", "adam"]


def warmed(name: str, epochs: int = 3, **hyper):
    """The book slice after a few epochs from (-4, -4): the optimizer has state."""
    b = get_preset("book-1-2-1")
    obj = Objective(b.spec, b.data, b.theta, ["W1[1,1]", "W2[1,1]"])
    opt = make_optimizer(name, seed=5, **hyper)
    recs = list(Trainer(obj, opt, [-4.0, -4.0], StopCriteria(epochs=epochs)).run())
    return obj, opt, recs[-1].x


@pytest.mark.parametrize("name", METHODS)
def test_step_is_the_optimizers_own_step_and_leaves_it_unchanged(name):
    obj, opt, x = warmed(name)
    before = opt.state_dict()
    counts = (obj.n_value, obj.n_grad, obj.n_jac)
    u = update_vectors(obj, opt, x)
    assert opt.state_dict() == before and (obj.n_value, obj.n_grad, obj.n_jac) == counts
    f, g = obj.value_and_grad(x)
    res = opt.step(x, f, g, obj)
    np.testing.assert_array_equal(u.step, res.x - x)  # bit for bit: the same code
    np.testing.assert_array_equal(u.neg_gradient, -g)
    assert u.accepted == res.accepted and u.labels == ("W1[1,1]", "W2[1,1]")
    assert (u.momentum is not None) == (name in ("momentum", "vlbp"))
    assert (u.conjugate is not None) == (name == "cg")
    assert (u.lm_step is not None) == (name == "lm") and u.gauss_newton is not None


def test_momentum_term_and_step_decomposition():
    obj, opt, x = warmed("momentum", lr=4.0, gamma=0.8)
    u = update_vectors(obj, opt, x)
    np.testing.assert_array_equal(u.momentum, 0.8 * opt.dx)
    expected = u.momentum - 0.2 * 4.0 * obj.lr_scale * -u.neg_gradient
    np.testing.assert_allclose(u.step, expected, rtol=1e-12)


def test_conjugate_direction_is_minus_g_plus_beta_p():
    obj, opt, x = warmed("cg", epochs=1)
    u = update_vectors(obj, opt, x)
    g = -u.neg_gradient
    beta = conjugate_beta("fr", g, opt.g_prev)
    np.testing.assert_allclose(u.conjugate, -g + beta * opt.p, rtol=1e-14)
    cos = u.conjugate @ u.step / np.linalg.norm(u.conjugate) / np.linalg.norm(u.step)
    assert cos == pytest.approx(1.0, abs=1e-12)  # the step lies along the search line


def test_cg_line_search_trial_points():
    obj, opt, x = warmed("cg", epochs=2)
    ls = cg_line_search(obj, opt, x)
    f, g = obj.value_and_grad(x)
    res = opt.step(x, f, g, obj)
    np.testing.assert_array_equal(ls.x_new, res.x)
    assert ls.accepted and ls.alpha == opt.last_step
    phases = [t[0] for t in ls.trials]
    assert phases[0] == "locate" and "golden" in phases
    assert phases == sorted(phases, key=lambda p: p != "locate")  # locate, then golden
    loc = [t[1] for t in ls.trials if t[0] == "locate"]
    ratios = np.array(loc[1:]) / np.array(loc[:-1])  # halving into, or doubling out of, eps
    assert np.all((ratios == 0.5) | (ratios == 2.0))
    for (_, a, fa), p in zip(ls.trials, ls.points, strict=True):
        np.testing.assert_allclose(p, x + a * ls.u, rtol=1e-15)
        assert fa == obj.value(x + a * ls.u)
    gold = [t[1] for t in ls.trials if t[0] == "golden"]
    # the first two golden points split the bracket [a, b] found by interval location:
    # c = b - GOLD (b - a), d = a + GOLD (b - a)
    c, d = gold[:2]
    width = (d - c) / (2 * GOLD - 1)
    a, b = (c + d - width) / 2, (c + d + width) / 2
    assert b == pytest.approx(max(loc), rel=1e-12)
    assert a == pytest.approx(0.0, abs=1e-12 * b) or a == pytest.approx(sorted(loc)[-3], rel=1e-9)
    assert min(gold) <= ls.alpha <= max(gold) or ls.alpha in loc
    best = min(ls.trials, key=lambda t: t[2])
    assert obj.value(ls.x_new) <= best[2] + 1e-15


def test_cg_trace_does_not_change_the_run():
    e = get_experiment("cg")
    s = e.setup()
    obj = s.objective()
    runs = []
    for traced in (False, True):
        opt = s.make_optimizer()
        if traced:
            opt.trace = lambda kind, v: None
        runs.append([r.x for r in Trainer(obj, opt, s.start(), StopCriteria(epochs=20)).run()])
    np.testing.assert_array_equal(np.array(runs[0]), np.array(runs[1]))


def test_lm_curve_ends_and_accepted_mu():
    obj, opt, x = warmed("lm", epochs=2)
    c = lm_curve(obj, x, opt)
    f, g = obj.value_and_grad(x)
    res = opt.step(x, f, g, obj)
    np.testing.assert_array_equal(c.accepted_step, res.x - x)
    i = int(np.flatnonzero(c.mus == c.accepted_mu)[0])
    np.testing.assert_array_equal(x + c.steps[i], res.x)  # the curve passes through it
    assert np.all(np.diff(c.mus) < 0)
    lengths = np.linalg.norm(c.steps, axis=1)
    assert np.all(np.diff(lengths) >= -1e-12 * lengths.max())  # longer as mu falls
    # large mu: a short step along -g; small mu: the Gauss-Newton step
    d0 = c.steps[0]
    cos = d0 @ c.neg_gradient / np.linalg.norm(d0) / np.linalg.norm(c.neg_gradient)
    assert cos > 0.999999 and lengths[0] < 1e-4 * lengths[-1]
    np.testing.assert_allclose(c.steps[-1], c.gauss_newton, rtol=1e-4)


def test_gauss_newton_step_solves_a_linear_least_squares_problem():
    from bpgui_engine.model.data import Dataset
    from bpgui_engine.model.network import NetworkSpec

    rng = np.random.default_rng(2)
    spec = NetworkSpec(3, (1,), ("purelin",))
    P, T = rng.normal(size=(3, 10)), rng.normal(size=(1, 10))
    obj = Objective(spec, Dataset(P, T), np.zeros(4))
    u = update_vectors(obj, make_optimizer("sd"), np.zeros(4))
    w = np.linalg.lstsq(np.c_[P.T, np.ones(10)], T[0], rcond=None)[0]
    np.testing.assert_allclose(u.gauss_newton, w, rtol=1e-10)


def test_bad_requests():
    obj, opt, x = warmed("sd")
    with pytest.raises(ValueError, match="not cg"):
        cg_line_search(obj, opt, x)
    with pytest.raises(ValueError, match="not lm"):
        lm_curve(obj, x, opt)
    b = get_preset("book-1-2-1")
    ce = Objective(b.spec, b.data, b.theta, ["W1[1,1]"], performance="ce")
    with pytest.raises(ValueError, match="not a sum of squares"):
        lm_curve(ce, ce.x0())
    u = update_vectors(ce, make_optimizer("sd"), ce.x0())
    assert u.gauss_newton is None
