"""Datasets ``(P, T)``: function targets, CSV import, input normalization, train/validation split.

``P`` has shape ``(R, Q)`` (one column per sample) and ``T`` shape ``(S_M, Q)``.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass, field

import numpy as np

from bpgui_engine.model.expr import Expression

__all__ = [
    "CsvTable",
    "Dataset",
    "Normalizer",
    "csv_dataset",
    "function_dataset",
    "normalize",
    "parse_csv",
    "split",
]

MAX_SAMPLES = 10_000_000


@dataclass(frozen=True)
class Dataset:
    """Inputs ``P (R, Q)`` and targets ``T (S, Q)``, both finite float64."""

    P: np.ndarray
    T: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        P = _as_matrix(self.P, "P")
        T = _as_matrix(self.T, "T")
        if P.shape[1] != T.shape[1]:
            raise ValueError(
                f"data: P has {P.shape[1]} samples (columns) but T has {T.shape[1]}; "
                "they must match"
            )
        if P.size > MAX_SAMPLES or T.size > MAX_SAMPLES:
            raise ValueError(f"data: more than {MAX_SAMPLES} values")
        P.flags.writeable = False
        T.flags.writeable = False
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "T", T)

    @property
    def n_inputs(self) -> int:
        return self.P.shape[0]

    @property
    def n_outputs(self) -> int:
        return self.T.shape[0]

    @property
    def n_samples(self) -> int:
        return self.P.shape[1]

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(self.P[:, idx], self.T[:, idx], self.name)


def _as_matrix(x: object, name: str) -> np.ndarray:
    try:
        a = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"data: {name} must be numeric") from None
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 1 or a.shape[0] < 1:
        raise ValueError(f"data: {name} must be a non-empty (rows, samples) matrix, got {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(
            f"data: {name} has a non-finite value (NaN or inf) at row {bad[0] + 1}, "
            f"sample {bad[1] + 1}"
        )
    return a


def function_dataset(
    expression: str,
    lo: float = -2.0,
    hi: float = 2.0,
    n_points: int = 41,
    noise: float = 0.0,
    seed: int = 0,
) -> Dataset:
    """Targets ``t = g(p) + noise N(0, 1)`` at ``n_points`` equally spaced ``p`` in ``[lo, hi]``."""
    for k, v in (("lo", lo), ("hi", hi), ("noise", noise)):
        if not np.isfinite(v):
            raise ValueError(f"data: {k} must be a finite number, got {v!r}")
    if not hi > lo:
        raise ValueError(f"data: the range needs lo < hi, got [{lo}, {hi}]")
    if int(n_points) != n_points or not 2 <= n_points <= 1_000_000:
        raise ValueError(f"data: points must be an integer in [2, 1000000], got {n_points!r}")
    if noise < 0:
        raise ValueError(f"data: noise must be >= 0, got {noise}")
    g = Expression.parse(expression)
    P = np.linspace(lo, hi, int(n_points))[None, :]
    t = g(P)
    if not np.all(np.isfinite(t)):
        k = int(np.argmax(~np.isfinite(t)))
        raise ValueError(
            f"data: {expression!r} is not finite at p = {P[0, k]:g}; change the range or formula"
        )
    if noise:
        t = t + noise * np.random.default_rng(seed).standard_normal(t.shape)
    return Dataset(P, t[None, :], name=f"t = {g.text}")


MAX_CSV_BYTES = 50_000_000  # the largest CSV text read (the window's and a session's)


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV text: its header (``None`` when the first row is data), the values of
    every column (NaN where a field is not a number) and, per column, the first data row
    whose field is not a number (-1: all are numbers)."""

    header: tuple[str, ...] | None
    values: np.ndarray  # (rows, width)
    first_bad: np.ndarray  # (width,) row index or -1
    bad_text: tuple[str, ...]  # per column: that field's text ("" when none)
    names: dict[str, int]  # header name -> column (the first of equal names)
    lines: np.ndarray  # (rows,) each data row's line in the file (1-based)
    short: tuple[int, int] | None = None  # (row, fields) of the first row of wrong width

    @property
    def width(self) -> int:
        return self.values.shape[1]

    @property
    def rows(self) -> int:
        return self.values.shape[0]

    def line(self, row: int) -> int:
        """The file's line number of data row ``row`` (1-based; blank lines count)."""
        return int(self.lines[row])


