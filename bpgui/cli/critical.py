"""``bpgui critical``: the stationary points of a 2-D slice, headless.  No Qt.

:func:`add_parsers` adds the subcommand to ``bpgui``'s subparsers (it sets ``func``, which
returns the exit status and raises ``ValueError`` for bad input: one line, exit 2 in
:func:`bpgui.cli.main`).  :func:`main` runs it alone with the same error handling.

    bpgui critical --preset book-1-2-1 --free W1[1,1] W2[1,1] \\
        --x W1[1,1] -5 15 --y W2[1,1] -5 45 [--json]

``--json`` prints one JSON list, one object per point: ``params`` (label -> value),
``performance``, ``eigenvalues`` (ascending), ``kind`` (``minimum``, ``saddle``, ``maximum``
or ``degenerate``), plus ``grad_norm``, ``dims`` and, for a group of degenerate points on
one flat floor, ``count`` and ``extent``; ``copy_of`` (0-based index into the list) for a
point that is a symmetric copy of an earlier one (hidden neurons swapped or sign-flipped).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bpgui_engine.analysis.critical import CriticalPoint, find_critical_points
from bpgui_engine.analysis.curvature import KIND_WORDS
from bpgui_engine.model.presets import PRESETS
from bpgui_engine.model.problem import setup_from_options

__all__ = ["add_parsers", "critical_command"]

EXIT_USAGE = 2


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add ``critical`` to ``subparsers`` (it sets ``func``)."""
    c = subparsers.add_parser(
        "critical",
        help="find and classify the stationary points of a 2-D slice",
        description="Start a damped Newton search for zeros of the gradient from every node "
        "of a GRID x GRID grid over the slice --x by --y (the other parameters at --start, "
        "default the preset's values), and print each stationary point found: its "
        "parameters, performance, the exact Hessian's eigenvalues and its kind (minimum, "
        "saddle, maximum, degenerate; a flat floor of degenerate points is one row).",
    )
    c.add_argument("--preset", default="book-1-2-1", help=f"problem: {', '.join(PRESETS)}")
    c.add_argument("--free", nargs="+", metavar="LABEL", help="the free parameters")
    c.add_argument("--start", nargs="+", type=float, metavar="VALUE", help="in --free order")
    c.add_argument("--performance", default="sse", choices=("sse", "mse", "ce"))
    c.add_argument("--x", nargs=3, metavar=("LABEL", "MIN", "MAX"), help="the slice's x axis")
    c.add_argument("--y", nargs=3, metavar=("LABEL", "MIN", "MAX"), help="the slice's y axis")
    c.add_argument("--grid", type=int, default=15, help="starts per axis (default 15)")
    c.add_argument(
        "--all",
        action="store_true",
        help="search all free parameters, not only the two axes (starts: the grid with the "
        "others at --start, and as many again spread over the whole box, seeded)",
    )
    c.add_argument("--json", action="store_true", help="print a JSON list, one object per point")
    c.set_defaults(func=critical_command)


def _axis(flag: str, v: Sequence[str]) -> tuple[str, tuple[float, float]]:
    try:
        return v[0], (float(v[1]), float(v[2]))
    except ValueError:
        raise ValueError(f"--{flag}: MIN and MAX must be numbers, got {v[1]!r} {v[2]!r}") from None


def critical_command(args: argparse.Namespace) -> int:
    setup, x0 = setup_from_options(
        preset=args.preset, free=args.free, start=args.start, performance=args.performance
    )
    spec = setup.spec
    free = [spec.labels[spec.index(f)] for f in setup.free]
    axes, ranges = list(setup.axes), list(setup.ranges)
    for k, flag in enumerate(("x", "y")):
        v = getattr(args, flag)
        if v is not None:
            lab, ranges[k] = _axis(flag, v)
            axes[k] = spec.labels[spec.index(lab)]  # canonical label (or the valid ones)
    if axes[0] == axes[1]:
        raise ValueError("--x and --y: choose two different parameters")
    for lab in axes:
        if len(free) >= 2 and lab not in free:
            raise ValueError(f"{lab}: an axis must be a free parameter ({', '.join(free)})")
    setup = setup.replace(free=tuple(free), axes=tuple(axes), ranges=tuple(ranges))
    points = find_critical_points(
        setup, ranges[0], ranges[1], grid=args.grid, free="all" if args.all else "slice", x=x0
    )
    where = f"{axes[0]} in [{ranges[0][0]:g}, {ranges[0][1]:g}] x {axes[1]} in " + (
        f"[{ranges[1][0]:g}, {ranges[1][1]:g}]"
    )
    if args.json:
        print(json.dumps([p.to_json() for p in points]))
        if not points:
            print(f"bpgui: no critical point found in {where}", file=sys.stderr)
        return 0
    if not points:
        print(f"No critical point found in {where} ({args.grid} x {args.grid} starts).")
        return 0
    dims = points[0].dims
    print(f"{len(points)} critical point(s) in {where}, searched in {dims} dimension(s):")
    print(_table(points, args.performance))
    copies = sum(p.copy_of >= 0 for p in points)
    if copies:
        print(f"{copies} are symmetric copies (hidden neurons swapped or sign-flipped, or the "
              "data's mirror image) of the point named under 'copy of': the same F by "
              "construction")  # fmt: skip
    return 0


def _table(points: list[CriticalPoint], perf: str = "sse") -> str:
    labels = points[0].labels
    eig = f"eigenvalues of the {perf.upper()} Hessian"  # which index's Hessian (issue 18 #23)
    head = ["#", "kind", *labels, "performance", "|gradient|", "copy of", eig]
    rows = []
    for k, p in enumerate(points, 1):
        kind = KIND_WORDS.get(p.kind, p.kind) + (f", {p.count} points" if p.count > 1 else "")
        eig = ", ".join(f"{v:.4g}" for v in p.eigenvalues)
        copy = f"#{p.copy_of + 1}" if p.copy_of >= 0 else ""
        rows.append(
            [str(k), kind, *(f"{v:.6g}" for v in p.x), f"{p.performance:.6g}",
             f"{p.grad_norm:.1e}", copy, eig]
        )  # fmt: skip
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [head, *rows]]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    for p in points:
        if p.count > 1:
            span = ", ".join(f"{k} {a:.4g}..{b:.4g}" for k, (a, b) in p.extent.items())
            lines.append(f"degenerate floor at performance {p.performance:.6g}: {span}")
    return "\n".join(lines)
