"""The compute service's codec (no pickle) and its jobs, run in-process here: each job
gives what calling the engine directly gives."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from bpgui_engine.codec import CodecError, decode, encode, pack, unpack
from bpgui_engine.jobs import JOBS
from bpgui_engine.maps.basins import BasinJob
from bpgui_engine.maps.sweep import sweep as run_sweep
from bpgui_engine.model.setup import Setup
from bpgui_engine.train.fast import fast_train_batch


def crossed(value):
    """``value`` as the receiving process sees it: JSON text and raw bytes only."""
    tree, arrays = encode(value)
    specs, data = pack(arrays)
    return decode(json.loads(json.dumps(tree)), unpack(specs, bytes(data)))


def run_job(kind: str, request, cancel: threading.Event | None = None):
    gen = JOBS[kind](crossed(request), cancel or threading.Event())
    parts = []
    try:
        while True:
            parts.append(next(gen))
    except StopIteration as stop:
        result, error = stop.value
    return parts, crossed(result), error


def test_plain_values_cross_unchanged():
    v = {
        "a": [1, 2.5, None, True, "x"],
        "t": (1, (2, 3)),
        "inf": float("inf"),
        "ninf": -np.inf,
        "i8": np.arange(5, dtype=np.int8),
        "u": np.array(["converged", "diverged"]),
        "m": np.eye(3)[:, ::2],  # not contiguous
        "s": np.float32(1.5),
    }
    out = crossed(v)
    assert out["a"] == [1, 2.5, None, True, "x"] and out["t"] == (1, (2, 3))
    assert out["inf"] == np.inf and out["ninf"] == -np.inf
    assert np.isnan(crossed(float("nan")))
    for k in ("i8", "u", "m"):
        assert out[k].dtype == v[k].dtype and np.array_equal(out[k], v[k])
    assert out["s"] == 1.5 and isinstance(out["s"], float)


def test_engine_dataclasses_and_setups_cross_whole():
    s = Setup.from_preset("book-1-2-1")
    out = crossed({"setup": s})["setup"]
    assert not out.differs(s, "spec", "data", "free", "theta", "performance", "axes", "ranges")
    res = fast_train_batch(s.objective(), s.start()[None, :], "sd", {}, 20)
    back = crossed(res)
    assert type(back) is type(res)
    for f in ("x", "performance", "epochs", "stop", "path"):
        np.testing.assert_array_equal(getattr(back, f), getattr(res, f))


def test_what_is_not_an_engine_type_is_refused_both_ways():
    class Foreign:
        pass

    with pytest.raises(CodecError):
        encode(Foreign())
    with pytest.raises(CodecError):
        encode({1: "a non-string key"})
    for name in ("os:system", "subprocess:Popen", "bpgui_engine.codec:CodecError"):
        with pytest.raises(CodecError):
            decode({"$dc": name, "f": {}}, [])
    with pytest.raises(CodecError):
        unpack([{"dtype": "<f8", "shape": [100], "at": 0}], b"\0" * 16)  # runs past


def test_the_restarts_job_equals_the_batch_trained_here():
    s = Setup.from_preset("book-1-2-1")
    rng = np.random.default_rng(3)
    X0 = s.start()[None, :] + rng.normal(0, 1, (4, len(s.free)))
    _, res, error = run_job(
        "restarts", {"setup": s, "starts": X0, "method": "momentum", "epochs": 300, "stride": 10}
    )
    ref = fast_train_batch(s.objective(), X0, "momentum", {}, 300, stride=10)
    assert error == ""
    np.testing.assert_array_equal(res.x, ref.x)
    np.testing.assert_array_equal(res.path, ref.path)


def test_the_basins_job_equals_the_map_computed_here_and_streams_its_chunks():
    s = Setup.from_preset("book-1-2-1")
    opts = {"resolution": 8, "epochs": 200, "optimizer": "lm", "chunk_cells": 16}
    parts, m, error = run_job("basins", {"setup": s, "options": opts})
    job = BasinJob(s, **opts)
    for _ in job.chunks(None):
        pass
    ref = job.result()
    assert error == "" and len(parts) == 4  # 64 cells, 16 a chunk
    assert int((parts[0].stop >= 0).sum()) == 16 and parts[0].partial
    np.testing.assert_array_equal(m.labels, ref.labels)
    np.testing.assert_array_equal(m.end, ref.end)


def test_a_cancelled_map_returns_what_it_has():
    s = Setup.from_preset("book-1-2-1")
    cancel = threading.Event()
    opts = {"resolution": 8, "epochs": 100, "optimizer": "lm", "chunk_cells": 16}
    gen = JOBS["basins"]({"setup": s, "options": opts}, cancel)
    first = next(gen)
    cancel.set()
    with pytest.raises(StopIteration) as stop:
        next(gen)
    m, error = stop.value.value
    assert error == "" and m.partial
    assert int((m.stop >= 0).sum()) == int((first.stop >= 0).sum()) == 16


def test_the_sweep_job_brings_its_stability_bound():
    s = Setup.from_preset("book-1-2-1")
    x0 = np.array([-4.0, -4.0])
    s = s.replace(free=("W1[1,1]", "W2[1,1]"), axes=("W1[1,1]", "W2[1,1]"))
    axes = ("lr", (1.0, 100.0), "gamma", (0.0, 0.5))
    opts = {"resolution": (3, 2), "optimizer": "momentum", "x0": x0, "epochs": 3000}
    _, (r, bound), error = run_job("sweep", {"setup": s, "axes": axes, "options": opts})
    ref = run_sweep(s, *axes, **opts)
    assert error == ""
    np.testing.assert_array_equal(r.performance, ref.performance)
    from bpgui_engine.maps.sweep_bound import with_bound

    _, ref_bound = with_bound(s, x0, ref)
    if ref_bound is None:
        assert bound is None
    else:
        np.testing.assert_allclose(bound[0], ref_bound[0])
        assert bound[2] == ref_bound[2]


def test_failing_jobs_raise_for_the_host_to_report():
    with pytest.raises(RuntimeError, match="boom"):
        run_job("crash", {"how": "raise", "message": "boom"})
    cancel = threading.Event()
    cancel.set()
    _, out, _ = run_job("crash", {"how": "wait", "seconds": 5}, cancel)
    assert out == "cancelled"
