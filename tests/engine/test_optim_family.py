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


RPROP = {"eta_plus": 1.2, "eta_minus": 0.5, "delta0": 0.07, "delta_max": 50.0, "delta_min": 0.0}


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


def moller_scg(obj, x0, sigma=5e-5, lam1=5e-7, n_iter=N):
    """Møller (1993)'s algorithm, steps 1-8, as printed (vectors as NumPy arrays, the
    control flow his)."""
    w = np.array(x0, float)
    E = lambda v: float(obj.value_and_grad(v)[0])  # noqa: E731  (as the trainer evaluates)
    dE = lambda v: obj.value_and_grad(v)[1]  # noqa: E731
    r = -dE(w)
    p = r.copy()
    lam, lam_bar, success, k = lam1, 0.0, True, 1
    delta = 0.0
    out = [w.copy()]
    n = w.size
    for _ in range(n_iter):
        pp = p @ p
        if success:
            sk_sigma = sigma / math.sqrt(pp)
            s = (dE(w + sk_sigma * p) - dE(w)) / sk_sigma
            delta = p @ s
        delta = delta + (lam - lam_bar) * pp
        if delta <= 0:
            lam_bar = 2 * (lam - delta / pp)
            delta = -delta + lam * pp
            lam = lam_bar
        mu = p @ r
        alpha = mu / delta
        Delta = 2 * delta * (E(w) - E(w + alpha * p)) / mu**2
        if Delta >= 0:
            w = w + alpha * p
            r_new = -dE(w)
            lam_bar, success = 0.0, True
            if k % n == 0:
                p = r_new
            else:
                beta = (r_new @ r_new - r_new @ r) / mu
                p = r_new + beta * p
            r = r_new
            if Delta >= 0.75:
                lam = lam / 4
        else:
            lam_bar, success = lam, False
        if Delta < 0.25:
            lam = lam + delta * (1 - Delta) / pp
        k += 1
        out.append(w.copy())
    return np.array(out)


@pytest.mark.parametrize("all_free", [False, True])
def test_scg_against_mollers_algorithm(all_free):
    obj = _book(all_free)
    x0 = np.array(X0) if not all_free else obj.base[obj.free_idx] + 0.5
    got = _engine(obj, "scg", x0)
    want = moller_scg(obj, x0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def _armijo(obj, x, f, g, d):
    """Nocedal & Wright, Algorithm 3.1: α = 1, ½, ¼, … until the Armijo condition."""
    a = 1.0
    for _ in range(60):
        fn, gn = obj.value_and_grad(x + a * d)
        if np.isfinite(fn) and fn <= f + 1e-4 * a * (g @ d):
            return x + a * d, float(fn), gn
        a /= 2
    raise AssertionError("the line search failed on the book problem")


def _bfgs_update(H, s, y):
    """The inverse-Hessian BFGS update (N&W eq. 6.17) as matrices."""
    n = s.size
    rho = 1 / (y @ s)
    I = np.eye(n)
    return (I - rho * np.outer(s, y)) @ H @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)


def quasi_newton_reference(obj, x0, kind, memory=10):
    x = np.array(x0, float)
    f, g = obj.value_and_grad(x)
    H, pairs, out = None, [], [x.copy()]
    n = x.size
    for k in range(N):
        if kind == "bfgs":
            d = -g if H is None else -H @ g
        elif kind == "lbfgs":  # N&W Algorithm 7.4, the two-loop recursion
            q, alphas = g.copy(), []
            for s, y in pairs[::-1]:
                alphas.append((s @ q) / (y @ s))
                q = q - alphas[-1] * y
            r = (pairs[-1][0] @ pairs[-1][1]) / (pairs[-1][1] @ pairs[-1][1]) * q if pairs else q
            for (s, y), a in zip(pairs, alphas[::-1], strict=True):
                r = r + s * (a - (y @ r) / (y @ s))
            d = -r
        elif kind == "lbfgs-matrix":  # the same H_k as BFGS matrices from H0 = (s'y/y'y) I
            if pairs:
                s, y = pairs[-1]
                Hk = (s @ y) / (y @ y) * np.eye(n)
                for s, y in pairs:
                    Hk = _bfgs_update(Hk, s, y)
                d = -Hk @ g
            else:
                d = -g
        elif kind == "oss":  # Battiti 1992 / trainoss: d = -g + A s + B y, -g every n
            if pairs and k % n:
                s, y = pairs[-1]
                B = (s @ g) / (s @ y)
                A = -(1 + (y @ y) / (s @ y)) * B + (y @ g) / (s @ y)
                d = -g + A * s + B * y
            else:
                d = -g
        else:  # "oss-matrix": oss as the memoryless BFGS matrix from I
            d = -_bfgs_update(np.eye(n), *pairs[-1]) @ g if pairs and k % n else -g
        assert g @ d < 0
        x_new, f_new, g_new = _armijo(obj, x, f, g, d)
        s, y = x_new - x, g_new - g
        if y @ s > 0:
            if kind == "bfgs":
                H = _bfgs_update((y @ s) / (y @ y) * np.eye(n) if H is None else H, s, y)
            pairs = ([*pairs, (s, y)])[-memory:]
        x, f, g = x_new, f_new, g_new
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("kind", ["bfgs", "lbfgs", "oss"])
@pytest.mark.parametrize("all_free", [False, True])
def test_quasi_newton_methods_against_nocedal_wright_and_battiti(kind, all_free):
    obj = _book(all_free)
    x0 = np.array(X0) if not all_free else obj.base[obj.free_idx] + 0.5
    kw = {"memory": 3} if kind == "lbfgs" else {}
    got = _engine(obj, kind, x0, **kw)
    want = quasi_newton_reference(obj, x0, kind, memory=3)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    if kind != "bfgs":  # the formulas are BFGS matrices of the kept pairs (rounding aside)
        matrices = quasi_newton_reference(obj, x0, f"{kind}-matrix", memory=3)
        np.testing.assert_allclose(got, matrices, rtol=1e-6)


