"""The decision map's colours, without Qt (the window's map and the animation export):
each class its colour (TensorFlow Playground's orange and blue first), the confidence as
saturation."""

from __future__ import annotations

import numpy as np

__all__ = ["CLASS_COLOURS", "class_colour", "decision_rgba"]

#: class colours: Playground's orange and blue first, then more for more classes
CLASS_COLOURS = np.array(
    [(245, 147, 34), (8, 119, 189), (58, 166, 85), (194, 24, 91), (126, 87, 194),
     (0, 172, 193), (124, 179, 66), (255, 112, 67)], dtype=np.float64,
)  # fmt: skip


def class_colour(k: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in CLASS_COLOURS[k % len(CLASS_COLOURS)])


def decision_rgba(out: np.ndarray, classes: int, discrete: bool, neutral) -> np.ndarray:
    """RGBA (uint8, ``(n, n, 4)``) for outputs ``out (S, n, n)``: each point the colour of
    its class, mixed towards ``neutral`` as the confidence falls (one output: ``|a - 0.5|``
    scaled to [0, 1]; several: the top output's share above ``1/S``).  Regression (no
    classes): a diverging orange-blue map of ``a`` over [-1, 1]."""
    neutral = np.asarray(neutral, dtype=np.float64)
    if classes == 0 or out.shape[0] == 1:
        a = out[0]
        if classes == 0:
            t = np.clip(a, -1.0, 1.0)  # -1 orange .. 1 blue
            k = (t > 0).astype(np.intp)
            conf = np.abs(t)
        else:
            k = (a > 0.5).astype(np.intp)
            conf = np.clip(np.abs(a - 0.5) * 2.0, 0.0, 1.0)
    else:
        k = np.argmax(out, axis=0)
        top = np.take_along_axis(out, k[None], axis=0)[0]
        S = out.shape[0]
        conf = np.clip((top - 1.0 / S) / (1.0 - 1.0 / S), 0.0, 1.0)
    if discrete:
        conf = np.full_like(conf, 0.85)
    conf = np.nan_to_num(conf)[..., None]
    rgb = CLASS_COLOURS[k % len(CLASS_COLOURS)] * conf + neutral * (1.0 - conf)
    img = np.empty((*k.shape, 4), dtype=np.uint8)
    img[..., :3] = rgb
    img[..., 3] = 255
    return img
