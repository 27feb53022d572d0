"""Issue 10 #12: cross-entropy with a logsig output trains through the fused kernel
(no general forward pass per epoch), with the general path's values."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.network import NetworkSpec
from bpgui_engine.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.trainer import StopCriteria, Trainer

from .conftest import random_problem

SPECS = [
    NetworkSpec(1, (2, 1), ("logsig", "logsig")),
    NetworkSpec(2, (3, 2), ("tansig", "logsig")),
    NetworkSpec(3, (4, 3, 2), ("logsig", "tansig", "logsig")),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_fused_cross_entropy_matches_the_general_path(spec):
    data, theta = random_problem(spec, "ce", seed=3)
    obj = Objective(spec, data, theta, performance="ce")
    rng = np.random.default_rng(4)
    for _ in range(5):
        x = obj.x0() + rng.normal(scale=3.0, size=obj.n_free)
        f, g = obj.value_and_grad(x)
        f1, g1 = obj.value_and_grad_batch(x)
        assert f == pytest.approx(float(f1), rel=1e-12)
        np.testing.assert_allclose(g, g1, rtol=1e-10, atol=1e-14)
        e = data.T - spec.output(obj.full(x), data.P)
        assert obj.sse(x) == pytest.approx(float((e * e).sum()), rel=1e-12)


def test_cross_entropy_epochs_need_no_general_forward_pass(monkeypatch):
    """Before: every epoch ran spec.forward (the batch path) and spec.output (the SSE the
    trainer records) -- 4-5x slower than SSE."""
    spec = SPECS[0]
    data, theta = random_problem(spec, "ce", seed=1)
    obj = Objective(spec, data, theta, performance="ce")
    calls = []
    monkeypatch.setattr(NetworkSpec, "forward", lambda *a, **k: calls.append("forward"))
    monkeypatch.setattr(NetworkSpec, "output", lambda *a, **k: calls.append("output"))
    tr = Trainer(obj, make_optimizer("sd", lr=0.5), obj.x0(), StopCriteria(epochs=200))
    with np.errstate(all="ignore"):
        recs = list(tr.run())
    assert len(recs) == 201 and not calls
    assert recs[-1].performance < recs[0].performance and np.isfinite(recs[-1].sse)
