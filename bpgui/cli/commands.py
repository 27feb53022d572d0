"""What ``bpgui train``, ``bpgui surface`` and ``bpgui export`` do (the parser and the
dispatch live in :mod:`bpgui.cli`).  No Qt here (``export --plot`` imports it, offscreen,
when asked to draw).

``train`` has one path: from flags it builds a fresh session (setup and start point) and
then runs exactly what ``train SESSION`` runs, so ``--save`` works for both and the two
cannot drift apart.

A long module (over 400 lines) on purpose: the three commands share their flag handling,
session building and messages, and splitting them would make ``train`` and ``train
SESSION`` two paths again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from bpgui.cli.plane import class_report, plane_base
from bpgui_engine.analysis.surface import Surface, evaluate_surface
from bpgui_engine.memory import check_run, check_surface
from bpgui_engine.model.presets import get_preset
from bpgui_engine.model.problem import make_objective, setup_from_options
from bpgui_engine.session import (
    Session,
    load_session,
    save_lighter_copy,
    save_session,
    session_trainer,
    trainer_state,
)
from bpgui_engine.session.export import (
    atomic_write_text,
    grid_csv,
    history_csv,
    kept_note,
    params_csv,
    params_json,
    trajectory_csv,
)
from bpgui_engine.train.history import History
from bpgui_engine.train.trainer import STOP_REASONS

__all__ = ["CliError", "export", "session_surface", "surface", "train"]

#: the flags that describe a new problem; a SESSION brings its own
SETUP_FLAGS = {
    "preset": "--preset",
    "free": "--free",
    "start": "--start",
    "optimizer": "--optimizer",
    "hyper": "--hyper",
    "goal": "--goal",
    "min_grad": "--min-grad",
    "time_limit": "--time-limit",
    "performance": "--performance",
    "seed": "--seed",
    "dataset": "--dataset",
    "layers": "--layers",
    "transfer": "--transfer",
    "output": "--output",
    "features": "--features",
    "l2": "--l2",
    "l1": "--l1",
}

DEFAULT_EPOCHS = 1000
SHOWN_PARAMS = 12  # free parameters printed by train (all of them in --json)
FLUSH = 65536  # records buffered before they go into the history


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


# ---- train -----------------------------------------------------------------------------------
def train(args: argparse.Namespace) -> int:
    """``bpgui train [SESSION]``: continue a saved session, or a fresh one built from flags."""
    if args.epochs is not None and args.epochs < 0:
        raise CliError("--epochs: must be >= 0")
    if args.session is not None:
        given = [flag for key, flag in SETUP_FLAGS.items() if getattr(args, key) is not None]
        if given:
            raise CliError(
                f"{given[0]}: not with a SESSION, which brings its own setup "
                "(only --epochs, --save and --json apply)"
            )
        s, source = load_session(args.session), args.session
        extra = args.epochs
    else:
        base = plane_base(args)
        setup, x0 = setup_from_options(
            preset=args.preset or "book-1-2-1",
            free=args.free,
            start=args.start,
            optimizer=args.optimizer or "sd",
            hyper=args.hyper or (),
            epochs=DEFAULT_EPOCHS if args.epochs is None else args.epochs,
            goal=0.0 if args.goal is None else args.goal,
            min_grad=0.0 if args.min_grad is None else args.min_grad,
            time_limit=args.time_limit,
            performance=args.performance or (base.performance if base else "sse"),
            seed=0 if args.seed is None else args.seed,
            base=base,
            l2=args.l2 or 0.0,
            l1=args.l1 or 0.0,
        )
        s, source, extra = Session(setup, start=x0), None, None
    # refuse with the estimate instead of running out of memory; a kept history thins
    # itself past its budget (the plan's rows)
    plan = check_run(s.setup, keep_history=bool(args.save))
    if plan.note() and not args.json:
        print(plan.note(), file=sys.stderr)
    result = run_session(
        s, extra, keep_history=bool(args.save), progress=not args.json, max_rows=plan.max_rows,
        dtype="float32" if getattr(args, "float32", False) else "float64",
    )  # fmt: skip
    if args.save:
        save_session(s, args.save)
    result = {"session": source, **result, "saved": args.save}
    if args.json:
        print(json.dumps(result))
    else:
        _print_result(result, s)
    return 0


def run_session(
    s: Session,
    extra_epochs: int | None,
    keep_history: bool = True,
    progress: bool = False,
    max_rows: int | None = None,
    dtype: str = "float64",
) -> dict:
    """Train ``s`` on from where it stands (see :func:`bpgui_engine.session.session_trainer`),
    update its run state (and history, if kept: at most ``max_rows`` rows, thinned past
    them), and return the result as a plain dict."""
    setup = s.setup
    trainer, fresh = session_trainer(s, extra_epochs, dtype=dtype)
    target = trainer.criteria.epochs
    bar = _Progress(target) if progress and sys.stderr.isatty() else None
    start = trainer.x if fresh else s.run.start
    first = trainer.epoch
    h = None
    if keep_history:
        if s.history is not None and not fresh:
            h = s.history
            h.set_budget(max_rows)
        else:
            h = History(len(setup.free), max_rows=max_rows)
    t0 = time.perf_counter()
    rec = None
    for block in trainer.blocks(emit_start=fresh):  # columnar blocks: no per-epoch objects
        if h is not None:
            h.extend(block.cols, block.x, block.stop)
        rec = block.last()
        if bar is not None:
            bar.update(rec.epoch, rec.sse)
    elapsed = time.perf_counter() - t0
    if bar is not None and rec is not None:
        bar.close(rec.epoch, rec.sse)
    # rec is None: nothing to do, the run already stands at its maximum
    stop = rec.stop if rec is not None else s.run.stop if s.run is not None else None
    x = trainer.x
    if rec is not None:
        perf, sse, gn = rec.performance, rec.sse, rec.grad_norm
    else:  # the same numbers the trainer would report at x
        obj = trainer.objective
        f, g = obj.value_and_grad(x)
        perf, sse, gn = float(f), float(obj.sse(x)), math.sqrt(float(g @ g))
    ran = trainer.epoch - first
    if h is not None:
        s.history = h
    elif fresh or ran:
        s.history = None  # a history that stops short of the run would contradict it
    s.run = trainer_state(trainer, start, target, stop)
    s.start = None
    theta = setup.full_theta(x)
    return {
        "preset": setup.data.preset if setup.data.kind == "preset" else None,
        "optimizer": setup.optimizer,
        "hyper": dict(setup.hyper),
        "free": list(setup.free),
        "start": [float(v) for v in start],
        "epochs": trainer.epoch,
        "epochs_run": ran,
        "performance_index": setup.performance,
        "performance": _num(perf),
        "sse": _num(sse),
        "grad_norm": _num(gn),
        "goal": setup.criteria.goal,
        "stop_reason": stop,
        "params": {lab: _num(v) for lab, v in zip(setup.spec.labels, theta, strict=True)},
        "elapsed_s": round(elapsed, 6),
        "epochs_per_s": round(ran / elapsed, 1) if elapsed > 0 and ran else None,
        "kernel": trainer.kernel,
        "dtype": trainer.dtype,
        "history": None if h is None else {"rows": len(h), "kept": h.describe()},
        # what the method estimates as it goes (Bayesian regularization's γ, α, β)
        "optimizer_report": {k: _num(v) for k, v in trainer.optimizer.report().items()},
        **class_report(setup, x),
    }


def _print_result(r: dict, s: Session) -> None:
    what = r["session"] or r["preset"] or r.get("dataset") or "the problem"
    index = s.setup.index_name  # with its penalties: "SSE + 0.1‖w‖²"
    perf = "" if index == "SSE" else f", {index} {_fmt(r['performance'])}"
    print(
        f"{r['optimizer']} on {what}: epoch {r['epochs']:,} ({r['epochs_run']:,} run) in "
        f"{r['elapsed_s']:.2f} s, SSE {_fmt(r['sse'])}{perf}, |grad| {_fmt(r['grad_norm'], 3)}"
    )
    stop = r["stop_reason"]
    kernel = r["kernel"] + (", float32" if r.get("dtype") == "float32" else "")
    print(f"stopped: {STOP_REASONS.get(stop, stop)}  (kernel: {kernel})")
    shown = list(s.setup.free)[:SHOWN_PARAMS]
    more = len(s.setup.free) - len(shown)
    more = f"  … ({more:,} more: --json or --save)" if more > 0 else ""
    print("  ".join(f"{lab} = {_fmt(r['params'][lab])}" for lab in shown) + more)
    if r.get("train_accuracy") is not None:
        test = r.get("test_accuracy")
        test = "" if test is None else f", test {100 * test:.1f} %"
        print(f"accuracy: training {100 * r['train_accuracy']:.1f} %{test}")
    if r["history"] is not None and r["history"]["kept"] != "every epoch":
        print(f"history: {r['history']['rows']:,} epochs kept: {r['history']['kept']}")
    if r["saved"]:
        print(f"saved {r['saved']}")


def _fmt(v: float | str, digits: int = 6) -> str:
    return v if isinstance(v, str) else f"{v:.{digits}g}"


def _num(v: float) -> float | str:
    """JSON has no NaN/inf: write those as strings."""
    v = float(v)
    return v if math.isfinite(v) else str(v)


# ---- surface and export ----------------------------------------------------------------------
def surface(args: argparse.Namespace) -> int:
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
    check_surface(spec, data.n_samples, args.resolution**2)
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


def export(args: argparse.Namespace) -> int:
    anim = getattr(args, "animation", None)
    if getattr(args, "decision", None):
        args.plot = [*args.plot, ("decision", args.decision)]
    outputs = [("--history", args.history), ("--trajectory", args.trajectory),
               ("--params", args.params), ("--contour", args.contour),
               ("--lighter", getattr(args, "lighter", None)),
               *(("--plot", f) for _, f in args.plot), ("--animation", anim)]  # fmt: skip
    outputs = [(flag, path) for flag, path in outputs if path]
    if not outputs:
        raise CliError("export: name at least one output (--history, --trajectory, ...)")
    distinct_outputs(outputs, args.session)
    _check_animation_flags(args, anim)
    s = load_session(args.session)
    labels = s.setup.free
    x = s.run.x if s.run is not None else None
    written = []
    if args.history or args.trajectory:
        if s.history is None:
            raise CliError("export: the session has no history yet (train it first)")
        what = kept_note(s.history)
        if args.history:
            atomic_write_text(args.history, history_csv(s.history, labels))
            written.append(args.history + what)
        if args.trajectory:
            atomic_write_text(args.trajectory, trajectory_csv(s.history, labels))
            written.append(args.trajectory + what)
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
    if getattr(args, "lighter", None):
        written.append(save_lighter_copy(s, args.lighter).summary())
    if args.plot:
        from bpgui.export.plots import export_plots  # Qt, offscreen

        written += export_plots(s, [(w, f) for w, f in args.plot])
    if anim:
        written.append(_animation(s, args, anim))
    print("wrote " + ", ".join(written), file=sys.stderr)
    return 0


def distinct_outputs(outputs: list[tuple[str, str]], source: str | None = None) -> None:
    """Each output its own file, none of them the file being read: the same file named
    twice (also through a symlink or a hard link) would be written twice, the first
    output lost (:class:`CliError` before anything is written)."""

    def same(a: str, b: str) -> bool:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        try:
            return os.path.samefile(a, b)
        except OSError:  # one of them does not exist yet
            return False

    for i, (flag, path) in enumerate(outputs):
        if source is not None and same(path, source):
            raise CliError(f"{flag}: {path} is the SESSION being read; name another file")
        for other_flag, other in outputs[:i]:
            if same(path, other):
                raise CliError(
                    f"{flag}: {path} is also the {other_flag} output; give each output its own file"
                )


ANIMATION_FLAGS = {"seconds": "--seconds", "fps": "--fps", "spacing": "--spacing",
                   "theme": "--theme", "no_curve": "--no-curve", "size": "--size"}  # fmt: skip


def _check_animation_flags(args: argparse.Namespace, anim: str | None) -> None:
    """Animation flags only with --animation; its options and target checked before any
    output is written."""
    if not anim:
        given = [
            flag
            for key, flag in ANIMATION_FLAGS.items()
            if getattr(args, key, None) not in (None, False)
        ]
        if given:
            raise CliError(f"{given[0]}: only with --animation FILE.gif|FILE.mp4")
        return
    from bpgui.export.animation import check_animation  # Pillow; imageio only for MP4

    check_animation(anim, **_animation_options(args))


def _animation_options(args: argparse.Namespace) -> dict:
    size = None
    if args.size is not None:
        w, sep, h = args.size.lower().partition("x")
        if not (sep and w.strip().isdigit() and h.strip().isdigit()):
            raise CliError(f"--size: expected WIDTHxHEIGHT, e.g. 900x420, got {args.size!r}")
        size = (int(w), int(h))
    return {
        "seconds": 10.0 if args.seconds is None else args.seconds,
        "fps": 20 if args.fps is None else args.fps,
        "spacing": args.spacing or "log",
        "size": size,
        "with_curve": not args.no_curve,
        "theme": args.theme or "dark",
    }


def _animation(s: Session, args: argparse.Namespace, path: str) -> str:
    """``export --animation``: write it (progress on a terminal), return what was written."""
    from bpgui.export.animation import write_animation

    bar = _FrameProgress() if sys.stderr.isatty() else None
    try:
        r = write_animation(
            s, path, **_animation_options(args), on_progress=bar.update if bar else None
        )
    finally:
        if bar is not None:
            bar.close()
    return (
        f"{r.path} ({r.frames} frames, {r.width} x {r.height}, {r.seconds:g} s at "
        f"{r.fps} fps, epochs {r.first_epoch:,} to {r.last_epoch:,}, {r.bytes / 1e6:.1f} MB)"
    )


def session_surface(s: Session, resolution: int) -> Surface:
    """The contour grid of a session's view: its two axes and ranges, at its current point."""
    setup = s.setup
    x = s.run.x if s.run is not None else None
    theta = setup.full_theta(x) if x is not None else np.array(setup.theta)
    data, _ = setup.data.build()
    (xl, yl), (xr, yr) = setup.axes, setup.ranges
    check_surface(setup.spec, data.n_samples, resolution**2)
    return evaluate_surface(
        setup.spec, data, theta, xl, xr, yl, yr, resolution, setup.performance, setup.penalty
    )


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


class _FrameProgress:
    """``bpgui export --animation``'s progress line on stderr (as :class:`_Progress`)."""

    def __init__(self) -> None:
        self.last, self.shown = 0.0, False

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.1 and done < total:
            return
        self.last, self.shown = now, True
        bar = "#" * int(30 * done / max(total, 1))
        tail = "  encoding ..." if done >= total else ""
        sys.stderr.write(f"\r[{bar:<30}] frame {done}/{total}{tail} ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
