"""Issue 18 #7: one classification of a stationary point everywhere, and basin labels that
never change once given.

Before: the basin map's legend classified a group of run end points by the Hessian alone,
so the book's flat floor (where runs stop on a small gradient) read "a saddle" there and
"degenerate (flat)" in Find critical points; labels were renumbered by performance on every
chunk (M1 was first the saddle, then the minimum found later); a race entry that met its
goal on a slope was called a minimum."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui.cli import main
from bpgui_engine.analysis.critical import classify_points, find_critical_points
from bpgui_engine.analysis.curvature import KIND_WORDS, curvature_at, kinds_at
from bpgui_engine.maps.basins import BasinJob
from bpgui_engine.maps.race import GOAL_MET, Race, RaceEntry
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria

RANGES = ((-5.0, 15.0), (-5.0, 15.0))


@pytest.fixture(scope="module")
def book():
    return Setup.from_preset().replace(ranges=RANGES)


@pytest.fixture(scope="module")
def critical(book):
    return find_critical_points(book)


@pytest.fixture(scope="module")
def floor_end(book):
    """Where a steepest-descent run from the flat region stops (|g| <= 1e-4)."""
    tr = FastTrainer(book.objective(), make_optimizer("sd", lr=1.0), np.array([-5.0, -3.0]),
                     StopCriteria(epochs=200_000, min_grad=1e-4))  # fmt: skip
    for b in tr.blocks():
        last = b
    assert last.stop == "min_grad"
    return last.x[-1].copy(), float(last.cols["performance"][-1])


def test_the_classifier_agrees_with_find_critical_points(book, critical):
    obj = book.objective()
    got = classify_points(obj, np.array([p.x for p in critical]))
    assert got == [p.kind for p in critical]
    assert {"minimum", "saddle", "degenerate"} <= set(got)


def test_a_run_stopped_on_the_flat_floor_is_degenerate_as_in_find_critical_points(
    book, critical, floor_end
):
    x, f = floor_end
    (floor,) = [p for p in critical if p.kind == "degenerate"]
    assert f == pytest.approx(floor.performance, rel=1e-4)  # the same floor
    assert curvature_at(book.objective(), x).kind == "saddle"  # the Hessian alone
    assert kinds_at(book.objective(), x[None]) == ["degenerate"]  # before: "saddle"


def test_a_point_on_a_slope_is_not_stationary(book, critical):
    obj = book.objective()
    x = np.array([6.0, 2.0])
    # no stationary point within 2 % of it: every one the search found is far away
    assert min(np.abs(p.x - x).max() for p in critical) > 0.02 * 6.0
    assert classify_points(obj, x[None]) == ["not stationary"]
    assert classify_points(obj, np.array([[np.nan, 1.0]])) == ["undefined"]


def test_basin_labels_never_change_while_computing_and_end_by_position(book):
    """The chunks arrive x-major: the flat region (small W1[1,1]) first, the minimum at
    (10, 1) later.  Before, every result() renumbered by performance.  Now a label, once
    given, stays while the map is computed; the finished map is numbered by position
    (performance, then coordinates): the same however it was chunked, M1 the lowest."""
    job = BasinJob(book, resolution=12, epochs=30_000, hyper={"lr": 1.0}, min_grad=1e-4,
                   chunk_cells=24)  # fmt: skip
    seen: dict[int, int] = {}  # cell -> label when first given
    maps = []
    for _ in job.chunks():
        m = job.result()
        maps.append(m)
        if not m.partial:
            break
        flat = m.labels.ravel()
        for cell in np.flatnonzero(flat >= 0):
            assert seen.setdefault(int(cell), int(flat[cell])) == int(flat[cell])
    final = maps[-1]
    assert len(maps) == 6 and not final.partial
    # the global minimum appeared after another group had been named: it was not M1 then
    first = next(m for m in maps if len(m.minima))
    assert first.minima_performance.min() > 1e-3
    # ... and is M1 in the finished map, which equals the map computed in one go
    assert np.all(np.diff(final.minima_performance) >= 0)
    assert np.abs(final.minima[0] - [10.0, 1.0]).max() < 0.1
    one = BasinJob(book, resolution=12, epochs=30_000, hyper={"lr": 1.0}, min_grad=1e-4)
    for _ in one.chunks():
        pass
    assert np.array_equal(one.result().labels, final.labels)
    kinds = kinds_at(book.objective(), final.minima)
    assert kinds[0] == "minimum" and "degenerate" in kinds


def test_a_map_in_one_go_numbers_by_performance(book):
    job = BasinJob(book, resolution=12, epochs=30_000, hyper={"lr": 1.0}, min_grad=1e-4)
    for _ in job.chunks():
        pass
    m = job.result()
    assert np.all(np.diff(m.minima_performance) >= 0) and len(m.minima) >= 2


def test_the_cli_basins_summary_uses_the_same_words(capsys, tmp_path):
    code = main(["basins", "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "15",
                 "--resolution", "12", "--epochs", "30000", "--min-grad", "1e-4", "--hyper",
                 "lr=1", "--out", str(tmp_path / "b.csv")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert f"M1, {KIND_WORDS['minimum']}: W1[1,1] 9.9" in out
    assert f", {KIND_WORDS['degenerate']}: W1[1,1] -" in out
    assert "saddle" not in out


def test_a_race_entry_that_met_its_goal_on_a_slope_is_not_a_minimum(book):
    entries = [RaceEntry("sd", {"lr": 1.0}, label="sd"), RaceEntry("lm", {}, label="lm")]
    race = Race(book.with_start(np.array([8.0, 3.0])), entries, epochs=100_000, goal=1e-2)
    for _ in race.steps(100_000):
        pass
    res = race.results()
    assert [r.stop for r in res] == ["goal", "goal"]
    obj = book.objective()
    for r in res:
        x = np.array(r.end)
        _, g = obj.value_and_grad(x)
        assert r.performance <= 1e-2 and np.linalg.norm(g) > 1e-3  # on the slope
        assert r.minimum == GOAL_MET  # before: "M1"
