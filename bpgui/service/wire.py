"""Frames between the app and its engine process: a JSON header and an optional float64
payload, each length-prefixed.  No pickle: the receiver parses JSON and raw numbers only.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, BinaryIO

import numpy as np

HEAD = struct.Struct("<IQ")  # header bytes, payload bytes
MAX_HEADER = 64 * 1024 * 1024


def encode_float(v: float) -> float | None:
    """JSON has no infinity: None stands for +inf (rates, time limits)."""
    return None if math.isinf(v) else v


def decode_float(v: float | None) -> float:
    return math.inf if v is None else float(v)


def encode_frame(header: dict[str, Any], payload: np.ndarray | None = None) -> bytes:
    """One frame as bytes (the payload copied)."""
    body = json.dumps(header, separators=(",", ":")).encode()
    data = b"" if payload is None else np.ascontiguousarray(payload, dtype="<f8").tobytes()
    return HEAD.pack(len(body), len(data)) + body + data


def write_frame(
    stream: BinaryIO, header: dict[str, Any], payload: np.ndarray | None = None
) -> None:
    stream.write(encode_frame(header, payload))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        b = stream.read(left)
        if not b:
            return None
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], np.ndarray] | None:
    """The next frame, or None at the end of the stream."""
    head = _read_exact(stream, HEAD.size)
    if head is None:
        return None
    nh, nd = HEAD.unpack(head)
    if nh > MAX_HEADER:
        raise ValueError(f"wire: header of {nh} bytes")
    body = _read_exact(stream, nh)
    data = _read_exact(stream, nd) if nd else b""
    if body is None or data is None:
        return None
    header = json.loads(body)
    return header, np.frombuffer(data, dtype="<f8")
