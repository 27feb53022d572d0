"""The run's state for a save, asked of the engine without waiting for it.

A session saved while a run trains needs the optimizer's state, which lives in the engine
process: the app asks for a snapshot between two epochs and goes on.  When the state
arrives, every block before it has arrived too, so the history up to that epoch and the
state belong together.  If the run is discarded meanwhile (New, Open, Reset, another
problem, a race), the blocks and the state the engine still sends for it are routed to
that run's history here instead of being dropped, so the save still writes what the user
saw when they pressed Save — never a later session.  A run whose engine dies before its
state arrives gets ``None``: the save says why and writes nothing.

Nothing here blocks or runs a nested event loop: ``done`` is called later, from the
frame that completes it, on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bpgui_engine.train.history import COLUMNS, History

#: ``done(state, history, rows)``: the run's state (``None``: it could not be had), its
#: history and how many of its rows the state covers
Done = Callable[[dict | None, History | None, int], None]


def extend_from_frame(h: History, header: dict, payload: np.ndarray) -> int:
    """Append one ``batch`` frame to ``h``; returns its last epoch."""
    k = int(header["k"])
    table = payload.reshape(k, -1)
    cols = {c: table[:, j] for j, c in enumerate(COLUMNS)}
    h.extend(cols, table[:, len(COLUMNS) :], header.get("stop"))
    return int(table[-1, 0])


@dataclass
class _Pending:
    history: History
    waiting: list[Done] = field(default_factory=list)


class SnapshotRequests:
    """The snapshots asked for, by run id."""

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(self, run: int, history: History, done: Done) -> bool:
        """Wait for ``run``'s state; True when the engine must be asked (the first
        request for that run)."""
        p = self._pending.get(run)
        if p is None:
            self._pending[run] = _Pending(history, [done])
            return True
        p.waiting.append(done)
        return False

    def waits_for(self, run: int) -> bool:
        return run in self._pending

    def complete(self, run: int, state: dict | None) -> None:
        """``run``'s state arrived (or ``None``: it never will)."""
        p = self._pending.pop(run, None)
        if p is None:
            return
        rows = len(p.history)
        for done in p.waiting:
            done(state, p.history, rows)

    def orphan_frame(self, run: int, kind: str, header: dict, payload: np.ndarray) -> None:
        """A frame of a discarded run that a save still waits for."""
        p = self._pending.get(run)
        if p is None:
            return
        if kind == "batch":
            extend_from_frame(p.history, header, payload)
        elif kind in ("state", "finished"):
            self.complete(run, header.get("state"))
        elif kind == "failed":
            self.complete(run, None)

    def fail_all(self) -> None:
        """The engine died: no state will come."""
        for run in list(self._pending):
            self.complete(run, None)
