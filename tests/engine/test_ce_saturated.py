"""Issue 18 #21: cross-entropy at saturated outputs, on every path, against a 50-digit reference.

Before, the fused kernel computed the logsig loss as ``softplus(n) - t n`` (and every softmax
path as ``lse(n) - n``), which cancels to exactly 0.0 once the output saturates: a default run
(goal 0) then stopped with "goal met" at epoch 0 although F was 1.6e-18.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine import jit
from bpgui_engine.analysis.hessian import value_grad_hessian
from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.fast import FastTrainer, fast_train_batch
from bpgui_engine.train.fast_surface import fast_surface
from bpgui_engine.train.trainer import StopCriteria, Trainer

mpmath = pytest.importorskip("mpmath")
mp = mpmath.mp

SPECS = [
    NetworkSpec(1, (2, 1), ("logsig", "logsig")),
    NetworkSpec(2, (3, 2), ("tansig", "logsig")),
    NetworkSpec(1, (2, 2), ("logsig", "softmax")),
    NetworkSpec(2, (3, 3), ("poslin", "softmax")),
]
needs_numba = pytest.mark.skipif(jit.kernel_name() != "numba", reason="numba unavailable")


def saturated_problem(spec: NetworkSpec, margin: float, seed: int = 0):
    """Random inputs and hidden layer; the output layer scaled so that every sample's
    smallest margin is ``margin`` and the targets are the outputs' own (hard) classes."""
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(spec.n_inputs, 6))
    theta = rng.normal(size=spec.n_params)
    w, b = spec.slices[-1]
    n = spec.forward(theta, P).n[-1]
    if spec.transfers[-1] == "softmax":
        top = np.sort(n, axis=0)
        theta[w.start : b.stop] *= margin / np.min(top[-1] - top[-2])
    else:  # per output row, the smallest margin on a target of 1 (where t n cancelled)
        k = np.argmin(np.abs(n), axis=1)
        c = margin / n[np.arange(len(n)), k]
        S = spec.sizes[-1]
        theta[w] *= np.repeat(c, theta[w].size // S)
        theta[b] *= c
    n = spec.forward(theta, P).n[-1]
    if spec.transfers[-1] == "softmax":
        T = (n == n.max(axis=0)).astype(float)
    else:
        T = (n > 0).astype(float)
    return Dataset(P, T), theta


def mp_cross_entropy(spec: NetworkSpec, data: Dataset, theta: np.ndarray):
    """The mean cross-entropy in 50-digit arithmetic from the same float64 parameters."""
    with mp.workdps(50):
        a = mpmath.matrix(data.P.tolist())
        layers = zip(spec.slices, spec.fan_ins, spec.sizes, spec.transfers, strict=True)
        for (w, b), r, s, f in layers:
            W = mpmath.matrix(theta[w].reshape(s, r).tolist())
            n = W * a
            for i in range(s):
                for q in range(n.cols):
                    n[i, q] += mpmath.mpf(float(theta[b][i]))
            a = _mp_transfer(f, n)
        T, Q = data.T, data.n_samples
        tot = mpmath.mpf(0)
        for q in range(Q):
            if spec.transfers[-1] == "softmax":
                lse = mpmath.log(mpmath.fsum(mpmath.exp(n[i, q]) for i in range(n.rows)))
                tot += mpmath.fsum(-T[i, q] * (n[i, q] - lse) for i in range(n.rows))
            else:
                for i in range(n.rows):
                    t, nn = mpmath.mpf(float(T[i, q])), n[i, q]
                    tot += t * mpmath.log1p(mpmath.exp(-nn)) + (1 - t) * mpmath.log1p(
                        mpmath.exp(nn)
                    )
        return tot / Q


def _mp_transfer(name: str, n):
    out = n.copy()
    for i in range(n.rows):
        for q in range(n.cols):
            v = n[i, q]
            out[i, q] = {
                "logsig": lambda v: 1 / (1 + mpmath.exp(-v)),
                "tansig": mpmath.tanh,
                "poslin": lambda v: max(v, mpmath.mpf(0)),
                "purelin": lambda v: v,
                "softmax": lambda v: v,  # the loss reads n^M
            }[name](v)
    return out


CASES = [(s, m) for s in SPECS for m in (38.0, 45.0)]


@pytest.fixture(params=CASES, ids=lambda c: f"{'-'.join(c[0].transfers)}-margin{c[1]:g}")
def case(request):
    spec, margin = request.param
    data, theta = saturated_problem(spec, margin)
    ref = float(mp_cross_entropy(spec, data, theta))
    assert 0.0 < ref < 1e-14  # saturated, yet not 0
    return spec, data, theta, ref


def test_every_numpy_path_keeps_the_tiny_loss(case):
    spec, data, theta, ref = case
    obj = Objective(spec, data, theta, performance="ce")
    x = obj.x0()
    assert obj.value(x) == pytest.approx(ref, rel=1e-10, abs=0)
    assert obj.value_and_grad(x)[0] == pytest.approx(ref, rel=1e-10, abs=0)  # the fused kernel
    assert float(obj.value_and_grad_batch(x[None])[0][0]) == pytest.approx(ref, rel=1e-10, abs=0)
    F, _, _ = value_grad_hessian(spec, data.P, data.T, obj.perf, theta)
    assert float(F) == pytest.approx(ref, rel=1e-10, abs=0)
    lx, ly = spec.label(0), spec.label(1)
    s = evaluate_surface(spec, data, theta, lx, (theta[0], theta[0] + 1), ly,
                         (theta[1], theta[1] + 1), 2, "ce")  # fmt: skip
    assert s.values[0, 0] == pytest.approx(ref, rel=1e-10, abs=0)


@needs_numba
def test_every_compiled_path_keeps_the_tiny_loss(case):
    spec, data, theta, ref = case
    obj = Objective(spec, data, theta, performance="ce")
    x = obj.x0()
    ft = FastTrainer(obj, make_optimizer("sd", lr=0.1), x, StopCriteria(epochs=1))
    assert ft.kernel == "numba"
    first = next(iter(ft.run()))
    assert first.performance == pytest.approx(ref, rel=1e-10, abs=0)
    res = fast_train_batch(obj, x[None], "sd", {"lr": 0.1}, epochs=0)
    assert float(res.performance[0]) == pytest.approx(ref, rel=1e-10, abs=0)
    lx, ly = spec.label(0), spec.label(1)
    s = fast_surface(spec, data, theta, lx, (theta[0], theta[0] + 1), ly,
                     (theta[1], theta[1] + 1), 2, "ce")  # fmt: skip
    assert s.values[0, 0] == pytest.approx(ref, rel=1e-10, abs=0)


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_a_default_run_is_not_goal_met_at_a_saturated_start(kernel):
    """Goal 0 is met only by F == 0, which cross-entropy never reaches."""
    if kernel == "numba" and jit.kernel_name() != "numba":
        pytest.skip("numba unavailable")
    spec = SPECS[0]
    data, theta = saturated_problem(spec, 40.0)
    obj = Objective(spec, data, theta, performance="ce")
    cls = Trainer if kernel == "numpy" else FastTrainer
    tr = cls(obj, make_optimizer("sd", lr=0.1), obj.x0(), StopCriteria(epochs=5))
    recs = list(tr.run())
    assert recs[0].performance > 0.0
    assert recs[-1].stop != "goal"  # here "no_change": a 1e-18 gradient moves nothing
