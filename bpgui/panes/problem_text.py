"""The Problem box's line: which problem is on screen and how it differs from its preset;
the output layer and index a data set in the plane starts with."""

from __future__ import annotations

from bpgui_engine.model.presets import PRESETS
from bpgui_engine.model.setup import Setup
from bpgui_engine.model.toy import TOYS
from bpgui_engine.optim import OPTIMIZERS


def problem_text(setup: Setup) -> str:
    """``book-1-2-1: <description>``, or ``custom (from book-1-2-1): …`` once the network
    or the data is no longer the preset's."""
    name = setup.data.preset
    p = PRESETS.get(name)
    d = setup.data
    same = (
        p is not None
        and setup.spec == p.spec
        and d.kind == "preset"
        and d.normalize == "none"
        and d.validation == 0
    )
    # what else differs from the preset: said, so the box never names a problem that is
    # not the one on screen
    changed = []
    if setup.performance != "sse":
        changed.append(f"performance index {setup.performance.upper()}")
    if setup.l2 or setup.l1:
        changed.append("weight penalty" + setup.penalty.text())
    if p is not None and tuple(setup.free) != tuple(p.free):
        n = len(setup.free)
        changed.append(", ".join(setup.free) + " free" if n <= 3 else f"{n} free parameters")
    tail = f" — {'; '.join(changed)}" if changed else ""
    if same:
        return f"{name}: {p.description}{tail}"
    sizes = "-".join(str(n) for n in (setup.spec.n_inputs, *setup.spec.sizes))
    source = {
        "preset": f"{name} targets",
        "expression": f"t = {d.expression}",
        "toy": f"{TOYS[d.toy].title}, {d.samples} points" if d.toy in TOYS else d.toy,
    }.get(d.kind, d.csv_name or "CSV")
    if d.kind == "toy":  # not derived from a preset
        return f"custom: {sizes} network, data: {source}{tail}"
    return f"custom (from {name}): {sizes} network, data: {source}{tail}"


def plane_output(classes: int, n_out: int, setup: Setup) -> tuple[str, str]:
    """The output transfer function and performance index for a data set in the plane:
    logsig and cross-entropy for one 0/1 output, softmax for one output per class,
    purelin and the SSE for regression (and the SSE while the optimizer needs a sum of
    squares, e.g. Levenberg-Marquardt)."""
    if not classes:
        return "purelin", "sse"
    least_squares = OPTIMIZERS[setup.optimizer].least_squares
    return ("logsig" if n_out == 1 else "softmax"), ("sse" if least_squares else "ce")