def test_powell_beale_restarts_follow_powells_test():
    """cg with powell="on" is the plain cg except that it restarts along -g where
    |g_{k-1}'g_k| >= 0.2 |g_k|^2 (checked by replaying the run: every epoch's direction is
    -g exactly where the test fires)."""
    from bpgui_engine.analysis.steps import copy_optimizer

    obj = _book(all_free=True)
    x0 = obj.base[obj.free_idx] + 0.5
    opt = make_optimizer("cg", powell="on")
    x = np.array(x0)
    f, g = obj.value_and_grad(x)
    fired = 0
    g_prev = None
    for _ in range(N):
        twin = copy_optimizer(opt)
        dirs = []
        twin.trace = lambda kind, v, d=dirs: d.append(v) if kind == "direction" else None
        twin.step(x, f, g, obj)
        res = opt.step(x, f, g, obj)
        if g_prev is not None and abs(g_prev @ g) >= 0.2 * (g @ g):
            fired += 1
            np.testing.assert_array_equal(dirs[0], -g)
        g_prev = g
        x, f, g = res.x, res.value, res.grad
    assert fired >= 1  # the test exercised a Powell restart
    plain = _engine(obj, "cg", x0)
    assert not np.allclose(plain, _engine(obj, "cg", x0, powell="on"))


def foresee_hagan(obj, x0, mu=0.005, mu_dec=0.1, mu_inc=10.0, n_iter=N):
    """Foresee & Hagan (1997)'s steps 1-4 with trainbr's LM step, as matrices."""
    x = np.array(x0, float)
    alpha, beta = 0.0, 1.0
    out, report = [x.copy()], None
    for _ in range(n_iter):
        e, J = obj.residuals_and_jacobian(x)
        F = beta * (e @ e) + alpha * (x @ x)
        while True:
            A = beta * J.T @ J + (alpha + mu) * np.eye(x.size)
            dx = -np.linalg.solve(A, beta * J.T @ e + alpha * x)
            e2, J2 = obj.residuals_and_jacobian(x + dx)
            if beta * (e2 @ e2) + alpha * ((x + dx) @ (x + dx)) < F:
                mu *= mu_dec
                break
            mu *= mu_inc
        x = x + dx
        Ngam = x.size
        H = 2 * beta * J2.T @ J2 + 2 * alpha * np.eye(Ngam)  # the Gauss-Newton Hessian
        gamma = Ngam - 2 * alpha * np.trace(np.linalg.inv(H)) if alpha > 0 else Ngam
        alpha = gamma / (2 * (x @ x))
        beta = (e2.size - gamma) / (2 * (e2 @ e2))
        report = {"gamma": gamma, "alpha": alpha, "beta": beta}
        out.append(x.copy())
    return np.array(out), report


def test_bayesian_regularization_against_foresee_and_hagan():
    obj = _book(all_free=True)
    rng = np.random.default_rng(5)  # the book's targets are noise free: β grows, γ → N
    x0 = obj.base[obj.free_idx] + rng.uniform(-0.5, 0.5, obj.n_free)
    opt = make_optimizer("br")
    recs = list(Trainer(obj, opt, x0, StopCriteria(epochs=8)).run())
    want, rep = foresee_hagan(obj, x0, n_iter=8)
    np.testing.assert_allclose(np.array([r.x for r in recs]), want, rtol=1e-12, atol=1e-13)
    got = opt.report()
    for k in ("gamma", "alpha", "beta"):
        assert got[k] == pytest.approx(rep[k], rel=1e-10), k
    assert 0 < got["gamma"] <= obj.n_free


