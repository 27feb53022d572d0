"""The optimizer interface, validated hyperparameters and the registry.

An optimizer owns its hyperparameters (a frozen dataclass whose field metadata -- label,
range, log scale, help -- also generates the GUI form) and its internal state, which is
explicit and JSON-serializable (``state_dict`` / ``load_state_dict``) so that a saved run
resumes bit for bit.

``step(x, f, g, objective)`` receives the free parameters ``x`` with ``F(x)`` and
``dF/dx`` already computed, and returns a :class:`StepResult` with a *new* vector; it
never mutates its inputs.  One call is one epoch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple

import numpy as np

from bpgui_engine.model.objective import Objective

__all__ = [
    "OPTIMIZERS",
    "Hyper",
    "Optimizer",
    "StepResult",
    "hyper",
    "layer_multipliers",
    "layer_rates",
    "layer_rates_active",
    "make_optimizer",
]


def hyper(
    default: Any,
    label: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    log: bool = False,
    choices: tuple[str, ...] | None = None,
    help: str = "",
) -> Any:
    """A hyperparameter field: default, label, allowed range ``[lo, hi]`` (open ends optional)."""
    return field(
        default=default,
        metadata={
            "label": label,
            "lo": lo,
            "hi": hi,
            "lo_open": lo_open,
            "hi_open": hi_open,
            "log": log,
            "choices": choices,
            "help": help,
        },
    )


def layer_rates() -> Any:
    """The ``lr_layers`` field of the first-order methods: learning-rate multipliers per
    layer.  A number applies to every layer (default 1: the plain method); a tuple holds one
    multiplier per layer, ``(1, 0.1)`` for a two-layer network.  Metadata ``per_layer``
    tells a form generator to offer one value per layer; sessions store a number or a list.
    """
    return field(
        default=1.0,
        metadata={
            "label": "per-layer rate multipliers",
            "lo": 0.0,
            "hi": 1e6,
            "lo_open": True,
            "hi_open": False,
            "log": False,
            "choices": None,
            "per_layer": True,
            "help": "layer m's parameters step with lr x lr_layers[m]; one number = every layer",
        },
    )


@dataclass(frozen=True)
class Hyper:
    """Base of every optimizer's hyperparameters: validates each field against its metadata."""

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            md = f.metadata
            if md.get("per_layer"):
                object.__setattr__(self, f.name, _per_layer(f, v))
                continue
            if md.get("choices"):
                if v not in md["choices"]:
                    raise ValueError(
                        f"{f.name}: must be one of {', '.join(md['choices'])}, got {v!r}"
                    )
                continue
            if f.type in ("int", int):
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                    object.__setattr__(self, f.name, v)
                if not isinstance(v, int | np.integer) or isinstance(v, bool):
                    raise ValueError(f"{f.name}: must be an integer, got {v!r}")
            elif not isinstance(v, int | float | np.number) or isinstance(v, bool):
                raise ValueError(f"{f.name}: must be a number, got {v!r}")
            else:
                object.__setattr__(self, f.name, float(v))
                v = float(v)
            if not math.isfinite(v):
                raise ValueError(f"{f.name}: must be finite, got {v!r}")
            lo, hi = md.get("lo"), md.get("hi")
            bad_lo = lo is not None and (v <= lo if md["lo_open"] else v < lo)
            bad_hi = hi is not None and (v >= hi if md["hi_open"] else v > hi)
            if bad_lo or bad_hi:
                raise ValueError(f"{f.name}: {v!r} is outside the allowed range {range_text(f)}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hyper:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(
                f"unknown hyperparameter {sorted(unknown)[0]!r}; valid: {', '.join(sorted(names))}"
            )
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Hyper:
        return self.from_dict({**self.to_dict(), **changes})


def range_text(f: dataclasses.Field) -> str:
    md = f.metadata
    if md.get("choices"):
        return "{" + ", ".join(md["choices"]) + "}"
    lo = "-inf" if md.get("lo") is None else f"{md['lo']:g}"
    hi = "inf" if md.get("hi") is None else f"{md['hi']:g}"
    left = "(" if md.get("lo_open") or md.get("lo") is None else "["
    right = ")" if md.get("hi_open") or md.get("hi") is None else "]"
    return f"{left}{lo}, {hi}{right}"


