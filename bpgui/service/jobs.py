"""The compute service seen from the window: numeric jobs in a pool of processes.

:class:`JobService` keeps up to ``size`` compute processes (``python -m
bpgui.service.job_host``, started when a job needs one; by default one per core, at
least two) and hands each a job at a time; jobs wait in a queue when all are busy.
:meth:`JobService.submit` returns a :class:`Job`, a ``QObject`` living in the GUI thread
whose ``progress`` and ``finished`` signals carry the decoded results.  Requests and
results cross as JSON trees plus raw arrays (:mod:`bpgui_engine.codec`): no pickle.

- **Cancel** asks the job to stop between its steps; it then finishes with what it has
  (a partial map).  A job that has not stopped after :data:`CANCEL_GRACE_MS` (a single
  long step) has its process ended and finishes with ``cancelled``.
- **Drop** cancels and forgets: nothing it computes reaches the window, which never
  waits for it.
- **A crash** (a native fault, an out-of-memory kill) ends only that process: the job
  finishes with one line saying so, the window stays, and the next job gets a new
  process.

The GUI process never imports numba: every job's numeric work runs here.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from bpgui.service.engine_process import EngineProcess
from bpgui.service.job_host import payload_of, value_of

log = logging.getLogger(__name__)

CANCEL_GRACE_MS = 1500  # a job still running this long after Cancel: its process ends
PROGRESS_MS = 100  # a job's results so far are shown at most this often
#: short jobs a view waits for (the contour, a check): they never queue behind maps and
#: sweeps, having one process more than the long jobs may use
INTERACTIVE = frozenset({"surface", "gradcheck", "curvature", "sweep_bound"})
_ids = itertools.count(1)
_shared: list[JobService] = []


def shared() -> JobService:
    """The application's compute service (one per process, kept across windows: a test run
    opens hundreds of windows, each starting no processes of its own)."""
    if not _shared or _shared[0].closed:
        _shared[:] = [JobService()]
    return _shared[0]


def pool_size() -> int:
    """One compute process per core, at least two (a map and a sweep at once)."""
    env = os.environ.get("BPGUI_JOB_PROCESSES", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)


class Job(QObject):
    """One job: its signals reach the GUI thread with decoded results."""

    progress = Signal(object)  # the result so far
    finished = Signal(object, str)  # the final result (None when it failed), "" or one line

    def __init__(self, kind: str, request: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.id = next(_ids)
        self.kind, self.request = kind, request
        self.cancelled = False  # Cancel was asked
        self.dropped = False  # nobody wants the result
        self.done = False
        self.process: EngineProcess | None = None
        self.grace_ms = CANCEL_GRACE_MS
        self.pending: tuple | None = None  # the newest progress frame, not yet shown

    @property
    def running(self) -> bool:
        return not self.done


class JobService(QObject):
    """A pool of compute processes running :class:`Job` s (GUI thread)."""

    def __init__(self, parent: QObject | None = None, size: int | None = None) -> None:
        super().__init__(parent)
        self.size = size or pool_size()
        self._idle: list[EngineProcess] = []
        self._busy: dict[EngineProcess, Job] = {}
        self._queue: collections.deque[Job] = collections.deque()
        self.closed = False

    # ---- asking ----------------------------------------------------------------------------
    def submit(self, kind: str, request: Any, grace_ms: int | None = None) -> Job:
        """Run ``kind`` (a name in :data:`bpgui_engine.jobs.JOBS`) on ``request``.
        ``grace_ms``: how long a cancelled job may take to stop between its steps before
        its process is ended (default :data:`CANCEL_GRACE_MS`)."""
        job = Job(kind, request, self)
        job.grace_ms = CANCEL_GRACE_MS if grace_ms is None else int(grace_ms)
        if self.closed:  # the window has closed: nothing new starts
            job.done = True
            return job
        self._queue.append(job)
        self._dispatch()
        return job

    def cancel(self, job: Job | None) -> None:
        """Stop between steps and finish with what it has (ended after a grace period)."""
        if job is None or job.done or job.cancelled:
            return
        job.cancelled = True
        if job in self._queue:
            self._queue.remove(job)
            self._finish(job, None, "")
            return
        proc = job.process
        if proc is not None:
            proc.send({"cmd": "cancel", "id": job.id})
            QTimer.singleShot(job.grace_ms, lambda j=job, p=proc: self._overdue(j, p))

    def drop(self, job: Job | None) -> None:
        """Cancel and forget: no signal of ``job`` is emitted from now on."""
        if job is None or job.done:
            return
        job.dropped = True
        self.cancel(job)

    @property
    def busy(self) -> bool:
        return bool(self._busy or self._queue)

    # ---- the pool --------------------------------------------------------------------------
    def _spawn(self) -> EngineProcess:
        proc = EngineProcess(self, module="bpgui.service.job_host")
        proc.frame.connect(self._frame)
        proc.died.connect(self._died)
        return proc

    def warm(self, n: int = 1) -> None:
        """Start processes ahead of the first jobs (their start-up is ~0.3 s of imports)."""
        while not self.closed and len(self._idle) + len(self._busy) < min(n, self.size):
            self._idle.append(self._spawn())

    def _next_job(self) -> Job | None:
        """The next job a process may take: interactive ones first, and long ones only
        while fewer than ``size`` processes run them."""
        free = bool(self._idle) or len(self._busy) < self.size + 1
        if not free:
            return None
        long_running = sum(1 for j in self._busy.values() if j.kind not in INTERACTIVE)
        for job in sorted(self._queue, key=lambda j: j.kind not in INTERACTIVE):
            if job.kind in INTERACTIVE or long_running < self.size:
                self._queue.remove(job)
                return job
        return None

    def _dispatch(self) -> None:
        while self._queue and (job := self._next_job()) is not None:
            proc = self._idle.pop() if self._idle else self._spawn()
            try:
                fields, data = payload_of(job.request)
            except Exception as exc:  # a request that cannot be sent: the job's error
                self._idle.append(proc)
                self._finish(job, None, f"{job.kind}: {exc}")
                continue
            job.process = proc
            self._busy[proc] = job
            if not proc.send({"cmd": "job", "id": job.id, "kind": job.kind, **fields}, data):
                self._lost(proc, "the compute process could not be reached")

    def _release(self, proc: EngineProcess) -> None:
        self._busy.pop(proc, None)
        if proc.alive and not self.closed:
            self._idle.append(proc)
        self._dispatch()

    # ---- answers ---------------------------------------------------------------------------
    @Slot(object, object)
    def _frame(self, header: dict, payload) -> None:
        proc = self.sender()
        job = self._busy.get(proc)
        if job is None or header.get("id") != job.id:
            return  # a job ended by its process's end
        kind = header.get("type")
        if kind == "progress":
            # coalesced: only the newest result so far is decoded and shown, at most every
            # PROGRESS_MS (a fast map's chunks would otherwise cost a redraw each)
            if not job.dropped:
                pending = job.pending is None
                job.pending = (header, payload)
                if pending:
                    QTimer.singleShot(PROGRESS_MS, lambda j=job: self._progress(j))
            return
        if kind in ("done", "failed"):
            job.pending = None
            self._release(proc)
            result = None
            error = str(header.get("error") or "")
            if kind == "done":
                try:
                    result = value_of(header, payload)
                except Exception as exc:
                    error = error or f"{job.kind}: the result did not decode ({exc})"
            self._finish(job, result, error)

    def _progress(self, job: Job) -> None:
        item, job.pending = job.pending, None
        if item is None or job.done or job.dropped:
            return
        try:
            job.progress.emit(value_of(*item))
        except Exception as exc:  # shown in the log, never raised
            log.warning("job %s: a progress frame did not decode: %s", job.kind, exc)

    def _finish(self, job: Job, result: Any, error: str) -> None:
        if job.done:
            return
        job.done = True
        job.process = None
        if not job.dropped:
            job.finished.emit(result, error)
        job.deleteLater()

    @Slot(str)
    def _died(self, why: str) -> None:
        self._lost(self.sender(), why.replace("engine process", "compute process"))

    def _lost(self, proc: EngineProcess, why: str) -> None:
        if proc in self._idle:
            self._idle.remove(proc)
        job = self._busy.pop(proc, None)
        proc.kill()
        if job is not None:
            self._finish(job, None, f"{job.kind}: {why}")
        self._dispatch()

    def _overdue(self, job: Job, proc: EngineProcess) -> None:
        """Cancel was asked and the job is still in its step: end its process."""
        if job.done or self._busy.get(proc) is not job:
            return
        self._busy.pop(proc, None)
        proc.kill()
        self._finish(job, None, "")
        self._dispatch()

    def drop_all(self) -> None:
        """Drop every job (a window closing): nothing they compute is delivered."""
        for job in list(self._queue):
            job.dropped = True
            self._queue.remove(job)
            self._finish(job, None, "")
        for job in list(self._busy.values()):
            self.drop(job)

    def shutdown(self, timeout: float = 5.0) -> None:
        """End every process (the application ends): running jobs are dropped."""
        self.closed = True
        for job in list(self._queue):
            job.dropped = True
        self._queue.clear()
        for proc, job in list(self._busy.items()):
            job.dropped = True
            proc.kill(timeout)
        for proc in self._idle:
            proc.close(timeout)
        self._busy.clear()
        self._idle.clear()
