"""The open session as a document: New, Open, Save, Save As, recent files, the title's
unsaved mark, the prompt before losing work, autosave and crash recovery, and exports.

The session file itself (format, validation, atomic writing) is ``bpgui_engine.session``; this
module gathers the window's state into a :class:`~engine.session.Session` and puts a
loaded one back.  Nothing the user has open changes unless a file loaded completely.

A long module (over 400 lines) on purpose: the commands, the prompt, autosave and the
save that waits for a running run's state share one state machine (``saving``,
``modified``, the session id), which is easier to keep right in one place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from bpgui.document.recovery import Recovery, ask_recovery
from bpgui.document.session_view import capture_view, restore_view
from bpgui.export.menu import export
from bpgui.service import crashlog
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import (
    SUFFIX,
    Session,
    SessionError,
    load_session,
    run_state_from_dict,
    save_lighter_copy,
    save_session,
)
from bpgui_engine.train.history import COLUMNS, History

AUTOSAVE_MS = 60_000
#: an autosave writes a history of more rows than this as drawn (see for_recovery)
RECOVERY_FULL_ROWS = 200_000
MAX_RECENT = 8
FILTER = f"bpgui sessions (*{SUFFIX});;All files (*)"


def config_dir() -> Path:
    """Where bpgui keeps its own settings (recent files, recovery files):
    ``$BPGUI_CONFIG_DIR``, else the platform's config folder + ``/bpgui``."""
    env = os.environ.get("BPGUI_CONFIG_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "bpgui"


class RecentFiles:
    """The most recently opened or saved sessions, newest first, kept in the settings
    (:class:`bpgui.window.settings.Settings`, key ``recent/files``)."""

    KEY = "recent/files"

    def __init__(self, settings) -> None:
        self.settings = settings

    def list(self) -> list[str]:
        items = self.settings.q.value(self.KEY, [])
        if isinstance(items, str):  # QSettings gives a lone entry back as a string
            items = [items]
        if not isinstance(items, list):
            return []
        return [p for p in items if isinstance(p, str) and p][:MAX_RECENT]

    def add(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [q for q in self.list() if q != p]
        self._write(items[:MAX_RECENT])
        self.settings.set("folders/last", str(Path(p).parent))

    def remove(self, path: str) -> None:
        self._write([q for q in self.list() if q != path])

    def _write(self, items: list[str]) -> None:
        self.settings.set(self.KEY, items)
        self.settings.sync()  # a read-only config folder: nothing else breaks


def history_head(h: History, k: int) -> History:
    """The first ``k`` rows of ``h`` (a copy; ``h`` itself when that is all of it)."""
    return h.head(k)


def for_recovery(s: Session, shown: np.ndarray | None) -> Session:
    """What an autosave writes: ``s`` itself, or -- when its history is longer than
    :data:`RECOVERY_FULL_ROWS` -- ``s`` with the history's rows drawn on screen (``shown``;
    None: evenly spaced ones and the latest), so that writing it never stalls the window;
    the run's state is whole (the recovered run continues exactly) and
    ``history.sampled_from`` says the history was sampled.  Save writes every row kept."""
    h = s.history
    if h is None or len(h) <= RECOVERY_FULL_ROWS:
        return s
    n = len(h)
    if shown is None:
        shown = np.linspace(0, n - 1, 4096).astype(np.int64)
    rows = np.unique(np.concatenate([shown, [0], np.arange(max(0, n - 1000), n)]))
    rows = rows[(rows >= 0) & (rows < n)]
    light = History(h.n_free, capacity=len(rows))
    light.extend({c: h.column(c)[rows] for c in COLUMNS}, h.x[rows], h.stop)
    light.stop = h.stop
    spanned = int(h.column("epoch")[-1]) + 1
    return dataclasses.replace(
        s, history=light, history_sampled_from=max(s.history_sampled_from or 0, spanned)
    )


class Document(QObject):
    """The window's session document.  ``win`` is the :class:`MainWindow`."""

    saved = Signal(str)  # a save landed: the file's path
    save_ended = Signal()  # a save landed or failed (nothing pending for it any more)

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.path: Path | None = None
        self.modified = False
        self.terminating = False  # closing on a signal: keep the recovery file, no prompt
        self._generation = 0  # bumped by every change
        self._edits = 0  # bumped by every change but a run's progress
        self._session_id = 0  # bumped when another session is shown (New, Open, recovery)
        self.saving = 0  # saves waiting for a running run's state
        self._autosaved = 0
        cfg = config_dir()
        self.recent = RecentFiles(win.settings)
        self.recovery = Recovery(cfg / "recovery")
        self.recovery_dir = self.recovery.folder
        self.recovery_path = self.recovery.path
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        self.last_error = ""
        self.crash_note = ""  # the crash report found at start-up, if any
        self.update_title()

    # ---- title and the unsaved mark ---------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "Untitled"

    def update_title(self) -> None:
        self.win.setWindowTitle(f"{self.name}[*] — bpgui")
        self.win.setWindowModified(self.modified)

    def mark_modified(self, progress: bool = False) -> None:
        """Something changed; ``progress``: only the run went on."""
        self._generation += 1
        if not progress:
            self._edits += 1
        if not self.modified:
            self.modified = True
            self.update_title()

    def _set_clean(self, path: Path | None) -> None:
        self.path = path
        self.modified = False
        self.update_title()

    # ---- the window <-> a Session --------------------------------------------------------
    def capture(self, done: Callable[[Session | None, str], None]) -> None:
        """The window's session as the user sees it now: ``done(session, "")``, or
        ``done(None, why)``.  Everything is taken now; a running run's optimizer state
        comes from the engine between two epochs (the run goes on), so ``done`` may be
        called later — never inside a nested event loop."""
        s = capture_view(self.win)
        c = self.win.controller
        active = c.running

        def got(state, history, rows) -> None:
            if history is not None and rows and state is not None:
                s.run = run_state_from_dict(state)
                s.history = history_head(history, rows)
                s.history.stop = state.get("stop")
            elif active and history is not None and rows:
                done(None, "the engine process ended before the run's state arrived")
                return
            done(s, "")

        c.request_state(got)

    def as_shown(self) -> Session:
        """The session as on screen, now: the history received so far; the run's state
        only when the run is not going on (for views and exports of the run, not for
        files that must continue exactly)."""
        s = capture_view(self.win)
        c = self.win.controller
        h = c.history
        if h is not None and len(h):
            s.history = history_head(h, len(h))
            if not c.running and c.last_state is not None:
                s.run = run_state_from_dict(c.last_state)
        return s

    def restore(self, s: Session) -> None:
        """Show ``s`` in the window exactly as it was saved; Start continues its run."""
        self._session_id += 1  # saves still pending belong to the session before
        restore_view(self.win, s)

    # ---- commands ------------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self.restore(Session(Setup.from_preset("book-1-2-1")))
        self._set_clean(None)
        self.win.show_message("new session on the book's problem")
        return True

    def open(self, path: str | Path | None = None, loaded: Session | None = None) -> bool:
        """Open a session (a dialog when ``path`` is None).  On any error: one clear
        message, and the session that was open stays open and unchanged.  ``loaded``:
        the file's contents when the caller has already read them."""
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.win, "Open session", self.folder(), FILTER)
            if not path:
                return False
        try:
            s = loaded if loaded is not None else load_session(path)
        except (ValueError, OSError, MemoryError) as exc:  # SessionError, and anything else
            msg = str(exc) if isinstance(exc, SessionError) else f"{Path(path).name}: {exc}"
            self.error("Cannot open the session", " ".join(msg.split()) or type(exc).__name__)
            if not Path(path).exists():
                self.recent.remove(str(path))
                self.win.rebuild_recent_menu()
            return False
        self.restore(s)
        self._set_clean(Path(path))
        self.recent.add(path)
        self.win.rebuild_recent_menu()
        self.win.show_message(f"opened {Path(path).name} (epoch {s.epochs:,})")
        return True

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            suggested = str(self.path or Path(self.folder()) / f"session{SUFFIX}")
            path, _ = QFileDialog.getSaveFileName(self.win, "Save session as", suggested, FILTER)
            if not path:
                return False
            if not Path(path).suffix:
                path += SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        """Save what the user sees now (a running run's state comes from the engine; the
        file is written when it arrives).  True: saved, or saving."""
        t0 = time.perf_counter()
        sid, edits = self._session_id, self._edits
        self.saving += 1
        landed: list[bool] = []  # set when the write happened (at once, when idle)

        def write(s: Session | None, why: str) -> None:
            self.saving -= 1
            try:
                if s is None:
                    raise SessionError(f"{path.name}: not saved: {why}; save again")
                save_session(s, path)
            except SessionError as exc:
                self.error("Cannot save the session", str(exc))
                landed.append(False)
                self.save_ended.emit()
                return
            landed.append(True)
            self.recent.add(path)
            self.win.rebuild_recent_menu()
            dt = time.perf_counter() - t0
            if sid == self._session_id:
                self.path = path
                self.modified = self._edits != edits  # edited while the state came
                self.update_title()
                self.win.show_message(f"saved {path.name} (epoch {s.epochs:,}, {dt:.2f} s)")
            else:  # New or Open came first: the file holds the session Save was pressed on
                self.win.show_message(
                    f"saved {path.name}: the session as it was when Save was pressed "
                    f"(epoch {s.epochs:,})"
                )
            self.saved.emit(str(path))
            self.save_ended.emit()

        self.capture(write)
        return landed[0] if landed else True

    def save_lighter(self, path: str | Path | None = None) -> bool:
        """File ▸ Save a lighter copy: a small copy of the session as it is now (the
        history thinned, the run's state whole); the document stays as it is."""
        if path is None:
            stem = self.path.stem if self.path is not None else "session"
            suggested = str(Path(self.folder()) / f"{stem}-light{SUFFIX}")
            path, _ = QFileDialog.getSaveFileName(
                self.win, "Save a lighter copy", suggested, FILTER
            )
            if not path:
                return False
            if not Path(path).suffix:
                path += SUFFIX
        path = Path(path)

        def write(s: Session | None, why: str) -> None:
            try:
                if s is None:
                    raise SessionError(f"{path.name}: not saved: {why}; save again")
                copy = save_lighter_copy(s, path)
            except SessionError as exc:
                self.error("Cannot save the lighter copy", str(exc))
                return
            self.win.show_message(f"saved a lighter copy: {copy.summary()}")
            self.saved.emit(str(path))

        self.capture(write)
        return True

    def maybe_save(self) -> bool:
        """Before work is replaced or closed: save / discard / cancel.  True: go on."""
        if not self.modified:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def may_replace(self) -> bool:
        """Before a preset or an experiment replaces the problem: an opened (or saved)
        session with unsaved changes asks first; untitled scratch work does not (it is in
        the recovery file, and a lecturer clicks through experiments).  True: go on."""
        return self.path is None or self.maybe_save()

    def ask_save_changes(self) -> str:
        box = QMessageBox(self.win)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to {self.name}?")
        box.setInformativeText("Your training history and settings are lost if you don't save.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        res = box.exec()
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(QMessageBox.StandardButton(res), "cancel")

    def error(self, title: str, message: str) -> None:
        self.last_error = message
        self.win.show_message(message, error=True)
        box = QMessageBox(self.win)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(title)
        box.setText(message)
        box.open()
        self.win.error_box = box

    def folder(self) -> str:
        if self.path is not None:
            return str(self.path.parent)
        last = self.win.settings.get_str("folders/last", "")
        if last and Path(last).is_dir():
            return last
        recent = self.recent.list()
        return str(Path(recent[0]).parent) if recent else str(Path.cwd())

    # ---- autosave and recovery -----------------------------------------------------------------
    def autosave(self) -> bool:
        """Write the session to this window's recovery file if it changed since the last
        autosave (every minute, and when the app is terminated).  True: written, or
        waiting for a running run's state (then written when it arrives)."""
        if not self.modified or self._autosaved == self._generation:
            return False
        gen, sid = self._generation, self._session_id
        self._autosaved = gen
        self.saving += 1

        def write(s: Session | None, why: str) -> None:
            self.saving -= 1
            try:
                if s is None:
                    raise SessionError(why)
                if sid == self._session_id or self.terminating:
                    shown = self.win.plots.shown_rows(s.history) if s.history else None
                    self.recovery.write(for_recovery(s, shown))
            except (SessionError, OSError) as exc:
                self._autosaved = 0
                self.win.show_message(f"autosave failed: {exc}", error=True)
            self.save_ended.emit()

        self.capture(write)
        return True

    def discard_recovery(self) -> None:
        self.recovery.discard_own()

    def offer_recovery(self, choose=None) -> bool:
        """At start-up: offer every session a crashed bpgui autosaved.  ``choose(entries)``
        returns ``(action, index)``: ("restore", i), ("discard", i) or ("keep", None)
        (default: a dialog listing them with time and epoch).  Only a discarded file is
        deleted, and a restored one once this window's own autosave holds it."""
        reports = crashlog.crash_reports()
        crashlog.forget_empty_stale()
        note = ""
        if reports:
            note = f"bpgui crashed; its crash report is {crashlog.mark_reported(reports[0])}"
            self.crash_note = note
            self.win.show_message(note, error=True)
        choose = choose or (lambda entries: ask_recovery(self.win, entries, note))
        while True:
            entries = self.recovery.entries()
            if not entries:
                return False
            action, i = choose(entries)
            if i is None or action == "keep" or not 0 <= i < len(entries):
                return False
            e = entries[i]
            if action == "discard":
                with contextlib.suppress(OSError):
                    e.path.unlink()
                continue
            if e.session is None:
                self.error("Cannot restore the autosaved session", e.error)
                return False
            self.restore(e.session)
            self.path = None
            self.mark_modified()
            if self.autosave():
                with contextlib.suppress(OSError):
                    e.path.unlink()
            self.win.show_message("restored the autosaved session: save it to keep it")
            return True

    # ---- exports --------------------------------------------------------------------------------
    def export(self, what: str, path: str | Path | None = None) -> bool:
        """File ▸ Export (see :func:`bpgui.export.menu.export`)."""
        return export(self, what, path)
