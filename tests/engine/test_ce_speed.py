"""Issue 10 #12: cross-entropy (logsig or softmax output) and a softmax output under any
performance index train through the fused kernel (no general forward pass per epoch),
with the general path's values."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.trainer import StopCriteria, Trainer

from .conftest import random_problem

SPECS = [
    NetworkSpec(1, (2, 1), ("logsig", "logsig")),
    NetworkSpec(2, (3, 2), ("tansig", "logsig")),
    NetworkSpec(3, (4, 3, 2), ("logsig", "tansig", "logsig")),
    NetworkSpec(1, (2, 2), ("logsig", "softmax")),
    NetworkSpec(2, (3, 4, 3), ("tansig", "poslin", "softmax")),
]
SOFTMAX = [s for s in SPECS if s.transfers[-1] == "softmax"]
CASES = [(s, "ce", "") for s in SPECS] + [
    *((s, "ce", "soft targets") for s in SOFTMAX),  # rows not one-hot, columns not summing to 1
    *((s, p, "") for s in SOFTMAX for p in ("sse", "mse")),
]


@pytest.mark.parametrize(("spec", "perf", "variant"), CASES, ids=str)
def test_the_fused_kernel_matches_the_general_path(spec, perf, variant):
    data, theta = random_problem(spec, perf, seed=3)
    if variant:
        rng = np.random.default_rng(5)
        data = Dataset(data.P, rng.uniform(0, 2, data.T.shape))
    obj = Objective(spec, data, theta, performance=perf)
    rng = np.random.default_rng(4)
    for _ in range(5):
        x = obj.x0() + rng.normal(scale=3.0, size=obj.n_free)
        f, g = obj.value_and_grad(x)
        f1, g1 = obj.value_and_grad_batch(x)
        assert f == pytest.approx(float(f1), rel=1e-12)
        np.testing.assert_allclose(g, g1, rtol=1e-10, atol=1e-14)
        e = data.T - spec.output(obj.full(x), data.P)
        assert obj.sse(x) == pytest.approx(float((e * e).sum()), rel=1e-12)


@pytest.mark.parametrize(("spec", "perf"), [(SPECS[0], "ce"), (SPECS[3], "ce"), (SPECS[3], "sse")])
def test_epochs_need_no_general_forward_pass(monkeypatch, spec, perf):
    """Before: every epoch ran spec.forward (the batch path) and spec.output (the SSE the
    trainer records) -- 4-5x slower than SSE (a softmax output: always)."""
    data, theta = random_problem(spec, perf, seed=1)
    obj = Objective(spec, data, theta, performance=perf)
    calls = []
    monkeypatch.setattr(NetworkSpec, "forward", lambda *a, **k: calls.append("forward"))
    monkeypatch.setattr(NetworkSpec, "output", lambda *a, **k: calls.append("output"))
    tr = Trainer(obj, make_optimizer("sd", lr=0.5), obj.x0(), StopCriteria(epochs=200))
    with np.errstate(all="ignore"):
        recs = list(tr.run())
    assert len(recs) == 201 and not calls
    assert recs[-1].performance < recs[0].performance and np.isfinite(recs[-1].sse)
