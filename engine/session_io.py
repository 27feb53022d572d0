"""Reading and writing session files (``*.bpgui``): the ZIP archive, ``session.json`` and
the ``.npy`` members, with validation that names the field at fault and atomic saves.
The format is described in :mod:`engine.session` and ``docs/session-format.md``.  Qt-free.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .batch import BatchResult
from .history import COLUMNS, History
from .session_model import (
    ARRAY_LIMIT,
    DAMAGE,
    FORMAT,
    MAX_FILE_BYTES,
    MAX_HISTORY,
    MAX_JSON_BYTES,
    MAX_RESTARTS,
    SCHEMA_VERSION,
    VIEW_KEYS,
    RunState,
    Session,
    SessionError,
    _dec,
    _enc,
    _vector,
    _want,
    check_state_shapes,
    migrate,
    one_line,
    run_state_to_dict,
)
from .setup import Setup, setup_from_dict, setup_to_dict
from .trainer import STOP_REASONS


# ---- writing --------------------------------------------------------------------------------
def session_to_dict(s: Session) -> dict[str, Any]:
    """The ``session.json`` document (arrays are referenced by name)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "setup": setup_to_dict(s.setup),
        "start": None if s.start is None else _enc(np.asarray(s.start, float)),
        "run": None,
        "history": None,
        "restarts": None,
        "view": _enc({k: v for k, v in s.view.items() if k in VIEW_KEYS}),
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
    return out


def _write_zip(fh, s: Session) -> None:
    text = json.dumps(session_to_dict(s), indent=1, allow_nan=False)
    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        zf.writestr("session.json", text, compress_type=zipfile.ZIP_DEFLATED)
        for name, a in _arrays(s).items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            raw = buf.getbuffer()
            # compress only what compresses (constant, NaN or integer columns): float
            # trajectories barely shrink and deflate would cost most of the save time
            probe = bytes(raw[: 1 << 16])
            packs = len(zlib.compress(probe, 1)) < 0.6 * len(probe)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if packs else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=raw.nbytes > (1 << 31)) as out:
                out.write(raw)


def session_bytes(s: Session) -> bytes:
    buf = io.BytesIO()
    _write_zip(buf, s)
    return buf.getvalue()


def save_session(s: Session, path: str | os.PathLike) -> Path:
    """Write ``s`` to ``path`` atomically: a temporary file beside it, flushed to disk,
    then renamed over it.  On any error the temporary file is removed and ``path`` is
    untouched; the error is a :class:`SessionError`."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise SessionError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        try:  # the permissions a new file would get (an existing file's own)
            mode = path.stat().st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            _write_zip(fh, s)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SessionError(f"cannot save {path.name}: {exc.strerror or exc}") from None
        if isinstance(exc, ValueError | TypeError):
            raise SessionError(f"cannot save {path.name}: {exc}") from None
        raise
    return path


# ---- reading --------------------------------------------------------------------------------
def load_session(path: str | os.PathLike) -> Session:
    """Read and validate a session file; :class:`SessionError` for anything wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SessionError(f"{path.name}: {size:,} bytes is too large for a session file")
        with open(path, "rb") as fh:
            return _read(fh, path.name)
    except SessionError:
        raise
    except IsADirectoryError:
        raise SessionError(f"{path.name}: is a folder, not a session file") from None
    except OSError as exc:
        raise SessionError(f"cannot open {path.name}: {exc.strerror or exc}") from None


def read_session_bytes(data: bytes, name: str = "session") -> Session:
    return _read(io.BytesIO(data), name)


def _read(fh, name: str) -> Session:
    """Every failure becomes one line: ``NAME: what is wrong``."""
    try:
        return _read_archive(fh)
    except SessionError as exc:
        msg = str(exc)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        msg = str(exc)
    except DAMAGE as exc:  # a damaged archive can fail deep inside zipfile/zlib
        msg = f"damaged session file ({type(exc).__name__}: {exc})"
    raise SessionError(one_line(f"{name}: {msg}"))


