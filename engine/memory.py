"""Memory a computation will need, estimated before it starts, against what the machine
has.  Qt-free.

A run whose estimate exceeds the budget is refused with the numbers instead of being
killed by the kernel (or raising ``MemoryError`` half-way).  The budget is the memory
available now (``MemAvailable`` in ``/proc/meminfo``, else the physical memory), capped by
``RLIMIT_AS``, or ``$BPGUI_MEMORY_LIMIT`` (bytes, or with a K/M/G suffix) when set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = [
    "MemoryLimitError",
    "available_bytes",
    "check_race",
    "check_run",
    "check_surface",
    "fmt_bytes",
    "run_bytes",
]

F8 = 8


class MemoryLimitError(ValueError):
    """An estimate above the budget; the message is one line with both numbers."""


def fmt_bytes(n: float) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{int(n)} bytes"


def _parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def available_bytes() -> tuple[int, str]:
    """The memory budget in bytes and where it comes from (for messages)."""
    env = os.environ.get("BPGUI_MEMORY_LIMIT")
    if env:
        try:
            return _parse_size(env), "BPGUI_MEMORY_LIMIT"
        except ValueError:
            pass
    avail, source = None, "memory available"
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            source = "physical memory"
        except (ValueError, OSError, AttributeError):
            avail, source = 8 << 30, "assumed memory"
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if 0 < soft < avail:
            avail, source = soft, "RLIMIT_AS"
    except (ImportError, ValueError, OSError):
        pass
    return int(avail), source


def _network_terms(spec, n_samples: int) -> tuple[int, int]:
    """(parameters, neuron-sample values of one forward pass)."""
    return int(spec.n_params), int(n_samples) * int(sum(spec.sizes))


def run_bytes(spec, n_samples: int, n_free: int, optimizer: str, batch: int = 1) -> tuple[int, str]:
    """Estimated peak bytes of training and what dominates it (for the message).

    Every optimizer: the forward and backward pass (``n``, ``a`` and sensitivities per
    layer: 4 values per neuron and sample) and about 8 parameter-sized vectors
    (parameters, gradient, optimizer state, the kernel's buffers), per row of a batch.
    Levenberg-Marquardt adds its Jacobian (``samples x outputs`` by ``free parameters``)
    and ``J^T J``, ``J^T J + mu I``, the identity and the solver's copy (4 ``n_free^2``)."""
    n_params, acts = _network_terms(spec, n_samples)
    per_row = F8 * (4 * acts + 8 * n_params)
    total = batch * per_row
    what = f"{batch:,} x ({n_params:,} parameters, {acts:,} neuron-samples)"
    if optimizer == "lm":
        rows = int(n_samples) * int(spec.n_outputs)
        jac = F8 * rows * n_free * 2  # J and the Jacobian before the free columns are taken
        jac_full = F8 * rows * n_params
        square = F8 * 4 * n_free * n_free
        total += batch * (jac + jac_full + square)
        what = (
            f"Levenberg-Marquardt's Jacobian {rows:,} (samples x outputs) x {n_free:,} "
            f"(free parameters) and 4 {n_free:,}^2 matrices"
        )
    return total, what


def check_run(setup, batch: int = 1, what: str = "training") -> int:
    """Refuse (:class:`MemoryLimitError`) a run of ``setup`` that would need more memory
    than the budget; return the estimate in bytes."""
    data, _ = setup.data.build()
    need, why = run_bytes(setup.spec, data.n_samples, len(setup.free), setup.optimizer, batch)
    have, source = available_bytes()
    if need > have:
        raise MemoryLimitError(
            f"{what} with {setup.optimizer} needs about {fmt_bytes(need)} ({why}), more than "
            f"the {fmt_bytes(have)} of {source}: use fewer free parameters, samples or neurons"
        )
    return need


def check_race(setup, optimizers: Sequence[str]) -> int:
    """Refuse a race of ``setup``'s problem whose entries (one run per optimizer, all
    alive together) would need more memory than the budget; return the estimate.  The
    histories are not counted: ``bpgui race`` keeps none."""
    data, _ = setup.data.build()
    n_free = len(setup.free)
    parts = [run_bytes(setup.spec, data.n_samples, n_free, o) for o in optimizers]
    need = sum(p[0] for p in parts)
    have, source = available_bytes()
    if need > have:
        k = max(range(len(parts)), key=lambda i: parts[i][0])
        raise MemoryLimitError(
            f"the race of {len(parts)} entries needs about {fmt_bytes(need)} (the largest, "
            f"{optimizers[k]}: {parts[k][1]}), more than the {fmt_bytes(have)} of {source}: "
            "use fewer entries, free parameters, samples or neurons"
        )
    return need


def check_surface(spec, n_samples: int, points: int) -> int:
    """Refuse a surface whose evaluation would not fit (per grid point: one forward pass)."""
    n_params, acts = _network_terms(spec, n_samples)
    need = F8 * (2 * acts + n_params) * min(points, 64)
    have, source = available_bytes()
    if need > have:
        raise MemoryLimitError(
            f"the surface needs about {fmt_bytes(need)} ({n_params:,} parameters), more "
            f"than the {fmt_bytes(have)} of {source}"
        )
    return need
