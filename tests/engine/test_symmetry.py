"""Issue 18 #22: the symmetric copies of a stationary point (hidden neurons swapped or
sign-flipped, and the book data's mirror image), found and named as copies.

Before, ``bpgui critical`` with all 7 parameters free started every search with the
non-axis parameters at ``--start`` and found 5 of the 12 in-range copies of the local
minimum at F = 0.0247613, listing them as unrelated minima."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpgui.cli import main
from bpgui_engine.analysis.critical import find_critical_points
from bpgui_engine.analysis.symmetry import Symmetries
from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset
from bpgui_engine.model.setup import Setup

BOOK = get_preset("book-1-2-1")
LOCAL_F = 0.0247613


# the 1-2-1 network's maps written out by hand: theta = (w1, w2, b1, b2, v1, v2, c)
def _swap(t):
    w1, w2, b1, b2, v1, v2, c = t
    return (w2, w1, b2, b1, v2, v1, c)


def _flip1(t):  # logsig(-n) = 1 - logsig(n): v1 a1 = -v1 (1 - a1) + v1
    w1, w2, b1, b2, v1, v2, c = t
    return (-w1, w2, -b1, b2, -v1, v2, c + v1)


def _flip2(t):
    w1, w2, b1, b2, v1, v2, c = t
    return (w1, -w2, b1, -b2, v1, -v2, c + v2)


def _mirror(t):  # p -> -p and a -> 1 - a: the book's targets t(-p) = 1 - t(p)
    w1, w2, b1, b2, v1, v2, c = t
    return (-w1, -w2, b1, b2, -v1, -v2, -c)


def hand_orbit(theta) -> np.ndarray:
    """The closure of ``theta`` under the four maps above (breadth first)."""
    seen = [tuple(float(v) for v in theta)]
    k = 0
    while k < len(seen):
        for g in (_swap, _flip1, _flip2, _mirror):
            u = g(seen[k])
            if all(np.abs(np.subtract(u, s)).max() > 1e-9 for s in seen):
                seen.append(u)
        k += 1
    return np.array(seen)


def test_the_group_leaves_the_function_and_the_book_performance_unchanged():
    spec = BOOK.spec
    obj = Objective(spec, BOOK.data, BOOK.theta)
    sym = Symmetries(spec, obj.value)
    assert sym.mirror_names == ["inputs negated and output reflected"]
    theta = np.random.default_rng(1).normal(scale=3.0, size=spec.n_params)
    orbit = sym.orbit(theta)
    assert sym.order() == 16 and orbit.shape == (16, 7)
    ref = hand_orbit(theta)
    assert len(ref) == 16
    for u in ref:  # the same set as the maps written out by hand
        assert np.abs(orbit - u).max(axis=1).min() < 1e-12
    P = np.linspace(-3, 3, 13)[None, :]
    a = spec.output(theta, P)
    for u in orbit:
        b = spec.output(u, P)
        mirrored = np.allclose(b, 1.0 - spec.output(theta, -P), rtol=0, atol=1e-12)
        assert np.allclose(b, a, rtol=0, atol=1e-12) or mirrored
    F = obj.value(orbit)
    assert np.ptp(F) <= 1e-12 * max(1.0, F[0])


def test_a_mirror_is_kept_only_when_the_data_has_it():
    spec = NetworkSpec(1, (2, 1), ("logsig", "logsig"))
    rng = np.random.default_rng(0)
    P = rng.normal(size=(1, 9))
    data = Dataset(P, rng.uniform(0, 1, (1, 9)))
    sym = Symmetries(spec, Objective(spec, data, np.zeros(7)).value)
    assert sym.mirrors == [] and sym.order() == 8
    tan = NetworkSpec(1, (3, 1), ("tansig", "purelin"))
    assert Symmetries(tan).order() == 6 * 8


def test_copies_are_detected_through_the_canonical_form():
    spec = BOOK.spec
    sym = Symmetries(spec, Objective(spec, BOOK.data, BOOK.theta).value)
    rng = np.random.default_rng(2)
    a, b = rng.normal(scale=3.0, size=(2, 7))
    orbit = hand_orbit(a)
    noisy = orbit + rng.normal(scale=1e-9, size=orbit.shape)  # as a search returns them
    thetas = np.vstack([noisy, b])
    marks = sym.copies(thetas)
    assert marks[0] == -1 and marks[1:16] == [0] * 15  # copies of the first
    assert marks[16] == -1  # an unrelated point


@pytest.fixture(scope="module")
def all_free():
    setup = Setup.from_preset().replace(free=BOOK.spec.labels, ranges=((-5.0, 15.0),) * 2)
    return setup, find_critical_points(setup, free="all")


def test_all_in_range_copies_of_the_local_minimum_are_found_and_named(all_free):
    _setup, points = all_free
    local = [k for k, p in enumerate(points) if abs(p.performance - LOCAL_F) < 1e-6]
    assert local, "the local minimum was not found"
    first = points[local[0]]
    # every image of it with both axes inside [-5, 15], by the maps written out by hand
    ref = hand_orbit(first.x)
    inside = ref[(ref[:, 0] >= -5) & (ref[:, 0] <= 15) & (ref[:, 4] >= -5) & (ref[:, 4] <= 15)]
    assert len(ref) == 16 and len(inside) == 12
    X = np.array([points[k].x for k in local])
    for u in inside:
        assert np.abs(X - u).max(axis=1).min() < 1e-6, u
    assert len(local) == 12  # no more: each image once
    assert all(points[k].kind == "minimum" for k in local)
    assert first.copy_of == -1
    assert [points[k].copy_of for k in local[1:]] == [local[0]] * 11
    assert json.loads(json.dumps(points[local[1]].to_json()))["copy_of"] == local[0]
    # the global minimum's in-range copies name the first of them, not the local one
    glob = [p for p in points if p.performance < 1e-20]
    assert len(glob) >= 2 and {p.copy_of for p in glob[1:]} == {points.index(glob[0])}


def test_the_cli_names_the_copies(capsys):
    code = main(["critical", "--free", *BOOK.spec.labels, "--all", "--x", "W1[1,1]", "-5", "15",
                 "--y", "W2[1,1]", "-5", "15", "--grid", "8"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "copy of" in out.splitlines()[1]
    assert "are symmetric copies" in out
