"""Built-in problems.  ``book-1-2-1`` is Hagan et al., *Neural Network Design*, ch. 12."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.data import Dataset, function_dataset
from bpgui_engine.model.network import NetworkSpec

__all__ = ["BOOK_OPTIMUM", "PRESETS", "Preset", "get_preset"]

#: The seed's equation (1), in flat order W1[1,1], W1[2,1], b1[1], b1[2], W2[1,1], W2[1,2], b2[1].
BOOK_OPTIMUM = np.array([10.0, 10.0, -5.0, 5.0, 1.0, 1.0, -1.0])


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    spec: NetworkSpec
    data: Dataset
    theta: np.ndarray  # default parameter vector
    free: tuple[str, ...]  # default free parameters
    axes: tuple[str, str]  # default contour axes
    ranges: tuple[tuple[float, float], tuple[float, float]]


def _book() -> Preset:
    spec = NetworkSpec(1, (2, 1), ("logsig", "logsig"))
    P = np.round(np.arange(-20, 21) / 10.0, 12)[None, :]  # p = -2, -1.9, ..., 2 (41 points)
    T = spec.output(BOOK_OPTIMUM, P)
    return Preset(
        name="book-1-2-1",
        description="1-2-1 logsig network fitting targets made by equation (1) (NND ch. 12)",
        spec=spec,
        data=Dataset(P, T, name="book 1-2-1 targets"),
        theta=BOOK_OPTIMUM.copy(),
        free=("W1[1,1]", "W2[1,1]"),
        axes=("W1[1,1]", "W2[1,1]"),
        ranges=((-5.0, 15.0), (-5.0, 15.0)),
    )


def _sine() -> Preset:
    spec = NetworkSpec(1, (2, 1), ("logsig", "purelin"))
    theta = np.array([-0.27, -0.41, -0.48, -0.13, 0.09, -0.17, 0.48])  # NND ch. 11 example
    return Preset(
        name="sine-1-2-1",
        description="1-2-1 logsig/purelin network fitting 1 + sin(pi/4 p) (NND ch. 11)",
        spec=spec,
        data=function_dataset("1 + sin(pi/4*p)", -2, 2, 21),
        theta=theta,
        free=spec.labels,
        axes=("W1[1,1]", "W2[1,1]"),
        ranges=((-10.0, 10.0), (-10.0, 10.0)),
    )


PRESETS: dict[str, Preset] = {p.name: p for p in (_book(), _sine())}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset: unknown {name!r}; choose one of {', '.join(PRESETS)}") from None
