"""The seed texts' experiments, each a ready :class:`~engine.model.setup.Setup` and start point.

The app lists them in its Experiments menu (one click each); the tests check that each
one reproduces what the seed says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgui_engine.model.initialize import initialize
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.plane_experiments import PLANE_EXPERIMENTS
from bpgui_engine.model.presets import get_preset
from bpgui_engine.model.setup import Setup
from bpgui_engine.train.trainer import StopCriteria

__all__ = ["EXPERIMENTS", "Experiment", "get_experiment"]

#: the book's contour ranges for its three parameter pairs (NND ch. 12 figures and its demo)
BOOK_RANGES = ((-5.0, 15.0), (-5.0, 15.0))  # (W1[1,1], W2[1,1])
W1_B1_RANGES = ((-10.0, 30.0), (-20.0, 10.0))  # (W1[1,1], b1[1])
BIAS_RANGES = ((-10.0, 10.0), (-10.0, 10.0))  # (b1[1], b1[2])
#: trajectory b's range: tall enough for the local minimum near (0.88, 38.6)
LOCAL_RANGES = ((-5.0, 15.0), (-5.0, 45.0))
TRAJECTORY_B_EPOCHS = 6_500_000  # it stops (no change) at 6,063,793 (NumPy 2.4, x86-64)


@dataclass(frozen=True)
class Experiment:
    key: str
    title: str
    description: str  # what is run, then a paragraph "What to look for: ..."
    start: tuple[float, ...]  # () : the network's seeded initial weights
    changes: dict[str, Any]
    #: a data set in the plane: :func:`~bpgui_engine.model.problem.plane_setup`'s
    #: arguments (None: the book's problem)
    plane: dict[str, Any] | None = None
    #: the window samples the sharpness every so many epochs while it runs (0: not asked)
    sharpness: int = 0

    @property
    def group(self) -> str:
        return "plane" if self.plane is not None else "book"

    def setup(self) -> Setup:
        """The experiment's setup with its start point written into ``theta``."""
        if self.plane is not None:
            from bpgui_engine.model.problem import plane_setup

            s = plane_setup(**self.plane).replace(**self.changes)
            return s.with_start(self.start) if self.start else s
        return Setup.from_preset("book-1-2-1", **self.changes).with_start(self.start)

    def start_point(self) -> tuple[float, ...]:
        """Where the run starts: :attr:`start`, or the setup's drawn weights."""
        return self.start or tuple(self.setup().start().tolist())


def _book(optimizer: str, epochs: int, ranges=BOOK_RANGES, **hyper: Any) -> dict[str, Any]:
    return {
        "optimizer": optimizer,
        "hyper": hyper,
        "criteria": StopCriteria(epochs=epochs),
        "ranges": ranges,
    }


def _pair(free: tuple[str, str], changes: dict[str, Any]) -> dict[str, Any]:
    return {**changes, "free": free, "axes": free}


#: the deep-layer-rates experiment: a 1-3-3-3-1 logsig network on the book's data, drawn
#: uniformly in [-1, 1] with seed 1; its first layer's gradient is ~90x its last layer's
DEEP_SPEC = NetworkSpec(1, (3, 3, 3, 1), ("logsig",) * 4)
DEEP_RATES = (64.0, 16.0, 4.0, 1.0)


def _deep_theta() -> tuple[float, ...]:
    P = get_preset("book-1-2-1").data.P
    return tuple(initialize(DEEP_SPEC, "uniform", np.random.default_rng(1), P).tolist())


def _deep(theta: tuple[float, ...]) -> dict[str, Any]:
    return {
        "spec": DEEP_SPEC,
        "theta": theta,
        "free": DEEP_SPEC.labels,
        "axes": DEEP_SPEC.labels[:2],
        "ranges": ((-10.0, 10.0), (-10.0, 10.0)),
        "optimizer": "sd",
        "hyper": {"lr": 5.0, "lr_layers": DEEP_RATES},
        "criteria": StopCriteria(epochs=50_000, goal=5e-3),
        "seed": 1,
    }


_DEEP_THETA = _deep_theta()

