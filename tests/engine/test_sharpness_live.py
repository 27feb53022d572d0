"""The sharpness sampled along a run (issue 22 #3): the probe's λmax against a converged
Lanczos, its budget, and the stability bounds against the iterations they bound."""

import numpy as np
import pytest

from bpgui_engine.analysis.spectrum import sharpness
from bpgui_engine.model.problem import plane_setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.sharpness import SharpnessProbe, stability_bound
from bpgui_engine.train.trainer import StopCriteria, Trainer


def _setup():
    return plane_setup("moons:samples=80", layers=(6,), performance="mse", seed=3)


def test_samples_land_on_multiples_of_every_and_agree_with_a_converged_lanczos():
    s = _setup().replace(optimizer="sd", hyper={"lr": 0.5}, criteria=StopCriteria(epochs=60))
    obj = s.objective()
    probe = SharpnessProbe(every=20, budget=0.0)  # exact: every multiple is sampled
    got = {}
    for rec in Trainer(obj, s.make_optimizer(), s.start(), s.criteria).run():
        probe.trained(1.0)
        lam = probe.sample(obj, rec.x, rec.epoch)
        if lam is not None:
            got[rec.epoch] = (lam, rec.x)
        cap = probe.cap(rec.epoch)
        assert cap == 20 - rec.epoch % 20
    assert sorted(got) == [0, 20, 40, 60]
    for _, (lam, x) in got.items():
        assert lam == pytest.approx(sharpness(obj, x, tol=1e-10), rel=1e-5)
        # the Hessian of the per-sample mean: for the MSE that is the index itself
        assert lam == pytest.approx(np.linalg.eigvalsh(obj.hessian(x))[-1], rel=1e-5)


def test_the_budget_thins_samples_and_off_means_none():
    s = _setup()
    obj, x = s.objective(), s.start()
    probe = SharpnessProbe(every=5)  # within 15 % of the run's time
    assert probe.cap(0) is None  # blocks are never split within a budget
    assert probe.sample(obj, x, 0) is not None  # the first sample: no cost known yet
    cost = probe.last_cost
    assert cost > 0 and probe.probe_s == cost
    probe.trained(2 * cost)  # the run went on: not yet five times the samples' cost
    assert probe.sample(obj, x, 7) is None
    probe.trained(20 * cost)
    assert probe.sample(obj, x, 9) is not None  # 9 >= 0 + 5 epochs, and within 15 %
    probe.trained(1e9)
    assert probe.sample(obj, x, 12) is None  # fewer than 5 epochs after the last
    assert probe.sample(obj, x, 14) is not None
    assert probe.probe_s <= 0.15 * probe.train_s
    off = SharpnessProbe(0)
    assert off.cap(0) is None and off.sample(obj, x, 0) is None


def _quadratic_run(step, lam, lr, gamma=0.0, epochs=400):
    """``F = lam x^2 / 2`` run by the optimizer's own update rule, re-implemented."""
    x, dx = 1.0, 0.0
    for _ in range(epochs):
        g = lam * x
        if step == "sd":
            x = x - lr * g
        else:  # the book's momentum (eq. 12.28): dx = gamma dx - (1 - gamma) lr g
            dx = gamma * dx - (1 - gamma) * lr * g
            x = x + dx
    return abs(x)


@pytest.mark.parametrize(
    ("opt", "hyper"), [("sd", {"lr": 0.3}), ("momentum", {"lr": 0.3, "gamma": 0.8})]
)
def test_stability_bounds_are_where_the_iteration_turns_unstable(opt, hyper):
    h = OPTIMIZERS[opt].Hyper.from_dict(hyper)
    bound, formula = stability_bound(opt, h)
    assert "lr" in formula
    gamma = hyper.get("gamma", 0.0)
    assert _quadratic_run(opt, 0.98 * bound, hyper["lr"], gamma) < 1e-2
    assert _quadratic_run(opt, 1.02 * bound, hyper["lr"], gamma) > 1.0


def test_no_bound_for_adaptive_methods_or_per_layer_rates():
    assert stability_bound("adam", OPTIMIZERS["adam"].Hyper.from_dict({"lr": 0.01})) is None
    assert stability_bound("lm", OPTIMIZERS["lm"].Hyper.from_dict({})) is None
    h = OPTIMIZERS["sd"].Hyper.from_dict({"lr": 0.1, "lr_layers": [0.1, 0.2]})
    assert stability_bound("sd", h) is None
