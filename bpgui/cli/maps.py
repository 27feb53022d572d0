"""``bpgui race``, ``bpgui basins`` and ``bpgui sweep``: compare optimizers, map basins of
attraction, sweep hyperparameters, headless.  No Qt.

:func:`add_parsers` adds the three subcommands to ``bpgui``'s subparsers; each sets
``func`` to its command, which returns the exit status and raises ``CliError`` or
``ValueError`` (one line, exit 2 in :func:`bpgui.cli.main`).  :func:`main` runs them alone
with the same error handling.  Option values may be negative (``--x W1[1,1] -5 15``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence

import numpy as np

from bpgui.cli.commands import CliError
from bpgui_engine.analysis.curvature import KIND_WORDS, kinds_at
from bpgui_engine.maps.basins import BasinJob
from bpgui_engine.maps.race import COLOURS, Race, RaceEntry
from bpgui_engine.maps.race_presets import PRESETS as RACE_PRESETS
from bpgui_engine.maps.race_presets import race_preset
from bpgui_engine.maps.sweep import SweepJob
from bpgui_engine.memory import check_race
from bpgui_engine.model.presets import PRESETS, get_preset
from bpgui_engine.model.problem import parse_hyper, setup_from_options
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.session.export import atomic_write_text

__all__ = ["add_parsers", "basins_command", "race_command", "sweep_command"]

EXIT_USAGE = 2
RACE_STEP = 65_536  # most epochs a race step hands out per entry


# ---- parsers -------------------------------------------------------------------------------
def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add ``race``, ``basins`` and ``sweep`` to ``subparsers`` (each sets ``func``)."""
    presets = ", ".join(PRESETS)
    opts = ", ".join(OPTIMIZERS)

    r = subparsers.add_parser(
        "race",
        help="race optimizers from one start point and print a results table",
        description="Run every --entry from the same start on the same problem, advanced "
        "together epoch by epoch, and print per entry: epochs to the goal, final performance, "
        "which minimum it reached (M1 the lowest), wall time and why it stopped.",
    )
    _problem_flags(r, presets)
    r.add_argument(
        "--entry",
        action="append",
        default=[],
        metavar="OPT[:KEY=VALUE,...]",
        help=f"an entry, e.g. sd:lr=1 or momentum:lr=4,gamma=0.8 (repeatable); one of: {opts}",
    )
    r.add_argument(
        "--seed-entries",
        action="store_true",
        help="add the seed's five methods with its experiments' settings (sd lr 1, momentum "
        "lr 100 gamma 0.8, vlbp, cg, lm)",
    )
    r.add_argument(
        "--preset-entries", choices=RACE_PRESETS, metavar="NAME",
        help="add a preset's entries: seed (as --seed-entries), matlab (traingd … trainbr: "
        "the toolbox's twelve as bpgui's methods) or modern (Nesterov, RMSprop, Adagrad, "
        "Adam, AdamW, iRprop+)",
    )  # fmt: skip
    r.add_argument("--epochs", type=int, default=10_000, help="maximum epochs (default 10000)")
    _stop_flags(r)
    r.add_argument("--json", action="store_true", help="print a JSON list, one object per entry")
    r.set_defaults(func=race_command)

    b = subparsers.add_parser(
        "basins",
        help="map which minimum each start point of a grid trains into (CSV)",
        description="Train from every cell of a RESOLUTION x RESOLUTION grid over two free "
        "parameters (the other free parameters at --start, default the preset's values) and "
        "write one CSV row per cell: the two start values under their labels, the end point "
        "('end LABEL' per free parameter), performance, epochs, minimum (M1, M2, ... or empty "
        "when not converged) and stop.",
    )
    _problem_flags(b, presets)
    b.add_argument("--x", nargs=3, required=True, metavar=("LABEL", "MIN", "MAX"))
    b.add_argument("--y", nargs=3, required=True, metavar=("LABEL", "MIN", "MAX"))
    b.add_argument("--resolution", type=int, default=100, help="cells per axis (default 100)")
    b.add_argument("--optimizer", default="sd", help=f"one of (default sd): {opts}")
    b.add_argument("--hyper", nargs="+", default=[], metavar="KEY=VALUE")
    b.add_argument("--epochs", type=int, default=2000, help="maximum epochs (default 2000)")
    _stop_flags(b)
    _cluster_flags(b)
    b.add_argument("--out", required=True, metavar="FILE.csv")
    b.set_defaults(func=basins_command)

    s = subparsers.add_parser(
        "sweep",
        help="train once per cell of a grid over two hyperparameters (CSV)",
        description="Train from one start for every pair of values of two hyperparameters "
        "of --optimizer (geometric spacing where the hyperparameter is a log one, e.g. lr) "
        "and write one CSV row per cell: the two values, epochs_to_goal (empty when the goal "
        "was not reached), performance, epochs and stop.",
    )
    _problem_flags(s, presets)
    s.add_argument("--optimizer", default="momentum", help=f"one of (default momentum): {opts}")
    s.add_argument("--x", nargs=3, required=True, metavar=("PARAM", "MIN", "MAX"))
    s.add_argument("--y", nargs=3, required=True, metavar=("PARAM", "MIN", "MAX"))
    s.add_argument("--resolution", type=int, default=30, help="cells per axis (default 30)")
    s.add_argument(
        "--hyper", nargs="+", default=[], metavar="KEY=VALUE", help="the other hyperparameters"
    )
    s.add_argument("--epochs", type=int, default=2000, help="maximum epochs (default 2000)")
    _stop_flags(s)
    _cluster_flags(s)
    s.add_argument("--workers", type=int, default=None, help="local threads (default: cores)")
    s.add_argument("--out", required=True, metavar="FILE.csv")
    s.set_defaults(func=sweep_command)