def _read_archive(fh) -> Session:
    head = fh.read(4)
    fh.seek(0)
    if head[:1] == b"{":
        raise SessionError("a JSON file, not a bpgui session (a session is a .bpgui archive)")
    if head != b"PK\x03\x04":
        raise SessionError("not a bpgui session file (not a session archive)")
    try:
        zf = zipfile.ZipFile(fh)
    except (*DAMAGE, ValueError) as exc:
        raise SessionError(f"damaged or truncated session file ({exc})") from None
    with zf:
        try:
            info = zf.getinfo("session.json")
        except KeyError:
            raise SessionError("not a bpgui session (no session.json inside)") from None
        if info.file_size > MAX_JSON_BYTES:
            raise SessionError(f"session.json is too large ({info.file_size:,} bytes)")
        try:
            text = _read_entry(zf, info).decode("utf-8")
            doc = json.loads(text, parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise SessionError(f"session.json is not valid JSON ({exc})") from None
        return _from_doc(doc, zf)


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return zf.read(info)
    except DAMAGE as exc:
        raise SessionError(f"{info.filename} is damaged ({exc})") from None


def _reject_constant(token: str):
    raise SessionError(f"session.json contains {token}, which JSON does not allow")


def _from_doc(doc: Any, zf: zipfile.ZipFile) -> Session:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"not a bpgui session (format is not {FORMAT!r})")
    doc = migrate(doc)
    known = {"format", "schema_version", "setup", "start", "run", "history", "restarts", "view"}
    extra = sorted(set(doc) - known)
    if extra:
        raise SessionError(
            f"unknown field {extra[0]!r} (this version knows {', '.join(sorted(known))})"
        )
    setup_d = _want(doc, "setup", dict, "session")
    try:
        setup = setup_from_dict(setup_d)
        setup.objective()  # builds the data: a bad expression or CSV fails here
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        msg = str(exc)
        raise SessionError(msg if msg.startswith("setup") else f"setup: {msg}") from None
    n = len(setup.free)
    s = Session(setup)
    start = doc.get("start")
    if start is not None:
        s.start = _vector(start, n, "start")
    run = _want(doc, "run", dict, "session", optional=True)
    if run is not None:
        s.run = _run_state(run, setup, n)
    hist = _want(doc, "history", dict, "session", optional=True)
    if hist is not None:
        s.history = _history(hist, zf, n)
        if s.run is not None and int(s.history.column("epoch")[-1]) != s.run.epoch:
            raise SessionError("history: its last epoch differs from run.epoch")
    rs = _want(doc, "restarts", dict, "session", optional=True)
    if rs is not None:
        s.restarts, s.restarts_settings = _restarts(rs, zf, n)
    view = _want(doc, "view", dict, "session", optional=True) or {}
    s.view = {}
    for k, v in view.items():
        kind = VIEW_KEYS.get(k)
        if kind is None:
            continue  # a view setting of another version: ignored, never an error
        if isinstance(v, kind) and not (kind is int and isinstance(v, bool)):
            s.view[k] = v
    return s


def _run_state(run: dict, setup: Setup, n: int) -> RunState:
    w = "run"
    known = {
        "start",
        "x",
        "epoch",
        "stop",
        "max_epochs",
        "val_best",
        "val_fails",
        "optimizer_state",
    }
    extra = sorted(set(run) - known)
    if extra:
        raise SessionError(f"run.{extra[0]}: unknown field")
    epoch = _want(run, "epoch", int, w)
    max_epochs = _want(run, "max_epochs", int, w)
    if not 0 <= epoch <= 10**12 or not 0 <= max_epochs <= 10**12:
        raise SessionError("run.epoch and run.max_epochs: must be in [0, 1e12]")
    stop = _want(run, "stop", str, w, optional=True)
    if stop is not None and stop not in STOP_REASONS and stop != "failed":
        raise SessionError(f"run.stop: unknown reason {stop!r}")
    vb = _dec(run.get("val_best", "inf"))
    if not isinstance(vb, int | float) or isinstance(vb, bool) or math.isnan(vb):
        raise SessionError('run.val_best: expected a number or "inf"')
    vf = _want(run, "val_fails", int, w, optional=True) or 0
    state = _want(run, "optimizer_state", dict, w)
    rs = RunState(
        start=_vector(run.get("start"), n, "run.start"),
        x=_vector(run.get("x"), n, "run.x"),
        epoch=epoch,
        stop=stop,
        max_epochs=max_epochs,
        optimizer_state=_dec(state),
        val_best=float(vb),
        val_fails=int(vf),
    )
    # the state must fit the optimizer and the problem: load it into a fresh one
    try:
        opt = setup.make_optimizer()
        opt.load_state_dict(rs.optimizer_state)
        check_state_shapes(opt, n)
    except SessionError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise SessionError(
            f"run.optimizer_state: does not fit optimizer {setup.optimizer!r} "
            f"({type(exc).__name__}: {exc})"
        ) from None
    return rs


