"""Earlier runs, each tagged with the problem it belongs to (Qt-free).

A path drawn on the contour means something only on the surface it was trained on: the
same network, data, performance index, free parameters and fixed values.  The archive
keeps every earlier run with that key and its path as *free-parameter vectors*, so a view
shows only the runs of the current problem and projects them onto whatever axes are
current (an axes swap re-projects them instead of drawing them transposed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.train.history import Decimator, History

MAX_RUNS = 12
MAX_POINTS = 2048  # per archived path (min/max-preserving decimation)


@dataclass(frozen=True)
class ArchivedRun:
    key: tuple
    X: np.ndarray  # (k, n_free) decimated path of free vectors
    epochs: np.ndarray  # (k,)
    performance: np.ndarray  # (k,) SSE, for the faint error curve


def archived(key: tuple, h: History) -> ArchivedRun | None:
    """``h`` decimated for the archive, or None when it has fewer than two epochs."""
    if h is None or len(h) < 2:
        return None
    by_error = Decimator(max_blocks=MAX_POINTS // 2).update(h.column("sse"))
    x = np.asarray(h.x, float)
    # the path evenly along its length in each free parameter's own scale, so any axes
    # it is later projected onto show its bends
    span = np.ptp(np.where(np.isfinite(x), x, 0.0), axis=0)
    scaled = x / np.where(span > 0, span, 1.0)
    step = np.linalg.norm(np.diff(scaled, axis=0), axis=1)
    cum = np.concatenate(([0.0], np.cumsum(np.where(np.isfinite(step), step, 0.0))))
    along = np.searchsorted(cum, np.linspace(0.0, cum[-1], MAX_POINTS))
    idx = np.union1d(by_error, np.minimum(along, len(h) - 1))
    return ArchivedRun(
        key,
        np.array(h.x[idx], dtype=float),
        np.array(h.column("epoch")[idx], dtype=float),
        np.array(h.column("sse")[idx], dtype=float),
    )


class RunArchive:
    """The most recent earlier runs (oldest dropped first)."""

    def __init__(self) -> None:
        self.runs: list[ArchivedRun] = []

    def add(self, run: ArchivedRun | None) -> None:
        if run is None:
            return
        self.runs.append(run)
        del self.runs[:-MAX_RUNS]

    def matching(self, key: tuple) -> list[ArchivedRun]:
        return [r for r in self.runs if r.key == key]

    def clear(self) -> None:
        self.runs.clear()

    def __len__(self) -> int:
        return len(self.runs)