def _problem_flags(p: argparse.ArgumentParser, presets: str) -> None:
    p.add_argument("--preset", default="book-1-2-1", help=f"problem: {presets}")
    p.add_argument("--free", nargs="+", metavar="LABEL", help="the trained parameters")
    p.add_argument("--start", nargs="+", type=float, metavar="VALUE", help="in --free order")
    p.add_argument("--performance", default="sse", choices=("sse", "mse", "ce"))
    p.add_argument("--seed", type=int, default=0, help="random seed (start draw, SGD order)")


def _stop_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--goal", type=float, default=0.0, help="stop at performance <= GOAL")
    p.add_argument("--min-grad", type=float, default=0.0, help="stop at |gradient| <= this")


def _cluster_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the chunks on this Dask scheduler, e.g. tcp://host:8786 (needs bpgui[cluster])",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to reach the scheduler")


# ---- race ----------------------------------------------------------------------------------
def parse_entry(text: str, index: int) -> RaceEntry:
    """``"momentum:lr=4,gamma=0.8"`` -> a validated entry."""
    name, _, rest = text.partition(":")
    items = rest.split(",") if rest.strip() else []
    if any(not t.strip() for t in items):
        raise CliError(f"--entry {text}: an empty KEY=VALUE between commas")
    try:
        hyper = parse_hyper(name.strip(), items)
    except ValueError as exc:
        raise CliError(f"--entry {text}: {exc}") from None
    return RaceEntry(name.strip(), hyper, COLOURS[index % len(COLOURS)])


