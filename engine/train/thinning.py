"""How a long run's history stays within a memory budget (issue 24).  Qt-free.

A :class:`~bpgui_engine.train.history.History` given ``max_rows`` keeps at most that many rows.
When the next rows would not fit, it *thins* itself, keeping three parts:

* **the head** -- the first epochs, every one of them (most of the budget: the early
  descent is where a run changes fastest);
* **the middle** -- the epochs between, in blocks of ``block`` epochs (a power of two,
  aligned at the middle's first epoch): of each block only the rows holding the lowest and
  the highest value of every curve (performance, SSE, gradient norm, learning rate, mu,
  validation performance) and the block's first row stay -- what pyqtgraph's peak
  downsampling keeps, so a curve drawn through them has the envelope of the full curve,
  and the trajectory passes through the same (whole, never averaged) rows;
* **the tail** -- the most recent epochs, every one of them.

Rows age from the tail into the middle a slice at a time; when the middle outgrows its
share, its blocks double (the extremes of two blocks are the extremes among their kept
rows, so a coarser middle is exactly what thinning the full history at that block size
would have kept).  The work per epoch is bounded and the memory is flat once the budget
is reached.  The run's own state (parameters, optimizer state, epoch) never lives in the
history, so thinning never changes where a run goes on from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CURVES", "MAX_ROWS", "ROWS_PER_BLOCK", "Kept", "block_extremes", "parts"]

#: the columns whose extremes every block keeps
CURVES = ("performance", "sse", "grad_norm", "lr", "mu", "val_performance")
#: most rows of the recent tail at every epoch; the slice aged at a time
TAIL_ROWS = 1 << 16
#: most rows of the middle (many times what any plot can show, cheap to re-block)
MIDDLE_ROWS = 1 << 18
#: most rows one block keeps: its first, and the lowest and highest of each curve
ROWS_PER_BLOCK = 1 + 2 * 6
#: fewest rows a thinning history keeps, however small its budget
MIN_ROWS = 64
#: most rows a history keeps (what one session file may hold), whatever its budget
MAX_ROWS = 50_000_000


def parts(max_rows: int) -> tuple[int, int, int]:
    """``(head, middle, tail)`` row counts for a budget of ``max_rows`` rows: the tail and
    the middle bounded, the rest the head; after thinning at least ``tail`` rows are free,
    so rows arrive ``tail`` at a time between two thinnings."""
    r = max(MIN_ROWS, int(max_rows))
    tail = max(4, min(TAIL_ROWS, r // 8))
    middle = max(2 * ROWS_PER_BLOCK, min(MIDDLE_ROWS, r // 4))
    return r - middle - 2 * tail, middle, tail


@dataclass
class Kept:
    """Which rows a thinned history holds: rows ``[0, head)`` every epoch, rows
    ``[head, middle_end)`` the extremes of each ``block`` epochs counted from epoch
    ``origin``, rows from ``middle_end`` on every epoch again."""

    head: int
    middle_end: int
    block: int
    origin: int

    def to_dict(self) -> dict:
        return {
            "head": self.head,
            "middle_end": self.middle_end,
            "block": self.block,
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, d: dict, rows: int) -> Kept:
        """Checked against the history it describes (``rows`` rows); ``ValueError`` with
        the field at fault."""
        vals = {}
        for k in ("head", "middle_end", "block", "origin"):
            v = d.get(k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{k}: expected an integer >= 0")
            vals[k] = v
        kept = cls(**vals)
        if not 1 <= kept.head <= kept.middle_end <= rows:
            raise ValueError(
                f"head {kept.head:,} and middle_end {kept.middle_end:,} must satisfy "
                f"1 <= head <= middle_end <= length ({rows:,})"
            )
        b = kept.block
        if b < 1 or b & (b - 1) or b > 1 << 50:
            raise ValueError(f"block: {b:,} is not a power of two")
        return kept

    def describe(self, epochs: np.ndarray) -> str:
        """One line: ``every epoch to 20,000, then the extremes of each 64 epochs, every
        epoch from 1,200,000``."""
        n = len(epochs)
        head_to = int(epochs[self.head - 1])
        text = f"every epoch to {head_to:,}"
        if self.middle_end > self.head:
            text += f", then the extremes of each {self.block:,} epochs"
        if self.middle_end < n:
            text += f", every epoch from {int(epochs[self.middle_end]):,}"
        return text


def block_extremes(
    epochs: np.ndarray, cols: dict[str, np.ndarray], origin: int, block: int
) -> np.ndarray:
    """Sorted row indices (into these arrays) to keep: per block of ``block`` epochs
    counted from ``origin``, its first row and, for each of :data:`CURVES`, the first row
    holding its lowest and the first holding its highest value.  NaN counts as neither
    (chosen only in a block of nothing else); a column constant over the rows adds
    nothing beyond the first rows."""
    n = len(epochs)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    ids = (np.asarray(epochs, dtype=np.int64) - int(origin)) // int(block)
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate(([0], change))
    if len(starts) == n:  # one row per block: every row stays
        return np.arange(n)
    blk = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    keep = [starts]
    seen: list[np.ndarray] = []
    for c in CURVES:
        y = np.asarray(cols[c], dtype=float)
        if y[0] == y[0] and np.all(y == y[0]):  # constant: the first rows say it
            continue
        if np.all(np.isnan(y)):
            continue
        if any(np.array_equal(y, s, equal_nan=True) for s in seen):
            continue  # the performance is the SSE: the same rows
        seen.append(y)
        for v in (np.nan_to_num(y, nan=np.inf), -np.nan_to_num(y, nan=-np.inf)):
            best = np.minimum.reduceat(v, starts)
            hit = np.flatnonzero(v == best[blk])
            if hit.size:
                b = blk[hit]
                first = np.concatenate(([True], b[1:] != b[:-1]))
                keep.append(hit[first])
    return np.unique(np.concatenate(keep))
