"""File ▸ Export ▸ Animation's dialog (issue 14 #3): it writes the file on a worker
thread while the GUI thread stays responsive, progress reaches 100%, Cancel leaves no
file, errors are one line under the fields."""

from __future__ import annotations

import os
import time

import pytest
from PIL import Image
from PySide6.QtCore import QTimer

from bpgui.export.animation_dialog import AnimationDialog
from bpgui_engine.model.experiments import get_experiment
from tests.engine.test_animation import trained


@pytest.fixture(scope="module")
def traj_a():
    return trained(get_experiment("trajectory-a").setup())


def make(qtbot, session, path) -> AnimationDialog:
    dlg = AnimationDialog(None, lambda: session, str(path))
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


class Ticks:
    """A 10 ms timer on the GUI thread: the longest gap between its ticks."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return max(b - a for a, b in zip(self.times, self.times[1:], strict=False))


def test_export_runs_off_the_gui_thread_and_reaches_100(qtbot, traj_a, tmp_path):
    out = tmp_path / "a.gif"
    dlg = make(qtbot, traj_a, out)
    dlg.seconds.setValue(6)
    dlg.fps.setValue(12)
    dlg.theme.setCurrentIndex(dlg.theme.findData("light"))
    seen = []
    dlg.progress.valueChanged.connect(seen.append)
    ticks = Ticks()
    with qtbot.waitSignal(dlg.finished_ok, timeout=60_000) as blocker:
        assert dlg.start()
        assert dlg.running and not dlg.export_button.isEnabled()
        assert dlg.cancel_button.text() == "Cancel"
    gap = ticks.stop()
    assert len(ticks.times) > 20 and gap < 0.25, gap
    r = blocker.args[0]
    assert (r.frames, r.width, r.height) == (72, 900, 420)
    assert dlg.progress.value() == dlg.progress.maximum() == 72
    assert max(seen) == 72 and len(seen) > 3  # it moved on the way
    assert not dlg.running and dlg.export_button.isEnabled()
    assert str(out) in dlg.result.text() and "72 frames" in dlg.result.text()
    assert not dlg.error.isVisible()
    with Image.open(out) as im:
        assert im.n_frames == 72 and im.size == (900, 420)
    assert os.listdir(tmp_path) == ["a.gif"]


def test_cancel_mid_way_leaves_no_file(qtbot, traj_a, tmp_path):
    out = tmp_path / "long.gif"
    dlg = make(qtbot, traj_a, out)
    dlg.seconds.setValue(30)
    dlg.fps.setValue(20)
    ticks = Ticks()
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.progress.value() >= 10, timeout=30_000)
    with qtbot.waitSignal(dlg.cancelled, timeout=10_000):
        dlg.cancel_button.click()
    assert ticks.stop() < 0.25
    assert dlg.progress.value() == 0 and "cancelled" in dlg.result.text()
    assert not dlg.running and dlg.cancel_button.text() == "Close"
    assert os.listdir(tmp_path) == []


def test_closing_while_running_cancels(qtbot, traj_a, tmp_path):
    dlg = make(qtbot, traj_a, tmp_path / "a.mp4")
    dlg.seconds.setValue(30)
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.progress.value() >= 3, timeout=30_000)
    with qtbot.waitSignal(dlg.cancelled, timeout=10_000):
        dlg.close()
    assert not dlg.isVisible() and not dlg.running
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("case", ["one-epoch", "folder", "suffix", "gif-fps"])
def test_errors_are_one_line_under_the_fields(qtbot, traj_a, tmp_path, case):
    session, path = traj_a, tmp_path / "a.gif"
    dlg = make(qtbot, session, path)
    if case == "one-epoch":
        session = trained(get_experiment("trajectory-a").setup(), epochs=1)
        dlg.session_provider = lambda: session
    elif case == "folder":
        path.mkdir()
    elif case == "suffix":
        dlg.path.setText(str(tmp_path / "a.avi"))
    else:
        dlg.fps.setValue(60)
    assert not dlg.start()
    assert not dlg.running
    text = dlg.error.text()
    assert dlg.error.isVisible() and text and "\n" not in text
    expected = {"one-epoch": "at least 2", "folder": "folder", "suffix": ".gif or .mp4",
                "gif-fps": "use MP4"}[case]  # fmt: skip
    assert expected in text
    assert os.listdir(tmp_path) == (["a.gif"] if case == "folder" else [])
    # fixing the input clears the error on the next export
    dlg.session_provider = lambda: traj_a
    dlg.path.setText(str(tmp_path / "ok.gif"))
    dlg.fps.setValue(10)
    dlg.seconds.setValue(1)
    with qtbot.waitSignal(dlg.finished_ok, timeout=60_000):
        assert dlg.start()
    assert not dlg.error.isVisible()


def test_the_window_helper_takes_the_windows_session(qtbot, window, tmp_path):
    from bpgui.export.animation_dialog import show_animation_dialog

    dlg = show_animation_dialog(window)
    assert dlg.isVisible() and show_animation_dialog(window) is dlg  # one dialog, reused
    assert dlg.path.text().endswith(".gif")
    dlg.path.setText(str(tmp_path / "a.gif"))
    assert not dlg.start()  # nothing trained yet in a fresh window
    assert "train it first" in dlg.error.text()
    dlg.close()


def test_the_dialog_defaults_follow_the_window(qtbot, window, tmp_path, monkeypatch):
    """Issue 18 #15: the default file was in the working directory (the repository), the
    colours dark under the light theme, and the progress read "0 / 1 frames"."""
    import os
    from pathlib import Path

    from bpgui.export.animation_dialog import show_animation_dialog

    monkeypatch.chdir(tmp_path)
    window.view.set_theme("light")
    dlg = show_animation_dialog(window)
    assert Path(dlg.path.text()).parent != Path(os.getcwd())
    assert dlg.theme.currentData() == "light"
    assert dlg.progress.text() == "200 frames to write"  # 10 s at 20 frames/s
    dlg.seconds.setValue(2.0)
    assert dlg.progress.text() == "40 frames to write"
    dlg.close()
    window.view.set_theme("dark")
