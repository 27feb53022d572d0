"""Hessian-vector products, Lanczos, Hutchinson and stochastic Lanczos quadrature against
the exact Hessian (issue 22 #2)."""

import numpy as np
import pytest

from bpgui_engine.analysis.spectrum import HessianOperator, hutchinson_trace, lanczos, slq_density
from bpgui_engine.model.presets import BOOK_OPTIMUM
from bpgui_engine.model.problem import plane_setup
from bpgui_engine.model.setup import Setup


def _book(at=BOOK_OPTIMUM):
    s = Setup.from_preset().replace(free=Setup.from_preset().spec.labels)
    obj = s.objective()
    return obj, np.array(at, float)


def _plane(perf="ce", l2=0.0):
    s = plane_setup("moons:samples=60", layers=(5, 4), performance=perf, l2=l2, seed=2)
    obj = s.objective()
    return obj, s.start() * 1.5


@pytest.mark.parametrize("case", ["book", "plane-ce", "plane-sse-l2"])
def test_hessian_vector_products_equal_the_exact_hessian(case):
    obj, x = {"book": _book, "plane-ce": _plane, "plane-sse-l2": lambda: _plane("sse", 0.01)}[
        case
    ]()
    H = obj.hessian(x)
    op = HessianOperator(obj, x)
    V = np.random.default_rng(0).standard_normal((3, obj.n_free))
    np.testing.assert_allclose(op(V), V @ H, rtol=1e-10, atol=1e-10 * np.abs(H).max())
    np.testing.assert_allclose(op(V[0]), H @ V[0], rtol=1e-10, atol=1e-10 * np.abs(H).max())
    assert op.count == 4


def test_top_three_of_the_book_hessian_at_its_optimum_to_1e_10():
    obj, x = _book()
    lam = np.linalg.eigvalsh(obj.hessian(x))
    sp = lanczos(HessianOperator(obj, x), k=3, which="top", tol=1e-12)
    np.testing.assert_allclose(sp.values, lam[-3:], rtol=1e-10)
    assert sp.converged


@pytest.mark.parametrize("which", ["top", "bottom"])
def test_extreme_eigenvalues_of_a_playground_net_within_60_products(which):
    obj, x = _plane()
    assert obj.n_free <= 500
    lam = np.linalg.eigvalsh(obj.hessian(x))
    sp = lanczos(HessianOperator(obj, x), k=1, which=which, tol=1e-10, max_hvps=60)
    want = lam[-1] if which == "top" else lam[0]
    assert sp.values[0] == pytest.approx(want, rel=1e-8, abs=1e-8 * abs(lam).max())
    assert sp.hvps <= 60
    y = sp.vectors[:, 0]  # an eigenvector
    H = obj.hessian(x)
    assert np.linalg.norm(H @ y - sp.values[0] * y) < 1e-6 * abs(lam).max()


def test_hutchinson_trace_and_slq_moments():
    obj, x = _plane("sse")
    H = obj.hessian(x)
    lam = np.linalg.eigvalsh(H)
    op = HessianOperator(obj, x)
    tr, se = hutchinson_trace(op, samples=400, seed=1)
    assert abs(tr - np.trace(H)) < 4 * se + 1e-9
    nodes, w = slq_density(op, steps=obj.n_free, runs=8, seed=3)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)  # the density's total mass
    n = obj.n_free
    assert (w * nodes).sum() == pytest.approx(np.trace(H) / n, rel=0.15)  # first moment
    assert (w * nodes**2).sum() == pytest.approx((lam**2).sum() / n, rel=0.3)
    assert nodes.max() == pytest.approx(lam[-1], rel=1e-6)  # full steps: exact extremes


def test_spectrum_cli_json_matches_the_exact_hessian(capsys, tmp_path):
    import json

    from bpgui.cli import main

    free = ["W1[1,1]", "W1[2,1]", "b1[1]", "b1[2]", "W2[1,1]", "W2[1,2]", "b2[1]"]
    start = [str(v) for v in BOOK_OPTIMUM]
    assert main(["spectrum", "--free", *free, "--start", *start, "--top", "3", "--trace",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    obj, x = _book()
    lam = np.linalg.eigvalsh(obj.hessian(x))
    np.testing.assert_allclose(out["top"], lam[::-1][:3], rtol=1e-10)  # descending
    np.testing.assert_allclose(out["bottom"], lam[:3], rtol=1e-6, atol=1e-12)  # top's K
    assert out["performance_index"] == "SSE" and out["hvps"] > 0
    assert abs(out["trace"] - lam.sum()) < 5 * out["trace_stderr"] + 1e-9
    # a session: its own point and index (the penalty included)
    from bpgui_engine.session import Session, save_session

    s = plane_setup("xor:samples=40", layers=(2,), l2=0.01, seed=1)
    save_session(Session(s), tmp_path / "s.bpgui")
    assert main(["spectrum", str(tmp_path / "s.bpgui"), "--top", "1", "--bottom", "0",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    H = s.objective().hessian(s.start())
    assert out["top"][0] == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-8)
    assert out["performance_index"] == "CE + 0.01‖w‖²" and out["bottom"] == []
    assert main(["spectrum", str(tmp_path / "s.bpgui"), "--preset", "book-1-2-1"]) == 2
    assert "not with a SESSION" in capsys.readouterr().err


def test_the_edge_of_stability_along_a_run(tmp_path, capsys):
    """Full-batch steepest descent on a tanh MLP: the sharpness rises (progressive
    sharpening) and hovers at 2/lr for the larger rate, stays far below it for the
    smaller (Cohen et al. 2021)."""
    import json

    from bpgui.cli import main
    from bpgui_engine.model.network import NetworkSpec
    from bpgui_engine.model.setup import DataRecipe
    from bpgui_engine.session import save_session
    from bpgui_engine.train.trainer import StopCriteria
    from tests.engine.test_animation import trained

    data = DataRecipe(kind="expression", expression="sin(2*p)", lo=-2, hi=2, points=40)
    base = Setup.from_preset().replace(data=data)
    base = base.with_network(NetworkSpec(1, (20, 20, 1), ("tansig", "tansig", "purelin")),
                             init="glorot", seed=0)  # fmt: skip
    found = {}
    for lr in (0.05, 0.01):
        s = base.replace(performance="mse", optimizer="sd", hyper={"lr": lr},
                         criteria=StopCriteria(epochs=3000))  # fmt: skip
        path = tmp_path / f"lr{lr}.bpgui"
        save_session(trained(s), path)
        assert main(["spectrum", str(path), "--along", "16", "--json"]) == 0
        found[lr] = json.loads(capsys.readouterr().out)
    big = found[0.05]
    sharp = np.array([p["sharpness"] for p in big["along"]])
    assert big["stability_bound"] == pytest.approx(40.0)
    assert sharp[0] < 20 and sharp.max() > 38  # sharpening up to the bound
    late = sharp[len(sharp) // 2 :]
    assert np.all(np.abs(late - 40.0) < 5.0)  # hovering at 2/lr
    small = np.array([p["sharpness"] for p in found[0.01]["along"]])
    assert small.max() < 0.5 * found[0.01]["stability_bound"]  # far from its 2/lr = 200
