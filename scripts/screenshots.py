"""Screenshots of the main window for the README, taken during real runs.

Run under a virtual display so the 3-D view has OpenGL:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py

(``make screenshots`` does this.)  Writes ``docs/screenshots/*.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

from bpgui.app import make_application
from bpgui.main_window import MainWindow

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    make_application()
    win = MainWindow()
    win.resize(1560, 960)
    win.show()
    loop = QEventLoop()

    def wait(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def shot(name: str) -> None:
        path = OUT / f"{name}.png"
        win.grab().save(str(path))
        print(f"wrote {path.relative_to(OUT.parents[1])}")

    wait(1.5)
    shot("start")  # the default problem, waiting for a click
    win.load_experiment("trajectory-b")  # an earlier run, kept faintly
    wait(2.0)
    win.load_experiment("trajectory-a")
    wait(4.0)
    shot("main-window")  # trajectory a crossing the flat region, live
    win.controller.stop()
    win.load_experiment("lm")
    wait(1.5)
    win.restarts.count.setValue(30)
    win.restarts.epochs.setValue(3000)
    win.restarts_dock.show()
    win.restarts.method.setCurrentText("lm")
    win.restarts.run()
    while win.restarts.busy:
        wait(0.2)
    win.restarts.table.selectRow(0)
    wait(0.5)
    shot("restarts")
    win.restarts_dock.hide()
    win.load_experiment("momentum")
    wait(2.5)
    win.plots.tabs.setCurrentIndex(1)
    wait(2.0)
    shot("surface-3d")
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    wait(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
