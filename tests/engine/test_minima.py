"""Only converged end points are minima (issue 9 #12)."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.analysis.minima import DIVERGED, NOT_CONVERGED, converged, find_minima
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset
from bpgui_engine.train.batch import train_batch

BOOK = get_preset("book-1-2-1")


def test_runs_cut_off_along_a_valley_are_not_minima():
    """20 sd runs from [-1, 1]^2, 2,000 epochs: all stop on max epochs, strung along the
    valley at different points.  Clustering their end points would list several
    "minima"; none of them is one."""
    obj = Objective(BOOK.spec, BOOK.data, BOOK.theta, list(BOOK.free))
    X0 = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    res = train_batch(obj, X0, "sd", epochs=2000)
    assert set(res.stop) == {"epochs"}
    assert np.all(res.grad_norm > 1e-4)  # still moving
    m = find_minima(res.x, res.performance, res.stop, res.grad_norm)
    assert m.labels == [NOT_CONVERGED] * 20 and m.count == 0
    assert np.all(m.index == -1)
    # what the old clustering did with them: several distinct "minima"
    ended = find_minima(res.x, res.performance, ["goal"] * 20)
    assert ended.count > 1


def test_converged_runs_are_grouped_lowest_first():
    """LM from several starts: some reach the global minimum (10, 1) (goal, SSE 0), some
    the local one near (0.88, 38.6) (LM's mu_max); they are M1 and M2."""
    obj = Objective(BOOK.spec, BOOK.data, BOOK.theta, list(BOOK.free))
    X0 = np.array([[-4.0, -4.0], [8.0, 2.0], [9.0, 0.0], [-4.0, 10.0], [0.5, 30.0]])
    res = train_batch(obj, X0, "lm", epochs=500)
    m = find_minima(res.x, res.performance, res.stop, res.grad_norm)
    assert m.count == 2
    np.testing.assert_allclose(m.centres[0], [10.0, 1.0], atol=1e-3)
    np.testing.assert_allclose(m.centres[1], [0.88, 38.6], atol=0.05)
    assert m.performance[0] < m.performance[1]
    assert m.labels[1].startswith("M1 (10") and m.labels[3].startswith("M2 (0.883")
    assert set(m.index) == {0, 1}


def test_a_small_gradient_counts_as_converged_and_divergence_is_named():
    x = np.array([[10.0, 1.0], [10.0, 1.0], [3.0, 3.0], [np.nan, 1.0], [5.0, 5.0]])
    F = np.array([1e-12, 2e-12, 0.5, np.nan, 1e300])
    stop = ["epochs", "no_change", "epochs", "diverged", "diverged"]
    g = np.array([1e-9, 0.0, 1e-2, np.nan, np.inf])
    m = find_minima(x, F, stop, g)
    assert m.labels == ["M1 (10, 1)", "M1 (10, 1)", NOT_CONVERGED, DIVERGED, DIVERGED]
    assert list(m.index) == [0, 0, -1, -2, -2]
    # without gradient norms (a version 1 session) only the stop reason counts
    assert list(converged(stop)) == [False, True, False, False, False]
    assert list(converged(stop, g, grad_tol=1e-8)) == [True, True, False, False, False]


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="one entry per run"):
        find_minima(np.zeros((3, 2)), np.zeros(2), ["epochs"] * 3)
