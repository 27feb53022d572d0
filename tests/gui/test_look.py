"""Theme, presentation mode and the remembered layout (issue 14 #2, #5)."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage
from test_window import T

from bpgui.plots.curves import LEFT_AXIS_PX
from bpgui.plots.log_axis import label_width
from bpgui.window.main import MainWindow


def test_the_light_theme_colours_plots_and_exports(window, qtbot, tmp_path):
    window.view.theme_actions["light"].trigger()
    for view in window.findChildren(pg.GraphicsView):
        assert view.backgroundBrush().color().name() == "#ffffff"
    assert window.plots.curves.sse_curve.opts["pen"].color().name() == "#111111"
    out = tmp_path / "curves.png"
    assert window.document.export("curves-png", out)
    img = QImage(str(out))
    assert img.pixelColor(3, 3).name() == "#ffffff"  # on a white slide
    # the curves' legends on a near-opaque patch of the background (they sat on the curves)
    brush = window.plots.curves.sse_plot.legend.opts["brush"]
    assert brush.color().name() == "#ffffff" and brush.color().alpha() >= 180
    window.view.theme_actions["dark"].trigger()
    assert window.plots.contour.widget.backgroundBrush().color().name() == "#000000"
    assert window.plots.curves.aux_plot.legend.opts["brush"].color().name() == "#000000"


def test_presentation_mode_is_big_full_screen_and_comes_back(window, qtbot):
    window.resize(1024, 700)
    base = window.font().pointSizeF()
    normal = window.plots.curves.sse_plot.getAxis("left").minimumWidth()
    assert normal >= LEFT_AXIS_PX
    window.actions.presentation.trigger()  # F11
    assert window.view.presentation and window.isFullScreen()
    assert window.font().pointSizeF() > 1.4 * base
    assert not window.left_tabs.isVisible()  # the setup panel is hidden
    assert window.plots.contour.isVisible() and window.plots.curves.isVisible()
    assert window.plots.contour.start_marker.opts["size"] > 11
    # the curves' left axes widen with their labels (the titles overlapped the ticks)
    left = [
        window.plots.curves.sse_plot.getAxis("left"),
        window.plots.curves.aux_plot.getAxis("left"),
    ]
    assert all(ax.minimumWidth() >= label_width(ax) > 1.4 * normal for ax in left)
    window.actions.presentation.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=T)
    assert window.left_tabs.isVisible() and window.font().pointSizeF() == base
    assert all(ax.minimumWidth() == normal for ax in left)
    # the plots fill a window made larger afterwards (the replay bar took a share of it)
    window.resize(1600, 1000)
    bar = window.tools["replay"].bar
    qtbot.waitUntil(lambda: window.height() == 1000, timeout=T)
    qtbot.wait(50)
    assert bar.height() <= bar.sizeHint().height() + 2


def test_theme_layout_and_presentation_are_remembered(qtbot, tmp_path, monkeypatch):
    restored = []
    real = MainWindow.restoreGeometry
    monkeypatch.setattr(
        MainWindow, "restoreGeometry", lambda self, g: restored.append(bytes(g)) or real(self, g)
    )
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.view.theme_actions["light"].trigger()
    win.resize(1111, 777)
    win.tools["restarts"].restarts_dock.show()
    win.document.modified = False
    win.close()
    saved = bytes(win.settings.get_bytes("window/geometry"))
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert again.view.theme_choice == "light" and again.view.theme_actions["light"].isChecked()
    # the window's geometry as it was closed (the offscreen screen, 800x800, then clamps it)
    assert saved in restored
    assert again.tools["restarts"].restarts_dock.isVisible()
    again.view.reset_layout()
    assert not again.tools["restarts"].restarts_dock.isVisible()
    again.document.modified = False
    again.close()


@pytest.mark.slow  # ~8 s: make test-slow, CI
def test_a_corrupt_settings_store_falls_back_with_a_note(qtbot, tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    monkeypatch.setenv("BPGUI_CONFIG_DIR", str(cfg))
    # nonsense values: each falls back to its default
    (cfg / "bpgui.ini").write_text(
        "[view]\ntheme=purple\npresentation=maybe\n[window]\nsplitter0=1, x\ngeometry=not bytes\n"
    )
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    assert win.view.theme_choice == "system" and not win.view.presentation
    win.document.modified = False
    win.close()
    # a store that cannot be read at all: set aside, defaults, and a note saying so
    (cfg / "bpgui.ini").unlink()
    (cfg / "bpgui.ini").mkdir()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    assert "using the defaults" in win.last_message
    assert (cfg / "bpgui.ini.corrupt").exists()
    win.document.modified = False
    win.close()


def test_recent_files_and_the_last_folder_are_remembered(window, qtbot, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    assert window.document.save_as(folder / "a.bpgui")
    assert window.document.save_as(folder / "b.bpgui")
    again = MainWindow()
    qtbot.addWidget(again)
    names = [p.rsplit("/", 1)[-1] for p in again.document.recent.list()]
    assert names[:2] == ["b.bpgui", "a.bpgui"]
    assert again.document.folder() == str(folder.resolve())
    again.document.modified = False
    again.close()


def test_presentation_and_theme_switches_resize_every_widget_and_come_back(window, qtbot):
    """The fonts follow presentation mode everywhere -- also after a theme switch made
    while it was on -- and come back when it ends (the application is re-polished when
    its font changes, not only when the theme does)."""
    labels = [window.status_fields["kernel"], window.status_fields["epoch"]]
    base = [w.fontInfo().pointSizeF() for w in labels]
    window.actions.presentation.trigger()
    assert all(w.fontInfo().pointSizeF() > 1.4 * b for w, b in zip(labels, base, strict=True))
    current = window.view.theme_choice
    window.view.set_theme("dark" if current == "light" else "light")
    window.actions.presentation.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=T)
    assert [w.fontInfo().pointSizeF() for w in labels] == base


def test_presentation_on_a_1024_screen_cuts_no_number_in_the_status_bar(window, qtbot):
    """Before: in presentation mode at 1024x700 the fields kept their normal widths and
    showed "epoch 323,9" for 323,927 and "|grad| 3.67" for 3.67e-14."""
    from PySide6.QtGui import QFontMetrics

    from bpgui_engine.train.trainer import StopCriteria

    window.apply_setup(window.setup.replace(optimizer="lm", hyper={}, performance="mse",
                                            criteria=StopCriteria(epochs=40)))  # fmt: skip
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_new_run(window.start_x)
    window.actions.presentation.trigger()
    window.setGeometry(0, 0, 1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=T)
    f = window.status_fields
    assert f["speed"].isHidden() and f["kernel"].isHidden()  # secondary: hidden
    assert f["sse"].text().startswith("MSE ") and "(SSE" not in f["sse"].text()
    qtbot.wait(50)  # the status bar's layout
    for key in ("epoch", "sse", "grad", "rate"):
        lab = f[key]
        assert QFontMetrics(lab.font()).horizontalAdvance(lab.text()) <= lab.width(), key
    window.actions.presentation.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=T)
    assert f["speed"].isVisibleTo(window) and f["kernel"].isVisibleTo(window)
    assert "(SSE" in f["sse"].text()  # the SSE beside the index again
