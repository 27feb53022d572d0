"""What the engine host and the compute hosts share as child processes (Qt-free): reading
their commands from stdin on a thread, and leaving."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO, NoReturn

import numpy as np

from bpgui.service import crashlog
from bpgui.service.wire import read_frame


def read_commands(command: Callable[[dict, np.ndarray], None], log: logging.Logger) -> None:
    """A thread that hands every frame on stdin to ``command`` and, when the stream ends
    (the app has gone) or breaks, a ``quit``."""

    def reader() -> None:
        inp = sys.stdin.buffer
        try:
            while (frame := read_frame(inp)) is not None:
                command(*frame)
        except Exception:
            log.exception("bad command stream")
        command({"cmd": "quit"}, np.empty(0))

    threading.Thread(target=reader, name="commands", daemon=True).start()


def leave(out: BinaryIO) -> NoReturn:
    """Flush the frame stream and end the process without finalizing the interpreter (the
    reader thread may sit in a read of stdin)."""
    with contextlib.suppress(OSError):
        out.flush()
    sys.stderr.flush()
    crashlog.finish()
    os._exit(0)
