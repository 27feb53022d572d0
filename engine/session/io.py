"""Reading session files (``*.bpgui``): the ZIP archive, ``session.json`` and the ``.npy``
members (stored or deflated), with validation that names the field at fault and memory
bounded by what the file can honestly need.  Writing is :mod:`bpgui_engine.session.write`;
the format is described in :mod:`bpgui_engine.session` and ``docs/session-format.md``.
Qt-free.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

from bpgui_engine.memory import available_bytes, fmt_bytes
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.setup import Setup, setup_from_dict
from bpgui_engine.safe_write import OutputError, open_regular
from bpgui_engine.session.arrays import (
    Plan,
    _check_ratio,
    _history,
    _history_plan,
    _MemArrays,
    _restarts,
    _restarts_plan,
    _ZipArrays,
)
from bpgui_engine.session.landscape import landscape_plan, landscape_read
from bpgui_engine.session.maps import maps_plan, maps_read
from bpgui_engine.session.schema import (
    DAMAGE,
    FORMAT,
    MAX_FILE_BYTES,
    MAX_JSON_BYTES,
    VIEW_KEYS,
    RunState,
    Session,
    SessionError,
    _dec,
    _vector,
    _want,
    check_state_shapes,
    migrate,
    one_line,
)
from bpgui_engine.train.trainer import STOP_REASONS


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
             "basins", "sweep", "race", "landscape", "sharpness"}  # fmt: skip
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
    lplan, lctx = landscape_plan(doc, n)
    plan.update(lplan)
    src.check(plan)  # every declared size against the archive and the memory budget
    if hist is not None:
        s.history, last = _history(hist, src, n, plan)
        if s.run is not None and last != s.run.epoch:
            raise SessionError("history: its last epoch differs from run.epoch")
        s.history_sampled_from = _sampled_from(hist)
    if rs is not None:
        s.restarts, s.restarts_settings = _restarts(rs, src, n, plan)
    maps_read(s, maps_ctx, src, plan)
    landscape_read(s, lctx, src, plan)
    view = _want(doc, "view", dict, "session", optional=True) or {}
    s.view = {}
    for k, v in view.items():
        kind = VIEW_KEYS.get(k)
        if kind is None:
            continue  # a view setting of another version: ignored, never an error
        if isinstance(v, kind) and not (kind is int and isinstance(v, bool)):
            s.view[k] = v
    return s


def _sampled_from(hist: dict) -> int | None:
    """``history.sampled_from`` (a lighter copy): at least the rows kept."""
    v = _want(hist, "sampled_from", int, "history", optional=True)
    if v is not None and not hist["length"] <= v <= 10**13:
        raise SessionError(f"history.sampled_from: {v:,} is below history.length")
    return v


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
