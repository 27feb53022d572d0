import dataclasses
import itertools
import json

import numpy as np
import pytest

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import OPTIMIZERS, make_optimizer
from bpgui_engine.train.trainer import StopCriteria, Trainer

ALL = list(OPTIMIZERS)


def test_registry_has_the_issue_names():
    assert ALL == ["sd", "sgd", "momentum", "vlbp", "cg", "lm", "adam", "rprop", "quickprop",
                   "nesterov", "rmsprop", "adagrad", "adamw", "scg", "bfgs", "lbfgs", "oss",
                   "br"]  # fmt: skip
    for name, cls in OPTIMIZERS.items():
        for f in dataclasses.fields(cls.Hyper):
            assert f.metadata["label"], (name, f.name)


@pytest.mark.parametrize(
    "name, kw, match",
    [
        ("sd", {"lr": -1}, r"lr: -1.0 is outside the allowed range \(0, 1e\+06\]"),
        ("sd", {"lr": 0}, "lr"),
        ("sd", {"lr": float("nan")}, "finite"),
        ("sd", {"lr": "fast"}, "number"),
        ("sd", {"speed": 1}, "unknown hyperparameter 'speed'"),
        ("momentum", {"gamma": 1.0}, r"gamma.*\[0, 1\)"),
        ("momentum", {"gamma": -0.1}, "gamma"),
        ("vlbp", {"rho": 1.5}, "rho"),
        ("vlbp", {"eta": 0.5}, "eta"),
        ("cg", {"beta": "hs"}, "beta: must be one of fr, pr"),
        ("cg", {"restart": 1.5}, "restart: must be an integer"),
        ("lm", {"theta": 1.0}, r"theta.*\(1, 1e\+06\]"),
        ("lm", {"mu": 10.0, "mu_max": 1.0}, "above mu_max"),
        ("sgd", {"batch_size": 0}, "batch_size"),
        ("adam", {"beta2": 1.0}, "beta2"),
    ],
)
def test_hyperparameters_are_validated(name, kw, match):
    with pytest.raises(ValueError, match=match):
        make_optimizer(name, **kw)


def quadratic_objective():
    """A linear network on linear data: the SSE is an exact quadratic with minimum w=2, b=-1."""
    spec = NetworkSpec(1, (1,), ("purelin",))
    P = np.linspace(-1, 1, 9)[None, :]
    return Objective(spec, Dataset(P, 2 * P - 1), np.zeros(2))


@pytest.mark.parametrize("name", ALL)
def test_each_optimizer_solves_a_quadratic(name):
    obj = quadratic_objective()
    # per-sample curvature of ||e||^2 is 2 p^2 <= 2: lr = 1 would oscillate on the bias
    kw = {"adam": {"lr": 0.05}, "sd": {"lr": 0.3}, "sgd": {"lr": 0.3},
          "adamw": {"lr": 0.05, "weight_decay": 0.0}}.get(name, {})  # fmt: skip
    tr = Trainer(obj, make_optimizer(name, **kw), [5.0, 5.0], StopCriteria(epochs=5000, goal=1e-10))
    recs = list(tr.run())
    assert recs[-1].sse < 1e-8, (name, recs[-1])
    np.testing.assert_allclose(recs[-1].x, [2.0, -1.0], atol=1e-4)


def test_cg_and_lm_solve_a_quadratic_in_n_steps():
    # CG with exact line search: n steps on an n-dim quadratic; LM with tiny mu ~ Gauss-Newton: 1
    obj = quadratic_objective()
    cg = list(
        Trainer(obj, make_optimizer("cg", tol=1e-12), [5.0, 5.0], StopCriteria(epochs=2)).run()
    )
    assert cg[-1].sse < 1e-12
    lm = list(
        Trainer(obj, make_optimizer("lm", mu=1e-12), [5.0, 5.0], StopCriteria(epochs=1)).run()
    )
    assert lm[-1].sse < 1e-20


