"""Training history in growable arrays, and peak-preserving decimation for display.

Arrays double their capacity when full, so appending is amortized O(1) and memory stays
proportional to the history; views ``[:n]`` are handed out, never copies.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Sequence

import numpy as np

from .trainer import Record

__all__ = ["COLUMNS", "Decimator", "History"]

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

    def __init__(self, n_free: int, capacity: int = 1024) -> None:
        self.n_free = int(n_free)
        self._n = 0
        self._cap = max(16, int(capacity))
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
        if cap == self._cap:
            return
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
        """Append ``k`` epochs: ``cols[name]`` of shape ``(k,)``, ``x`` of shape ``(k, n_free)``."""
        k = len(x)
        if k == 0:
            return
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
            self.__init__(self.n_free)
        self._n = 0
        self.stop = None

    @classmethod
    def adopt(cls, cols: dict[str, np.ndarray], x: np.ndarray, stop: str | None = None) -> History:
        """A history holding these arrays themselves, without a copy (a session read from
        a file: its arrays are the history).  They are never written: the first append
        moves the rows into larger buffers of the history's own."""
        x = np.asarray(x, dtype=float)
        h = cls(x.shape[1], capacity=16)
        if len(x):
            h._cols = {
                c: np.asarray(cols[c], dtype=np.int64 if c == "epoch" else float) for c in COLUMNS
            }
            h._x, h._n, h._cap, h._borrowed = x, len(x), len(x), True
        h.stop = stop
        return h

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._cols.values()) + self._x.nbytes


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

    def update(self, y: np.ndarray) -> np.ndarray:
        """Sorted indices into ``y`` (which only ever grows between resets)."""
        n = len(y)
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
        return np.concatenate([self._kept, np.arange(self._done, n)])

    def _reduce(self, y: np.ndarray, start: int, nb: int) -> np.ndarray:
        k = self.block
        if k == 1:
            return np.arange(start, start + nb)
        blk = np.nan_to_num(y[start : start + nb * k], nan=np.inf).reshape(nb, k)
        base = start + k * np.arange(nb)
        lo = base + blk.argmin(axis=1)
        hi = base + np.where(np.isfinite(blk), blk, -np.inf).argmax(axis=1)
        return np.sort(np.stack([lo, hi], axis=1), axis=1).ravel()
