"""The exact Hessian (engine/analysis/hessian.py) against independent oracles.

* central differences of the backprop gradient (``Objective.hessian_fd``) on random networks,
  every transfer function in every layer position and every performance index;
* a tiny hyper-dual-number evaluator written here: plain Python loops over scalars computing
  ``F`` alone (no backprop, no NumPy arrays), whose ``e1 e2`` part is ``d2F/dxi dxj`` exactly;
* the book problem's stationary points (docs/book-chapter-12.md).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset

HIDDEN = ("logsig", "tansig", "purelin", "poslin")
OUTPUT = ("logsig", "tansig", "purelin", "poslin", "softmax")


def _cases():
    out = []
    for h, o in itertools.product(HIDDEN, OUTPUT):
        for perf in ("sse", "mse", "ce"):
            if perf == "ce" and o not in ("logsig", "softmax"):
                continue
            out.append((NetworkSpec(2, (3, 2), (h, o)), perf))
    out.append((NetworkSpec(2, (3, 2, 2), ("tansig", "poslin", "softmax")), "ce"))
    out.append((NetworkSpec(1, (2, 3, 1), ("logsig", "tansig", "purelin")), "mse"))
    return out


CASES = _cases()
IDS = [f"{'-'.join(s.transfers)}-{p}" for s, p in CASES]


def problem(spec: NetworkSpec, perf: str, seed: int, Q: int = 5, n_free: int | None = None):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(spec.n_inputs, Q))
    if perf == "ce" and spec.transfers[-1] == "softmax":
        T = np.eye(spec.n_outputs)[:, rng.integers(0, spec.n_outputs, Q)]
    elif perf == "ce":
        T = rng.uniform(0, 1, (spec.n_outputs, Q))
    else:
        T = rng.normal(size=(spec.n_outputs, Q))
    theta = rng.normal(size=spec.n_params)
    k = spec.n_params if n_free is None else n_free
    free = sorted(rng.choice(spec.n_params, size=k, replace=False).tolist())
    return Objective(spec, Dataset(P, T), theta, free, performance=perf)


# ---- oracle 1: central differences of the exact gradient ------------------------------------
@pytest.mark.parametrize("spec, perf", CASES, ids=IDS)
def test_matches_central_differences_of_the_gradient(spec, perf):
    for seed in range(3):
        n_free = [None, 4, 7][seed]
        obj = problem(spec, perf, seed, n_free=n_free)
        x = obj.x0()
        H = obj.hessian(x)
        Hfd = obj.hessian_fd(x, h=1e-5)
        assert H.shape == (obj.n_free, obj.n_free)
        err = np.abs(H - Hfd).max() / max(np.abs(Hfd).max(), 1e-300)
        assert err <= 1e-6, (seed, err)


# ---- oracle 2: hyper-dual numbers, plain scalar loops ---------------------------------------
class HD:
    """``r + a e1 + b e2 + c e1 e2`` with ``e1^2 = e2^2 = 0``: ``c`` carries d2/dxi dxj."""

    __slots__ = ("a", "b", "c", "r")

    def __init__(self, r, a=0.0, b=0.0, c=0.0):
        self.r, self.a, self.b, self.c = float(r), float(a), float(b), float(c)

    def __add__(self, o):
        o = o if isinstance(o, HD) else HD(o)
        return HD(self.r + o.r, self.a + o.a, self.b + o.b, self.c + o.c)

    __radd__ = __add__

    def __neg__(self):
        return HD(-self.r, -self.a, -self.b, -self.c)

    def __sub__(self, o):
        return self + (-(o if isinstance(o, HD) else HD(o)))

    def __rsub__(self, o):
        return HD(o) - self

    def __mul__(self, o):
        o = o if isinstance(o, HD) else HD(o)
        return HD(
            self.r * o.r,
            self.r * o.a + self.a * o.r,
            self.r * o.b + self.b * o.r,
            self.r * o.c + self.a * o.b + self.b * o.a + self.c * o.r,
        )

    __rmul__ = __mul__

    def fn(self, f0, f1, f2):
        """``f(self)`` from ``f, f', f''`` at the real part."""
        return HD(f0, f1 * self.a, f1 * self.b, f1 * self.c + f2 * self.a * self.b)

    def __truediv__(self, o):
        o = o if isinstance(o, HD) else HD(o)
        return self * o.fn(1 / o.r, -1 / o.r**2, 2 / o.r**3)

    def __rtruediv__(self, o):
        return HD(o) / self


def hd_exp(x):
    e = math.exp(x.r)
    return x.fn(e, e, e)


def hd_log(x):
    return x.fn(math.log(x.r), 1 / x.r, -1 / x.r**2)


def hd_transfer(name, n):
    if name == "logsig":
        return 1.0 / (1.0 + hd_exp(-n))
    if name == "tansig":
        t = math.tanh(n.r)
        return n.fn(t, 1 - t * t, -2 * t * (1 - t * t))
    if name == "purelin":
        return n
    if name == "poslin":
        return n if n.r > 0 else HD(0.0)
    raise AssertionError(name)


