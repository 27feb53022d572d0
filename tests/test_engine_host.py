"""The engine process's protocol and run control, without Qt."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from bpgui.service.engine_host import Host
from bpgui.service.wire import read_frame, write_frame
from bpgui_engine import jit
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.model.setup import Setup, setup_to_dict
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.history import COLUMNS
from bpgui_engine.train.trainer import StopCriteria

HAS_NUMBA = jit.kernels() is not None  # loaded (from the on-disk cache) before any host runs
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba kernel unavailable")


class Sink:
    """A thread-safe byte stream the host writes frames to."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def write(self, b: bytes) -> None:
        with self.lock:
            self.buf += b
            self.changed.notify_all()

    def flush(self) -> None:
        pass

    def frames(self) -> list:
        with self.lock:
            stream = io.BytesIO(bytes(self.buf))
        out = []
        while (f := read_frame(stream)) is not None:
            out.append(f)
        return out

    def wait_for(self, pred, timeout: float = 20.0) -> list:
        with self.lock:
            ok = self.changed.wait_for(lambda: pred(_parse(bytes(self.buf))), timeout=timeout)
        assert ok, "timed out waiting for frames"
        return self.frames()


def _parse(data: bytes) -> list:
    stream, out = io.BytesIO(data), []
    while (f := read_frame(stream)) is not None:
        out.append(f)
    return out


@pytest.fixture(params=["numba", "numpy"])
def kernel(request, monkeypatch):
    """Both kernels: the compiled one (loaded, as after the engine's background warm-up)
    and the NumPy one (``BPGUI_KERNEL=numpy``)."""
    if request.param == "numba" and not HAS_NUMBA:
        pytest.skip("numba kernel unavailable")
    if request.param == "numpy":
        monkeypatch.setenv("BPGUI_KERNEL", "numpy")
    return request.param


@pytest.fixture
def host():
    sink = Sink()
    h = Host(sink)
    t = threading.Thread(target=h.serve, daemon=True)
    t.start()
    yield h, sink
    h.command({"cmd": "quit"})
    t.join(10)
    assert not t.is_alive()


def finished(run):
    return lambda fs: any(h["type"] in ("finished", "failed") and h["run"] == run for h, _ in fs)


def records(frames, run):
    rows = [p.reshape(h["k"], -1) for h, p in frames if h["type"] == "batch" and h["run"] == run]
    return np.vstack(rows) if rows else np.empty((0, len(COLUMNS) + 2))


def start_msg(run, setup, x0, **kw):
    return {"cmd": "start", "run": run, "setup": setup_to_dict(setup), "x0": list(x0), **kw}


def direct(setup, x0, epochs):
    """The same run straight from the engine, on the kernel the host uses (one long run:
    where the host's blocks split must not matter)."""
    crit = StopCriteria(epochs=epochs)
    tr = FastTrainer(setup.objective(), setup.make_optimizer(), x0, crit)
    with np.errstate(all="ignore"):
        return list(tr.run())


def headers(frames, run, kind):
    return [hd for hd, _ in frames if hd["type"] == kind and hd["run"] == run]


@pytest.mark.parametrize("name", ["momentum", "sgd", "cg"])
def test_a_run_streams_every_record_bit_for_bit(host, kernel, name):
    h, sink = host
    s = get_experiment("momentum").setup().replace(criteria=StopCriteria(epochs=700))
    hyper = {"momentum": s.hyper, "sgd": {"lr": 0.5}, "cg": {}}[name]
    s = s.replace(optimizer=name, hyper=hyper)
    h.command(start_msg(1, s, [-4.0, -4.0]))
    frames = sink.wait_for(finished(1))
    table = records(frames, 1)
    ref = direct(s, np.array([-4.0, -4.0]), 700)
    assert table.shape == (len(ref), len(COLUMNS) + 2)
    assert np.array_equal(table[:, 0], np.arange(len(ref)))
    assert np.array_equal(table[:, len(COLUMNS) :], np.array([r.x for r in ref]))
    assert np.array_equal(table[:, 2], [r.sse for r in ref])
    ran = kernel if name != "cg" else "numpy"  # cg, lm and adam always run on NumPy
    (started,) = headers(frames, 1, "started")
    end = frames[-1][0]
    assert started["kernel"] == end["kernel"] == ran
    assert {hd["kernel"] for hd in headers(frames, 1, "batch")} == {ran}
    if ran == "numpy":
        assert "BPGUI_KERNEL" in end["note"] or "cg runs on NumPy" in end["note"]
    else:
        assert end["note"] is None
    assert {k: end[k] for k in ("type", "run", "reason")}["reason"] == ref[-1].stop
    assert end["state"]["epoch"] == ref[-1].epoch and end["state"]["stop"] == ref[-1].stop
    # one frame per block: far fewer frames than epochs, none of them empty
    batches = headers(frames, 1, "batch")
    assert all(hd["k"] >= 1 for hd in batches) and len(batches) < len(ref)


