"""A basin map or sweep computed in a worker thread, chunk by chunk (issue 12).

The worker iterates the job's ``chunks()`` generator in its own :class:`QThread` and emits,
after each chunk, the result so far (an immutable copy made in the worker thread, so the
GUI thread never touches the job).  Cancel is a :class:`threading.Event` checked between
chunks; the generator is then closed (local chunk threads end, cluster futures are
cancelled) and the partial result is emitted.  Widgets are never touched here: only the
signals, connected to slots of objects living in the GUI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from bpgui_engine.session import one_line

#: every map worker started and not yet ended (see :func:`join_all`)
_RUNNING: dict[int, tuple[QThread, MapWorker]] = {}


def join_all(ms: int = 60_000) -> list[str]:
    """Cancel every map worker still running and wait for it (bounded): no map thread
    outlives the window (a QThread destroyed while it runs aborts the process).  Returns
    the names of any that did not end in time."""
    end = time.monotonic() + ms / 1000
    for thread, worker in list(_RUNNING.values()):
        worker.abandon.set()
        worker.cancel.set()
        thread.quit()
        thread.wait(max(0, int((end - time.monotonic()) * 1000)))
    return [t.objectName() for t, _ in _RUNNING.values() if not t.isFinished()]


class MapWorker(QObject):
    progress = Signal(object, int, int)  # result so far, chunks done, cells done
    finished = Signal(object, str)  # final result, "" or the error (one line)

    def __init__(self, chunks: Callable[[], Any], result: Callable[[], Any],
                 after: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
        super().__init__()
        self._chunks, self._result, self._after = chunks, result, after
        self.cancel = threading.Event()
        self.abandon = threading.Event()  # set with cancel when the result is not wanted

    @Slot()
    def run(self) -> None:
        error = ""
        n = 0
        it = None
        try:
            it = self._chunks()
            for _ in it:
                n += 1
                if self.cancel.is_set():
                    break  # no result so far either: it can take a while on a large map
                self.progress.emit(self._result(), n, 0)
                if self.cancel.is_set():
                    break
        except Exception as exc:  # a bad scheduler address, a chunk that raised, …
            error = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        finally:
            if it is not None:
                try:
                    it.close()  # cancels what has not started
                except Exception as exc:  # the cluster connection may be gone already
                    error = error or one_line(str(exc))
        if self.abandon.is_set():  # dropped: nobody takes the result, so none is made
            self.finished.emit(None, "")
            return
        res = self._result()
        if self._after is not None and not error and not self.cancel.is_set():
            try:
                res = self._after(res)
            except Exception as exc:
                error = one_line(str(exc))
        self.finished.emit(res, error)


class MapRunner(QObject):
    """Owns one :class:`MapWorker` and its thread at a time (GUI thread)."""

    progress = Signal(object, int)  # result so far, chunks done
    finished = Signal(object, str)  # final result, error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: MapWorker | None = None
        self.retired = Retirees(self)  # dropped jobs' threads, still ending
        self.cancelled = False
        self.closed = False  # shut down with the window: no new job starts

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, chunks, result, after=None) -> None:
        assert not self.busy
        self.cancelled = False
        if self.closed:  # the window has closed: a job queued before then never starts
            return
        self._thread = thread = QThread()
        self._thread.setObjectName("bpgui-map")
        self._worker = MapWorker(chunks, result, after)
        _RUNNING[id(thread)] = (thread, self._worker)
        thread.finished.connect(lambda: _RUNNING.pop(id(thread), None))
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._progress)
        self._worker.finished.connect(self._finished)
        self._thread.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self.cancelled = True
            self._worker.cancel.set()

    @Slot(object, int, int)
    def _progress(self, res, n: int, _cells: int) -> None:
        if self._worker is not None and self.sender() is self._worker:  # not a discarded one
            self.progress.emit(res, n)

    @Slot(object, str)
    def _finished(self, res, error: str) -> None:
        if self._worker is None or self.sender() is not self._worker:
            return  # a worker discarded by shutdown()
        self._end()
        self.finished.emit(res, error)

    def _end(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._thread = self._worker = None

    def drop(self) -> None:
        """Cancel and forget the job now (New, Open, Clear, another problem): nothing it
        computes is drawn, and the GUI thread does not wait for it (:class:`Retirees`)."""
        if self._thread is None:
            return
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        worker.abandon.set()
        worker.cancel.set()
        self.retired.add(thread, worker.finished)

    def shutdown(self, ms: int = 60_000) -> None:
        """Cancel and wait (bounded) for every thread this runner started, dropped ones
        included (closing the window: no thread outlives it, none starts after)."""
        self.closed = True
        self.drop()
        self.retired.join(ms)


class Retirees(QObject):
    """Threads of dropped jobs (cancelled, their results ignored) until they end: the GUI
    thread never waits for one, except when the window closes (:meth:`join`).  A QThread
    destroyed while it runs aborts the process, so each is kept referenced until then."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[tuple[QThread, QObject]] = []

    def add(self, thread: QThread, worker_done) -> None:
        """``worker_done``: the worker's signal emitted as its ``run`` returns."""
        # direct: runs in the worker's thread as run() returns, ending its event loop
        worker_done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._reap)
        self._threads.append((thread, worker_done))
        if thread.isFinished():
            self._reap()

    def __len__(self) -> int:
        return len(self._threads)

    @Slot()
    def _reap(self) -> None:
        self._threads = [(t, d) for t, d in self._threads if not t.isFinished()]

    def join(self, ms: int) -> None:
        end = time.monotonic() + ms / 1000
        for thread, _ in self._threads:
            thread.quit()
            thread.wait(max(0, int((end - time.monotonic()) * 1000)))
        self._reap()
