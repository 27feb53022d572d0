"""Memory a computation will need, estimated before it starts, against what the machine
has.  Qt-free.

A run whose estimate exceeds the budget is refused with the numbers instead of being
killed by the kernel (or raising ``MemoryError`` half-way).  The budget is the memory
available now (``MemAvailable`` in ``/proc/meminfo``, else the physical memory), capped by
``RLIMIT_AS``, or ``$BPGUI_MEMORY_LIMIT`` (bytes, or with a K/M/G suffix) when set.

A run's history has a budget of its own (:func:`history_budget`): past it the history
thins its middle (:mod:`bpgui_engine.train.thinning`) instead of growing, so a run left going
never takes the machine down, and the estimate of a run counts the history it will keep.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_HISTORY_BUDGET",
    "MemoryLimitError",
    "RunPlan",
    "available_bytes",
    "check_race",
    "check_run",
    "check_surface",
    "fmt_bytes",
    "fmt_count",
    "history_budget",
    "history_rows",
    "parse_size",
    "plan_run",
    "run_bytes",
]

F8 = 8
#: a history's budget unless set otherwise: the smaller of this and a quarter of memory
DEFAULT_HISTORY_BUDGET = 2 << 30
#: what the program itself takes (interpreter, NumPy, numba's kernels, Qt), kept out of a
#: history's share of ``BPGUI_MEMORY_LIMIT``
PROGRAM_BYTES = 256 << 20
#: the smallest history budget: a few thousand rows of the book's network
MIN_HISTORY_BUDGET = 1 << 20


class MemoryLimitError(ValueError):
    """An estimate above the budget; the message is one line with both numbers."""


def fmt_bytes(n: float) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{int(n)} bytes"


def parse_size(text: str) -> int:
    """``"1G"``, ``"512M"``, ``"300k"``, ``"123456"`` (bytes); ``ValueError`` otherwise."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    v = float(text[:-1] if mult > 1 else text)
    if not 0 < v < 1 << 60 or v != v:
        raise ValueError(f"{text!r} is not a size")
    return int(v * mult)


def available_bytes() -> tuple[int, str]:
    """The memory budget in bytes and where it comes from (for messages)."""
    env = os.environ.get("BPGUI_MEMORY_LIMIT")
    if env:
        try:
            return parse_size(env), "BPGUI_MEMORY_LIMIT"
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


def _physical_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def history_budget(setting: int | None = None, others: int = 0) -> tuple[int, str]:
    """Bytes one run's history may keep, and where the figure comes from.

    ``setting`` (the window's setting) or ``$BPGUI_HISTORY_BUDGET`` when given, else the
    smaller of 2 GiB and a quarter of physical memory.  Under ``$BPGUI_MEMORY_LIMIT`` never
    more than half of what the limit leaves after the program and ``others`` (the run's
    own working memory): the other half is room to save it, reopen it and go on."""
    source = "the setting"
    if setting is None:
        env = os.environ.get("BPGUI_HISTORY_BUDGET")
        if env:
            try:
                setting, source = parse_size(env), "BPGUI_HISTORY_BUDGET"
            except ValueError:
                setting = None
    if setting is None:
        phys = _physical_bytes()
        if phys is not None and phys // 4 < DEFAULT_HISTORY_BUDGET:
            budget, source = phys // 4, "a quarter of physical memory"
        else:
            budget, source = DEFAULT_HISTORY_BUDGET, "the default"
    else:
        budget = int(setting)
    env = os.environ.get("BPGUI_MEMORY_LIMIT")
    if env:
        try:
            share = (parse_size(env) - PROGRAM_BYTES - int(others)) // 2
        except ValueError:
            share = None
        if share is not None and share < budget:
            budget, source = share, "half of what BPGUI_MEMORY_LIMIT leaves"
    return max(int(budget), MIN_HISTORY_BUDGET), source