def hd_value(spec, P, T, perf, theta):
    """``F`` of a list of HD parameters by loops over samples, neurons and inputs."""
    Q = P.shape[1]
    total = HD(0.0)
    for q in range(Q):
        a = [HD(v) for v in P[:, q]]
        k = 0
        for m, (S, R) in enumerate(zip(spec.sizes, spec.fan_ins, strict=True)):
            W = [[theta[k + i * R + j] for j in range(R)] for i in range(S)]
            b = [theta[k + S * R + i] for i in range(S)]
            k += S * R + S
            n = [sum((W[i][j] * a[j] for j in range(R)), b[i]) for i in range(S)]
            name = spec.transfers[m]
            if name == "softmax":
                e = [hd_exp(v) for v in n]
                z = sum(e, HD(0.0))
                a = [v / z for v in e]
            else:
                a = [hd_transfer(name, v) for v in n]
        t = T[:, q]
        if perf == "ce":
            if spec.transfers[-1] == "softmax":
                total = total - sum((t[i] * hd_log(a[i]) for i in range(len(a))), HD(0.0))
            else:
                for i in range(len(a)):
                    total = total - (t[i] * hd_log(a[i]) + (1 - t[i]) * hd_log(1 - a[i]))
        else:
            for i in range(len(a)):
                e = t[i] - a[i]
                total = total + e * e
    if perf == "sse":
        return total
    if perf == "mse":
        return total / (Q * T.shape[0])
    return total / Q


def hd_hessian(obj: Objective, x: np.ndarray) -> np.ndarray:
    theta = obj.full(x)
    idx = obj.free_idx
    n = idx.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            th = [HD(v) for v in theta]
            th[idx[i]] = th[idx[i]] + HD(0.0, 1.0, 0.0)
            th[idx[j]] = th[idx[j]] + HD(0.0, 0.0, 1.0)
            H[i, j] = H[j, i] = hd_value(obj.spec, obj.data.P, obj.data.T, obj.perf.name, th).c
    return H


@pytest.mark.parametrize("spec, perf", CASES[::3] + CASES[-2:], ids=IDS[::3] + IDS[-2:])
def test_matches_an_independent_hyper_dual_evaluation(spec, perf):
    obj = problem(spec, perf, seed=11, Q=4, n_free=min(6, spec.n_params))
    x = obj.x0()
    H = obj.hessian(x)
    Hd = hd_hessian(obj, x)
    scale = np.abs(Hd).max()
    assert np.abs(H - Hd).max() <= 1e-8 * scale


def test_hyper_dual_oracle_is_not_trivially_equal():
    """The oracle sees a wrong Hessian: perturb one entry and the comparison fails."""
    obj = problem(NetworkSpec(2, (3, 2), ("tansig", "logsig")), "sse", seed=2, Q=3, n_free=4)
    H = obj.hessian(obj.x0())
    Hd = hd_hessian(obj, obj.x0())
    H[0, 1] += 1e-6 * np.abs(Hd).max() + 1e-12
    assert np.abs(H - Hd).max() > 1e-8 * np.abs(Hd).max()


# ---- structure ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, perf", CASES[::4], ids=IDS[::4])
def test_symmetric_and_batched(spec, perf):
    obj = problem(spec, perf, seed=5)
    rng = np.random.default_rng(5)
    X = obj.x0() + rng.normal(size=(3, 2, obj.n_free))
    F, g, H = obj.value_grad_hessian(X)
    assert H.shape == (3, 2, obj.n_free, obj.n_free)
    np.testing.assert_array_equal(H, np.swapaxes(H, -1, -2))
    for i, j in itertools.product(range(3), range(2)):
        F1, g1 = obj.value_and_grad_batch(X[i, j])
        assert F[i, j] == pytest.approx(F1, rel=1e-12)
        np.testing.assert_allclose(g[i, j], g1, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(H[i, j], obj.hessian(X[i, j]), rtol=1e-12, atol=1e-14)


def test_chunked_directions_equal_one_pass(monkeypatch):
    import bpgui_engine.analysis.hessian as hm

    obj = problem(NetworkSpec(2, (4, 3), ("tansig", "softmax")), "ce", seed=1)
    H1 = obj.hessian(obj.x0())
    monkeypatch.setattr(hm, "CHUNK_ELEMENTS", 1)  # one direction per chunk
    np.testing.assert_allclose(obj.hessian(obj.x0()), H1, rtol=1e-14, atol=1e-16)


def test_non_finite_point_gives_nan_without_raising():
    obj = problem(NetworkSpec(1, (2, 1), ("logsig", "logsig")), "sse", seed=0)
    H = obj.hessian(np.full(obj.n_free, np.nan))
    assert H.shape == (obj.n_free, obj.n_free) and not np.isfinite(H).any()


# ---- the book's stationary points (docs/book-chapter-12.md) ---------------------------------
BOOK_POINTS = [
    (("W1[1,1]", "W2[1,1]"), (10.0, 1.0), (0.003822, 1.156)),
    (("W1[1,1]", "W2[1,1]"), (0.882828, 38.6187), (0.0001607, 1.987)),
    (("b1[1]", "b1[2]"), (0.0, 0.0), (-0.03018, 0.004479)),
]


@pytest.mark.parametrize("free, x, eig", BOOK_POINTS, ids=["global", "local", "saddle"])
def test_book_stationary_point_eigenvalues(free, x, eig):
    book = get_preset("book-1-2-1")
    obj = Objective(book.spec, book.data, book.theta, list(free))
    x = np.array(x)
    if x[1] > 30:  # the local minimum: polish the printed location with Newton steps
        for _ in range(20):
            _, g, H = obj.value_grad_hessian(x)
            x = x - np.linalg.solve(H, g)
        assert np.allclose(x, (0.882828, 38.6187), atol=1e-4)
    lam = np.linalg.eigvalsh(obj.hessian(x))
    np.testing.assert_allclose(lam, eig, rtol=2e-3)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(obj.hessian_fd(x)), rtol=1e-5)
