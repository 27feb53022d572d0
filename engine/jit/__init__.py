"""Compiled (numba) training kernels; the NumPy engine stays the reference and the fallback.

Importing this package does not import numba: :func:`kernels` does, once, and compiles
(or loads from the on-disk cache) every kernel on a tiny problem.  If numba is missing or
compilation fails, one line goes to the log and :func:`kernels` returns ``None``: callers
then take the NumPy path (:func:`unavailable_reason` says why).  ``BPGUI_KERNEL=numpy``
forces the NumPy path.

The on-disk cache lives next to this package (``engine/jit/__pycache__``) when that folder
is writable; otherwise (an installed wheel in a read-only site-packages) in a per-user
folder, ``$XDG_CACHE_HOME/bpgui/numba`` (``~/.cache/bpgui/numba``): see :func:`cache_dir`.
An explicit ``NUMBA_CACHE_DIR`` is always respected.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType

__all__ = [
    "activations_module",
    "block_kernels",
    "cache_dir",
    "compile_seconds",
    "compiling",
    "kernel_name",
    "kernels",
    "row_kernels",
    "unavailable_reason",
    "user_cache_dir",
    "warm_up",
    "warm_up_in_background",
]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_ew_lock = threading.Lock()
_start_lock = threading.Lock()
_row_ready = threading.Event()  # set once the run loop is usable (or failed)
_state: dict[str, object] = {}
_HERE = Path(__file__).resolve().parent


def _forced_numpy() -> bool:
    return os.environ.get("BPGUI_KERNEL", "").strip().lower() == "numpy"


def _writable(folder: Path) -> bool:
    """Whether a file can really be created in ``folder`` (or in its parent, if it does
    not exist yet).  A real attempt: ``os.access`` says yes to root on a read-only mount."""
    if folder.exists() and not folder.is_dir():
        return False
    target = folder if folder.is_dir() else folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".bpgui-probe-"):
            pass
    except OSError:
        return False
    return True


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bpgui" / "numba"


def cache_dir() -> Path:
    """Where numba keeps the compiled kernels, set up before numba is imported: the
    package's ``__pycache__`` when writable, else :func:`user_cache_dir` (through
    ``NUMBA_CACHE_DIR``).  An ``NUMBA_CACHE_DIR`` set by the user wins."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        return Path(given)
    if _writable(_HERE / "__pycache__"):
        return _HERE / "__pycache__"
    folder = user_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba imported already (by someone else): tell it too
        config.CACHE_DIR = str(folder)
    return folder


def kernels(wait: bool = True) -> ModuleType | None:
    """The compiled kernels module, or ``None`` when the NumPy path must be used.

    The first call imports numba and compiles (tens of seconds with a cold cache, ~0.4 s
    from the on-disk cache).  ``wait=False`` never compiles or waits: it returns ``None``
    until a call (e.g. :func:`warm_up_in_background`) has finished compiling."""
    if _forced_numpy():
        return None
    if not wait:
        return _state.get("module")  # type: ignore[return-value]
    first = False
    with _lock:
        if "module" not in _state:
            first = True
            t0 = time.perf_counter()
            try:
                _state["cache_dir"] = str(cache_dir())
                from bpgui_engine.jit import compiled as mod
                from bpgui_engine.jit.warm import warm_up_kernels, warm_up_rest

                with _collector_paused():
                    warm_up_kernels(mod)  # the run loop: a first trajectory needs no more
                    _state["row"] = mod
                    _state["row_seconds"] = time.perf_counter() - t0
                    _row_ready.set()
                    warm_up_rest(mod)
            except Exception as exc:  # ImportError, numba's TypingError/LoweringError, ...
                name = type(exc).__name__
                log.warning("numba kernel unavailable (%s: %s); using NumPy", name, exc)
                _state["error"] = f"{name}: {exc}"
                mod = None
            _state["module"] = mod
            _state["seconds"] = time.perf_counter() - t0
            _row_ready.set()
    mod = _state["module"]
    if first and mod is not None:  # published already: nothing waits for this one
        _warm_block(mod)
    return mod  # type: ignore[return-value]


def row_kernels(wait: bool = True) -> ModuleType | None:
    """The compiled module once its run loop (``run_row``) is compiled, before the batch,
    surface and block kernels: what :class:`bpgui_engine.train.fast.FastTrainer` needs.
    On a cold cache that is ~19 s after the start instead of ~45 s (:func:`kernels`).
    ``wait=False`` never compiles or waits."""
    if _forced_numpy():
        return None
    if not wait or "module" in _state:
        return _state.get("row")  # type: ignore[return-value]
    t = _state.get("thread")
    if t is None or not t.is_alive():  # type: ignore[union-attr]
        with _start_lock:  # not _lock: a compile in progress holds it to the end
            t = _state.get("thread")
            if "module" not in _state and (t is None or not t.is_alive()):  # type: ignore[union-attr]
                warm_up_in_background()
    while not _row_ready.wait(0.05) and "module" not in _state:
        pass
    return _state.get("row")  # type: ignore[return-value]


