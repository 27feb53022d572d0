"""Symmetric copies of a parameter vector: points of equal performance by construction.  Qt-free.

A network's function, hence ``F`` on any data, is unchanged by

* permuting the neurons of a hidden layer ``m`` (rows of ``W^m``, ``b^m``; columns of
  ``W^{m+1}``), and
* flipping the sign of a hidden neuron ``i`` whose transfer function is odd about a point:
  ``tansig(-n) = -tansig(n)``: ``w -> -w``, ``b -> -b``, the next layer's column
  ``-w'``; ``logsig(-n) = 1 - logsig(n)``: the same, and the next layer's bias ``b' + w'``.

So a 1-S-1 logsig network has ``S! 2^S`` copies of every point.  Data can add one more:
the book's targets satisfy ``t(-p) = 1 - t(p)`` on inputs symmetric about 0, so the *mirror*
``W^1 -> -W^1`` with the logsig output flipped (``W^M -> -W^M``, ``b^M -> -b^M``) leaves ``F``
unchanged too.  :class:`Symmetries` takes the network's symmetries as given and a mirror only
when a numerical check on the data confirms it (:meth:`Symmetries.mirrors`).

Copies are found by mapping every point to a **canonical form**: per hidden layer, from the
first, each odd neuron flipped so that its largest incoming parameter (weights and bias) is
positive, then the neurons sorted by their incoming parameters; and the least of the
canonical forms of the point and of its mirror images.  Two points are copies when their
canonical forms agree within a tolerance.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from bpgui_engine.model.network import NetworkSpec

__all__ = ["ODD", "Symmetries"]

#: transfer functions with a sign-flip symmetry: ``f(-n) = c - f(n)`` (the value is ``c``)
ODD = {"tansig": 0.0, "logsig": 1.0}
DIGITS = 6  # sort keys are rounded to 10^-DIGITS of the point's largest |parameter|


class Symmetries:
    """The symmetries of ``spec`` and, with ``objective`` (an ``F(theta)`` of full parameter
    vectors, batched over a leading axis), the data's mirrors that it confirms."""

    def __init__(
        self,
        spec: NetworkSpec,
        value: Callable[[np.ndarray], np.ndarray] | None = None,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.mirrors: list[Callable[[np.ndarray], np.ndarray]] = []
        self.mirror_names: list[str] = []
        if value is not None:
            self._check_mirrors(value, seed)

    # ---- the group's elements -----------------------------------------------------------
    def flip(self, theta: np.ndarray, m: int, i: int) -> np.ndarray:
        """``theta`` with neuron ``i`` of hidden layer ``m`` (0-based) sign-flipped."""
        spec, t = self.spec, np.array(theta, dtype=float)
        c = ODD[spec.transfers[m]]
        (w, b), (w2, b2) = spec.slices[m], spec.slices[m + 1]
        r, s2, s = spec.fan_ins[m], spec.sizes[m + 1], spec.sizes[m]
        W, W2 = t[w].reshape(spec.sizes[m], r), t[w2].reshape(s2, s)
        col = W2[:, i].copy()
        W[i] *= -1.0
        t[b.start + i] *= -1.0
        W2[:, i] = -col
        t[w], t[w2] = W.ravel(), W2.ravel()
        t[b2] += c * col
        return t

    def permute(self, theta: np.ndarray, m: int, order: np.ndarray) -> np.ndarray:
        """``theta`` with hidden layer ``m``'s neurons put in ``order`` (new i = old order[i])."""
        spec, t = self.spec, np.array(theta, dtype=float)
        (w, b), (w2, _) = spec.slices[m], spec.slices[m + 1]
        s, r, s2 = spec.sizes[m], spec.fan_ins[m], spec.sizes[m + 1]
        t[w] = t[w].reshape(s, r)[order].ravel()
        t[b] = t[b][order]
        t[w2] = t[w2].reshape(s2, s)[:, order].ravel()
        return t

    def _mirror_candidates(self) -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
        spec = self.spec
        w1 = spec.slices[0][0]
        wl, bl = spec.slices[-1]
        out_t = spec.transfers[-1]

        def inputs(t):
            t = np.array(t, dtype=float)
            t[..., w1] *= -1.0
            return t

        def output(t):  # n^M -> -n^M: a -> 1 - a (logsig), -a (tansig, purelin)
            t = np.array(t, dtype=float)
            t[..., wl] *= -1.0
            t[..., bl] *= -1.0
            return t

        cands = [("inputs negated", inputs)]
        if out_t in ("logsig", "tansig", "purelin"):
            cands += [
                ("output reflected", output),
                ("inputs negated and output reflected", lambda t: output(inputs(t))),
            ]
        return cands

    def _check_mirrors(self, value, seed: int) -> None:
        """Keep the candidate mirrors under which ``F`` agrees at random points."""
        rng = np.random.default_rng(seed)
        X = rng.normal(scale=2.0, size=(4, self.spec.n_params))
        with np.errstate(all="ignore"):
            F = np.asarray(value(X), dtype=float)
            for name, g in self._mirror_candidates():
                Fg = np.asarray(value(g(X)), dtype=float)
                if np.all(np.isfinite(F)) and np.allclose(Fg, F, rtol=1e-10, atol=1e-300):
                    self.mirrors.append(g)
                    self.mirror_names.append(name)

    def order(self) -> int:
        """The number of elements of the group (the network's symmetries and the mirrors)."""
        n = 1 + len(self.mirrors)
        for m in range(self.spec.n_layers - 1):
            s = self.spec.sizes[m]
            n *= math.factorial(s) * (2**s if self.spec.transfers[m] in ODD else 1)
        return n

    def orbit(self, theta: np.ndarray, limit: int = 4096) -> np.ndarray | None:
        """Every image of ``theta`` under the group (``(order, N)``, ``theta`` first), or
        ``None`` when the group has more than ``limit`` elements."""
        if self.order() > limit:
            return None
        images = [np.array(theta, dtype=float)]
        images += [g(images[0]) for g in self.mirrors]
        for m in range(self.spec.n_layers - 1):
            s, odd = self.spec.sizes[m], self.spec.transfers[m] in ODD
            perms = [np.array(p) for p in itertools.permutations(range(s))]
            nxt = []
            for t in images:
                for flips in itertools.product((False, True), repeat=s if odd else 0):
                    u = t
                    for i in np.flatnonzero(flips):
                        u = self.flip(u, m, int(i))
                    nxt += [self.permute(u, m, p) for p in perms]
            images = nxt
        return np.array(images)

    # ---- canonical forms ------------------------------------------------------------------
    def canonical_network(self, theta: np.ndarray) -> np.ndarray:
        """``theta`` with every hidden layer's odd neurons flipped to a positive largest
        incoming parameter and the neurons sorted by their incoming parameters."""
        spec = self.spec
        t = np.array(theta, dtype=float)
        for m in range(spec.n_layers - 1):
            (w, b), s, r = spec.slices[m], spec.sizes[m], spec.fan_ins[m]
            if spec.transfers[m] in ODD:
                for i in range(s):
                    inc = np.append(t[w].reshape(s, r)[i], t[b][i])
                    if inc[np.argmax(np.abs(inc))] < 0:
                        t = self.flip(t, m, i)
            inc = np.hstack([t[w].reshape(s, r), t[b][:, None]])
            keys = _round(inc, float(np.abs(t).max()))
            order = np.lexsort(keys.T[::-1])  # by the first column, then the next, ...
            t = self.permute(t, m, order)
        return t

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """The least (by rounded lexicographic order) canonical form of ``theta`` and its
        mirror images."""
        forms = [self.canonical_network(theta)]
        forms += [self.canonical_network(g(np.asarray(theta, float))) for g in self.mirrors]
        scale = float(np.abs(forms[0]).max())
        keys = [tuple(_round(f, scale).tolist()) for f in forms]
        return forms[min(range(len(forms)), key=keys.__getitem__)]

    def copies(self, thetas: np.ndarray, rtol: float = 1e-4) -> list[int]:
        """For each row of ``thetas`` (full parameter vectors), the index of the first
        earlier row it is a symmetric copy of, or -1 (itself, or a copy of nothing before)."""
        forms = [self.canonical(t) for t in np.atleast_2d(thetas)]
        out = []
        for k, f in enumerate(forms):
            tol = rtol * max(1.0, float(np.abs(f).max()))
            j = next((j for j in range(k) if np.abs(forms[j] - f).max() <= tol), -1)
            out.append(j)
        return out

    def describe(self) -> str:
        """What the group is, e.g. ``2! x 2^2 hidden-neuron permutations and sign flips,
        and the mirror 'inputs negated and output reflected'``."""
        parts = []
        for m in range(self.spec.n_layers - 1):
            s = self.spec.sizes[m]
            odd = self.spec.transfers[m] in ODD
            flips = f" x 2^{s} sign flips" if odd else ""
            parts.append(f"layer {m + 1}: {s}! permutations{flips}")
        parts += [f"mirror: {n}" for n in self.mirror_names]
        return "; ".join(parts) if parts else "none"


def _round(a: np.ndarray, scale: float) -> np.ndarray:
    """``a`` rounded to multiples of ``10^-DIGITS * max(1, scale)``: sort keys that rounding
    noise (a weight of 1e-16 or -1e-16 at a point where it is 0) does not reorder."""
    q = 10.0**-DIGITS * max(1.0, scale)
    return np.round(np.asarray(a, dtype=float) / q) * q + 0.0  # + 0.0: no -0.0
