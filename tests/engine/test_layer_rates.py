"""Per-layer learning rates (``lr_layers``) of the first-order optimizers."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from bpgui_engine import jit
from bpgui_engine.model.experiments import DEEP_RATES, get_experiment
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset
from bpgui_engine.model.problem import parse_hyper, setup_from_options
from bpgui_engine.model.setup import setup_from_dict, setup_to_dict
from bpgui_engine.optim import OPTIMIZERS, make_optimizer
from bpgui_engine.train.fast import FastTrainer, fast_train_batch
from bpgui_engine.train.trainer import StopCriteria, Trainer

FIRST_ORDER = ("sd", "momentum", "vlbp", "sgd", "adam")


def book_all_free() -> Objective:
    b = get_preset("book-1-2-1")
    x = b.theta + np.random.default_rng(0).normal(scale=0.5, size=b.theta.size)
    return Objective(b.spec, b.data, x)  # all 7 free: 4 in layer 1, 3 in layer 2


LAYER = np.array([1.0, 1, 1, 1, 0.1, 0.1, 0.1])  # (1, 0.1) per parameter of the book network


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_field_is_declared_for_the_form(name):
    f = {f.name: f for f in dataclasses.fields(OPTIMIZERS[name].Hyper)}["lr_layers"]
    assert f.default == 1.0 and f.metadata["per_layer"] and f.metadata["label"]
    assert "lr_layers" not in {f.name for f in dataclasses.fields(OPTIMIZERS["cg"].Hyper)}


@pytest.mark.parametrize(
    "value, ok",
    [((1, 0.1), (1.0, 0.1)), ([2, 3], (2.0, 3.0)), (0.5, 0.5), (np.array([1.0, 2.0]), (1.0, 2.0)),
     ((), None), ((1, 0), None), ((1, -1), None), ((1, np.inf), None), (("a",), None),
     ((True, 1), None), ("fast", None)],
)  # fmt: skip
def test_validation(value, ok):
    if ok is None:
        with pytest.raises(ValueError, match="lr_layers"):
            make_optimizer("sd", lr_layers=value)
    else:
        assert make_optimizer("sd", lr_layers=value).hyper.lr_layers == ok


def test_json_round_trip_as_a_list():
    h = make_optimizer("momentum", lr_layers=(1.0, 0.1)).hyper
    doc = json.loads(json.dumps(h.to_dict()))
    assert doc["lr_layers"] == [1.0, 0.1]
    assert type(h).from_dict(doc) == h
    s, _ = setup_from_options(optimizer="sd", hyper=["lr=2", "lr_layers=1,0.1"], start=[0, 0])
    assert setup_from_dict(json.loads(json.dumps(setup_to_dict(s)))) == s


def test_parse_hyper():
    assert parse_hyper("sd", ["lr_layers=1,0.1"]) == {"lr_layers": (1.0, 0.1)}
    assert parse_hyper("adam", ["lr_layers=0.5"]) == {"lr_layers": 0.5}
    with pytest.raises(ValueError, match="lr_layers needs numbers separated by commas"):
        parse_hyper("sd", ["lr_layers=1,x"])
    with pytest.raises(ValueError, match="lr_layers: 3 value"):
        setup_from_options(optimizer="sd", hyper=["lr_layers=1,1,1"], start=[0, 0])
    with pytest.raises(ValueError, match="lr_layers"):
        setup_from_options(optimizer="sd", hyper=["lr_layers=1,0"], start=[0, 0])


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_all_ones_is_bit_for_bit_the_plain_method(name):
    obj = book_all_free()
    x = obj.x0()
    runs = []
    for rates in (1.0, (1.0, 1.0)):
        opt = make_optimizer(name, seed=3, lr_layers=rates)
        xs = [x]
        for _ in range(3):
            f, g = obj.value_and_grad(xs[-1])
            xs.append(opt.step(xs[-1], f, g, obj).x)
        runs.append(np.array(xs))
    np.testing.assert_array_equal(runs[0], runs[1])


def _first_steps(name, rates, n=2):
    obj = book_all_free()
    x = obj.x0()
    opt = make_optimizer(name, seed=3, lr=0.5, lr_layers=rates)
    out = []
    for _ in range(n):
        f, g = obj.value_and_grad(x)
        x_new = opt.step(x, f, g, obj).x
        out.append((x, g, x_new - x))
        x = x_new
    return obj, out


def test_sd_and_momentum_scale_each_layers_step():
    obj, steps = _first_steps("sd", (1.0, 0.1))
    for _, g, dx in steps:
        np.testing.assert_allclose(dx, -0.5 * obj.lr_scale * LAYER * g, rtol=1e-9)
    obj, steps = _first_steps("momentum", (1.0, 0.1))
    gamma = OPTIMIZERS["momentum"].Hyper().gamma
    d1 = -(1 - gamma) * 0.5 * obj.lr_scale * LAYER * steps[0][1]
    d2 = gamma * d1 - (1 - gamma) * 0.5 * obj.lr_scale * LAYER * steps[1][1]
    np.testing.assert_allclose(steps[0][2], d1, rtol=1e-9)
    np.testing.assert_allclose(steps[1][2], d2, rtol=1e-9)


def test_vlbp_scales_the_trial_step():
    obj, steps = _first_steps("vlbp", (1.0, 0.1), n=1)
    gamma = OPTIMIZERS["vlbp"].Hyper().gamma
    _, g, dx = steps[0]
    np.testing.assert_allclose(dx, -(1 - gamma) * 0.5 * obj.lr_scale * LAYER * g, rtol=1e-9)


def test_sgd_scales_every_minibatch_step():
    obj, steps = _first_steps("sgd", (1.0, 0.1), n=1)
    x0 = steps[0][0]
    order = np.random.default_rng(3).permutation(obj.data.n_samples)
    x = x0.copy()
    for q in order:  # batch size 1: one sample's gradient at a time
        _, gq = obj.value_and_grad_batch(x, samples=np.array([q]))
        x = x - 0.5 * obj.perf.lr_scale(1) * LAYER * gq
    np.testing.assert_allclose(x0 + steps[0][2], x, rtol=1e-13)


def test_adam_scales_the_step_not_the_gradient():
    _, plain = _first_steps("adam", 1.0)
    _, scaled = _first_steps("adam", (1.0, 0.1))
    np.testing.assert_allclose(scaled[0][2], plain[0][2] * LAYER, rtol=1e-9)


def test_wrong_number_of_layers_is_an_error_at_the_step():
    obj = book_all_free()
    f, g = obj.value_and_grad(obj.x0())
    with pytest.raises(ValueError, match="lr_layers: 3 value.*2 layer"):
        make_optimizer("sd", lr_layers=(1, 1, 0.1)).step(obj.x0(), f, g, obj)


def test_fast_trainer_runs_layer_rates_on_numpy_and_equals_the_trainer():
    obj = book_all_free()
    crit = StopCriteria(epochs=300)
    fast = FastTrainer(obj, make_optimizer("momentum", lr_layers=(1.0, 0.1)), obj.x0(), crit)
    assert fast.kernel == "numpy" and "lr_layers" in fast.kernel_note
    xf = np.concatenate([b.x for b in fast.blocks()])
    recs = list(
        Trainer(obj, make_optimizer("momentum", lr_layers=(1.0, 0.1)), obj.x0(), crit).run()
    )
    np.testing.assert_array_equal(xf, np.array([r.x for r in recs]))


@pytest.mark.skipif(jit.kernels() is None, reason="numba unavailable")
def test_layer_rates_set_during_a_compiled_run_switch_it_to_numpy():
    obj = book_all_free()
    opt = make_optimizer("sd", lr=0.5)
    fast = FastTrainer(obj, opt, obj.x0(), StopCriteria(epochs=50))
    assert fast.kernel == "numba"
    fast.max_block = 10
    blocks = fast.blocks()
    next(blocks)
    opt.hyper = opt.hyper.replace(lr_layers=(1.0, 0.1))
    rest = np.concatenate([b.x for b in blocks])
    assert fast.kernel == "numpy"
    for a, b in itertools.pairwise(rest):  # every later step is layer-scaled
        _, g = obj.value_and_grad(a)
        np.testing.assert_allclose(b - a, -0.5 * obj.lr_scale * LAYER * g, rtol=1e-9, atol=1e-15)


def test_batch_maps_refuse_layer_rates():
    obj = book_all_free()
    with pytest.raises(ValueError, match="lr_layers"):
        fast_train_batch(obj, obj.x0()[None], "sd", {"lr_layers": (1.0, 0.1)}, epochs=2)


def test_deep_experiment_scaled_rates_reach_the_goal_far_sooner():
    e = get_experiment("deep-layer-rates")
    s = e.setup()
    assert s.hyper["lr_layers"] == DEEP_RATES and s.spec.n_layers == 4
    obj = s.objective()
    scaled = list(Trainer(obj, s.make_optimizer(), s.start(), s.criteria).run())
    assert scaled[-1].stop == "goal" and scaled[-1].epoch < 500
    equal = s.replace(hyper={**s.hyper, "lr_layers": 1.0})
    crit = StopCriteria(epochs=20 * scaled[-1].epoch, goal=s.criteria.goal)
    recs = list(Trainer(obj, equal.make_optimizer(), s.start(), crit).run())
    assert recs[-1].stop == "epochs" and recs[-1].performance > 2 * s.criteria.goal
    # why: the first layer's gradient is far smaller than the last layer's
    _, g = obj.value_and_grad(s.start())
    layer = s.spec.layer_of[obj.free_idx]
    assert np.linalg.norm(g[layer == 3]) > 30 * np.linalg.norm(g[layer == 0])