_LIST = [
    Experiment(
        "trajectory-a",
        "Trajectory a: steepest descent from (-4, -4) on (W1[1,1], W2[1,1])",
        "Learning rate 1, the book's first parameter pair and ranges. The path crosses a "
        "long flat region and needs more than 300,000 epochs (323,925 on the NumPy engine, "
        "323,927 on the compiled one, which rounds differently) before the weights "
        "stop changing at the optimum (10, 1).\n\n"
        "What to look for: the error curve's long plateau while the path crawls across the "
        "flat region, then the quick drop once it reaches the valley floor.",
        (-4.0, -4.0),
        _book("sd", 400_000, lr=1.0),
    ),
    Experiment(
        "trajectory-b",
        "Trajectory b: steepest descent from (-4, 10), into the local minimum",
        f"Learning rate 1. The path heads for the local minimum near (0.88, 38.6) and never "
        f"reaches zero error. It creeps: at 1,000,000 epochs it is still at (0.890, 38.20) "
        f"with gradient 7e-5; the gradient falls below 1e-6 after about 2.1 million epochs, "
        f"and the weights stop changing at (0.8828, 38.619), SSE 0.0934, after 6,063,793 "
        f"epochs (a few minutes). The maximum is {TRAJECTORY_B_EPOCHS:,} epochs so that the "
        f"run ends converged.\n\n"
        "What to look for: the error levels off at 0.0934, not 0 -- a local minimum; the "
        "gradient norm (log scale) keeps falling for millions of epochs while the path "
        "barely moves.",
        (-4.0, 10.0),
        _book("sd", TRAJECTORY_B_EPOCHS, ranges=LOCAL_RANGES, lr=1.0),
    ),
    Experiment(
        "pair-w1-b1",
        "Parameter pair (W1[1,1], b1[1]): steepest descent from (20, -15)",
        "The book's second parameter pair with its ranges, W1[1,1] in [-10, 30] and b1[1] "
        "in [-20, 10]; the other five parameters at the optimum. Learning rate 50: the "
        "weights stop changing at the optimum (10, -5) after about 150,000 epochs.\n\n"
        "What to look for: a long, narrow, curved valley -- the path first climbs to its "
        "floor, then follows it slowly to (10, -5).",
        (20.0, -15.0),
        _pair(("W1[1,1]", "b1[1]"), _book("sd", 200_000, ranges=W1_B1_RANGES, lr=50.0)),
    ),
    Experiment(
        "saddle",
        "Saddle point on the (b1[1], b1[2]) surface",
        "The book's third parameter pair: only the first-layer biases are free. The surface "
        "is symmetric, with minima at (-5, 5) and (5, -5) and a saddle point at (0, 0), "
        "where the gradient is zero: the origin is a bad start.\n\n"
        "What to look for: near the saddle the gradient is small, so the first steps "
        "are short; then the path heads into the minimum at (5, -5). A start below the "
        "diagonal b1[1] = b1[2] ends there, one above it at (-5, 5): the saddle separates "
        "the two basins. Type the start (0, 0) in the parameter table: the gradient there "
        "is zero (up to rounding) and steepest descent stays there.",
        (0.5, 0.2),
        _pair(("b1[1]", "b1[2]"), _book("sd", 100_000, ranges=BIAS_RANGES, lr=1.0)),
    ),
    Experiment(
        "unstable-lr",
        "Learning rate 100: the error stops decreasing",
        "Steepest descent with learning rate 100 from (-4, -4): the steps overshoot and the "
        "error oscillates instead of falling.\n\n"
        "What to look for: the path zig-zags across the valley; the error curve jumps "
        "up and down instead of falling, and after the first few hundred epochs stays in "
        "a band above about 0.06 without settling. Compare with the momentum "
        "experiment, which uses the same learning rate.",
        (-4.0, -4.0),
        _book("sd", 2_000, lr=100.0),
    ),
    Experiment(
        "momentum",
        "Momentum at learning rate 100, where steepest descent oscillates",
        "The book's momentum form dx = gamma dx - (1 - gamma) lr g with gamma 0.8, at the "
        "learning rate 100 at which plain steepest descent oscillates (the unstable-lr "
        "experiment), from the same start (-4, -4). Momentum filters the oscillation out "
        "and converges to (10, 1) in about 3,500 epochs.\n\n"
        "What to look for: a smooth path where steepest descent zig-zags, and an error "
        "curve that falls to 0 instead of staying in a band.",
        (-4.0, -4.0),
        _book("momentum", 20_000, lr=100.0, gamma=0.8),
    ),
    Experiment(
        "vlbp",
        "Variable learning rate from (-4, -4)",
        "The learning rate grows by eta while the error falls and shrinks by rho after a "
        "rise of more than zeta: about a hundred times fewer epochs than trajectory a.\n\n"
        "What to look for: the learning-rate curve climbing across the flat region and "
        "dropping whenever a step overshoots.",
        (-4.0, -4.0),
        _book("vlbp", 20_000),
    ),
    Experiment(
        "cg",
        "Conjugate gradient from (-4, -4)",
        "Fletcher-Reeves directions with an interval-location and golden-section line "
        "search: a few dozen epochs (line searches).\n\n"
        "What to look for: a handful of long straight segments, each one line search, "
        "and an error that falls to (nearly) exactly 0.",
        (-4.0, -4.0),
        _book("cg", 1_000),
    ),
    Experiment(
        "lm",
        "Levenberg-Marquardt from (-4, -4)",
        "mu 0.01, theta 10. Very fast, but from this start the first steps jump into the "
        "local minimum's basin and end near (0.883, 38.6): compare with trajectory a. The "
        "range reaches up to 45 to show where it ends.\n\n"
        "What to look for: a few large jumps instead of a slow path, and a final error "
        "of 0.0934, the local minimum's, not 0.",
        (-4.0, -4.0),
        _book("lm", 1_000, ranges=LOCAL_RANGES),
    ),
    Experiment(
        "incremental",
        "Incremental training (SGD, one sample at a time) from (-4, -4)",
        "The weights change after every sample, in a seeded shuffled order, with learning "
        "rate 16: one epoch is 41 small steps, each along one sample's gradient. The path "
        "wanders up to about 0.7 off the batch steepest-descent path before it settles at "
        "(10, 1) in about 600 epochs.\n\n"
        "What to look for: a ragged path and an error curve with bumps, against the smooth "
        "path of batch steepest descent (trajectory a or the momentum experiment).",
        (-4.0, -4.0),
        _book("sgd", 20_000, lr=16.0, batch_size=1),
    ),
    Experiment(
        "deep-layer-rates",
        "Per-layer learning rates on a deep logsig network",
        "A 1-3-3-3-1 network, logsig in every layer, fitting the book's 41 targets from a "
        "seeded random start; steepest descent with learning rate 5 until SSE 0.005. Each "
        "logsig layer multiplies the sensitivities by f'(n) <= 1/4, so the first layer's "
        "gradient is about 90 times smaller than the last layer's: with one rate for all "
        "layers (lr_layers 1) the first layers hardly move and the run crawls (about 28,000 "
        "epochs). With lr_layers = 64, 16, 4, 1 (four times the rate per layer further from "
        "the output) it reaches the goal in about 240 epochs.\n\n"
        "What to look for: the error curve's long plateau with equal rates against the quick "
        "drop with scaled ones; the backprop inspector's sensitivities shrinking layer by "
        "layer towards the input. Set lr_layers to 1 to see the crawl.",
        tuple(_DEEP_THETA),
        _deep(_DEEP_THETA),
    ),
]

