"""What the window's landscape and spectrum views show, computed (Qt-free).

:func:`compute_landscape` turns a request — the mode (``random``: two filter-normalized
directions around a point; ``pca``: the plane of a trajectory's first two principal
components, centred on its last point; ``line``: the segment between two points) and its
settings — into :class:`LandscapeView` values, coarse first (a generator: each yield is
a better picture).  :func:`compute_spectrum` gives a :class:`SpectrumView`: the Hessian's
top and bottom eigenvalues by Lanczos (with their residuals, and whether they converged),
Hutchinson's trace and the eigenvalue density by stochastic Lanczos quadrature, broadened
into a curve.  Both cross to the window as frozen dataclasses
(:mod:`bpgui_engine.codec`), and a landscape is saved in sessions
(:mod:`bpgui_engine.session.landscape`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgui_engine.analysis.contour import contour_levels, isolines
from bpgui_engine.analysis.landscape import (
    interpolate,
    lattice,
    pca_directions,
    progressive,
    random_directions,
)
from bpgui_engine.analysis.spectrum import HessianOperator, lanczos, slq_density
from bpgui_engine.memory import check_spectrum

__all__ = ["MODES", "LandscapeView", "SpectrumView", "compute_landscape", "compute_spectrum"]

MODES = ("random", "pca", "line")
#: at most this many trajectory rows x free parameters go into a PCA (32 MB of float64)
PCA_BUDGET = 4_000_000


@dataclass(frozen=True)
class LandscapeView:
    """A landscape as drawn.  Grids (``random``, ``pca``): ``values[i, j]`` = F(center +
    x_axis[i] d1 + y_axis[j] d2), complete when ``stride`` is 1 (else only the lattice of
    that stride through the centre is computed; NaN elsewhere).  ``line``: ``values[k]``
    = F((1 - t) a + t b) with ``t = x_axis[k]``, ``center`` = a, ``d1`` = b, ``d2`` = b - a."""

    mode: str
    x_axis: np.ndarray
    y_axis: np.ndarray
    values: np.ndarray
    stride: int
    center: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    explained: np.ndarray  # pca: the two components' shares of the variance; else empty
    path: np.ndarray  # pca: the trajectory in the plane (K, 2); else (0, 2)
    seed: int
    span: float
    index_name: str  # what the values are: "SSE", "CE + 0.01‖w‖²", …
    # isolines of the picture (its lattice): segment endpoints, pairs (grids; else empty)
    iso_x: np.ndarray
    iso_y: np.ndarray

    @property
    def done(self) -> bool:
        return self.stride == 1

    def axis_labels(self) -> tuple[str, str]:
        if self.mode == "line":
            return "t  (0: a, 1: b)", self.index_name
        if self.mode == "pca":
            e1, e2 = (100 * float(v) for v in self.explained)
            return f"PC1 ({e1:.1f} % of the variance)", f"PC2 ({e2:.1f} % of the variance)"
        return "direction 1 (filter-normalized)", "direction 2 (filter-normalized)"

    def centre_value(self) -> float:
        """F at the centre (grids) or at ``a`` (line)."""
        if self.mode == "line":
            k = int(np.argmin(np.abs(self.x_axis)))
            return float(self.values[k])
        c = (len(self.x_axis) - 1) // 2
        return float(self.values[c, c])

    def ends(self) -> tuple[float, float]:
        """The line's values at ``t = 0`` and ``t = 1``."""
        t = self.x_axis
        return (float(self.values[int(np.argmin(np.abs(t)))]),
                float(self.values[int(np.argmin(np.abs(t - 1)))]))  # fmt: skip


