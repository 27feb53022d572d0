"""Loss landscapes of any network: the performance index over a plane through a point,
spanned by two directions, or along the line between two points.

- **Random directions, filter-normalized** (Li, Xu, Taylor, Studer & Goldstein, NeurIPS
  2018, "Visualizing the Loss Landscape of Neural Nets"): each direction is Gaussian,
  then every filter — here a neuron's incoming weights, one row of ``W^m`` — is scaled to
  the norm of the same row of the parameters: ``d_row <- d_row / ||d_row|| * ||theta_row||``.
  Biases get a zero direction (the paper's ``ignore='biasbn'``, the default of its plots)
  unless ``biases=True``, which scales them like a filter of one.  Fixed parameters never
  move.
- **The PCA plane of a trajectory**: the first two principal components of
  ``x_k - x_final`` over the recorded epochs (the paper's section 7), their explained
  variance, and the trajectory's coordinates in that plane.
- **1-D interpolation** (Goodfellow, Vinyals & Saxe, ICLR 2015): ``F((1 - t) a + t b)``.

Directions live in the free parameters' space (shape ``(n_free,)``); the grid's centre,
coordinate (0, 0), is the point itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.memory import check_surface

__all__ = [
    "Landscape",
    "interpolate",
    "landscape",
    "lattice",
    "pca_directions",
    "progressive",
    "random_directions",
    "strides",
]


def _filters(spec, free_idx: np.ndarray, biases: bool) -> list[np.ndarray]:
    """The free parameters' positions (within the free vector) of each filter."""
    pos = np.full(spec.n_params, -1)
    pos[free_idx] = np.arange(free_idx.size)
    out = []
    for (w, b), r in zip(spec.slices, spec.fan_ins, strict=True):
        rows = np.arange(w.start, w.stop).reshape(-1, r)
        groups = [*rows, *([np.array([k]) for k in range(b.start, b.stop)] if biases else [])]
        for g in groups:
            p = pos[g]
            p = p[p >= 0]
            if p.size:
                out.append(p)
    return out


def random_directions(objective, x: np.ndarray, seed: int = 0, biases: bool = False):
    """Two filter-normalized Gaussian directions at free vector ``x`` (see the module)."""
    if objective.n_free < 2:
        raise ValueError("directions: a plane needs at least two free parameters")
    x = np.asarray(x, dtype=float)
    theta = objective.full(x)
    rng = np.random.default_rng(seed)
    dirs = []
    for _ in range(2):
        d = np.zeros(objective.n_free)
        raw = rng.standard_normal(objective.n_free)
        for p in _filters(objective.spec, objective.free_idx, biases):
            norm = np.linalg.norm(raw[p])
            scale = np.linalg.norm(theta[objective.free_idx[p]])
            d[p] = raw[p] / norm * scale if norm > 0 else 0.0
        dirs.append(d)
    if not np.any(dirs[0]) or not np.any(dirs[1]):
        raise ValueError("directions: every filter's weights are zero here (nothing to scale)")
    return dirs[0], dirs[1]


@dataclass(frozen=True)
class PCAPlane:
    d1: np.ndarray
    d2: np.ndarray
    explained: tuple[float, float]  # the share of the variance each component explains
    coords: np.ndarray  # (K, 2): the trajectory in the plane (the final point at (0, 0))