def test_while_numba_compiles_a_run_starts_on_numpy_and_switches(host, monkeypatch):
    """The first click never waits for the compiler: the run begins on NumPy and the
    blocks after the kernels are ready run compiled; the numbers stay one run's."""
    if not HAS_NUMBA:
        pytest.skip("numba kernel unavailable")
    mod = jit.kernels()
    monkeypatch.setattr(jit, "_state", {})  # "still compiling"
    h, sink = host
    s = get_experiment("trajectory-a").setup().replace(criteria=StopCriteria(epochs=200_000))
    h.command(start_msg(1, s, [-4.0, -4.0]))
    sink.wait_for(lambda fs: len(records(fs, 1)) > 2000)
    jit._state["module"] = jit._state["row"] = mod  # the background compile has finished
    frames = sink.wait_for(finished(1))
    kinds = [hd["kernel"] for hd in headers(frames, 1, "batch")]
    assert kinds[0] == "numpy" and kinds[-1] == "numba"
    assert headers(frames, 1, "started")[0]["note"].startswith("numba")
    table = records(frames, 1)
    assert np.array_equal(table[:, 0], np.arange(len(table)))
    ref = direct(s, np.array([-4.0, -4.0]), 200_000)  # all compiled: agrees to rounding
    np.testing.assert_allclose(table[-1, len(COLUMNS) :], ref[-1].x, rtol=1e-9)