def test_sd_step_is_learning_rate_times_the_sample_averaged_gradient(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    x = np.array([-4.0, -4.0])
    f, g = obj.value_and_grad(x)
    res = make_optimizer("sd", lr=0.5).step(x, f, g, obj)
    np.testing.assert_allclose(res.x, x - 0.5 * g / 41, rtol=1e-15)


@pytest.mark.parametrize("name", ALL)
def test_each_optimizer_lowers_the_error_on_the_book_problem(name, book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    recs = list(Trainer(obj, make_optimizer(name), [-4.0, -4.0], StopCriteria(epochs=300)).run())
    assert recs[-1].sse < 0.9 * recs[0].sse, name


@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_resumes_exactly(name, book):
    """N epochs, state through JSON, a fresh optimizer, M more == N+M in one go, bit for bit."""
    obj = Objective(book.spec, book.data, book.theta, book.spec.labels)
    x0 = book.theta + np.random.default_rng(0).uniform(-1, 1, 7)
    n, total = (5, 10) if name in ("lm", "br") else (25, 40)  # LM converges in ~13 epochs here
    full = list(Trainer(obj, make_optimizer(name, seed=7), x0, StopCriteria(epochs=total)).run())
    opt = make_optimizer(name, seed=7)
    first = list(Trainer(obj, opt, x0, StopCriteria(epochs=n)).run())
    assert first[-1].stop == "epochs" and full[-1].epoch == total, "pick a run that lasts"
    state = json.loads(json.dumps(opt.state_dict()))
    opt2 = make_optimizer(name, seed=7)
    opt2.load_state_dict(state)
    rest = list(
        Trainer(obj, opt2, first[-1].x, StopCriteria(epochs=total), epoch=first[-1].epoch).run(
            emit_start=False
        )
    )
    joined = first + rest
    assert [r.epoch for r in joined] == [r.epoch for r in full]
    for a, b in zip(joined, full, strict=True):
        assert np.array_equal(a.x, b.x) and a.sse == b.sse, (name, a.epoch)


def test_lm_always_terminates_even_when_no_step_helps(book):
    # at a minimum nothing lowers the error; theta barely above 1 still ends
    obj = Objective(book.spec, book.data, book.theta, book.free)
    crit = StopCriteria(epochs=1000)
    at_min = list(Trainer(obj, make_optimizer("lm"), [0.9, 38.0], crit).run())[-1]
    assert at_min.stop == "mu_max"
    opt = make_optimizer("lm", theta=1.001, mu_max=1e3)
    recs = list(Trainer(obj, opt, at_min.x, crit).run())
    assert recs[-1].stop in ("mu_max", "no_step") and len(recs) <= 20  # a few ulp-sized gains
    assert recs[-1].stop == "no_step" or opt.mu > 1e3


def test_vlbp_rejects_and_shrinks_the_rate(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    opt = make_optimizer("vlbp", lr=1e4)
    recs = list(Trainer(obj, opt, [-4.0, -4.0], StopCriteria(epochs=50)).run())
    rejected = [
        r for r, prev in zip(recs[1:], recs[:-1], strict=False) if np.array_equal(r.x, prev.x)
    ]
    assert rejected, "a too-large rate must be rejected at least once"
    assert min(r.lr for r in recs) < 1e4 * 0.7 + 1e-9
    sse = [r.sse for r in recs]
    assert all(b <= a * 1.04 + 1e-15 for a, b in itertools.pairwise(sse))


def test_sgd_incremental_differs_from_batch_and_is_seeded(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    crit = StopCriteria(epochs=20)

    def run(name, seed):
        return list(Trainer(obj, make_optimizer(name, seed=seed), [-4.0, -4.0], crit).run())[-1].x

    assert np.array_equal(run("sgd", 1), run("sgd", 1))
    assert not np.array_equal(run("sgd", 1), run("sgd", 2))
    assert not np.array_equal(run("sgd", 1), run("sd", 1))


def test_hyperparameters_can_change_between_epochs(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    opt = make_optimizer("sd", lr=1.0)
    it = Trainer(obj, opt, [-4.0, -4.0], StopCriteria(epochs=10)).run()
    next(it), next(it)
    opt.hyper = opt.hyper.replace(lr=3.0)
    assert next(it).lr == 3.0
    with pytest.raises(ValueError):
        opt.hyper.replace(lr=-3.0)


@pytest.mark.parametrize("beta", ["fr", "pr", "pr+"])
def test_cg_directions_match_a_hand_computation_of_each_beta(beta):
    """On the book's problem (all seven parameters free, no periodic restart) every new
    direction is p = -g + beta p_prev with beta computed here by plain loops; when p is
    not downhill the search restarts along -g.  PR and PR+ must differ somewhere."""
    from bpgui_engine.model.presets import get_preset

    book = get_preset("book-1-2-1")
    obj = Objective(book.spec, book.data, book.theta, free=list(book.spec.labels))
    opt = make_optimizer("cg", beta=beta, restart=10_000)
    x = book.theta + np.random.default_rng(0).uniform(-5, 5, 7)
    f, g = obj.value_and_grad(x)
    negative_pr = 0
    for _ in range(40):
        p_prev = None if opt.p is None else [float(v) for v in opt.p]
        g_prev = None if opt.g_prev is None else [float(v) for v in opt.g_prev]
        res = opt.step(x, f, g, obj)
        if res.x is x:  # the line search found nothing lower: the run would stop here
            break
        gl = [float(v) for v in g]
        if p_prev is None:
            want = [-v for v in gl]
        else:
            gg_prev = sum(v * v for v in g_prev)
            fr = sum(v * v for v in gl) / gg_prev
            pr = sum((a - b) * a for a, b in zip(gl, g_prev, strict=True)) / gg_prev
            negative_pr += pr < 0
            b = {"fr": fr, "pr": pr, "pr+": max(0.0, pr)}[beta]
            want = [-a + b * c for a, c in zip(gl, p_prev, strict=True)]
            if sum(a * c for a, c in zip(want, gl, strict=True)) >= 0:  # not downhill
                want = [-v for v in gl]
        np.testing.assert_allclose(opt.p, want, rtol=1e-12, atol=1e-300)
        x, f, g = res.x, res.value, res.grad
    if beta != "fr":
        assert negative_pr > 0, "no step exercised a negative Polak-Ribiere beta"


def test_cg_pr_and_pr_plus_differ_only_where_pr_is_negative():
    from bpgui_engine.optim.cg import conjugate_beta

    g_prev = np.array([1.0, 0.0])
    g = np.array([0.5, 0.1])  # (g - g_prev).g = -0.25 + 0.01 = -0.24
    assert conjugate_beta("fr", g, g_prev) == pytest.approx(0.26)
    assert conjugate_beta("pr", g, g_prev) == pytest.approx(-0.24)
    assert conjugate_beta("pr+", g, g_prev) == 0.0
    g = np.array([1.5, 0.0])  # (g - g_prev).g = 0.75
    assert conjugate_beta("pr", g, g_prev) == conjugate_beta("pr+", g, g_prev) == 0.75
