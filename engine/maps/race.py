"""An optimizer race: several optimizers from one start point on one problem, advanced
together on a "same epoch" clock.  Qt-free.

Each entry (optimizer, hyperparameters, colour, label) is an ordinary run: a
:class:`~engine.train.fast.FastTrainer` (compiled for sd, momentum, vlbp, sgd; the NumPy trainer
for cg, lm, adam) with its own optimizer and objective, so an entry's history is exactly
its separate run's.  :meth:`Race.step` advances every still-running entry to the same epoch
and returns the new epochs as one :class:`~engine.train.fast.Block` per entry; between two calls
nothing runs, so pause, step and stop act on all entries at once.  A trainer may have
computed up to one block (``block_seconds``) past the clock: those epochs are kept and
handed out by the next steps.

Per entry :meth:`Race.results` gives the epochs to the goal (the first epoch whose
performance is <= the goal, or None), the final performance, which minimum the end point
is (:func:`bpgui_engine.analysis.valleys.group_minima` over the entries' end points: ``M1``, …,
``not
converged``, ``diverged``, or ``goal met`` for an end point that met the goal without being
stationary; ``running`` until it stops), the wall time spent in the entry's
own computation and the stop reason.  :func:`race_to_dict` / :func:`race_from_dict` turn a
race into plain JSON plus NumPy arrays (the histories) and back.

A long module (just over 400 lines): the race, its entries' results and their session form
share one epoch clock and one set of stop rules; split, each half would need the other's
internals.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bpgui_engine import jit
from bpgui_engine.analysis.critical import classify_points
from bpgui_engine.analysis.valleys import group_minima
from bpgui_engine.memory import history_budget, history_rows
from bpgui_engine.model.setup import Setup, setup_from_dict, setup_to_dict
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.fast import Block, FastTrainer
from bpgui_engine.train.history import COLUMNS, History
from bpgui_engine.train.thinning import Kept
from bpgui_engine.train.trainer import StopCriteria

GOAL_MET = "goal met"  # a race entry's end point that met the goal but is not stationary

__all__ = [
    "COLOURS",
    "EntryResult",
    "Race",
    "RaceEntry",
    "RaceRecord",
    "race_from_dict",
    "race_to_dict",
]

#: distinct, colour-blind-safe defaults (Okabe-Ito), one per entry in turn
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#f0e442",
           "#b8b8b8", "#9b5de5", "#ff006e", "#8ac926", "#ff9f1c")  # fmt: skip
FORMAT, VERSION = "bpgui-race", 1


@dataclass(frozen=True)
class RaceEntry:
    """One competitor; the hyperparameters are validated (and completed with defaults)."""

    optimizer: str
    hyper: dict[str, Any] = field(default_factory=dict)
    colour: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"race: unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        try:
            h = OPTIMIZERS[self.optimizer].Hyper.from_dict(dict(self.hyper)).to_dict()
        except ValueError as exc:
            raise ValueError(f"race: {self.optimizer}: {exc}") from None
        object.__setattr__(self, "hyper", h)
        if not self.label:
            given = ",".join(f"{k}={v:g}" for k, v in self.hyper.items() if k in ("lr", "gamma"))
            object.__setattr__(self, "label", f"{self.optimizer} {given}".strip())


@dataclass(frozen=True)
class EntryResult:
    label: str
    optimizer: str
    colour: str
    epochs: int  # epochs run so far
    epochs_to_goal: int | None
    performance: float
    grad_norm: float
    minimum: str  # "M1", …, "goal met" (not stationary), "not converged", "diverged", "running"
    minimum_performance: float | None
    wall_seconds: float
    stop: str | None  # None while running
    end: tuple[float, ...]


class _Lane:
    """One entry's trainer and the epochs it computed ahead of the clock."""

    def __init__(self, trainer: FastTrainer) -> None:
        self.gen = trainer.blocks()
        self.buf: Block | None = None
        self.exhausted = False
        self.wall = 0.0

    def take(self, upto: int) -> Block | None:
        """The epochs up to ``upto`` (inclusive) not handed out yet."""
        parts: list[Block] = []
        while True:
            if self.buf is None:
                if self.exhausted:
                    break
                t0 = time.perf_counter()
                b = next(self.gen, None)
                self.wall += time.perf_counter() - t0
                if b is None:
                    self.exhausted = True
                    break
                self.buf = b
                self.exhausted = b.stop is not None
            b = self.buf
            n = int(np.searchsorted(b.cols["epoch"], upto, side="right"))
            if n >= len(b):
                parts.append(b)
                self.buf = None
                continue
            if n:
                parts.append(_slice(b, 0, n, None))
            self.buf = _slice(b, n, len(b), b.stop)
            break
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        cols = {c: np.concatenate([p.cols[c] for p in parts]) for c in COLUMNS}
        return Block(cols, np.concatenate([p.x for p in parts]), parts[-1].stop)

    @property
    def done(self) -> bool:
        return self.exhausted and self.buf is None


