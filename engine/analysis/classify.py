"""Classification in the plane: accuracy, the loss and accuracy of the training and test
sets, and the network's output and every neuron's activation over a grid of the input
plane (the decision map and the diagram's thumbnails).

A sample's class is read from its targets and the network's output the same way
(:func:`bpgui_engine.model.features.decode_classes`): one output is class 1 above 0.5,
several outputs the largest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.features import decode_classes
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.performance import get_performance

__all__ = ["GridInputs", "Metrics", "accuracy", "grid_inputs", "layer_maps", "metrics"]

KEYS = ("train_loss", "test_loss", "train_acc", "test_acc", "train_sse", "test_sse")


def accuracy(spec: NetworkSpec, theta: np.ndarray, data: Dataset) -> np.ndarray | float:
    """The share of samples whose predicted class is their target's (``theta`` may carry a
    leading batch shape ``(B, N)``: one accuracy per row)."""
    out = spec.output(np.asarray(theta, float), data.P)  # (..., S, Q)
    truth = decode_classes(data.T)
    pred = decode_classes(np.moveaxis(out, -2, 0))
    acc = (pred == truth).mean(axis=-1)
    return float(acc) if np.ndim(acc) == 0 else acc


@dataclass(frozen=True)
class Metrics:
    """Per row of ``X``: the plain performance index, the SSE and the accuracy on each set
    (NaN where a set or the classes are missing)."""

    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_sse: np.ndarray
    test_sse: np.ndarray

    def row(self, i: int = -1) -> dict[str, float]:
        return {k: float(getattr(self, k)[i]) for k in KEYS}


def metrics(setup, X: np.ndarray, chunk: int = 256) -> Metrics:
    """The loss and accuracy of the training and test sets at free vectors ``X`` (shape
    ``(B, n_free)`` or ``(n_free,)``) of ``setup`` (a :class:`~bpgui_engine.model.setup.Setup`)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    prep = setup.data.prepare()
    perf = get_performance(setup.performance)
    out_t = setup.spec.transfers[-1]
    B = len(X)
    res = {k: np.full(B, np.nan) for k in KEYS}
    sets = (("train", prep.train), ("test", prep.test))
    for i in range(0, B, chunk):
        theta = np.array([setup.full_theta(x) for x in X[i : i + chunk]])
        for name, d in sets:
            if d is None:
                continue
            fw = setup.spec.forward(theta, d.P)
            with np.errstate(over="ignore", invalid="ignore"):
                res[f"{name}_loss"][i : i + chunk] = perf.value(fw.n[-1], fw.a[-1], d.T, out_t)
                e = d.T - fw.a[-1]
                res[f"{name}_sse"][i : i + chunk] = np.einsum("...ij,...ij->...", e, e)
            if prep.classes:
                truth = decode_classes(d.T)
                pred = decode_classes(np.moveaxis(fw.a[-1], -2, 0))
                res[f"{name}_acc"][i : i + chunk] = (pred == truth).mean(axis=-1)
    return Metrics(**res)


@dataclass(frozen=True)
class GridInputs:
    """A square grid over the input plane and the network's inputs at its points."""

    extent: tuple[float, float, float, float]  # x1 min, x1 max, x2 min, x2 max
    n: int
    inputs: np.ndarray  # (R, n * n), x1 along the first grid axis
    inputs32: np.ndarray  # the same in single precision (a picture's forward pass)


def grid_inputs(prepared, n: int = 100, extent=None) -> GridInputs:
    """The ``n`` x ``n`` grid over ``extent`` (default: the data's) mapped to network
    inputs (features, normalization) once; :func:`layer_maps` reuses it every frame."""
    if not prepared.in_plane:
        raise ValueError("decision map: the data is not in the plane (two inputs)")
    if not 2 <= int(n) <= 1000:
        raise ValueError(f"decision map: resolution must be in [2, 1000], got {n}")
    x0, x1, y0, y1 = extent or prepared.extent()
    xs, ys = np.linspace(x0, x1, int(n)), np.linspace(y0, y1, int(n))
    X = np.stack(np.meshgrid(xs, ys, indexing="ij")).reshape(2, -1)
    P = np.ascontiguousarray(prepared.inputs(X))
    return GridInputs((x0, x1, y0, y1), int(n), P, P.astype(np.float32))


def layer_maps(
    spec: NetworkSpec, theta: np.ndarray, grid: GridInputs, single: bool = False
) -> list[np.ndarray]:
    """Every layer's activations over the grid: per layer ``(S_m, n, n)``, indexed
    ``[neuron, i1, i2]`` (x1 along axis 1, as pyqtgraph's images).  ``single``: in
    float32, about 3x faster and within ~1e-6 of float64 (for pictures)."""
    if single:
        fw = spec.forward(np.asarray(theta, np.float32), grid.inputs32)
    else:
        fw = spec.forward(np.asarray(theta, float), grid.inputs)
    return [a.reshape(a.shape[0], grid.n, grid.n) for a in fw.a]
