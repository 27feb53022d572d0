"""Session files in the window: save, open, continue exactly; the title's mark; prompts;
bad files; recent files; drag and drop; autosave and recovery; exports."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from bpgui.document.document import Document
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import load_session
from bpgui_engine.train.history import COLUMNS
from bpgui_engine.train.trainer import StopCriteria, Trainer

T = 20_000  # ms


def epochs(win) -> int:
    h = win.controller.history
    return 0 if h is None or len(h) == 0 else int(h.column("epoch")[-1])


def read_csv(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def run_to(window, qtbot, setup: Setup, x0, until: int) -> None:
    """Train ``setup`` from ``x0`` in the window until it stops at ``until`` epochs."""
    window.apply_setup(setup.replace(criteria=StopCriteria(epochs=until)), problem_changed=True)
    window.start_x = np.array(x0, float)
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.start_new_run(window.start_x)
    assert epochs(window) == until


def direct(setup: Setup, x0, n: int):
    tr = Trainer(setup.objective(), setup.make_optimizer(), x0, StopCriteria(epochs=n))
    with np.errstate(all="ignore"):
        return list(tr.run())


def book(optimizer="vlbp", **hyper) -> Setup:
    s = Setup.from_preset()
    return s.replace(optimizer=optimizer, hyper=hyper)


def numpy_engine(window, monkeypatch) -> None:
    """The engine process on the NumPy kernel, like the reference ``direct`` (numba's sums
    may differ in the last bit; which kernel a run uses depends on when the engine's
    background compile ends -- under load, part way through the run)."""
    monkeypatch.setenv("BPGUI_KERNEL", "numpy")  # inherited by the new engine process
    window.controller.engine.close()
    window.controller.ensure_engine()


def test_save_open_and_continue_bit_for_bit(window, qtbot, tmp_path, monkeypatch):
    numpy_engine(window, monkeypatch)
    setup = book("vlbp")
    run_to(window, qtbot, setup, [-4.0, -4.0], 40)
    path = tmp_path / "vlbp.bpgui"
    assert window.document.save_as(path)
    assert window.windowTitle().startswith("vlbp.bpgui") and not window.isWindowModified()
    assert window.document.new()  # a different session in between
    assert epochs(window) == 0 and window.windowTitle().startswith("Untitled")
    assert window.document.open(path)
    assert epochs(window) == 40 and not window.isWindowModified()
    assert window.setup.optimizer == "vlbp" and np.array_equal(window.start_x, [-4.0, -4.0])
    # Start continues: 40 more epochs (the setup's epoch setting) from the saved state
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.runs.toggle_run()
    h = window.controller.history
    ref = direct(setup, np.array([-4.0, -4.0]), 80)
    assert h.column("epoch").tolist() == list(range(81))
    # the window trains on the compiled kernel (or on NumPy while it compiles): the same
    # arithmetic to rounding, and the continued run picks up exactly where it was saved
    np.testing.assert_allclose(h.x, np.array([r.x for r in ref]), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.column("sse"), [r.sse for r in ref], rtol=1e-10, atol=1e-15)


def test_saving_while_running_snapshots_and_the_file_continues_exactly(
    window, qtbot, tmp_path, monkeypatch
):
    numpy_engine(window, monkeypatch)
    setup = book("sgd", lr=0.5, batch_size=5).replace(
        free=Setup.from_preset().spec.labels, criteria=StopCriteria(epochs=3000)
    )
    window.apply_setup(setup, problem_changed=True)
    x0 = np.array(setup.theta) + 0.5
    window.speed.setValue(8)  # 500 epochs/s: still running when we save
    window.runs.start_new_run(x0)
    qtbot.waitUntil(lambda: epochs(window) > 20, timeout=T)
    path = tmp_path / "running.bpgui"
    with qtbot.waitSignal(window.document.saved, timeout=T):
        assert window.document.save_as(path)
        assert not path.exists()  # the state comes from the engine: no waiting in here
    assert window.controller.state == "running"  # saving did not stop the run
    window.controller.discard()
    s = load_session(path)
    assert s.run.stop is None and s.run.max_epochs == 3000
    n = s.run.epoch
    assert len(s.history) == n + 1
    ref = direct(setup, x0, n + 25)
    assert np.array_equal(s.history.x, np.array([r.x for r in ref[: n + 1]]))
    window.speed.setValue(window.speed.maximum())
    window.document.open(path)
    window.controller.resume_run(25)  # saved mid-run: goes on towards its maximum
    qtbot.waitUntil(lambda: epochs(window) > n + 5, timeout=T)
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=T)
    h = window.controller.history
    k = len(h)
    assert k > n + 1
    assert np.array_equal(h.x, np.array([r.x for r in direct(setup, x0, k - 1)]))


def test_title_mark_and_the_prompt_before_losing_work(window, qtbot, tmp_path, monkeypatch):
    assert not window.isWindowModified()
    run_to(window, qtbot, book("sd"), [-4.0, -4.0], 5)
    assert window.isWindowModified() and "[*]" in window.windowTitle()
    monkeypatch.setattr(Document, "ask_save_changes", lambda self: "cancel")
    assert not window.document.new()  # cancelled: nothing replaced
    assert epochs(window) == 5
    window.close()
    assert window.isVisible()  # cancelled: still open
    window.document.path = tmp_path / "kept.bpgui"
    monkeypatch.setattr(Document, "ask_save_changes", lambda self: "save")
    window.close()
    assert not window.isVisible() and load_session(tmp_path / "kept.bpgui").run.epoch == 5


def test_a_bad_file_leaves_the_open_session_unchanged(window, qtbot, tmp_path):
    run_to(window, qtbot, book("sd"), [-4.0, -4.0], 7)
    before_setup, before_hist = window.setup, window.controller.history
    bad = tmp_path / "bad.bpgui"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip file")
    assert not window.document.open(bad)
    assert "bad.bpgui: damaged or truncated" in window.document.last_error
    assert window.error_box is not None and window.error_box.isVisible()
    window.error_box.close()
    assert window.setup is before_setup and window.controller.history is before_hist
    assert epochs(window) == 7


def test_a_failed_save_keeps_the_mark_and_writes_nothing(window, qtbot, tmp_path):
    run_to(window, qtbot, book("sd"), [-4.0, -4.0], 3)
    target = tmp_path / "missing-folder" / "x.bpgui"
    assert not window.document.save_as(target)
    assert "cannot write in" in window.document.last_error
    window.error_box.close()
    assert window.isWindowModified() and not target.parent.exists()


def test_recent_files_and_drag_and_drop(window, qtbot, tmp_path):
    run_to(window, qtbot, book("cg"), [-4.0, -4.0], 6)
    path = tmp_path / "cg.bpgui"
    window.document.save_as(path)

    def recent():
        return [a for a in window.recent_menu.actions() if a.data()]

    qtbot.waitUntil(lambda: [a.data() for a in recent()] == [str(path.resolve())])
    acts = recent()
    window.document.new()
    acts[0].trigger()
    assert epochs(window) == 6 and window.setup.optimizer == "cg"
    window.document.new()
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier(0),
    )
    window.dropEvent(ev)
    qtbot.waitUntil(lambda: epochs(window) == 6, timeout=T)
    assert window.windowTitle().startswith("cg.bpgui")


def test_autosave_and_recovery_after_a_crash(window, qtbot, tmp_path):
    run_to(window, qtbot, book("momentum"), [-4.0, -4.0], 9)
    doc = window.document
    assert doc.autosave() and doc.recovery_path.exists()
    assert not doc.autosave()  # nothing changed since
    # a crashed process (a pid that is not running) left this file behind
    stale = doc.recovery_dir / "recovery-999999999.bpgui"
    os.replace(doc.recovery_path, stale)
    doc.new()
    asked = []

    def choose(entries):
        asked.append([e.path for e in entries])
        return ("restore", 0)

    assert doc.offer_recovery(choose)
    assert asked == [[stale]]
    assert epochs(window) == 9 and window.isWindowModified() and doc.path is None
    # the restored work is in this window's own recovery file before the old one goes
    assert doc.recovery_path.exists() and not stale.exists()


def test_every_crashed_session_is_offered_and_only_discarded_ones_deleted(window, qtbot):
    doc = window.document
    stale = []
    for k, (pid, n) in enumerate(((999999997, 5), (999999998, 8))):
        run_to(window, qtbot, book("sd"), [-4.0, -4.0], n)
        assert doc.autosave()
        path = doc.recovery_dir / f"recovery-{pid}.bpgui"
        os.replace(doc.recovery_path, path)
        os.utime(path, (1_700_000_000 + k, 1_700_000_000 + k))
        stale.append(path)
    junk = doc.recovery_dir / "recovery-999999996.bpgui"
    junk.write_bytes(b"not a session")
    os.utime(junk, (1_600_000_000, 1_600_000_000))
    doc.new()
    seen = []

    def keep(entries):
        seen.append([e.describe() for e in entries])
        return ("keep", None)

    assert not doc.offer_recovery(keep)
    assert all(p.exists() for p in stale)  # nothing deleted unasked
    listed = seen[0]
    assert len(listed) == 3
    assert "epoch 8" in listed[0] and "epoch 5" in listed[1]  # newest first, with epochs
    assert "cannot be read" in listed[2]
    answers = iter([("discard", 2), ("discard", 1), ("restore", 0)])
    assert doc.offer_recovery(lambda entries: next(answers))
    assert epochs(window) == 8
    assert not any(p.exists() for p in stale)
    assert list(doc.recovery_dir.glob("recovery-99999999*.bpgui")) == []


def test_recovery_files_are_private(window, qtbot):
    run_to(window, qtbot, book("sd"), [-4.0, -4.0], 3)
    doc = window.document
    assert doc.autosave()
    assert doc.recovery_path.stat().st_mode & 0o777 == 0o600
    assert doc.recovery_dir.stat().st_mode & 0o777 == 0o700


def test_exports_from_the_menu(window, qtbot, tmp_path):
    run_to(window, qtbot, book("sd"), [-4.0, -4.0], 12)
    qtbot.waitUntil(lambda: window.plots.surface is not None, timeout=T)
    doc = window.document
    for what, name in (
        ("contour-png", "c.png"),
        ("curves-svg", "k.svg"),
        ("response-png", "r.png"),
        ("history", "h.csv"),
        ("trajectory", "t.csv"),
        ("grid", "g.csv"),
        ("params-csv", "p.csv"),
        ("params-json", "p.json"),
    ):
        assert doc.export(what, tmp_path / name), what
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "k.svg").read_text()
    rows = read_csv(tmp_path / "h.csv")
    assert rows[0] == [*COLUMNS, "W1[1,1]", "W2[1,1]"] and len(rows) == 14
    h = window.controller.history
    assert float(rows[-1][-1]) == h.x[-1, 1]  # exact: repr round trip
    assert read_csv(tmp_path / "t.csv")[0] == ["epoch", "W1[1,1]", "W2[1,1]"]
    g = read_csv(tmp_path / "g.csv")
    res = window.plots.resolution.currentData()  # the grid on screen
    assert g[0] == ["W1[1,1]", "W2[1,1]", "performance"] and len(g) == 1 + res * res
    params = json.loads((tmp_path / "p.json").read_text())["params"]
    assert params["W1[1,1]"] == h.x[-1, 0] and params["b2[1]"] == -1.0
    assert not doc.export("contour-png", tmp_path / "nope" / "c.png")
    window.error_box.close()


def _bpgui(*args, env_extra=None, **kw):
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "bpgui", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_bpgui_session_opens_it_in_the_window(tmp_path):
    from bpgui_engine.session import Session, save_session

    path = save_session(
        Session(Setup.from_preset(), start=np.array([1.0, 2.0])), tmp_path / "s.bpgui"
    )
    p = _bpgui(
        str(path), env_extra={"BPGUI_EXIT_AFTER_SHOW": "1", "BPGUI_CONFIG_DIR": str(tmp_path)}
    )
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "shown" in out and "s.bpgui[*] — bpgui" in out


def test_terminating_the_app_autosaves_for_recovery(tmp_path):
    import signal
    import time

    cfg = tmp_path / "cfg"
    p = _bpgui("--experiment", "trajectory-a", env_extra={"BPGUI_CONFIG_DIR": str(cfg)})
    time.sleep(6)  # the window is up and training
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    files = list((cfg / "recovery").glob("recovery-*.bpgui"))
    assert len(files) == 1, "the terminated app left its autosave"
    s = load_session(files[0])
    assert s.history is not None and len(s.history) > 10 and s.setup.optimizer == "sd"


def test_a_preset_or_experiment_asks_before_replacing_an_opened_session(
    window, qtbot, tmp_path, monkeypatch
):
    """Before: Load preset replaced an opened session's unsaved run without asking."""
    run_to(window, qtbot, book("sd"), [-4.0, -4.0], 5)
    assert window.document.save_as(tmp_path / "mine.bpgui")
    window.apply_setup(window.setup.replace(hyper={"lr": 0.5}))  # an unsaved change
    asked = []
    monkeypatch.setattr(Document, "ask_save_changes", lambda self: asked.append(1) or "cancel")
    pane = window.network_pane
    pane.preset.setCurrentIndex(pane.preset.findData("sine-1-2-1"))
    qtbot.mouseClick(pane.preset_load, Qt.MouseButton.LeftButton)
    assert asked == [1] and window.setup.data.preset == "book-1-2-1"  # cancelled: kept
    menu = next(a for a in window.menuBar().actions() if "Experiments" in a.text()).menu()
    menu.actions()[0].trigger()
    assert asked == [1, 1] and epochs(window) == 5  # nothing replaced
    monkeypatch.setattr(Document, "ask_save_changes", lambda self: "discard")
    qtbot.mouseClick(pane.preset_load, Qt.MouseButton.LeftButton)
    assert window.setup.data.preset == "sine-1-2-1"


def test_save_a_lighter_copy_from_the_menu(window, qtbot, tmp_path, monkeypatch):
    """Issue 18 #16: File ▸ Save a lighter copy writes a small copy that continues
    exactly; the open document is not renamed or marked saved."""
    from PySide6.QtWidgets import QFileDialog

    numpy_engine(window, monkeypatch)
    run_to(window, qtbot, book("momentum", lr=5.0, gamma=0.9), [-4.0, -4.0], 20_000)
    path = tmp_path / "light.bpgui"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), ""))
    )
    title = window.windowTitle()
    with qtbot.waitSignal(window.document.saved, timeout=T):
        window.actions.save_lighter.trigger()
    assert window.windowTitle() == title and window.document.path is None
    s = load_session(path)
    assert len(s.history) < 20_001 and s.history_sampled_from == 20_001
    assert s.run.epoch == 20_000 and np.array_equal(s.run.x, window.controller.history.x[-1])
    assert "lighter copy" in window.last_message
