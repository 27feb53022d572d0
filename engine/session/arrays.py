"""The ``.npy`` members of a session file, read with every size checked first: the
shapes ``session.json`` declares are checked against each member's declared and
compressed sizes and the memory budget before anything is allocated; arrays are read
straight into their final buffers; a history's epoch column is checked streaming (a
forged history is refused before its columns exist).  :class:`_MemArrays` shows the
arrays about to be written as the reader would see them (a save is validated by the
reader's own code).  Qt-free."""

from __future__ import annotations

import math
import zipfile

import numpy as np

from bpgui_engine.memory import available_bytes, fmt_bytes
from bpgui_engine.session.schema import (
    ARRAY_LIMIT,
    DAMAGE,
    MAX_HISTORY,
    MAX_RESTARTS,
    SessionError,
    _dec,
    _want,
)
from bpgui_engine.train.batch import BatchResult
from bpgui_engine.train.history import COLUMNS, History
from bpgui_engine.train.thinning import Kept

#: deflate's largest possible expansion (about 1032:1, plus the stream's overhead)
DEFLATE_RATIO = 1040


def _check_ratio(info: zipfile.ZipInfo) -> None:
    """An entry's declared uncompressed size must be possible for its compressed size."""
    name = info.filename
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise SessionError(
            f"{name}: stored uncompressed but declares {info.file_size:,} bytes in "
            f"{info.compress_size:,} (damaged or forged)"
        )
    if info.file_size > DEFLATE_RATIO * info.compress_size + 4096:
        raise SessionError(
            f"{name}: declares {info.file_size:,} bytes from {info.compress_size:,} "
            "compressed, more than deflate can expand (damaged or forged)"
        )


Plan = dict[str, tuple[tuple[int, ...], str]]  # member name -> (shape, dtype)
NPY_HEADER = 4096  # the most a .npy header may take
READ_CHUNK = 4 << 20


def _nbytes(shape: tuple[int, ...], dtype: str) -> int:
    return math.prod(shape) * np.dtype(dtype).itemsize


