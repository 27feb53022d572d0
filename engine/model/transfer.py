"""Transfer functions under the book's names, numerically stable for large inputs.

Each transfer function maps net input ``n`` to output ``a`` (arrays of shape
``(..., S, Q)``: neurons along axis -2, samples along axis -1) and back-propagates
a derivative: given ``g = dF/da`` it returns ``dF/dn``.  For the element-wise
functions that is ``g * f'(n)``; for ``softmax`` it is the product with the
Jacobian ``diag(a) - a a^T`` of each column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["TRANSFERS", "Transfer", "get_transfer"]


class Transfer(Protocol):
    name: str
    description: str

    def forward(self, n: np.ndarray) -> np.ndarray: ...

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None: ...

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class _Logsig:
    name: str = "logsig"
    output_range: tuple[float, float] = (0.0, 1.0)  # open interval its outputs fill
    description: str = "log-sigmoid 1/(1+exp(-n)), output in (0, 1)"

    def forward(self, n: np.ndarray) -> np.ndarray:
        a = np.empty_like(n)
        self.forward_into(n, a)
        return a

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None:
        # 1/(1+e^-n) with n clipped below at -700 so e^-n never overflows (no warnings at
        # |n| = 1e4); the clip changes a by less than 1e-304.  Accurate in both tails,
        # unlike (1+tanh(n/2))/2, and exp is 3x faster than tanh on large arrays.
        np.maximum(n, -700.0, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g * (a * (1.0 - a))  # f'(n) = a (1 - a)


@dataclass(frozen=True)
class _Tansig:
    name: str = "tansig"
    output_range: tuple[float, float] = (-1.0, 1.0)  # open interval its outputs fill
    description: str = "hyperbolic tangent sigmoid, output in (-1, 1)"

    def forward(self, n: np.ndarray) -> np.ndarray:
        return np.tanh(n)

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None:
        np.tanh(n, out=out)

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g * (1.0 - a * a)  # f'(n) = 1 - a^2


@dataclass(frozen=True)
class _Purelin:
    name: str = "purelin"
    output_range: tuple[float, float] = (-math.inf, math.inf)  # open interval its outputs fill
    description: str = "linear a = n"

    def forward(self, n: np.ndarray) -> np.ndarray:
        return n.copy()

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None:
        out[...] = n

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g


@dataclass(frozen=True)
class _Poslin:
    name: str = "poslin"
    output_range: tuple[float, float] = (0.0, math.inf)  # open interval its outputs fill
    description: str = "positive linear (ReLU) a = max(0, n)"

    def forward(self, n: np.ndarray) -> np.ndarray:
        return np.maximum(n, 0.0)

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None:
        np.maximum(n, 0.0, out=out)

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g * (n > 0.0)  # the derivative at n = 0 is taken as 0


@dataclass(frozen=True)
class _Softmax:
    name: str = "softmax"
    output_range: tuple[float, float] = (0.0, 1.0)  # open interval its outputs fill
    description: str = "softmax over the layer's neurons (output layer), columns sum to 1"

    def forward(self, n: np.ndarray) -> np.ndarray:
        z = n - n.max(axis=-2, keepdims=True)  # shift: exp never overflows
        e = np.exp(z)
        e /= e.sum(axis=-2, keepdims=True)
        return e

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None:
        out[...] = self.forward(n)

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        # (diag(a) - a a^T) g, column by column
        return a * (g - (a * g).sum(axis=-2, keepdims=True))


TRANSFERS: dict[str, Transfer] = {
    t.name: t for t in (_Logsig(), _Tansig(), _Purelin(), _Poslin(), _Softmax())
}


def get_transfer(name: str) -> Transfer:
    """Return the transfer function registered under ``name``."""
    try:
        return TRANSFERS[name]
    except KeyError:
        raise ValueError(
            f"transfer function: unknown name {name!r}; choose one of {', '.join(TRANSFERS)}"
        ) from None


def targets_outside(transfer: str, T) -> str | None:
    """A warning when targets ``T`` lie outside what an output layer of ``transfer`` can
    produce (``1 + sin`` with a logsig output), else None."""
    lo, hi = get_transfer(transfer).output_range
    T = np.asarray(T, float)
    out = T[np.isfinite(T) & ((lo > T) | (hi < T))]
    if out.size == 0 or (lo == -math.inf and hi == math.inf):
        return None
    rng = f"({lo:g}, {hi:g})".replace("inf", "∞")
    return (
        f"{out.size} of {T.size} targets lie outside the {transfer} output's range {rng} "
        f"(from {T.min():.3g} to {T.max():.3g}): the network cannot fit them; use a purelin "
        f"output layer or scale the targets"
    )