def parse_csv(text: str) -> CsvTable:
    """Parse CSV text once, in time linear in its size; cached per text (an edit of the
    column fields or a second build of the same data does not parse again).

    The first row is a header only when one of its fields is not a number in any
    spelling the data accepts (``nan``, ``inf``, ``1e3``, ``0x1f`` are numbers)."""
    if len(text) > MAX_CSV_BYTES:
        raise ValueError(
            f"csv: {len(text):,} characters is more than the {MAX_CSV_BYTES:,} allowed"
        )
    return _parse_cached(text)


@functools.lru_cache(maxsize=4)
def _parse_cached(text: str) -> CsvTable:
    try:
        reader = csv.reader(io.StringIO(text))
        numbered = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ValueError(f"csv: cannot be read ({exc})") from None
    rows = [r for _, r in numbered]
    lines = np.array([n for n, _ in numbered], dtype=np.int64)
    if not rows:
        raise ValueError("csv: the file has no rows")
    header: tuple[str, ...] | None = None
    if not all(_spelled_number(c) for c in rows[0]):
        header, rows, lines = tuple(c.strip() for c in rows[0]), rows[1:], lines[1:]
    if not rows:
        raise ValueError("csv: the file has a header but no data rows")
    width = len(header) if header else len(rows[0])
    short = next(((i, len(r)) for i, r in enumerate(rows) if len(r) != width), None)
    if short is not None:  # reported with the other problems, in line order (csv_dataset)
        rows = [r[:width] + [""] * (width - len(r)) for r in rows]
    values = np.empty((len(rows), width))
    first_bad = np.full(width, -1, dtype=np.int64)
    bad_text = [""] * width
    for j, col in enumerate(zip(*rows, strict=True)):  # one pass per column: linear
        try:
            values[:, j] = np.array(col, dtype=float)
        except ValueError:  # a field numpy cannot read: find it, read the others one by one
            for i, c in enumerate(col):
                v = _to_float(c)
                values[i, j] = np.nan if v is None else v
                if v is None and first_bad[j] < 0:
                    first_bad[j], bad_text[j] = i, c.strip()
    names: dict[str, int] = {}
    for j, h in enumerate(header or ()):
        names.setdefault(h, j)
    return CsvTable(header, values, first_bad, tuple(bad_text), names, lines, short)


def csv_dataset(
    text: str, inputs: list[int | str], targets: list[int | str], name: str = "csv"
) -> Dataset:
    """Parse CSV text; ``inputs``/``targets`` are 0-based column numbers or header names.

    A first row with a field that is not a number is taken as the header (see
    :func:`parse_csv`).
    """
    table = parse_csv(text)
    cols_in = [_column(c, table) for c in inputs]
    cols_out = [_column(c, table) for c in targets]
    if not cols_in or not cols_out:
        raise ValueError("csv: choose at least one input column and one target column")
    both = sorted(set(cols_in) & set(cols_out))
    if both:
        j = both[0]
        name = table.header[j] if table.header is not None else str(j)
        raise ValueError(f"csv: column {name!r} is both an input and a target")
    used = sorted(set(cols_in) | set(cols_out))
    bad = [(int(table.first_bad[j]), j) for j in used if table.first_bad[j] >= 0]
    first = min(bad) if bad else None
    if table.short is not None and (first is None or table.short[0] <= first[0]):
        i, n = table.short  # the first problem in the file, whichever kind it is
        raise ValueError(f"csv: line {table.line(i)} has {n} fields, expected {table.width}")
    if first is not None:
        i, j = first
        raise ValueError(
            f"csv: line {table.line(i)}, column {j + 1}: {table.bad_text[j]!r} is not a number"
        )
    values = table.values
    P, T = values[:, cols_in], values[:, cols_out]
    for M, cols in ((P, cols_in), (T, cols_out)):
        if not np.all(np.isfinite(M)):
            i, k = np.argwhere(~np.isfinite(M))[0]
            raise ValueError(
                f"csv: line {table.line(i)}, column {cols[k] + 1}: "
                f"'{float(M[i, k])!r}' is not a finite number"
            )
    return Dataset(P.T, T.T, name=name)


