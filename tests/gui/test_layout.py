"""The window is usable from 1024×700 up (issue 9 #15)."""

from __future__ import annotations

from PySide6.QtWidgets import QToolButton
from test_window import T


def test_the_window_fits_1024_by_700_with_nothing_cut(window, qtbot):
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700, timeout=T)
    # the toolbar offers what does not fit through its extension button
    ext = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert ext is not None and ext.isVisible()
    # the contour's controls wrap instead of being cut
    plots = window.plots
    for w in (plots.x0, plots.x1, plots.y0, plots.y1, plots.fit_button, plots.resolution,
              plots.scale):  # fmt: skip
        assert w.isVisible()
        assert w.width() >= w.minimumSizeHint().width(), w
        assert w.mapTo(window, w.rect().topRight()).x() <= window.width()
    contour = plots.contour.widget
    assert contour.width() >= 320 and contour.height() >= 220


def test_the_restarts_dock_starts_small(window, qtbot):
    window.resize(1024, 700)
    r = window.tools["restarts"].restarts
    r.count.setValue(3)
    r.epochs.setValue(20)
    with qtbot.waitSignal(r.finished, timeout=T):
        window.actions.restarts.trigger()
    qtbot.waitUntil(lambda: window.tools["restarts"].restarts_dock.isVisible(), timeout=T)
    assert window.height() == 700
    assert window.tools["restarts"].restarts_dock.height() <= 700 // 3
    assert window.plots.contour.widget.height() >= 220


def test_a_bad_contour_range_is_explained_under_the_fields(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    x1 = window.plots.x1
    x1.setFocus()
    x1.selectAll()
    QTest.keyClicks(x1, "-9")
    QTest.keyClick(x1, Qt.Key.Key_Return)
    err = x1.error_label
    assert err.isVisible() and "above the minimum" in err.text()
    assert window.setup.ranges[0] == (-5.0, 15.0)  # nothing applied
    x1.selectAll()
    QTest.keyClicks(x1, "12.5")
    QTest.keyClick(x1, Qt.Key.Key_Return)
    assert not err.isVisible()
    assert window.setup.ranges[0] == (-5.0, 12.5)


def test_the_wheel_scrolls_the_setup_panel_without_changing_fields(window, qtbot):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent

    seed = window.network_pane.network.seed
    window.resize(1024, 700)
    window.left_tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: seed.isVisible(), timeout=T)
    before = seed.value()
    for _ in range(3):
        pos = QPointF(seed.width() / 2, seed.height() / 2)
        ev = QWheelEvent(
            pos, seed.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(seed, ev)
    assert seed.value() == before


def test_reset_layout_closes_the_tool_docks_in_their_own_areas(window, qtbot):
    """Found by the newcomer: View ▸ Reset layout left every tool dock open, stacked on
    the left."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    for name in ("race", "inspect", "critical", "sweep"):
        getattr(window.actions, name).trigger()
    window.tools["race"].race_dock.setFloating(True)
    window.view.reset_layout()
    qtbot.wait(50)
    tools = [d for d in window.findChildren(QDockWidget) if d.objectName() != "setup-dock"]
    assert tools and not any(d.isVisible() for d in tools)
    assert not window.tools["race"].race_dock.isFloating()
    assert (
        window.dockWidgetArea(window.tools["race"].race_dock)
        == Qt.DockWidgetArea.BottomDockWidgetArea
    )