class _ZipArrays:
    """The ``.npy`` members of an archive being read."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf

    def has(self, name: str) -> bool:
        return name in self.zf.NameToInfo

    def check(self, plan: Plan, partial: bool = False) -> None:
        """Before any array is read: each member exists, its declared (uncompressed) size
        is what the shape in ``session.json`` needs and possible for its compressed size,
        and all of them fit the memory budget (twice: read, then kept by the history)."""
        total = 0
        for name, (shape, dtype) in plan.items():
            try:
                info = self.zf.getinfo(name)
            except KeyError:
                raise SessionError(f"{name}: missing from the archive") from None
            expect = _nbytes(shape, dtype)
            if expect > ARRAY_LIMIT:
                raise SessionError(
                    f"{name}: shape {shape} needs {expect:,} bytes, more than the "
                    f"{ARRAY_LIMIT:,} allowed for one array"
                )
            if not expect < info.file_size <= expect + NPY_HEADER:
                raise SessionError(
                    f"{name}: session.json's shape {shape} needs {expect:,} bytes, the "
                    f"archive member holds {info.file_size:,}"
                )
            _check_ratio(info)
            total += expect
        have, source = available_bytes()
        if 2 * total > have:
            raise SessionError(
                f"opening needs about {fmt_bytes(2 * total)} for {fmt_bytes(total)} of "
                f"arrays (read, then kept), more than the {fmt_bytes(have)} of {source}"
            )

    def _open(self, name: str, shape: tuple[int, ...], dtype: str):
        fh = self.zf.open(name)
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                hdr = np.lib.format.read_array_header_1_0(fh, max_header_size=NPY_HEADER)
            elif version in ((2, 0), (3, 0)):
                hdr = np.lib.format.read_array_header_2_0(fh, max_header_size=NPY_HEADER)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            got_shape, fortran, got_dtype = hdr
            if tuple(got_shape) != tuple(shape) or got_dtype != np.dtype(dtype) or fortran:
                raise SessionError(
                    f"{name}: expected {dtype} of shape {shape}, found {got_dtype} {got_shape}"
                )
        except BaseException:
            fh.close()
            raise
        return fh

    def get(self, name: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        """The array, read straight into its final buffer (no intermediate copy)."""
        expect = _nbytes(shape, dtype)
        out = np.empty(shape, dtype=dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        try:
            with self._open(name, shape, dtype) as fh:
                got = 0
                while got < expect:
                    r = fh.readinto(view[got : got + READ_CHUNK])
                    if not r:
                        break
                    got += r
                extra = fh.read(1)
        except SessionError:
            raise
        except (*DAMAGE, ValueError) as exc:
            raise SessionError(f"{name}: damaged ({exc})") from None
        if got != expect:
            raise SessionError(f"{name}: truncated ({got:,} of {expect:,} bytes)")
        if extra:
            raise SessionError(f"{name}: longer than its shape {shape}")
        return out

    def increasing(self, name: str, k: int) -> None:
        """Check that the int64 column ``name`` increases from >= 0, streaming (a forged
        history is refused before its columns are allocated)."""
        last = -1
        try:
            with self._open(name, (k,), "<i8") as fh:
                left = k
                while left:
                    m = min(left, READ_CHUNK // 8)
                    raw = fh.read(8 * m)
                    if len(raw) != 8 * m:
                        raise SessionError(f"{name}: truncated")
                    ep = np.frombuffer(raw, dtype="<i8")
                    if ep[0] <= last or (m > 1 and np.any(np.diff(ep) <= 0)):
                        raise SessionError("history.epoch: epochs must be >= 0 and increasing")
                    last = int(ep[-1])
                    left -= m
        except SessionError:
            raise
        except (*DAMAGE, ValueError) as exc:
            raise SessionError(f"{name}: damaged ({exc})") from None


class _MemArrays:
    """The arrays about to be written, seen as the reader would see them (for
    :func:`validate`): shapes and dtypes checked, nothing copied."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = {f"{k}.npy": v for k, v in arrays.items()}

    def has(self, name: str) -> bool:
        return name in self.arrays

    def check(self, plan: Plan, partial: bool = False) -> None:
        extra = sorted(set(self.arrays) - set(plan) - {GRAD_NORM})
        if extra and not partial:
            raise SessionError(f"{extra[0]}: written but not described in session.json")
        for name, (shape, dtype) in plan.items():
            self.get(name, shape, dtype)

    def get(self, name: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        try:
            a = self.arrays[name]
        except KeyError:
            raise SessionError(f"{name}: missing from the archive") from None
        a = np.asarray(a)
        want = np.dtype(dtype)
        if a.shape != tuple(shape) or a.dtype.kind != want.kind or a.itemsize != want.itemsize:
            raise SessionError(
                f"{name}: expected {dtype} of shape {shape}, found {a.dtype} {a.shape}"
            )
        return a

    def increasing(self, name: str, k: int) -> None:
        ep = self.get(name, (k,), "<i8")
        if ep[0] < 0 or (k > 1 and np.any(np.diff(ep) <= 0)):
            raise SessionError("history.epoch: epochs must be >= 0 and increasing")


def _history_plan(hist: dict, n: int) -> Plan:
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
    plan: Plan = {f"history.{c}.npy": ((k,), "<i8" if c == "epoch" else "<f8") for c in cols}
    plan["history.x.npy"] = ((k, n), "<f8")
    return plan


def _kept(hist: dict, cols: dict) -> Kept | None:
    """``history.kept``: which epochs a history thinned past its budget holds."""
    d = _want(hist, "kept", dict, "history", optional=True)
    if d is None:
        return None
    ep = cols["epoch"]
    try:
        kept = Kept.from_dict(d, len(ep))
        if kept.origin <= int(ep[kept.head - 1]) or (
            kept.head < len(ep) and kept.origin > int(ep[kept.head])
        ):
            raise ValueError("origin: not between the head's last epoch and the next kept")
    except ValueError as exc:
        raise SessionError(f"history.kept.{exc}") from None
    return kept


def _history(hist: dict, src, n: int, plan: Plan) -> tuple[History | None, int]:
    """The history and its last epoch (``None`` when validating what is being saved: the
    arrays are the session's own)."""
    k = plan["history.x.npy"][0][0]
    stop = _want(hist, "stop", str, "history", optional=True)
    src.increasing("history.epoch.npy", k)
    if isinstance(src, _MemArrays):
        ep = src.get("history.epoch.npy", (k,), "<i8")
        _kept(hist, {"epoch": ep})
        return None, int(ep[-1])
    data = {}
    for name, (shape, dtype) in plan.items():
        if name.startswith("history.") and name != "history.x.npy":
            data[name[len("history.") : -len(".npy")]] = src.get(name, shape, dtype)
    if "performance" not in data:
        data["performance"] = data["sse"]
    # the arrays read are the history's buffers: no second copy while opening
    h = History.adopt(data, src.get("history.x.npy", (k, n), "<f8"), stop, _kept(hist, data))
    return h, int(h.column("epoch")[-1])


GRAD_NORM = "restarts.grad_norm.npy"


def _restarts_plan(rs: dict, n: int, src) -> Plan:
    b = _want(rs, "starts", int, "restarts")
    k = _want(rs, "points", int, "restarts")
    if not (b >= 1 and k >= 1 and b * k <= MAX_RESTARTS):
        raise SessionError(f"restarts: {b} starts x {k} points is outside the limits")
    plan: Plan = {
        "restarts.x.npy": ((b, n), "<f8"),
        "restarts.performance.npy": ((b,), "<f8"),
        "restarts.epochs.npy": ((b,), "<i8"),
        "restarts.path.npy": ((k, b, n), "<f8"),
        "restarts.path_performance.npy": ((k, b), "<f8"),
        "restarts.path_epochs.npy": ((k,), "<i8"),
    }
    if src.has(GRAD_NORM):  # since schema 2 (restarts of version 1 did not keep it)
        plan[GRAD_NORM] = ((b,), "<f8")
    return plan


def _restarts(rs: dict, src, n: int, plan: Plan) -> tuple[BatchResult, dict]:
    b = plan["restarts.x.npy"][0][0]
    stop = _want(rs, "stop", list, "restarts")
    if len(stop) != b or not all(isinstance(v, str) for v in stop):
        raise SessionError(f"restarts.stop: expected {b} reasons")
    settings = _dec(_want(rs, "settings", dict, "restarts", optional=True) or {})
    got = {
        name[len("restarts.") : -len(".npy")]: src.get(name, shape, dtype)
        for name, (shape, dtype) in plan.items()
        if name.startswith("restarts.")
    }
    res = BatchResult(
        x=got["x"],
        performance=got["performance"],
        epochs=got["epochs"],
        stop=np.array(stop, dtype=object),
        path=got["path"],
        path_performance=got["path_performance"],
        path_epochs=got["path_epochs"],
        grad_norm=got.get("grad_norm"),
    )
    return res, settings
