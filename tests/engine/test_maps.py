"""Basin maps, sweeps, races and their scale-out (issue 12): every cell checked against an
independent single run, the cluster against the local run, CSVs parsed back."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from bpgui_engine import jit
from bpgui_engine.analysis.minima import CONVERGED_STOPS
from bpgui_engine.maps.basins import DIVERGED, NOT_CONVERGED, BasinJob, basin_bytes, basin_map
from bpgui_engine.maps.cluster import ChunkFailed, connect, run_chunks
from bpgui_engine.maps.grid import MISSING, STOP_CODES
from bpgui_engine.maps.race import Race, RaceEntry, race_from_dict, race_to_dict
from bpgui_engine.maps.race_presets import race_preset
from bpgui_engine.maps.sweep import SweepJob, stability_bound, sweep
from bpgui_engine.memory import MemoryLimitError, fmt_bytes
from bpgui_engine.model.experiments import LOCAL_RANGES
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria, Trainer

BOOK_MIN = np.array([10.0, 1.0])
LOCAL_MIN = np.array([0.8828, 38.619])


def book(**changes) -> Setup:
    return Setup.from_preset("book-1-2-1", ranges=LOCAL_RANGES, hyper={"lr": 1.0}, **changes)


def single_run(setup, optimizer, hyper, x0, epochs, goal=0.0, min_grad=0.0, numpy=False):
    cls = OPTIMIZERS[optimizer]
    crit = StopCriteria(epochs=epochs, goal=goal, min_grad=min_grad)
    opt = cls(cls.Hyper.from_dict(hyper))
    if numpy:
        recs = list(Trainer(setup.objective(), opt, x0, crit).run())
        r = recs[-1]
        return r.x, r.performance, r.epoch, r.stop
    for b in FastTrainer(setup.objective(), opt, x0, crit).blocks():
        last = b
    return last.x[-1], last.cols["performance"][-1], int(last.cols["epoch"][-1]), last.stop


# ---- basin maps ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def book_map():
    # lr 1 on the book's slice: crossing the flat regions takes hundreds of thousands of
    # epochs, so most cells do not converge in 30,000; min_grad 1e-4 ends those that reach
    # a minimum (their end points are within 0.5 of it)
    return basin_map(book(), resolution=20, epochs=30_000, min_grad=1e-4)


def test_basin_map_book_slice_shows_both_minima(book_map):
    m = book_map
    assert not m.partial and m.resolution == 20
    assert np.all(m.labels != MISSING)
    centres = {tuple(np.round(c, 1)) for c in m.minima}
    k_global = [k for k, c in enumerate(m.minima) if np.max(np.abs(c - BOOK_MIN)) < 0.1]
    k_local = [k for k, c in enumerate(m.minima) if np.max(np.abs(c - LOCAL_MIN)) < 0.5]
    assert len(k_global) == 1 and len(k_local) == 1, centres
    assert k_global[0] == 0  # M1: the lowest, SSE ~ 0
    assert m.minima_performance[0] < 1e-5
    assert m.minima_performance[k_local[0]] == pytest.approx(0.0934, abs=2e-4)
    assert np.count_nonzero(m.labels == k_global[0]) >= 1
    assert np.count_nonzero(m.labels == k_local[0]) >= 1
    # the local basin is at the top of the slice, the global one at the bottom
    ys_local = m.ys[np.nonzero(m.labels == k_local[0])[1]]
    ys_global = m.ys[np.nonzero(m.labels == k_global[0])[1]]
    assert ys_local.min() > 25 and ys_global.max() < 15
    assert np.all((m.labels >= 0) | (m.labels == NOT_CONVERGED))  # lr 1 never diverges here


def test_basin_cells_equal_single_runs(book_map):
    m = book_map
    s = book()
    picks = [np.argwhere(m.labels == k)[0] for k in range(len(m.minima))]
    picks.append(np.argwhere(m.labels == NOT_CONVERGED)[0])
    for ix, iy in picks:
        x0 = np.array([m.xs[ix], m.ys[iy]])
        x, f, ep, stop = single_run(s, "sd", {"lr": 1.0}, x0, 30_000, min_grad=1e-4)
        assert np.max(np.abs(x - m.end[ix, iy])) <= 1e-12
        assert abs(f - m.performance[ix, iy]) <= 1e-12
        assert ep == m.epochs[ix, iy] and stop == STOP_CODES[m.stop[ix, iy]]


def test_basin_cells_equal_numpy_trainer_without_the_compiler(monkeypatch):
    monkeypatch.setenv("BPGUI_KERNEL", "numpy")  # the NumPy batch engine and Trainer
    s = book()
    m = basin_map(s, resolution=4, epochs=3000, min_grad=1e-4)
    assert m.kernel == "numpy" and not m.partial
    for ix in range(4):
        for iy in range(4):
            x0 = np.array([m.xs[ix], m.ys[iy]])
            x, f, ep, stop = single_run(s, "sd", {"lr": 1.0}, x0, 3000, min_grad=1e-4, numpy=True)
            assert np.max(np.abs(x - m.end[ix, iy])) <= 1e-12
            assert abs(f - m.performance[ix, iy]) <= 1e-12
            assert ep == m.epochs[ix, iy] and stop == STOP_CODES[m.stop[ix, iy]]


def test_basin_cells_of_lm_match_single_runs():
    s = book()
    m = basin_map(s, optimizer="lm", hyper={}, resolution=4, epochs=200)
    assert m.kernel == "numpy" and not m.partial
    for ix in range(4):
        for iy in range(4):
            x0 = np.array([m.xs[ix], m.ys[iy]])
            x, f, _ep, stop = single_run(s, "lm", {}, x0, 200, numpy=True)
            # LM ends (mu_max) on an ill-conditioned valley floor: the batched J^T J sums in
            # another order than the single run's BLAS product, which moves the last
            # accepted step by ~1e-6 there (along the floor); the error and minimum agree
            assert np.max(np.abs(x - m.end[ix, iy])) <= 1e-5
            assert abs(f - m.performance[ix, iy]) <= 1e-12
            # both converged (the batch says mu_max where the single run's last step
            # stopped moving the weights: no_change), so the same minimum
            assert {stop, STOP_CODES[m.stop[ix, iy]]} <= CONVERGED_STOPS


def test_basin_cells_of_unbatched_optimizer_are_single_runs():
    s = book()
    m = basin_map(s, optimizer="cg", hyper={}, resolution=3, epochs=40)
    for ix in range(3):
        for iy in range(3):
            x0 = np.array([m.xs[ix], m.ys[iy]])
            x, f, ep, _ = single_run(s, "cg", {}, x0, 40)
            assert np.array_equal(x, m.end[ix, iy]) and f == m.performance[ix, iy]
            assert ep == m.epochs[ix, iy]


def test_basin_csv_columns_and_values_parse_back(book_map):
    m = book_map
    rows = list(csv.reader(io.StringIO(m.to_csv())))
    assert rows[0] == [
        "W1[1,1]", "W2[1,1]", "end W1[1,1]", "end W2[1,1]",
        "performance", "epochs", "minimum", "stop",
    ]  # fmt: skip
    assert len(rows) == 1 + 20 * 20
    for r in rows[1:]:
        ix = int(np.flatnonzero(m.xs == float(r[0]))[0])
        iy = int(np.flatnonzero(m.ys == float(r[1]))[0])
        assert [float(r[2]), float(r[3])] == m.end[ix, iy].tolist()
        assert float(r[4]) == m.performance[ix, iy] and int(r[5]) == m.epochs[ix, iy]
        lab = m.labels[ix, iy]
        assert r[6] == (f"M{lab + 1}" if lab >= 0 else "")
        assert r[7] == STOP_CODES[m.stop[ix, iy]]


def test_basin_map_cancel_keeps_a_partial_map_and_resumes():
    s = book()
    job = BasinJob(s, resolution=8, epochs=300, chunk_cells=16)
    it = job.chunks()
    next(it)
    it.close()  # Cancel after the first chunk
    part = job.result()
    assert part.partial and job.done == 16
    assert np.count_nonzero(part.labels == MISSING) == 64 - 16
    assert np.all(part.stop.ravel()[16:] == MISSING)
    rows = list(csv.reader(io.StringIO(part.to_csv())))
    assert sum(r[-1] == "not computed" for r in rows[1:]) == 48
    for _ in job.chunks():  # continue: only the missing cells
        pass
    full = basin_map(s, resolution=8, epochs=300)
    done = job.result()
    assert not done.partial
    assert np.array_equal(done.end, full.end) and np.array_equal(done.labels, full.labels)


def test_basin_map_diverged_cells_are_labelled():
    m = basin_map(book(), hyper={"lr": 5000.0}, resolution=5, epochs=2000)
    assert np.any(m.labels == DIVERGED) or np.any(m.labels == NOT_CONVERGED)
    assert m.counts()  # names every label


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"resolution": 0}, "resolution"),
        ({"resolution": 1}, "resolution"),
        ({"x_range": (5.0, -5.0)}, "range of W1[1,1]"),
        ({"y_range": (1.0, 1.0)}, "range of W2[1,1]"),
        ({"hyper": {"lr": 1.0, "gamma": 0.5}}, "'gamma'"),
        ({"optimizer": "newton"}, "'newton'"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_basin_map_bad_input_is_one_line(kw, words):
    with pytest.raises(ValueError) as e:
        BasinJob(book(), **kw)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_basin_map_refuses_what_would_not_fit(monkeypatch):
    s = book()
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "64M")
    need = basin_bytes(s, 3000, "sd", 4096)
    assert need > 64 << 20  # 9 M cells: ~ 0.4 GiB kept
    with pytest.raises(MemoryLimitError) as e:
        BasinJob(s, resolution=3000)
    assert fmt_bytes(need) in str(e.value) and "\n" not in str(e.value)
    BasinJob(s, resolution=100)  # 10,000 cells fit


# ---- sweeps ----------------------------------------------------------------------------------
def test_sweep_cells_equal_single_runs_and_axes():
    s = book().with_start(np.array([-4.0, -4.0]))
    r = sweep(s, "lr", (1.0, 400.0), "gamma", (0.0, 0.9), resolution=(4, 3),
              optimizer="momentum", hyper={}, epochs=5000, goal=1e-6)  # fmt: skip
    assert r.x_log and not r.y_log
    assert np.allclose(r.xs, np.geomspace(1, 400, 4)) and np.allclose(r.ys, [0, 0.45, 0.9])
    assert not r.partial
    for ix, lr in enumerate(r.xs):
        for iy, g in enumerate(r.ys):
            h = {"lr": float(lr), "gamma": float(g)}
            _, f, ep, stop = single_run(s, "momentum", h, np.array([-4.0, -4.0]), 5000, 1e-6)
            assert (f == r.performance[ix, iy]) or (np.isnan(f) and np.isnan(r.performance[ix, iy]))
            assert ep == r.epochs[ix, iy] and stop == STOP_CODES[r.stop[ix, iy]]
    assert np.any(r.reached) and np.any(~r.reached)
    etg = r.epochs_to_goal
    assert np.all(np.isnan(etg[~r.reached])) and np.all(etg[r.reached] == r.epochs[r.reached])
    rows = list(csv.reader(io.StringIO(r.to_csv())))
    assert rows[0] == ["lr", "gamma", "epochs_to_goal", "performance", "epochs", "stop"]
    assert len(rows) == 13
    for row in rows[1:]:
        ix = int(np.argmin(np.abs(r.xs - float(row[0]))))
        iy = int(np.argmin(np.abs(r.ys - float(row[1]))))
        assert float(row[0]) == r.xs[ix]
        assert row[2] == ("" if not r.reached[ix, iy] else str(r.epochs[ix, iy]))
        assert row[5] == STOP_CODES[r.stop[ix, iy]]


def test_sweep_shows_the_seeds_lesson_on_learning_rates():
    # lr 100 oscillates under steepest descent (gamma 0) but converges with momentum 0.8
    s = book().with_start(START)
    r = sweep(s, "lr", (50.0, 100.0), "gamma", (0.0, 0.8), resolution=2, optimizer="momentum",
              hyper={}, epochs=20_000, goal=1e-6)  # fmt: skip
    assert r.xs.tolist() == [50.0, 100.0] and r.ys.tolist() == [0.0, 0.8]
    assert r.reached[0, 0] and not r.reached[1, 0] and r.reached[1, 1]
    assert r.performance[1, 0] > 1e-3  # the oscillation's band


@pytest.mark.parametrize(
    "args, words",
    [
        (("lr", (1, 10), "beta", (0, 1)), "no hyperparameter 'beta'"),
        (("lr", (1, 10), "lr", (1, 10)), "two different"),
        (("lr", (1, 10), "gamma", (0.5, 1.5)), "gamma"),
        (("lr", (10, 1), "gamma", (0, 0.5)), "range of lr"),
        (("lr", (-1, 10), "gamma", (0, 0.5)), "lr"),
    ],
)
def test_sweep_bad_input_names_it(args, words):
    with pytest.raises(ValueError) as e:
        SweepJob(book(), *args, optimizer="momentum", hyper={})
    assert words in str(e.value) and "\n" not in str(e.value)


def test_sweep_refuses_a_choice_hyperparameter():
    with pytest.raises(ValueError, match="beta"):
        SweepJob(book(), "beta", (0, 1), "lr", (0.1, 1), optimizer="cg", hyper={})


def _fd_hessian_from_values(obj, x, h=1e-4):
    """Second differences of F itself (not of the gradient): an independent Hessian."""
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (
                obj.value(x + e_i + e_j) - obj.value(x + e_i - e_j)
                - obj.value(x - e_i + e_j) + obj.value(x - e_i - e_j)
            ) / (4 * h * h)  # fmt: skip
    return H


def test_stability_bound_book_slice_is_about_71_and_is_the_edge():
    s = book()
    bound = stability_bound(s, BOOK_MIN)
    assert 70.5 < bound < 71.5
    obj = s.objective()
    lam = np.linalg.eigvalsh(_fd_hessian_from_values(obj, BOOK_MIN)).max()
    assert bound == pytest.approx(2 * 41 / lam, rel=1e-4)  # lr_scale = 1/41 samples
    x0 = BOOK_MIN + 1e-3
    d0 = np.linalg.norm(x0 - BOOK_MIN)
    for factor, grows in ((0.95, False), (1.05, True)):
        x, *_ = single_run(s, "sd", {"lr": factor * bound}, x0, 3000)
        d = np.linalg.norm(x - BOOK_MIN)
        assert (d > d0) == grows, (factor, d)
    assert bound < 100  # why the seed's lr 100 oscillates


def test_stability_bound_with_momentum():
    s = book()
    g = 0.8
    bound = stability_bound(s, BOOK_MIN, gamma=g)
    assert bound == pytest.approx(stability_bound(s, BOOK_MIN) * (1 + g) / (1 - g))
    x0 = BOOK_MIN + 1e-3
    for factor, grows in ((0.95, False), (1.05, True)):
        x, *_ = single_run(s, "momentum", {"lr": factor * bound, "gamma": g}, x0, 5000)
        assert (np.linalg.norm(x - BOOK_MIN) > np.linalg.norm(x0 - BOOK_MIN)) == grows


# ---- races -----------------------------------------------------------------------------------
START = np.array([-4.0, -4.0])


def test_race_entries_equal_separate_runs_on_one_clock():
    s = book().with_start(START)
    race = Race(s, race_preset(), epochs=6000)
    clock_ok = True
    for step in race.steps(777):
        for _i, b in step.items():
            if b.stop is None:
                clock_ok &= int(b.cols["epoch"][-1]) == race.clock
    assert clock_ok and race.finished
    for e, h in zip(race.entries, race.histories, strict=True):
        cls = OPTIMIZERS[e.optimizer]
        tr = FastTrainer(s.objective(), cls(cls.Hyper.from_dict(e.hyper)), START,
                         StopCriteria(epochs=6000))  # fmt: skip
        blocks = list(tr.blocks())
        assert np.array_equal(np.concatenate([b.x for b in blocks]), h.x), e.label
        for c in ("epoch", "performance", "grad_norm"):
            assert np.array_equal(np.concatenate([b.cols[c] for b in blocks]), h.column(c))
        assert blocks[-1].stop == h.stop


def test_race_preset_is_the_experiments_settings():
    entries = race_preset()
    assert [e.optimizer for e in entries] == ["sd", "momentum", "vlbp", "cg", "lm"]
    assert entries[0].hyper["lr"] == 1.0
    assert {k: entries[1].hyper[k] for k in ("lr", "gamma")} == {"lr": 100.0, "gamma": 0.8}
    assert entries[1].hyper.get("lr_layers", 1.0) == 1.0  # equal rates per layer
    assert len({e.colour for e in entries}) == 5


def test_race_results_minima_goal_and_wall_time():
    s = book().with_start(START)
    race = Race(s, race_preset(), epochs=400_000, goal=1e-12)
    for _ in race.steps(50_000):
        pass
    res = {r.optimizer: r for r in race.results()}
    assert res["lm"].minimum != res["cg"].minimum  # LM jumps into the local minimum
    assert np.max(np.abs(np.array(res["lm"].end) - LOCAL_MIN)) < 0.01
    assert res["lm"].minimum_performance == pytest.approx(0.0934, abs=1e-4)
    for k in ("sd", "momentum", "vlbp", "cg"):
        assert res[k].minimum == "M1" and res[k].stop == "goal"
        assert res[k].epochs_to_goal == res[k].epochs
        assert res[k].wall_seconds > 0
    assert res["lm"].epochs_to_goal is None
    assert res["sd"].epochs_to_goal > res["momentum"].epochs_to_goal > res["cg"].epochs_to_goal
    # the first epoch <= goal, checked against the separate run's record
    _, f, ep, _ = single_run(s, "momentum", {"lr": 100.0, "gamma": 0.8}, START, 400_000, 1e-12)
    assert ep == res["momentum"].epochs_to_goal and f <= 1e-12


def test_race_stop_ends_all_entries():
    race = Race(book().with_start(START), race_preset(), epochs=400_000)
    race.step(10)
    race.stop()
    assert race.finished
    assert race.step(10) == {}
    res = race.results()
    for r in res:
        assert r.stop in ("stopped", "no_change", "mu_max", "goal")
    assert res[0].stop == "stopped" and res[0].epochs == 10 and res[0].minimum == "not converged"


@pytest.mark.parametrize(
    "entries, words",
    [
        ([], "at least one entry"),
        ([RaceEntry("sd"), {"optimizer": "newton"}], "'newton'"),
        ([{"optimizer": "sd", "hyper": {"gama": 1}}], "'gama'"),
    ],
)
def test_race_bad_input_names_it(entries, words):
    with pytest.raises(ValueError) as e:
        Race(book(), entries)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_race_round_trips_through_plain_json():
    s = book().with_start(START)
    entries = [RaceEntry("sd", {"lr": 100.0}, "#ff0000", "too fast"), RaceEntry("momentum")]
    race = Race(s, entries, epochs=500)
    for _ in race.steps(100):
        pass
    doc, arrays = race_to_dict(race)
    text = json.dumps(doc, allow_nan=False)  # plain JSON: no NaN/Infinity tokens
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    cols = ("epoch", "performance", "sse", "grad_norm", "lr", "mu", "val_performance", "x")
    assert set(arrays) == {f"race_{i}_{c}" for i in (0, 1) for c in cols}
    back = race_from_dict(json.loads(text), arrays)
    assert back.results == race.results()
    assert back.entries == race.entries and np.array_equal(back.x0, START)
    for h0, h1 in zip(race.histories, back.histories, strict=True):
        assert np.array_equal(h0.x, h1.x) and h0.stop == h1.stop
        assert np.array_equal(h0.column("performance"), h1.column("performance"))
    no_arrays = race_from_dict(json.loads(text))
    assert no_arrays.histories is None and no_arrays.results == back.results
    with pytest.raises(ValueError, match="not a bpgui-race"):
        race_from_dict({"format": "other"})


def test_race_dict_writes_non_finite_numbers_as_strings():
    rec = Race(book(), [RaceEntry("sd")], epochs=3).record()
    bad = dataclasses.replace(
        rec.results[0],
        performance=math.inf,
        grad_norm=math.nan,
        stop="diverged",
        minimum="diverged",
        end=(math.nan, 1.0),
    )
    rec = dataclasses.replace(rec, results=[bad], histories=None)
    doc, arrays = race_to_dict(rec)
    text = json.dumps(doc, allow_nan=False)
    assert arrays == {} and '"inf"' in text and '"nan"' in text
    r = race_from_dict(json.loads(text)).results[0]
    assert r.performance == math.inf and math.isnan(r.grad_norm) and math.isnan(r.end[0])


# ---- scale-out -------------------------------------------------------------------------------
def test_engine_imports_without_dask():
    code = (
        "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
        "import bpgui_engine.maps.basins, bpgui_engine.maps.sweep, bpgui_engine.maps.race\n"
        "import bpgui_engine.maps.cluster\n"
        "from bpgui_engine.maps.cluster import connect\n"
        "try:\n    connect('tcp://127.0.0.1:9')\nexcept ValueError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "not installed" in out.stdout and "bpgui[cluster]" in out.stdout


def test_local_threads_give_what_one_thread_gives():
    s = book().with_start(START)
    args = (s, "lr", (1.0, 100.0), "gamma", (0.0, 0.9))
    kw = {"resolution": 4, "optimizer": "momentum", "hyper": {}, "epochs": 800}
    a = SweepJob(*args, **kw)
    for _ in a.chunks(workers=1):
        pass
    b = SweepJob(*args, **kw)
    for _ in b.chunks(workers=2):
        pass
    ra, rb = a.result(), b.result()
    assert np.array_equal(ra.performance, rb.performance, equal_nan=True)
    assert np.array_equal(ra.epochs, rb.epochs) and np.array_equal(ra.stop, rb.stop)


distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1", scheduler_port=0,
    ) as c:  # fmt: skip
        yield c


def test_cluster_basin_map_equals_local_bit_for_bit(cluster):
    s = book()
    kw = {"resolution": 9, "epochs": 3000, "min_grad": 1e-4, "chunk_cells": 20}
    local = basin_map(s, **kw)
    remote = basin_map(s, scheduler=cluster.scheduler_address, **kw)
    assert remote.kernel == local.kernel == jit.kernel_name()
    assert not remote.partial
    for name in ("end", "performance", "grad_norm", "epochs", "stop", "labels", "minima"):
        assert np.array_equal(getattr(local, name), getattr(remote, name)), name
    assert local.to_csv() == remote.to_csv()


def test_cluster_sweep_equals_local_bit_for_bit(cluster):
    s = book().with_start(START)
    args = (s, "lr", (1.0, 300.0), "gamma", (0.0, 0.9))
    kw = {"resolution": 5, "optimizer": "momentum", "hyper": {}, "epochs": 2000, "goal": 1e-6}
    local = sweep(*args, **kw)
    remote = sweep(*args, scheduler=cluster.scheduler_address, **kw)
    assert local.to_csv() == remote.to_csv()
    assert np.array_equal(local.performance, remote.performance, equal_nan=True)


def test_unreachable_scheduler_fails_fast_in_one_line():
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as e:
        basin_map(book(), resolution=4, epochs=10, scheduler="tcp://127.0.0.1:9", timeout=2)
    assert time.perf_counter() - t0 < 10
    msg = str(e.value)
    assert "tcp://127.0.0.1:9" in msg and "\n" not in msg
    job = BasinJob(book(), resolution=4, epochs=10)  # a local run is still possible
    for _ in job.chunks():
        pass
    assert not job.result().partial


def _die_once(marker: str, value: int) -> int:
    if not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write("died")
        os._exit(1)  # the worker process dies mid-chunk
    return value * 2


def _die_always(value: int) -> int:
    os._exit(1)


def test_worker_dying_is_retried_or_reported(cluster, tmp_path):
    marker = str(tmp_path / "died")
    got = dict(run_chunks(_die_once, [(marker, 3), (marker, 4)],
                          scheduler=cluster.scheduler_address, retries=2))  # fmt: skip
    assert got == {0: 6, 1: 8} and os.path.exists(marker)
    client = connect(cluster.scheduler_address)
    try:
        got = dict(run_chunks(_die_always, [(1,)], scheduler=client, retries=0))
    finally:
        client.close()
    assert isinstance(got[0], ChunkFailed) and "KilledWorker" in got[0].message


def test_stability_bound_is_lower_at_the_local_minimum():
    s = book()
    local = stability_bound(s, LOCAL_MIN)
    lam = np.linalg.eigvalsh(_fd_hessian_from_values(s.objective(), LOCAL_MIN)).max()
    assert local == pytest.approx(2 * 41 / lam, rel=1e-3)
    assert math.isfinite(local) and local < stability_bound(s, BOOK_MIN)


def test_basin_map_and_sweep_round_trip_through_plain_json():
    from bpgui_engine.maps.basins import basin_from_dict, basin_to_dict
    from bpgui_engine.maps.sweep import sweep_from_dict, sweep_to_dict

    job = BasinJob(book(), resolution=5, epochs=500, chunk_cells=10)
    next(job.chunks())  # a partial map
    m = job.result()
    doc, arrays = basin_to_dict(m)
    back = basin_from_dict(json.loads(json.dumps(doc, allow_nan=False)), arrays)
    assert back.partial and back.to_csv() == m.to_csv()
    for f in dataclasses.fields(m):
        a, b = getattr(m, f.name), getattr(back, f.name)
        assert np.array_equal(a, b, equal_nan=True) if isinstance(a, np.ndarray) else a == b
    with pytest.raises(ValueError, match="shape"):
        basin_from_dict(doc, {**arrays, "basins_labels": arrays["basins_labels"][:2]})
    r = sweep(book().with_start(START), "lr", (1.0, 10.0), "gamma", (0.0, 0.5), resolution=2,
              optimizer="momentum", hyper={}, epochs=50)  # fmt: skip
    doc, arrays = sweep_to_dict(r)
    back = sweep_from_dict(json.loads(json.dumps(doc, allow_nan=False)), arrays)
    assert back.to_csv() == r.to_csv() and back.hyper == r.hyper
