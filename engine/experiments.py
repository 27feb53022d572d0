"""The seed texts' experiments, each a ready :class:`~engine.setup.Setup` and start point.

The app lists them in its Experiments menu (one click each); the tests check that each
one reproduces what the seed says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .setup import Setup
from .trainer import StopCriteria

__all__ = ["EXPERIMENTS", "Experiment", "get_experiment"]

BOOK_RANGES = ((-5.0, 15.0), (-5.0, 15.0))


@dataclass(frozen=True)
class Experiment:
    key: str
    title: str
    description: str
    start: tuple[float, ...]
    changes: dict[str, Any]

    def setup(self) -> Setup:
        """The experiment's setup with its start point written into ``theta``."""
        return Setup.from_preset("book-1-2-1", **self.changes).with_start(self.start)


def _book(optimizer: str, epochs: int, ranges=BOOK_RANGES, **hyper: Any) -> dict[str, Any]:
    return {
        "optimizer": optimizer,
        "hyper": hyper,
        "criteria": StopCriteria(epochs=epochs),
        "ranges": ranges,
    }


_LIST = [
    Experiment(
        "trajectory-a",
        "Trajectory a: steepest descent from (-4, -4)",
        "Learning rate 1. The path crosses a long flat region and needs more than 300,000 "
        "epochs before the weights stop changing at the optimum (10, 1).",
        (-4.0, -4.0),
        _book("sd", 400_000, lr=1.0),
    ),
    Experiment(
        "trajectory-b",
        "Trajectory b: steepest descent from (-4, 10)",
        "Learning rate 1. The path heads for the local minimum near (0.88, 38.6) and never "
        "reaches zero error.",
        (-4.0, 10.0),
        _book("sd", 1_000_000, ranges=((-5.0, 15.0), (-5.0, 45.0)), lr=1.0),
    ),
    Experiment(
        "unstable-lr",
        "Learning rate 100: the error stops decreasing",
        "Steepest descent with learning rate 100 from (-4, -4): the steps overshoot and the "
        "error oscillates instead of falling.",
        (-4.0, -4.0),
        _book("sd", 2_000, lr=100.0),
    ),
    Experiment(
        "saddle",
        "Saddle point on the (b1[1], b1[2]) surface",
        "Only the first-layer biases are free. The surface is symmetric, with minima at "
        "(-5, 5) and (5, -5) and a saddle point at (0, 0), where the gradient is zero: "
        "the origin is a bad start.",
        (0.5, 0.2),
        {
            **_book("sd", 100_000, ranges=((-10.0, 10.0), (-10.0, 10.0)), lr=1.0),
            "free": ("b1[1]", "b1[2]"),
            "axes": ("b1[1]", "b1[2]"),
        },
    ),
    Experiment(
        "momentum",
        "Momentum from (-4, -4)",
        "The book's momentum form (learning rate 4, gamma 0.8): the same start as trajectory "
        "a, several times fewer epochs.",
        (-4.0, -4.0),
        _book("momentum", 200_000, lr=4.0, gamma=0.8),
    ),
    Experiment(
        "vlbp",
        "Variable learning rate from (-4, -4)",
        "The learning rate grows by eta while the error falls and shrinks by rho after a "
        "rise of more than zeta: about a hundred times fewer epochs than trajectory a.",
        (-4.0, -4.0),
        _book("vlbp", 20_000),
    ),
    Experiment(
        "cg",
        "Conjugate gradient from (-4, -4)",
        "Fletcher-Reeves directions with an interval-location and golden-section line "
        "search: a few dozen epochs (line searches).",
        (-4.0, -4.0),
        _book("cg", 1_000),
    ),
    Experiment(
        "lm",
        "Levenberg-Marquardt from (-4, -4)",
        "mu 0.01, theta 10. Very fast, but from this start the first steps jump into the "
        "local minimum's basin: compare with trajectory a.",
        (-4.0, -4.0),
        _book("lm", 1_000),
    ),
    Experiment(
        "incremental",
        "Incremental training (SGD, one sample at a time) from (-4, -4)",
        "The weights change after every sample, in a seeded shuffled order: a noisier path "
        "than batch steepest descent (trajectory a), which it can be compared with.",
        (-4.0, -4.0),
        _book("sgd", 20_000, lr=1.0, batch_size=1),
    ),
]

EXPERIMENTS: dict[str, Experiment] = {e.key: e for e in _LIST}


def get_experiment(key: str) -> Experiment:
    try:
        return EXPERIMENTS[key]
    except KeyError:
        raise ValueError(
            f"experiment: unknown {key!r}; choose one of {', '.join(EXPERIMENTS)}"
        ) from None
