"""A job queued before the window closed never starts after it (the soak's find: a map
started after the close outlived the window)."""

from __future__ import annotations


def test_no_map_restart_or_search_starts_once_the_window_has_closed(window, qtbot):
    window.tools["maps"].show_basins()
    pane, sweep = window.tools["maps"].basins_pane, window.tools["maps"].sweep_pane
    window.tools["restarts"].restarts_dock.show()
    window.document.modified = False
    window.close()
    assert not window.isVisible()
    assert pane.runner.closed and sweep.runner.closed
    assert not pane.start() or not pane.runner.busy  # a click that was queued
    assert not sweep.runner.busy
    window.tools["restarts"].restarts.run()
    assert not window.tools["restarts"].restarts.busy
    assert not window.jobs.busy
