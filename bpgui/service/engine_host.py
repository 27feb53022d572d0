"""The engine process: runs training for the app, outside the app's interpreter.

Why a process: PySide6 holds Python's GIL while Qt paints, so a training *thread* in the
GUI process stops for every frame drawn (measured: 98% of its speed lost while a path is
painted).  Here the run loop has a core and an interpreter to itself; the app's worker
thread reads the records from this process's stdout (see ``bpgui.service.controller``).

Qt-free.  Commands arrive on stdin as frames (``bpgui.service.wire``) and are read by a thread;
the main thread trains with :class:`bpgui_engine.train.fast.FastTrainer` (the compiled kernel when
it
is ready: it compiles in the background from process start, and a run started meanwhile
begins on NumPy and switches at a block boundary).  Every block of epochs goes out as one
binary frame (columns and parameters as float64, no per-epoch JSON), written by a thread
of its own, so training goes on while the app is busy reading (PySide6 holds the app's GIL
while it paints, and a full pipe would stop the run until then).  Between blocks the
run looks at the controls (pause, step, stop, speed, hyperparameters, snapshot): blocks
take ~20 ms at full speed, exactly the stepped epochs when stepping, and the epochs of one
~20 ms time slot at a limited speed, so every control acts within a frame.

Frames out: ``started`` and ``finished`` (with ``kernel``: ``"numba"``/``"numpy"`` and
``note``, why NumPy), ``batch`` (one block, with ``kernel``), ``state`` (a snapshot),
``sharpness`` (λmax at ``epoch``, when the job or the ``sharpness`` control asked for a
sample every so many epochs: :class:`~bpgui_engine.train.sharpness.SharpnessProbe`),
``failed``, and ``kernel`` once the background compilation has ended (``run`` -1).

A ``race`` job (:class:`bpgui_engine.maps.race.Race`) is driven like a run: every entry advances on
the same epoch clock, ``race.step(k)`` at a time (``k`` sized like a block at full speed,
the epochs of one time slot at a limited speed, exactly the stepped epochs when
stepping); each entry's new epochs go out as a ``batch`` frame tagged ``entry`` (its
index) and ``clock``, and ``finished`` carries ``race``:
:func:`bpgui_engine.maps.race.race_to_dict`'s
document (the arrays are the batches already sent).

Run with ``python -m bpgui.service.engine_host``.  A long module (over 400 lines) on
purpose: the run loop, the race loop and the command reader share the process's state
and its writer thread.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO

import numpy as np

from bpgui.service import crashlog
from bpgui.service.engine_race import FLUSH_S, STOPPED, RaceJobs, race_document, race_kernel
from bpgui.service.stdio import leave, read_commands
from bpgui.service.wire import decode_float, encode_frame
from bpgui_engine import jit
from bpgui_engine.memory import MemoryLimitError, check_run
from bpgui_engine.model.penalty import Penalty
from bpgui_engine.model.setup import setup_from_dict
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.session import (
    resume_trainer,
    run_state_from_dict,
    run_state_to_dict,
    trainer_state,
)
from bpgui_engine.train.fast import Block, FastTrainer
from bpgui_engine.train.history import COLUMNS
from bpgui_engine.train.sharpness import BUDGET, SharpnessProbe
from bpgui_engine.train.trainer import StopCriteria

log = logging.getLogger("bpgui.service.engine_host")

MAX_QUEUED = 256 << 20  # bytes of frames waiting for the app at most (then training waits)
WARM_DELAY_S = 1.5  # the kernels load this long after the start, or at the first run


class Host(RaceJobs):
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.warm_now = threading.Event()  # set by the first run: load the kernels now
        self._cond = threading.Condition()
        self.jobs: queue.Queue = queue.Queue()
        self.run_id = -1  # the run the controls apply to
        self._paused = False
        self._steps = 0
        self._stop = False
        self._rate = math.inf
        self._hyper: dict | None = None
        self._penalty: tuple[float, float] | None = None  # (l2, l1) for the current run
        self._sharp_every: tuple[int, float] | None = None  # new sampling: (every, budget)
        self.probe = SharpnessProbe(0)  # the current run's live sharpness
        self._attention = True
        # the last run, to continue: run id -> (trainer, criteria, start point)
        self._trainers: dict[int, tuple[FastTrainer, StopCriteria, np.ndarray]] = {}
        self._snapshot = False  # the app asked for the run's state (to save a session)
        self._early: list[dict] = []  # controls for a run that has not begun yet
        # frames out: queued by the main and the warm-up thread, written by "frames-out"
        self._out_cond = threading.Condition()
        self._outq: collections.deque[bytes] = collections.deque()
        self._queued = 0  # bytes queued or being written
        self._closed = False  # the app is gone
        threading.Thread(target=self._write_out, name="frames-out", daemon=True).start()

    # ---- the reader thread ---------------------------------------------------------------
    def command(self, msg: dict[str, Any]) -> None:
        cmd = msg.get("cmd")
        if cmd in ("start", "continue", "restore", "race"):
            self.warm_now.set()  # a run is asked for: load the kernels now, not later
            with self._cond:  # end the current run; the new one takes over the controls
                self._stop = True
                self._attention = True
                self._cond.notify_all()
            self.jobs.put(msg)
            return
        if cmd == "quit":
            self.jobs.put(None)
            with self._cond:
                self._stop = True
                self._attention = True
                self._cond.notify_all()
            return
        with self._cond:
            run = msg.get("run", self.run_id)
            if cmd != "rate" and run > self.run_id:
                self._early.append(msg)
                return
            if cmd != "rate" and run != self.run_id:
                return  # a control for a run that is over
            self._apply(cmd, msg)

    def _apply(self, cmd: str, msg: dict) -> None:
        """Apply one control (the condition's lock is held)."""
        if cmd == "pause":
            self._paused, self._steps = True, 0
        elif cmd == "resume":
            self._paused, self._steps = False, 0
        elif cmd == "step":
            self._paused = True
            self._steps += int(msg.get("n", 1))
        elif cmd == "stop":
            self._stop = True
        elif cmd == "rate":
            self._rate = decode_float(msg.get("value"))
        elif cmd == "hyper":
            self._hyper = dict(msg["value"])
        elif cmd == "penalty":
            self._penalty = tuple(float(v) for v in msg["value"])
        elif cmd == "snapshot":
            self._snapshot = True
        elif cmd == "sharpness":
            self._sharp_every = (int(msg.get("value", 0)), float(msg.get("budget", BUDGET)))
        self._attention = True
        self._cond.notify_all()

    # ---- the main thread ----------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if not self.jobs.empty():  # a newer job is waiting: this one is already stale
                continue
            run = int(job["run"])
            try:
                if job["cmd"] == "race":
                    race = self._prepare_race(job)
                    self._begin(run, job)
                    reason = self._race_loop(run, race)
                    self._send(
                        {
                            "type": "finished",
                            "run": run,
                            "reason": reason,
                            "race": race_document(race),
                            "kernel": race_kernel(),
                            "note": None,
                        }
                    )
                    continue
                trainer, emit_start = self._prepare(job)
                self._begin(run, job)
                reason = self._loop(run, trainer, emit_start)
                self._send(
                    {
                        "type": "finished",
                        "run": run,
                        "reason": reason,
                        "state": self._state(run, reason),
                        "kernel": trainer.kernel,
                        "note": trainer.kernel_note,
                    }
                )
            except Exception as exc:
                log.exception("run %d failed", run)
                self._send(
                    {
                        "type": "failed",
                        "run": run,
                        # a setting the engine refuses says so in its own words
                        "message": str(exc)
                        if isinstance(exc, MemoryLimitError | ValueError)
                        else f"{type(exc).__name__}: {exc}",
                        "detail": traceback.format_exc(limit=8),
                    }
                )

    def _begin(self, run: int, job: dict) -> None:
        """The job ``run`` takes over the controls (and those sent for it early)."""
        with self._cond:
            self.run_id = run
            self._paused = bool(job.get("paused", False))
            self._steps, self._stop, self._hyper, self._penalty = 0, False, None, None
            self._sharp_every = None
            self.probe = SharpnessProbe(
                int(job.get("sharpness", 0) or 0), float(job.get("sharpness_budget", BUDGET))
            )
            self._snapshot = False
            self._rate = decode_float(job.get("rate"))
            self._attention = True
            early, self._early = self._early, []
            for msg in early:
                if msg.get("run") == run:
                    self._apply(msg["cmd"], msg)
            if self._sharp_every is not None:  # asked before the run began: from epoch 0
                self.probe.set_every(*self._sharp_every)
                self._sharp_every = None

    def _prepare(self, job: dict) -> tuple[FastTrainer, bool]:
        run = int(job["run"])
        if job["cmd"] == "start":
            setup = setup_from_dict(job["setup"])
            if job.get("fail"):  # test hook: a worker that raises
                raise RuntimeError(str(job["fail"]))
            check_run(setup)  # refuse with the estimate instead of running out of memory
            obj = setup.objective()
            crit = setup.criteria
            x0 = np.array(job["x0"], float)
            trainer = FastTrainer(
                obj, setup.make_optimizer(), x0, crit, block_seconds=FLUSH_S, wait=False
            )
            self._trainers = {run: (trainer, crit, x0)}
            return trainer, True
        if job["cmd"] == "restore":  # a saved session's run, continued exactly
            st = run_state_from_dict(job["state"])
            setup = setup_from_dict(job["setup"])
            check_run(setup)
            trainer = resume_trainer(setup, st, int(job["until"]), wait=False)
            trainer.block_seconds = FLUSH_S
            self._trainers = {run: (trainer, trainer.criteria, st.start)}
            return trainer, False
        old = self._trainers.get(int(job["from"]))
        if old is None:
            raise ValueError("continue: that run is no longer available; start a new one")
        tr, crit, x0 = old
        crit = StopCriteria.from_dict({**crit.to_dict(), "epochs": tr.epoch + int(job["extra"])})
        trainer = FastTrainer(
            tr.objective,
            tr.optimizer,
            tr.x,
            crit,
            epoch=tr.epoch,
            val_best=tr.val_best,
            val_fails=tr.val_fails,
            block_seconds=FLUSH_S,
            wait=False,
        )
        if job.get("penalty") is not None:
            trainer.set_penalty(Penalty(*job["penalty"]))
        self._trainers = {run: (trainer, crit, x0)}
        return trainer, False

    def _state(self, run: int, stop: str | None) -> dict | None:
        """The run's state between epochs, JSON-ready (for saving a session)."""
        entry = self._trainers.get(run)
        if entry is None:
            return None
        trainer, crit, x0 = entry
        return run_state_to_dict(trainer_state(trainer, x0, crit.epochs, stop))

    def _loop(self, run: int, trainer: FastTrainer, emit_start: bool) -> str:
        perf = time.perf_counter
        self._send(
            {"type": "started", "run": run, "kernel": trainer.kernel, "note": trainer.kernel_note}
        )
        gen = trainer.blocks(emit_start)
        with np.errstate(all="ignore"):
            if emit_start:  # the start point shows at once, even when starting paused
                trainer.max_block = 0
                block = next(gen)
                self._send_block(run, block, trainer.kernel)
                if block.stop:
                    return block.stop
            self._sharpness(run, trainer)
            next_due = mark = perf()
            grant: int | None = None
            while True:
                t_turn = perf()
                grant = self._turn(trainer, grant)
                mark += perf() - t_turn  # paused time is not the run's either
                if grant is STOPPED:
                    gen.close()
                    return "stopped"
                rate = self._rate
                limit = grant
                if math.isfinite(rate):  # slow motion: the epochs of one time slot
                    per_slot = max(1, int(rate * FLUSH_S))
                    limit = per_slot if limit is None else min(limit, per_slot)
                cap = self.probe.cap(trainer.epoch)  # end the block on a sample's epoch
                if cap is not None:
                    limit = cap if limit is None else min(limit, cap)
                trainer.max_block = limit
                block = next(gen, None)
                now = perf()
                self.probe.trained(now - mark)  # this block and any wait before it
                mark = now
                if block is None:  # not reached: the last block carries a reason
                    return "epochs"
                self._send_block(run, block, trainer.kernel)
                self._sharpness(run, trainer)  # the last epoch's too
                if block.stop:
                    return block.stop
                mark = perf()  # the sample's own time is not the run's
                if grant is not None:  # stepping: epochs granted but not run come back
                    left, grant = grant - len(block), None
                    if left > 0:
                        with self._cond:
                            self._steps += left
                            self._attention = True
                if math.isfinite(rate):
                    now = perf()
                    next_due = max(next_due + len(block) / rate, now - 1.0)
                    if next_due > now:
                        with self._cond:
                            self._cond.wait_for(lambda: self._attention, next_due - now)

    def _sharpness(self, run: int, trainer: FastTrainer) -> None:
        """λmax at the run's point when a sample is due (see
        :class:`~bpgui_engine.train.sharpness.SharpnessProbe`): one ``sharpness`` frame."""
        try:
            lam = self.probe.sample(trainer.objective, trainer.x, trainer.epoch)
        except Exception as exc:  # a sample that fails stops sampling, never the run
            log.warning("sharpness sampling stopped: %s", exc)
            self.probe.set_every(0)
            return
        if lam is not None:
            self._send({"type": "sharpness", "run": run, "epoch": trainer.epoch, "value": lam})

    def _turn(self, trainer: FastTrainer | None, grant: int | None) -> Any:
        """Between blocks, when the app asked for attention: :data:`STOPPED`, or the
        epochs granted by stepping (``None``: run freely); else ``grant`` unchanged."""
        if not self._attention:
            return grant
        turn = self._wait_turn(trainer)
        if turn is False:
            return STOPPED
        return None if turn is True else int(turn)

    def _wait_turn(self, trainer: FastTrainer | None) -> bool | int:
        """Between blocks: serve a snapshot, apply new hyperparameters, wait while paused.
        False: stop; True: run on; an int: step that many epochs (then back here)."""
        with self._cond:
            while True:
                if self._snapshot:  # every block before it has been sent
                    self._snapshot = False
                    self._send(
                        {
                            "type": "state",
                            "run": self.run_id,
                            "state": self._state(self.run_id, None),
                        }
                    )
                if self._hyper is not None and trainer is None:
                    self._hyper = None  # a race's entries keep their own
                if self._hyper is not None:
                    opt = trainer.optimizer
                    try:
                        opt.hyper = OPTIMIZERS[opt.name].Hyper.from_dict(self._hyper)
                    except ValueError as exc:  # the app validates first; report, go on
                        log.warning("hyperparameters ignored: %s", exc)
                    self._hyper = None
                if self._sharp_every is not None:
                    self.probe.set_every(*self._sharp_every)
                    self._sharp_every = None
                if self._penalty is not None and trainer is not None:
                    try:
                        trainer.set_penalty(Penalty(*self._penalty))
                    except ValueError as exc:  # the app validates first; report, go on
                        log.warning("weight penalty ignored: %s", exc)
                    self._penalty = None
                if self._stop:
                    return False
                if not self._paused:
                    self._attention = False
                    return True
                if self._steps > 0:
                    n, self._steps = self._steps, 0
                    self._attention = True  # back here after these epochs
                    return n
                self._cond.wait()

    def _send_block(self, run: int, block: Block, kernel: str, **tags: Any) -> None:
        """One block as one frame: ``k`` rows of the columns then the parameters
        (``tags``: more header fields, e.g. a race entry's index)."""
        k = len(block)
        if not k:
            return
        table = np.empty((k, len(COLUMNS) + block.x.shape[1]))
        for j, c in enumerate(COLUMNS):
            table[:, j] = block.cols[c]
        table[:, len(COLUMNS) :] = block.x
        header = {"type": "batch", "run": run, "k": k, "stop": block.stop, "kernel": kernel}
        header.update(tags)
        self._send(header, table)

    def send_kernel(self, name: str, note: str | None, seconds: float | None) -> None:
        """The background compilation has ended: which kernel runs from now on."""
        self._send({"type": "kernel", "run": -1, "kernel": name, "note": note, "seconds": seconds})

    def _send(self, header: dict, payload: np.ndarray | None = None) -> None:
        """Queue one frame for the app (waits only while MAX_QUEUED bytes are queued)."""
        data = encode_frame(header, payload)
        with self._out_cond:
            self._out_cond.wait_for(lambda: self._queued < MAX_QUEUED or self._closed)
            if self._closed:
                return
            self._outq.append(data)
            self._queued += len(data)
            self._out_cond.notify_all()

    def _write_out(self) -> None:
        """The writer thread: every queued frame to the app, in order."""
        while True:
            with self._out_cond:
                self._out_cond.wait_for(lambda: self._outq or self._closed)
                if self._closed:
                    return
                items = list(self._outq)
                self._outq.clear()
            try:
                for data in items:
                    self.out.write(data)
                self.out.flush()
            except (BrokenPipeError, OSError, ValueError):  # the app is gone
                self._gone()
                return
            with self._out_cond:
                self._queued -= sum(len(d) for d in items)
                self._out_cond.notify_all()

    def _gone(self) -> None:
        with self._out_cond:
            self._closed = True
            self._outq.clear()
            self._out_cond.notify_all()
        self.jobs.put(None)
        with self._cond:
            self._stop = True
            self._attention = True
            self._cond.notify_all()

    def flush_output(self, timeout: float = 10.0) -> None:
        """Wait until every frame queued so far has been written."""
        with self._out_cond:
            self._out_cond.wait_for(lambda: self._queued == 0 or self._closed, timeout)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="engine: %(message)s")
    crashlog.enable("engine")  # a native crash leaves its Python stacks in the crash folder
    host = Host(sys.stdout.buffer)
    sys.stdout = sys.stderr  # nothing else may write to the frame stream

    read_commands(lambda header, _payload: host.command(header), log)

    def warm_and_announce() -> None:
        # the kernels load (~0.6 s of CPU: numba's import and the cache) when the first run
        # is asked for or WARM_DELAY_S after the start, whichever comes first: a window
        # closed within seconds (a test, a mistaken launch) never pays for them, and a
        # run asked for at once starts on NumPy and switches as soon as they are ready
        host.warm_now.wait(WARM_DELAY_S)
        name = "numpy" if jit.row_kernels(True) is None else "numba"
        host.send_kernel(name, jit.unavailable_reason(), jit.compile_seconds(row=True))

    threading.Thread(target=warm_and_announce, name="kernel-ready", daemon=True).start()
    host.serve()
    host.flush_output()
    leave(host.out)


if __name__ == "__main__":
    sys.exit(main())
