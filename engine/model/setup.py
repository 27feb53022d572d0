"""An experiment's complete, plain description: network, data recipe, free parameters,
contour axes, optimizer and stopping criteria.

:class:`Setup` is the Qt-free model the app edits and (later) the session file stores.
It is immutable; edits make a new one with :meth:`Setup.replace`, which validates the
whole description and raises ``ValueError`` naming the field at fault.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpgui_engine.model.initialize import INITS, initialize
from bpgui_engine.model.labels import ParamLabels
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective, check_problem
from bpgui_engine.model.penalty import Penalty
from bpgui_engine.model.performance import get_performance
from bpgui_engine.model.presets import get_preset
from bpgui_engine.model.recipe import DATA_KINDS, DataRecipe
from bpgui_engine.optim import OPTIMIZERS, Optimizer, mismatch
from bpgui_engine.train.trainer import StopCriteria

__all__ = ["DATA_KINDS", "DataRecipe", "Setup", "setup_from_dict", "setup_to_dict"]

DEFAULT_EPOCHS = 500_000


@dataclass(frozen=True, eq=False)
class Setup:
    """Everything that defines a training run except its progress.

    ``theta`` (the full parameter vector: the fixed values and the default start) is a
    read-only float array and ``free`` a :class:`ParamLabels` (labels held as positions):
    both accept any sequence when a setup is made, and a 4-million-parameter network's
    setup costs its two arrays, not millions of Python objects.
    """

    spec: NetworkSpec
    data: DataRecipe
    theta: np.ndarray
    free: ParamLabels
    axes: tuple[str, str]
    ranges: tuple[tuple[float, float], tuple[float, float]]
    optimizer: str = "sd"
    hyper: dict[str, Any] = field(default_factory=dict)
    criteria: StopCriteria = field(default_factory=StopCriteria)
    init: str = "uniform"
    seed: int = 0
    performance: str = "sse"
    l2: float = 0.0  # weight penalties added to the performance index
    l1: float = 0.0  # (bpgui_engine.model.penalty)

    def __post_init__(self) -> None:
        Penalty(self.l2, self.l1)  # validates
        object.__setattr__(self, "l2", float(self.l2))
        object.__setattr__(self, "l1", float(self.l1))
        spec = self.spec
        theta = _param_vector(self.theta)
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "axes", tuple(self.axes))
        object.__setattr__(self, "ranges", tuple(tuple(map(float, r)) for r in self.ranges))
        if theta.shape != (spec.n_params,):
            raise ValueError(f"theta: expected {spec.n_params} values, got {theta.size}")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta: parameters must be finite")
        free = ParamLabels.free(spec, self.free)  # raises listing the valid labels
        object.__setattr__(self, "free", free)
        axes = [spec.index(lab) for lab in self.axes]  # raises listing the valid labels
        if len(axes) != 2 or axes[0] == axes[1]:
            raise ValueError("axes: choose two different parameters")
        if len(free) >= 2 and not all(a in free for a in self.axes):
            raise ValueError("axes: both contour axes must be free parameters")
        for name, (lo, hi) in zip(self.axes, self.ranges, strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                raise ValueError(f"range of {name}: need finite MIN < MAX, got [{lo}, {hi}]")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer: unknown {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        h = OPTIMIZERS[self.optimizer].Hyper.from_dict(self.hyper)  # validates
        object.__setattr__(self, "hyper", h.to_dict())
        if self.init not in INITS:
            raise ValueError(f"init: unknown method {self.init!r}; choose one of {INITS}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Setup):
            return NotImplemented
        return not self.differs(other, *(f.name for f in dataclasses.fields(self)))

    def differs(self, other: Setup, *names: str) -> bool:
        """Whether ``other`` differs from this setup in any of the fields ``names``."""
        for name in names:
            a, b = getattr(self, name), getattr(other, name)
            if isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return True
            elif a != b:
                return True
        return False

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str = "book-1-2-1", **changes: Any) -> Setup:
        p = get_preset(name)
        base = cls(
            spec=p.spec,
            data=DataRecipe(kind="preset", preset=name),
            theta=p.theta,
            free=p.free,
            axes=p.axes,
            ranges=p.ranges,
            # enough for the book's slowest path (trajectory a: ~324,000 epochs)
            criteria=StopCriteria(epochs=DEFAULT_EPOCHS),
        )
        return base.replace(**changes) if changes else base

    def replace(self, **changes: Any) -> Setup:
        """A validated copy with ``changes``; free/axes are repaired when the network changes."""
        if "optimizer" in changes and "hyper" not in changes:
            changes["hyper"] = {}
        return dataclasses.replace(self, **changes)

    def with_network(self, spec: NetworkSpec, init: str | None = None, seed: int | None = None):
        """A new network: parameters drawn by the init method; all free; first two as axes."""
        init = self.init if init is None else init
        seed = self.seed if seed is None else seed
        train, _ = self.data.build()
        theta = initialize(spec, init, np.random.default_rng(seed), train.P)
        axes = (spec.label(0), spec.label(1 if spec.n_params > 1 else 0))
        return self.replace(
            spec=spec,
            theta=theta,
            free=ParamLabels.all(spec),
            axes=axes,
            ranges=((-10.0, 10.0), (-10.0, 10.0)),
            init=init,
            seed=seed,
        )

    # ---- derived objects ---------------------------------------------------------------
    @property
    def theta_array(self) -> np.ndarray:
        return np.array(self.theta)

    @property
    def penalty(self) -> Penalty:
        return Penalty(self.l2, self.l1)

    @property
    def index_name(self) -> str:
        """The performance index training minimizes, as shown: ``SSE``, or with its
        penalties ``CE + 0.01‖w‖²``."""
        return self.performance.upper() + self.penalty.text()

    def objective(self) -> Objective:
        train, val = self.data.build()
        return Objective(
            self.spec, train, self.theta, self.free, self.performance, val, self.penalty
        )

    def test_objective(self) -> Objective | None:
        """The objective on the test set (the plain index, no penalty), or None without
        a test set."""
        test = self.data.prepare().test
        if test is None:
            return None
        return Objective(self.spec, test, self.theta, self.free, self.performance)

    def check(self) -> None:
        """Build the data and check that it fits the network and the performance index
        (what :meth:`objective` checks, without its per-parameter buffers)."""
        train, val = self.data.build()
        check_problem(self.spec, train, self.performance, val)

    def make_optimizer(self, seed: int | None = None) -> Optimizer:
        """The setup's optimizer; ``ValueError`` when it cannot minimize the performance
        index (Levenberg-Marquardt with cross-entropy)."""
        why = mismatch(self.optimizer, get_performance(self.performance), self.l1, self.l2)
        if why:
            raise ValueError(why)
        cls = OPTIMIZERS[self.optimizer]
        return cls(cls.Hyper.from_dict(self.hyper), seed=self.seed if seed is None else seed)

    def start(self) -> np.ndarray:
        """The free parameters' values in ``theta`` (the default start point)."""
        return self.theta[self.free.idx]

    @property
    def free_idx(self) -> np.ndarray:
        """The free parameters' positions in ``theta`` (read-only)."""
        return self.free.idx

    def full_theta(self, x: np.ndarray) -> np.ndarray:
        """The full parameter vector: ``theta`` with the free parameters set to ``x``."""
        theta = self.theta_array
        theta[self.free_idx] = x
        return theta

    def with_start(self, x: np.ndarray) -> Setup:
        """This setup with the free parameters' values in ``theta`` set to ``x``."""
        return self.replace(theta=self.full_theta(x))

    def axis_values(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The contour coordinates of free vectors ``X`` (shape ``(..., n_free)``); an axis
        that is not free keeps its value in ``theta``."""
        X = np.asarray(X, dtype=float)
        out = []
        for lab in self.axes:
            if lab in self.free:
                out.append(X[..., self.free.index(lab)])
            else:
                out.append(np.full(X.shape[:-1], self.theta[self.spec.index(lab)]))
        return out[0], out[1]

    def point_from_axes(self, x: float, y: float, current: np.ndarray | None = None) -> np.ndarray:
        """A free vector at contour point ``(x, y)``: the other free parameters from
        ``current`` (default: ``theta``)."""
        v = self.start() if current is None else np.array(current, dtype=float)
        for lab, val in zip(self.axes, (x, y), strict=True):
            if lab in self.free:
                v[self.free.index(lab)] = val
        return v


#: vectors longer than this go into a session file as ``.npy`` members, not JSON lists
INLINE_LIMIT = 1000


def setup_to_dict(setup: Setup, arrays: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """A JSON-safe dict (stable names only, no code).  With ``arrays`` (a session being
    written), ``theta`` and ``free`` longer than :data:`INLINE_LIMIT` are put there as
    ``setup.theta`` (float64) and ``setup.free`` (int64 positions) and the dict refers to
    them: ``{"array": "setup.theta"}``, ``{"array": "setup.free", "count": k}``."""
    theta: Any = setup.theta.tolist()
    free: Any = list(setup.free)
    if arrays is not None and setup.spec.n_params > INLINE_LIMIT:
        arrays["setup.theta"] = setup.theta
        theta = {"array": "setup.theta"}
    if arrays is not None and len(setup.free) > INLINE_LIMIT:
        arrays["setup.free"] = setup.free.idx.astype(np.int64, copy=False)
        free = {"array": "setup.free", "count": len(setup.free)}
    return {
        "network": setup.spec.to_dict(),
        "data": dataclasses.asdict(setup.data),
        "theta": theta,
        "free": free,
        "axes": list(setup.axes),
        "ranges": [list(r) for r in setup.ranges],
        "optimizer": setup.optimizer,
        "hyper": dict(setup.hyper),
        "criteria": setup.criteria.to_dict(),
        "init": setup.init,
        "seed": setup.seed,
        "performance": setup.performance,
        "l2": setup.l2,
        "l1": setup.l1,
    }


def setup_from_dict(d: dict[str, Any]) -> Setup:
    """Inverse of :func:`setup_to_dict`; ``ValueError`` for anything malformed."""
    if not isinstance(d, dict):
        raise ValueError("setup: expected an object")
    known = {
        "network", "data", "theta", "free", "axes", "ranges", "optimizer", "hyper",
        "criteria", "init", "seed", "performance", "l2", "l1",
    }  # fmt: skip
    extra = sorted(map(repr, set(d) - known))
    if extra:
        raise ValueError(f"setup: unknown field {extra[0]}")
    if not isinstance(d.get("data"), dict):
        raise ValueError("setup.data: expected an object")
    fields = {f.name for f in dataclasses.fields(DataRecipe)}
    extra = sorted(map(repr, set(d["data"]) - fields))
    if extra:
        raise ValueError(f"setup.data: unknown field {extra[0]}")
    try:
        data = dict(d["data"])
        for k in ("inputs", "targets", "features"):
            data[k] = tuple(str(c) for c in data.get(k, ()))
        return Setup(
            spec=NetworkSpec.from_dict(d["network"]),
            data=DataRecipe(**data),
            theta=_vector_field(d["theta"], "theta"),
            free=_free_field(d["free"]),
            axes=tuple(str(a) for a in d["axes"]),
            ranges=tuple(tuple(float(v) for v in r) for r in d["ranges"]),
            optimizer=str(d["optimizer"]),
            hyper=dict(d["hyper"]),
            criteria=StopCriteria.from_dict(d["criteria"]),
            init=str(d.get("init", "uniform")),
            seed=int(d.get("seed", 0)),
            performance=str(d.get("performance", "sse")),
            l2=_rate(d.get("l2", 0.0), "l2"),
            l1=_rate(d.get("l1", 0.0), "l1"),
        )
    except KeyError as exc:
        raise ValueError(f"setup: the field {exc} is missing") from None
    except TypeError as exc:
        raise ValueError(f"setup: a field has the wrong type ({exc})") from None


def _rate(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"setup.{name}: expected a number")
    return float(v)


def _param_vector(theta: Any) -> np.ndarray:
    """``theta`` as a read-only float64 vector (kept, not copied, when it already is one)."""
    if (
        isinstance(theta, np.ndarray)
        and theta.dtype == np.float64
        and theta.ndim == 1
        and not theta.flags.writeable
    ):
        return theta
    try:
        out = np.array(theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("theta: expected a list of numbers") from None
    if out.ndim != 1:
        raise ValueError("theta: expected a flat list of numbers")
    out.flags.writeable = False
    return out


def _vector_field(v: Any, name: str) -> Any:
    """``theta`` as read: a JSON list or an array the session reader put in its place."""
    if isinstance(v, np.ndarray):
        return v
    if not isinstance(v, list) or not all(
        isinstance(e, int | float) and not isinstance(e, bool) for e in v
    ):
        raise ValueError(f"setup.{name}: expected a list of numbers")
    return v


def _free_field(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v
    if not isinstance(v, list) or not all(isinstance(e, str) for e in v):
        raise ValueError("setup.free: expected a list of parameter labels")
    return tuple(v)


def problem_key(setup: Setup) -> tuple:
    """What a run's path belongs to: everything but the start values, axes, ranges,
    optimizer, criteria and weight penalties (a path stays meaningful when those change;
    the penalties can change during a run)."""
    fixed = setup.theta[~setup.free.mask].tobytes()  # the fixed parameters' values
    return (setup.spec, setup.data, setup.free, fixed, setup.performance)
