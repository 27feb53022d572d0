"""Landscapes of any network: filter-normalized random directions, the PCA plane of a
trajectory and 1-D interpolation (issue 22 #1)."""

import numpy as np
import pytest

from bpgui_engine.analysis.landscape import (
    interpolate,
    landscape,
    pca_directions,
    random_directions,
)
from bpgui_engine.model.problem import plane_setup


def _obj():
    s = plane_setup("moons:samples=40", layers=(4, 3), seed=1)
    return s, s.objective(), s.start()


def test_filter_normalization_follows_its_definition():
    s, obj, x = _obj()
    d1, d2 = random_directions(obj, x, seed=5)
    d1b, _ = random_directions(obj, x, seed=5)
    np.testing.assert_array_equal(d1, d1b)  # seeded
    theta = obj.full(x)
    for (w, b), r in zip(s.spec.slices, s.spec.fan_ins, strict=True):
        rows = np.arange(w.start, w.stop).reshape(-1, r)
        for row in rows:  # every neuron's incoming weights: the norm of its parameters
            assert np.linalg.norm(d1[row]) == pytest.approx(np.linalg.norm(theta[row]))
            assert np.linalg.norm(d2[row]) == pytest.approx(np.linalg.norm(theta[row]))
        assert not np.any(d1[b]) and not np.any(d2[b])  # biases: not perturbed
    e1, _ = random_directions(obj, x, seed=5, biases=True)
    for _w, b in s.spec.slices:
        np.testing.assert_allclose(np.abs(e1[b]), np.abs(theta[b]))  # a filter of one
    fixed = s.replace(free=s.spec.labels[:5], axes=s.spec.labels[:2]).objective()
    f1, _ = random_directions(fixed, fixed.x0(), seed=1)
    assert f1.shape == (5,)
    with pytest.raises(ValueError, match="two free"):
        random_directions(s.replace(free=s.spec.labels[:1]).objective(), x[:1])


def test_the_landscape_grid_is_the_objective_on_the_plane_with_the_centre():
    _s, obj, x = _obj()
    d1, d2 = random_directions(obj, x, seed=2)
    ls = landscape(obj, x, d1, d2, span=0.5, resolution=10)  # even: one more, the centre
    assert ls.values.shape == (11, 11) and ls.a[5] == 0.0
    assert ls.values[5, 5] == pytest.approx(obj.value(x))
    i, j = 2, 9
    assert ls.values[i, j] == pytest.approx(obj.value(x + ls.a[i] * d1 + ls.b[j] * d2))
    with pytest.raises(ValueError, match="non-finite"):
        landscape(obj, x, d1 * 1e308, d2, span=10.0, resolution=3)
    with pytest.raises(ValueError, match="span"):
        landscape(obj, x, d1, d2, span=float("nan"))


def test_pca_plane_against_numpys_svd():
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.standard_normal((30, 6)) * [3, 1, 0.3, 0.1, 0.1, 0.1], axis=0)
    p = pca_directions(X)
    M = X - X[-1]
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    assert abs(p.d1 @ Vt[0]) == pytest.approx(1.0) and abs(p.d2 @ Vt[1]) == pytest.approx(1.0)
    assert p.explained[0] == pytest.approx(s[0] ** 2 / (s**2).sum())
    np.testing.assert_allclose(p.coords, M @ np.stack([p.d1, p.d2]).T)
    np.testing.assert_allclose(p.coords[-1], 0.0)  # the final point at the centre
    with pytest.raises(ValueError, match="3 distinct"):
        pca_directions(np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]))


def test_interpolation_has_both_ends():
    _s, obj, x = _obj()
    y = x + 0.3
    t, F = interpolate(obj, x, y, points=11, beyond=0.2)
    k0, k1 = np.flatnonzero(np.isclose(t, 0.0))[0], np.flatnonzero(np.isclose(t, 1.0))[0]
    assert F[k0] == pytest.approx(obj.value(x)) and F[k1] == pytest.approx(obj.value(y))
    assert t[0] == pytest.approx(-0.2) and t[-1] == pytest.approx(1.2)


def test_landscape_cli_writes_the_grid_with_its_centre(tmp_path, capsys):
    import csv

    from bpgui.cli import main
    from bpgui_engine.session import load_session
    from tests.engine.test_animation import trained

    s = plane_setup("xor:samples=40", layers=(3,), seed=0)
    s = s.replace(optimizer="adam", hyper={"lr": 0.05}, criteria=s.criteria.__class__(epochs=60))
    from bpgui_engine.session import save_session

    path = tmp_path / "r.bpgui"
    save_session(trained(s), path)
    out = tmp_path / "g.csv"
    png = str(tmp_path / "g.png")
    assert main(["landscape", str(path), "--directions", "random", "--resolution", "9",
                 "--span", "0.3", "--out", str(out), "--plot", png]) == 0  # fmt: skip
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["alpha", "beta", "CE"] and len(rows) == 1 + 81
    centre = [r for r in rows[1:] if float(r[0]) == 0.0 and float(r[1]) == 0.0]
    sess = load_session(path)
    obj = sess.setup.objective()
    assert float(centre[0][2]) == pytest.approx(obj.value(sess.run.x))
    assert (tmp_path / "g.png").stat().st_size > 100
    assert main(["landscape", str(path), "--directions", "pca", "--resolution", "5",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "PCA plane" in capsys.readouterr().out
    rows = list(csv.reader(out.read_text().splitlines()))
    centre = [r for r in rows[1:] if float(r[0]) == 0.0 and float(r[1]) == 0.0]
    assert float(centre[0][2]) == pytest.approx(obj.value(sess.history.x[-1]))  # the end
    assert main(["landscape", str(path), "--directions", "line", "--out", str(out)]) == 0
    rows = list(csv.reader(out.read_text().splitlines()))
    t = np.array([float(r[0]) for r in rows[1:]])
    F = np.array([float(r[1]) for r in rows[1:]])
    assert F[np.isclose(t, 0)][0] == pytest.approx(obj.value(sess.history.x[0]))
    assert main(["landscape", "--directions", "line", "--out", str(out)]) == 2
    assert "needs a session" in capsys.readouterr().err
