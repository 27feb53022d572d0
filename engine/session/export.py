"""Exports to plain files other tools read: CSV and JSON.  Qt-free.

Numbers are written with ``repr`` (shortest round-trip form), so a value read back is the
value trained; non-finite values are written ``nan``/``inf`` in CSV and as strings in
JSON.  Every file is written atomically (:func:`atomic_write_text`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Iterator

import numpy as np

from bpgui_engine.analysis.surface import Surface
from bpgui_engine.model.setup import Setup
from bpgui_engine.safe_write import landed, new_file_mode, replacing
from bpgui_engine.train.history import COLUMNS, History

__all__ = [
    "atomic_write_text",
    "grid_csv",
    "history_csv",
    "kept_note",
    "new_file_mode",
    "params_csv",
    "params_json",
    "trajectory_csv",
]


ROWS_PER_PIECE = 4096


def _pieces(header: list[str], columns: list[np.ndarray]) -> Iterator[str]:
    """The CSV text in pieces of :data:`ROWS_PER_PIECE` rows: only one piece's Python
    numbers and text exist at a time (a whole 5-million-epoch history as Python floats
    and text would need ~10x its arrays)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    n = len(columns[0]) if columns else 0
    for i in range(0, n, ROWS_PER_PIECE):
        cols = [c[i : i + ROWS_PER_PIECE].tolist() for c in columns]  # Python numbers: exact
        w.writerows(zip(*cols, strict=True))
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue()


def _rows(header: list[str], columns: list[np.ndarray]) -> str:
    return "".join(_pieces(header, columns))


def history_csv(h: History, labels: tuple[str, ...]) -> Iterator[str]:
    """Every epoch: the columns of :data:`~engine.train.history.COLUMNS`, then the free
    parameters -- as pieces of text for :func:`atomic_write_text` (``"".join`` them for
    one string)."""
    x = h.x
    return _pieces(
        [*COLUMNS, *labels], [h.column(c) for c in COLUMNS] + [x[:, j] for j in range(x.shape[1])]
    )


def trajectory_csv(h: History, labels: tuple[str, ...]) -> Iterator[str]:
    """The weight trajectory: epoch and the free parameters (pieces, as :func:`history_csv`)."""
    x = h.x
    return _pieces(["epoch", *labels], [h.column("epoch")] + [x[:, j] for j in range(x.shape[1])])


def params_csv(setup: Setup, x: np.ndarray | None = None) -> str:
    """Every parameter by label (free ones at ``x``), with whether it is trained."""
    theta = setup.full_theta(x) if x is not None else np.array(setup.theta)
    free = set(setup.free)
    labels = list(setup.spec.labels)
    return _rows(
        ["label", "value", "free"],
        [np.array(labels, dtype=object), theta, np.array([lab in free for lab in labels])],
    )


def params_json(setup: Setup, x: np.ndarray | None = None) -> str:
    theta = setup.full_theta(x) if x is not None else np.array(setup.theta)
    doc = {
        "network": setup.spec.to_dict(),
        "params": {lab: _num(v) for lab, v in zip(setup.spec.labels, theta, strict=True)},
        "free": list(setup.free),
    }
    return json.dumps(doc, indent=1) + "\n"


def grid_csv(surf: Surface) -> str:
    """One row per grid point: ``LABELX,LABELY,performance`` (x varies slowest)."""
    X, Y = np.meshgrid(surf.xs, surf.ys, indexing="ij")
    return _rows(
        [surf.x_label, surf.y_label, "performance"], [X.ravel(), Y.ravel(), surf.values.ravel()]
    )


def _num(v: float) -> float | str:
    v = float(v)
    return v if math.isfinite(v) else str(v)


def atomic_write_text(path: str | os.PathLike, text: str | Iterable[str]) -> None:
    """Write ``text`` (a string, or pieces of one as an iterable: a large export streams)
    as UTF-8 via a temporary file in the target's folder and ``os.replace``: never half a
    file, never over a device, FIFO or folder, through a symlink to its target, keeping
    the target's mode (see :mod:`bpgui_engine.safe_write`).  The size that landed is
    checked against the bytes written before the rename.  ``ValueError`` with one clear
    line on any failure."""
    pieces = _slices(text) if isinstance(text, str) else text
    with replacing(path, suffix=".tmp") as tmp:
        size = 0
        with open(tmp, "wb") as fh:
            for piece in pieces:
                raw = piece.encode("utf-8")
                fh.write(raw)
                size += len(raw)
        landed(tmp, size, path)


def _slices(text: str, n: int = 1 << 20) -> Iterator[str]:
    for i in range(0, len(text), n):
        yield text[i : i + n]


def kept_note(h: History) -> str:
    """`` (the 5,400,263 epochs kept: every epoch to ...)`` for a history thinned past its
    budget, else ``""``: exports of it say what they hold."""
    if h.kept is None:
        return ""
    return f" (the {len(h):,} epochs kept: {h.describe()})"
