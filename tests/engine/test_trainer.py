import math

import numpy as np
import pytest

from bpgui_engine.model.data import Dataset, function_dataset, split
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.trainer import STOP_REASONS, StopCriteria, Trainer


def book_trainer(book, start=(-4.0, -4.0), name="sd", **crit):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    return Trainer(obj, make_optimizer(name), list(start), StopCriteria(**crit))


def test_epoch_zero_is_the_start_point_and_records_are_immutable(book):
    recs = list(book_trainer(book, epochs=5).run())
    assert [r.epoch for r in recs] == list(range(6))
    np.testing.assert_array_equal(recs[0].x, [-4.0, -4.0])
    assert recs[0].stop is None and recs[-1].stop == "epochs"
    assert all(r.stop is None for r in recs[:-1])
    with pytest.raises(ValueError):
        recs[2].x[0] = 1.0
    obj = Objective(book.spec, book.data, book.theta, book.free)
    assert recs[3].sse == pytest.approx(obj.value(recs[3].x), rel=1e-12)
    assert recs[3].grad_norm == pytest.approx(np.linalg.norm(obj.value_and_grad(recs[3].x)[1]))
    assert recs[3].lr == 1.0 and math.isnan(recs[3].mu)


def test_stop_on_goal(book):
    recs = list(book_trainer(book, start=(8.0, 2.0), name="lm", epochs=100, goal=1e-8).run())
    assert recs[-1].stop == "goal" and recs[-1].sse <= 1e-8 < recs[-2].sse


def test_stop_on_min_grad(book):
    recs = list(book_trainer(book, start=(9.0, 1.2), epochs=100000, min_grad=1e-3).run())
    assert recs[-1].stop == "min_grad" and recs[-1].grad_norm <= 1e-3 < recs[-2].grad_norm


def test_already_at_the_goal_stops_at_epoch_zero(book):
    recs = list(book_trainer(book, start=(10.0, 1.0), epochs=100).run())
    assert len(recs) == 1 and recs[0].stop == "goal"


def test_diverging_run_stops_with_a_reason():
    spec = NetworkSpec(1, (3, 1), ("tansig", "purelin"))
    data = function_dataset("1 + sin(pi/4*p)", -2, 2, 21)
    obj = Objective(spec, data, np.random.default_rng(0).uniform(-1, 1, spec.n_params))
    with np.errstate(all="ignore"):
        recs = list(
            Trainer(obj, make_optimizer("sd", lr=1e6), obj.x0(), StopCriteria(epochs=10_000)).run()
        )
    assert recs[-1].stop == "diverged"
    assert recs[-1].epoch < 10_000
    assert all(np.isfinite(r.sse) for r in recs[:-1])


def test_time_limit(book):
    recs = list(book_trainer(book, epochs=10**9, max_time=0.2).run())
    assert recs[-1].stop == "time" and recs[-1].epoch > 10


def test_weights_stop_changing(book):
    # right next to the optimum steepest descent reaches a floating-point fixed point
    recs = list(book_trainer(book, start=(10.001, 1.0), epochs=10**7).run())
    assert recs[-1].stop == "no_change"
    assert np.array_equal(recs[-1].x, recs[-2].x) and not np.array_equal(recs[-2].x, recs[-3].x)


def test_validation_failures_stop_the_run():
    spec = NetworkSpec(1, (8, 1), ("tansig", "purelin"))
    data = function_dataset("sin(2*p)", -2, 2, 30, noise=0.3, seed=1)
    train, val = split(data, 0.5, seed=2)
    obj = Objective(
        spec, train, np.random.default_rng(1).uniform(-1, 1, spec.n_params), validation=val
    )
    recs = list(
        Trainer(obj, make_optimizer("lm"), obj.x0(), StopCriteria(epochs=2000, max_fail=4)).run()
    )
    assert recs[-1].stop == "validation"
    v = [r.val_performance for r in recs]
    assert all(np.isfinite(v))
    best = int(np.argmin(v))
    assert recs[-1].epoch - recs[best].epoch == 4
    assert all(v[k] > v[best] for k in range(best + 1, len(v)))


def test_other_performance_indices_report_sse_too():
    spec = NetworkSpec(1, (2, 1), ("tansig", "logsig"))
    data = Dataset(np.linspace(-1, 1, 10)[None], (np.linspace(-1, 1, 10) > 0)[None].astype(float))
    for perf in ("mse", "ce"):
        obj = Objective(spec, data, np.full(spec.n_params, 0.3), performance=perf)
        r = list(Trainer(obj, make_optimizer("sd"), obj.x0(), StopCriteria(epochs=3)).run())[-1]
        assert r.sse == pytest.approx(obj.sse(r.x), rel=1e-12)
        assert r.performance == pytest.approx(obj.value(r.x), rel=1e-12)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"epochs": -1}, "epochs"),
        ({"goal": -1.0}, "goal"),
        ({"min_grad": float("nan")}, "min_grad"),
        ({"max_fail": 0}, "max_fail"),
        ({"max_time": 0}, "max_time"),
    ],
)
def test_criteria_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        StopCriteria(**kw)


def test_bad_start(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    with pytest.raises(ValueError, match="expected 2 values"):
        Trainer(obj, make_optimizer("sd"), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        Trainer(obj, make_optimizer("sd"), [1.0, np.nan])


def test_every_stop_reason_has_a_message():
    for reason in (
        "epochs",
        "goal",
        "min_grad",
        "no_change",
        "validation",
        "time",
        "diverged",
        "mu_max",
        "no_step",
    ):
        assert STOP_REASONS[reason]
