"""Critical points (engine/analysis/critical.py) on the book's slices and on problems with known
answers."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.analysis.critical import CriticalPoint, find_critical_points
from bpgui_engine.analysis.curvature import curvature_at
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.setup import DataRecipe, Setup
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria

BOOK_RANGES = ((-5.0, 15.0), (-5.0, 45.0))


@pytest.fixture(scope="module")
def book_points() -> list[CriticalPoint]:
    s = Setup.from_preset("book-1-2-1", ranges=BOOK_RANGES)
    return find_critical_points(s, *BOOK_RANGES)


@pytest.fixture(scope="module")
def bias_points() -> list[CriticalPoint]:
    s = Setup.from_preset(
        "book-1-2-1", free=("b1[1]", "b1[2]"), axes=("b1[1]", "b1[2]"),
        ranges=((-10.0, 10.0), (-10.0, 10.0)),
    )  # fmt: skip
    return find_critical_points(s)


def _near(points, xy, kind, tol=1e-6):
    hits = [p for p in points if p.kind == kind and np.allclose(p.x, xy, atol=tol, rtol=0)]
    assert len(hits) == 1, [(p.kind, p.x) for p in points]
    return hits[0]


def test_book_global_minimum(book_points):
    p = _near(book_points, (10.0, 1.0), "minimum", 1e-9)
    assert p.performance < 1e-20 and p.dims == 2 and p.isolated
    np.testing.assert_allclose(p.eigenvalues, [0.003822, 1.156], rtol=1e-3)
    assert p.params == {"W1[1,1]": pytest.approx(10.0), "W2[1,1]": pytest.approx(1.0)}


def test_book_local_minimum(book_points):
    p = _near(book_points, (0.882828, 38.6187), "minimum", 1e-4)
    assert p.performance == pytest.approx(0.0934221, rel=1e-5)
    np.testing.assert_allclose(p.eigenvalues, [0.0001607, 1.987], rtol=1e-3)
    assert p.grad_norm < 1e-12


def test_book_saddle_separates_the_two_basins(book_points):
    saddles = [p for p in book_points if p.kind == "saddle"]
    assert len(saddles) == 1
    p = saddles[0]
    assert p.eigenvalues[0] < 0 < p.eigenvalues[1] and p.grad_norm < 1e-12
    assert 0.0934 < p.performance < 0.79  # above the local minimum, below the plateau
    # descending from either side along the negative-curvature eigenvector ends in the two
    # different minima (compiled variable-learning-rate descent, a gradient method)
    obj = Setup.from_preset("book-1-2-1", ranges=BOOK_RANGES).objective()
    v = p.eigenvectors[:, 0]
    ends = []
    for sign in (1.0, -1.0):
        tr = FastTrainer(obj, make_optimizer("vlbp"), p.x + sign * 0.05 * v,
                         StopCriteria(epochs=200_000))  # fmt: skip
        for block in tr.blocks():
            last = block
        ends.append(last.x[-1])
    dist = [[np.linalg.norm(e - m) for m in ((10.0, 1.0), (0.8828, 38.619))] for e in ends]
    assert {int(np.argmin(d)) for d in dist} == {0, 1}
    assert max(min(d) for d in dist) < 0.1


def test_book_valley_floor_is_degenerate_and_grouped(book_points):
    deg = [p for p in book_points if p.kind == "degenerate"]
    assert 1 <= len(deg) <= 2 and len(book_points) <= 5
    floor = deg[0]
    assert floor.count > 1 and abs(floor.x[1]) < 0.01
    lo, hi = floor.extent["W1[1,1]"]
    assert hi - lo > 0.5  # many points along the floor, one entry
    assert floor.performance == pytest.approx(0.781182, rel=1e-5)
    # honestly degenerate: the Hessian is (nearly) singular relative to its size there
    lam = floor.eigenvalues
    assert abs(lam[0]) < 1e-4 * abs(lam[-1])


def test_eigen_data_is_the_exact_hessians(book_points):
    obj = Setup.from_preset("book-1-2-1", ranges=BOOK_RANGES).objective()
    for p in book_points:
        c = curvature_at(obj, p.x)
        np.testing.assert_allclose(p.eigenvalues, c.eigenvalues, rtol=1e-12, atol=1e-18)
        V = p.eigenvectors
        np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-12)
        j = p.to_json()
        assert list(j)[:4] == ["params", "performance", "eigenvalues", "kind"]
        assert j["eigenvalues"] == sorted(j["eigenvalues"])


def test_book_range_without_the_local_minimum(book_points):
    s = Setup.from_preset("book-1-2-1")
    pts = find_critical_points(s, (-5.0, 15.0), (-5.0, 15.0), grid=10)
    assert not [p for p in pts if p.x[1] > 15]
    _near(pts, (10.0, 1.0), "minimum", 1e-9)
    assert [p.kind for p in pts].count("saddle") == 1


def test_bias_slice_saddle_and_minima(bias_points):
    p = _near(bias_points, (0.0, 0.0), "saddle", 1e-9)
    np.testing.assert_allclose(p.eigenvalues, [-0.03018, 0.004479], rtol=1e-3)
    _near(bias_points, (-5.0, 5.0), "minimum", 1e-8)
    _near(bias_points, (5.0, -5.0), "minimum", 1e-8)


def test_all_free_parameters_searched_in_seven_dimensions():
    b = Setup.from_preset("book-1-2-1")
    s = b.replace(free=b.spec.labels)
    pts = find_critical_points(s, (-5.0, 15.0), (-5.0, 15.0), grid=6, free="all")
    assert pts and all(p.dims == 7 and len(p.params) == 7 for p in pts)
    best = pts[0]
    assert best.kind == "minimum" and best.performance < 1e-20
    # the book's optimum, or a symmetric copy of it (issue 18 #22: hidden neurons swapped
    # or sign-flipped, all found and named so; which copy sorts first is rounding's choice)
    zero = [p for p in pts if p.performance < 1e-20]
    assert any(np.allclose(p.x, [10, 10, -5, 5, 1, 1, -1], atol=1e-7) for p in zero)
    assert all(p.copy_of == 0 for p in zero[1:])


def test_linear_least_squares_minimum_is_exact():
    """A purelin network's SSE is a quadratic with one minimum: the least-squares solution."""
    rng = np.random.default_rng(4)
    P, T = rng.normal(size=(2, 12)), rng.normal(size=(1, 12))
    csv = "p1,p2,t\n" + "\n".join(
        f"{a:.17g},{b:.17g},{c:.17g}" for a, b, c in zip(*P, T[0], strict=True)
    )
    spec = NetworkSpec(2, (1,), ("purelin",))
    s = Setup(
        spec=spec, data=DataRecipe(kind="csv", csv_text=csv, inputs=("p1", "p2"), targets=("t",)),
        theta=(0.0, 0.0, 0.0), free=spec.labels, axes=("W1[1,1]", "W1[1,2]"),
        ranges=((-5.0, 5.0), (-5.0, 5.0)),
    )  # fmt: skip
    A = np.c_[P.T, np.ones(12)]
    w = np.linalg.lstsq(A, T[0], rcond=None)[0]
    pts = find_critical_points(s, grid=3, free="all")
    assert len(pts) == 1 and pts[0].kind == "minimum" and pts[0].dims == 3
    np.testing.assert_allclose(pts[0].x, w, atol=1e-10)
    # the same quadratic with the minimum outside the range: nothing found
    lo = float(w[0]) + 1.0
    assert find_critical_points(s, (lo, lo + 3.0), (-5.0, 5.0), grid=3, free="all") == []


def test_nothing_found_and_cancel():
    s = Setup.from_preset("book-1-2-1", ranges=BOOK_RANGES)
    assert find_critical_points(s, (11.0, 15.0), (10.0, 20.0), grid=6) == []
    assert find_critical_points(s, grid=4, should_stop=lambda: True) == []


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"grid": 0}, "grid"),
        ({"grid": 2.5}, "grid"),
        ({"free": "some"}, "free"),
        ({"grad_tol": -1.0}, "grad_tol"),
        ({"x_range": (3.0, 1.0)}, "range of W1"),
        ({"y_range": (0.0, np.inf)}, "range of W2"),
    ],
)
def test_bad_arguments_name_the_field(kw, msg):
    s = Setup.from_preset("book-1-2-1")
    with pytest.raises(ValueError, match=msg):
        find_critical_points(s, **kw)
