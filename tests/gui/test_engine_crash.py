"""Fault injection: the engine process is killed mid-run (issue 10 #2).  The window keeps
what it received, says so, restarts the process, and the run goes on from there; a save
or autosave holds the run."""

from __future__ import annotations

import os
import signal

import numpy as np
from test_window import T, epochs

from bpgui_engine.session import load_session


def test_killing_the_engine_mid_run_loses_nothing_and_the_run_continues(window, qtbot):
    window.load_experiment("trajectory-a")
    qtbot.waitUntil(lambda: epochs(window) > 2000, timeout=T)
    c = window.controller
    old_pid = c.engine.proc.pid
    with qtbot.waitSignal(c.run_failed, timeout=T) as sig:
        os.kill(old_pid, signal.SIGKILL)
    n = epochs(window)
    x_last = c.history.x[-1].copy()
    assert f"continues the run from epoch {n:,}" in sig.args[0]
    assert "fresh optimizer state" in sig.args[0]
    window.error_box.close()
    # a new engine process is running, the history and path are still on screen
    assert c.engine is not None and c.engine.alive and c.engine.proc.pid != old_pid
    assert len(c.history) == n + 1
    assert len(window.plots.contour.path.getData()[0]) > 0
    assert "crashed" in window.status_fields["state"].text()
    assert window.actions.start.text().replace("&", "") == "Continue"
    # the autosave holds the run, not "run: null"
    doc = window.document
    assert doc.autosave()
    saved = load_session(doc.recovery_path)
    assert saved.run is not None and saved.run.epoch == n and len(saved.history) == n + 1
    # Start continues from the last epoch received
    window.actions.start.trigger()
    qtbot.waitUntil(lambda: epochs(window) > n + 100, timeout=T)
    ep = c.history.column("epoch")
    assert np.array_equal(ep[: n + 2], np.arange(n + 2))  # no gap, no restart at 0
    assert np.array_equal(c.history.x[n], x_last)
    c.stop()
    qtbot.waitUntil(lambda: c.state == "idle", timeout=T)


def test_killing_the_engine_of_a_stopped_run_then_continue_is_exact(window, qtbot, monkeypatch):
    """Issue 18 #3: Continue said "continue: that run is no longer available"."""
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.train.trainer import StopCriteria, Trainer

    monkeypatch.setenv("BPGUI_KERNEL", "numpy")  # the reference below is the NumPy loop
    c = window.controller
    c.engine.close()
    c.ensure_engine()
    setup = Setup.from_preset().replace(
        optimizer="momentum", hyper={"lr": 5.0, "gamma": 0.9}, criteria=StopCriteria(epochs=30)
    )
    window.apply_setup(setup, problem_changed=True)
    x0 = np.array([-4.0, -4.0])
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.runs.start_new_run(x0)
    old_pid = c.engine.proc.pid
    with qtbot.waitSignal(c.engine.died, timeout=T):
        os.kill(old_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: c.engine is not None and c.engine.proc.pid != old_pid, timeout=T)
    assert window.error_box is None or not window.error_box.isVisible()  # it was idle
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.runs.toggle_run()  # Continue: 30 more epochs
    assert c.last_error is None and c.last_stop == "epochs"
    h = c.history
    assert h.column("epoch").tolist() == list(range(61))
    tr = Trainer(setup.objective(), setup.make_optimizer(), x0, StopCriteria(epochs=60))
    with np.errstate(all="ignore"):
        ref = np.array([r.x for r in tr.run()])
    np.testing.assert_allclose(h.x, ref, rtol=1e-12, atol=1e-14)  # momentum's state kept
