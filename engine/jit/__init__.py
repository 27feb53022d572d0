"""Compiled (numba) training kernels; the NumPy engine stays the reference and the fallback.

Importing this package does not import numba: :func:`kernels` does, once, and compiles
(or loads from the on-disk cache) every kernel on a tiny problem.  If numba is missing or
compilation fails, one line goes to the log and :func:`kernels` returns ``None``: callers
then take the NumPy path.  ``BPGUI_KERNEL=numpy`` forces the NumPy path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from types import ModuleType

__all__ = ["compile_seconds", "kernel_name", "kernels", "warm_up", "warm_up_in_background"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, object] = {}


def _forced_numpy() -> bool:
    return os.environ.get("BPGUI_KERNEL", "").strip().lower() == "numpy"


def kernels(wait: bool = True) -> ModuleType | None:
    """The compiled kernels module, or ``None`` when the NumPy path must be used.

    The first call imports numba and compiles (tens of seconds with a cold cache, ~0.4 s
    from the on-disk cache).  ``wait=False`` never compiles or waits: it returns ``None``
    until a call (e.g. :func:`warm_up_in_background`) has finished compiling."""
    if _forced_numpy():
        return None
    if not wait:
        return _state.get("module")  # type: ignore[return-value]
    with _lock:
        if "module" not in _state:
            t0 = time.perf_counter()
            try:
                from . import compiled as mod
                from .warm import warm_up_kernels

                warm_up_kernels(mod)
            except Exception as exc:  # ImportError, numba's TypingError/LoweringError, ...
                name = type(exc).__name__
                log.warning("numba kernel unavailable (%s: %s); using NumPy", name, exc)
                mod = None
            _state["module"] = mod
            _state["seconds"] = time.perf_counter() - t0
        return _state["module"]  # type: ignore[return-value]


def kernel_name() -> str:
    """``"numba"`` when the compiled kernels are usable, else ``"numpy"``."""
    return "numpy" if kernels() is None else "numba"


def warm_up() -> str:
    """Import and compile (or load from cache) now; returns :func:`kernel_name`."""
    return kernel_name()


def warm_up_in_background() -> threading.Thread:
    """Compile in a daemon thread (the kernels release the GIL; compiling does not, in
    parts).  Until it finishes, ``kernels(wait=False)`` is ``None`` and a
    ``FastTrainer(..., wait=False)`` runs NumPy blocks, switching at a block boundary."""
    t = threading.Thread(target=kernels, name="numba-warm-up", daemon=True)
    t.start()
    return t


def compile_seconds() -> float | None:
    """Seconds the first :func:`kernels` call took (import + compile or cache load)."""
    return _state.get("seconds")  # type: ignore[return-value]
