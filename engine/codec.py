"""Results and requests between processes without pickle: a JSON tree plus raw arrays.

:func:`encode` turns a value into a JSON-able tree and a list of NumPy arrays (sent as
raw bytes after the tree); :func:`decode` builds the value back.  What it knows: ``None``,
booleans, integers, floats (``inf``/``nan`` included), strings, lists, tuples, dicts with
string keys, NumPy arrays and scalars, a :class:`~bpgui_engine.model.setup.Setup` (by its
session-file form) and frozen dataclasses defined in ``bpgui_engine`` (rebuilt through
their constructor, so their own checks run).  Anything else is refused on both sides:
the receiver never imports a module outside ``bpgui_engine`` nor calls anything but a
dataclass's constructor.  Qt-free.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any

import numpy as np

from bpgui_engine.model.setup import Setup, setup_from_dict, setup_to_dict

__all__ = ["CodecError", "decode", "encode", "pack", "unpack"]

_PREFIX = "bpgui_engine."


class CodecError(ValueError):
    """A value that cannot cross (or a tree that does not decode): one line."""


def _float(v: float) -> Any:
    if math.isfinite(v):
        return v
    return {"$f": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}


def encode(value: Any) -> tuple[Any, list[np.ndarray]]:
    """``value`` as ``(tree, arrays)``: ``tree`` is JSON-able, ``arrays`` are referenced
    from it by position."""
    arrays: list[np.ndarray] = []

    def enc(v: Any) -> Any:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return _float(v)
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                return {"$list": [enc(x) for x in v.tolist()], "$shape": list(v.shape)}
            arrays.append(np.ascontiguousarray(v))
            return {"$a": len(arrays) - 1}
        if isinstance(v, np.generic):
            return enc(v.item())
        if isinstance(v, Setup):
            return {"$setup": setup_to_dict(v)}
        if isinstance(v, tuple):
            return {"$t": [enc(x) for x in v]}
        if isinstance(v, list):
            return [enc(x) for x in v]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise CodecError("codec: dictionary keys must be strings")
            return {"$d": {k: enc(x) for k, x in v.items()}}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            cls = type(v)
            if not cls.__module__.startswith(_PREFIX):
                raise CodecError(f"codec: {cls.__name__} is not an engine type")
            fields = {f.name: enc(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init}
            return {"$dc": f"{cls.__module__}:{cls.__qualname__}", "f": fields}
        raise CodecError(f"codec: cannot send a {type(v).__name__}")

    return enc(value), arrays


def _class(name: str) -> type:
    module, _, qual = name.partition(":")
    if not module.startswith(_PREFIX) or not qual.isidentifier():
        raise CodecError(f"codec: {name!r} is not an engine type")
    cls = getattr(importlib.import_module(module), qual, None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise CodecError(f"codec: {name!r} is not an engine dataclass")
    return cls


def decode(tree: Any, arrays: list[np.ndarray]) -> Any:
    """The value :func:`encode` described."""

    def dec(v: Any) -> Any:
        if isinstance(v, list):
            return [dec(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "$a" in v:
            return arrays[int(v["$a"])]
        if "$f" in v:
            return float(v["$f"])
        if "$t" in v:
            return tuple(dec(x) for x in v["$t"])
        if "$d" in v:
            return {str(k): dec(x) for k, x in v["$d"].items()}
        if "$list" in v:
            out = np.empty(len(v["$list"]), dtype=object)
            out[:] = [dec(x) for x in v["$list"]]
            return out.reshape(v["$shape"])
        if "$setup" in v:
            return setup_from_dict(v["$setup"])
        if "$dc" in v:
            cls = _class(str(v["$dc"]))
            return cls(**{str(k): dec(x) for k, x in v["f"].items()})
        raise CodecError("codec: an unknown node")

    return dec(tree)


def pack(arrays: list[np.ndarray]) -> tuple[list[dict], bytes]:
    """Arrays as one byte string (each at an 8-byte boundary) and their descriptions."""
    parts, specs, at = [], [], 0
    for a in arrays:
        raw = a.tobytes()
        specs.append({"dtype": a.dtype.str, "shape": list(a.shape), "at": at})
        pad = (-len(raw)) % 8
        parts += [raw, b"\0" * pad]
        at += len(raw) + pad
    return specs, b"".join(parts)


def unpack(specs: list[dict], data: bytes | memoryview) -> list[np.ndarray]:
    """The arrays :func:`pack` packed (copies, writable), every size checked first."""
    out = []
    for s in specs:
        dt = np.dtype(s["dtype"])
        if dt.hasobject:
            raise CodecError("codec: object arrays are not sent as bytes")
        shape = tuple(int(n) for n in s["shape"])
        count = math.prod(shape)
        at = int(s["at"])
        if at < 0 or at + count * dt.itemsize > len(data):
            raise CodecError("codec: an array runs past the data")
        out.append(np.frombuffer(data, dtype=dt, count=count, offset=at).reshape(shape).copy())
    return out
