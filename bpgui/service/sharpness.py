"""The current run's sharpness samples as they arrive from the engine process (Qt-free).

The engine samples λmax every :attr:`SharpnessTrack.every` epochs (0: off) within its
time budget (:mod:`bpgui_engine.train.sharpness`); the samples belong to the run: a new
run, New, Open and Reset clear them, Continue keeps them.  Saved in sessions as the
``sharpness`` section.
"""

from __future__ import annotations

import numpy as np

from bpgui_engine.train.sharpness import BUDGET  # the share of the run's time (0: no limit)

DEFAULT_EVERY = 10  # epochs between samples when sampling is on (the budget may thin them)


class SharpnessTrack:
    def __init__(self) -> None:
        self.every = 0  # 0: not sampled
        self.budget = BUDGET
        self.epochs: list[int] = []
        self.values: list[float] = []

    def __len__(self) -> int:
        return len(self.epochs)

    def clear(self) -> None:
        self.epochs.clear()
        self.values.clear()

    def add(self, epoch: int, value: float) -> None:
        if self.epochs and epoch <= self.epochs[-1]:  # a continued run resampled: keep order
            k = int(np.searchsorted(self.epochs, epoch))
            del self.epochs[k:], self.values[k:]
        self.epochs.append(int(epoch))
        self.values.append(float(value))

    def request(self) -> dict:
        """The sampling asked of the engine with a run."""
        return {"sharpness": self.every, "sharpness_budget": self.budget}

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.epochs, dtype=np.int64), np.asarray(self.values, dtype=float)

    def saved(self) -> tuple[np.ndarray, np.ndarray, int] | None:
        """What a session stores (None: nothing sampled and sampling off)."""
        if not self.epochs and not self.every:
            return None
        return (*self.arrays(), self.every)

    def restore(self, saved: tuple | None, upto: int | None = None) -> None:
        """From a session's section (``upto``: drop samples past this epoch)."""
        self.clear()
        if saved is None:
            self.every = 0
            return
        ep, val, every = saved
        self.every = int(every)
        for e, v in zip(ep, val, strict=True):
            if upto is None or e <= upto:
                self.add(int(e), float(v))
