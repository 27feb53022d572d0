"""The 3-D view needs a real X server: it runs in a subprocess under Xvfb (or skips,
saying why).  The offscreen fallback is tested in test_window.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer
    from bpgui.window.app import make_application
    from bpgui.window.main import MainWindow

    app = make_application()
    win = MainWindow()
    win.show()
    loop = QEventLoop()

    def wait(s):
        QTimer.singleShot(int(s * 1000), loop.quit)
        loop.exec()

    for _ in range(100):
        if win.plots.surface is not None:
            break
        wait(0.1)
    win.load_experiment("cg")
    wait(1.0)
    for _ in range(300):  # the run's end (a busy machine may take longer than a second)
        if win.controller.state == "idle":
            break
        wait(0.1)
    win.plots.tabs.setCurrentIndex(1)
    wait(1.0)
    view = win.plots.view3d
    assert view.problem is None, view.problem
    assert view.view is not None
    z = view._surface_item._z
    assert z.shape == (200, 200) and np.isfinite(z).all()
    pos = view._path_item.pos
    assert pos is not None and len(pos) >= 2
    # axes: names, tick values and the performance scale; start/end/optimum markers
    texts = [t.text for t in view._labels]
    assert "W1[1,1]" in texts and "W2[1,1]" in texts and "SSE (log)" in texts, texts
    assert "0" in texts and "10" in texts and any(t.startswith("1e") for t in texts), texts
    assert len(view._marker_item.pos) == 3  # start, end, optimum
    sx, sy = view._marker_item.pos[0][:2]
    assert abs(sx - ((-4 + 5) / 20 - 0.5)) < 1e-9 and abs(sy - ((-4 + 5) / 20 - 0.5)) < 1e-9
    # the replay's cursor on the surface too (the contour's orange diamond)
    h = win.controller.history
    win.tools["replay"].scrub(1)
    assert len(view._marker_item.pos) == 4
    cx, cy = view._marker_item.pos[3][:2]
    assert abs(cx - ((h.x[1][0] + 5) / 20 - 0.5)) < 1e-6, (cx, h.x[1])  # float32 in GL
    win.tools["replay"].scrub(len(h) - 1)
    assert len(view._marker_item.pos) == 4  # at the end the cursor sits on the end marker
    win.runs.reset()  # back to the start: no path, one marker per point left
    wait(0.3)
    assert len(view._path_item.pos) == 0
    img = view.view.grabFramebuffer()
    arr = np.array([img.pixelColor(x, y).green() for x in range(0, img.width(), 37)
                    for y in range(0, img.height(), 37)])
    assert arr.std() > 5, "the 3-D view drew nothing"
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    print("3D-OK")
    """
)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run not installed (apt: xvfb)")
def test_3d_surface_and_path_render_under_xvfb(tmp_path):
    env = {**os.environ, "BPGUI_CONFIG_DIR": str(tmp_path), "QT_QPA_PLATFORM": "xcb"}
    out = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x900x24", sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert "3D-OK" in out.stdout, out.stdout[-2000:] + out.stderr[-4000:]


def test_height_ticks_never_pile_up():
    """Issue 18 #12: a surface spanning 25 decades labelled every one of them."""
    from bpgui.plots.surface3d import height_ticks

    assert height_ticks(-25.3, 0.4) == [-25, -20, -15, -10, -5, 0]
    assert height_ticks(-2.5, 0.7) == [-2, -1, 0]
    assert height_ticks(0.2, 0.8) == []
    for lo in range(-40, 0):
        t = height_ticks(lo - 0.5, 1.5)
        assert 1 <= len(t) <= 6 and all(lo <= v <= 1 for v in t)
