"""The compute service (issue 19): every job runs in a process of its own, can be
cancelled, reports a crash in one line, and the window's process never imports numba."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bpgui.service.jobs import JobService
from bpgui_engine.model.setup import Setup

T = 30_000


@pytest.fixture
def service(qtbot):
    s = JobService(size=2)
    yield s
    s.shutdown()


def run(qtbot, service, kind, request, cancel_after_first=False, timeout=T):
    got: dict = {"parts": []}
    job = service.submit(kind, request)
    job.progress.connect(got["parts"].append)
    job.finished.connect(lambda res, err: got.update(result=res, error=err))
    if cancel_after_first:
        qtbot.waitUntil(lambda: got["parts"] or "error" in got, timeout=timeout)
        service.cancel(job)
    qtbot.waitUntil(lambda: "error" in got, timeout=timeout)
    return got


def book() -> Setup:
    return Setup.from_preset("book-1-2-1")


def test_a_crashed_job_reports_one_line_and_the_next_job_runs(qtbot, service):
    got = run(qtbot, service, "crash", {"how": "abort"})
    assert got["result"] is None
    assert "crash: the compute process ended unexpectedly" in got["error"]
    assert "\n" not in got["error"]
    got = run(qtbot, service, "crash", {"how": "raise", "message": "no such thing"})
    assert got["result"] is None and got["error"] == "no such thing"
    s = book()
    got = run(qtbot, service, "gradcheck", {"setup": s, "x": s.start()})
    assert got["error"] == "" and [r.layer for r in got["result"]] == [1, 2]
    qtbot.waitUntil(lambda: not service.busy, timeout=T)


def test_a_job_deaf_to_cancel_has_its_process_ended(qtbot, service, monkeypatch):
    import bpgui.service.jobs as jobs

    monkeypatch.setattr(jobs, "CANCEL_GRACE_MS", 300)
    got: dict = {}
    job = service.submit("crash", {"how": "spin", "seconds": 60})
    job.finished.connect(lambda res, err: got.update(result=res, error=err))
    qtbot.wait(300)
    proc = job.process
    service.cancel(job)
    qtbot.waitUntil(lambda: "error" in got, timeout=T)
    assert got == {"result": None, "error": ""}
    assert proc.proc.poll() is not None  # ended, not left spinning
    assert not service.busy


@pytest.mark.parametrize("kind", ["basins", "sweep", "restarts", "critical", "wait"])
def test_every_tools_job_can_be_cancelled(qtbot, service, kind):
    """Each long job stops when cancelled, well before it would have finished, and its
    process is free again."""
    s = book()
    x = s.start()
    requests = {
        "basins": {"setup": s, "options": {"resolution": 60, "epochs": 5000, "optimizer": "sd",
                                           "chunk_cells": 16}},
        "sweep": {"setup": s, "axes": ("lr", (0.1, 10.0), "gamma", (0.0, 0.9)),
                  "options": {"resolution": 30, "optimizer": "momentum", "epochs": 20_000,
                              "x0": x}},
        "restarts": {"setup": s, "starts": np.tile(x, (200, 1)), "method": "sd",
                     "epochs": 10**7, "stride": 10**5},
        "critical": {"setup": s, "free": "all", "x": x},
        "wait": {"how": "wait", "seconds": 60},
    }  # fmt: skip
    got: dict = {"parts": []}
    # the maps' own grace (their runner's): a chunk on a loaded machine may take seconds
    grace = 20_000 if kind in ("basins", "sweep") else None
    job = service.submit("crash" if kind == "wait" else kind, requests[kind], grace)
    job.progress.connect(got["parts"].append)
    job.finished.connect(lambda res, err: got.update(result=res, error=err))
    qtbot.wait(800)
    service.cancel(job)
    qtbot.waitUntil(lambda: "error" in got, timeout=T)
    assert got["error"] == ""
    if kind == "basins":
        assert got["result"].partial
    elif kind == "sweep":
        assert got["result"][0].partial
    elif kind == "restarts":
        assert got["result"] is None or int(got["result"].epochs.max()) < 10**7
    qtbot.waitUntil(lambda: not service.busy, timeout=T)


def test_a_dropped_job_delivers_nothing(qtbot, service):
    seen = []
    job = service.submit("crash", {"how": "wait", "seconds": 60})
    job.finished.connect(lambda *a: seen.append(a))
    qtbot.wait(200)
    service.drop(job)
    qtbot.waitUntil(lambda: not service.busy, timeout=T)
    qtbot.wait(100)
    assert seen == []


def test_short_jobs_never_queue_behind_long_ones(qtbot, service):
    """Two long jobs fill the pool; a contour (surface) still runs at once."""
    waits = [service.submit("crash", {"how": "wait", "seconds": 60}) for _ in range(2)]
    s = book()
    got = run(
        qtbot, service, "surface",
        {"spec": s.spec, "data": s.objective().data, "theta": s.theta, "axes": s.axes,
         "ranges": s.ranges, "resolution": 30, "performance": "sse", "log_levels": True},
        timeout=10_000,
    )  # fmt: skip
    surface = got["result"][0]
    assert surface.values.shape == (30, 30) and got["error"] == ""
    for j in waits:
        assert j.running
        service.cancel(j)
    qtbot.waitUntil(lambda: not service.busy, timeout=T)


SESSION = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtWidgets import QApplication
    from PySide6.QtTest import QTest
    app = QApplication(sys.argv)
    from bpgui.window.main import MainWindow

    def wait(cond, t=120):
        end = time.time() + t
        while not cond() and time.time() < end:
            QTest.qWait(20)
        assert cond(), "timed out"

    w = MainWindow(); w.show()
    t = w.tools
    wait(lambda: w.plots.surface is not None)
    t["maps"].show_basins(); t["maps"].basins_pane.resolution.setValue(10)
    assert t["maps"].basins_pane.start()
    t["maps"].show_sweep(); t["maps"].sweep_pane.resolution.setValue(4)
    assert t["maps"].sweep_pane.start()
    t["restarts"].restarts_dock.show(); t["restarts"].restarts.count.setValue(5)
    t["restarts"].restarts.run()
    w.actions.gradcheck.trigger()
    t["critical"].show_critical(); t["critical"].find_critical()
    t["explain"].show_explain(); t["inspector"].show_inspector(); t["explain"].toggle_vectors(True)
    w.speed.setValue(w.speed.maximum())
    w.actions.start.trigger()
    wait(lambda: w.controller.state == "running")
    QTest.qWait(500)
    w.actions.stop.trigger()
    wait(lambda: w.controller.state == "idle")
    t["race"].show_race(); t["race"].race_pane.epochs.setValue(200)
    t["race"].race_pane.start_button.click()
    wait(lambda: not w.controller.racing)
    for busy in (lambda: t["maps"].basins_pane.busy, lambda: t["maps"].sweep_pane.busy,
                 lambda: t["restarts"].restarts.busy, lambda: t["critical"].critical_pane.busy):
        wait(lambda: not busy())
    wait(lambda: bool(t["gradcheck"].last_gradcheck))
    print("NUMBA", "numba" in sys.modules, [m for m in sys.modules if "jit.compiled" in m])
    w.document.modified = False
    w.close()
    """
)


