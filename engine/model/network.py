"""Multilayer networks R-S1-...-SM in the book's notation, over one flat parameter vector.

The parameter vector ``theta`` holds, layer after layer, ``W^m`` (row-major, shape
``(S_m, S_{m-1})``) then ``b^m``.  Labels are 1-based as in the book: ``W1[2,1]`` is
row 2, column 1 of layer 1's weight matrix, ``b1[2]`` its second bias.

Every function accepts ``theta`` with an optional leading batch shape ``(..., N)``;
the same code then evaluates many parameter vectors at once (surfaces, restarts).
Inputs ``P`` have shape ``(R, Q)`` and targets ``T`` shape ``(S_M, Q)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from bpgui_engine.model.transfer import TRANSFERS, Transfer, get_transfer

__all__ = ["Forward", "NetworkSpec"]

MAX_PARAMS = 5_000_000
_LABEL = re.compile(
    r"(?P<kind>[Wb])(?P<m>[1-9][0-9]*)(?:\[(?P<i>[1-9][0-9]*)(?:,(?P<j>[1-9][0-9]*))?\])?"
)


@dataclass(frozen=True)
class Forward:
    """The forward pass: net inputs ``n[m]`` and outputs ``a[m]`` of every layer (0-based)."""

    n: list[np.ndarray]
    a: list[np.ndarray]

    @property
    def output(self) -> np.ndarray:
        return self.a[-1]


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture: number of inputs ``R``, layer sizes ``S1..SM`` and a transfer function each.

    Examples
    --------
    >>> NetworkSpec(1, (2, 1), ("logsig", "logsig")).labels
    ('W1[1,1]', 'W1[2,1]', 'b1[1]', 'b1[2]', 'W2[1,1]', 'W2[1,2]', 'b2[1]')
    """

    n_inputs: int
    sizes: tuple[int, ...]
    transfers: tuple[str, ...]
    _t: tuple[Transfer, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(self.sizes))
        object.__setattr__(self, "transfers", tuple(self.transfers))
        if not _is_int(self.n_inputs) or self.n_inputs < 1:
            raise ValueError(f"n_inputs: must be an integer >= 1, got {self.n_inputs!r}")
        if len(self.sizes) < 1:
            raise ValueError("sizes: the network needs at least one layer")
        for m, s in enumerate(self.sizes, 1):
            if not _is_int(s) or s < 1:
                raise ValueError(f"sizes: layer {m} must have an integer size >= 1, got {s!r}")
        if len(self.transfers) != len(self.sizes):
            raise ValueError(
                f"transfers: need one per layer ({len(self.sizes)}), got {len(self.transfers)}"
            )
        for m, name in enumerate(self.transfers, 1):
            if name not in TRANSFERS:
                raise ValueError(
                    f"transfers: layer {m} has unknown transfer function {name!r}; "
                    f"choose one of {', '.join(TRANSFERS)}"
                )
            if name == "softmax" and m != len(self.sizes):
                raise ValueError(f"transfers: softmax is allowed only in the output layer, not {m}")
        n = sum(s * (r + 1) for r, s in zip(self.fan_ins, self.sizes, strict=True))
        if n > MAX_PARAMS:
            raise ValueError(f"sizes: {n} parameters is more than the limit {MAX_PARAMS}")
        object.__setattr__(self, "_t", tuple(get_transfer(t) for t in self.transfers))

    # ---- layout -------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.sizes)

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def fan_ins(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.sizes[:-1])

    @cached_property
    def slices(self) -> tuple[tuple[slice, slice], ...]:
        """Per layer, the slices of ``W^m`` and ``b^m`` in the flat vector."""
        out, off = [], 0
        for r, s in zip(self.fan_ins, self.sizes, strict=True):
            w = slice(off, off + s * r)
            b = slice(w.stop, w.stop + s)
            out.append((w, b))
            off = b.stop
        return tuple(out)

    @property
    def n_params(self) -> int:
        return self.slices[-1][1].stop

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Every parameter's label, in the flat vector's order (4 M strings for a
        4-million-parameter network: prefer :meth:`label` and :meth:`index`)."""
        out = []
        for m, (r, s) in enumerate(zip(self.fan_ins, self.sizes, strict=True), 1):
            out += [f"W{m}[{i},{j}]" for i in range(1, s + 1) for j in range(1, r + 1)]
            out += [f"b{m}[{i}]" for i in range(1, s + 1)]
        return tuple(out)

    def label(self, k: int) -> str:
        """The label of parameter ``k`` (0-based position in the flat vector)."""
        if not 0 <= k < self.n_params:
            raise IndexError(f"parameter {k} is outside 0..{self.n_params - 1}")
        for m, ((w, b), r) in enumerate(zip(self.slices, self.fan_ins, strict=True), 1):
            if k < w.stop:
                i, j = divmod(k - w.start, r)
                return f"W{m}[{i + 1},{j + 1}]"
            if k < b.stop:
                return f"b{m}[{k - b.start + 1}]"
        raise AssertionError("unreachable")  # pragma: no cover

    @cached_property
    def layer_of(self) -> np.ndarray:
        """For each parameter, the 0-based index of its layer."""
        out = np.empty(self.n_params, dtype=np.intp)
        for m, (w, b) in enumerate(self.slices):
            out[w.start : b.stop] = m
        return out

    def index(self, label: str) -> int:
        """Position of ``label`` (e.g. ``'W1[2,1]'``, ``'b2[1]'``, also ``'b2'`` for one bias),
        computed from the label (no table of every label is built)."""
        key = normalize_label(label)
        hit = _LABEL.fullmatch(key)
        if hit:
            kind, m = hit["kind"], int(hit["m"])
            i = int(hit["i"]) if hit["i"] else 1
            if 1 <= m <= self.n_layers:
                (w, b), r, s = self.slices[m - 1], self.fan_ins[m - 1], self.sizes[m - 1]
                if kind == "W" and hit["j"] and 1 <= i <= s and 1 <= int(hit["j"]) <= r:
                    return w.start + (i - 1) * r + int(hit["j"]) - 1
                if kind == "b" and not hit["j"] and (hit["i"] or s == 1) and 1 <= i <= s:
                    return b.start + i - 1
        raise ValueError(f"unknown parameter label {label!r}; valid labels are: {self.describe()}")

    def describe(self) -> str:
        """The valid labels: all of them for a small network, their ranges otherwise."""
        if self.n_params <= 64:
            return ", ".join(self.labels)
        parts = []
        for m, (r, s) in enumerate(zip(self.fan_ins, self.sizes, strict=True), 1):
            parts.append(f"W{m}[i,j] (i 1..{s}, j 1..{r}), b{m}[i] (i 1..{s})")
        return "; ".join(parts)

    def unpack(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Views ``(W^m, b^m)`` of ``theta`` (shape ``(..., N)``): ``W`` is ``(..., S, R)``."""
        lead = theta.shape[:-1]
        return [
            (theta[..., w].reshape((*lead, s, r)), theta[..., b])
            for (w, b), r, s in zip(self.slices, self.fan_ins, self.sizes, strict=True)
        ]

    def to_dict(self) -> dict:
        return {
            "n_inputs": self.n_inputs,
            "sizes": list(self.sizes),
            "transfers": list(self.transfers),
        }

    @classmethod
    def from_dict(cls, d: dict) -> NetworkSpec:
        return cls(int(d["n_inputs"]), tuple(d["sizes"]), tuple(d["transfers"]))

    # ---- maths --------------------------------------------------------------------------
    def forward(self, theta: np.ndarray, P: np.ndarray) -> Forward:
        """Forward pass ``a^0 = p``, ``n^{m} = W^{m} a^{m-1} + b^{m}``, ``a^{m} = f^{m}(n^{m})``."""
        a = P
        ns, as_ = [], []
        for (W, b), f in zip(self.unpack(theta), self._t, strict=True):
            n = W @ a
            n += b[..., None]
            a = f.forward(n)
            ns.append(n)
            as_.append(a)
        return Forward(ns, as_)

    def output(self, theta: np.ndarray, P: np.ndarray) -> np.ndarray:
        """Network response ``a^M`` of shape ``(..., S_M, Q)``."""
        return self.forward(theta, P).output

    def backward(
        self, theta: np.ndarray, P: np.ndarray, fw: Forward, s_out: np.ndarray
    ) -> np.ndarray:
        """Gradient from the output sensitivity ``s^M = dF/dn^M`` (shape ``(..., S_M, Q)``).

        Sensitivities go back by ``s^m = F'^m(n^m) (W^{m+1})^T s^{m+1}`` and the
        gradient is ``dF/dW^m = s^m (a^{m-1})^T``, ``dF/db^m = sum_q s^m`` (book eq. 11.44-11.47).
        """
        layers = self.unpack(theta)
        grads: list[np.ndarray] = [None] * (2 * self.n_layers)  # type: ignore[list-item]
        s = s_out
        lead = theta.shape[:-1]
        for m in range(self.n_layers - 1, -1, -1):
            a_prev = P if m == 0 else fw.a[m - 1]
            gW = s @ np.swapaxes(a_prev, -1, -2)
            grads[2 * m] = gW.reshape((*lead, -1)) if lead else gW.ravel()
            grads[2 * m + 1] = s.sum(axis=-1)
            if m:
                W = layers[m][0]
                s = self._t[m - 1].backward(fw.n[m - 1], fw.a[m - 1], np.swapaxes(W, -1, -2) @ s)
        return np.concatenate(
            [np.broadcast_to(g, (*lead, g.shape[-1])) for g in grads] if lead else grads,
            axis=-1,
        )

    def jacobian(self, theta: np.ndarray, P: np.ndarray, fw: Forward) -> np.ndarray:
        """Jacobian of the errors ``e = t - a^M`` by Marquardt sensitivities (NND eq. 12.43-12.47).

        Returns ``J`` of shape ``(..., S_M*Q, N)``; row ``k*Q + q`` holds ``d e_{k,q} / d theta``.
        The Marquardt sensitivity ``S^M = -F'^M(n^M)`` is propagated for every output ``k`` at
        once along an extra axis (``-3``).
        """
        lead = theta.shape[:-1]
        SM, Q = fw.output.shape[-2:]
        layers = self.unpack(theta)
        ex = (..., None, slice(None), slice(None))  # insert the residual axis k
        g = -np.broadcast_to(np.eye(SM)[:, :, None], (*lead, SM, SM, Q))
        s = self._t[-1].backward(fw.n[-1][ex], fw.a[-1][ex], g)  # (..., k, i, q)
        J = np.empty((*lead, SM, Q, self.n_params))
        for m in range(self.n_layers - 1, -1, -1):
            a_prev = P if m == 0 else fw.a[m - 1]  # (..., R_m, Q)
            wsl, bsl = self.slices[m]
            # d e_{k,q} / d W[i,j] = s[k,i,q] a_prev[j,q];  d e_{k,q} / d b[i] = s[k,i,q]
            J[..., wsl] = np.einsum("...kiq,...jq->...kqij", s, a_prev).reshape((*lead, SM, Q, -1))
            J[..., bsl] = np.swapaxes(s, -1, -2)
            if m:
                W = layers[m][0]
                up = np.einsum("...ij,...kiq->...kjq", W, s)
                s = self._t[m - 1].backward(fw.n[m - 1][ex], fw.a[m - 1][ex], up)
        return J.reshape((*lead, SM * Q, self.n_params))


def normalize_label(label: str) -> str:
    """Canonical form of a label: ``'w1[1, 2]'`` -> ``'W1[1,2]'``, ``'B2[1]'`` -> ``'b2[1]'``."""
    s = str(label).replace(" ", "")
    if s[:1] == "w":
        s = "W" + s[1:]
    elif s[:1] == "B":
        s = "b" + s[1:]
    return s


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)
