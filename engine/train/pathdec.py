"""Which points of a long weight trajectory to draw.

Decimating a path by its error (the curves' min/max decimator) keeps the points where the
SSE is extreme, which can be far apart along the path: the drawn path then cuts straight
across a bend the weights really took.  :class:`PathDecimator` keeps points evenly spaced
along the path's *length* in display coordinates (each axis scaled by its range), so every
bend wider than the spacing is drawn where it is.  It works incrementally, in memory
bounded by the number of points kept: when more than ``2 * points`` are kept, the spacing
doubles and every other point goes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PathDecimator"]


class PathDecimator:
    def __init__(self, points: int = 2000) -> None:
        self.points = int(points)
        self.reset()

    def reset(self) -> None:
        self.done = 0  # rows already seen
        self.total = 0.0  # path length up to row done - 1
        self.eps = 0.0  # spacing (0: not known yet, keep everything)
        self._last: tuple[float, float] | None = None
        self._idx = np.empty(0, dtype=np.int64)
        self._cum = np.empty(0)
        self._epochs: tuple[np.ndarray, int] | None = None  # of _idx and of row done - 1
        self._column: np.ndarray | None = None

    def follow(self, epochs: np.ndarray) -> int:
        """Call before taking the rows from :attr:`done` on, with the history's whole
        (increasing) epoch column: when a thinning history dropped or moved rows, the
        points kept are found again by their epochs.  Returns :attr:`done`."""
        memo = self._epochs
        d = self.done
        if memo is None or not d:
            pass
        elif d > len(epochs) or epochs[d - 1] != memo[1]:
            kept, last = memo
            self.done = int(np.searchsorted(epochs, last, side="right"))
            rows = np.searchsorted(epochs[: self.done], kept)
            ok = rows < self.done
            ok[ok] = epochs[rows[ok]] == kept[ok]
            self._idx, self._cum = rows[ok], self._cum[ok]
            # what it holds now (the row it saw last may itself have been thinned away)
            self._epochs = (epochs[self._idx], int(epochs[self.done - 1])) if self.done else None
        self._column = epochs  # update() notes the epochs of what it kept
        return self.done

    def kept_rows(self) -> np.ndarray:
        """The rows kept so far (before :attr:`done`)."""
        return self._idx.copy()

    def update(self, xs: np.ndarray, ys: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
        """Add the path's new points ``xs, ys`` (rows ``done`` onward) and return the
        indices to draw (sorted, the first and the newest included).  ``scale``: the
        axes' ranges, so a unit of length means the same on both axes."""
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        k = len(xs)
        if k:
            sx, sy = (float(s) if s > 0 else 1.0 for s in scale)
            if self._last is not None:
                xs_ = np.concatenate(([self._last[0]], xs))
                ys_ = np.concatenate(([self._last[1]], ys))
            else:
                xs_, ys_ = xs, ys
            with np.errstate(invalid="ignore", over="ignore"):
                d = np.hypot(np.diff(xs_) / sx, np.diff(ys_) / sy)
            d = np.where(np.isfinite(d), d, 0.0)
            cum = self.total + np.cumsum(d)
            if self._last is None:
                cum = np.concatenate(([0.0], cum))
            rows = np.arange(self.done, self.done + k)
            self._keep(rows, cum)
            self.total = float(cum[-1])
            self.done += k
            self._last = (float(xs[-1]), float(ys[-1]))
        if self.done == 0:
            return np.empty(0, dtype=np.int64)
        ep, self._column = self._column, None
        if ep is not None and len(ep) >= self.done:
            self._epochs = (ep[self._idx], int(ep[self.done - 1]))
        idx = self._idx
        if not idx.size or idx[-1] != self.done - 1:
            idx = np.append(idx, self.done - 1)
        return idx

    def _keep(self, rows: np.ndarray, cum: np.ndarray) -> None:
        if self.eps == 0.0:
            self._idx = np.concatenate((self._idx, rows))
            self._cum = np.concatenate((self._cum, cum))
            if len(self._idx) > 2 * self.points:
                self.eps = max(self.total, float(cum[-1])) / self.points or 1e-300
                self._thin()
            return
        # the first point past each multiple of eps
        last_bin = np.floor(self._cum[-1] / self.eps) if self._cum.size else -1.0
        bins = np.floor(cum / self.eps)
        new = np.flatnonzero(bins != np.concatenate(([last_bin], bins[:-1])))
        self._idx = np.concatenate((self._idx, rows[new]))
        self._cum = np.concatenate((self._cum, cum[new]))
        while len(self._idx) > 2 * self.points:
            self.eps *= 2.0
            self._thin()

    def _thin(self) -> None:
        bins = np.floor(self._cum / self.eps)
        keep = np.concatenate(([True], bins[1:] != bins[:-1]))
        self._idx, self._cum = self._idx[keep], self._cum[keep]