def pca_rows(X: np.ndarray, n_free: int) -> np.ndarray:
    """At most :data:`PCA_BUDGET` / ``n_free`` rows of a trajectory, evenly along it, the
    first and the last kept."""
    X = np.asarray(X, dtype=float)
    cap = max(3, PCA_BUDGET // max(n_free, 1))
    if len(X) <= cap:
        return X
    return X[np.unique(np.linspace(0, len(X) - 1, cap).round().astype(int))]


def compute_landscape(setup, mode: str, x, *, seed: int = 0, span: float = 1.0,
                      resolution: int = 51, path=None, b=None, biases: bool = False,
                      should_stop=None):  # fmt: skip
    """Yield :class:`LandscapeView` pictures of ``setup``'s objective, coarse to fine.
    ``x``: the centre (``random``), ignored for ``pca`` (the path's last row is the
    centre), the line's ``a`` (``line``, with ``b``).  ``span``: the grid's half-width in
    the directions' units (``random``), a multiple of the trajectory's extent (``pca``);
    the line runs over ``t`` in [-0.25, 1.25].  Errors: one line (ValueError)."""
    if mode not in MODES:
        raise ValueError(f"landscape: the mode is random, pca or line, not {mode!r}")
    if not (np.isfinite(span) and span > 0):
        raise ValueError(f"landscape: the span must be a finite number > 0, got {span}")
    obj = setup.objective()
    name = setup.index_name
    empty = np.zeros(0)
    if mode == "line":
        a = np.asarray(x, dtype=float)
        bb = np.asarray(b, dtype=float)
        if a.shape != (obj.n_free,) or bb.shape != (obj.n_free,):
            raise ValueError("line: both ends need a value for every free parameter")
        if np.array_equal(a, bb):
            raise ValueError("line: its two ends are the same point (nothing to draw)")
        t, F = interpolate(obj, a, bb, points=max(int(resolution), 3))
        yield LandscapeView(mode, t, empty, np.asarray(F, float), 1, a, bb, bb - a, empty,
                            np.zeros((0, 2)), int(seed), float(span), name, empty,
                            empty)  # fmt: skip
        return
    if mode == "random":
        center = np.asarray(x, dtype=float)
        d1, d2 = random_directions(obj, center, seed=int(seed), biases=biases)
        explained, coords, half = empty, np.zeros((0, 2)), float(span)
    else:
        if obj.n_free < 2:
            raise ValueError("pca: a plane needs at least two free parameters")
        if path is None or len(path) < 3:
            raise ValueError("pca: the trajectory has fewer than 3 points (train first)")
        P = pca_rows(path, obj.n_free)
        plane = pca_directions(P)
        center, d1, d2 = P[-1], plane.d1, plane.d2
        explained, coords = np.asarray(plane.explained, float), plane.coords
        extent = float(np.max(np.abs(coords))) if coords.size else 0.0
        if not extent > 0:
            raise ValueError("pca: the trajectory does not move in its plane")
        half = float(span) * 1.1 * extent
    for stride, L in progressive(obj, center, d1, d2, half, resolution, should_stop):
        ix, iy = _isolines(L.a, L.values, stride)
        yield LandscapeView(mode, L.a, L.b, L.values, stride, L.center, L.d1, L.d2,
                            explained, coords, int(seed), float(span), name, ix, iy)  # fmt: skip


def _isolines(a: np.ndarray, values: np.ndarray, stride: int):
    """Twelve isolines of the computed lattice (geometric levels when every value is
    positive, as the contour's log colour scale)."""
    idx = lattice(len(a), stride)
    v = values[np.ix_(idx, idx)]
    finite = v[np.isfinite(v)]
    levels = contour_levels(v, 12, log=bool(finite.size and finite.min() > 0))
    return isolines(a[idx], a[idx], v, levels)


@dataclass(frozen=True)
class SpectrumView:
    """The Hessian's spectrum at ``x`` (of the index named, over the free parameters)."""

    top: np.ndarray  # descending
    bottom: np.ndarray  # ascending (the most negative first)
    top_residuals: np.ndarray
    bottom_residuals: np.ndarray
    converged: bool
    hvps: int
    density_x: np.ndarray  # the broadened density's abscissa (eigenvalues)
    density_y: np.ndarray  # its values (integrates to ~1)
    nodes: np.ndarray  # SLQ's nodes and weights, as computed
    weights: np.ndarray
    trace: float  # the SLQ estimate of tr H (n * sum w node)
    n: int
    index_name: str

    def curvature_words(self) -> str:
        """What λmin says about the point, in words."""
        return _words(float(self.top[0]), float(self.bottom[0]))

    def saddle_directions(self) -> np.ndarray:
        """The negative eigenvalues that count (below -SADDLE_SHARE x λmax)."""
        return self.bottom[self.bottom < -SADDLE_SHARE * abs(float(self.top[0]))]

    def message(self) -> str:
        """One line: what was found (and when Lanczos did not converge, its residuals)."""
        lam = ", ".join(f"{v:.4g}" for v in self.top[:3])
        text = (f"Hessian of the {self.index_name} ({self.n:,} parameters): λmax {lam}; "
                f"λmin {self.bottom[0]:.4g}{self.curvature_words()}; trace ≈ {self.trace:.4g}; "
                f"{self.hvps} Hessian-vector products")  # fmt: skip
        if not self.converged:
            r = max(np.max(self.top_residuals, initial=0), np.max(self.bottom_residuals, initial=0))
            text += f" — Lanczos did not converge (largest residual {r:.2g})"
        return text


#: a negative eigenvalue smaller than this share of λmax is "nearly flat", not a saddle:
#: trained networks keep many such directions (Sagun et al. 2017)
SADDLE_SHARE = 1e-3


def _words(top: float, low: float) -> str:
    if low >= 0:
        return " (no negative curvature: a minimum's shape here)"
    share = -low / max(abs(top), 1e-300)
    if share < SADDLE_SHARE:
        return (f" (slightly negative: {100 * share:.2g} % of λmax — nearly flat directions, "
                "as training leaves them; not a saddle to speak of)")  # fmt: skip
    if share < 0.05:
        return (f" (small negative curvature, {100 * share:.2g} % of λmax: not a minimum "
                "yet — a direction still goes down)")  # fmt: skip
    return f" (negative curvature, {100 * share:.2g} % of λmax: a saddle, not a minimum)"


def _broaden(nodes: np.ndarray, weights: np.ndarray, points: int = 400):
    """The SLQ density as a curve: each node a Gaussian of width 1 % of the range
    (PyHessian's picture)."""
    lo, hi = float(nodes.min()), float(nodes.max())
    width = max(hi - lo, abs(hi), 1e-12)
    sigma = 0.01 * width
    xs = np.linspace(lo - 5 * sigma, hi + 5 * sigma, points)
    g = np.exp(-0.5 * ((xs[:, None] - nodes[None, :]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return xs, g @ weights


def compute_spectrum(setup, x, k: int = 5, steps: int = 40, runs: int = 4, seed: int = 0,
                     max_hvps: int = 300, tol: float = 1e-8) -> SpectrumView:  # fmt: skip
    """Top-``k`` and bottom-``k`` eigenvalues (Lanczos), the density (SLQ, ``runs``
    probes of ``steps`` steps) and the trace at free vector ``x``."""
    obj = setup.objective()
    n = obj.n_free
    check_spectrum(setup.spec, obj.data.n_samples, n, max(2 * k + 10, 20) * 8)
    x = np.asarray(x, dtype=float)
    op = HessianOperator(obj, x)
    top = lanczos(op, k=k, which="top", tol=tol, max_hvps=max_hvps, seed=seed)
    bot = lanczos(op, k=k, which="bottom", tol=tol, max_hvps=max_hvps, seed=seed + 1)
    nodes, w = slq_density(op, steps=min(steps, n), runs=runs, seed=seed + 2)
    xs, ys = _broaden(nodes, w)
    return SpectrumView(
        top.values[::-1].copy(), bot.values.copy(), top.residuals[::-1].copy(),
        bot.residuals.copy(), bool(top.converged and bot.converged), op.count, xs, ys, nodes,
        w, float(n * np.sum(w * nodes)), n, setup.index_name,
    )  # fmt: skip
