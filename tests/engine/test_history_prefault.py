"""History.prefault makes rows resident without changing them (a reader thread calls it
ahead of the GUI thread's writes)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bpgui_engine.history import COLUMNS, History


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_POPULATE_WRITE is Linux's")
def test_prefault_makes_the_rows_resident():
    h = History(2, capacity=4_000_000)  # ~400 MB of address space, none of it resident
    before = _rss_kb()
    h.prefault(0, 1_000_000)  # every column and x: about 80 MB
    grown_mb = (_rss_kb() - before) / 1024
    assert grown_mb > 50, grown_mb  # the pages are there now (a kernel without the call: 0)
