"""The run loop: a generator yielding one immutable :class:`Record` per epoch.

Epoch 0 (the start point) comes first.  The run stops on the maximum number of epochs,
the performance goal, the minimum gradient norm, repeated validation failures, a time
limit, divergence (a non-finite value), the optimizer's own stop (LM's ``mu_max``) or when
an accepted step no longer changes the parameters (floating-point convergence).  The last
record carries the reason.  No threads, timers, sleeps or logging here: the consumer
decides how fast to pull.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import Optimizer

__all__ = ["STOP_LABELS", "STOP_REASONS", "Record", "StopCriteria", "Trainer"]

STOP_REASONS = {
    "epochs": "maximum number of epochs reached",
    "goal": "performance goal met",
    "min_grad": "gradient norm below the minimum",
    "no_change": "the weights stopped changing",
    "validation": "validation error rose too many times in a row",
    "time": "time limit reached",
    "diverged": "diverged: a non-finite value appeared",
    "mu_max": "μ reached its maximum (no step lowers the error)",
    "no_step": "no trial step lowered the error (LM gave up this epoch)",
    "stopped": "stopped by the user",
}

#: a few words for a table's cell (the reason in full is its tooltip)
STOP_LABELS = {
    "epochs": "max epochs",
    "goal": "goal met",
    "min_grad": "min gradient",
    "no_change": "weights unchanged",
    "validation": "validation rose",
    "time": "time limit",
    "diverged": "diverged",
    "mu_max": "μ > μ max",
    "no_step": "no step",
    "stopped": "stopped",
}


class Record(NamedTuple):
    """One epoch.  ``x`` holds the free parameters (read-only)."""

    epoch: int
    x: np.ndarray
    performance: float  # the performance index F
    sse: float  # the sum of squared errors (equal to F for the default index)
    grad_norm: float  # ||dF/dx|| over the free parameters
    lr: float  # current learning rate (cg: the last line-search step; nan where none)
    mu: float  # current LM mu (nan where none)
    val_performance: float  # F on the validation set (nan without one)
    stop: str | None  # why the run ended, on the last record only


@dataclass(frozen=True)
class StopCriteria:
    """When a run ends.  Zero ``goal``/``min_grad`` and infinite ``max_time`` switch those off."""

    epochs: int = 1000
    goal: float = 0.0
    min_grad: float = 0.0
    max_fail: int = 6
    max_time: float = math.inf

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int | np.integer) or not 0 <= self.epochs <= 10**12:
            raise ValueError(f"epochs: must be an integer in [0, 1e12], got {self.epochs!r}")
        for k in ("goal", "min_grad"):
            v = getattr(self, k)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{k}: must be a finite number >= 0, got {v!r}")
        if not isinstance(self.max_fail, int | np.integer) or self.max_fail < 1:
            raise ValueError(f"max_fail: must be an integer >= 1, got {self.max_fail!r}")
        if not (isinstance(self.max_time, int | float) and self.max_time > 0):
            raise ValueError(f"max_time: must be > 0 seconds, got {self.max_time!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["max_time"] = None if math.isinf(self.max_time) else self.max_time
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StopCriteria:
        d = dict(d)
        if d.get("max_time") is None:
            d["max_time"] = math.inf
        return cls(**d)


class Trainer:
    """Runs ``optimizer`` on ``objective`` from ``x0``.

    The trainer's counters (``epoch``, validation best and failures) and the current
    point are attributes, so a run can be saved and resumed: construct a new trainer
    with the saved values and ``emit_start=False``.
    """

    def __init__(
        self,
        objective: Objective,
        optimizer: Optimizer,
        x0: np.ndarray,
        criteria: StopCriteria | None = None,
        *,
        epoch: int = 0,
        val_best: float = math.inf,
        val_fails: int = 0,
    ) -> None:
        x0 = np.array(x0, dtype=float)
        if x0.shape != (objective.n_free,):
            raise ValueError(f"start: expected {objective.n_free} values, got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("start: values must be finite")
        x0.flags.writeable = False
        self.objective = objective
        self.optimizer = optimizer
        self.criteria = criteria or StopCriteria()
        self.x = x0
        self.epoch = int(epoch)
        self.val_best = float(val_best)
        self.val_fails = int(val_fails)

    def run(self, emit_start: bool = True) -> Iterator[Record]:
        """Yield records until a stop criterion is met (the last record says which)."""
        obj, opt, crit = self.objective, self.optimizer, self.criteria
        t_end = time.perf_counter() + crit.max_time if math.isfinite(crit.max_time) else None
        # the common case (SSE, no validation set, no time limit) builds records inline
        fast = obj.validation is None and obj.perf.name == "sse" and t_end is None
        x = self.x
        f, g = obj.value_and_grad(x)
        rec = self._record(x, f, g, None, accepted=True, moved=True, t_end=t_end)
        if emit_start or rec.stop:
            yield rec
        if rec.stop:
            return
        step = opt.step
        value_and_grad = obj.value_and_grad
        show = opt.show
        nan, inf, sqrt = math.nan, math.inf, math.sqrt
        goal, min_grad, max_epochs = crit.goal, crit.min_grad, crit.epochs
        array_equal = np.array_equal
        while True:
            x_new, f_new, g_new, accepted, opt_stop = step(x, f, g, obj)
            if f_new is None or g_new is None:
                f, g = value_and_grad(x_new)
            else:
                f, g = f_new, g_new
            self.epoch = epoch = self.epoch + 1
            # comparing one element first skips the full comparison on almost every epoch
            moved = not accepted or x_new[0] != x[0] or not array_equal(x_new, x)
            x_new.flags.writeable = False
            x = self.x = x_new
            if fast and opt_stop is None and obj._pen is None:  # (a penalty: F is not the SSE)
                gn = sqrt(g.dot(g))
                # the usual epoch (no criterion met, all finite) decides in one expression;
                # NaN fails every comparison and so falls through to _stop
                if f > goal and gn > min_grad and moved and epoch < max_epochs and f < inf > gn:
                    stop = None
                else:
                    stop = self._stop(f, gn, accepted, moved)
                shown = show()
                rec = Record(
                    epoch, x, f, f, gn, shown.get("lr", nan), shown.get("mu", nan), nan, stop
                )
            else:
                rec = self._record(x, f, g, opt_stop, accepted, moved, t_end)
            yield rec
            if rec.stop:
                return

    def _record(self, x, f, g, opt_stop, accepted, moved, t_end) -> Record:
        obj = self.objective
        gn = math.sqrt(float(g @ g)) if np.all(np.isfinite(g)) else math.inf
        f = float(f)
        name = obj.perf.name
        if obj.penalty:
            sse = obj.sse(x)
        else:
            sse = f if name == "sse" else f * obj.data.T.size if name == "mse" else obj.sse(x)
        vf = math.nan
        stop = self._stop(f, gn, accepted, moved) if opt_stop is None else opt_stop
        if obj.validation is not None:
            vf = float(obj.value(x, obj.validation))
            if vf < self.val_best:
                self.val_best, self.val_fails = vf, 0
            elif self.epoch > 0:
                self.val_fails += 1
                if self.val_fails >= self.criteria.max_fail and stop is None:
                    stop = "validation"
        if stop is None and t_end is not None and time.perf_counter() >= t_end:
            stop = "time"
        if not math.isfinite(f):
            stop = "diverged"
        shown = self.optimizer.show()
        return Record(
            self.epoch,
            x,
            f,
            float(sse),
            gn,
            shown.get("lr", math.nan),
            shown.get("mu", math.nan),
            vf,
            stop,
        )

    def _stop(self, f: float, gn: float, accepted: bool, moved: bool) -> str | None:
        crit = self.criteria
        if not (math.isfinite(f) and math.isfinite(gn)):
            return "diverged"
        if f <= crit.goal:
            return "goal"
        if gn <= crit.min_grad:
            return "min_grad"
        if accepted and not moved:
            return "no_change"
        if self.epoch >= crit.epochs:
            return "epochs"
        return None
