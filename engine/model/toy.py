"""Data in the plane: TensorFlow Playground's toy sets and a few more, seeded.

Every generator returns raw points ``X (2, Q)`` in about ``[-6, 6]^2`` (Playground's
domain) and, for classification, integer labels ``y (Q,)`` in ``0..K-1``; for
regression, real targets ``y (Q,)`` in about ``[-1, 1]``.  ``noise`` is a fraction (0:
none; Playground's slider goes to 0.5) and the points come from
``numpy.random.default_rng(seed)`` alone, so a recipe (name, samples, noise, seed)
always gives the same points.

=============  ==========  =================================================================
name           classes     recipe
=============  ==========  =================================================================
``circle``     2           half inside radius 2.5 (class 1), half in the ring 3.5..5
                           (class 0); the label is decided after noise of ``5 noise``
``xor``        2           uniform in the four quadrants (0.3 from the axes); class 1 where
                           ``x1 x2 >= 0`` after noise of ``5 noise``
``gauss``      2           two Gaussian clouds at (2, 2) and (-2, -2), variance
                           ``0.5 + 3.5 noise``
``spiral``     2           two arms ``r = 5 i/n``, ``t = 3.5 pi i/n (+ pi)``, noise
                           ``U(-1, 1) noise`` on each coordinate
``moons``      2           scikit-learn's two moons scaled by 3 (centred), Gaussian
                           noise of standard deviation ``noise``
``gauss3``     3           three Gaussian clouds at radius 3, 120 degrees apart
``spiral3``    3           three arms 120 degrees apart
``plane``      regression  ``y = (x1 + x2) / 12`` plus ``U(-1, 1) noise``
``gaussians``  regression  a sum of six signed Gaussian bumps (width 1.6)
=============  ==========  =================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_TOY_SAMPLES", "TOYS", "Toy", "check_toy", "get_toy", "make_toy"]

#: the most points a toy set has: a million points' inputs are 16 MB
MAX_TOY_SAMPLES = 1_000_000
MAX_NOISE = 5.0


@dataclass(frozen=True)
class Toy:
    name: str
    title: str
    classes: int  # 0: regression
    make: Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]

    @property
    def regression(self) -> bool:
        return self.classes == 0


def _halves(n: int) -> tuple[int, int]:
    return n - n // 2, n // 2


def _circle(n, noise, rng):
    radius = 5.0
    parts = []
    for k, (lo, hi) in zip(_halves(n), ((0.0, 0.5), (0.7, 1.0)), strict=True):
        r = rng.uniform(lo * radius, hi * radius, k)
        t = rng.uniform(0.0, 2 * np.pi, k)
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)]))
    X = np.concatenate(parts, axis=1)
    shake = rng.uniform(-radius, radius, X.shape) * noise
    y = (np.hypot(*(X + shake)) < 0.5 * radius).astype(np.int64)
    return X, y


def _xor(n, noise, rng):
    X = rng.uniform(-5.0, 5.0, (2, n))
    X += np.where(X > 0, 0.3, -0.3)
    shake = rng.uniform(-5.0, 5.0, X.shape) * noise
    y = ((X[0] + shake[0]) * (X[1] + shake[1]) >= 0).astype(np.int64)
    return X, y


def _clouds(n, noise, rng, centres):
    sd = np.sqrt(0.5 + 3.5 * noise)
    k = len(centres)
    counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
    X = np.concatenate(
        [
            rng.normal(0.0, sd, (2, c)) + np.array(m, float)[:, None]
            for c, m in zip(counts, centres, strict=True)
        ],
        axis=1,
    )
    y = np.repeat(np.arange(k), counts)
    return X, y


def _gauss(n, noise, rng):
    X, y = _clouds(n, noise, rng, [(-2.0, -2.0), (2.0, 2.0)])
    return X, y


def _gauss3(n, noise, rng):
    a = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    return _clouds(n, noise, rng, [(3 * np.cos(t), 3 * np.sin(t)) for t in a])


def _arms(n, noise, rng, k):
    counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
    parts, labels = [], []
    for c, m in enumerate(counts):
        i = np.arange(m) / max(m, 1)
        r = 5.0 * i
        t = 1.75 * 2 * np.pi * i + 2 * np.pi * c / k
        xy = np.stack([r * np.sin(t), r * np.cos(t)])
        parts.append(xy + rng.uniform(-1.0, 1.0, xy.shape) * noise)
        labels.append(np.full(m, (1 - c) if k == 2 else c))  # two arms: Playground's first is 1
    return np.concatenate(parts, axis=1), np.concatenate(labels)


def _moons(n, noise, rng):
    n_out, n_in = _halves(n)
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)]),
            np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)]),
        ],
        axis=1,
    )
    X = 3.0 * (X - np.array([[0.5], [0.25]]))
    X += rng.normal(0.0, 1.0, X.shape) * noise * 3.0
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return X, y


def _plane(n, noise, rng):
    X = rng.uniform(-6.0, 6.0, (2, n))
    y = (X[0] + X[1]) / 12.0 + rng.uniform(-1.0, 1.0, n) * noise
    return X, y


_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _gaussians(n, noise, rng):
    X = rng.uniform(-6.0, 6.0, (2, n))
    y = np.zeros(n)
    for cx, cy, s in _BUMPS:
        y += s * np.exp(-((X[0] - cx) ** 2 + (X[1] - cy) ** 2) / (2 * 1.6**2))
    return X, y + rng.uniform(-1.0, 1.0, n) * noise


TOYS: dict[str, Toy] = {
    t.name: t
    for t in (
        Toy("circle", "circle", 2, _circle),
        Toy("xor", "XOR (four quadrants)", 2, _xor),
        Toy("gauss", "two Gaussians", 2, _gauss),
        Toy("spiral", "spiral (two arms)", 2, lambda n, e, r: _arms(n, e, r, 2)),
        Toy("moons", "two moons", 2, _moons),
        Toy("gauss3", "three Gaussians (3 classes)", 3, _gauss3),
        Toy("spiral3", "spiral (three arms, 3 classes)", 3, lambda n, e, r: _arms(n, e, r, 3)),
        Toy("plane", "plane (regression)", 0, _plane),
        Toy("gaussians", "sum of Gaussians (regression)", 0, _gaussians),
    )
}


def get_toy(name: str) -> Toy:
    try:
        return TOYS[name]
    except KeyError:
        raise ValueError(f"data set: unknown {name!r}; choose one of {', '.join(TOYS)}") from None


def check_toy(samples: object, noise: object) -> None:
    """``ValueError`` naming the field when ``samples`` or ``noise`` is not allowed."""
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise ValueError(f"samples: must be a whole number, got {samples!r}")
    if not 4 <= samples <= MAX_TOY_SAMPLES:
        raise ValueError(f"samples: must be in [4, {MAX_TOY_SAMPLES:,}], got {samples:,}")
    if not isinstance(noise, int | float) or not 0.0 <= noise <= MAX_NOISE:
        raise ValueError(f"noise: must be a number in [0, {MAX_NOISE:g}], got {noise!r}")


def make_toy(name: str, samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X (2, Q), y (Q,))``: labels (int) for a classification set, targets (float) for
    regression."""
    toy = get_toy(name)
    check_toy(samples, noise)
    X, y = toy.make(int(samples), float(noise), np.random.default_rng(int(seed)))
    return np.ascontiguousarray(X, dtype=np.float64), y
