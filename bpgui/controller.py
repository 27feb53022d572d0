"""Training on a worker thread.

One :class:`TrainingController` lives in the GUI thread.  For each run it creates a
``QThread`` and a :class:`TrainingWorker` moved to it; the worker iterates the engine's
generator and emits records in **batches**, at most every ~30 ms (or every epoch in slow
motion).  Pause, step, stop, the speed limit and hyperparameter changes reach the worker
through a ``threading.Condition``, checked between epochs.  Plots connect to the
controller's signals, never to the worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.history import History, records_to_arrays
from engine.objective import Objective
from engine.optim import Hyper, Optimizer
from engine.trainer import StopCriteria, Trainer

log = logging.getLogger(__name__)

FLUSH_S = 0.03  # at most ~33 batches a second


class TrainingWorker(QObject):
    """Runs one :class:`Trainer` to its end, unless stopped."""

    batch_ready = Signal(object)  # (cols: dict[str, ndarray], x: ndarray (k, n), stop | None)
    finished = Signal(str)  # the stop reason
    failed = Signal(str)

    def __init__(self, trainer: Trainer, emit_start: bool, paused: bool, rate: float) -> None:
        super().__init__()
        self._trainer = trainer
        self._emit_start = emit_start
        self._cond = threading.Condition()
        self._paused = paused
        self._steps = 0  # epochs allowed while paused
        self._stop = False
        self._rate = rate  # epochs per second; inf = as fast as possible
        self._hyper: Hyper | None = None
        self._attention = True  # something above changed: look at it before the next epoch

    # ---- called from the GUI thread ----------------------------------------------------
    def _poke(self, **changes) -> None:
        with self._cond:
            for k, v in changes.items():
                setattr(self, k, v)
            self._attention = True
            self._cond.notify_all()

    def request_stop(self) -> None:
        self._poke(_stop=True)

    def set_paused(self, paused: bool) -> None:
        self._poke(_paused=paused, _steps=0)

    def request_step(self, n: int = 1) -> None:
        with self._cond:
            self._steps += n
            self._paused = True
            self._attention = True
            self._cond.notify_all()

    def set_rate(self, rate: float) -> None:
        self._poke(_rate=rate)

    def set_hyper(self, hyper: Hyper) -> None:
        self._poke(_hyper=hyper)

    # ---- the worker thread ---------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        try:
            reason = self._loop()
        except Exception as exc:  # shown to the user, the GUI stays up
            log.exception("training failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=6)}")
            return
        self.finished.emit(reason)

    def _loop(self) -> str:
        buf: list = []
        last_flush = time.perf_counter()
        next_due = last_flush
        perf = time.perf_counter
        with np.errstate(all="ignore"):
            gen = self._trainer.run(emit_start=self._emit_start)
            while True:
                if self._attention:
                    if buf and (self._paused or self._stop):
                        self._flush(buf)
                        last_flush = perf()
                    if not self._wait_turn():
                        gen.close()
                        return "stopped"
                rec = next(gen, None)
                if rec is None:  # not reached: the trainer's last record carries a reason
                    self._flush(buf)
                    return "epochs"
                buf.append(rec)
                if rec.stop:
                    self._flush(buf)
                    return rec.stop
                now = perf()
                if math.isfinite(self._rate):  # slow motion: hold each epoch to its slot
                    next_due = max(next_due + 1.0 / self._rate, now - 1.0)
                    if next_due > now:
                        self._flush(buf)
                        last_flush = now
                        with self._cond:
                            self._cond.wait_for(lambda: self._attention, next_due - now)
                        continue
                if now - last_flush >= FLUSH_S:
                    self._flush(buf)
                    last_flush = now

    def _wait_turn(self) -> bool:
        """Apply pending changes; block while paused; False when stopped."""
        with self._cond:
            while True:
                if self._hyper is not None:
                    self._trainer.optimizer.hyper = self._hyper
                    self._hyper = None
                if self._stop:
                    return False
                if not self._paused:
                    self._attention = False
                    return True
                if self._steps > 0:
                    self._steps -= 1
                    self._attention = True  # come back here after this epoch
                    return True
                self._cond.wait()

    def _flush(self, buf: list) -> None:
        if not buf:
            return
        cols, x = records_to_arrays(buf)
        self.batch_ready.emit((cols, x, buf[-1].stop))
        buf.clear()


class TrainingController(QObject):
    """Owns the current run: its thread, worker, objective, optimizer and history."""

    run_started = Signal()
    records_added = Signal()
    run_finished = Signal(str)  # stop reason
    run_failed = Signal(str)
    state_changed = Signal(str)  # "idle" | "running" | "paused"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: History | None = None
        self.objective: Objective | None = None
        self.optimizer: Optimizer | None = None
        self.trainer: Trainer | None = None
        self.criteria = StopCriteria()
        self.rate = math.inf
        self.state = "idle"
        self.last_stop: str | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._retired: list[tuple[QThread, TrainingWorker]] = []
        self._t_start = 0.0
        self._epochs_at_start = 0

    # ---- starting ----------------------------------------------------------------------
    def start(
        self,
        objective: Objective,
        optimizer: Optimizer,
        x0: np.ndarray,
        criteria: StopCriteria,
        paused: bool = False,
    ) -> None:
        """A new run from ``x0`` (a fresh history; epoch 0 first)."""
        self.discard()
        self.objective, self.optimizer, self.criteria = objective, optimizer, criteria
        self.trainer = Trainer(objective, optimizer, x0, criteria)
        self.history = History(objective.n_free)
        self.last_stop = None
        self._launch(emit_start=True, paused=paused)

    def resume_run(self, extra_epochs: int, paused: bool = False) -> bool:
        """Continue the finished run from its last point for ``extra_epochs`` more."""
        tr = self.trainer
        if tr is None or self.history is None or self.running:
            return False
        crit = StopCriteria(**{**self.criteria.to_dict(), "epochs": tr.epoch + extra_epochs})
        self.criteria = StopCriteria.from_dict(crit.to_dict())
        self.trainer = Trainer(
            self.objective,
            self.optimizer,
            tr.x,
            self.criteria,
            epoch=tr.epoch,
            val_best=tr.val_best,
            val_fails=tr.val_fails,
        )
        self.history.stop = None
        self.last_stop = None
        self._launch(emit_start=False, paused=paused)
        return True

    def _launch(self, emit_start: bool, paused: bool) -> None:
        thread = QThread()
        thread.setObjectName("bpgui-training")
        worker = TrainingWorker(self.trainer, emit_start, paused, self.rate)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.batch_ready.connect(self._on_batch)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        self._thread, self._worker = thread, worker
        self._t_start = time.perf_counter()
        self._epochs_at_start = self.trainer.epoch
        thread.start()
        self._set_state("paused" if paused else "running")
        self.run_started.emit()

    # ---- control -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    def pause(self) -> None:
        if self._worker is not None and self.state == "running":
            self._worker.set_paused(True)
            self._set_state("paused")

    def resume(self) -> None:
        if self._worker is not None and self.state == "paused":
            self._worker.set_paused(False)
            self._set_state("running")

    def step(self, n: int = 1) -> bool:
        """One epoch of a paused run (pausing a running one first)."""
        if self._worker is None:
            return False
        self._worker.request_step(n)
        self._set_state("paused")
        return True

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.request_stop()

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        if self._worker is not None:
            self._worker.set_rate(rate)

    def set_hyper(self, hyper: Hyper) -> None:
        """New hyperparameters, applied from the next epoch of the current run."""
        if self.optimizer is None or not isinstance(hyper, self.optimizer.Hyper):
            return
        if self._worker is not None:
            self._worker.set_hyper(hyper)
        else:
            self.optimizer.hyper = hyper

    def epochs_per_second(self) -> float:
        if self.trainer is None:
            return 0.0
        dt = time.perf_counter() - self._t_start
        return (self.trainer.epoch - self._epochs_at_start) / dt if dt > 0 else 0.0

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop every run and wait for the threads (window closing)."""
        self.discard()
        for thread, worker in self._retired:
            worker.request_stop()
            thread.quit()
            thread.wait(timeout_ms)
        self._retired.clear()

    def discard(self) -> None:
        """Stop the current run; its late signals are ignored (the thread ends by itself)."""
        if self._worker is None:
            return
        w, t = self._worker, self._thread
        w.request_stop()
        w.batch_ready.disconnect(self._on_batch)
        w.finished.disconnect(self._on_finished)
        w.failed.disconnect(self._on_failed)
        # threads that ended since the last retirement can go
        self._retired = [(t0, w0) for t0, w0 in self._retired if not t0.isFinished()]
        self._retired.append((t, w))
        self._worker = self._thread = None
        self._set_state("idle")

    # ---- from the worker -------------------------------------------------------------------
    @Slot(object)
    def _on_batch(self, batch) -> None:
        cols, x, stop = batch
        if self.history is None:
            return
        self.history.extend(cols, x, stop)
        self.records_added.emit()

    @Slot(str)
    def _on_finished(self, reason: str) -> None:
        self._end_thread()
        if self.history is not None:
            self.history.stop = reason
        self.last_stop = reason
        self._set_state("idle")
        self.run_finished.emit(reason)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end_thread()
        self.last_stop = "failed"
        self._set_state("idle")
        self.run_failed.emit(message)

    def _end_thread(self) -> None:
        t = self._thread
        if t is not None:
            t.quit()
            t.wait()
            t.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._worker = self._thread = None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