def test_bayesian_regularization_on_noisy_data_keeps_fewer_effective_parameters():
    """A 1-10-1 network on 100 noisy samples of a sine: γ near the sine's needs (about 9),
    well below the 31 parameters.  (With 40 samples for 31 parameters the evidence
    collapses to γ = 0, the weights to 0: MacKay's framework needs more errors than
    parameters by a margin.)"""
    from bpgui_engine.model.network import NetworkSpec
    from bpgui_engine.model.recipe import DataRecipe
    from bpgui_engine.model.setup import Setup

    data = DataRecipe(kind="expression", expression="sin(2*p)", lo=-2, hi=2, points=100,
                      noise=0.1, noise_seed=1)  # fmt: skip
    s = Setup.from_preset("book-1-2-1", data=data).with_network(
        NetworkSpec(1, (10, 1), ("tansig", "purelin")), init="glorot", seed=0
    )
    obj = s.objective()
    opt = make_optimizer("br")
    recs = list(Trainer(obj, opt, s.start(), StopCriteria(epochs=300)).run())
    rep = opt.report()
    assert 5 < rep["gamma"] < 0.5 * obj.n_free, rep
    # β estimates the noise: 1/(2β) ≈ its variance 0.01 (the SSE per error, n - γ of them)
    assert 0.5 < 1 / (2 * rep["beta"]) / 0.01 < 2, rep
    assert recs[-1].sse / 100 < 0.02


def test_br_and_lm_refuse_what_they_cannot_minimize():
    from bpgui_engine.model.performance import get_performance
    from bpgui_engine.optim import mismatch

    assert "sum-of-squares" in mismatch("br", get_performance("ce"))
    assert "sets its own weight penalty" in mismatch("br", get_performance("sse"), l2=0.01)
    assert mismatch("br", get_performance("mse")) is None
    assert mismatch("lm", get_performance("sse"), l2=0.01) is None


def test_the_matlab_family_races_from_minus_four_as_each_method_alone():
    """The race preset "matlab": the toolbox's twelve as bpgui's methods; raced from
    (-4, -4) on the book slice to SSE 1e-6, each entry's end is that of its method run
    alone (the race's clock never changes a method's numbers)."""
    from bpgui_engine.maps.race import Race
    from bpgui_engine.maps.race_presets import race_preset

    entries = race_preset("matlab")
    assert [e.label for e in entries][:3] == ["traingd", "traingdm", "traingdx"]
    assert {e.label: e.optimizer for e in entries}["trainbr"] == "br"
    assert {e.label: e.hyper.get("powell") for e in entries}["traincgb"] == "on"
    assert len({e.colour for e in entries}) == 12
    setup = get_experiment("trajectory-a").setup()
    race = Race(setup, entries, np.array(X0), epochs=200_000, goal=1e-6, keep_history=False)
    with np.errstate(all="ignore"):
        for _ in race.steps(20_000):
            pass
    res = {r.label: r for r in race.results()}
    obj = setup.objective()
    for e in entries:
        if e.optimizer in ("sd", "momentum"):
            continue  # long runs: their ends are checked by the kernel tests
        opt = make_optimizer(e.optimizer, **e.hyper)
        recs = list(Trainer(obj, opt, np.array(X0), StopCriteria(epochs=200_000, goal=1e-6)).run())
        r = res[e.label]
        assert r.epochs == recs[-1].epoch and r.stop == recs[-1].stop, e.label
        np.testing.assert_allclose(r.end, recs[-1].x, rtol=1e-9, err_msg=e.label)
    assert {k for k, r in res.items() if r.epochs_to_goal is not None} >= {
        "traingd",
        "traingdm",
        "traingdx",
        "traincgf",
        "trainscg",
        "trainoss",
    }
    with pytest.raises(ValueError, match="race preset"):
        race_preset("fortran")


