"""One tool's job at a time on the compute service (GUI thread).

A tool (basin map, sweep, restarts, critical points, gradient check) owns a
:class:`JobRunner`: :meth:`~JobRunner.start` submits a job to the shared
:class:`~bpgui.service.jobs.JobService`, ``progress`` and ``finished`` re-emit its
results, :meth:`~JobRunner.cancel` asks it to stop (it finishes with what it has),
:meth:`~JobRunner.drop` forgets it (New, Open, another problem) and
:meth:`~JobRunner.shutdown` (closing the window) drops it and starts nothing more.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from bpgui.service.jobs import Job, JobService, shared


class JobRunner(QObject):
    progress = Signal(object, int)  # the result so far, parts done
    finished = Signal(object, str)  # the final result (None: failed or ended), error

    def __init__(
        self, service: JobService | None = None, parent: QObject | None = None,
        grace_ms: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.service = service if service is not None else shared()
        self.grace_ms = grace_ms
        self.job: Job | None = None
        self.cancelled = False
        self.closed = False  # shut down with the window: no new job starts
        self._parts = 0

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, kind: str, request: Any) -> bool:
        """Submit ``kind`` (see :data:`bpgui_engine.jobs.JOBS`); False once closed."""
        self.drop()
        self.cancelled = False
        if self.closed:  # the window has closed: a job queued before then never starts
            return False
        self._parts = 0
        job = self.job = self.service.submit(kind, request, self.grace_ms)
        job.progress.connect(self._progress)
        job.finished.connect(self._finished)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.cancelled = True
            self.service.cancel(self.job)

    def _progress(self, res) -> None:
        if self.sender() is self.job:
            self._parts += 1
            self.progress.emit(res, self._parts)

    def _finished(self, res, error: str) -> None:
        if self.sender() is not self.job:
            return  # a dropped job
        self.job = None
        self.finished.emit(res, error)

    def drop(self) -> None:
        """Cancel and forget the job now: nothing it computes is shown."""
        job, self.job = self.job, None
        if job is not None:
            self.service.drop(job)

    def shutdown(self) -> None:
        self.closed = True
        self.drop()
