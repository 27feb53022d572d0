"""A lighter copy of a session, for handing out (issue 18 #16): the history sampled down to
a few thousand epochs that keep every curve's shape, everything else whole.  Qt-free.

Which epochs stay (:func:`sample_rows`): the first and the last, and in each block of
epochs the one with the lowest and the one with the highest value of every curve the
window draws (the performance, the SSE, the gradient norm and, when they vary, the
learning rate, mu and the validation performance).  The blocks are spaced both evenly
and geometrically in the epochs, so the error curve keeps its envelope on a linear axis
and its early detail on a logarithmic one.  The trajectory is exact at every kept epoch
(whole rows are kept, never averaged), so the path drawn through them passes through the
same points.

The run's state (its current point, epoch, optimizer state and validation counters) is
kept whole: continuing a lighter copy is bit for bit what continuing the full session
gives -- only the history between the kept epochs is gone.  ``session.json`` says so:
``history.sampled_from`` is the number of epochs the history was sampled from.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpgui_engine.session.schema import Session
from bpgui_engine.session.write import save_session
from bpgui_engine.train.history import COLUMNS, History

__all__ = ["DEFAULT_BLOCKS", "LighterCopy", "lighten", "sample_rows", "save_lighter_copy"]

#: blocks per spacing (even and geometric): at most ~4 rows per block and curve
DEFAULT_BLOCKS = 1024
CURVES = ("performance", "sse", "grad_norm", "lr", "mu", "val_performance")


@dataclass(frozen=True)
class LighterCopy:
    """What :func:`save_lighter_copy` wrote."""

    path: Path
    rows_before: int
    rows_after: int
    bytes: int

    def summary(self) -> str:
        return (
            f"{self.path} (a lighter copy: {self.rows_before:,} -> {self.rows_after:,} history "
            f"epochs, {self.bytes / 1e6:.1f} MB; it continues exactly)"
        )


def _block_starts(epochs: np.ndarray, blocks: int) -> np.ndarray:
    """Row indices where blocks start: evenly and geometrically spaced epochs."""
    e0, e1 = int(epochs[0]), int(epochs[-1])
    span = max(e1 - e0, 1)
    even = np.linspace(0, span, blocks + 1)
    geometric = np.geomspace(1, span + 1, blocks + 1) - 1
    edges = e0 + np.unique(np.concatenate([even, geometric]).round().astype(np.int64))
    starts = np.searchsorted(epochs, edges, side="left")
    return np.unique(starts[starts < len(epochs)])


def _extremes(y: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per block (``starts``: sorted, the first 0), the row of the lowest and of the
    highest value (NaN never chosen unless a block holds nothing else)."""
    lengths = np.diff(np.append(starts, len(y)))
    block = np.repeat(np.arange(len(starts)), lengths)
    out = []
    for v in (np.nan_to_num(y, nan=np.inf), -np.nan_to_num(y, nan=-np.inf)):
        best = np.minimum.reduceat(v, starts)
        hit = np.flatnonzero(v == best[block])  # rows equal to their block's extreme
        _, first = np.unique(block[hit], return_index=True)
        out.append(hit[first])
    return np.concatenate(out)


def sample_rows(h: History, blocks: int = DEFAULT_BLOCKS) -> np.ndarray:
    """The sorted rows of ``h`` a lighter copy keeps (see the module's description); all
    rows when there are not many more than that."""
    n = len(h)
    if n <= 8 * blocks:
        return np.arange(n)
    starts = _block_starts(h.column("epoch"), int(blocks))
    keep = [np.array([0, n - 1])]
    for c in CURVES:
        y = h.column(c)
        if c in ("lr", "mu", "val_performance") and np.array_equal(
            y, np.full_like(y, y[0]), equal_nan=True
        ):
            continue  # a constant (or all-NaN) column: nothing to keep
        if c == "performance" and np.array_equal(y, h.column("sse"), equal_nan=True):
            continue
        keep.append(_extremes(y, starts))
    return np.unique(np.concatenate(keep))


def _sampled(h: History, blocks: int) -> History:
    rows = sample_rows(h, blocks)
    out = History(h.n_free, capacity=max(len(rows), 1))
    out.extend({c: h.column(c)[rows] for c in COLUMNS}, h.x[rows], h.stop)
    out.stop = h.stop
    return out


def lighten(s: Session, blocks: int = DEFAULT_BLOCKS) -> Session:
    """A lighter copy of ``s`` (``s`` itself is not changed): its history and its race's
    histories sampled (:func:`sample_rows`), everything else -- the run's state above
    all -- shared as it is."""
    out = dataclasses.replace(s)
    if s.history is not None and len(s.history):
        out.history = _sampled(s.history, blocks)
        if len(out.history) < len(s.history):
            h = s.history
            # a history thinned past its budget holds fewer rows than the epochs it spans
            spanned = len(h) if h.kept is None else int(h.column("epoch")[-1]) + 1
            out.history_sampled_from = s.history_sampled_from or max(spanned, len(h))
    race = s.race
    if race is not None and race.histories is not None:
        sampled = [_sampled(h, blocks) for h in race.histories]
        out.race = dataclasses.replace(race, histories=sampled)
    return out


def save_lighter_copy(
    s: Session, path: str | os.PathLike, blocks: int = DEFAULT_BLOCKS
) -> LighterCopy:
    """Write a lighter copy of ``s`` to ``path`` (atomically, as :func:`save_session`;
    ``s`` is not changed).  The window's "Save a lighter copy..." and ``bpgui export
    SESSION --lighter FILE`` call this."""
    light = lighten(s, blocks)
    written = save_session(light, path)
    before = len(s.history) if s.history is not None else 0
    after = len(light.history) if light.history is not None else 0
    return LighterCopy(written, before, after, os.path.getsize(written))
