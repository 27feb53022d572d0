"""A compute process of the service: runs the window's jobs, one at a time (Qt-free).

Run with ``python -m bpgui.service.job_host``.  Commands arrive on stdin as frames
(:mod:`bpgui.service.wire`): ``{"cmd": "job", "id", "kind", "tree", "arrays"}`` with the
request's arrays packed in the payload (:mod:`bpgui_engine.codec`, no pickle),
``{"cmd": "cancel", "id"}`` and ``{"cmd": "quit"}``.  Frames out, each tagged with the job's
``id``: ``progress`` (the result so far), ``done`` (the final result and ``error``: ""
or one line) and ``failed`` (``error``: one line).  A reader thread takes the commands,
so a cancel reaches the running job between its steps; the service ends the process
when a job cannot stop between steps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from typing import Any, BinaryIO

import numpy as np

from bpgui.service import crashlog
from bpgui.service.stdio import leave, read_commands
from bpgui.service.wire import write_frame
from bpgui_engine.codec import decode, encode, pack, unpack
from bpgui_engine.jobs import JOBS
from bpgui_engine.session import one_line

log = logging.getLogger("bpgui.service.job_host")


def payload_of(value: Any) -> tuple[dict, np.ndarray | None]:
    """``value`` as a frame's fields and float64 payload (the packed arrays)."""
    tree, arrays = encode(value)
    specs, data = pack(arrays)
    return {"tree": tree, "arrays": specs}, (np.frombuffer(data, "<f8") if data else None)


def value_of(header: dict, payload: np.ndarray) -> Any:
    """The value a frame carries (see :func:`payload_of`)."""
    return decode(header.get("tree"), unpack(header.get("arrays", []), payload.tobytes()))


class JobHost:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self._lock = threading.Lock()
        self.jobs: queue.Queue = queue.Queue()
        self.cancels: dict[int, threading.Event] = {}

    def send(self, header: dict, payload: np.ndarray | None = None) -> None:
        with self._lock, contextlib.suppress(BrokenPipeError, OSError, ValueError):
            write_frame(self.out, header, payload)

    def command(self, header: dict, payload: np.ndarray) -> None:
        cmd = header.get("cmd")
        if cmd == "job":
            jid = int(header["id"])
            self.cancels[jid] = threading.Event()
            self.jobs.put((jid, header, payload))
        elif cmd == "cancel":
            ev = self.cancels.get(int(header.get("id", -1)))
            if ev is not None:
                ev.set()
        elif cmd == "quit":
            for ev in self.cancels.values():
                ev.set()
            self.jobs.put(None)

    def run(self, jid: int, header: dict, payload: np.ndarray) -> None:
        cancel = self.cancels[jid]
        try:
            request = value_of(header, payload)
            kind = header.get("kind")
            if kind not in JOBS:
                raise ValueError(f"no job called {kind!r}")
            gen = JOBS[kind](request, cancel)
            try:
                while True:
                    part = next(gen)
                    fields, data = payload_of(part)
                    self.send({"type": "progress", "id": jid, **fields}, data)
            except StopIteration as stop:
                result, error = stop.value
            fields, data = payload_of(result)
            cancelled = cancel.is_set()
            self.send({"type": "done", "id": jid, "error": error, "cancelled": cancelled,
                       **fields}, data)  # fmt: skip
        except Exception as exc:  # one line for the window; the stack for the log
            if isinstance(exc, ValueError):  # the request's own fault: said in the window
                log.info("job %s refused: %s", header.get("kind"), exc)
            else:
                log.exception("job %s failed", header.get("kind"))
            msg = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self.send({"type": "failed", "id": jid, "error": msg})
        finally:
            self.cancels.pop(jid, None)

    def serve(self) -> None:
        while (item := self.jobs.get()) is not None:
            self.run(*item)


#: compute processes yield the cores to the window and to the training run when both want
#: them (maps and sweeps are long; a frame is due every 25 ms): a niceness of 10
NICE = 10


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="jobs: %(message)s")
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICE)
    crashlog.enable("jobs")  # a native crash leaves its Python stacks in the crash folder
    host = JobHost(sys.stdout.buffer)
    sys.stdout = sys.stderr  # nothing else may write to the frame stream

    read_commands(host.command, log)
    host.serve()
    leave(host.out)


if __name__ == "__main__":
    sys.exit(main())
