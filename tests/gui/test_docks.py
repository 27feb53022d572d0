"""Issue 18 #10: tool docks open at a usable size, tabbed with the tools already open in
their area; the window stays within its screen (1600×1000 and 1024×700); every dock can
float.  Run in a subprocess whose offscreen platform has a screen of that size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDockWidget
    from bpgui.window.app import make_application
    from bpgui.document.document import Document
    from bpgui.window.main import MainWindow
    Document.ask_save_changes = lambda self: "discard"
    app = make_application()
    win = MainWindow()
    avail = win.screen().availableGeometry()
    first = [win.width(), win.height()]  # the size a first start opens at
    win.resize(avail.width() - 40, avail.height() - 40)
    win.move(avail.topLeft())
    win.show()
    QTest.qWait(200)
    out = {"fits": [], "docks": {}, "first": first, "avail": [avail.width(), avail.height()]}
    for name in ("race", "inspect", "critical", "sweep", "basins", "restarts", "explain"):
        getattr(win.actions, name).trigger()
        QTest.qWait(100)
        out["fits"].append([name, avail.contains(win.frameGeometry())])
    for d in win.findChildren(QDockWidget):
        if not d.isVisible():
            continue
        d.raise_()
        QTest.qWait(30)
        float_ok = bool(d.features() & QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        out["docks"][d.objectName()] = [d.width(), d.height(), float_ok]
    out["window"] = [win.width(), win.height()]
    print(json.dumps(out))
    win.document.modified = False
    win.close()
    """
)


@pytest.mark.parametrize("size", [(1600, 1000), (1024, 700)])
def test_opening_every_tool_keeps_the_window_on_its_screen(tmp_path, size):
    w, h = size
    cfg = tmp_path / "screen.json"
    cfg.write_text(json.dumps({"screens": [
        {"name": "s", "x": 0, "y": 0, "width": w, "height": h, "logicalDpi": 96,
         "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={cfg}",
               BPGUI_CONFIG_DIR=str(tmp_path / "cfg"))  # fmt: skip
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       env=env, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert all(ok for _name, ok in out["fits"]), out["fits"]
    (fw, fh), (aw, ah) = out["first"], out["avail"]
    assert fw <= aw and fh <= ah  # a first start opens within the screen
    win_w, _win_h = out["window"]
    docks = out["docks"]
    assert len(docks) >= 8  # setup + the seven tools
    for name, (_dw, _dh, floats) in docks.items():
        assert floats, name
    for name in ("race-dock", "inspector-dock", "critical-dock", "restarts-dock"):
        dw, dh, _ = docks[name]  # bottom tools: tabs, each the window's width, a table high
        assert dw >= 0.9 * win_w and dh >= 120, (name, dw, dh)
