"""Running many independent chunks: on this machine, or on a Dask distributed cluster.

Basin maps and sweeps split into chunks (plain payloads in, plain arrays out) computed by
a module-level function, so the same chunk runs the same code wherever it runs and the
results are identical bit for bit (each cell's result depends only on its own inputs).

* Locally (``scheduler=None``) chunks run in ``workers`` threads of this process (the
  compiled kernels release the GIL), or one after another in the caller's thread
  (``workers=1``: a basin chunk is already parallel over its rows).
* With ``scheduler="tcp://host:8786"`` they are submitted to an existing Dask scheduler
  (``distributed.Client``); Dask retries a chunk whose worker died (``retries``); a chunk
  lost for good is reported as :class:`ChunkFailed` and its cells stay missing.

``distributed`` is imported only when a scheduler is given: the engine imports without it.
Results come back in completion order as ``(chunk index, result)``; closing the generator
(Cancel) cancels what has not started.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "ChunkFailed",
    "check_timeout",
    "connect",
    "run_chunks",
]

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler
MAX_TIMEOUT = 3600.0  # a longer wait is a typo (1e300), not a plan


@dataclass(frozen=True)
class ChunkFailed:
    """A chunk the cluster could not compute (its worker died more than ``retries`` times)."""

    message: str


def check_timeout(timeout: Any) -> float:
    """``timeout`` as seconds: a finite number in ``(0, MAX_TIMEOUT]``, else a one-line
    ``ValueError``."""
    try:
        t = float(timeout)
    except (TypeError, ValueError):
        t = math.nan
    if isinstance(timeout, bool) or not (0.0 < t <= MAX_TIMEOUT):
        raise ValueError(
            f"timeout: must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {timeout!r}"
        )
    return t


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A ``distributed.Client`` on ``address``; one-line ``ValueError`` when the package is
    missing, ``timeout`` is not a sane number of seconds, or no Dask scheduler completes
    the connection *and* its handshake within ``timeout`` seconds.

    ``Client(timeout=...)`` bounds only the TCP connection: since distributed 2023.4 the
    handshake is outside it, so a server that accepts and then says nothing (or answers in
    HTTP) kept it waiting for ever.  A probe (distributed's own ``comm.connect``, which
    does the handshake) under one deadline runs first, in a thread of its own so that it
    never meets a caller's event loop; the Client is made only when a scheduler answered."""
    t = check_timeout(timeout)
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "scheduler: the Dask 'distributed' package is not installed "
            "(pip install 'bpgui[cluster]')"
        ) from None
    if not isinstance(address, str) or not address.strip():
        raise ValueError("scheduler: give an address such as tcp://host:8786")
    address = address.strip()
    t0 = time.monotonic()
    _probe(address, t)
    left = max(t - (time.monotonic() - t0), 0.5)
    try:
        with _quiet_client_del():
            return Client(address, timeout=f"{left}s", set_as_default=False)
    except Exception as exc:  # a scheduler that failed the client's own registration
        raise ValueError(f"scheduler: cannot reach {address} ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _probe(address: str, timeout: float) -> None:
    """Connect to ``address`` and exchange distributed's handshake within ``timeout``
    seconds, then hang up; one-line ``ValueError`` otherwise."""
    import asyncio

    from distributed.comm import connect as comm_connect

    async def go() -> None:
        comm = await asyncio.wait_for(comm_connect(address, timeout=timeout), timeout)
        await comm.close()

    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:
            box["exc"] = exc

    th = threading.Thread(target=run, name="bpgui-scheduler-probe", daemon=True)
    th.start()
    th.join(timeout + 1.0)  # wait_for has given up by then; the join is the backstop
    exc = box.get("exc")
    if th.is_alive() or isinstance(exc, asyncio.TimeoutError | TimeoutError):
        raise ValueError(
            f"scheduler: cannot reach a Dask scheduler at {address} within {timeout:g} s "
            "(nothing listening, a stalled server, or another kind of server)"
        )
    if isinstance(exc, OSError):  # refused, unreachable, closed by the peer
        raise ValueError(f"scheduler: cannot reach {address} ({_why(exc)})") from None
    if exc is not None:  # bytes that are not Dask's protocol (a frame of 3 EiB, say)
        raise ValueError(
            f"scheduler: cannot reach a Dask scheduler at {address}: something answered, "
            f"but not in Dask's protocol ({type(exc).__name__})"
        ) from None


@contextlib.contextmanager
def _quiet_client_del() -> Iterator[None]:
    """A Client whose ``__init__`` failed prints a traceback from its ``__del__`` when it is
    collected: collect it here, without that traceback."""
    hook = sys.unraisablehook

    def quiet(u: Any) -> None:
        if "Client.__del__" not in repr(getattr(u, "object", "")):
            hook(u)

    sys.unraisablehook = quiet
    try:
        yield
    finally:
        gc.collect()
        sys.unraisablehook = hook


def run_chunks(
    fn: Callable[..., Any],
    payloads: Sequence[tuple],
    *,
    scheduler: str | Any | None = None,
    workers: int = 1,
    retries: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(*payloads[i]))`` as chunks finish (see the module).

    ``scheduler``: None (local), an address, or a ``distributed.Client`` to reuse (it is
    then left open).  On the cluster a chunk lost for good yields ``(i, ChunkFailed)``;
    any other exception in a chunk is raised, here or there."""
    if scheduler is None:
        yield from _local(fn, payloads, max(1, int(workers)))
    else:
        yield from _dask(fn, payloads, scheduler, int(retries), timeout)


def _local(fn, payloads, workers: int) -> Iterator[tuple[int, Any]]:
    if workers == 1 or len(payloads) <= 1:
        for i, p in enumerate(payloads):
            yield i, fn(*p)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bpgui-chunk")
    pending: dict[Future, int] = {}
    it = iter(enumerate(payloads))
    try:
        while True:
            while len(pending) < workers:  # at most `workers` in flight: Cancel is prompt
                nxt = next(it, None)
                if nxt is None:
                    break
                pending[pool.submit(fn, *nxt[1])] = nxt[0]
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield pending.pop(f), f.result()
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(fn, payloads, scheduler, retries: int, timeout: float) -> Iterator[tuple[int, Any]]:
    from distributed import as_completed

    own = isinstance(scheduler, str)
    client = connect(scheduler, timeout) if own else scheduler
    futures = []
    try:
        futures = [client.submit(fn, *p, pure=False, retries=retries) for p in payloads]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures, loop=client.loop):
            i = index[fut.key]
            try:
                result = fut.result()
            except Exception as exc:
                if _lost(exc):
                    log.warning("chunk %d lost on the cluster: %s", i, exc)
                    yield i, ChunkFailed(f"{type(exc).__name__}: {exc}".splitlines()[0])
                    continue
                raise
            yield i, result
    finally:
        if futures:
            with contextlib.suppress(Exception):  # the connection may be gone already
                client.cancel([f for f in futures if not f.done()])
        if own:
            client.close()


def _lost(exc: BaseException) -> bool:
    """A failure of the cluster (a worker died, the connection dropped), not of the chunk."""
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"KilledWorker", "CommClosedError", "FutureCancelledError"}) or (
        isinstance(exc, OSError | TimeoutError)
    )
