"""History.prefault makes rows resident without changing them (a reader thread calls it
ahead of the GUI thread's writes)."""

from __future__ import annotations

import ctypes
import mmap
import sys

import numpy as np
import pytest

from bpgui_engine.train.history import COLUMNS, History


def test_prefault_keeps_what_is_written_and_extend_still_works():
    h = History(2, capacity=100_000)
    k = 500
    cols = {c: np.arange(k, dtype=float) + j for j, c in enumerate(COLUMNS)}
    x = np.arange(2 * k, dtype=float).reshape(k, 2)
    h.extend(cols, x)
    h.prefault(0, 2 * k)  # over written and unwritten rows
    for c in COLUMNS:
        assert np.array_equal(h.column(c), cols[c]), c
    assert np.array_equal(h.x, x)
    h.prefault(10**9, 5)  # beyond the capacity: nothing
    h.extend(cols, x)
    assert len(h) == 2 * k and np.array_equal(h.x[k:], x)


def _resident_fraction(a) -> float:
    """The fraction of ``a``'s pages in memory (Linux mincore)."""
    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.PAGESIZE
    lo = a.ctypes.data - a.ctypes.data % page
    length = a.ctypes.data + a.nbytes - lo
    n = (length + page - 1) // page
    vec = (ctypes.c_ubyte * n)()
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    assert libc.mincore(ctypes.c_void_p(lo), ctypes.c_size_t(length), vec) == 0
    return sum(b & 1 for b in vec) / n


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_POPULATE_WRITE is Linux's")
def test_prefault_makes_the_rows_resident():
    # 64 MB a column: above glibc's largest mmap threshold (32 MB), so every column is a
    # fresh mapping, none of it resident (smaller blocks may reuse touched heap memory)
    h = History(2, capacity=8_000_000)
    col = h._cols["sse"]
    first = col[:1_000_000]
    if not h.prefault(0, 1_000_000):
        pytest.skip("the kernel refused MADV_POPULATE_WRITE here")
    assert _resident_fraction(first) > 0.95  # the pages are there now, contents unchanged
