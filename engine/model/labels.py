"""A sequence of a network's parameter labels held as positions, not strings.

:class:`ParamLabels` behaves like the tuple of labels it stands for (``len``, indexing,
iteration, ``in``, ``.index``, ``==`` against any sequence of labels, hashing), but keeps
only an integer array of positions in the flat parameter vector.  A 4-million-parameter
network's "all free" is then a 32 MB array instead of 4 million Python strings (about
250 MB), and checking it is a few vectorized operations instead of 4 million lookups.
Labels are made on demand, one at a time, by :meth:`NetworkSpec.label`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bpgui_engine.model.network import NetworkSpec

__all__ = ["ParamLabels"]


class ParamLabels(Sequence[str]):
    """Labels ``spec.label(k) for k in idx``; immutable; ``idx`` is a read-only intp array."""

    __slots__ = ("_mask", "idx", "spec")

    def __init__(self, spec: NetworkSpec, idx: np.ndarray) -> None:
        idx = np.asarray(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError("free: expected a list of parameter labels or positions")
        idx = idx.astype(np.intp, copy=not (idx.dtype == np.intp and not idx.flags.writeable))
        if idx.size and (idx.min() < 0 or idx.max() >= spec.n_params):
            raise ValueError(f"free: a position is outside 0..{spec.n_params - 1}")
        idx.flags.writeable = False
        self.spec = spec
        self.idx = idx
        self._mask: np.ndarray | None = None

    @classmethod
    def of(cls, spec: NetworkSpec, items: Any) -> ParamLabels:
        """From labels, positions (an integer array) or another :class:`ParamLabels`
        (of any network with the same labels); ``ValueError`` naming a bad label."""
        if isinstance(items, ParamLabels):
            if items.spec == spec:
                return items
            items = list(items)
        if isinstance(items, np.ndarray) and items.dtype.kind in "iu":
            return cls(spec, items)
        items = list(items)
        if items and all(isinstance(v, str) for v in items):
            return cls(spec, np.array([spec.index(v) for v in items], dtype=np.intp))
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
            return cls(spec, np.array(items, dtype=np.intp))
        raise ValueError("free: expected a list of parameter labels")

    @classmethod
    def free(cls, spec: NetworkSpec, items: Any) -> ParamLabels:
        """:meth:`of`, checked as a set of free parameters: at least one, none twice."""
        out = cls.of(spec, items)
        if not len(out):
            raise ValueError("free: choose at least one free parameter")
        if not out.is_unique():
            raise ValueError("free: a parameter is listed twice")
        return out

    @classmethod
    def all(cls, spec: NetworkSpec) -> ParamLabels:
        return cls(spec, np.arange(spec.n_params, dtype=np.intp))

    # ---- the sequence --------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.idx.size)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return ParamLabels(self.spec, self.idx[i])
        return self.spec.label(int(self.idx[i]))

    def __iter__(self) -> Iterator[str]:
        label = self.spec.label
        for k in self.idx.tolist():
            yield label(k)

    @property
    def mask(self) -> np.ndarray:
        """``mask[k]`` is whether parameter ``k`` is in the list (read-only)."""
        if self._mask is None:
            m = np.zeros(self.spec.n_params, dtype=bool)
            m[self.idx] = True
            m.flags.writeable = False
            self._mask = m
        return self._mask

    def _position(self, label: object) -> int | None:
        if not isinstance(label, str):
            return None
        try:
            return self.spec.index(label)
        except ValueError:
            return None

    def __contains__(self, label: object) -> bool:
        k = self._position(label)
        return k is not None and bool(self.mask[k])

    def index(self, label: object, start: int = 0, stop: int | None = None) -> int:  # type: ignore[override]
        k = self._position(label)
        if k is not None and self.mask[k]:
            hits = np.flatnonzero(self.idx[start:stop] == k)
            if hits.size:
                return int(hits[0]) + start
        raise ValueError(f"{label!r} is not in the list")

    def is_unique(self) -> bool:
        return int(np.count_nonzero(self.mask)) == self.idx.size

    def is_all(self) -> bool:
        """Every parameter, in the flat vector's order."""
        n = self.spec.n_params
        return self.idx.size == n and bool(np.all(self.idx == np.arange(n)))

    # ---- comparison ----------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParamLabels):
            if other.spec == self.spec:
                return bool(np.array_equal(self.idx, other.idx))
            return len(other) == len(self) and list(self) == list(other)
        if isinstance(other, tuple | list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        # equal to the hash of the same labels' tuple up to 64 labels; above that the
        # positions' bytes (hashing millions of strings would cost seconds), so a long
        # ParamLabels and an equal tuple should not be mixed as keys of one dict
        return hash(tuple(self)) if len(self) <= 64 else hash((len(self), self.idx.tobytes()))

    def __repr__(self) -> str:
        if len(self) <= 8:
            return repr(tuple(self))
        return f"ParamLabels({self[0]!r}, ..., {self[-1]!r}; {len(self)} labels)"
