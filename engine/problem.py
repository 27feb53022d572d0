"""Assembling a training problem from plain settings (the CLI; later the GUI and sessions)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .initialize import initialize
from .objective import Objective
from .optim import OPTIMIZERS, Optimizer
from .presets import Preset

__all__ = ["make_objective", "parse_hyper", "start_point"]


def make_objective(
    preset: Preset,
    free: Sequence[str] | None = None,
    at: dict[str, float] | None = None,
    performance: str = "sse",
) -> Objective:
    """The preset's problem with ``free`` parameters (default: the preset's) and fixed
    values overridden by ``at`` (label -> value)."""
    theta = preset.theta.copy()
    for label, v in (at or {}).items():
        if not math.isfinite(v):
            raise ValueError(f"{label}: value must be finite, got {v}")
        theta[preset.spec.index(label)] = v
    return Objective(
        preset.spec, preset.data, theta, list(free or preset.free), performance=performance
    )


def start_point(
    obj: Objective, start: Sequence[float] | None, seed: int, init: str = "uniform"
) -> np.ndarray:
    """Explicit start values (in the order of the free parameters) or a seeded draw."""
    if start:
        if len(start) != obj.n_free:
            raise ValueError(
                f"start: {len(start)} value(s) given for {obj.n_free} free parameter(s) "
                f"({', '.join(obj.free_labels)})"
            )
        return np.array(start, dtype=float)
    theta = initialize(obj.spec, init, np.random.default_rng(seed), obj.data.P)
    return theta[obj.free_idx]


def parse_hyper(optimizer: str, items: Sequence[str]) -> dict[str, Any]:
    """``["lr=0.5", "beta=pr"]`` -> typed values for ``optimizer``'s hyperparameters."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls: type[Optimizer] = OPTIMIZERS[optimizer]
    fields = {f.name: f for f in dataclasses.fields(cls.Hyper)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"hyperparameter: expected KEY=VALUE, got {item!r}")
        if key not in fields:
            raise ValueError(
                f"{optimizer} has no hyperparameter {key!r}; valid: {', '.join(fields)}"
            )
        f = fields[key]
        if f.metadata.get("choices"):
            out[key] = text.strip()
            continue
        try:
            v = float(text)
        except ValueError:
            raise ValueError(
                f"hyperparameter: {key} needs a number, got {text.strip()!r}"
            ) from None
        out[key] = int(v) if f.type in ("int", int) and v.is_integer() else v
    return out
