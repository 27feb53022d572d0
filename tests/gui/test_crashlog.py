"""Issue 18 #1a: a native crash leaves evidence.  faulthandler writes every process's
Python stacks to a log in the config folder; a clean exit leaves none; the next start
names the report (recovery prompt or status bar)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bpgui.document.recovery import RecoveryDialog, RecoveryEntry
from bpgui.service import crashlog

T = 20_000


def test_a_segfault_in_the_window_process_leaves_its_stacks(tmp_path):
    env = dict(os.environ, BPGUI_CONFIG_DIR=str(tmp_path))
    code = (
        "from bpgui.service import crashlog; crashlog.enable('window')\n"
        "def inner():\n    import ctypes; ctypes.string_at(0)\n"
        "inner()\n"
    )
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert p.returncode == -signal.SIGSEGV
    logs = list((tmp_path / "crash").glob("window-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert "Segmentation fault" in text and "in inner" in text
    ok = subprocess.run(
        [sys.executable, "-c", "from bpgui.service import crashlog; crashlog.enable('window')"],
        env=env, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0
    assert len(list((tmp_path / "crash").glob("window-*.log"))) == 1  # a clean exit: no log


def test_the_engine_process_writes_its_crash_and_the_next_start_names_it(
    window, qtbot, monkeypatch
):
    c = window.controller
    pid = c.engine.proc.pid
    folder = crashlog.crash_dir()
    qtbot.waitUntil(lambda: (folder / f"engine-{pid}.log").exists(), timeout=T)
    os.kill(pid, signal.SIGSEGV)
    qtbot.waitUntil(lambda: c.engine is not None and c.engine.proc.pid != pid, timeout=T)
    log = folder / f"engine-{pid}.log"
    qtbot.waitUntil(lambda: log.stat().st_size > 0, timeout=T)
    assert "Segmentation fault" in log.read_text()
    # the next start (here: the same window's start-up check) names the report once
    seen = []
    assert not window.document.offer_recovery(lambda entries: seen.append(1) or ("keep", None))
    assert f"engine-{pid}.reported.log" in window.last_message
    assert "crash report" in window.last_message
    window.document.offer_recovery(lambda e: ("keep", None))
    assert window.document.crash_note and not crashlog.crash_reports()


def test_the_recovery_prompt_names_the_report(qtbot):
    entry = RecoveryEntry(Path("/x/recovery-1.bpgui"), 0.0, None, "unreadable")
    dlg = RecoveryDialog([entry], None, "bpgui crashed; its crash report is /x/window-1.log")
    qtbot.addWidget(dlg)
    assert "/x/window-1.log" in dlg.report.text()
