"""Crash recovery: each running bpgui autosaves its session to its own recovery file;
at start-up the files of processes that are no longer running are offered — every one of
them, listed with its time and epoch — and only what the user discards is deleted.

Recovery files hold the user's work, so they are readable by their owner only (0600 in
a 0700 folder)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bpgui_engine.session import SUFFIX, Session, SessionError, load_session, save_session

SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@dataclass(frozen=True)
class RecoveryEntry:
    path: Path
    when: float  # modification time
    session: Session | None  # None: unreadable
    error: str = ""

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.when))
        if self.session is None:
            return f"{when} — cannot be read: {self.error}"
        s = self.session
        return (
            f"{when} — epoch {s.epochs:,} — "
            f"{'-'.join(map(str, (s.setup.spec.n_inputs, *s.setup.spec.sizes)))} network "
            f"({s.setup.optimizer}, {len(s.setup.free)} free)"
            + (" — the history as it was drawn" if s.history_sampled_from else "")
        )


class Recovery:
    """This process's recovery file in ``folder`` and the files crashed ones left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / f"recovery-{os.getpid()}{SUFFIX}"

    def write(self, session: Session) -> None:
        """Autosave ``session`` (owner-only permissions); raises SessionError/OSError."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        save_session(session, self.path)
        os.chmod(self.path, 0o600)

    def discard_own(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def stale(self) -> list[Path]:
        """Recovery files of bpgui processes that are no longer running (a crash)."""
        out = []
        for p in sorted(self.folder.glob(f"recovery-*{SUFFIX}")):
            try:
                pid = int(p.stem.split("-", 1)[1])
            except (IndexError, ValueError):
                continue
            if pid != os.getpid() and not _pid_alive(pid) and p.is_file():
                out.append(p)
        return out

    def entries(self) -> list[RecoveryEntry]:
        """Every stale file, newest first, with its session (or why it cannot be read)."""
        out = []
        for p in self.stale():
            try:
                when = p.stat().st_mtime
            except OSError:
                continue
            try:
                out.append(RecoveryEntry(p, when, load_session(p)))
            except SessionError as exc:
                out.append(RecoveryEntry(p, when, None, str(exc)))
        return sorted(out, key=lambda e: -e.when)


class RecoveryDialog(QDialog):
    """Lists the autosaved sessions; Restore one, Discard one, or keep them for later."""

    def __init__(
        self, entries: list[RecoveryEntry], parent: QWidget | None = None, note: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore unsaved work?")
        self.choice: tuple[str, int | None] = ("keep", None)
        lay = QVBoxLayout(self)
        n = len(entries)
        lay.addWidget(
            QLabel(
                f"bpgui did not close normally; {n} autosaved session{'s' if n > 1 else ''} "
                "can be restored. Sessions you neither restore nor discard are offered "
                "again next time."
            )
        )
        if note:  # where the crash's Python stacks are (faulthandler: bpgui.service.crashlog)
            report = QLabel(note + ".")
            report.setWordWrap(True)
            report.setTextInteractionFlags(report.textInteractionFlags() | SELECTABLE)
            lay.addWidget(report)
            self.report = report
        self.list = QListWidget()
        for e in entries:
            self.list.addItem(e.describe())
        self.list.setCurrentRow(0)
        lay.addWidget(self.list)
        box = QDialogButtonBox()
        for text, action, role in (
            ("Restore", "restore", QDialogButtonBox.ButtonRole.AcceptRole),
            ("Discard", "discard", QDialogButtonBox.ButtonRole.DestructiveRole),
            ("Keep for later", "keep", QDialogButtonBox.ButtonRole.RejectRole),
        ):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, a=action: self._done(a))
            box.addButton(b, role)
        self.restore_button = box.buttons()[0]
        self.restore_button.setEnabled(entries[0].session is not None)
        self.list.currentRowChanged.connect(
            lambda r: self.restore_button.setEnabled(r >= 0 and entries[r].session is not None)
        )
        lay.addWidget(box)

    def _done(self, action: str) -> None:
        row = self.list.currentRow()
        self.choice = (action, row if row >= 0 else None)
        self.accept()


def ask_recovery(parent, entries: list[RecoveryEntry], note: str = "") -> tuple[str, int | None]:
    dlg = RecoveryDialog(entries, parent, note)
    dlg.exec()
    return dlg.choice