def history_rows(n_free: int, budget: int) -> int:
    """Rows of a history of ``n_free`` parameters that ``budget`` bytes hold."""
    from bpgui_engine.train.history import COLUMNS  # (history imports nothing from here)
    from bpgui_engine.train.thinning import MAX_ROWS, MIN_ROWS

    return min(max(int(budget) // (F8 * (len(COLUMNS) + int(n_free))), MIN_ROWS), MAX_ROWS)


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


@dataclass(frozen=True)
class RunPlan:
    """What a run will need: its working memory and the history it will keep."""

    work: int  # bytes: the forward and backward passes, the optimizer
    history: int  # bytes the history will hold at most
    max_rows: int | None  # the history's rows at most (None: no history is kept)
    thin_after: int | None  # the epoch past which the history thins (None: it never does)
    budget: int  # the history's budget in bytes
    source: str  # where the budget comes from

    @property
    def need(self) -> int:
        return self.work + self.history

    def note(self) -> str:
        """One line for the user when the history will be thinned, else ``""``."""
        if self.thin_after is None:
            return ""
        return (
            f"the history will be thinned after ~{fmt_count(self.thin_after)} epochs (it keeps "
            f"{fmt_bytes(self.history)} at most: {self.source} is {fmt_bytes(self.budget)})"
        )


def fmt_count(n: int) -> str:
    """``2.4 M``, ``350 k``, ``1,234``."""
    for unit, k in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= k:
            return f"{n / k:.3g} {unit}"
    return f"{n:,}"


def plan_run(
    setup, batch: int = 1, keep_history: bool = True, setting: int | None = None
) -> RunPlan:
    """The estimate of a run of ``setup`` to its maximum epochs, its history included
    (thinned past :func:`history_budget`)."""
    data, _ = setup.data.build()
    work, _ = run_bytes(setup.spec, data.n_samples, len(setup.free), setup.optimizer, batch)
    budget, source = history_budget(setting, work)
    if not keep_history:
        return RunPlan(work, 0, None, None, budget, source)
    rows = history_rows(len(setup.free), budget)
    per_row = budget // rows if rows else 0
    epochs = int(setup.criteria.epochs) + 1
    kept = min(epochs, rows)
    return RunPlan(work, kept * per_row, rows, rows - 1 if epochs > rows else None, budget, source)


def check_run(setup, batch: int = 1, what: str = "training", keep_history: bool = True) -> RunPlan:
    """Refuse (:class:`MemoryLimitError`) a run of ``setup`` that would need more memory
    than the budget, its history included; return the estimate (its :meth:`RunPlan.note`
    says when the history will be thinned)."""
    plan = plan_run(setup, batch, keep_history)
    data, _ = setup.data.build()
    _, why = run_bytes(setup.spec, data.n_samples, len(setup.free), setup.optimizer, batch)
    have, source = available_bytes()
    if plan.need > have:
        hist = f" and its history's {fmt_bytes(plan.history)}" if plan.history else ""
        raise MemoryLimitError(
            f"{what} with {setup.optimizer} needs about {fmt_bytes(plan.need)} ({why}{hist}), "
            f"more than the {fmt_bytes(have)} of {source}: use fewer free parameters, "
            "samples or neurons"
        )
    return plan


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


def check_spectrum(spec, n_samples: int, n_free: int, basis: int, batch: int = 1) -> int:
    """Refuse a spectrum whose Lanczos basis (``basis`` vectors of the free parameters)
    and Hessian-vector products (``batch`` directions at once: the R-operator's forward
    and backward passes) would not fit."""
    n_params, acts = _network_terms(spec, n_samples)
    need = F8 * (basis * n_free + batch * (4 * acts + 2 * n_params) + 3 * acts)
    have, source = available_bytes()
    if need > have:
        raise MemoryLimitError(
            f"the spectrum needs about {fmt_bytes(need)} ({n_free:,} free parameters, "
            f"{basis} Lanczos vectors), more than the {fmt_bytes(have)} of {source}"
        )
    return need