def default_columns(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a newly loaded file starts with: every column but the last as inputs,
    the last as the target (by header name when there is a header)."""
    table = parse_csv(text)
    names = list(table.header) if table.header is not None else [str(j) for j in range(table.width)]
    if len(names) < 2:
        return tuple(names), ()
    return tuple(names[:-1]), (names[-1],)


def _to_float(s: str) -> float | None:
    """A field's value in any accepted spelling (what ``float`` reads, and integers in
    hexadecimal, octal or binary: ``0x1f``), else None."""
    try:
        return float(s)
    except ValueError:
        pass
    try:
        return float(int(s.strip(), 0))
    except (ValueError, OverflowError):
        return None


def _spelled_number(s: str) -> bool:
    return _to_float(s) is not None


def _column(c: int | str, table: CsvTable) -> int:
    width, header = table.width, table.header
    if isinstance(c, str) and not c.strip().lstrip("-").isdigit():
        j = table.names.get(c.strip())
        if j is None:
            have = ", ".join(header) if header else "none (no header row)"
            if len(have) > 200:
                have = have[:199] + "…"
            raise ValueError(f"csv: no column named {c!r}; columns: {have}")
        return j
    j = int(c)
    if not 0 <= j < width:
        raise ValueError(f"csv: column {j} out of range; the file has {width} columns (0-based)")
    return j


@dataclass(frozen=True)
class Normalizer:
    """Affine input map ``p' = (p - shift) / scale`` (per input row)."""

    method: str = "none"
    shift: np.ndarray = field(default_factory=lambda: np.zeros(1))
    scale: np.ndarray = field(default_factory=lambda: np.ones(1))

    def apply(self, P: np.ndarray) -> np.ndarray:
        return (P - self.shift[:, None]) / self.scale[:, None]

    def to_dict(self) -> dict:
        return {"method": self.method, "shift": self.shift.tolist(), "scale": self.scale.tolist()}


METHODS = ("none", "minmax", "standard")


def normalize(data: Dataset, method: str) -> tuple[Dataset, Normalizer]:
    """``minmax`` maps each input to [-1, 1]; ``standard`` to zero mean, unit variance."""
    if method not in METHODS:
        raise ValueError(f"normalization: unknown method {method!r}; choose one of {METHODS}")
    P = data.P
    if method == "none":
        return data, Normalizer("none", np.zeros(len(P)), np.ones(len(P)))
    if method == "minmax":
        lo, hi = P.min(axis=1), P.max(axis=1)
        shift, scale = (lo + hi) / 2, (hi - lo) / 2
    else:
        shift, scale = P.mean(axis=1), P.std(axis=1)
    scale = np.where(scale > 0, scale, 1.0)  # a constant input stays put
    norm = Normalizer(method, shift, scale)
    return Dataset(norm.apply(P), data.T, data.name), norm


def split(data: Dataset, validation: float, seed: int = 0) -> tuple[Dataset, Dataset | None]:
    """Seeded random split; ``validation`` is the fraction held out (0 means no split)."""
    if not 0.0 <= validation < 1.0:
        raise ValueError(f"validation split: must be in [0, 1), got {validation}")
    Q = data.n_samples
    n_val = round(validation * Q)
    if n_val == 0:
        return data, None
    if Q - n_val < 1:
        raise ValueError("validation split: leaves no training samples")
    perm = np.random.default_rng(seed).permutation(Q)
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return data.subset(train), data.subset(val)
