"""The ``bpgui`` command line: ``bpgui train``, ``bpgui surface`` and ``bpgui export`` run
headless; ``bpgui [SESSION]`` opens the desktop app.

This module imports no Qt (``export --plot`` imports it, offscreen, when asked to draw).
Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence

import numpy as np

from engine.experiments import EXPERIMENTS, get_experiment
from engine.export import (
    atomic_write_text,
    grid_csv,
    history_csv,
    params_csv,
    params_json,
    trajectory_csv,
)
from engine.history import History
from engine.optim import OPTIMIZERS, make_optimizer
from engine.presets import PRESETS, get_preset
from engine.problem import make_objective, parse_hyper, start_point
from engine.session import (
    Session,
    load_session,
    save_session,
    session_trainer,
    trainer_state,
)
from engine.surface import evaluate_surface
from engine.trainer import STOP_REASONS, StopCriteria, Trainer

EXIT_USAGE = 2
COMMANDS = ("train", "surface", "export")


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
        help="train a network (or continue a saved session) and report the result",
        description="Train on a preset problem, or continue a saved session exactly where "
        "it stands (bpgui train SESSION [--epochs N] [--save FILE]).  Without --start the "
        "free parameters are drawn uniformly in [-1, 1] from --seed; the other parameters "
        "keep the preset's values.",
    )
    t.add_argument(
        "session",
        nargs="?",
        metavar="SESSION",
        help="a .bpgui session file to continue (its network, data, optimizer and state; "
        "--epochs then counts the additional epochs)",
    )
    t.add_argument(
        "--save",
        metavar="FILE.bpgui",
        help="write the resulting session (history included) to this file",
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
    t.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="maximum epochs (default 1000); with SESSION: epochs to add (default: up to "
        "the run's maximum if it was saved mid-run, else the session's epoch setting)",
    )
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
    s.add_argument(
        "session",
        nargs="?",
        metavar="SESSION",
        help="use a saved session's network and data, the other parameters at its current values",
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

    e = sub.add_parser(
        "export",
        help="write a session's history, trajectory, parameters, contour grid or plots",
        description="Export parts of a saved session to files other tools read.  Give any "
        "of the outputs; each is written atomically.",
    )
    e.add_argument("session", metavar="SESSION", help="a .bpgui session file")
    e.add_argument("--history", metavar="FILE.csv", help="every epoch: SSE, gradient norm, ...")
    e.add_argument("--trajectory", metavar="FILE.csv", help="epoch and the free parameters")
    e.add_argument(
        "--params", metavar="FILE.csv|FILE.json", help="every parameter at the current point"
    )
    e.add_argument("--contour", metavar="FILE.csv", help="the contour grid over the two axes")
    e.add_argument("--resolution", type=int, default=100, help="contour points per axis")
    e.add_argument(
        "--plot",
        nargs=2,
        action="append",
        default=[],
        metavar=("WHICH", "FILE"),
        help="draw a plot (contour, curves or response) to FILE.png or FILE.svg; repeatable",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    session_path = None
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        session_path = argv.pop(0)  # bpgui SESSION: open it in the app
    args = _parser().parse_args(argv)
    try:
        with np.errstate(all="ignore"):  # a diverging run is reported, not warned about
            if args.command == "train":
                return _train(args)
            if args.command == "surface":
                return _surface(args)
            if args.command == "export":
                return _export(args)
        # a bad session is a clear error before any window opens; the window reuses it
        loaded = load_session(session_path) if session_path is not None else None
        return _default(args.experiment, session_path, loaded)
    except (CliError, ValueError) as exc:
        print(f"bpgui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bpgui: interrupted", file=sys.stderr)
        return 130


def _default(
    experiment: str | None = None, session: str | None = None, loaded: Session | None = None
) -> int:
    """No subcommand: open the desktop app (Qt is imported only here)."""
    if experiment is not None:
        get_experiment(experiment)  # a clear error before any window opens
    from bpgui.app import main as app_main

    return app_main(experiment, session, loaded)


def _train_session(args: argparse.Namespace) -> int:
    s = load_session(args.session)
    if args.epochs is not None and args.epochs < 0:
        raise CliError("--epochs: must be >= 0")
    trainer, fresh = session_trainer(s, args.epochs)
    n = trainer.criteria.epochs - trainer.epoch
    bar = _Progress(trainer.criteria.epochs) if sys.stderr.isatty() and not args.json else None
    h = s.history if s.history is not None and not fresh else History(len(s.setup.free))
    start = trainer.x if fresh else s.run.start
    t0 = time.perf_counter()
    buf, rec = [], None
    for rec in trainer.run(emit_start=fresh):
        buf.append(rec)
        if len(buf) >= 65536:
            h.append_records(buf)
            buf.clear()
        if bar is not None and rec.epoch % 256 == 0:
            bar.update(rec.epoch, rec.sse)
    if buf:
        h.append_records(buf)
    elapsed = time.perf_counter() - t0
    if bar is not None and rec is not None:
        bar.close(rec.epoch, rec.sse)
    # rec is None: nothing to do, the run already stands at its maximum
    stop = rec.stop if rec is not None else s.run.stop if s.run is not None else None
    s.history = h
    s.run = trainer_state(trainer, start, trainer.criteria.epochs, stop)
    s.start = None
    x = trainer.x
    theta = s.setup.full_theta(x)
    last = h.last() if len(h) else {"sse": math.nan, "grad_norm": math.nan}
    if args.save:
        save_session(s, args.save)
    result = {
        "session": args.session,
        "optimizer": s.setup.optimizer,
        "free": list(s.setup.free),
        "epochs": trainer.epoch,
        "epochs_run": n if rec is not None else 0,
        "performance": _num(last["performance"]) if "performance" in last else None,
        "sse": _num(last["sse"]),
        "grad_norm": _num(last["grad_norm"]),
        "stop_reason": stop,
        "params": {lab: _num(v) for lab, v in zip(s.setup.spec.labels, theta, strict=True)},
        "elapsed_s": round(elapsed, 6),
        "saved": args.save,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{s.setup.optimizer}: continued to epoch {trainer.epoch:,} in {elapsed:.2f} s, "
            f"SSE {last['sse']:.6g}, |grad| {last['grad_norm']:.3g}"
        )
        print(f"stopped: {STOP_REASONS.get(stop, stop)}")
        if args.save:
            print(f"saved {args.save}")
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.session is not None:
        return _train_session(args)
    if args.save:
        raise CliError("--save: needs a SESSION to continue (bpgui train SESSION --save FILE)")
    if args.epochs is None:
        args.epochs = 1000
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
    at = {}
    for item in args.at:
        label, sep, text = item.partition("=")
        if not sep:
            raise CliError(f"--at: expected LABEL=VALUE, got {item!r}")
        at[label.strip()] = _float(text, f"--at {label}")
    if args.session is not None:
        s = load_session(args.session)
        x = s.run.x if s.run is not None else None
        theta = s.setup.full_theta(x) if x is not None else np.array(s.setup.theta)
        for label, v in at.items():
            theta[s.setup.spec.index(label)] = v
        spec, (data, _), perf = s.setup.spec, s.setup.data.build(), s.setup.performance
        if args.performance != "sse":
            perf = args.performance
    else:
        preset = get_preset(args.preset)
        obj = make_objective(preset, None, at)
        spec, data, theta, perf = obj.spec, obj.data, obj.base, args.performance
    (xl, xlo, xhi), (yl, ylo, yhi) = args.x, args.y
    surf = evaluate_surface(
        spec,
        data,
        theta,
        xl,
        (_float(xlo, "--x MIN"), _float(xhi, "--x MAX")),
        yl,
        (_float(ylo, "--y MIN"), _float(yhi, "--y MAX")),
        args.resolution,
        perf,
    )
    atomic_write_text(args.out, grid_csv(surf))
    x, y, v = surf.argmin()
    print(
        f"wrote {surf.values.size} points to {args.out}; lowest {v:.6g} at "
        f"{surf.x_label} = {x:.6g}, {surf.y_label} = {y:.6g}",
        file=sys.stderr,
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    s = load_session(args.session)
    outputs = [args.history, args.trajectory, args.params, args.contour, *args.plot]
    if not any(outputs):
        raise CliError("export: name at least one output (--history, --trajectory, ...)")
    labels = s.setup.free
    x = s.run.x if s.run is not None else None
    written = []
    if args.history or args.trajectory:
        if s.history is None:
            raise CliError("export: the session has no history yet (train it first)")
        if args.history:
            atomic_write_text(args.history, history_csv(s.history, labels))
            written.append(args.history)
        if args.trajectory:
            atomic_write_text(args.trajectory, trajectory_csv(s.history, labels))
            written.append(args.trajectory)
    if args.params:
        if args.params.lower().endswith(".json"):
            atomic_write_text(args.params, params_json(s.setup, x))
        elif args.params.lower().endswith(".csv"):
            atomic_write_text(args.params, params_csv(s.setup, x))
        else:
            raise CliError("--params: the file name must end in .csv or .json")
        written.append(args.params)
    if args.contour:
        atomic_write_text(args.contour, grid_csv(session_surface(s, args.resolution)))
        written.append(args.contour)
    if args.plot:
        from bpgui.export_plots import export_plots  # Qt, offscreen

        written += export_plots(s, [(w, f) for w, f in args.plot])
    print("wrote " + ", ".join(written), file=sys.stderr)
    return 0


def session_surface(s: Session, resolution: int):
    """The contour grid of a session's view: its two axes and ranges, at its current point."""
    setup = s.setup
    x = s.run.x if s.run is not None else None
    theta = setup.full_theta(x) if x is not None else np.array(setup.theta)
    data, _ = setup.data.build()
    (xl, yl), (xr, yr) = setup.axes, setup.ranges
    return evaluate_surface(setup.spec, data, theta, xl, xr, yl, yr, resolution, setup.performance)


def _float(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise CliError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise CliError(f"{what}: must be finite, got {text!r}")
    return v


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
