"""The ``bpgui`` command line: ``bpgui train`` and ``bpgui surface`` run headless.

This module imports no Qt.  Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from engine.experiments import EXPERIMENTS, get_experiment
from engine.optim import OPTIMIZERS, make_optimizer
from engine.presets import PRESETS, get_preset
from engine.problem import make_objective, parse_hyper, start_point
from engine.surface import evaluate_surface
from engine.trainer import STOP_REASONS, StopCriteria, Trainer

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        print(f"bpgui: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="bpgui",
        description="Watch backpropagation train a neural network (Hagan et al., Neural "
        "Network Design, ch. 12).  Without a subcommand the desktop window opens on the "
        "book's problem; the subcommands run the engine headless.",
    )
    experiments = ", ".join(EXPERIMENTS)
    p.add_argument(
        "--experiment",
        metavar="KEY",
        help=f"open the window on one of the seed's experiments and run it: {experiments}",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    presets = ", ".join(f"{k} ({v.description})" for k, v in PRESETS.items())
    opts = ", ".join(OPTIMIZERS)

    t = sub.add_parser(
        "train",
        help="train a network and report the result",
        description="Train on a preset problem.  Without --start the free parameters are "
        "drawn uniformly in [-1, 1] from --seed; the other parameters keep the preset's "
        "values.",
    )
    t.add_argument("--preset", default="book-1-2-1", help=f"problem: {presets}")
    t.add_argument(
        "--free",
        nargs="+",
        metavar="LABEL",
        help="parameters to train, e.g. W1[1,1] W2[1,1] (default: the preset's)",
    )
    t.add_argument(
        "--start",
        nargs="+",
        type=float,
        metavar="VALUE",
        help="start values of the free parameters, in the order of --free",
    )
    t.add_argument("--optimizer", default="sd", help=f"one of: {opts}")
    t.add_argument(
        "--hyper",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="hyperparameters, e.g. lr=1 (see README for each optimizer's)",
    )
    t.add_argument("--epochs", type=int, default=1000, help="maximum epochs (default 1000)")
    t.add_argument("--goal", type=float, default=0.0, help="stop when SSE <= GOAL (default 0)")
    t.add_argument(
        "--min-grad",
        type=float,
        default=0.0,
        help="stop when the gradient norm <= this (default 0: off)",
    )
    t.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds")
    t.add_argument(
        "--performance",
        default="sse",
        choices=("sse", "mse", "ce"),
        help="performance index (default sse)",
    )
    t.add_argument("--seed", type=int, default=0, help="random seed (start point, SGD order)")
    t.add_argument("--json", action="store_true", help="print one JSON object with the result")

    s = sub.add_parser(
        "surface",
        help="write the performance over a grid of two parameters to CSV",
        description="Evaluate the performance index on a grid over two parameters, the "
        "others fixed at the preset's values (or --at).  One CSV row per grid point with "
        "the header LABELX,LABELY,performance; the grid includes both ends of each range.",
    )
    s.add_argument("--preset", default="book-1-2-1", help=f"problem: {presets}")
    s.add_argument("--x", nargs=3, required=True, metavar=("LABEL", "MIN", "MAX"))
    s.add_argument("--y", nargs=3, required=True, metavar=("LABEL", "MIN", "MAX"))
    s.add_argument("--resolution", type=int, default=100, help="points per axis (default 100)")
    s.add_argument(
        "--at",
        nargs="+",
        default=[],
        metavar="LABEL=VALUE",
        help="values of other parameters (default: the preset's)",
    )
    s.add_argument("--performance", default="sse", choices=("sse", "mse", "ce"))
    s.add_argument("--out", required=True, metavar="FILE.csv", help="output file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with np.errstate(all="ignore"):  # a diverging run is reported, not warned about
            if args.command == "train":
                return _train(args)
            if args.command == "surface":
                return _surface(args)
        return _default(args.experiment)
    except (CliError, ValueError) as exc:
        print(f"bpgui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bpgui: interrupted", file=sys.stderr)
        return 130


def _default(experiment: str | None = None) -> int:
    """No subcommand: open the desktop app (Qt is imported only here)."""
    if experiment is not None:
        get_experiment(experiment)  # a clear error before any window opens
    from bpgui.app import main as app_main

    return app_main(experiment)


def _train(args: argparse.Namespace) -> int:
    preset = get_preset(args.preset)
    obj = make_objective(preset, args.free, performance=args.performance)
    hyper = parse_hyper(args.optimizer, args.hyper)
    opt = make_optimizer(args.optimizer, seed=args.seed, **hyper)
    x0 = start_point(obj, args.start, args.seed)
    crit = StopCriteria(
        epochs=args.epochs,
        goal=args.goal,
        min_grad=args.min_grad,
        max_time=math.inf if args.time_limit is None else args.time_limit,
    )
    trainer = Trainer(obj, opt, x0, crit)
    bar = _Progress(args.epochs) if sys.stderr.isatty() and not args.json else None
    t0 = time.perf_counter()
    rec = None
    for rec in trainer.run():
        if bar is not None and rec.epoch % 256 == 0:
            bar.update(rec.epoch, rec.sse)
    elapsed = time.perf_counter() - t0
    if bar is not None:
        bar.close(rec.epoch, rec.sse)
    theta = obj.full(rec.x)
    result = {
        "preset": preset.name,
        "optimizer": args.optimizer,
        "hyper": opt.hyper.to_dict(),
        "free": list(obj.free_labels),
        "start": [float(v) for v in x0],
        "epochs": rec.epoch,
        "performance": _num(rec.performance),
        "sse": _num(rec.sse),
        "grad_norm": _num(rec.grad_norm),
        "stop_reason": rec.stop,
        "params": {lab: _num(v) for lab, v in zip(obj.spec.labels, theta, strict=True)},
        "elapsed_s": round(elapsed, 6),
        "epochs_per_s": round(rec.epoch / elapsed, 1) if elapsed > 0 else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.optimizer} on {preset.name}: {rec.epoch} epochs in {elapsed:.2f} s, "
            f"SSE {rec.sse:.6g}, |grad| {rec.grad_norm:.3g}"
        )
        print(f"stopped: {STOP_REASONS.get(rec.stop, rec.stop)}")
        print("  ".join(f"{lab} = {theta[obj.spec.index(lab)]:.6g}" for lab in obj.free_labels))
    return 0


def _num(v: float) -> float | str:
    """JSON has no NaN/inf: write those as strings."""
    v = float(v)
    return v if math.isfinite(v) else str(v)


def _surface(args: argparse.Namespace) -> int:
    preset = get_preset(args.preset)
    at = {}
    for item in args.at:
        label, sep, text = item.partition("=")
        if not sep:
            raise CliError(f"--at: expected LABEL=VALUE, got {item!r}")
        at[label.strip()] = _float(text, f"--at {label}")
    obj = make_objective(preset, None, at)
    (xl, xlo, xhi), (yl, ylo, yhi) = args.x, args.y
    surf = evaluate_surface(
        obj.spec,
        obj.data,
        obj.base,
        xl,
        (_float(xlo, "--x MIN"), _float(xhi, "--x MAX")),
        yl,
        (_float(ylo, "--y MIN"), _float(yhi, "--y MAX")),
        args.resolution,
        args.performance,
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([surf.x_label, surf.y_label, "performance"])
    X, Y = np.meshgrid(surf.xs, surf.ys, indexing="ij")
    for x, y, v in zip(X.ravel(), Y.ravel(), surf.values.ravel(), strict=True):
        w.writerow([repr(float(x)), repr(float(y)), repr(float(v))])
    atomic_write_text(args.out, buf.getvalue())
    x, y, v = surf.argmin()
    print(
        f"wrote {surf.values.size} points to {args.out}; lowest {v:.6g} at "
        f"{surf.x_label} = {x:.6g}, {surf.y_label} = {y:.6g}",
        file=sys.stderr,
    )
    return 0


def _float(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise CliError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise CliError(f"{what}: must be finite, got {text!r}")
    return v


def atomic_write_text(path: str, text: str) -> None:
    """Write via a temporary file in the same folder and ``os.replace``: never half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CliError(f"cannot write {path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".bpgui-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, total: int) -> None:
        self.total, self.t0, self.last = max(total, 1), time.perf_counter(), 0.0

    def update(self, epoch: int, sse: float) -> None:
        now = time.perf_counter()
        if now - self.last < 0.1:
            return
        self.last = now
        frac = min(epoch / self.total, 1.0)
        bar = "#" * int(30 * frac)
        rate = epoch / max(now - self.t0, 1e-9)
        sys.stderr.write(f"\r[{bar:<30}] {epoch}/{self.total}  SSE {sse:.4g}  {rate:,.0f} ep/s ")
        sys.stderr.flush()

    def close(self, epoch: int, sse: float) -> None:
        self.last = 0.0
        self.update(epoch, sse)
        sys.stderr.write("\n")


if __name__ == "__main__":
    sys.exit(main())
