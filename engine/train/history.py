"""Training history in growable arrays, and peak-preserving decimation for display.

Arrays double their capacity when full, so appending is amortized O(1) and memory stays
proportional to the history; views ``[:n]`` are handed out, never copies.  A history given
``max_rows`` never holds more: past it, it thins its middle (:mod:`bpgui_engine.train.thinning`).
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Sequence

import numpy as np

from bpgui_engine.train.thinning import MIN_ROWS, ROWS_PER_BLOCK, Kept, block_extremes, parts
from bpgui_engine.train.trainer import Record

__all__ = ["COLUMNS", "Decimator", "History", "follow_rows"]

COLUMNS = ("epoch", "performance", "sse", "grad_norm", "lr", "mu", "val_performance")


PAGE = mmap.PAGESIZE
MADV_POPULATE_WRITE = 23  # Linux >= 5.14


def _libc_madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


_madvise = _libc_madvise()


class History:
    """Per-epoch columns (:data:`COLUMNS`) and the free parameters ``x`` of every epoch."""

    def __init__(self, n_free: int, capacity: int = 1024, max_rows: int | None = None) -> None:
        self.n_free = int(n_free)
        self._n = 0
        #: most rows kept (None: every epoch, without bound); see :meth:`extend`
        self.max_rows = None if max_rows is None else max(int(max_rows), MIN_ROWS)
        self._cap = max(16, int(capacity))
        if self.max_rows is not None:
            self._cap = min(self._cap, self.max_rows)
        #: which rows are kept once thinned (None: every epoch since the first row)
        self.kept: Kept | None = None
        #: how many times the rows were thinned (views holding row numbers re-map them)
        self.thins = 0
        self._cols = {c: np.empty(self._cap) for c in COLUMNS}
        self._cols["epoch"] = np.empty(self._cap, dtype=np.int64)
        self._x = np.empty((self._cap, self.n_free))
        self._borrowed = False  # the buffers are someone else's arrays (see adopt)
        self.stop: str | None = None

    def __len__(self) -> int:
        return self._n

    def _grow(self, need: int) -> None:
        cap = self._cap
        while cap < need:
            # fast growth while small (a run at a million epochs a second reaches 10^5
            # rows in a tenth of a second); np.empty pages cost memory only once written
            cap *= 8 if cap < (1 << 20) else 2
        if self.max_rows is not None:  # past a million rows, straight to the budget (its
            # pages cost memory only once written): no copy of the rows near the budget
            cap = max(self.max_rows if cap > 1 << 20 else min(cap, self.max_rows), need)
        if cap != self._cap:
            self._realloc(cap)

    def _realloc(self, cap: int) -> None:
        """Move the rows into new buffers of ``cap`` rows (the history's own)."""
        for c, a in self._cols.items():
            b = np.empty(cap, dtype=a.dtype)
            b[: self._n] = a[: self._n]
            self._cols[c] = b
        x = np.empty((cap, self.n_free))
        x[: self._n] = self._x[: self._n]
        self._x, self._cap, self._borrowed = x, cap, False

    def prefault(self, start: int, rows: int) -> bool:
        """Make the memory of rows ``[start, start + rows)`` resident without changing it
        (Linux ``MADV_POPULATE_WRITE``), so that the thread that later writes them does
        not stop for page faults: a reader thread calls this ahead of the GUI thread.
        Does nothing where the call is not available; returns whether every call worked."""
        stop = min(self._cap, start + rows)
        if stop <= start or _madvise is None:
            return False
        ok = True
        for a in (*self._cols.values(), self._x):
            item = a.strides[0]
            lo = a.ctypes.data + start * item
            hi = a.ctypes.data + stop * item
            lo -= lo % PAGE
            ok &= _madvise(lo, hi - lo, MADV_POPULATE_WRITE) == 0
        return ok

    def extend(self, cols: dict[str, np.ndarray], x: np.ndarray, stop: str | None = None) -> None:
        """Append ``k`` epochs: ``cols[name]`` of shape ``(k,)``, ``x`` of shape ``(k, n_free)``.
        With ``max_rows``, rows that would not fit first thin the history (:meth:`thin`)."""
        k = len(x)
        if k == 0:
            return
        if self.max_rows is not None and self._n + k > self.max_rows:
            step = parts(self.max_rows)[2]
            if k > step:  # a slice at a time: each fits once the history is thinned
                for i in range(0, k, step):
                    part = {c: cols[c][i : i + step] for c in COLUMNS}
                    self.extend(part, x[i : i + step], stop if i + step >= k else None)
                return
            self.thin(k)
        self._grow(self._n + k)
        for c in COLUMNS:
            self._cols[c][self._n : self._n + k] = cols[c]
        self._x[self._n : self._n + k] = x
        self._n += k
        if stop is not None:
            self.stop = stop

    def append_records(self, records: Sequence[Record]) -> None:
        cols, x = records_to_arrays(records)
        self.extend(cols, x, records[-1].stop if records else None)

    def column(self, name: str) -> np.ndarray:
        return self._cols[name][: self._n]

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    def last(self) -> dict[str, float]:
        i = self._n - 1
        return {c: self._cols[c][i] for c in COLUMNS}

    def clear(self) -> None:
        if self._borrowed:  # never write into arrays handed to :meth:`adopt`
            self.__init__(self.n_free, max_rows=self.max_rows)
        self._n = 0
        self.stop = None
        if self.kept is not None:
            self.kept, self.thins = None, self.thins + 1

    # ---- thinning ----------------------------------------------------------------------------
    def set_budget(self, max_rows: int | None) -> None:
        """Keep at most ``max_rows`` rows from now on (never fewer than the rows this
        history must keep as they are: a history read from a file keeps its rows)."""
        if max_rows is None:
            self.max_rows = None
            return
        r = max(int(max_rows), MIN_ROWS)
        head, middle, tail = parts(r)
        if self.kept is not None:  # the head stays: room for it, the middle and the tail
            r = max(r, self.kept.head + middle + 2 * tail)
        elif self._n > head:
            r = max(r, self._n + 2 * tail)
        self.max_rows = r

    def thin(self, room: int = 0) -> None:
        """Make room for ``room`` more rows (at most the tail's size) within ``max_rows``:
        age the rows before the recent tail into the middle and, while the middle is over
        its share, double its blocks.  Rows stay in order; the ones dropped are gone."""
        if self.max_rows is None:
            return
        head, middle, tail = parts(self.max_rows)
        ep = self._cols["epoch"]
        n = self._n
        if n + room <= self.max_rows or n <= tail:
            return
        if self._borrowed:  # arrays read from a file are never written: own ones first
            self._realloc(max(self.max_rows, n))
        if self.kept is None:
            h = max(1, min(head, n - tail))
            self.kept = Kept(head=h, middle_end=h, block=1, origin=int(ep[h]))
        kp = self.kept
        end = n - tail  # rows [middle_end, end) age into the middle
        if end <= kp.middle_end:
            return
        # blocks coarse enough for the middle's share even if every block keeps all it may
        span = int(ep[end - 1]) - kp.origin + 1
        block = kp.block
        while -(-span // block) + 1 > middle // ROWS_PER_BLOCK:
            block *= 2
        if block != kp.block:  # the middle and the aged rows, re-blocked in one pass
            kp.block = block
            self._reblock(kp.head, end)
        else:
            self._reblock(self._open_block(), end)
        self.thins += 1

    def _open_block(self) -> int:
        """The first row of the middle's last block (which newer rows may still join)."""
        kp = self.kept
        if kp.middle_end == kp.head:
            return kp.head
        ep = self._cols["epoch"]
        last = (int(ep[kp.middle_end - 1]) - kp.origin) // kp.block
        first_epoch = kp.origin + last * kp.block
        return kp.head + int(np.searchsorted(ep[kp.head : kp.middle_end], first_epoch))

    def _reblock(self, a: int, b: int) -> None:
        """Replace rows ``[a, b)`` by their block extremes; the rows after ``b`` move up."""
        kp = self.kept
        cols = {c: self._cols[c][a:b] for c in COLUMNS}
        rows = a + block_extremes(cols["epoch"], cols, kp.origin, kp.block)
        k = len(rows)
        n = self._n
        for arr in (*self._cols.values(), self._x):
            arr[a : a + k] = arr[rows]  # rows are sorted and >= a: safe in place
            arr[a + k : a + k + n - b] = arr[b:n]  # numpy copies overlapping slices first
        self._n = a + k + n - b
        kp.middle_end = a + k + max(kp.middle_end - b, 0)

    def head(self, k: int) -> History:
        """The first ``k`` rows (a copy; ``self`` when that is all of it), with what is
        kept of them."""
        if k >= self._n:
            return self
        out = History(self.n_free, capacity=max(k, 16))
        out.extend({c: self.column(c)[:k] for c in COLUMNS}, self.x[:k])
        kp = self.kept
        if kp is not None and k > kp.head:
            out.kept = Kept(kp.head, min(kp.middle_end, k), kp.block, kp.origin)
        return out

    def describe(self) -> str:
        """``every epoch`` or which epochs a thinned history keeps (one line)."""
        if self.kept is None:
            return "every epoch"
        return self.kept.describe(self.column("epoch"))

    @classmethod
    def adopt(
        cls,
        cols: dict[str, np.ndarray],
        x: np.ndarray,
        stop: str | None = None,
        kept: Kept | None = None,
        max_rows: int | None = None,
    ) -> History:
        """A history holding these arrays themselves, without a copy (a session read from
        a file: its arrays are the history).  They are never written: the first append
        moves the rows into larger buffers of the history's own."""
        x = np.asarray(x, dtype=float)
        h = cls(x.shape[1], capacity=16, max_rows=max_rows)
        if len(x):
            h._cols = {
                c: np.asarray(cols[c], dtype=np.int64 if c == "epoch" else float) for c in COLUMNS
            }
            h._x, h._n, h._cap, h._borrowed = x, len(x), len(x), True
        h.stop = stop
        h.kept = kept
        h.set_budget(max_rows)
        return h

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._cols.values()) + self._x.nbytes


def follow_rows(epochs: np.ndarray, kept: np.ndarray, last: int) -> tuple[int, np.ndarray]:
    """After a history was thinned: how many of its rows a view has seen (those up to
    epoch ``last``) and where the rows it kept (at epochs ``kept``) are now (the ones
    thinned away are dropped)."""
    done = int(np.searchsorted(epochs, last, side="right"))
    rows = np.searchsorted(epochs[:done], kept)
    ok = rows < done
    rows, kept = rows[ok], kept[ok]
    return done, rows[epochs[rows] == kept]


def records_to_arrays(records: Sequence[Record]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Columns and the ``(k, n_free)`` parameter block of a list of records."""
    table = np.array([r[2:8] for r in records], dtype=float).reshape(-1, 6)
    cols = {"epoch": np.fromiter((r.epoch for r in records), np.int64, len(records))}
    for j, c in enumerate(COLUMNS[1:]):
        cols[c] = table[:, j]
    x = np.array([r.x for r in records], dtype=float)
    return cols, x


class Decimator:
    """Indices of at most ~``2 * max_blocks`` samples that keep every block's min and max.

    Incremental: each :meth:`update` reduces only samples that arrived since the last one,
    and when the blocks become too many their size doubles.  A curve drawn through the
    kept samples shows the same envelope as the full curve (an oscillation is not aliased
    away), and the trajectory drawn through the same indices passes through the extremes.
    """

    def __init__(self, max_blocks: int = 2048) -> None:
        self.max_blocks = int(max_blocks)
        self.reset()

    def reset(self) -> None:
        self.block = 1
        self._done = 0  # samples reduced into blocks
        self._kept = np.empty(0, dtype=np.int64)
        self._epochs: tuple[np.ndarray, int] | None = None  # epochs of _kept and of done - 1

    def update(self, y: np.ndarray, epochs: np.ndarray | None = None) -> np.ndarray:
        """Sorted indices into ``y`` (which only ever grows between resets).  With the
        history's ``epochs`` (increasing, as long as ``y``), rows a thinning history dropped
        or moved are followed: the samples kept are found again by their epochs."""
        n = len(y)
        if epochs is not None:
            self._follow(epochs)
        if n < self._done:
            self.reset()
        nb = (n - self._done) // self.block
        if nb:
            self._kept = np.concatenate([self._kept, self._reduce(y, self._done, nb)])
            self._done += nb * self.block
        while self._done // self.block > self.max_blocks:
            self.block *= 2
            nb = self._done // self.block
            self._kept = self._reduce(y, 0, nb)
            self._done = nb * self.block
        if epochs is not None and self._done:
            self._epochs = (epochs[self._kept], int(epochs[self._done - 1]))
        return np.concatenate([self._kept, np.arange(self._done, n)])

    def _follow(self, epochs: np.ndarray) -> None:
        if self._epochs is None or not self._done:
            return
        kept, last = self._epochs
        d = self._done
        if d <= len(epochs) and epochs[d - 1] == last:
            return  # nothing before row done moved
        self._done, self._kept = follow_rows(epochs, kept, last)

    def _reduce(self, y: np.ndarray, start: int, nb: int) -> np.ndarray:
        k = self.block
        if k == 1:
            return np.arange(start, start + nb)
        blk = np.nan_to_num(y[start : start + nb * k], nan=np.inf).reshape(nb, k)
        base = start + k * np.arange(nb)
        lo = base + blk.argmin(axis=1)
        hi = base + np.where(np.isfinite(blk), blk, -np.inf).argmax(axis=1)
        return np.sort(np.stack([lo, hi], axis=1), axis=1).ravel()
