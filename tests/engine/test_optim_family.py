"""Issue 23: every added method's first 20 iterates on the book problem from (−4, −4)
against its published rule, re-implemented here one parameter at a time in plain Python
(not the module's vectorized code), to 1e-12 relative; validation of the hyperparameters.

The gradients come from the engine's backprop (checked against finite differences in
``test_gradcheck``); each reference keeps its own state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.model.penalty import weight_mask
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.trainer import StopCriteria, Trainer

X0 = (-4.0, -4.0)
N = 20


def _book(all_free: bool = False):
    s = get_experiment("trajectory-a").setup()
    if all_free:
        s = s.replace(free=s.spec.labels)
    return s.objective()


def _engine(obj, name, x0, **hyper):
    recs = list(Trainer(obj, make_optimizer(name, **hyper), np.array(x0, float),
                        StopCriteria(epochs=N)).run())  # fmt: skip
    return np.array([r.x for r in recs])


def _reference(obj, x0, rule):
    """Iterates of ``rule(x, f, g, state) -> x_new`` (lists of floats)."""
    x = [float(v) for v in x0]
    out, state = [list(x)], {}
    for _ in range(N):
        f, g = obj.value_and_grad(np.array(x))
        x = rule(x, float(f), [float(v) for v in g], state)
        out.append(list(x))
    return np.array(out)


def _sign(v):
    return (v > 0) - (v < 0)


def rprop_rule(h, variant):
    def rule(x, f, g, st):
        n = len(x)
        delta = st.setdefault("delta", [h["delta0"]] * n)
        gp = st.setdefault("g", [0.0] * n)
        dxp = st.setdefault("dx", [0.0] * n)
        fprev = st.get("f")
        new = list(x)
        for i in range(n):
            p = gp[i] * g[i]
            if p > 0:
                delta[i] = min(delta[i] * h["eta_plus"], h["delta_max"])
            elif p < 0:
                delta[i] = max(delta[i] * h["eta_minus"], h["delta_min"])
            if variant == "irprop+" and p < 0:  # Igel & Hüsken 2000, iRprop+
                step = -dxp[i] if (fprev is not None and f > fprev) else 0.0
                gp[i] = 0.0
            else:
                step = -_sign(g[i]) * delta[i]
                gp[i] = g[i]
            dxp[i] = step
            new[i] = x[i] + step
        st["f"] = f
        return new

    return rule


RPROP = {"eta_plus": 1.2, "eta_minus": 0.5, "delta0": 0.07, "delta_max": 50.0, "delta_min": 1e-6}


def quickprop_rule(lr, mu, q):
    def rule(x, f, g, st):
        n = len(x)
        dprev = st.setdefault("d", [0.0] * n)
        sprev = st.setdefault("s", [0.0] * n)
        shrink = mu / (1 + mu)
        new = list(x)
        for i in range(n):
            s = -g[i] / q
            d = dprev[i]
            step = 0.0
            if d > 0:  # Fahlman's quickprop1.c
                if s > 0:
                    step += lr * s
                step += mu * d if s > shrink * sprev[i] else d * s / (sprev[i] - s)
            elif d < 0:
                if s < 0:
                    step += lr * s
                step += mu * d if s < shrink * sprev[i] else d * s / (sprev[i] - s)
            else:
                step += lr * s
            dprev[i], sprev[i] = step, s
            new[i] = x[i] + step
        return new

    return rule


def nesterov_rule(lr, mom, q):
    def rule(x, f, g, st):  # PyTorch SGD(nesterov=True)
        b = st.get("b")
        gs = [v / q for v in g]
        b = list(gs) if b is None else [mom * bi + gi for bi, gi in zip(b, gs, strict=True)]
        st["b"] = b
        return [xi - lr * (gi + mom * bi) for xi, gi, bi in zip(x, gs, b, strict=True)]

    return rule


def rmsprop_rule(lr, alpha, eps, q):
    def rule(x, f, g, st):
        v = st.setdefault("v", [0.0] * len(x))
        new = []
        for i, gi in enumerate(g):
            gi /= q
            v[i] = alpha * v[i] + (1 - alpha) * gi * gi
            new.append(x[i] - lr * gi / (math.sqrt(v[i]) + eps))
        return new

    return rule


def adagrad_rule(lr, eps, q):
    def rule(x, f, g, st):
        G = st.setdefault("G", [0.0] * len(x))
        new = []
        for i, gi in enumerate(g):
            gi /= q
            G[i] += gi * gi
            new.append(x[i] - lr * gi / (math.sqrt(G[i]) + eps))
        return new

    return rule


def adamw_rule(lr, b1, b2, eps, wd, q, is_weight):
    def rule(x, f, g, st):  # PyTorch AdamW: decay, then Adam with bias correction
        n = len(x)
        m = st.setdefault("m", [0.0] * n)
        v = st.setdefault("v", [0.0] * n)
        st["t"] = t = st.get("t", 0) + 1
        new = []
        for i in range(n):
            gi = g[i] / q
            xi = x[i] * (1 - lr * wd) if is_weight[i] else x[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            mh, vh = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            new.append(xi - lr * mh / (math.sqrt(vh) + eps))
        return new

    return rule


def _q(obj):
    return round(1 / obj.lr_scale)


@pytest.mark.parametrize("variant", ["rprop-", "irprop+"])
def test_rprop_against_riedmiller_braun_and_igel_huesken(variant):
    obj = _book()
    got = _engine(obj, "rprop", X0, variant=variant)
    want = _reference(obj, X0, rprop_rule(RPROP, variant))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_irprop_plus_backtracks_where_the_sign_changes_and_the_error_rose():
    """A start where iRprop+ and Rprop- part ways (the error rises at some step)."""
    obj = _book(all_free=True)
    x0 = obj.base[obj.free_idx] + np.random.default_rng(3).uniform(-2, 2, obj.n_free)
    a = _engine(obj, "rprop", x0, variant="irprop+", delta0=1.0)
    b = _reference(obj, x0, rprop_rule({**RPROP, "delta0": 1.0}, "irprop+"))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert not np.allclose(a, _engine(obj, "rprop", x0, variant="rprop-", delta0=1.0))


@pytest.mark.parametrize("all_free", [False, True])
def test_quickprop_against_fahlmans_rule(all_free):
    obj = _book(all_free)
    x0 = X0 if not all_free else obj.base[obj.free_idx] + 0.5
    got = _engine(obj, "quickprop", x0, lr=1.0, mu=1.75)
    want = _reference(obj, x0, quickprop_rule(1.0, 1.75, _q(obj)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "hyper", "rule"),
    [
        ("nesterov", {"lr": 0.1, "momentum": 0.9}, lambda q, w: nesterov_rule(0.1, 0.9, q)),
        ("rmsprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8},
         lambda q, w: rmsprop_rule(0.01, 0.99, 1e-8, q)),
        ("adagrad", {"lr": 0.5, "eps": 1e-10}, lambda q, w: adagrad_rule(0.5, 1e-10, q)),
        ("adamw", {"lr": 0.1, "weight_decay": 0.05},
         lambda q, w: adamw_rule(0.1, 0.9, 0.999, 1e-8, 0.05, q, w)),
    ],
)  # fmt: skip
def test_modern_methods_against_pytorchs_algorithms(name, hyper, rule):
    obj = _book(all_free=True)  # the weights and the biases: AdamW decays only the weights
    x0 = obj.base[obj.free_idx] + 0.3
    is_weight = list(weight_mask(obj.spec)[obj.free_idx])
    assert any(is_weight) and not all(is_weight)
    got = _engine(obj, name, x0, **hyper)
    want = _reference(obj, x0, rule(_q(obj), is_weight))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "kw", "match"),
    [
        ("rprop", {"eta_plus": 1.0}, "eta_plus"),
        ("rprop", {"eta_minus": 1.0}, "eta_minus"),
        ("rprop", {"delta0": 100.0}, "delta0.*between"),
        ("rprop", {"variant": "rprop+"}, "variant: must be one of"),
        ("quickprop", {"mu": 0.0}, "mu"),
        ("nesterov", {"momentum": 1.0}, "momentum"),
        ("rmsprop", {"alpha": 1.0}, "alpha"),
        ("adagrad", {"eps": 0.0}, "eps"),
        ("adamw", {"weight_decay": -1.0}, "weight_decay"),
    ],
)
def test_hyperparameters_are_bounded_with_their_reason(name, kw, match):
    with pytest.raises(ValueError, match=match):
        make_optimizer(name, **kw)
