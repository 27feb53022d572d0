"""Which kernel trains a problem: the fastest path the engine has for its size.

* ``"numba"``: the compiled run loop (:mod:`bpgui_engine.jit.compiled`): per-neuron loops
  over the samples, the whole run in compiled code.  Unbeatable while a layer's product is
  small (the book's 1-2-1: 20x the NumPy loop), slower than BLAS once layers are wide.
* ``"blas"``: the NumPy run loop with every layer's product one GEMM over all samples and
  the transfer functions compiled (:mod:`bpgui_engine.model.fused` with ``fast=True``);
  the only path for ``float32``.
* ``"numpy"``: the reference: the NumPy run loop, NumPy transfer functions.

:func:`choose` decides by the work of one epoch, ``Q * N`` (samples x parameters): below
:data:`SMALL_WORK` numba, above :data:`LARGE_WORK` BLAS, and in between by a measured
calibration (both kernels on the problem for ~20 ms each, CPU time), cached per machine
in ``~/.cache/bpgui/kernel-choice.json`` (:func:`cache_path`; a corrupt or foreign file
is ignored and rewritten).  ``BPGUI_KERNEL=numba|blas|numpy`` forces one (``auto``, the
default, chooses).  Optimizers without a compiled form (cg, lm, adam, per-layer rates)
choose between BLAS and NumPy: BLAS once an epoch evaluates :data:`ACTIVATIONS_MIN`
hidden-neuron outputs.  A kernel gives the same numbers on every run; two kernels agree
to rounding.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
from pathlib import Path

__all__ = ["KERNELS", "cache_path", "calibrate", "choose", "forced", "work"]

log = logging.getLogger(__name__)
KERNELS = ("numba", "blas", "numpy")
SMALL_WORK = 40_000
LARGE_WORK = 2_000_000
ACTIVATIONS_MIN = 2_000
CACHE_VERSION = 1
_lock = threading.Lock()
_memo: dict[str, str] = {}


def forced() -> str | None:
    """The kernel ``BPGUI_KERNEL`` forces, or ``None`` (unset, ``auto``, or unknown)."""
    v = os.environ.get("BPGUI_KERNEL", "").strip().lower()
    return v if v in KERNELS else None


def work(objective) -> int:
    """Multiply-adds of one forward pass: samples x parameters."""
    return int(objective.data.n_samples) * int(objective.spec.n_params)


def _activations(objective) -> int:
    return int(objective.data.n_samples) * int(sum(objective.spec.sizes[:-1]))


def signature(objective) -> str:
    spec = objective.spec
    layers = "-".join(f"{s}{t[0]}" for s, t in zip(spec.sizes, spec.transfers, strict=True))
    val = "v" if objective.validation is not None else ""
    free = "" if objective.all_free else f"f{objective.n_free}"
    return f"{spec.n_inputs}-{layers}-{objective.perf.name}-Q{objective.data.n_samples}{free}{val}"


def choose(objective, compiled: bool, kernel: str | None = None, measure=None) -> tuple[str, str]:
    """``(kernel, why)`` for training ``objective``; ``compiled``: the optimizer has a
    compiled form.  ``kernel`` (or ``BPGUI_KERNEL``) forces one where it can run.
    ``measure(objective, kernel, epochs)`` runs that many epochs on a kernel and returns
    the CPU seconds (the caller's: this module imports no trainer); ``None`` never
    measures (the cost model's guess, e.g. while numba is still compiling)."""
    want = kernel or forced()
    if want not in (None, *KERNELS):
        raise ValueError(f"kernel: one of {', '.join(KERNELS)}, not {want!r}")
    if want == "numpy":
        return "numpy", "NumPy asked for" if kernel else "BPGUI_KERNEL=numpy"
    if want == "blas":
        return "blas", "BLAS asked for" if kernel else "BPGUI_KERNEL=blas"
    if objective.penalty:  # the compiled loops have no penalty term
        compiled = False
    if want == "numba" and compiled:
        return "numba", ""
    w = work(objective)
    if not compiled:
        if _activations(objective) >= ACTIVATIONS_MIN:
            return "blas", _why_size(w)
        return "numpy", ""
    if w < SMALL_WORK:
        return "numba", ""
    if w > LARGE_WORK:
        return "blas", _why_size(w)
    key = signature(objective)
    got = _memo.get(key) or _cached(key)
    if got is None and measure is not None:
        got = calibrate(objective, measure)
        _store(key, got)
    if got is None:
        got = "numba" if w < (SMALL_WORK * LARGE_WORK) ** 0.5 else "blas"
    if got == "blas":
        return "blas", f"chosen: measured faster than the compiled loops here ({w:,} an epoch)"
    return "numba", ""


def _why_size(w: int) -> str:
    return (
        f"chosen for a network this size: {w:,} multiply-adds an epoch (BLAS from {LARGE_WORK:,})"
    )


def calibrate(objective, measure, seconds: float = 0.02) -> str:
    """Time both kernels on ``objective`` (epochs per CPU second, the best of three
    alternations, the last two of about ``seconds`` each) and return the faster."""
    best: dict[str, float] = {}
    epochs = {"numba": 2, "blas": 2}
    for _ in range(3):
        for k in ("numba", "blas"):
            dt = max(measure(objective, k, epochs[k]), 1e-7)
            best[k] = max(best.get(k, 0.0), epochs[k] / dt)
            epochs[k] = int(max(2, min(100_000, best[k] * seconds)))
    return "blas" if best["blas"] > best["numba"] else "numba"


# ---- the per-machine cache -----------------------------------------------------------------
def cache_path() -> Path:
    given = os.environ.get("BPGUI_KERNEL_CACHE")
    if given:
        return Path(given)
    from bpgui_engine.jit import user_cache_dir

    return user_cache_dir().parent / "kernel-choice.json"


def _machine() -> str:
    """The CPU model and core count: another machine's measurements do not apply."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh
                          if ln.startswith("model name")), model)  # fmt: skip
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def _read() -> dict:
    try:
        with open(cache_path(), encoding="utf-8") as fh:
            doc = json.load(fh)
        ok = isinstance(doc, dict) and doc.get("version") == CACHE_VERSION
        ok = ok and doc.get("machine") == _machine() and isinstance(doc.get("choices"), dict)
        return doc["choices"] if ok else {}
    except (OSError, ValueError):  # missing, unreadable or corrupt: measured again
        return {}


def _cached(key: str) -> str | None:
    got = _read().get(key)
    if got in ("numba", "blas"):
        _memo[key] = got
        return got
    return None


def _store(key: str, kernel: str) -> None:
    _memo[key] = kernel
    with _lock:
        choices = _read()
        choices[key] = kernel
        doc = {"version": CACHE_VERSION, "machine": _machine(), "choices": choices}
        path = cache_path()
        try:
            from bpgui_engine.safe_write import atomic_write_bytes

            path.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(doc, indent=1, sort_keys=True).encode()
            atomic_write_bytes(path, lambda fh: fh.write(data))
        except (OSError, ValueError) as exc:  # read-only home, full disk: measured next time
            log.warning("kernel choice not cached (%s)", exc)
