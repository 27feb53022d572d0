"""Screenshots of the main window for the README, taken during real runs.

Run under a virtual display so the 3-D view has OpenGL:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py

(``make screenshots`` does this.)  Writes ``docs/screenshots/*.png``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtTest import QTest

from bpgui.window.app import make_application
from bpgui.window.main import MainWindow

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    make_application()
    win = MainWindow()
    win.resize(1560, 960)
    win.move(0, 0)
    win.show()
    loop = QEventLoop()

    def wait(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def shot(name: str, screen: bool = False) -> None:
        """``screen``: capture the X screen (OpenGL text is painted on the screen, not
        into QWidget.grab()), cropped to the window."""
        path = OUT / f"{name}.png"
        if screen and shutil.which("import"):
            g = win.frameGeometry()
            subprocess.run(["import", "-window", "root", "-crop",
                            f"{g.width()}x{g.height()}+{g.x()}+{g.y()}", str(path)],
                           check=True)  # fmt: skip
        else:
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
    win.tools["restarts"].restarts.count.setValue(30)
    win.tools["restarts"].restarts.epochs.setValue(3000)
    win.tools["restarts"].restarts_dock.show()
    win.tools["restarts"].restarts.method.setCurrentText("lm")
    win.tools["restarts"].restarts.run()
    while win.tools["restarts"].restarts.busy:
        wait(0.2)
    win.tools["restarts"].restarts.table.selectRow(0)
    wait(0.5)
    shot("restarts")
    # earlier runs follow the axes: the restarts' paths after swapping x and y
    (x0, x1), (y0, y1) = win.setup.ranges
    win.apply_setup(win.setup.replace(axes=("W2[1,1]", "W1[1,1]"), ranges=((y0, y1), (x0, x1))))
    wait(1.5)
    shot("axes-swapped")
    win.tools["restarts"].restarts_dock.hide()
    # errors are shown under their fields, and the status bar says why Start is disabled
    win.left_tabs.setCurrentIndex(1)
    goal = win.optimizer_pane.goal
    goal.setFocus()
    goal.selectAll()
    QTest.keyClicks(goal, "-1")
    wait(0.5)
    shot("field-errors")
    goal.selectAll()
    QTest.keyClicks(goal, "0")
    win.left_tabs.setCurrentIndex(0)
    # the smallest supported window
    win.resize(1024, 700)
    win.load_experiment("trajectory-a")
    wait(3.0)
    shot("small-window")
    win.resize(1560, 960)
    win.load_experiment("momentum")
    wait(2.5)
    win.plots.tabs.setCurrentIndex(1)
    wait(2.0)
    shot("surface-3d", screen=True)
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    wait(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
