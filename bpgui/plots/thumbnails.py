"""Each neuron's activation over the input plane as a small image (TensorFlow Playground's
signature), for the network diagram: orange for negative, blue for positive, white at
zero, on the transfer function's own range."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

NEG = np.array([245.0, 147.0, 34.0])
POS = np.array([8.0, 119.0, 189.0])
WHITE = np.array([250.0, 250.0, 250.0])
THUMB = 50  # pixels per side of a thumbnail (the grid is sampled down to it)


def signed(a: np.ndarray, transfer: str | None) -> np.ndarray:
    """Activations on [-1, 1]: logsig and softmax from [0, 1]; purelin, poslin and the
    inputs (``None``) scaled by their largest magnitude."""
    if transfer in ("logsig", "softmax"):
        return 2.0 * a - 1.0
    if transfer == "tansig":
        return a
    m = float(np.nanmax(np.abs(a))) if a.size else 0.0
    return a / m if m > 0 else a


def thumbnail(a: np.ndarray, transfer: str | None) -> QImage:
    """One neuron's map ``a (n, n)`` (x1 along axis 0) as an RGB image, x2 upwards."""
    step = max(1, a.shape[0] // THUMB)
    t = np.clip(np.nan_to_num(signed(a[::step, ::step], transfer)), -1.0, 1.0)
    t = t.T[::-1]  # rows from the top: x2 descending
    w = np.abs(t)[..., None]
    end = np.where(t[..., None] >= 0, POS, NEG)
    rgb = np.ascontiguousarray((WHITE * (1 - w) + end * w).astype(np.uint8))
    h, wd = rgb.shape[:2]
    img = QImage(rgb.data, wd, h, 3 * wd, QImage.Format.Format_RGB888)
    return img.copy()  # owns its pixels (the array goes away)


def layer_thumbnails(maps, transfers) -> list[list[QImage]] | None:
    """Thumbnails per layer: ``maps[0]`` the inputs, ``maps[m]`` layer ``m``'s neurons
    (``transfers[m - 1]``); at most 24 a layer (the diagram draws no more)."""
    if maps is None:
        return None
    out = []
    for m, a in enumerate(maps):
        tr = None if m == 0 else transfers[m - 1]
        out.append([thumbnail(a[i], tr) for i in range(min(len(a), 24))])
    return out