@pytest.mark.slow  # ~10 s (a whole app in a subprocess): make test-slow, CI
def test_the_window_process_never_imports_numba(tmp_path):
    """A session that uses every tool: training, race, basin map, sweep, restarts,
    gradient check, critical points, curvature and equations, inspector, update vectors."""
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "NUMBA False []" in out.stdout, out.stdout + out.stderr[-2000:]


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process priorities here")
def test_compute_processes_yield_the_cores_to_the_window(qtbot, service):
    from bpgui.service.job_host import NICE

    job = service.submit("crash", {"how": "wait", "seconds": 30})
    qtbot.waitUntil(lambda: job.process is not None, timeout=T)
    pid = job.process.proc.pid
    want = min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE)
    # set as the process starts (within its first imports)
    qtbot.waitUntil(lambda: os.getpriority(os.PRIO_PROCESS, pid) >= want, timeout=10_000)
    service.cancel(job)
    qtbot.waitUntil(lambda: not service.busy, timeout=T)


def test_restarts_can_be_cancelled_and_show_how_far_they_got(window, qtbot):
    r = window.tools["restarts"].restarts
    window.tools["restarts"].restarts_dock.show()
    r.count.setValue(50)
    r.epochs.setValue(10_000_000)
    r.method.setCurrentText("sd")
    r.run()
    assert r.busy and r.cancel_button.isEnabled() and not r.run_button.isEnabled()
    qtbot.wait(500)
    r.cancel_button.click()
    qtbot.waitUntil(lambda: not r.busy, timeout=T)
    assert r.run_button.isEnabled() and not r.cancel_button.isEnabled()
    assert r.result is not None and r.table.rowCount() == 50
    assert int(r.result.epochs.max()) < 10_000_000
    assert r.summary.text().startswith("cancelled")


