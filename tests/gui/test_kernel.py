"""The window on the compiled kernel: which kernel runs (status bar), the fallback message,
trajectory a to its stop, and frames that stay short when blocks of many epochs arrive."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from bpgui.window.main import MainWindow
from bpgui_engine import jit
from bpgui_engine.train.history import COLUMNS

T = 60_000
HAS_NUMBA = jit.kernels() is not None


def _window(qtbot) -> MainWindow:
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.plots.surface is not None, timeout=15_000)
    return win


@pytest.mark.skipif(not HAS_NUMBA, reason="numba kernel unavailable")
def test_trajectory_a_runs_compiled_to_its_stop_and_the_status_bar_says_numba(qtbot):
    win = _window(qtbot)
    c = win.controller
    qtbot.waitUntil(lambda: c.engine_kernel is not None, timeout=T)  # warm-up ended
    assert c.engine_kernel == "numba"
    win.load_experiment("trajectory-a")
    qtbot.waitUntil(lambda: c.state == "idle" and c.last_stop is not None, timeout=T)
    assert c.last_stop == "no_change"
    # the book: ~324k epochs from (-4, -4) until the weights stop changing
    assert 300_000 < c.epoch < 350_000 and len(c.history) == c.epoch + 1
    field = win.status_fields["kernel"]
    assert field.text() == "numba" and "numba" in field.toolTip()
    assert np.array_equal(c.history.column("epoch"), np.arange(c.epoch + 1))
    win.close()


def test_forced_numpy_says_so_once_and_runs(qtbot, monkeypatch):
    monkeypatch.setenv("BPGUI_KERNEL", "numpy")  # inherited by the engine process
    win = _window(qtbot)
    c = win.controller
    qtbot.waitUntil(lambda: c.engine_kernel is not None, timeout=T)
    assert c.engine_kernel == "numpy"
    qtbot.waitUntil(lambda: "training on NumPy" in win.status.text, timeout=T)
    assert "BPGUI_KERNEL=numpy" in win.status.text
    win.runs.start_new_run(np.array([-4.0, -4.0]))
    qtbot.waitUntil(lambda: c.epoch > 100, timeout=T)
    field = win.status_fields["kernel"]
    assert field.text() == "numpy" and "BPGUI_KERNEL=numpy" in field.toolTip()
    c.stop()
    qtbot.waitUntil(lambda: c.state == "idle", timeout=T)
    win.close()


def test_a_fallback_shows_one_message_and_the_kernel_field(qtbot):
    """What the window does when the engine reports that numba failed (simulated frame)."""
    win = _window(qtbot)
    c = win.controller
    qtbot.waitUntil(lambda: c.engine_kernel is not None, timeout=T)
    seen = []
    c.kernel_fallback.connect(seen.append)
    why = "numba unavailable (ImportError: no numba)"
    for _ in range(2):
        c._on_frame({"type": "kernel", "run": -1, "kernel": "numpy", "note": why}, None)
    assert seen == [f"training on NumPy: {why}"]  # once
    assert win.status.text == seen[0]
    c._set_kernel("numpy", why)
    assert win.status_fields["kernel"].text() == "numpy"
    assert why in win.status_fields["kernel"].toolTip()
    win.close()


def test_big_blocks_keep_frames_short(qtbot):
    """~1 M epochs/s arrive as ~20,000-epoch blocks: each goes into the history in one
    call, and a frame (decimated curves, paths, status) stays within its 25 ms budget."""
    win = _window(qtbot)
    c = win.controller
    win.runs.start_new_run(np.array([-4.0, -4.0]), paused=True)  # the engine sends epoch 0
    qtbot.waitUntil(lambda: c.history is not None and len(c.history) == 1, timeout=T)
    rng = np.random.default_rng(0)
    k, n_blocks = 20_000, 60
    ingest, frames = [], []
    for b in range(n_blocks):
        table = np.empty((k, len(COLUMNS) + 2))
        table[:, 0] = np.arange(1 + b * k, 1 + (b + 1) * k)
        table[:, 1:] = rng.uniform(0.1, 1.0, (k, len(COLUMNS) + 1))
        table[:, len(COLUMNS) :] = rng.uniform(-4, 10, (k, 2))
        t0 = time.perf_counter()
        c._on_frame({"type": "batch", "run": c.run_id, "k": k, "stop": None}, table.ravel())
        t1 = time.perf_counter()
        win.runs.redraw()
        frames.append(time.perf_counter() - t1)
        ingest.append(t1 - t0)
    assert len(c.history) == 1 + n_blocks * k
    assert statistics.median(ingest) < 0.010
    assert statistics.median(frames) < 0.025, f"median frame {statistics.median(frames):.3f} s"
    c.stop()
    win.close()


@pytest.mark.skipif(not HAS_NUMBA, reason="numba kernel unavailable")
def test_restarts_offer_vlbp_and_train_on_the_compiled_batch(qtbot):
    from bpgui.panes.restarts import RestartsPane
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.train.fast import fast_train_batch

    pane = RestartsPane()
    qtbot.addWidget(pane)
    setup = Setup.from_preset("book-1-2-1")
    obj = setup.objective()
    pane.set_problem(setup, obj)
    methods = [pane.method.itemText(i) for i in range(pane.method.count())]
    assert methods[:4] == ["sd", "sgd", "momentum", "vlbp"] and "lm" in methods  # every method
    pane.method.setCurrentText("vlbp")
    pane.count.setValue(8)
    pane.epochs.setValue(2000)
    with qtbot.waitSignal(pane.finished, timeout=T) as sig:
        pane.run()
    res = sig.args[0]
    ref = fast_train_batch(obj, pane.starts(), "vlbp", {}, 2000)
    np.testing.assert_array_equal(res.x, ref.x)
    np.testing.assert_array_equal(res.epochs, ref.epochs)
    assert pane.table.rowCount() == 8


def test_the_contour_uses_numpys_surface_which_equals_the_compiled_one():
    """The contour is computed by NumPy (as fast on the book slice and never waits for a
    compiler); the compiled surface agrees with it."""
    from bpgui.service import surfaces as ss
    from bpgui_engine.analysis.surface import evaluate_surface
    from bpgui_engine.model.presets import get_preset
    from bpgui_engine.train.fast_surface import fast_surface

    book = get_preset("book-1-2-1")
    req = ss.SurfaceRequest(
        book.spec, book.data, book.theta, ("W1[1,1]", "W2[1,1]"), ((-5, 15), (-5, 15)), 60
    )
    assert ss.surface_function() is evaluate_surface
    ref = ss.compute_surface(req).surface.values
    if HAS_NUMBA:
        fast = fast_surface(
            book.spec, book.data, book.theta, "W1[1,1]", (-5, 15), "W2[1,1]", (-5, 15), 60
        )
        np.testing.assert_allclose(fast.values, ref, rtol=1e-12)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba kernel unavailable")
def test_a_large_network_trains_on_the_blas_kernel_and_the_status_bar_says_why(qtbot):
    """Issue 20: a network with thousands of parameters runs on BLAS products (the fastest
    path for its size); the status bar names the kernel and its tooltip says why."""
    from bpgui_engine.model.network import NetworkSpec
    from bpgui_engine.model.setup import DataRecipe
    from bpgui_engine.train.trainer import StopCriteria

    win = _window(qtbot)
    c = win.controller
    s = win.setup.replace(data=DataRecipe(kind="expression", points=1000, lo=-2.0, hi=2.0))
    s = s.with_network(NetworkSpec(1, (50, 50, 1), ("tansig", "tansig", "purelin")))
    win.apply_setup(s.replace(criteria=StopCriteria(epochs=30)), problem_changed=True)
    win.runs.start_new_run(win.setup.start())
    qtbot.waitUntil(lambda: c.state == "idle" and c.last_stop is not None, timeout=T)
    assert c.last_stop == "epochs" and c.epoch == 30
    field = win.status_fields["kernel"]
    assert field.text() == "blas"
    assert "BLAS" in field.toolTip() and "multiply-adds" in field.toolTip()
    # its contour came (on a grid it can afford) and the view says how coarse
    qtbot.waitUntil(lambda: "grid for a network this size" in win.plots.slice_info.text(),
                    timeout=T)  # fmt: skip
    assert win.plots.surface.surface.xs.size < win.plots.surface.request.resolution