def _npy(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Read ``name`` (shape and dtype checked from the header before any data is read)."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise SessionError(f"{name}: missing from the archive") from None
    expect = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if expect > ARRAY_LIMIT or info.file_size > expect + 4096:
        raise SessionError(f"{name}: {info.file_size:,} bytes, more than its shape allows")
    try:
        with zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                hdr = np.lib.format.read_array_header_1_0(fh, max_header_size=4096)
            elif version in ((2, 0), (3, 0)):
                hdr = np.lib.format.read_array_header_2_0(fh, max_header_size=4096)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            got_shape, fortran, got_dtype = hdr
            if tuple(got_shape) != tuple(shape) or got_dtype != np.dtype(dtype) or fortran:
                raise SessionError(
                    f"{name}: expected {dtype} of shape {shape}, found {got_dtype} {got_shape}"
                )
            raw = fh.read(expect + 1)
    except SessionError:
        raise
    except (*DAMAGE, ValueError) as exc:
        raise SessionError(f"{name}: damaged ({exc})") from None
    if len(raw) != expect:
        raise SessionError(f"{name}: truncated ({len(raw):,} of {expect:,} bytes)")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _history(hist: dict, zf: zipfile.ZipFile, n: int) -> History:
    k = _want(hist, "length", int, "history")
    if not 1 <= k <= MAX_HISTORY:
        raise SessionError(f"history.length: {k:,} is outside [1, {MAX_HISTORY:,}]")
    cols = _want(hist, "columns", list, "history")
    unknown = [c for c in cols if c not in COLUMNS]
    if unknown:
        raise SessionError(f"history.columns: unknown column {unknown[0]!r}")
    missing = [c for c in COLUMNS if c not in cols and c != "performance"]
    if missing:
        raise SessionError(f"history.columns: {missing[0]!r} is missing")
    stop = _want(hist, "stop", str, "history", optional=True)
    data = {c: _npy(zf, f"history.{c}.npy", (k,), "<i8" if c == "epoch" else "<f8") for c in cols}
    if "performance" not in data:
        data["performance"] = data["sse"]
    x = _npy(zf, "history.x.npy", (k, n), "<f8")
    ep = data["epoch"]
    if ep[0] < 0 or (k > 1 and np.any(np.diff(ep) <= 0)):
        raise SessionError("history.epoch: epochs must be >= 0 and increasing")
    h = History(n, capacity=k)
    h.extend(data, x, stop)
    return h


GRAD_NORM = "restarts.grad_norm.npy"


def _restarts(rs: dict, zf: zipfile.ZipFile, n: int) -> tuple[BatchResult, dict]:
    b = _want(rs, "starts", int, "restarts")
    k = _want(rs, "points", int, "restarts")
    if not (b >= 1 and k >= 1 and b * k <= MAX_RESTARTS):
        raise SessionError(f"restarts: {b} starts x {k} points is outside the limits")
    stop = _want(rs, "stop", list, "restarts")
    if len(stop) != b or not all(isinstance(v, str) for v in stop):
        raise SessionError(f"restarts.stop: expected {b} reasons")
    settings = _dec(_want(rs, "settings", dict, "restarts", optional=True) or {})
    res = BatchResult(
        x=_npy(zf, "restarts.x.npy", (b, n), "<f8"),
        performance=_npy(zf, "restarts.performance.npy", (b,), "<f8"),
        epochs=_npy(zf, "restarts.epochs.npy", (b,), "<i8"),
        stop=np.array(stop, dtype=object),
        path=_npy(zf, "restarts.path.npy", (k, b, n), "<f8"),
        path_performance=_npy(zf, "restarts.path_performance.npy", (k, b), "<f8"),
        path_epochs=_npy(zf, "restarts.path_epochs.npy", (k,), "<i8"),
        # since schema 2 (optional: restarts of version 1 did not keep it)
        grad_norm=_npy(zf, GRAD_NORM, (b,), "<f8") if GRAD_NORM in zf.namelist() else None,
    )
    return res, settings
