"""Training for the GUI: an engine process driven from a worker ``QThread``.

:class:`TrainingController` lives in the GUI thread and owns one engine process
(``python -m bpgui.service.engine_host``, started with the window so the first click is instant)
and one :class:`FrameReader`, a worker ``QObject`` moved to a ``QThread`` that blocks on
the process's output and emits each frame as a signal.  Records arrive in batches (at
most ~33 a second), so the GUI never redraws per epoch; pause, step, stop, speed and
hyperparameter changes go to the process as small JSON frames and apply between blocks.
Each frame carries a block of epochs as one float64 array that goes into the history in one
``History.extend`` (no per-epoch Python work on the GUI thread).  The process says which
kernel runs (:attr:`TrainingController.kernel`, ``kernel_changed``); when numba cannot be
used there, ``kernel_fallback`` says why, once.

Why not train in the thread itself: PySide6 keeps the GIL while Qt paints, so a training
thread stalls for every frame drawn.  See ``bpgui.service.engine_host``.

A race (:meth:`TrainingController.start_race`) is the engine's current job instead of a
run: :attr:`TrainingController.race` (a :class:`~bpgui.service.race_run.RaceRun`) holds one
history per entry; the same controls (pause, resume, step, stop, rate) act on all its
entries; ``race_records_added`` and ``race_finished`` say what came.  A race outlives a
new run (it stays on screen until the window drops it); :meth:`TrainingController.clear`
drops it unless told to keep it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from bpgui.service.controller_race import RaceControl
from bpgui.service.engine_process import EngineProcess
from bpgui.service.race_run import RaceRun
from bpgui.service.sharpness import SharpnessTrack
from bpgui.service.snapshots import Done, SnapshotRequests, extend_from_frame
from bpgui.service.wire import encode_float
from bpgui_engine.memory import history_budget, history_rows
from bpgui_engine.model.setup import Setup, setup_to_dict
from bpgui_engine.session import RunState, run_state_to_dict
from bpgui_engine.train.history import History

log = logging.getLogger(__name__)
CRASHED = "engine_crashed"  # a run whose engine process died: continuable


class TrainingController(RaceControl, QObject):
    """Owns the current run: its id, setup, history and state."""

    run_started = Signal()
    records_added = Signal()
    run_finished = Signal(str)  # stop reason
    run_failed = Signal(str)
    state_changed = Signal(str)  # "idle" | "running" | "paused"
    kernel_changed = Signal(str, str)  # "numba" | "numpy", why NumPy ("" on numba)
    kernel_fallback = Signal(str)  # the engine cannot use numba: why (once per reason)
    race_started = Signal()
    race_records_added = Signal()
    race_finished = Signal(str)  # "finished" | "stopped"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._history: History | None = None
        self.setup: Setup | None = None
        self.rate = math.inf
        self.state = "idle"
        self.last_stop: str | None = None
        self.last_error: str | None = None
        self.epoch = 0  # the last epoch received
        self.max_epochs = 0  # where the current run stops at the latest
        self.run_id = 0
        self._active = False  # a run is going on in the engine (paused counts)
        self.engine: EngineProcess | None = None
        self._t0 = 0.0
        self.fail_next: str | None = None  # test hook: the next run raises this in the engine
        self.last_state: dict | None = None  # the run's state when it last ended (to save)
        self._restore: dict | None = None  # a saved run to continue: sent on the next Start
        self.snapshots = SnapshotRequests()  # states asked for (to save), by run
        self.kernel: str | None = None  # the kernel of the current run (None before one)
        self.kernel_note = ""  # why NumPy ("" on numba)
        self.engine_kernel: str | None = None  # the engine's once its warm-up has ended
        self._fallbacks: set[str] = set()
        self.race: RaceRun | None = None  # the race on screen (running or ended)
        #: the history budget in bytes set in the window (None: the default), see
        #: :func:`bpgui_engine.memory.history_budget`
        self.history_setting: int | None = None
        self.sharpness = SharpnessTrack()  # the run's live λmax samples
        self.ensure_engine()

    def history_rows(self, n_free: int, share: int = 1) -> int:
        """The rows a run's history keeps at most (``share``: runs sharing the budget)."""
        return history_rows(n_free, history_budget(self.history_setting)[0] // share)

    @property
    def history(self) -> History | None:
        """The current run's history (``None``: no run); shared with the reader thread,
        which makes its next rows resident ahead of the writes."""
        return self._history

    @history.setter
    def history(self, h: History | None) -> None:
        self._history = h
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.reader.history = h

    def ensure_engine(self) -> None:
        if self.engine is None or not self.engine.alive:
            self.engine = EngineProcess(self)
            self.engine.reader.history = self._history
            self.engine.frame.connect(self._on_frame)
            self.engine.died.connect(self._on_died)

    # ---- starting ----------------------------------------------------------------------
    def start(self, setup: Setup, x0: np.ndarray, paused: bool = False) -> None:
        """A new run of ``setup`` from ``x0`` (a fresh history; epoch 0 first)."""
        self.ensure_engine()
        self.run_id += 1
        self.setup = setup
        # room for the whole run up front: np.empty costs memory only where written, and a
        # history of millions of rows is never copied to grow while frames are drawn
        rows = self.history_rows(len(setup.free))
        cap = min(int(setup.criteria.epochs) + 1, rows)  # address space, not memory
        self.history = History(len(setup.free), capacity=cap, max_rows=rows)
        self.last_stop = self.last_error = None
        self.last_state = self._restore = None
        self.max_epochs = setup.criteria.epochs
        self.sharpness.clear()
        msg = {"cmd": "start", "run": self.run_id, "setup": setup_to_dict(setup),
               "x0": [float(v) for v in x0], "paused": paused,
               "rate": encode_float(self.rate), **self.sharpness.request()}  # fmt: skip
        if self.fail_next:
            msg["fail"], self.fail_next = self.fail_next, None
        self._launch(msg, paused)

    def resume_run(self, extra_epochs: int, paused: bool = False) -> bool:
        """Continue the finished run from its last point for ``extra_epochs`` more
        (same optimizer state).  A run restored from a session saved mid-run goes on to
        its own maximum instead."""
        if self.history is None or self._active or self.engine is None:
            return False
        self.run_id += 1
        self.history.stop = None
        restore, self._restore = self._restore, None
        if restore is not None:  # the engine has never seen this run: send its state
            state = restore["state"]
            pending = state["stop"] is None and state["max_epochs"] > self.epoch
            self.max_epochs = state["max_epochs"] if pending else self.epoch + extra_epochs
            msg = {
                "cmd": "restore",
                "run": self.run_id,
                "setup": restore["setup"],
                "state": state,
                "until": self.max_epochs,
            }
        else:
            self.max_epochs = self.epoch + extra_epochs
            msg = {"cmd": "continue", "run": self.run_id, "from": self.run_id - 1,
                   "extra": int(extra_epochs)}  # fmt: skip
            if self.setup is not None:  # changed since it stopped: it goes on with them
                msg["penalty"] = [self.setup.l2, self.setup.l1]
        self.last_stop = None
        msg.update(paused=paused, rate=encode_float(self.rate), **self.sharpness.request())
        self._launch(msg, paused)
        return True

    def restore(self, setup: Setup, state: dict, history: History) -> None:
        """Make a saved run current (idle): Start continues it exactly."""
        self.discard()
        self.run_id += 1
        self.setup = setup
        history.set_budget(self.history_rows(history.n_free))
        self.history = history
        self.epoch = int(state["epoch"])
        self.max_epochs = int(state["max_epochs"])
        self.last_stop = state["stop"] or "stopped"  # saved while running: continuable
        self.history.stop = state["stop"]
        self.last_error = None
        self.last_state = state
        self._restore = {"setup": setup_to_dict(setup), "state": state}

    def clear(self, keep_race: bool = False) -> None:
        """No run at all (a new or run-less session); the race too unless ``keep_race``
        (a running race is stopped either way)."""
        self.discard()
        self.history = None
        self.epoch = 0
        self.last_stop = self.last_error = None
        self.last_state = self._restore = None
        self.sharpness.clear()
        if not keep_race:
            self.race = None

    def request_state(self, done: Done) -> None:
        """The run's state and how many history rows it covers, for saving a session:
        ``done(state, history, rows)`` (state ``None``: no run, or its engine died first).

        Idle: at once, with the state the run ended with.  Running or paused: the engine
        is asked for a snapshot between two epochs (the run goes on) and ``done`` is
        called when it arrives — later, never inside this call's own event loop; a
        run discarded meanwhile still gets its state (see :mod:`bpgui.service.snapshots`)."""
        h = self.history
        if h is None:
            done(None, None, 0)
        elif not self._active:
            done(self.last_state, h, len(h))
        elif self.snapshots.add(self.run_id, h, done):
            self._control("snapshot")

    def _launch(self, msg: dict, paused: bool, started: Signal | None = None) -> None:
        self._active = True
        self._t0 = time.perf_counter()
        if not self.engine.send(msg):
            self._active = False
            self.run_failed.emit("the engine process is not running")
            return
        self._set_state("paused" if paused else "running")
        (started or self.run_started).emit()

    # ---- control -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._active

    def _control(self, cmd: str, **kw) -> None:
        if self._active and self.engine is not None:
            self.engine.send({"cmd": cmd, "run": self.run_id, **kw})

    def pause(self) -> None:
        if self.state == "running":
            self._control("pause")
            self._set_state("paused")

    def resume(self) -> None:
        if self.state == "paused":
            self._control("resume")
            self._set_state("running")

    def step(self, n: int = 1) -> bool:
        """``n`` epochs of a paused run (pausing a running one first)."""
        if not self._active:
            return False
        self._control("step", n=n)
        self._set_state("paused")
        return True

    def stop(self) -> None:
        self._control("stop")

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        if self.engine is not None:
            self.engine.send({"cmd": "rate", "value": encode_float(rate)})

    def set_hyper(self, hyper: dict) -> None:
        """New hyperparameters for the current run, applied from its next epoch."""
        self._control("hyper", value=hyper)

    def set_penalty(self, l2: float, l1: float) -> None:
        """New weight penalties for the current run, applied from its next block (and
        for the last run, when it is continued)."""
        if self.setup is not None:
            self.setup = self.setup.replace(l2=l2, l1=l1)
        if self._restore is not None:
            self._restore["setup"] = {**self._restore["setup"], "l2": l2, "l1": l1}
        self._control("penalty", value=[l2, l1])

    def set_sharpness(self, every: int, budget: float | None = None) -> None:
        """Sample λmax every ``every`` epochs from now on (0: stop sampling) within
        ``budget`` of the run's time (0: no limit; None: as before)."""
        self.sharpness.every = max(int(every), 0)
        if budget is not None:
            self.sharpness.budget = max(float(budget), 0.0)
        self._control("sharpness", value=self.sharpness.every, budget=self.sharpness.budget)

    def discard(self) -> None:
        """End the current run (or race) now; anything it still sends is ignored."""
        if self.racing:
            self.race.finish("stopped", None)
        if self._active:
            self._control("stop")
            self.run_id += 1  # later frames of the old run no longer match (except for a
            # save still waiting for its state: bpgui.service.snapshots)
            self._active = False
        self._set_state("idle")

    def shutdown(self) -> None:
        """Stop everything and end the engine process (window closing)."""
        self.discard()
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    # ---- from the engine -------------------------------------------------------------------
    def _set_kernel(self, kernel: str | None, note: str | None) -> None:
        note = note or ""
        if kernel is None or (kernel, note) == (self.kernel, self.kernel_note):
            return
        self.kernel, self.kernel_note = kernel, note
        self.kernel_changed.emit(kernel, note)

    def _on_engine_kernel(self, header: dict) -> None:
        """The engine's background compilation has ended."""
        self.engine_kernel = header.get("kernel")
        note = header.get("note") or ""
        if self.engine_kernel != "numba" and note and note not in self._fallbacks:
            self._fallbacks.add(note)
            self.kernel_fallback.emit(f"training on NumPy: {note}")

    def _on_frame(self, header: dict, payload: np.ndarray) -> None:
        kind = header.get("type")
        if kind == "kernel":
            self._on_engine_kernel(header)
            return
        if header.get("run") != self.run_id:
            self.snapshots.orphan_frame(header.get("run"), kind, header, payload)
            return  # a discarded run
        if self.race is not None and self.race.run_id == self.run_id:
            self._on_race_frame(kind, header, payload)
            return
        if self.history is None:
            return
        if kind == "batch":
            self.epoch = extend_from_frame(self.history, header, payload)
            if header.get("kernel") != self.kernel:  # switched from NumPy once compiled
                self._set_kernel(header.get("kernel"), None)
            self.records_added.emit()
        elif kind == "sharpness":
            self.sharpness.add(header["epoch"], header["value"])
        elif kind == "started":
            self._set_kernel(header.get("kernel"), header.get("note"))
        elif kind == "state":
            self.snapshots.complete(self.run_id, header["state"])
        elif kind == "finished":
            self._set_kernel(header.get("kernel"), header.get("note"))
            self._active = False
            self.last_state = header.get("state")
            self.last_stop = header["reason"]
            self.history.stop = header["reason"]
            self._set_state("idle")
            self.snapshots.complete(self.run_id, self.last_state)
            self.run_finished.emit(header["reason"])
        elif kind == "failed":
            self._active = False
            self.snapshots.complete(self.run_id, None)
            self.last_stop = "failed"
            self.last_error = header.get("message", "unknown error")
            self._set_state("idle")
            log.warning("the run failed: %s\n%s", self.last_error, header.get("detail", ""))
            self.run_failed.emit(self.last_error)

    def _on_died(self, message: str) -> None:
        """The engine process ended unexpectedly.  The window keeps everything it
        received; a new process is started at once, and the run can go on from the last
        epoch received, with a fresh optimizer state (the old one died with the process)."""
        was_active = self._active
        if self.racing:
            self.race.finish(CRASHED, None)
        self._active = False
        self.snapshots.fail_all()
        self.engine = None
        h = self.history
        if was_active and h is not None and len(h) and self.setup is not None:
            epoch = int(h.column("epoch")[-1])
            fresh = RunState(
                start=h.x[0],
                x=h.x[-1],
                epoch=epoch,
                stop=None,
                max_epochs=max(self.max_epochs, epoch),
                optimizer_state=self.setup.make_optimizer().state_dict(),
            )
            state = run_state_to_dict(fresh)
            self.epoch = epoch
            self.last_state = state
            self._restore = {"setup": setup_to_dict(self.setup), "state": state}
            self.last_stop = h.stop = CRASHED
            message = (
                f"{message}. It was restarted; Start continues the run from epoch "
                f"{epoch:,} (the last one received) with a fresh optimizer state."
            )
        elif was_active:
            self.last_stop = "failed"
        elif h is not None and self.setup is not None and self.last_state and not self._restore:
            # an ended run the dead engine held for Continue: the next engine gets its
            # exact state (the one the run ended with) instead
            self._restore = {"setup": setup_to_dict(self.setup), "state": self.last_state}
        with contextlib.suppress(OSError):
            self.ensure_engine()
        self._set_state("idle")
        if was_active:
            self.run_failed.emit(message)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
