"""What basin maps and sweeps share: grid axes, stop codes, and CSV cells.  Qt-free.

A map's cells hold small integer stop codes instead of strings (``int8`` arrays, cheap to
store and to send between processes): code ``k`` is ``STOP_CODES[k]``, the trainer's
reasons in :data:`~engine.train.trainer.STOP_REASONS` order; ``MISSING`` (-1) marks a cell not
computed (cancelled, or its chunk lost on a cluster).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

import numpy as np

from bpgui_engine.train.trainer import STOP_REASONS

__all__ = [
    "MISSING",
    "STOP_CODES",
    "axis_values",
    "check_range",
    "check_resolution",
    "csv_text",
    "fmt_cell",
    "stop_codes",
    "stop_names",
]

STOP_CODES: tuple[str, ...] = tuple(STOP_REASONS)
MISSING = -1
_CODE = {name: k for k, name in enumerate(STOP_CODES)}


def stop_codes(stops: Sequence[str]) -> np.ndarray:
    """Stop reasons -> ``int8`` codes (an unknown reason is a bug: ``KeyError``)."""
    return np.fromiter((_CODE[str(s)] for s in stops), dtype=np.int8, count=len(stops))


def stop_names(codes: np.ndarray) -> list[str]:
    """``int8`` codes -> reasons; ``MISSING`` -> ``"not computed"``."""
    return [STOP_CODES[c] if c >= 0 else "not computed" for c in np.asarray(codes).tolist()]


def check_range(name: str, lo: float, hi: float) -> tuple[float, float]:
    """A finite ``lo < hi``, else one-line ``ValueError`` naming the axis."""
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"range of {name}: MIN and MAX must be numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"range of {name}: need finite MIN < MAX, got [{lo:g}, {hi:g}]")
    return lo, hi


def check_resolution(n: int, lo: int = 2, hi: int = 100_000) -> int:
    if isinstance(n, bool) or int(n) != n or not lo <= int(n) <= hi:
        raise ValueError(f"resolution: must be an integer in [{lo}, {hi:,}], got {n!r}")
    return int(n)


def axis_values(lo: float, hi: float, n: int, log: bool = False) -> np.ndarray:
    """``n`` values from ``lo`` to ``hi`` inclusive, geometric when ``log``."""
    if log:
        if lo <= 0:
            raise ValueError(f"a log axis needs MIN > 0, got {lo:g}")
        return np.geomspace(lo, hi, n)
    return np.linspace(lo, hi, n)


def fmt_cell(v: float | int | str | None) -> str | float | int:
    """A CSV cell: ``None``/NaN -> empty, floats exact (``repr``), strings as they are."""
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    return v


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([[fmt_cell(v) for v in r] for r in rows])
    return buf.getvalue()
