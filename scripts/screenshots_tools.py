"""Screenshots of the window with the tool docks open (race, basin map, sweep, inspector,
critical points) at 1600×1000 and 1024×700, in the light and dark themes, and in
presentation mode — the layouts issue 18 asks to be looked at.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots_tools.py

Writes ``docs/screenshots/tools-*.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> int:
    os.environ.setdefault("BPGUI_CONFIG_DIR", tempfile.mkdtemp(prefix="bpgui-shots-"))
    from bpgui.document.document import Document
    from bpgui.window.app import make_application
    from bpgui.window.main import MainWindow

    Document.ask_save_changes = lambda self: "discard"
    OUT.mkdir(parents=True, exist_ok=True)
    make_application()
    win = MainWindow()
    win.move(0, 0)
    win.resize(1560, 940)
    win.show()
    loop = QEventLoop()

    def wait(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def until(cond, seconds: float = 60) -> None:
        for _ in range(int(seconds * 10)):
            if cond():
                return
            wait(0.1)

    def shot(name: str) -> None:
        path = OUT / f"tools-{name}.png"
        win.grab().save(str(path))
        print(f"wrote {path.relative_to(OUT.parents[1])}")

    until(lambda: win.plots.surface is not None)
    c = win.controller
    win.load_experiment("trajectory-a")
    until(lambda: c.state == "idle" and c.history is not None and c.history.stop is not None)
    win.tools["maps"].show_basins()
    win.tools["maps"].basins_pane.start()
    until(lambda: not win.tools["maps"].basins_pane.busy)
    win.tools["maps"].show_sweep()
    win.tools["maps"].sweep_pane.start()
    until(lambda: not win.tools["maps"].sweep_pane.busy)
    win.actions.inspect.trigger()
    win.actions.critical.trigger()
    until(lambda: win.tools["critical"].critical_result is not None)
    win.tools["race"].show_race()
    win.tools["race"].race_pane.epochs.setValue(20_000)
    win.tools["race"].start_race()
    until(lambda: c.race is not None and not c.racing)
    for size, (w, h) in (("1600", (1560, 940)), ("1024", (1024, 700))):
        win.resize(w, h)
        for theme in ("dark", "light"):
            win.view.set_theme(theme)
            for dock in (win.tools["race"].race_dock, win.tools["maps"].sweep_dock):
                dock.raise_()
            wait(0.8)
            shot(f"{size}-{theme}")
            win.tools["maps"].basins_dock.raise_()
            win.tools["critical"].critical_dock.raise_()
            wait(0.5)
            shot(f"{size}-{theme}-maps")
    win.resize(1560, 940)
    win.view.set_theme("dark")
    win.view.set_presentation(True)
    wait(1.0)
    shot("presentation")
    win.view.set_presentation(False)
    win.document.modified = False
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
