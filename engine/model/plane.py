"""From a data recipe to the training, validation and test sets, and for data in the
plane the map from a point ``(x1, x2)`` to the network's inputs (features, then the
normalization) that the decision map applies to its grid.

The order is fixed: raw data -> class targets -> test split (seeded) -> features ->
normalization (fitted on the training part) -> validation split (seeded, from the
training part).  A recipe without a test share and without features gives exactly what
it gave before either existed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.data import (
    Dataset,
    Normalizer,
    csv_dataset,
    function_dataset,
    normalize,
    split,
)
from bpgui_engine.model.features import apply_features, encode_classes
from bpgui_engine.model.presets import get_preset
from bpgui_engine.model.toy import get_toy, make_toy

__all__ = ["MAX_CLASSES", "Plane", "Prepared", "prepare"]

MAX_CLASSES = 100


@dataclass(frozen=True)
class Plane:
    """Points in the plane with their labels (classification) or targets (regression)."""

    X: np.ndarray  # (2, Q) raw points
    y: np.ndarray  # (Q,) int labels, or float targets when classes == 0


@dataclass(frozen=True)
class Prepared:
    train: Dataset
    validation: Dataset | None
    test: Dataset | None
    normalizer: Normalizer
    features: tuple[str, ...]  # () : the raw inputs
    classes: int  # 0: regression (or targets given as numbers)
    plane_train: Plane | None  # the raw points, for data in the plane
    plane_test: Plane | None

    @property
    def in_plane(self) -> bool:
        return self.plane_train is not None

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """The network's inputs for raw points ``X (2, ...)``: features, then the
        normalization (the trailing shape is kept)."""
        F = apply_features(self.features, X) if self.features else np.asarray(X, float)
        lead = F.shape[1:]
        F = self.normalizer.apply(F.reshape(F.shape[0], -1))
        return F.reshape(F.shape[0], *lead)

    def extent(self) -> tuple[float, float, float, float]:
        """``(x1 min, x1 max, x2 min, x2 max)`` covering every point with a margin."""
        pts = [p.X for p in (self.plane_train, self.plane_test) if p is not None]
        X = np.concatenate(pts, axis=1)
        lo, hi = X.min(axis=1), X.max(axis=1)
        half = np.maximum((hi - lo) / 2 * 1.08, 0.5)
        mid = (hi + lo) / 2
        span = max(half)  # square, as Playground's
        return (mid[0] - span, mid[0] + span, mid[1] - span, mid[1] + span)


def prepare(recipe) -> Prepared:
    """The sets a :class:`~bpgui_engine.model.setup.DataRecipe` describes (cached: the
    recipe is immutable and the sets read-only)."""
    return _prepare(recipe)


@functools.lru_cache(maxsize=8)
def _prepare(r) -> Prepared:
    classes, labels, raw = 0, None, None
    if r.kind == "preset":
        data = get_preset(r.preset).data
    elif r.kind == "expression":
        data = function_dataset(r.expression, r.lo, r.hi, r.points, r.noise, r.noise_seed)
    elif r.kind == "toy":
        toy = get_toy(r.toy)
        raw, y = make_toy(r.toy, r.samples, r.noise, r.noise_seed)
        if toy.regression:
            data = Dataset(raw, y[None, :], name=toy.title)
        else:
            classes, labels = toy.classes, y
            data = Dataset(raw, encode_classes(y, classes, r.coding), name=toy.title)
    else:
        if not r.csv_text.strip():
            raise ValueError("csv: no file loaded")
        data = csv_dataset(r.csv_text, list(r.inputs), list(r.targets), r.csv_name or "csv")
        if r.classes:
            classes, labels = _class_labels(data)
            data = Dataset(data.P, encode_classes(labels, classes, r.coding), data.name)
        if data.n_inputs == 2:
            raw = data.P
    if r.features and data.n_inputs != 2:
        raise ValueError(
            f"features: need data in the plane (2 inputs); the data has {data.n_inputs}"
        )
    idx_train, idx_test = _split_idx(data.n_samples, r.test, r.split_seed)
    plane_train = plane_test = None
    if raw is not None:
        y_all = labels if labels is not None else data.T[0]
        plane_train = Plane(raw[:, idx_train], y_all[idx_train])
        if idx_test is not None:
            plane_test = Plane(raw[:, idx_test], y_all[idx_test])
    P = apply_features(r.features, data.P) if r.features else data.P
    full = Dataset(P, data.T, data.name)
    train = full.subset(idx_train)
    test = full.subset(idx_test) if idx_test is not None else None
    train, norm = normalize(train, r.normalize)
    if test is not None:
        test = Dataset(norm.apply(test.P), test.T, test.name)
    train, val = split(train, r.validation, r.split_seed)
    return Prepared(train, val, test, norm, tuple(r.features), classes, plane_train, plane_test)


def _split_idx(Q: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    if not 0.0 <= share < 1.0:
        raise ValueError(f"test share: must be in [0, 1), got {share}")
    n_test = round(share * Q)
    if n_test == 0:
        return np.arange(Q), None
    if Q - n_test < 1:
        raise ValueError("test share: leaves no training samples")
    # its own stream (seed + 1): the validation split draws from the seed itself
    perm = np.random.default_rng([int(seed), 1]).permutation(Q)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _class_labels(data: Dataset) -> tuple[int, np.ndarray]:
    if data.n_outputs != 1:
        raise ValueError(f"classes: choose one class column, not {data.n_outputs}")
    values, labels = np.unique(data.T[0], return_inverse=True)
    if values.size < 2:
        raise ValueError(f"classes: the class column has one class only ({values[0]:g})")
    if values.size > MAX_CLASSES:
        raise ValueError(
            f"classes: the class column has {values.size} different values; a class "
            f"column holds labels (at most {MAX_CLASSES} classes)"
        )
    return int(values.size), labels.astype(np.int64)
