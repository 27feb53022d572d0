"""Test helper: a session archive with its ``session.json`` edited (hostile-file tests)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable


def edit_description(raw: bytes, change: Callable[[dict], None]) -> bytes:
    """``raw`` (a .bpgui archive) with ``change(doc)`` applied to its session.json; every
    other member copied as it is."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            b = zin.read(info)
            if info.filename == "session.json":
                doc = json.loads(b)
                change(doc)
                b = json.dumps(doc).encode()
            zout.writestr(info, b)
    return out.getvalue()
