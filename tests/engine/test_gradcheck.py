"""The gradient check: no false alarm for an exact zero, still catches a wrong derivative."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.analysis.gradcheck import gradient_check
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset

BOOK = get_preset("book-1-2-1")


def book(free=None) -> Objective:
    return Objective(BOOK.spec, BOOK.data, BOOK.theta, free=list(free or BOOK.spec.labels))


@pytest.mark.parametrize("h", [1e-6, 1e-5, 1e-4])
def test_an_exact_zero_gradient_is_not_a_false_alarm(h):
    """At the book's optimum F = 0 and every derivative is exactly 0; the central
    differences are 1e-13..1e-9 (truncation), which used to read as errors of 3e-5..0.3."""
    obj = book()
    x = BOOK.theta.copy()
    f, g = obj.value_and_grad(x)
    assert f == 0.0 and np.all(g == 0.0)
    rows = gradient_check(obj, x, h=h)
    assert any(r.numeric != 0.0 for r in rows)  # the noise is there ...
    assert max(r.max_rel_error for r in rows) < 1e-7  # ... and is not called an error
    assert all(abs(r.numeric) <= r.fd_error for r in rows)


def test_a_zero_gradient_at_the_saddle_with_a_large_error_passes():
    obj = book(["b1[1]", "b1[2]"])
    rows = gradient_check(obj, np.zeros(2))
    assert obj.value(np.zeros(2)) > 0.2 and rows[0].max_rel_error < 1e-7


@pytest.mark.parametrize("x_free", ["optimum", "saddle", "start"])
def test_a_wrong_derivative_still_fails(x_free):
    free = ["b1[1]", "b1[2]"] if x_free == "saddle" else ["W1[1,1]", "W2[1,1]"]
    x = {"optimum": [10.0, 1.0], "saddle": [0.0, 0.0], "start": [-4.0, -4.0]}[x_free]
    obj = book(free)
    right = obj.value_and_grad

    def wrong(x):  # a bug: the second derivative off by 1e-4 (or 1 % where larger)
        F, g = right(x)
        g = g.copy()
        g[1] += max(1e-4, 0.01 * abs(g[1]))
        return F, g

    obj.value_and_grad = wrong
    rows = gradient_check(obj, np.array(x))
    worst = max(rows, key=lambda r: r.max_rel_error)
    assert worst.max_rel_error > 1e-3 and worst.worst == free[1]
