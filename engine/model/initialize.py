"""Weight initializations; all randomness from an explicit ``numpy.random.Generator``."""

from __future__ import annotations

import numpy as np

from bpgui_engine.model.network import NetworkSpec

__all__ = ["INITS", "initialize"]

INITS = ("uniform", "nguyen-widrow", "glorot", "zeros")


def initialize(
    spec: NetworkSpec,
    method: str,
    rng: np.random.Generator,
    P: np.ndarray | None = None,
    batch: int | None = None,
) -> np.ndarray:
    """A parameter vector (or ``(batch, N)`` vectors) drawn by ``method``.

    ``uniform``: every parameter uniform in [-1, 1] (the book's "small random numbers").
    ``nguyen-widrow``: layer-1 weights scaled to spread the active regions over the input
    range (from ``P``), other layers uniform in [-1, 1].
    ``glorot``: uniform in ``±sqrt(6/(fan_in+fan_out))``, zero biases.
    ``zeros``: all zero.
    """
    if method not in INITS:
        raise ValueError(f"init: unknown method {method!r}; choose one of {', '.join(INITS)}")
    shape = (spec.n_params,) if batch is None else (int(batch), spec.n_params)
    if method == "zeros":
        return np.zeros(shape)
    if method == "uniform":
        return rng.uniform(-1.0, 1.0, shape)
    theta = np.zeros(shape)
    for m, ((w, b), r, s) in enumerate(zip(spec.slices, spec.fan_ins, spec.sizes, strict=True)):
        if method == "glorot" or m > 0:
            lim = np.sqrt(6.0 / (r + s)) if method == "glorot" else 1.0
            theta[..., w] = rng.uniform(-lim, lim, (*shape[:-1], s * r))
            if method != "glorot":
                theta[..., b] = rng.uniform(-1.0, 1.0, (*shape[:-1], s))
            continue
        theta[..., w], theta[..., b] = _nguyen_widrow(r, s, rng, P, shape[:-1])
    return theta


def _nguyen_widrow(r, s, rng, P, lead):
    # Nguyen & Widrow (1990): |w_i| = 0.7 S^(1/R) for inputs scaled to [-1, 1], biases
    # spread evenly; then undo the input scaling so the regions cover the real range.
    beta = 0.7 * s ** (1.0 / r)
    W = rng.uniform(-1.0, 1.0, (*lead, s, r))
    W *= beta / np.linalg.norm(W, axis=-1, keepdims=True).clip(1e-12)
    bias = beta * np.linspace(-1.0, 1.0, s) * np.sign(W[..., 0]) if s > 1 else np.zeros((*lead, 1))
    if P is not None:
        lo, hi = P.min(axis=1), P.max(axis=1)
        half = np.where(hi > lo, (hi - lo) / 2, 1.0)
        mid = (hi + lo) / 2
        W = W / half
        bias = bias - W @ mid
    return W.reshape((*lead, s * r)), bias