def test_a_map_whose_process_dies_says_so_in_one_line_and_the_window_goes_on(window, qtbot):
    import signal

    window.tools["maps"].show_basins()
    p = window.tools["maps"].basins_pane
    p.resolution.setValue(60)
    p.epochs.setText("30000")
    assert p.start()
    qtbot.waitUntil(lambda: p.runner.job is not None and p.runner.job.process is not None,
                    timeout=T)  # fmt: skip
    os.kill(p.runner.job.process.proc.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not p.busy, timeout=T)
    assert "the compute process ended unexpectedly" in p.status.text()
    assert "\n" not in p.status.text()
    assert p.start_button.isEnabled()
    # the window and the service go on: a gradient check runs in a new process
    window.actions.gradcheck.trigger()
    qtbot.waitUntil(lambda: bool(window.tools["gradcheck"].last_gradcheck), timeout=T)
    window.tools["gradcheck"].info_box.close()


def test_new_clears_every_tools_results_and_words(window, qtbot):
    """The newcomer's find: after File ▸ New the critical points' table and marks, the
    sweep's summary and the maps' progress bars of the old session were still shown."""
    t = window.tools
    crit = t["critical"]
    crit.show_critical()
    qtbot.waitUntil(lambda: crit.critical_result is not None, timeout=T)
    assert crit.critical_pane.table.rowCount() > 0
    maps = t["maps"]
    maps.show_sweep()
    sp = maps.sweep_pane
    sp.resolution.setValue(3)
    assert sp.start()
    qtbot.waitUntil(lambda: not sp.busy, timeout=60_000)
    assert "reached the goal" in sp.status.text() and sp.bar.value() > 0
    window.document.modified = False
    window.document.new()
    assert crit.critical_result is None and crit.critical_pane.table.rowCount() == 0
    assert crit.critical_marks.points == [] and len(crit.critical_marks.item.data) == 0
    assert sp.status.text() == "" and sp.bar.value() == 0
    assert maps.basins_pane.bar.value() == 0


def test_a_slow_contour_gives_way_to_the_next_request(qtbot):
    """Issue 20 (newcomer review): a large network's contour still computing when the
    view asks for another is cancelled (its process ended after the grace), so the new
    one does not wait minutes behind it; the old one's result is never shown."""
    from PySide6.QtCore import QObject, Signal

    from bpgui.service.surfaces import SurfaceRequest, SurfaceService
    from bpgui_engine.model.presets import get_preset

    class FakeJob(QObject):
        finished = Signal(object, str)

    class FakeJobs:
        def __init__(self):
            self.submitted, self.cancelled = [], []

        def submit(self, kind, request, grace_ms=None):
            self.submitted.append(FakeJob())
            return self.submitted[-1]

        def cancel(self, job):
            self.cancelled.append(job)
            job.finished.emit(None, "")  # what the service delivers for a cancelled job

    b = get_preset("book-1-2-1")
    fake = FakeJobs()
    svc = SurfaceService(jobs=fake)
    shown = []
    svc.ready.connect(shown.append)

    def req(lo):
        return SurfaceRequest(b.spec, b.data, b.theta, ("W1[1,1]", "W2[1,1]"),
                              ((lo, 15.0), (-5.0, 15.0)), resolution=20)  # fmt: skip

    svc.request(req(-5.0))
    assert len(fake.submitted) == 1 and fake.cancelled == []
    svc.request(req(-4.0))  # while the first runs: it is cancelled, the second submitted
    assert fake.cancelled == [fake.submitted[0]] and len(fake.submitted) == 2
    from bpgui_engine.jobs import JOBS

    gen = JOBS["surface"]({f: getattr(req(-4.0), f) for f in
                           ("spec", "data", "theta", "axes", "ranges", "resolution",
                            "performance")} | {"log_levels": True}, None)  # fmt: skip
    try:
        next(gen)
    except StopIteration as done:
        out, err = done.value
    fake.submitted[1].finished.emit(out, err)
    assert len(shown) == 1 and shown[0].request.ranges[0] == (-4.0, 15.0)
