"""A race in the window (Qt-free): what was asked of the engine process and what came
back, one :class:`~engine.train.history.History` per entry, and its results.

The results are the engine's (:func:`bpgui_engine.maps.race.race_to_dict`'s document in the race's
``finished`` frame) once the race has ended there; before that, or when the race ended in
the window only (discarded, the engine process died), they are computed here from the
histories received, as :meth:`bpgui_engine.maps.race.Race.results` computes them (wall times are
known only to the engine: 0 here)."""

from __future__ import annotations

import numpy as np

from bpgui_engine.maps.race import EntryResult, RaceEntry, RaceRecord, _results, race_from_dict
from bpgui_engine.model.setup import Setup, problem_key
from bpgui_engine.train.history import History
from bpgui_engine.train.trainer import StopCriteria


class RaceRun:
    """One race: ``run_id`` is the controller's id of its engine job (-1: reopened)."""

    def __init__(
        self,
        setup: Setup,
        x0: np.ndarray,
        entries: list[RaceEntry],
        criteria: StopCriteria,
        run_id: int = -1,
        max_rows: int | None = None,
    ) -> None:
        self.setup, self.entries, self.criteria = setup, list(entries), criteria
        self.x0 = np.array(x0, float)
        self.run_id = run_id
        self.key = problem_key(setup)
        # each entry's history thins itself past its share of the history budget
        self.histories = [History(len(setup.free), max_rows=max_rows) for _ in self.entries]
        self.to_goal: list[int | None] = [None] * len(self.entries)
        self.clock = -1  # the shared epoch clock, as the engine last reported it
        self.reason: str | None = None  # "finished", "stopped", "failed", …; None: running
        self._final: list[EntryResult] | None = None
        self._objective = None
        self._cache: tuple[tuple, list[EntryResult]] | None = None

    # ---- while it runs ---------------------------------------------------------------------
    def extend(self, i: int, cols: dict, x: np.ndarray, stop: str | None, clock: int) -> None:
        """Entry ``i``'s new epochs (one engine frame)."""
        self.histories[i].extend(cols, x, stop)
        self.clock = max(self.clock, int(clock))
        if self.to_goal[i] is None:
            hit = np.flatnonzero(cols["performance"] <= self.criteria.goal)
            if hit.size:
                self.to_goal[i] = int(cols["epoch"][hit[0]])

    def finish(self, reason: str, doc: dict | None) -> None:
        """The race has ended (``doc``: the engine's race document, if it sent one)."""
        self.reason = reason
        ends = [int(h.column("epoch")[-1]) for h in self.histories if len(h)]
        self.clock = max(ends) if ends else -1  # not past the last epoch any entry ran
        if doc is not None:
            self._final = race_from_dict(doc).results
            for h, r in zip(self.histories, self._final, strict=True):
                h.stop = r.stop
        else:  # ended here: the entries still running were stopped
            for h in self.histories:
                if h.stop is None:
                    h.stop = "stopped"

    @property
    def running(self) -> bool:
        return self.reason is None

    # ---- results and records ---------------------------------------------------------------
    def results(self) -> list[EntryResult]:
        """Per entry, as :meth:`bpgui_engine.maps.race.Race.results` (the engine's once it sent
        them)."""
        if self._final is not None:
            return self._final
        state = tuple((len(h), h.stop) for h in self.histories)
        if self._cache is not None and self._cache[0] == state:
            return self._cache[1]
        if self._objective is None:
            self._objective = self.setup.objective()
        with np.errstate(all="ignore"):
            res = _results(
                self._objective, self.entries, self.histories, self.to_goal,
                [0.0] * len(self.entries),
            )  # fmt: skip
        self._cache = (state, res)
        return res

    def record(self) -> RaceRecord:
        return RaceRecord(
            self.setup, self.x0.copy(), self.criteria, list(self.entries), self.results(),
            self.histories,
        )  # fmt: skip

    @classmethod
    def from_record(cls, rec: RaceRecord) -> RaceRun:
        """A saved race, ended (its histories as saved; none when they were not kept)."""
        run = cls(rec.setup, rec.x0, rec.entries, rec.criteria)
        if rec.histories is not None:
            run.histories = list(rec.histories)
        for i, h in enumerate(run.histories):
            if len(h):
                hit = np.flatnonzero(h.column("performance") <= rec.criteria.goal)
                run.to_goal[i] = int(h.column("epoch")[hit[0]]) if hit.size else None
                run.clock = max(run.clock, int(h.column("epoch")[-1]))
        if rec.histories is None or all(r.stop is not None for r in rec.results):
            run._final = list(rec.results)
            run.reason = "finished"
        else:  # saved while it ran: the entries still running count as stopped
            run.finish("stopped", None)
        return run