def test_restarts_of_a_method_without_a_batch_kernel_are_its_single_runs():
    """Random restarts with rprop (no batch kernel): each start's end, epochs and stop are
    those of its own run; the path keeps a stopped start's last point; the same rows as
    the batch kernel give for sd (where both exist)."""
    import threading

    from bpgui_engine import jobs
    from bpgui_engine.train.fast import fast_train_batch
    from bpgui_engine.train.rowwise import rowwise_batch

    s = get_experiment("trajectory-a").setup()
    obj = s.objective()
    X0 = np.random.default_rng(2).uniform(-6, 6, (5, 2))
    req = {"setup": s, "starts": X0, "method": "rprop", "hyper": {}, "epochs": 300, "stride": 7}
    gen = jobs.JOBS["restarts"](req, threading.Event())
    with pytest.raises(StopIteration) as stop:
        next(gen)
    res, error = stop.value.value
    assert error == "" and res.path.shape[1:] == (5, 2) and res.path_epochs[0] == 0
    for b in range(5):
        recs = list(Trainer(obj, make_optimizer("rprop"), X0[b], StopCriteria(epochs=300)).run())
        assert res.epochs[b] == recs[-1].epoch and res.stop[b] == recs[-1].stop
        np.testing.assert_array_equal(res.x[b], recs[-1].x)
        np.testing.assert_array_equal(res.path[-1, b], recs[-1].x)
        at = {r.epoch: r.x for r in recs}
        for k, e in enumerate(res.path_epochs):
            np.testing.assert_array_equal(res.path[k, b], at[min(int(e), recs[-1].epoch)])
    a = rowwise_batch(obj, X0, "sd", {"lr": 1.0}, 500, stride=50)
    b = fast_train_batch(obj, X0, "sd", {"lr": 1.0}, 500, stride=50)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-9)
    np.testing.assert_array_equal(a.epochs, b.epochs)
    np.testing.assert_allclose(a.path, b.path, rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "hyper"),
    [("nesterov", {}), ("rmsprop", {}), ("adagrad", {}), ("rprop", {}),
     ("rprop", {"variant": "irprop+", "delta0": 1.0}), ("rprop", {"delta_min": 1e-3}),
     ("adam", {}), ("adamw", {"weight_decay": 0.05})],
)  # fmt: skip
def test_compiled_kernel_runs_the_added_methods_as_numpy_does(name, hyper):
    """Issue 23: Rprop, Nesterov, RMSprop, Adagrad, Adam and AdamW run in the compiled run
    loop; their iterates agree with the NumPy path (the optimizer modules) to rounding, over
    blocks that hand the state back and forth, and the kernel says numba."""
    from bpgui_engine import jit
    from bpgui_engine.train.fast import FastTrainer

    if jit.kernels() is None:
        pytest.skip("numba kernel unavailable")
    obj = _book(all_free=True)
    x0 = obj.base[obj.free_idx] + np.random.default_rng(4).uniform(-1, 1, obj.n_free)
    # RMSprop and Adagrad divide tiny gradients by their tiny running norms: a last-bit
    # difference of the two paths' gradients grows after ~270 epochs here, so they are
    # compared over the first 250
    crit = StopCriteria(epochs=250 if name in ("rmsprop", "adagrad", "adam", "adamw") else 3000)
    ref = list(Trainer(obj, make_optimizer(name, **hyper), x0, crit).run())
    tr = FastTrainer(obj, make_optimizer(name, **hyper), x0, crit)
    tr.block_seconds = 1e-4  # many small blocks: the state crosses between them
    blocks = list(tr.blocks())
    assert tr.kernel == "numba" and len(blocks) > 3
    xs = np.concatenate([b.x for b in blocks])
    assert len(xs) == len(ref)
    np.testing.assert_allclose(xs, np.array([r.x for r in ref]), rtol=1e-9, atol=1e-12)
    lr = np.concatenate([b.cols["lr"] for b in blocks])
    np.testing.assert_allclose(lr, [r.lr for r in ref], rtol=1e-9, equal_nan=True)
    # the optimizer object holds the kernel's state at the end: a NumPy step continues it
    opt_np = make_optimizer(name, **hyper)
    list(Trainer(obj, opt_np, x0, crit).run())
    for k, v in opt_np.state_dict().items():
        w = tr.optimizer.state_dict()[k]
        if isinstance(v, list):
            np.testing.assert_allclose(w, v, rtol=1e-9, atol=1e-12, err_msg=k)
        elif v is not None:
            assert w == pytest.approx(v, rel=1e-9), k


def test_irprop_plus_does_not_stop_on_an_epoch_that_only_adapts_its_steps():
    """Where every moving parameter's gradient flipped sign, iRprop+ takes no step that
    epoch (it adapts Δ): a rejected trial, not "the weights stopped changing" — on both
    kernels the run from (-4, -4) goes on into the local minimum (it stopped at SSE 0.23
    after 26 epochs before), ending when its steps Δ underflow there."""
    from bpgui_engine.train.fast import FastTrainer

    obj = _book()
    crit = StopCriteria(epochs=3000, goal=1e-10)
    for run in (lambda o: Trainer(obj, o, np.array(X0), crit).run(),
                lambda o: FastTrainer(obj, o, np.array(X0), crit).run()):  # fmt: skip
        opt = make_optimizer("rprop", variant="irprop+")
        recs = list(run(opt))
        last = recs[-1]
        assert last.sse == pytest.approx(0.0934221214, rel=1e-8) and last.grad_norm < 1e-9
        assert last.stop == "no_change" and np.max(opt.delta) < 1e-12
        flips = [r for r in recs[1:-1] if np.array_equal(r.x, recs[r.epoch - 1].x)]
        assert flips  # epochs that only adapted Δ happened, and did not end the run