def _slice(b: Block, i: int, j: int, stop: str | None) -> Block:
    return Block({c: v[i:j] for c, v in b.cols.items()}, b.x[i:j], stop)


class Race:
    """Entries racing from ``x0`` (default: the setup's start) on ``setup``'s problem.

    ``epochs``, ``goal`` and ``min_grad`` default to the setup's stopping criteria.
    ``keep_history=False``: each entry keeps only its latest epoch (what :meth:`results`
    needs), so memory stays bounded however long the race (``bpgui race``); the
    :meth:`record` then has no histories.  Kept histories hold at most ``max_rows`` rows
    each (default: the history budget shared by the entries), thinned past them."""

    def __init__(
        self,
        setup: Setup,
        entries: Sequence[RaceEntry],
        x0: np.ndarray | None = None,
        *,
        epochs: int | None = None,
        goal: float | None = None,
        min_grad: float | None = None,
        block_seconds: float = 0.01,
        keep_history: bool = True,
        max_rows: int | None = None,
    ) -> None:
        if not entries:
            raise ValueError("race: add at least one entry")
        entries = [e if isinstance(e, RaceEntry) else RaceEntry(**e) for e in entries]
        c = setup.criteria
        self.criteria = StopCriteria(
            epochs=c.epochs if epochs is None else int(epochs),
            goal=c.goal if goal is None else float(goal),
            min_grad=c.min_grad if min_grad is None else float(min_grad),
        )
        self.setup, self.entries = setup, list(entries)
        self.x0 = setup.start() if x0 is None else np.array(x0, dtype=float)
        obj = setup.objective()
        if self.x0.shape != (obj.n_free,):
            raise ValueError(f"race: start needs {obj.n_free} values, got {self.x0.size}")
        jit.kernels()  # compile (or load) before any entry's clock runs
        self._objective = obj
        self.keep_history = bool(keep_history)
        if max_rows is None:  # the history budget shared by the entries
            max_rows = history_rows(obj.n_free, history_budget()[0] // len(entries))
        self.histories = [History(obj.n_free, max_rows=max_rows) for _ in entries]
        self.to_goal: list[int | None] = [None] * len(entries)
        self._lanes = []
        for e in entries:
            cls = OPTIMIZERS[e.optimizer]
            opt = cls(cls.Hyper.from_dict(e.hyper), seed=setup.seed)
            tr = FastTrainer(obj.copy(), opt, self.x0, self.criteria, block_seconds=block_seconds)
            self._lanes.append(_Lane(tr))
        self.clock = -1  # the last epoch handed out (for every entry still running)

    @property
    def finished(self) -> bool:
        return all(lane.done for lane in self._lanes)

    def step(self, epochs: int = 1) -> dict[int, Block]:
        """Advance every running entry to epoch ``clock + epochs`` (the first step also
        brings epoch 0); ``{entry index: its new epochs}``, empty when all have stopped."""
        if int(epochs) < 1:
            raise ValueError("race: a step is at least one epoch")
        self.clock = self.clock + int(epochs) if self.clock >= 0 else int(epochs)
        out = {}
        goal = self.criteria.goal
        for i, lane in enumerate(self._lanes):
            b = lane.take(self.clock)
            if b is None:
                continue
            if self.keep_history:
                self.histories[i].extend(b.cols, b.x, b.stop)
            else:  # the latest epoch only
                tail = History(self._objective.n_free, capacity=1)
                tail.extend({c: v[-1:] for c, v in b.cols.items()}, b.x[-1:], b.stop)
                self.histories[i] = tail
            if self.to_goal[i] is None:
                hit = np.flatnonzero(b.cols["performance"] <= goal)
                if hit.size:
                    self.to_goal[i] = int(b.cols["epoch"][hit[0]])
            out[i] = b
        return out

    def steps(self, epochs: int = 1000) -> Iterator[dict[int, Block]]:
        """:meth:`step` until every entry has stopped."""
        while not self.finished:
            yield self.step(epochs)

    def stop(self) -> None:
        """End every running entry now (reason ``"stopped"``)."""
        for h, lane in zip(self.histories, self._lanes, strict=True):
            if not lane.done:
                lane.gen.close()
                lane.buf, lane.exhausted = None, True
                h.stop = "stopped"

    def results(self) -> list[EntryResult]:
        return self.record().results

    def record(self) -> RaceRecord:
        """The race as it stands, as plain data (see :func:`race_to_dict`)."""
        return RaceRecord(
            self.setup, self.x0.copy(), self.criteria, list(self.entries),
            _results(self._objective, self.entries, self.histories, self.to_goal,
                     [lane.wall for lane in self._lanes]),
            self.histories if self.keep_history else None,
        )  # fmt: skip


def _results(obj, entries, histories, to_goal, walls) -> list[EntryResult]:
    n = len(entries)
    last = [h.last() if len(h) else None for h in histories]
    stops = [h.stop if h.stop else "epochs" for h in histories]
    X = np.array([h.x[-1] if len(h) else np.full(obj.n_free, np.nan) for h in histories])
    F = np.array([r["performance"] if r else math.nan for r in last])
    G = np.array([r["grad_norm"] if r else math.nan for r in last])
    running = [h.stop is None for h in histories]
    # meeting the goal says nothing of the gradient: such an end point is one of the
    # minima only when the critical-points classifier finds it at one; else "goal met"
    goal = [i for i in range(n) if stops[i] == "goal" and not running[i]]
    kinds = classify_points(obj, X[goal]) if goal else []
    for i, kind in zip(goal, kinds, strict=True):
        if kind != "minimum":
            stops[i] = GOAL_MET
    g = group_minima(
        obj, X, F, [s if not r else "epochs" for s, r in zip(stops, running, strict=True)], G
    )
    out = []
    for i in range(n):
        e, r = entries[i], last[i]
        k = int(g.index[i])
        out.append(
            EntryResult(
                e.label, e.optimizer, e.colour, int(r["epoch"]) if r else 0, to_goal[i],
                float(F[i]), float(G[i]), "running" if running[i] else _name(g, i, stops[i]),
                float(g.performance[k]) if k >= 0 else None, float(walls[i]),
                histories[i].stop, tuple(float(v) for v in X[i]),
            )
        )  # fmt: skip
    return out


def _name(g, i: int, stop: str) -> str:
    return GOAL_MET if int(g.index[i]) == -1 and stop == GOAL_MET else g.name(i)


@dataclass(frozen=True)
class RaceRecord:
    """A race's plain data: what :func:`race_to_dict` writes and :func:`race_from_dict`
    reads back (``histories`` is None when the arrays were not kept)."""

    setup: Setup
    x0: np.ndarray
    criteria: StopCriteria
    entries: list[RaceEntry]
    results: list[EntryResult]
    histories: list[History] | None


def _num(v: float | None) -> float | str | None:
    return v if v is None or math.isfinite(v) else str(v)  # JSON has no inf/nan


def _unnum(v: float | str | None) -> float | None:
    return None if v is None else float(v)


def race_to_dict(race: Race | RaceRecord) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(doc, arrays)``: ``doc`` is plain JSON (setup, start, criteria, entries, results;
    non-finite numbers as the strings ``"inf"``/``"nan"``); ``arrays`` holds each entry's
    history as NumPy arrays named ``race_{i}_{column}`` (the :data:`~engine.train.history.COLUMNS`
    and ``x``), for a session's ``.npy`` members.  The results do not need the arrays."""
    rec = race.record() if isinstance(race, Race) else race
    results = []
    for r in rec.results:
        d = asdict(r)
        for k in ("performance", "grad_norm", "minimum_performance"):
            d[k] = _num(d[k])
        d["end"] = [_num(v) for v in r.end]
        results.append(d)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "setup": setup_to_dict(rec.setup),
        "start": [float(v) for v in rec.x0],
        "criteria": rec.criteria.to_dict(),
        "entries": [asdict(e) for e in rec.entries],
        "results": results,
    }
    kept = [h.kept.to_dict() if h.kept is not None else None for h in rec.histories or []]
    if any(kept):  # histories thinned past their budget (optional: older readers ignore it)
        doc["kept"] = kept
    arrays: dict[str, np.ndarray] = {}
    for i, h in enumerate(rec.histories or []):
        for c in COLUMNS:
            arrays[f"race_{i}_{c}"] = h.column(c).copy()
        arrays[f"race_{i}_x"] = h.x.copy()
    return doc, arrays


