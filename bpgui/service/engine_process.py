"""The engine process seen from the window: the child process (``python -m
bpgui.service.engine_host``) and the reader thread that turns its output into signals.

:class:`FrameReader` is a worker ``QObject`` moved to a ``QThread``: it blocks on the
process's output, makes the history rows the next batch fills resident (page faults on a
million-epoch run never stall the GUI thread) and emits each frame.  :class:`EngineProcess`
starts the process, sends it commands and says when it died.  Every engine process still
alive at exit is closed (no QThread is destroyed while running).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import subprocess
import sys
import threading
import weakref

from PySide6.QtCore import QObject, QThread, Signal, Slot

from bpgui.service.wire import read_frame, write_frame
from bpgui_engine.train.history import History

log = logging.getLogger(__name__)


class FrameReader(QObject):
    """Reads frames from the engine process until its output ends (worker thread)."""

    frame = Signal(object, object)  # header, payload
    ended = Signal()

    def __init__(self, stream) -> None:
        super().__init__()
        self.stream = stream
        # the GUI thread's current run history (set by the controller): this thread makes
        # the rows the next batch will fill resident before the GUI thread writes them, so
        # page faults on a million-epoch run never stall a frame
        self.history: History | None = None
        self._ahead_for: History | None = None
        self._ahead = 0

    def _prefault(self, header: dict) -> None:
        h = self.history
        if h is None or header.get("type") != "batch" or "entry" in header:
            return
        if h is not self._ahead_for or self._ahead > (h.max_rows or self._ahead):
            self._ahead_for, self._ahead = h, len(h)  # another history, or one thinned
        start = max(self._ahead, len(h))
        k = int(header.get("k", 0))
        h.prefault(start, k)
        self._ahead = start + k

    @Slot()
    def run(self) -> None:
        try:
            while True:
                item = read_frame(self.stream)
                if item is None:
                    break
                self._prefault(item[0])
                self.frame.emit(*item)
        except Exception:  # a broken stream ends the process's runs
            log.exception("engine stream")
        self.ended.emit()


_LIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At exit (even after an exception) end every engine process and reader thread, so
    no QThread is destroyed while running."""
    for engine in list(_LIVE):
        with contextlib.suppress(RuntimeError):  # the Qt object may be gone already
            engine.close()


PIPE_BYTES = 1 << 20  # the engine's output pipe (Linux: 64 KiB by default)


def _widen_pipe(stream) -> None:
    """A bigger pipe buffer: fewer stalls of the engine's writer while the app paints."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class EngineProcess(QObject):
    """The child process and its reader thread."""

    frame = Signal(object, object)
    died = Signal(str)

    def __init__(
        self, parent: QObject | None = None, module: str = "bpgui.service.engine_host"
    ) -> None:
        super().__init__(parent)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        _widen_pipe(self.proc.stdout)
        self._lock = threading.Lock()
        self._closing = False
        self.thread = QThread()
        self.thread.setObjectName("bpgui-engine-reader")
        self.reader = FrameReader(self.proc.stdout)
        self.reader.moveToThread(self.thread)
        self.thread.started.connect(self.reader.run)
        self.reader.frame.connect(self.frame)
        self.reader.ended.connect(self._ended)
        self.thread.start()
        _LIVE.add(self)

    def send(self, header: dict, payload=None) -> bool:
        with self._lock:
            try:
                write_frame(self.proc.stdin, header, payload)
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self._closing

    def _ended(self) -> None:
        self.thread.quit()
        if not self._closing:
            code = self.proc.wait(timeout=5)
            self.died.emit(f"the engine process ended unexpectedly (exit status {code})")

    def kill(self, timeout: float = 5.0) -> None:
        """End the process now (a job that cannot stop between its steps): no ``died``."""
        self._closing = True
        _LIVE.discard(self)
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        self.thread.quit()
        self.thread.wait(int(timeout * 1000))

    def close(self, timeout: float = 5.0) -> None:
        if self._closing and self.proc.poll() is not None and self.thread.isFinished():
            return
        self._closing = True
        _LIVE.discard(self)
        self.send({"cmd": "quit"})
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.quit()
        self.thread.wait(int(timeout * 1000))
