"""A job queued before the window closed never starts after it (the soak's find: a map
started after the close outlived the window)."""

from __future__ import annotations


def test_no_map_restart_or_search_starts_once_the_window_has_closed(window, qtbot):
    window.show_basins()
    pane, sweep = window.basins_pane, window.sweep_pane
    window.restarts_dock.show()
    window.document.modified = False
    window.close()
    assert not window.isVisible()
    assert pane.runner.closed and sweep.runner.closed
    assert not pane.start() or not pane.runner.busy  # a click that was queued
    assert not sweep.runner.busy
    window.restarts.run()
    assert not window.restarts.busy
    assert not window.jobs.busy