def race_from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> RaceRecord:
    """Inverse of :func:`race_to_dict`; ``ValueError`` naming what is malformed."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"race: not a {FORMAT} object")
    if doc.get("version") != VERSION:
        raise ValueError(f"race: unsupported version {doc.get('version')!r}")
    try:
        setup = setup_from_dict(doc["setup"])
        entries = [RaceEntry(**e) for e in doc["entries"]]
        results = []
        for r in doc["results"]:
            r = dict(r)
            for k in ("performance", "grad_norm", "minimum_performance"):
                r[k] = _unnum(r[k])
            r["end"] = tuple(_unnum(v) for v in r["end"])
            results.append(EntryResult(**r))
        x0 = np.array(doc["start"], dtype=float)
        crit = StopCriteria.from_dict(doc["criteria"])
    except KeyError as exc:
        raise ValueError(f"race: the field {exc} is missing") from None
    except TypeError as exc:
        raise ValueError(f"race: a field has the wrong type ({exc})") from None
    histories = None
    if arrays is not None:
        histories = []
        nf = len(setup.free)
        for i in range(len(entries)):
            try:
                x = np.asarray(arrays[f"race_{i}_x"], dtype=float)
                cols = {c: np.asarray(arrays[f"race_{i}_{c}"]) for c in COLUMNS}
            except KeyError as exc:
                raise ValueError(f"race: the array {exc} is missing") from None
            if x.size == 0:  # an entry stopped before its first epoch: no rows
                x = x.reshape(0, nf)
            elif x.ndim != 2 or x.shape[1] != nf:
                raise ValueError(f"race: race_{i}_x has shape {x.shape}, expected (epochs, {nf})")
            h = History(nf, capacity=max(len(x), 1))
            h.extend(cols, x, results[i].stop)
            h.kept = _kept(doc, i, len(h))
            histories.append(h)
    return RaceRecord(setup, x0, crit, entries, results, histories)


def _kept(doc: dict, i: int, rows: int) -> Kept | None:
    """Entry ``i``'s ``kept`` (which epochs a thinned history holds), checked."""
    kept = doc.get("kept")
    if kept is None:
        return None
    if not isinstance(kept, list) or len(kept) != len(doc["entries"]):
        raise ValueError("race: kept must list one entry per race entry")
    d = kept[i]
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ValueError(f"race: kept[{i}] is not an object")
    try:
        return Kept.from_dict(d, rows)
    except ValueError as exc:
        raise ValueError(f"race: kept[{i}].{exc}") from None