def pca_directions(X: np.ndarray) -> PCAPlane:
    """The first two principal components of ``X[k] - X[-1]`` (rows: epochs)."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError("pca: a plane needs at least two free parameters")
    M = X - X[-1]
    if len(np.unique(X, axis=0)) < 3:
        raise ValueError("pca: the trajectory has fewer than 3 distinct points (no plane)")
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    var = s**2
    total = var.sum()
    d1, d2 = Vt[0], Vt[1]
    return PCAPlane(
        d1, d2, (float(var[0] / total), float(var[1] / total)), M @ np.stack([d1, d2]).T
    )


@dataclass(frozen=True)
class Landscape:
    """``values[i, j]`` = F(center + a[i] d1 + b[j] d2)."""

    a: np.ndarray
    b: np.ndarray
    values: np.ndarray
    center: np.ndarray
    d1: np.ndarray
    d2: np.ndarray


def _forward_out(obj, X: np.ndarray, dtype, ew) -> tuple[np.ndarray, np.ndarray]:
    """``(n^M, a^M)`` for the rows of ``X``: one batched pass; the hidden layers in
    ``dtype`` with the compiled transfer functions ``ew`` (when given), the output layer
    in float64 (the error of a good fit is small: its last digits matter)."""
    spec = obj.spec
    theta = obj.full(X)
    a = obj.data.P.astype(dtype)
    L = spec.n_layers
    for m, ((W, b), f) in enumerate(zip(spec.unpack(theta), spec._t, strict=True)):
        last = m == L - 1
        dt = np.float64 if last else dtype
        n = np.matmul(W.astype(dt, copy=False), a.astype(dt, copy=False))
        n += b.astype(dt, copy=False)[..., None]
        if last:
            return n, f.forward(n)
        f32 = dtype == np.float32
        into = getattr(ew, f"{f.name}{'32' if f32 else ''}_into", None) if ew else None
        if into is None:
            a = f.forward(n)
        else:
            a = np.empty_like(n)
            extra = () if f32 else (np.empty(n.size, dtype=np.int64),)
            into(n.reshape(-1), a.reshape(-1), *extra)
    raise AssertionError("a network has at least one layer")


def _values(obj, X: np.ndarray, dtype=np.float64, ew=None) -> np.ndarray:
    """``F`` at the rows of ``X``: one batched forward pass (the objective's own batches
    are sized for many small restarts; a landscape's for large matrix products)."""
    d = obj.data
    with np.errstate(over="ignore", invalid="ignore"):
        n, a = _forward_out(obj, X, dtype, ew)
        F = obj.perf.value(n, a, d.T, obj.spec.transfers[-1])
        if obj._pen is not None:
            F = F + obj._pen.value(X)
    return np.asarray(F, dtype=float)


#: above this many parameters the hidden layers of a landscape run in float32 (twice the
#: GEMM speed; a picture needs ~6 digits, the output layer and the index stay float64)
FLOAT32_ABOVE = 500


def precision_for(objective, precision: str = "auto"):
    """``(dtype, compiled transfer functions or None)`` for a landscape's hidden layers."""
    if precision not in ("auto", "float32", "float64"):
        raise ValueError(f"landscape: precision is auto, float32 or float64, not {precision!r}")
    if precision == "auto":
        precision = "float32" if objective.spec.n_params > FLOAT32_ABOVE else "float64"
    return np.dtype(precision), jit_activations()


def jit_activations():
    """The compiled transfer functions, or None (no numba, ``BPGUI_KERNEL=numpy``)."""
    from bpgui_engine import jit

    return jit.activations_module()


def landscape(
    objective, center, d1, d2, span: float = 1.0, resolution: int = 51,
    chunk: int | None = None, precision: str = "auto", rows=None, should_stop=None,
) -> Landscape:  # fmt: skip
    """The performance index over ``[-span, span]^2`` (``resolution`` points per axis,
    odd: the centre is a grid point), in batches of ``chunk`` points (default: about
    half a million activations a layer; memory: a batch's, not the grid's).  ``precision``:
    the hidden layers' (:func:`precision_for`).  ``rows``: compute only these grid points
    (flat indices; the others are NaN) — a coarse picture first, see :func:`progressive`.
    ``should_stop()``: asked between batches; when it says so, the rest stays NaN."""
    if chunk is None:
        # ~half a million activations a layer: the batch stays in the caches
        q = objective.data.n_samples * max(objective.spec.sizes)
        chunk = int(max(1, min(1024, 500_000 // q)))
    n = int(resolution)
    if n < 3:
        raise ValueError(f"landscape: resolution must be at least 3, got {n}")
    if n % 2 == 0:
        n += 1  # the centre on the grid
    if not (np.isfinite(span) and span > 0):
        raise ValueError(f"landscape: span must be a finite number > 0, got {span}")
    check_surface(objective.spec, objective.data.n_samples, n * n)
    center, d1, d2 = (np.asarray(v, dtype=float) for v in (center, d1, d2))
    dtype, ew = precision_for(objective, precision)
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.linspace(-span, span, n)
    A, B = (g.reshape(-1, 1) for g in np.meshgrid(a, a, indexing="ij"))
    F = np.full(n * n, np.nan)
    idx = np.arange(n * n) if rows is None else np.asarray(rows, dtype=np.intp)
    for i in range(0, idx.size, chunk):
        if i and should_stop is not None and should_stop():
            break
        k = idx[i : i + chunk]
        with np.errstate(over="ignore", invalid="ignore"):
            X = center + A[k] * d1 + B[k] * d2
        if not np.all(np.isfinite(X)):
            raise ValueError("landscape: the span makes the parameters non-finite; a smaller one")
        F[k] = _values(objective, X, dtype, ew)
    return Landscape(a, a.copy(), F.reshape(n, n), center, d1, d2)


def strides(resolution: int) -> list[int]:
    """The lattice strides of a progressive landscape, coarse to fine: a first picture
    of about 13 x 13 points, then every level halves the stride (the last is 1)."""
    n = int(resolution) | 1
    out, s = [], 1
    while (n - 1) // s > 12:
        s *= 2
    while s >= 1:
        out.append(s)
        s //= 2
    return out


def lattice(n: int, stride: int) -> np.ndarray:
    """The grid indices (per axis) on the lattice of ``stride`` through the centre."""
    c = (n - 1) // 2
    return np.arange(c % stride, n, stride)


def progressive(objective, center, d1, d2, span=1.0, resolution=51, should_stop=None,
                precision="auto", chunk=None):  # fmt: skip
    """:func:`landscape`, coarse first: yields ``(stride, Landscape)`` after every level
    of :func:`strides` (the values off the lattices computed so far are NaN), computing
    each point once.  When ``should_stop()`` says so (asked between batches, after the
    first level), it yields the picture so far with the last complete level's stride and
    ends."""
    n = int(resolution) | 1  # odd: the centre on the grid
    done = np.zeros((n, n), dtype=bool)
    values, last = None, None
    for s in strides(n):
        idx = lattice(n, s)
        want = np.zeros((n, n), dtype=bool)
        want[np.ix_(idx, idx)] = True
        rows = np.flatnonzero(want & ~done)
        stop = None if last is None else should_stop  # the first picture always comes
        part = landscape(objective, center, d1, d2, span, n, chunk=chunk, precision=precision,
                         rows=rows, should_stop=stop)  # fmt: skip
        values = part.values if values is None else np.where(want & ~done, part.values, values)
        if stop is not None and stop():  # stopped in this level: the last complete one
            yield last, Landscape(part.a, part.b, values, part.center, part.d1, part.d2)
            return
        done |= want
        last = s
        yield s, Landscape(part.a, part.b, values, part.center, part.d1, part.d2)


def interpolate(objective, xa, xb, points: int = 51, beyond: float = 0.25):
    """``(t, F((1 - t) xa + t xb))`` for ``t`` in ``[-beyond, 1 + beyond]`` (both
    endpoints, t = 0 and 1, on the grid)."""
    xa, xb = np.asarray(xa, dtype=float), np.asarray(xb, dtype=float)
    n = max(int(points), 3)
    step = 1.0 / (n - 1)
    k = round(beyond / step)
    t = np.arange(-k, n + k) * step
    X = (1 - t)[:, None] * xa + t[:, None] * xb
    return t, np.atleast_1d(objective.value(X))