def _warm_block(mod: ModuleType) -> None:
    t0 = time.perf_counter()
    try:
        from bpgui_engine.jit.warm import warm_up_block

        with _collector_paused():
            _state["block"] = warm_up_block(mod)
        _state["block_seconds"] = time.perf_counter() - t0
    except Exception as exc:
        name = type(exc).__name__
        log.warning("numba block kernel unavailable (%s: %s); batches run row by row", name, exc)
        _state["block"] = None


_gc_lock = threading.Lock()
_gc_pauses = [0]


class _collector_paused:
    """Python's cycle collector off while numba compiles or loads: a collection on
    another thread finalizing LLVM objects (llvmlite's ``__del__``) while this thread
    builds LLVM modules crashed the process.  Nested and concurrent uses are counted;
    the collector's previous state comes back when the last one ends."""

    def __enter__(self) -> None:
        with _gc_lock:
            if _gc_pauses[0] == 0:
                _state["gc_was_on"] = gc.isenabled()
                gc.disable()
            _gc_pauses[0] += 1

    def __exit__(self, *exc) -> None:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _state.pop("gc_was_on", True):
                gc.enable()


def activations_module() -> ModuleType | None:
    """:mod:`bpgui_engine.jit.activations` (compiled transfer functions for the BLAS path),
    compiled or loaded on the first call (a few seconds cold, ~0.1 s cached), or ``None``
    (no numba, ``BPGUI_KERNEL=numpy``, or it failed: one line in the log)."""
    if _forced_numpy():
        return None
    with _ew_lock:
        if "elementwise" not in _state:
            try:
                cache_dir()
                from bpgui_engine.jit import activations as ew

                with _collector_paused():
                    ew.warm()
            except Exception as exc:
                name = type(exc).__name__
                log.warning("compiled transfer functions unavailable (%s: %s)", name, exc)
                ew = None
            _state["elementwise"] = ew
    return _state["elementwise"]  # type: ignore[return-value]


def block_kernels() -> ModuleType | None:
    """:mod:`bpgui_engine.jit.block` (batches with rows side by side in SIMD lanes) once the
    thread that compiled :func:`kernels` has compiled it too (~15 s more with a cold
    cache), else ``None``: never waits, batches meanwhile run one row per loop iteration."""
    if _forced_numpy():
        return None
    return _state.get("block")  # type: ignore[return-value]


def _connect_driver() -> None:
    """Give the batch driver its source of block kernels (it does not import us)."""
    from bpgui_engine.jit import driver

    driver.block_source = block_kernels


_connect_driver()


def kernel_name() -> str:
    """``"numba"`` when the compiled kernels are usable, else ``"numpy"``."""
    return "numpy" if kernels() is None else "numba"


def compiling() -> bool:
    """A :func:`warm_up_in_background` is still compiling (or loading from the cache)."""
    t = _state.get("thread")
    return t is not None and t.is_alive() and "module" not in _state  # type: ignore[union-attr]


def unavailable_reason() -> str | None:
    """Why the NumPy path runs instead of the compiled one, or ``None`` when it does not
    (or not yet: see :func:`compiling`)."""
    if _forced_numpy():
        return "BPGUI_KERNEL=numpy"
    if "module" in _state and _state["module"] is None:
        return f"numba unavailable ({_state.get('error', 'unknown error')})"
    return None


def warm_up() -> str:
    """Import and compile (or load from cache) now; returns :func:`kernel_name`."""
    return kernel_name()


def warm_up_in_background() -> threading.Thread:
    """Compile in a daemon thread (the kernels release the GIL; compiling does not, in
    parts).  Until it finishes, ``kernels(wait=False)`` is ``None`` and a
    ``FastTrainer(..., wait=False)`` runs NumPy blocks, switching at a block boundary."""
    t = threading.Thread(target=kernels, name="numba-warm-up", daemon=True)
    _state["thread"] = t
    t.start()
    return t


def compile_seconds(block: bool = False, row: bool = False) -> float | None:
    """Seconds the first :func:`kernels` call took (import + compile or cache load) before
    it published the kernels; ``row``: before the run loop was ready (:func:`row_kernels`);
    ``block``: the block kernel's compile (or load) after that."""
    key = "block_seconds" if block else "row_seconds" if row else "seconds"
    return _state.get(key)  # type: ignore[return-value]
