"""Writing session files (``*.bpgui``): the description, the arrays as deflated ``.npy``
members of a ZIP archive, checked by the reader's own validation before anything is
written, and saved atomically with what landed checked before the rename.  Reading is
:mod:`bpgui_engine.session.io`; the format is ``docs/session-format.md``.  Qt-free.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from bpgui_engine.model.setup import setup_to_dict
from bpgui_engine.safe_write import OutputError, landed, replacing
from bpgui_engine.session.arrays import _MemArrays
from bpgui_engine.session.io import _from_doc, _reject_constant
from bpgui_engine.session.landscape import landscape_arrays, landscape_sections
from bpgui_engine.session.maps import maps_arrays, maps_sections
from bpgui_engine.session.schema import (
    FORMAT,
    SCHEMA_VERSION,
    VIEW_KEYS,
    Session,
    SessionError,
    _enc,
    one_line,
    run_state_to_dict,
)
from bpgui_engine.train.history import COLUMNS, History

__all__ = ["save_session", "session_bytes", "session_to_dict", "validate"]


# ---- writing --------------------------------------------------------------------------------
def session_to_dict(s: Session, arrays: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """The ``session.json`` document (arrays are referenced by name).  With ``arrays``, a
    large network's parameter vectors are put there instead of into the JSON."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "setup": setup_to_dict(s.setup, arrays),
        "start": None if s.start is None else _enc(np.asarray(s.start, float)),
        "run": None,
        "history": None,
        "restarts": None,
        "view": _enc({k: v for k, v in s.view.items() if k in VIEW_KEYS}),
        **maps_sections(s),
        **landscape_sections(s),
    }
    if s.run is not None:
        doc["run"] = run_state_to_dict(s.run)
    if s.history is not None and len(s.history):
        h = s.history
        doc["history"] = {
            "length": len(h),
            "stop": h.stop,
            "columns": [c for c in COLUMNS if c != "performance" or _perf_differs(h)],
        }
        if h.kept is not None:  # a history thinned past its budget (optional: older
            doc["history"]["kept"] = h.kept.to_dict()  # readers ignore it)
        if s.history_sampled_from is not None:  # a lighter copy (optional: older readers
            doc["history"]["sampled_from"] = int(s.history_sampled_from)  # ignore it)
    if s.restarts is not None:
        r = s.restarts
        doc["restarts"] = {
            "starts": int(r.x.shape[0]),
            "points": int(r.path.shape[0]),
            "stop": [str(v) for v in r.stop],
            "settings": _enc(s.restarts_settings),
        }
    return doc


def _perf_differs(h: History) -> bool:
    return not np.array_equal(h.column("performance"), h.column("sse"), equal_nan=True)


def _arrays(s: Session) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if s.history is not None and len(s.history):
        h = s.history
        for c in COLUMNS:
            if c != "performance" or _perf_differs(h):
                out[f"history.{c}"] = h.column(c)
        out["history.x"] = h.x
    if s.restarts is not None:
        r = s.restarts
        out["restarts.x"] = r.x
        out["restarts.performance"] = r.performance
        out["restarts.epochs"] = r.epochs
        out["restarts.path"] = r.path
        out["restarts.path_performance"] = r.path_performance
        out["restarts.path_epochs"] = r.path_epochs
        if r.grad_norm is not None:
            out["restarts.grad_norm"] = r.grad_norm
    out.update(maps_arrays(s))
    out.update(landscape_arrays(s))
    return out


def _serialize(s: Session) -> tuple[str, dict[str, np.ndarray]]:
    """``session.json``'s text and the arrays, checked as the reader would check them:
    a session the reader would reject is never written (:class:`SessionError`)."""
    arrays: dict[str, np.ndarray] = {}
    try:
        text = json.dumps(session_to_dict(s, arrays), indent=1, allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise SessionError(f"cannot be saved: {exc}") from None
    arrays.update(_arrays(s))
    validate(text, arrays)
    return text, arrays


def validate(text: str, arrays: dict[str, np.ndarray]) -> None:
    """Run the reader's validation on what is about to be written: the JSON as it will
    be read back and the arrays' shapes and dtypes (the arrays are not copied)."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
        _from_doc(doc, _MemArrays(arrays))
    except SessionError as exc:
        raise SessionError(one_line(f"not saved, it would not reopen: {exc}")) from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise SessionError(one_line(f"not saved, it would not reopen: {exc}")) from None


#: deflate level of the ``.npy`` members: 1 packs a trajectory as well as 6 to within a
#: few per cent at a third of the time (docs/session-format.md, "Compression")
LEVEL = 1


def _write_zip(fh, text: str, arrays: dict[str, np.ndarray]) -> None:
    """The archive: ``session.json`` and every array as a deflated ``.npy`` member, streamed
    (no copy of an array is made)."""
    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        zf.writestr("session.json", text, compress_type=zipfile.ZIP_DEFLATED)
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info._compresslevel = LEVEL  # compress_level from Python 3.13 on
            info.external_attr = 0o644 << 16
            big = a.nbytes + 4096 > zipfile.ZIP64_LIMIT
            with zf.open(info, "w", force_zip64=big) as out:
                np.lib.format.write_array(out, np.ascontiguousarray(a), allow_pickle=False)


def session_bytes(s: Session) -> bytes:
    text, arrays = _serialize(s)
    buf = io.BytesIO()
    _write_zip(buf, text, arrays)
    return buf.getvalue()


def save_session(s: Session, path: str | os.PathLike) -> Path:
    """Validate ``s`` as the reader would, then write it to ``path`` atomically (see
    :mod:`bpgui_engine.safe_write`: a temporary file in the target's folder, flushed, renamed;
    only a regular file is replaced, a symlink is written through, the mode is kept).
    On any error ``path`` is untouched; the error is a one-line :class:`SessionError`."""
    path = Path(path)
    try:
        text, arrays = _serialize(s)
    except SessionError as exc:
        raise SessionError(f"{path.name}: {exc}") from None
    try:
        with replacing(path) as tmp:
            with open(tmp, "wb") as fh:
                _write_zip(fh, text, arrays)
                fh.flush()
                size = fh.tell()
            landed(tmp, size, path)
            _check_members(tmp, arrays, path)
    except OutputError as exc:
        raise SessionError(str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise SessionError(one_line(f"cannot save {path.name}: {exc}")) from None
    return path


def _check_members(tmp: str, arrays: dict[str, np.ndarray], path: Path) -> None:
    """What landed must open as the archive written: its directory read back lists
    ``session.json`` and every array with its size (no member is decompressed)."""
    try:
        with zipfile.ZipFile(tmp) as zf:
            sizes = {i.filename: i.file_size for i in zf.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise OSError(f"cannot write {path}: the file written does not read back ({exc})") from None
    for name, a in arrays.items():
        have = sizes.get(f"{name}.npy", -1)
        if not a.nbytes < have <= a.nbytes + 4096:  # the array and its .npy header
            raise OSError(f"cannot write {path}: {name}.npy did not land whole")
    if "session.json" not in sizes or len(sizes) != len(arrays) + 1:
        raise OSError(f"cannot write {path}: the file written lacks members")