EDGE_SPEC = NetworkSpec(1, (20, 20, 1), ("tansig", "tansig", "purelin"))


def _edge(lr: float) -> dict[str, Any]:
    """A tanh MLP fitting sin(2p) on [-2, 2] (40 points) by full-batch steepest descent
    on the MSE (Cohen et al. 2021's setting, small)."""
    from bpgui_engine.model.recipe import DataRecipe

    data = DataRecipe(kind="expression", expression="sin(2*p)", lo=-2, hi=2, points=40)
    s = Setup.from_preset("book-1-2-1", data=data).with_network(EDGE_SPEC, init="glorot", seed=0)
    return {"data": data, "spec": EDGE_SPEC, "theta": tuple(s.theta.tolist()), "free": s.free,
            "axes": s.axes, "ranges": s.ranges, "init": "glorot", "seed": 0,
            "performance": "mse", "optimizer": "sd", "hyper": {"lr": lr},
            "criteria": StopCriteria(epochs=3000)}  # fmt: skip


_EDGE_TEXT = (
    "A 1-20-20-1 tanh network fits sin(2p) (40 points) by full-batch steepest descent on "
    "the MSE for 3,000 epochs, the sharpness λmax (the Hessian's largest eigenvalue) "
    "sampled every 20 epochs: Landscape ▸ Sharpness along the run.\n\n"
    "What to look for: {}"
)
_LIST += [
    Experiment(
        "edge-of-stability",
        "Edge of stability: the sharpness rises to 2/lr and hovers there (lr 0.05)",
        _EDGE_TEXT.format(
            "λmax climbs from about 13 (progressive sharpening) to 2/lr = 40 and stays "
            "near it, while the loss keeps falling, not monotonically (Cohen et al. 2021). "
            "Then run the lr 0.01 experiment: its bound, 200, is never approached."
        ),
        _edge(0.05)["theta"],
        _edge(0.05),
        sharpness=20,
    ),
    Experiment(
        "edge-of-stability-small",
        "Edge of stability: a small rate stays far below its 2/lr (lr 0.01)",
        _EDGE_TEXT.format(
            "λmax stays far below 2/lr = 200 and the loss falls smoothly: the larger "
            "rate's run is held at its edge, this one never reaches it."
        ),
        _edge(0.01)["theta"],
        _edge(0.01),
        sharpness=20,
    ),
]

_LIST += [
    Experiment(key, title, text, start, changes, plane)
    for key, title, text, plane, changes, start in PLANE_EXPERIMENTS
]

EXPERIMENTS: dict[str, Experiment] = {e.key: e for e in _LIST}


def get_experiment(key: str) -> Experiment:
    try:
        return EXPERIMENTS[key]
    except KeyError:
        raise ValueError(
            f"experiment: unknown {key!r}; choose one of {', '.join(EXPERIMENTS)}"
        ) from None