def _per_layer(f: dataclasses.Field, v: Any) -> float | tuple[float, ...]:
    """A validated per-layer value: a float, or a non-empty tuple of floats."""
    many = isinstance(v, list | tuple | np.ndarray)
    items = list(v) if many else [v]
    if many and not items:
        raise ValueError(f"{f.name}: give one value per layer, or one number for all")
    out = []
    for t in items:
        if not isinstance(t, int | float | np.number) or isinstance(t, bool):
            raise ValueError(f"{f.name}: must be numbers, got {t!r}")
        t = float(t)
        lo, hi = f.metadata["lo"], f.metadata["hi"]
        if not math.isfinite(t) or t <= lo or t > hi:
            raise ValueError(f"{f.name}: {t!r} is outside the allowed range {range_text(f)}")
        out.append(t)
    return tuple(out) if many else out[0]


def layer_rates_active(h: Hyper | dict[str, Any]) -> bool:
    """Do the hyperparameters scale some layer's rate (``lr_layers`` not all 1)?"""
    v = h.get("lr_layers", 1.0) if isinstance(h, dict) else getattr(h, "lr_layers", 1.0)
    return any(float(t) != 1.0 for t in (v if isinstance(v, list | tuple) else [v]))


def layer_multipliers(h: Hyper, objective: Objective) -> np.ndarray | None:
    """Per free parameter, its layer's multiplier from ``h.lr_layers`` (None: all 1).

    ``ValueError`` when a tuple does not have one value per layer of the network."""
    v = getattr(h, "lr_layers", 1.0)
    if not isinstance(v, tuple):
        return None if v == 1.0 else np.full(objective.n_free, float(v))
    L = objective.spec.n_layers
    if len(v) != L:
        raise ValueError(f"lr_layers: {len(v)} value(s) for a network of {L} layer(s)")
    if all(t == 1.0 for t in v):
        return None
    return np.asarray(v)[objective.spec.layer_of[objective.free_idx]]


class StepResult(NamedTuple):
    """The outcome of one epoch.

    ``x``: the new free parameters (a new array).  ``value``/``grad``: ``F`` and ``dF/dx``
    at ``x`` when the optimizer already computed them (the trainer evaluates otherwise).
    ``accepted``: false for a rejected trial step (VLBP, LM), which leaves ``x`` unchanged.
    ``stop``: a reason to end the run (e.g. LM's ``mu`` above ``mu_max``).
    A named tuple, not a frozen dataclass: built once per epoch, it is 4x cheaper.
    """

    x: np.ndarray
    value: float | None = None
    grad: np.ndarray | None = None
    accepted: bool = True
    stop: str | None = None


class Optimizer:
    """Base class: one algorithm per subclass, registered in :data:`OPTIMIZERS`."""

    name: ClassVar[str]
    title: ClassVar[str]
    Hyper: ClassVar[type[Hyper]]
    stochastic: ClassVar[bool] = False
    #: needs a sum-of-squares performance index (it uses the residuals and their Jacobian)
    least_squares: ClassVar[bool] = False

    def __init__(self, hyper: Hyper | None = None, seed: int = 0, **kw: Any) -> None:
        if hyper is None:
            hyper = self.Hyper.from_dict(kw)
        elif kw:
            hyper = hyper.replace(**kw)
        if not isinstance(hyper, self.Hyper):
            raise TypeError(f"{self.name}: hyperparameters must be {self.Hyper.__name__}")
        self._hyper = hyper
        self.seed = int(seed)
        self.reset()

    @property
    def hyper(self) -> Hyper:
        return self._hyper

    @hyper.setter
    def hyper(self, h: Hyper) -> None:
        """Change hyperparameters between epochs (applies from the next step)."""
        if not isinstance(h, self.Hyper):
            raise TypeError(f"{self.name}: hyperparameters must be {self.Hyper.__name__}")
        self._hyper = h

    def reset(self) -> None:
        """Forget internal state (momentum, adapted rates, RNG position)."""

    def step(self, x: np.ndarray, f: float, g: np.ndarray, objective: Objective) -> StepResult:
        raise NotImplementedError

    def show(self) -> dict[str, float]:
        """State worth showing per epoch: ``lr`` and/or ``mu``."""
        return {}

    def report(self) -> dict[str, float]:
        """Quantities worth reporting besides ``show`` (``bpgui train --json``): e.g.
        Bayesian regularization's γ, α and β."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(f"{self.name}: unexpected state keys {sorted(state)}")


OPTIMIZERS: dict[str, type[Optimizer]] = {}


def register(cls: type[Optimizer]) -> type[Optimizer]:
    OPTIMIZERS[cls.name] = cls
    return cls


def make_optimizer(name: str, seed: int = 0, **hyper: Any) -> Optimizer:
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"optimizer: unknown {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        ) from None
    return cls(seed=seed, **hyper)


def arr(v: Any) -> np.ndarray | None:
    return None if v is None else np.array(v, dtype=float)


def lst(v: np.ndarray | None) -> list[float] | None:
    return None if v is None else [float(t) for t in v]