def race_command(args: argparse.Namespace) -> int:
    entries = race_preset() if args.seed_entries else []
    if args.preset_entries:
        entries += race_preset(args.preset_entries)
    entries += [parse_entry(t, len(entries) + i) for i, t in enumerate(args.entry)]
    if not entries:
        raise CliError("race: add at least one --entry (or --seed-entries, --preset-entries)")
    _check_epochs(args.epochs, 0)
    setup, x0 = _setup(args, "sd", [])
    check_race(setup, [e.optimizer for e in entries])  # the estimate, not an OOM kill
    # only the results are printed: no histories kept, steps of bounded length, so the
    # memory stays flat however many epochs (--epochs 1000000000000 runs, and runs)
    race = Race(setup, entries, x0, epochs=args.epochs, goal=args.goal,
                min_grad=args.min_grad, keep_history=False)  # fmt: skip
    with np.errstate(all="ignore"):
        for _ in race.steps(min(max(1, args.epochs // 20), RACE_STEP)):
            pass
    res = race.results()
    if args.json:
        out = []
        for r in res:
            out.append({
                "entry": r.label, "optimizer": r.optimizer,
                "hyper": next(e.hyper for e in race.entries if e.label == r.label),
                "colour": r.colour, "epochs": r.epochs, "epochs_to_goal": r.epochs_to_goal,
                "performance": _num(r.performance), "grad_norm": _num(r.grad_norm),
                "minimum": r.minimum, "minimum_performance": _num(r.minimum_performance),
                "wall_s": round(r.wall_seconds, 6), "stop": r.stop,
                "end": dict(zip(setup.free, map(_num, r.end), strict=True)),
            })  # fmt: skip
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    head = ["entry", "epochs to goal", "performance", "minimum", "wall s", "epochs", "stop"]
    rows = [
        [r.label, "-" if r.epochs_to_goal is None else f"{r.epochs_to_goal:,}",
         f"{r.performance:.6g}", r.minimum, f"{r.wall_seconds:.3f}", f"{r.epochs:,}",
         r.stop or "running"]
        for r in res
    ]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    for line in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return 0


# ---- basins and sweeps ---------------------------------------------------------------------
def basins_command(args: argparse.Namespace) -> int:
    (xl, x0, x1), (yl, y0, y1) = _axis(args.x, "--x"), _axis(args.y, "--y")
    _check_epochs(args.epochs, 1)
    free = args.free or [xl, yl]
    for lab, flag in ((xl, "--x"), (yl, "--y")):
        if lab not in free:
            raise CliError(f"{flag}: {lab} is not among the free parameters ({', '.join(free)})")
    start = args.start
    if start is None:  # the other free parameters at the preset's values
        p = get_preset(args.preset)
        start = [float(p.theta[p.spec.index(f)]) for f in free]
    setup, _ = _setup(args, args.optimizer, args.hyper, free=free, start=start)
    setup = setup.replace(axes=(xl, yl), ranges=((x0, x1), (y0, y1)))
    job = BasinJob(setup, resolution=args.resolution, epochs=args.epochs)
    t0 = time.perf_counter()
    for _ in job.chunks(args.scheduler, timeout=args.timeout):
        pass
    m = job.result()
    atomic_write_text(args.out, m.to_csv())
    dt = time.perf_counter() - t0
    counts = ", ".join(f"{k} {v}" for k, v in m.counts().items())
    print(f"{m.resolution}x{m.resolution} cells in {dt:.2f} s ({m.kernel}): {counts}")
    kinds = kinds_at(setup.objective(), m.minima) or [None] * len(m.minima)
    for k, (c, f) in enumerate(zip(m.minima, m.minima_performance, strict=True)):
        where = ", ".join(f"{lab} {v:.4g}" for lab, v in zip(m.free, c, strict=True))
        what = f", {KIND_WORDS[kinds[k]]}" if kinds[k] in KIND_WORDS else ""
        print(f"M{k + 1}{what}: {where}; performance {f:.4g}")
    if m.partial:
        print(f"partial: {np.count_nonzero(m.stop < 0)} cells not computed ({job.failed[0]})")
    print(f"wrote {args.out}")
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    (xp, x0, x1), (yp, y0, y1) = _axis(args.x, "--x"), _axis(args.y, "--y")
    _check_epochs(args.epochs, 1)
    if args.optimizer not in OPTIMIZERS:
        raise CliError(
            f"--optimizer: unknown {args.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    setup, start = _setup(args, args.optimizer, args.hyper)
    job = SweepJob(
        setup, xp, (x0, x1), yp, (y0, y1), resolution=args.resolution, x0=start,
        epochs=args.epochs, goal=args.goal, min_grad=args.min_grad,
    )  # fmt: skip
    t0 = time.perf_counter()
    for _ in job.chunks(args.scheduler, workers=args.workers, timeout=args.timeout):
        pass
    r = job.result()
    atomic_write_text(args.out, r.to_csv())
    dt = time.perf_counter() - t0
    print(
        f"{r.performance.size} cells in {dt:.2f} s: {int(r.reached.sum())} reached the goal, "
        f"{int(r.diverged.sum())} diverged"
    )
    if r.partial:
        print(f"partial: {np.count_nonzero(r.stop < 0)} cells not computed ({job.failed[0]})")
    print(f"wrote {args.out}")
    return 0


# ---- helpers -------------------------------------------------------------------------------
def _setup(args, optimizer, hyper, free=None, start=None):
    return setup_from_options(
        preset=args.preset,
        free=free or args.free,
        start=start if start is not None else args.start,
        optimizer=optimizer,
        hyper=hyper,
        epochs=max(int(args.epochs), 0),
        goal=args.goal,
        min_grad=args.min_grad,
        performance=args.performance,
        seed=args.seed,
    )


def _axis(values: Sequence[str], flag: str) -> tuple[str, float, float]:
    label, lo, hi = values
    out = []
    for text, what in ((lo, "MIN"), (hi, "MAX")):
        try:
            v = float(text)
        except ValueError:
            raise CliError(f"{flag} {label}: {what} {text!r} is not a number") from None
        if not math.isfinite(v):
            raise CliError(f"{flag} {label}: {what} must be finite, got {text!r}")
        out.append(v)
    if out[1] <= out[0]:
        raise CliError(f"{flag} {label}: need MIN < MAX, got {lo} {hi}")
    return label, out[0], out[1]


def _check_epochs(epochs: int, lo: int) -> None:
    if epochs < lo:
        raise CliError(f"--epochs: must be >= {lo}")


def _num(v: float | None) -> float | str | None:
    return v if v is None or math.isfinite(v) else str(v)
