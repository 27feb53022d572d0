"""Input features of points in the plane (TensorFlow Playground's set) and class coding.

A network trained on points ``(x1, x2)`` may see any non-empty selection of
:data:`FEATURES` as its inputs, in the order given; the decision map applies the same
map to every point of its grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "CODINGS",
    "FEATURES",
    "apply_features",
    "check_features",
    "decode_classes",
    "encode_classes",
]

#: name -> (label shown, function of (x1, x2))
FEATURES = {
    "x1": ("x₁", lambda a, b: a),
    "x2": ("x₂", lambda a, b: b),
    "x1sq": ("x₁²", lambda a, b: a * a),
    "x2sq": ("x₂²", lambda a, b: b * b),
    "x1x2": ("x₁x₂", lambda a, b: a * b),
    "sinx1": ("sin x₁", lambda a, b: np.sin(a)),
    "sinx2": ("sin x₂", lambda a, b: np.sin(b)),
}

#: how class labels become targets: ``auto`` is one 0/1 output for two classes and
#: one-hot for more; ``onehot`` always one output per class (softmax); ``binary`` one
#: 0/1 output (two classes only)
CODINGS = ("auto", "onehot", "binary")


def check_features(names: Sequence[str]) -> tuple[str, ...]:
    """The selection as a tuple; ``ValueError`` for an empty, unknown or repeated one."""
    names = tuple(names)
    if not names:
        raise ValueError("features: choose at least one input feature")
    for n in names:
        if n not in FEATURES:
            raise ValueError(f"features: unknown {n!r}; choose from {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise ValueError("features: a feature is selected twice")
    return names


def apply_features(names: Sequence[str], X: np.ndarray) -> np.ndarray:
    """Rows of the selected features for points ``X (2, Q)`` (shape ``(len(names), Q)``;
    ``X`` may also be ``(2, ...)``: the trailing shape is kept)."""
    names = check_features(names)
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] != 2:
        raise ValueError(f"features: need points in the plane (2 inputs), got {X.shape[0]}")
    return np.stack([FEATURES[n][1](X[0], X[1]) for n in names])


def encode_classes(y: np.ndarray, classes: int, coding: str = "auto") -> np.ndarray:
    """Targets ``T`` for integer labels ``y`` in ``0..classes-1``: one 0/1 row for two
    classes under ``auto``/``binary``, else one row per class (one-hot)."""
    if coding not in CODINGS:
        raise ValueError(f"coding: choose one of {', '.join(CODINGS)}, not {coding!r}")
    if classes < 2:
        raise ValueError(f"classes: need at least 2 classes, the data has {classes}")
    y = np.asarray(y, dtype=np.int64)
    if coding == "binary" and classes > 2:
        raise ValueError(
            f"coding: {classes} classes are more than one 0/1 output can tell apart; "
            "choose one-hot targets (a softmax output)"
        )
    if classes == 2 and coding != "onehot":
        return y[None, :].astype(np.float64)
    T = np.zeros((classes, y.size))
    T[y, np.arange(y.size)] = 1.0
    return T


def decode_classes(out: np.ndarray) -> np.ndarray:
    """Predicted labels from outputs ``(S, ...)``: ``out > 0.5`` for one output (targets
    0/1), the largest output's row otherwise."""
    out = np.asarray(out)
    if out.shape[0] == 1:
        return (out[0] > 0.5).astype(np.int64)
    return np.argmax(out, axis=0)
