"""Application start-up: ``bpgui`` (or ``python -m bpgui``) opens the main window."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from bpgui.service import crashlog
from bpgui.widgets.theme import dark_palette
from bpgui.window.main import MainWindow


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("bpgui")
    app.setApplicationName("bpgui")
    app.setStyle("Fusion")
    icon = Path(__file__).resolve().parents[1] / "icons" / "bpgui.svg"
    app.setWindowIcon(QIcon(str(icon)))
    app.setDesktopFileName("bpgui")  # matches bpgui.desktop (--install-desktop)
    app.setPalette(dark_palette())
    pg.setConfigOptions(antialias=False)  # antialiased paths cost 5x the paint time
    return app


def main(experiment: str | None = None, session: str | None = None, loaded=None) -> int:
    """``session``: a file to open; ``loaded``: its contents when the caller read it."""
    crashlog.enable("window")  # a native crash leaves its Python stacks in the crash folder
    app = make_application()
    win = MainWindow()
    win.show()
    if session:
        win.document.open(session, loaded)
    if os.environ.get("BPGUI_EXIT_AFTER_SHOW"):  # start-up benchmark: time to a drawn window

        def shown() -> None:
            print(f"shown {time.time():.6f} {win.windowTitle()}", flush=True)
            win.document.modified = False
            win.close()

        QTimer.singleShot(0, shown)
        return app.exec()
    _autosave_on_signals(app, win)
    if experiment and not session:
        win.load_experiment(experiment)
    elif not session:  # after a crash: offer what was autosaved
        QTimer.singleShot(200, win.document.offer_recovery)
    return finish(app.exec())


def finish(code: int) -> int:
    """After the window has closed: the compute service's processes end.  No compute
    thread lives in this process, so nothing else can outlive the window here."""
    from bpgui.service.jobs import shared

    shared().shutdown()
    return code


def _autosave_on_signals(app, win) -> None:
    """SIGTERM/SIGHUP (logout, shutdown, kill): autosave to the recovery file, then quit
    without a prompt; the next start offers to restore it."""

    def handler(signum, frame) -> None:
        win.document.terminating = True
        win.document.autosave()
        if win.close():  # else it closes (and quits) once the autosave has landed
            app.quit()

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, handler)
    # Python runs signal handlers only when it gets control: a timer lets it
    tick = QTimer(app)
    tick.timeout.connect(lambda: None)
    tick.start(250)