def test_pause_step_hyper_and_stop(host, kernel):
    h, sink = host
    s = get_experiment("trajectory-a").setup()
    h.command(start_msg(1, s, [-4.0, -4.0], paused=True))
    h.command({"cmd": "step", "run": 1, "n": 2})  # may arrive before the run begins
    sink.wait_for(lambda fs: len(records(fs, 1)) == 3)
    h.command({"cmd": "hyper", "run": 1, "value": {"lr": 0.5}})
    h.command({"cmd": "step", "run": 1, "n": 2})
    frames = sink.wait_for(lambda fs: len(records(fs, 1)) == 5)
    table = records(frames, 1)
    assert table[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert table[:, 4].tolist() == [1.0, 1.0, 1.0, 0.5, 0.5]  # lr column
    h.command({"cmd": "stop", "run": 1})
    frames = sink.wait_for(finished(1))
    assert frames[-1][0]["reason"] == "stopped"
    assert len(records(frames, 1)) == 5  # nothing ran while paused
    # a single step is one epoch in one frame; the start point came alone
    assert headers(frames, 1, "batch")[0]["k"] == 1


def test_single_steps_are_single_epochs(host, kernel):
    h, sink = host
    s = get_experiment("trajectory-a").setup()
    h.command(start_msg(1, s, [-4.0, -4.0], paused=True))
    sink.wait_for(lambda fs: len(records(fs, 1)) == 1)
    for n in range(1, 6):
        h.command({"cmd": "step", "run": 1, "n": 1})
        frames = sink.wait_for(lambda fs, n=n: len(records(fs, 1)) == n + 1)
    time.sleep(0.05)  # nothing more comes while paused
    frames = sink.frames()
    assert records(frames, 1)[:, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert [hd["k"] for hd in headers(frames, 1, "batch")] == [1] * 6
    ref = direct(s, np.array([-4.0, -4.0]), 5)
    assert np.array_equal(records(frames, 1)[:, len(COLUMNS) :], np.array([r.x for r in ref]))
    h.command({"cmd": "stop", "run": 1})
    sink.wait_for(finished(1))


def test_rate_limit_paces_small_blocks(host, kernel):
    """The speed slider: at 100 epochs/s a run sends ~2-epoch blocks on time, not a burst."""
    h, sink = host
    s = get_experiment("trajectory-a").setup()
    h.command({**start_msg(1, s, [-4.0, -4.0]), "rate": 100.0})
    t0 = time.perf_counter()
    sink.wait_for(lambda fs: len(records(fs, 1)) >= 60)
    dt = time.perf_counter() - t0
    assert 0.45 < dt < 2.0  # 60 epochs at 100/s
    assert max(hd["k"] for hd in headers(sink.frames(), 1, "batch")) <= 2
    h.command({"cmd": "rate", "value": None})  # full speed: big blocks
    h.command({"cmd": "stop", "run": 1})
    sink.wait_for(finished(1))


def test_continue_equals_one_long_run(host, kernel):
    h, sink = host
    s = get_experiment("vlbp").setup().replace(criteria=StopCriteria(epochs=60))
    h.command(start_msg(1, s, [-4.0, -4.0]))
    sink.wait_for(finished(1))
    h.command({"cmd": "continue", "run": 2, "from": 1, "extra": 40})
    frames = sink.wait_for(finished(2))
    both = np.vstack([records(frames, 1), records(frames, 2)])
    ref = direct(s, np.array([-4.0, -4.0]), 100)
    assert both[:, 0].tolist() == list(range(101))
    assert np.array_equal(both[:, len(COLUMNS) :], np.array([r.x for r in ref]))


def test_a_new_start_ends_the_current_run(host, kernel):
    h, sink = host
    s = get_experiment("trajectory-a").setup()
    h.command(start_msg(1, s, [-4.0, -4.0]))
    sink.wait_for(lambda fs: len(records(fs, 1)) > 10)
    h.command(start_msg(2, s.replace(criteria=StopCriteria(epochs=5)), [2.0, 2.0]))
    frames = sink.wait_for(finished(2))
    assert any(hd["type"] == "finished" and hd["run"] == 1 for hd, _ in frames)
    assert records(frames, 2)[0, len(COLUMNS) :].tolist() == [2.0, 2.0]


def test_failures_are_reported_not_raised(host):
    h, sink = host
    s = get_experiment("cg").setup()
    h.command({**start_msg(1, s, [0.0, 0.0]), "fail": "boom"})
    frames = sink.wait_for(finished(1))
    assert frames[-1][0]["type"] == "failed" and "boom" in frames[-1][0]["message"]
    h.command({"cmd": "continue", "run": 2, "from": 99, "extra": 5})
    frames = sink.wait_for(finished(2))
    assert "no longer available" in frames[-1][0]["message"]


def test_a_diverging_run_ends_with_diverged(host, kernel):
    h, sink = host
    s = Setup.from_preset("sine-1-2-1", hyper={"lr": 1e6})
    h.command(start_msg(1, s, s.start()))
    frames = sink.wait_for(finished(1))
    assert frames[-1][0]["reason"] == "diverged"
    assert not np.isfinite(records(frames, 1)[-1, 2])  # the record that says so


def test_wire_round_trip_and_truncation():
    buf = io.BytesIO()
    write_frame(buf, {"a": 1}, np.arange(6.0))
    write_frame(buf, {"b": None})
    data = buf.getvalue()
    s = io.BytesIO(data)
    h, p = read_frame(s)
    assert h == {"a": 1} and p.tolist() == list(range(6))
    assert read_frame(s)[0] == {"b": None}
    assert read_frame(s) is None
    assert read_frame(io.BytesIO(data[:-3])) is not None  # first frame intact
    truncated = io.BytesIO(data[:20])
    assert read_frame(truncated) is None


def test_the_real_process_runs_and_quits():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpgui.service.engine_host"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    s = get_experiment("cg").setup()
    write_frame(proc.stdin, start_msg(1, s, [-4.0, -4.0]))
    seen = []
    while True:
        f = read_frame(proc.stdout)
        assert f is not None
        seen.append(f)
        if f[0]["type"] in ("finished", "failed"):
            break
    # the run said which kernel it took (cg: always NumPy)
    assert seen[-1][0]["kernel"] == "numpy"
    assert any(hd["type"] == "started" for hd, _ in seen)
    # CG from (-4, -4) reaches the optimum (10, 1) within rounding: the SSE is exactly 0
    # ("goal") or ~1e-28 and the next line search moves nothing ("no_change"), depending
    # on the NumPy build's summation order
    assert seen[-1][0]["reason"] in ("goal", "no_change")
    table = np.vstack([p.reshape(h["k"], -1) for h, p in seen if h["type"] == "batch"])
    last = table[-1]
    assert last[COLUMNS.index("sse")] < 1e-20
    np.testing.assert_allclose(last[len(COLUMNS) :], [10.0, 1.0], atol=1e-6)
    write_frame(proc.stdin, {"cmd": "quit"})
    proc.stdin.close()
    assert proc.wait(10) == 0


def test_engine_host_does_not_import_qt():
    code = (
        "import bpgui.service.engine_host, sys; "
        "print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["sgd", "vlbp", "momentum", "lm"])
def test_snapshot_mid_run_then_restore_equals_one_long_run(host, kernel, name):
    """The app saves a running session: the engine sends the state after every record
    before it; a new engine restoring that state continues bit for bit (same kernel)."""
    h, sink = host
    hyper = {"lr": 0.02} if name == "sgd" else {}
    s = Setup.from_preset("book-1-2-1")
    s = s.replace(free=s.spec.labels, optimizer=name, hyper=hyper, criteria=StopCriteria(epochs=60))
    x0 = np.array(s.theta) + np.random.default_rng(1).uniform(-1, 1, 7)
    h.command({**start_msg(1, s, x0), "paused": True})
    n = 5 if name == "lm" else 23  # LM converges in ~13 epochs here
    h.command({"cmd": "step", "run": 1, "n": n})
    sink.wait_for(lambda fs: len(records(fs, 1)) == n + 1)
    h.command({"cmd": "snapshot", "run": 1})
    frames = sink.wait_for(lambda fs: any(hd["type"] == "state" for hd, _ in fs))
    state = next(hd["state"] for hd, _ in frames if hd["type"] == "state")
    first = records(frames, 1)
    assert state["epoch"] == n == int(first[-1, 0]) and state["stop"] is None
    h.command({"cmd": "stop", "run": 1})
    sink.wait_for(finished(1))
    state = json.loads(json.dumps(state))  # as a session file would keep it
    h.command({"cmd": "restore", "run": 2, "setup": setup_to_dict(s), "state": state, "until": 60})
    frames = sink.wait_for(finished(2))
    both = np.vstack([first, records(frames, 2)])
    ref = direct(s, x0, 60)
    assert both[:, 0].tolist() == [r.epoch for r in ref]
    assert np.array_equal(both[:, len(COLUMNS) :], np.array([r.x for r in ref]))
    assert frames[-1][0]["state"]["epoch"] == ref[-1].epoch  # the finished frame's state
    assert frames[-1][0]["kernel"] == (kernel if name != "lm" else "numpy")


@needs_numba
def test_the_process_compiles_in_the_background_and_says_so():
    """``python -m bpgui.service.engine_host`` warms the kernels up at start and reports it once."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpgui.service.engine_host"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    f = read_frame(proc.stdout)
    assert f[0]["type"] == "kernel" and f[0]["kernel"] == "numba" and f[0]["note"] is None
    s = get_experiment("trajectory-a").setup().replace(criteria=StopCriteria(epochs=3000))
    write_frame(proc.stdin, start_msg(1, s, [-4.0, -4.0]))
    seen = []
    while (f := read_frame(proc.stdout)) is not None:
        seen.append(f)
        if f[0]["type"] == "finished":
            break
    assert seen[0][0]["type"] == "started" and seen[-1][0]["kernel"] == "numba"
    write_frame(proc.stdin, {"cmd": "quit"})
    proc.stdin.close()
    assert proc.wait(10) == 0


# ---- races ------------------------------------------------------------------------------------
def race_msg(run, setup, x0, entries, **kw):
    return {
        "cmd": "race",
        "run": run,
        "setup": setup_to_dict(setup),
        "x0": list(x0),
        "entries": [
            {"optimizer": e.optimizer, "hyper": e.hyper, "colour": e.colour, "label": e.label}
            for e in entries
        ],
        **kw,
    }


def entry_rows(frames, run, i):
    rows = [
        p.reshape(h["k"], -1)
        for h, p in frames
        if h["type"] == "batch" and h["run"] == run and h.get("entry") == i
    ]
    return np.vstack(rows) if rows else np.empty((0, len(COLUMNS) + 2))


def separate(setup, entry, x0, epochs):
    """The entry as a run of its own (one long run, the kernel the host uses)."""
    s = setup.replace(optimizer=entry.optimizer, hyper=entry.hyper)
    tr = FastTrainer(s.objective(), s.make_optimizer(), x0, StopCriteria(epochs=epochs))
    with np.errstate(all="ignore"):
        return list(tr.run())


def test_a_race_streams_each_entry_as_its_separate_run(host, kernel):
    from bpgui_engine.maps.race import Race
    from bpgui_engine.maps.race_presets import race_preset

    h, sink = host
    s, x0, n = Setup.from_preset("book-1-2-1"), np.array([-4.0, -4.0]), 400
    entries = race_preset()
    h.command(race_msg(1, s, x0, entries, epochs=n))
    frames = sink.wait_for(finished(1))
    end = frames[-1][0]
    assert end["type"] == "finished" and end["reason"] == "finished"
    for i, e in enumerate(entries):
        table = entry_rows(frames, 1, i)
        ref = separate(s, e, x0, n)
        assert table[:, 0].tolist() == [r.epoch for r in ref], e.label
        assert np.array_equal(table[:, len(COLUMNS) :], np.array([r.x for r in ref])), e.label
        assert np.array_equal(table[:, 2], [r.sse for r in ref], equal_nan=True), e.label
    # the final document's results are the headless race's (but the wall times)
    race = Race(s, entries, x0, epochs=n)
    with np.errstate(all="ignore"):
        for _ in race.steps(50):
            pass
    got = end["race"]["results"]
    for r, g in zip(race.results(), got, strict=True):
        assert (g["label"], g["epochs"], g["minimum"], g["stop"]) == (
            r.label, r.epochs, r.minimum, r.stop,
        )  # fmt: skip
        assert g["performance"] == r.performance and g["epochs_to_goal"] == r.epochs_to_goal
    # every batch says which epoch the shared clock is at, and no entry is past it
    for hd in headers(frames, 1, "batch"):
        assert hd["clock"] >= 0


def test_race_pause_step_and_stop_act_on_every_entry(host, kernel):
    from bpgui_engine.maps.race import RaceEntry

    h, sink = host
    s, x0 = Setup.from_preset("book-1-2-1"), np.array([-4.0, -4.0])
    entries = [
        RaceEntry("sd", {"lr": 1.0}),
        RaceEntry("momentum", {"lr": 100.0, "gamma": 0.8}),
        RaceEntry("vlbp", {}),
    ]
    h.command(race_msg(1, s, x0, entries, epochs=1_000_000, paused=True))
    h.command({"cmd": "step", "run": 1, "n": 3})  # may arrive before the race begins
    sink.wait_for(lambda fs: all(len(entry_rows(fs, 1, i)) == 4 for i in range(3)))
    h.command({"cmd": "step", "run": 1, "n": 2})
    frames = sink.wait_for(lambda fs: all(len(entry_rows(fs, 1, i)) == 6 for i in range(3)))
    time.sleep(0.1)  # nothing more while paused
    frames = sink.frames()
    for i, e in enumerate(entries):
        table = entry_rows(frames, 1, i)
        assert table[:, 0].tolist() == [0, 1, 2, 3, 4, 5]
        ref = separate(s, e, x0, 5)
        assert np.array_equal(table[:, len(COLUMNS) :], np.array([r.x for r in ref]))
    h.command({"cmd": "resume", "run": 1})
    sink.wait_for(lambda fs: len(entry_rows(fs, 1, 0)) > 500)
    h.command({"cmd": "pause", "run": 1})
    time.sleep(0.2)
    frames = sink.frames()
    last = [int(entry_rows(frames, 1, i)[-1, 0]) for i in range(3)]
    # the same epoch clock: every entry still running is at the same epoch
    running = [ep for i, ep in enumerate(last) if not _entry_stopped(frames, 1, i)]
    assert len(set(running)) == 1 and running[0] > 500
    time.sleep(0.2)
    assert [int(entry_rows(sink.frames(), 1, i)[-1, 0]) for i in range(3)] == last
    h.command({"cmd": "stop", "run": 1})
    frames = sink.wait_for(finished(1))
    end = frames[-1][0]
    assert end["reason"] == "stopped"
    stops = [r["stop"] for r in end["race"]["results"]]
    assert stops[0] == "stopped"  # sd lr 1 is nowhere near done
    assert all(st is not None for st in stops)


def _entry_stopped(frames, run, i) -> bool:
    return any(
        h["type"] == "batch" and h["run"] == run and h.get("entry") == i and h["stop"]
        for h, _ in frames
    )


def test_race_at_a_limited_speed_and_a_bad_entry(host):
    from bpgui_engine.maps.race_presets import race_preset

    h, sink = host
    s, x0 = Setup.from_preset("book-1-2-1"), [-4.0, -4.0]
    h.command({**race_msg(1, s, x0, race_preset(), epochs=100_000), "rate": 100.0})
    t0 = time.perf_counter()
    sink.wait_for(lambda fs: len(entry_rows(fs, 1, 0)) >= 60)
    assert 0.4 < time.perf_counter() - t0 < 2.5  # 60 epochs at 100/s, all entries
    assert max(hd["k"] for hd in headers(sink.frames(), 1, "batch")) <= 3
    h.command({"cmd": "stop", "run": 1})
    sink.wait_for(finished(1))
    bad = race_msg(2, s, x0, race_preset())
    bad["entries"][0]["hyper"] = {"nonsense": 1}
    h.command(bad)
    frames = sink.wait_for(finished(2))
    assert frames[-1][0]["type"] == "failed" and "nonsense" in frames[-1][0]["message"]
    # a single run afterwards works as before
    h.command(start_msg(3, s.replace(criteria=StopCriteria(epochs=5)), x0))
    frames = sink.wait_for(finished(3))
    assert records(frames, 3)[:, 0].tolist() == [0, 1, 2, 3, 4, 5]


def test_processes_run_blas_on_one_thread_unless_told_otherwise():
    """Issue 20: OpenBLAS's busy-waiting threads made the BLAS kernel 4-5x slower in the
    window on a 2-core machine; bpgui (and bpgui_engine) set one thread before NumPy loads,
    for the process and the ones it starts, unless the user set it."""
    code = "import {}, numpy, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    for pkg in ("bpgui", "bpgui_engine", "bpgui.service.engine_host"):
        out = subprocess.run([sys.executable, "-c", code.format(pkg)], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.stdout.strip() == "1", (pkg, out.stderr)
    out = subprocess.run([sys.executable, "-c", code.format("bpgui")],
                         env={**env, "OPENBLAS_NUM_THREADS": "2"},
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "2"


def test_live_sharpness_frames_at_multiples_and_within_the_budget(host, kernel):
    """Issue 22 #3: a run asked for its sharpness sends ``sharpness`` frames on multiples
    of ``every`` (the budget may skip some), each λmax of the per-sample mean's Hessian
    at that epoch's point; the ``sharpness`` control turns sampling off mid-run."""
    from bpgui_engine.analysis.spectrum import sharpness

    h, sink = host
    s = get_experiment("trajectory-a").setup().replace(criteria=StopCriteria(epochs=3000))
    h.command(start_msg(1, s, [-4.0, -4.0], sharpness=50, sharpness_budget=0))  # exact
    frames = sink.wait_for(finished(1))
    table = records(frames, 1)
    sh = headers(frames, 1, "sharpness")
    assert [hd["epoch"] for hd in sh] == list(range(0, 3001, 50))
    obj = s.objective()
    for hd in sh[:: max(1, len(sh) // 5)]:
        x = table[hd["epoch"], len(COLUMNS) :]
        assert hd["value"] == pytest.approx(sharpness(obj, x, tol=1e-10), rel=1e-4)
    # the records are the same run as without sampling (blocks split, numbers unchanged)
    ref = direct(s, np.array([-4.0, -4.0]), 3000)
    assert np.array_equal(table[:, len(COLUMNS) :], np.array([r.x for r in ref]))
    # within the default budget: at least 50 epochs apart, at most 20 % of the run's time
    h.command(start_msg(3, s, [-4.0, -4.0], sharpness=50))
    frames = sink.wait_for(finished(3))
    ep = [hd["epoch"] for hd in headers(frames, 3, "sharpness")]
    assert ep[0] == 0 and np.all(np.diff(ep) >= 50)
    # off mid-run: no frame after the control has been applied
    s2 = s.replace(criteria=StopCriteria(epochs=400_000))
    h.command(start_msg(4, s2, [-4.0, -4.0], sharpness=100, paused=True))
    h.command({"cmd": "sharpness", "run": 4, "value": 0})
    h.command({"cmd": "resume", "run": 4})
    frames = sink.wait_for(lambda fs: len(records(fs, 4)) > 50_000)
    h.command({"cmd": "stop", "run": 4})
    frames = sink.wait_for(finished(4))
    assert [hd["epoch"] for hd in headers(frames, 4, "sharpness")] in ([], [0])
