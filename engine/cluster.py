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
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_TIMEOUT", "ChunkFailed", "connect", "run_chunks"]

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler


@dataclass(frozen=True)
class ChunkFailed:
    """A chunk the cluster could not compute (its worker died more than ``retries`` times)."""

    message: str


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A ``distributed.Client`` on ``address``; one-line ``ValueError`` when the package is
    missing or the scheduler cannot be reached within ``timeout`` seconds."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "scheduler: the Dask 'distributed' package is not installed "
            "(pip install 'bpgui[cluster]')"
        ) from None
    if not isinstance(address, str) or not address.strip():
        raise ValueError("scheduler: give an address such as tcp://host:8786")
    try:
        return Client(address.strip(), timeout=f"{float(timeout)}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"scheduler: cannot reach {address.strip()} within {float(timeout):g} s ({why})"
        ) from None


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
