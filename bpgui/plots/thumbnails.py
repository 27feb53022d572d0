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


def layer_rgb(a: np.ndarray, transfer: str | None) -> np.ndarray:
    """A layer's maps ``a (S, n, n)`` (x1 along axis 1) as RGB pictures ``(S, h, w, 3)``,
    x2 upwards, sampled down to about :data:`THUMB` pixels: one vectorized pass."""
    step = max(1, a.shape[1] // THUMB)
    s = a[:, ::step, ::step]
    if transfer in ("logsig", "softmax", "tansig"):
        t = signed(s, transfer)
    else:  # scaled per neuron by its largest magnitude
        m = np.nanmax(np.abs(s), axis=(1, 2), keepdims=True)
        t = np.divide(s, m, out=np.zeros_like(s), where=m > 0)
    t = np.clip(np.nan_to_num(t), -1.0, 1.0)
    t = np.transpose(t, (0, 2, 1))[:, ::-1]  # rows from the top: x2 descending
    w = np.abs(t)[..., None]
    end = np.where(t[..., None] >= 0, POS, NEG)
    return (WHITE * (1 - w) + end * w).astype(np.uint8)


def _image(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
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
        out.append([_image(rgb) for rgb in layer_rgb(a[:24], tr)])
    return out
