"""Race jobs in the engine process: every entry of a :class:`bpgui_engine.maps.race.Race`
advances on the same epoch clock, ``race.step(k)`` at a time, each entry's new epochs
sent as a ``batch`` frame tagged ``entry`` and ``clock``.  A mixin of
:class:`bpgui.service.engine_host.Host` (its controls, pacing and output)."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from bpgui_engine import jit
from bpgui_engine.maps.race import Race, RaceEntry, race_to_dict
from bpgui_engine.memory import check_run
from bpgui_engine.model.setup import setup_from_dict
from bpgui_engine.train.trainer import StopCriteria

FLUSH_S = 0.02  # a block takes about this long: ~50 frames a second at full speed
RACE_MAX_STEP = 1 << 20  # epochs per race step at most (full speed)
STOPPED = object()  # Host._turn: the app stopped the job


class RaceJobs:
    """Prepare a race from its job and run it between the host's controls."""

    def _prepare_race(self, job: dict) -> Race:
        setup = setup_from_dict(job["setup"])
        entries = [RaceEntry(**e) for e in job["entries"]]
        epochs = job.get("epochs")
        crit = setup.criteria
        if epochs is not None:
            crit = StopCriteria.from_dict({**crit.to_dict(), "epochs": int(epochs)})
        for e in {e.optimizer for e in entries}:  # refuse with the estimate
            check_run(setup.replace(optimizer=e, hyper={}, criteria=crit), what="the race")
        x0 = None if job.get("x0") is None else np.array(job["x0"], float)
        goal = job.get("goal")
        return Race(
            setup,
            entries,
            x0,
            epochs=epochs,
            goal=None if goal is None else float(goal),
            min_grad=job.get("min_grad"),
            block_seconds=FLUSH_S / len(entries) if entries else FLUSH_S,
            keep_history=False,  # the window keeps the histories it is sent
        )

    def _race_loop(self, run: int, race: Race) -> str:
        """Advance every entry on the same epoch clock until all have stopped ("finished")
        or the app stops the race ("stopped")."""
        perf = time.perf_counter
        kernel = race_kernel()
        self._send({"type": "started", "run": run, "kernel": kernel, "note": None})
        k = 256  # epochs per step at full speed, adapted to FLUSH_S
        next_due = perf()
        grant: int | None = None
        with np.errstate(all="ignore"):
            while not race.finished:
                grant = self._turn(None, grant)
                if grant is STOPPED:
                    race.stop()
                    return "stopped"
                rate = self._rate
                n = max(1, int(rate * FLUSH_S)) if math.isfinite(rate) else k
                if grant is not None:  # stepping: exactly the epochs granted, in slots
                    n = min(n, grant) if math.isfinite(rate) else grant
                    left, grant = grant - n, None
                    if left > 0:
                        with self._cond:
                            self._steps += left
                            self._attention = True
                    adapt = False
                else:
                    adapt = True
                t0 = perf()
                blocks = race.step(n)
                dt = perf() - t0
                for i, block in blocks.items():
                    self._send_block(run, block, kernel, entry=i, clock=race.clock)
                if adapt and not math.isfinite(rate):
                    scale = FLUSH_S / max(dt, 1e-6)
                    k = int(min(RACE_MAX_STEP, max(1, k * min(8.0, max(0.25, scale)))))
                if math.isfinite(rate):
                    now = perf()
                    next_due = max(next_due + n / rate, now - 1.0)
                    if next_due > now:
                        with self._cond:
                            self._cond.wait_for(lambda: self._attention, next_due - now)
        return "finished"


def race_document(race: Race) -> dict:
    """:func:`bpgui_engine.maps.race.race_to_dict`'s document, without copying the histories (the
    app
    has every epoch already)."""
    return race_to_dict(dataclasses.replace(race.record(), histories=None))[0]


def race_kernel() -> str:
    """What a race's compiled-capable entries run on (cg, lm, adam: always NumPy)."""
    return "numpy" if jit.kernels(False) is None else "numba"
