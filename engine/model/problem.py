"""Assembling a training problem from plain settings (the command line's flags)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bpgui_engine.model.initialize import initialize
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import Preset
from bpgui_engine.model.setup import DataRecipe, Setup
from bpgui_engine.model.toy import get_toy
from bpgui_engine.optim import OPTIMIZERS, Optimizer
from bpgui_engine.train.trainer import StopCriteria

__all__ = [
    "make_objective",
    "parse_dataset",
    "parse_hyper",
    "plane_setup",
    "setup_from_options",
    "start_point",
]


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
        if not key:
            raise ValueError(f"hyperparameter: an empty name in {item!r}")
        if key in out:  # the last would win silently
            raise ValueError(f"hyperparameter: {key} given twice")
        if key not in fields:
            raise ValueError(
                f"{optimizer} has no hyperparameter {key!r}; valid: {', '.join(fields)}"
            )
        f = fields[key]
        if f.metadata.get("per_layer"):  # lr_layers=1,0.1: one per layer; one number: all
            try:
                vals = [float(t) for t in text.split(",")]
            except ValueError:
                raise ValueError(
                    f"hyperparameter: {key} needs numbers separated by commas, got {text.strip()!r}"
                ) from None
            out[key] = tuple(vals) if "," in text else vals[0]
            continue
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


DATASET_KEYS = {"noise": float, "samples": int, "test": float, "seed": int}


def parse_dataset(text: str) -> tuple[str, dict[str, Any]]:
    """``"spiral:noise=0.1,samples=400,test=0.5,seed=1"`` -> ``("spiral", {...})``."""
    name, _, rest = text.partition(":")
    name = name.strip()
    get_toy(name)  # raises with the list of data sets
    out: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in DATASET_KEYS:
            raise ValueError(
                f"--dataset: expected KEY=VALUE with KEY one of {', '.join(DATASET_KEYS)}, "
                f"got {item!r}"
            )
        if key in out:
            raise ValueError(f"--dataset: {key} given twice")
        try:
            v = float(value)
        except ValueError:
            raise ValueError(f"--dataset: {key} needs a number, got {value.strip()!r}") from None
        if DATASET_KEYS[key] is int:
            if not v.is_integer():
                raise ValueError(f"--dataset: {key} needs a whole number, got {value.strip()!r}")
            v = int(v)
        out[key] = v
    return name, out


def plane_setup(
    dataset: str,
    layers: Sequence[int] = (8,),
    transfer: str = "tansig",
    output: str | None = None,
    features: Sequence[str] = ("x1", "x2"),
    performance: str | None = None,
    l2: float = 0.0,
    l1: float = 0.0,
    seed: int = 0,
    init: str = "uniform",
) -> Setup:
    """A setup for a data set in the plane (``dataset``: :func:`parse_dataset`'s text): the
    hidden ``layers`` with ``transfer``, an output layer sized by the data (``output``:
    logsig for one class output, softmax for several, purelin for regression), every
    parameter free and drawn by ``init`` from ``seed``.  The performance index defaults
    to cross-entropy for classes and the SSE for regression."""
    name, opts = parse_dataset(dataset)
    toy = get_toy(name)
    test = opts.get("test", 0.5)
    if not 0.0 < test < 1.0:
        raise ValueError(f"--dataset: test must be in (0, 1), got {test:g}")
    coding = "onehot" if output == "softmax" else "auto"
    recipe = DataRecipe.plane(
        name, samples=opts.get("samples", 500), noise=opts.get("noise", 0.0), test=test,
        noise_seed=opts.get("seed", 0), split_seed=opts.get("seed", 0),
        features=tuple(features), coding=coding,
    )  # fmt: skip
    n_out = recipe.build()[0].n_outputs
    if output is None:
        output = "purelin" if toy.regression else "logsig" if n_out == 1 else "softmax"
    if output == "softmax" and n_out < 2:
        raise ValueError("--output: softmax needs two or more outputs (a class each)")
    if performance is None:
        performance = "sse" if toy.regression or output not in ("logsig", "softmax") else "ce"
    spec = NetworkSpec(
        len(recipe.features), (*map(int, layers), n_out), (transfer,) * len(layers) + (output,)
    )
    base = Setup.from_preset().replace(data=recipe, l2=l2, l1=l1)
    return base.with_network(spec, init=init, seed=seed).replace(performance=performance)


def setup_from_options(
    preset: str = "book-1-2-1",
    free: Sequence[str] | None = None,
    start: Sequence[float] | None = None,
    optimizer: str = "sd",
    hyper: Sequence[str] = (),
    epochs: int = 1000,
    goal: float = 0.0,
    min_grad: float = 0.0,
    time_limit: float | None = None,
    performance: str = "sse",
    seed: int = 0,
    base: Setup | None = None,
    l2: float = 0.0,
    l1: float = 0.0,
) -> tuple[Setup, np.ndarray]:
    """A :class:`~engine.model.setup.Setup` and its start point from plain options (the flags of
    ``bpgui train``), so that training from flags is training a fresh session.

    ``free`` defaults to the preset's; the contour axes stay the preset's when they are
    free (else the first two free parameters, over [-10, 10]).  ``start`` is in the order
    of ``free``; without it the free parameters are drawn uniformly in [-1, 1] from
    ``seed``.  ``goal`` applies to the performance index being minimized.  ``base`` (e.g.
    :func:`plane_setup`'s) replaces the preset: its network, data, free parameters, axes,
    performance index and penalties."""
    p = base if base is not None else Setup.from_preset(preset, l2=l2, l1=l1)
    free = tuple(free or p.free)
    axes, ranges = p.axes, p.ranges
    if len(free) >= 2 and not set(axes) <= set(free):
        axes, ranges = (free[0], free[1]), ((-10.0, 10.0), (-10.0, 10.0))
    setup = p.replace(
        free=free,
        axes=axes,
        ranges=ranges,
        optimizer=optimizer,
        hyper=parse_hyper(optimizer, hyper),
        criteria=StopCriteria(
            epochs=epochs,
            goal=goal,
            min_grad=min_grad,
            max_time=math.inf if time_limit is None else time_limit,
        ),
        seed=seed,
        performance=performance,
    )
    rates = setup.hyper.get("lr_layers")
    if isinstance(rates, tuple | list) and len(rates) != p.spec.n_layers:
        raise ValueError(
            f"lr_layers: {len(rates)} value(s) for a network of {p.spec.n_layers} layer(s)"
        )
    x0 = start_point(setup.objective(), start, seed)
    return setup.with_start(x0), x0
