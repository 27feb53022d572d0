"""Races in the training controller: one engine job that trains several optimizers from
one start (:class:`~bpgui.service.race_run.RaceRun` keeps one history per entry).  A mixin of
:class:`bpgui.service.controller.TrainingController`, which owns the signals and the engine."""

from __future__ import annotations

import logging

import numpy as np

from bpgui.service.race_run import RaceRun
from bpgui.service.wire import encode_float
from bpgui_engine.maps.race import RaceEntry, RaceRecord
from bpgui_engine.model.setup import Setup, setup_to_dict
from bpgui_engine.train.history import COLUMNS
from bpgui_engine.train.trainer import StopCriteria

log = logging.getLogger(__name__)


class RaceControl:
    """Start, show and end races; their frames from the engine."""

    def start_race(
        self,
        setup: Setup,
        x0: np.ndarray,
        entries: list[RaceEntry],
        epochs: int,
        goal: float,
        paused: bool = False,
    ) -> None:
        """Race ``entries`` from ``x0`` on ``setup``'s problem for at most ``epochs``
        epochs each (stopping at ``goal``); it replaces the current run in the engine."""
        self.ensure_engine()
        self.discard()
        self.run_id += 1
        self.setup = setup
        self.history = None
        self.epoch = 0
        self.last_stop = self.last_error = None
        self.last_state = self._restore = None
        crit = StopCriteria.from_dict(
            {**setup.criteria.to_dict(), "epochs": int(epochs), "goal": float(goal)}
        )
        rows = self.history_rows(len(setup.free), share=len(entries))
        self.race = RaceRun(setup, x0, entries, crit, self.run_id, max_rows=rows)
        self.max_epochs = int(epochs)
        msg = {
            "cmd": "race",
            "run": self.run_id,
            "setup": setup_to_dict(setup),
            "x0": [float(v) for v in x0],
            "entries": [
                {"optimizer": e.optimizer, "hyper": e.hyper, "colour": e.colour, "label": e.label}
                for e in entries
            ],
            "epochs": int(epochs),
            "goal": float(goal),
            "paused": paused,
            "rate": encode_float(self.rate),
        }
        self._launch(msg, paused, self.race_started)

    @property
    def racing(self) -> bool:
        """A race is the engine's current job (running or paused)."""
        return self._active and self.race is not None and self.race.run_id == self.run_id

    def restore_race(self, record: RaceRecord | None) -> None:
        """A saved race on screen (ended); None: no race."""
        if self.racing:
            self.discard()
        self.race = None if record is None else RaceRun.from_record(record)

    def drop_race(self) -> None:
        """No race on screen (a running one is stopped)."""
        if self.racing:
            self.discard()
        self.race = None

    def _on_race_frame(self, kind: str, header: dict, payload: np.ndarray) -> None:
        race = self.race
        if kind == "batch":
            k = int(header["k"])
            table = payload.reshape(k, -1)
            cols = {c: table[:, j] for j, c in enumerate(COLUMNS)}
            race.extend(
                int(header["entry"]), cols, table[:, len(COLUMNS) :], header.get("stop"),
                int(header.get("clock", table[-1, 0])),
            )  # fmt: skip
            self.epoch = race.clock
            self.race_records_added.emit()
        elif kind == "started":
            self._set_kernel(header.get("kernel"), header.get("note"))
        elif kind == "finished":
            self._active = False
            race.finish(header["reason"], header.get("race"))
            self.last_stop = header["reason"]
            self._set_state("idle")
            self.race_finished.emit(header["reason"])
        elif kind == "failed":
            self._active = False
            race.finish("failed", None)
            self.last_stop = "failed"
            self.last_error = header.get("message", "unknown error")
            self._set_state("idle")
            log.warning("the race failed: %s\n%s", self.last_error, header.get("detail", ""))
            self.run_failed.emit(self.last_error)
