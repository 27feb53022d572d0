"""Reading and writing session files (``*.bpgui``): the ZIP archive, ``session.json`` and
the ``.npy`` members, with validation that names the field at fault and atomic saves.
The format is described in :mod:`bpgui_engine.session` and ``docs/session-format.md``.  Qt-free.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .history import COLUMNS, History
from .memory import available_bytes, fmt_bytes
from .network import NetworkSpec
from .safe_write import OutputError, landed, open_regular, replacing
from .session_arrays import (
    Plan,
    _check_ratio,
    _history,
    _history_plan,
    _MemArrays,
    _restarts,
    _restarts_plan,
    _ZipArrays,
)
from .session_maps import maps_arrays, maps_plan, maps_read, maps_sections
from .session_model import (
    DAMAGE,
    FORMAT,
    MAX_FILE_BYTES,
    MAX_JSON_BYTES,
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
    out.update(maps_arrays(s))
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


def _write_zip(fh, text: str, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        zf.writestr("session.json", text, compress_type=zipfile.ZIP_DEFLATED)
        for name, a in arrays.items():
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


# ---- reading --------------------------------------------------------------------------------
def load_session(path: str | os.PathLike) -> Session:
    """Read and validate a session file; :class:`SessionError` for anything wrong.  Only a
    regular file is opened (a FIFO or a device never blocks the reader)."""
    path = Path(path)
    try:
        fh = open_regular(path, MAX_FILE_BYTES)
    except OutputError as exc:
        raise SessionError(str(exc)) from None
    with fh:
        return _read(fh, path.name)


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
    except MemoryError:
        msg = "not enough memory to open it"
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
        doc = _read_json(zf, info)
        return _from_doc(doc, _ZipArrays(zf))


JSON_CHUNK = 1 << 20


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    """``session.json``, read in chunks: its declared size is checked against the limit
    and the memory budget before anything is read, and a description that is mostly
    whitespace (no bpgui writes one; a deflated file of padding is a memory bomb) is
    refused as soon as that is clear."""
    size = info.file_size
    if size > MAX_JSON_BYTES:
        raise SessionError(
            f"session.json: {size:,} bytes is more than the {MAX_JSON_BYTES:,} a session "
            "can need (a 50 MB CSV and a 5-million-parameter network's vectors)"
        )
    _check_ratio(info)
    have, source = available_bytes()
    if 4 * size > have:  # the text, its decoded copy and the parsed objects
        raise SessionError(
            f"session.json: {size:,} bytes needs about {fmt_bytes(4 * size)} to read, more "
            f"than the {fmt_bytes(have)} of {source}"
        )
    buf = bytearray()
    blank = 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(JSON_CHUNK)
                if not chunk:
                    break
                buf += chunk
                blank += len(chunk) - len(chunk.translate(None, b" \t\r\n"))
                if len(buf) > 4 * JSON_CHUNK and 2 * blank > len(buf):
                    raise SessionError(
                        f"session.json: {blank:,} of its first {len(buf):,} bytes are "
                        "whitespace (padding: not written by bpgui)"
                    )
                if len(buf) > size:
                    raise SessionError("session.json: longer than its declared size")
    except DAMAGE as exc:
        raise SessionError(f"session.json is damaged ({exc})") from None
    try:
        text = buf.decode("utf-8")
        del buf
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SessionError(f"session.json is not valid JSON ({exc})") from None


def _reject_constant(token: str):
    raise SessionError(f"session.json contains {token}, which JSON does not allow")


def _from_doc(doc: Any, src: _ZipArrays | _MemArrays) -> Session:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"not a bpgui session (format is not {FORMAT!r})")
    doc = migrate(doc)
    known = {"format", "schema_version", "setup", "start", "run", "history", "restarts", "view",
             "basins", "sweep", "race"}  # fmt: skip
    extra = sorted(set(doc) - known)
    if extra:
        raise SessionError(
            f"unknown field {extra[0]!r} (this version knows {', '.join(sorted(known))})"
        )
    setup_d = _want(doc, "setup", dict, "session")
    setup_d, setup_plan = _setup_arrays(setup_d, src)
    try:
        setup = setup_from_dict(setup_d)
        setup.check()  # builds the data: a bad expression or CSV fails here
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
    rs = _want(doc, "restarts", dict, "session", optional=True)
    plan = dict(setup_plan)
    if hist is not None:
        plan.update(_history_plan(hist, n))
    if rs is not None:
        plan.update(_restarts_plan(rs, n, src))
    maps, maps_ctx = maps_plan(doc, setup)
    plan.update(maps)
    src.check(plan)  # every declared size against the archive and the memory budget
    if hist is not None:
        s.history, last = _history(hist, src, n, plan)
        if s.run is not None and last != s.run.epoch:
            raise SessionError("history: its last epoch differs from run.epoch")
    if rs is not None:
        s.restarts, s.restarts_settings = _restarts(rs, src, n, plan)
    maps_read(s, maps_ctx, src, plan)
    view = _want(doc, "view", dict, "session", optional=True) or {}
    s.view = {}
    for k, v in view.items():
        kind = VIEW_KEYS.get(k)
        if kind is None:
            continue  # a view setting of another version: ignored, never an error
        if isinstance(v, kind) and not (kind is int and isinstance(v, bool)):
            s.view[k] = v
    return s


def _setup_arrays(setup_d: dict, src) -> tuple[dict, Plan]:
    """A large network's ``theta`` and ``free``, stored as ``.npy`` members, read into
    ``setup_d`` in place of their references (checked against the archive first)."""
    refs = {k: v for k, v in setup_d.items() if k in ("theta", "free") and isinstance(v, dict)}
    if not refs:
        return setup_d, {}
    try:
        spec = NetworkSpec.from_dict(setup_d["network"])
    except (ValueError, TypeError, KeyError) as exc:
        raise SessionError(f"setup.network: {exc}") from None
    plan: Plan = {}
    for key, ref in refs.items():
        if ref.get("array") != f"setup.{key}" or set(ref) - {"array", "count"}:
            raise SessionError(f'setup.{key}: expected a list or {{"array": "setup.{key}"}}')
        if key == "theta":
            plan["setup.theta.npy"] = ((spec.n_params,), "<f8")
        else:
            k = _want(ref, "count", int, "setup.free")
            if not 1 <= k <= spec.n_params:
                raise SessionError(f"setup.free.count: {k:,} is outside [1, {spec.n_params:,}]")
            plan["setup.free.npy"] = ((k,), "<i8")
    src.check(plan, partial=True)
    out = dict(setup_d)
    for name, (shape, dtype) in plan.items():
        a = src.get(name, shape, dtype)
        if a.flags.writeable:  # read from a file (a session's own arrays already are not)
            a.flags.writeable = False
        out[name[len("setup.") : -len(".npy")]] = a
    return out, plan


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
