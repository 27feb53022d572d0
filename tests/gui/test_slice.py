"""Issue 18 #5: with more than two free parameters the contour is a slice through the
current point: redrawn while training (about once a second), at the end of every run,
and on request (View ▸ Redraw contour here, Ctrl+D)."""

from __future__ import annotations

import numpy as np

from bpgui_engine.train.trainer import StopCriteria

T = 60_000


def _all_free(window, epochs: int):
    s = window.setup
    window.apply_setup(
        s.replace(free=s.spec.labels, criteria=StopCriteria(epochs=epochs)), problem_changed=True
    )


def _drawn_through(window) -> np.ndarray:
    return window.plots.surface.request.theta


def test_the_slice_follows_the_run_to_its_end(window, qtbot):
    _all_free(window, 20_000)
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.runs.start_new_run(window.setup.start() + 0.5)
    last = window.setup.full_theta(c.history.x[-1])
    qtbot.waitUntil(lambda: np.array_equal(_drawn_through(window), last), timeout=T)
    assert window.plots.slice_epoch == int(c.history.column("epoch")[-1])
    assert "moved by 0" in window.plots.slice_info.text()


def test_redraw_here_draws_through_the_point_shown(window, qtbot):
    _all_free(window, 400)
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.runs.start_new_run(window.setup.start() + 0.5)
    # scrub the replay back: "here" is the epoch on screen
    window.plots.request_surface(window.setup.start())  # an old slice
    qtbot.waitUntil(lambda: not window.surfaces.busy, timeout=T)
    window.actions.reslice.trigger()
    last = window.setup.full_theta(c.history.x[-1])
    qtbot.waitUntil(lambda: np.array_equal(_drawn_through(window), last), timeout=T)


def test_freeing_more_parameters_after_a_run_reads_no_old_point(window, qtbot):
    """Found by the soak: the slice readout read the old run (2 free) with the new setup
    (7 free) when the new surface arrived."""
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("vlbp")
    _all_free(window, 100)
    qtbot.waitUntil(lambda: not window.surfaces.busy, timeout=T)
    assert window.plots.slice_info.text() == ""  # no run of this problem yet
