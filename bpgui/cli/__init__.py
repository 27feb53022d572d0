"""The ``bpgui`` command line: ``bpgui train``, ``bpgui surface`` and ``bpgui export`` run
headless; ``bpgui [SESSION]`` opens the desktop app.

This module holds the parser and the dispatch; the commands are in
:mod:`bpgui.cli.commands`.  It imports no Qt (``export --plot`` imports it, offscreen, when
asked to draw).  Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import sys
from collections.abc import Sequence

import numpy as np

from bpgui.cli import landscape, spectrum
from bpgui.cli.commands import CliError, export, session_surface, surface, train
from bpgui.cli.critical import add_parsers as add_critical_parser
from bpgui.cli.maps import add_parsers as add_map_parsers
from bpgui.cli.plane import add_plane_flags
from bpgui_engine.model.experiments import EXPERIMENTS, get_experiment
from bpgui_engine.model.presets import PRESETS
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.session import Session, load_session

__all__ = ["CliError", "main", "session_surface"]

EXIT_USAGE = 2
COMMANDS = tuple("train surface export race basins sweep critical spectrum landscape".split())  # noqa: SIM905


#: argparse's negative numbers (-1, -.5, -1e1, -inf, -nan; its own misses exponents)
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str) -> None:  # one line instead of usage + message
        print(f"bpgui: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _seed(text: str) -> int:
    """``--seed``: an integer in [0, 2**32 - 1] (argparse names the option)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= v < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 4294967295], got {text!r}")
    return v


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
    desk = p.add_mutually_exclusive_group()
    desk.add_argument(
        "--install-desktop",
        action="store_true",
        help="add bpgui to the desktop's application menu with its icon, and open .bpgui "
        "sessions with it by double-click (for this user, under $XDG_DATA_HOME)",
    )
    desk.add_argument(
        "--uninstall-desktop",
        action="store_true",
        help="remove what --install-desktop wrote",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    presets = ", ".join(f"{k} ({v.description})" for k, v in PRESETS.items())
    opts = ", ".join(OPTIMIZERS)

    t = sub.add_parser(
        "train",
        help="train a network (or continue a saved session) and report the result",
        description="Train on a preset problem, or continue a saved session exactly where "
        "it stands (bpgui train SESSION [--epochs N] [--save FILE]).  Training from the "
        "flags builds a fresh session from them and runs it the same way, so --save works "
        "for both and the saved file continues bit for bit.  Without --start the free "
        "parameters are drawn uniformly in [-1, 1] from --seed; the other parameters keep "
        "the preset's values.",
    )
    t.add_argument(
        "session",
        nargs="?",
        metavar="SESSION",
        help="a .bpgui session file to continue (its network, data, optimizer, stopping "
        "criteria and state: the problem flags below do not apply; --epochs counts the "
        "additional epochs)",
    )
    t.add_argument(
        "--save",
        metavar="FILE.bpgui",
        help="write the resulting session (history included) to this file; continue it "
        "with 'bpgui train FILE' or open it with 'bpgui FILE'",
    )
    t.add_argument("--preset", default=None, help=f"problem (default book-1-2-1): {presets}")
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
    t.add_argument("--optimizer", default=None, help=f"one of (default sd): {opts}")
    t.add_argument(
        "--hyper",
        nargs="+",
        default=None,
        metavar="KEY=VALUE",
        help="hyperparameters, e.g. lr=1 or beta=pr+ (see README for each optimizer's)",
    )
    t.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="maximum epochs (default 1000); with SESSION: epochs to add (default: up to "
        "the run's maximum if it was saved mid-run, else the session's epoch setting)",
    )
    t.add_argument(
        "--goal",
        type=float,
        default=None,
        help="stop when the performance index being minimized (--performance: the SSE by "
        "default, else the MSE or the cross-entropy, not the SSE) is <= GOAL; default 0: "
        "stop only at exactly 0.  The JSON output gives both 'performance' (the index, "
        "named in 'performance_index') and 'sse'",
    )
    t.add_argument(
        "--min-grad",
        type=float,
        default=None,
        help="stop when the norm of the gradient of the performance index <= this "
        "(default 0: only an exactly zero gradient)",
    )
    t.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds")
    f32 = "single precision on the BLAS kernel: ~2x faster on networks of thousands of "
    f32 += "parameters, slower than the compiled kernel on small ones; 5-6 significant digits"
    t.add_argument("--float32", action="store_true", help=f32 + " (not for the book's figures)")
    t.add_argument(
        "--performance",
        default=None,
        choices=("sse", "mse", "ce"),
        help="the performance index minimized (default sse); --goal and --min-grad apply to it",
    )
    t.add_argument(
        "--seed", type=_seed, default=None, help="random seed (start point, SGD order; default 0)"
    )
    add_plane_flags(t)  # --dataset, --layers, ... (bpgui.cli.plane)
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
        help="write a session's history, trajectory, parameters, contour grid, plots, "
        "animation or a lighter copy",
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
    e.add_argument(
        "--lighter",
        metavar="FILE.bpgui",
        help="a lighter copy of the session for handing out: the history sampled down to "
        "the epochs that keep every curve's shape (the trajectory exact at those), the run's "
        "state whole, so it continues exactly",
    )
    e.add_argument("--resolution", type=int, default=100, help="contour points per axis")
    e.add_argument(
        "--plot",
        nargs=2,
        action="append",
        default=[],
        metavar=("WHICH", "FILE"),
        help="draw a plot (contour, curves, response, decision) to FILE.png/.svg; repeatable",
    )
    e.add_argument("--decision", metavar="FILE", help="the decision map (--plot decision FILE)")
    e.add_argument(
        "--animation",
        metavar="FILE.gif|FILE.mp4",
        help="the run as an animation: its path on the contour and the error curve (MP4 "
        "needs the video extra: pip install 'bpgui[video]')",
    )
    e.add_argument("--seconds", type=float, default=None, help="animation: duration (default 10)")
    e.add_argument(
        "--fps", type=int, default=None, help="animation: frames per second (default 20)"
    )
    e.add_argument(
        "--spacing",
        choices=("log", "linear"),
        default=None,
        help="animation: epochs per frame spaced logarithmically (default: the early creep "
        "and the late fall both show) or evenly",
    )
    e.add_argument("--theme", choices=("light", "dark"), default=None, help="animation: colours")
    e.add_argument(
        "--no-curve", action="store_true", help="animation: the contour only, no error curve"
    )
    e.add_argument(
        "--size",
        metavar="WIDTHxHEIGHT",
        default=None,
        help="animation: frame size in pixels (default 900x420, 480x420 without the curve)",
    )
    add_map_parsers(sub)  # race, basins, sweep (bpgui.cli.maps)
    add_critical_parser(sub), spectrum.add_parsers(sub), landscape.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    session_path = None
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        session_path = argv.pop(0)  # bpgui SESSION: open it in the app
    args = _parser().parse_args(argv)
    headless = args.command is not None or args.install_desktop or args.uninstall_desktop
    if headless and not _stdout_open():  # bpgui train ... >&-: before any work
        return _fail(
            "standard output is closed (redirect it, e.g. >/dev/null, to discard what bpgui prints)"
        )
    real_stdout = sys.stdout
    sys.stdout = _Stdout(real_stdout)
    try:
        if args.install_desktop or args.uninstall_desktop:
            from bpgui.cli import desktop

            if args.install_desktop:
                done = desktop.install()
                print(f"wrote {len(done)} files under {desktop.data_home()}")
                return 0
            gone = desktop.uninstall()
            print(f"removed {len(gone.removed)} files under {desktop.data_home()}")
            for path in gone.kept:
                print(f"kept {path}: edited since --install-desktop (delete it yourself)")
            return 0
        with np.errstate(all="ignore"):  # a diverging run is reported, not warned about
            if args.command == "train":
                return _flushed(train(args))
            if args.command == "surface":
                return _flushed(surface(args))
            if args.command == "export":
                return _flushed(export(args))
            if getattr(args, "func", None) is not None:  # race, basins, sweep, critical, …
                return _flushed(args.func(args))
        loaded = load_session(session_path) if session_path is not None else None  # errs early
        return _default(args.experiment, session_path, loaded)
    except (CliError, ValueError, OverflowError, csv.Error) as exc:
        return _fail(str(exc))
    except MemoryError as exc:
        return _fail(f"out of memory{f' ({exc})' if str(exc) else ''}: try a smaller problem")
    except StdoutError as exc:  # bpgui train ... > /dev/full
        _drop_stdout()
        return _fail(f"cannot write to standard output: {exc.strerror or exc}")
    except OSError as exc:  # a read-only folder, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("bpgui: interrupted", file=sys.stderr)
        return 130
    finally:
        if isinstance(sys.stdout, _Stdout):
            sys.stdout = real_stdout


class StdoutError(OSError):
    """Writing to standard output failed (a full disk, a closed pipe)."""


class _Stdout:
    """``sys.stdout`` while a command runs: a failed write or flush is a
    :class:`StdoutError`, told apart from the failure of a file being written."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _stdout_open() -> bool:
    """Whether standard output can take what a command prints: a closed one (``>&-``)
    leaves ``sys.stdout`` None, and the next file opened would get its descriptor."""
    if sys.stdout is None:
        return False
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # a stream without one (a test's capture)
        return not getattr(sys.stdout, "closed", False)
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _drop_stdout() -> None:
    """Standard output is broken: what is still buffered is dropped (exiting would try to
    flush it and print a second error) and further output goes nowhere."""
    stream = sys.stdout._stream if isinstance(sys.stdout, _Stdout) else sys.stdout
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    with contextlib.suppress(OSError, ValueError):
        stream.flush()


def _flushed(status: int) -> int:
    """Flush stdout inside the error handling: a full stdout is an error of the command,
    not a traceback at interpreter exit."""
    sys.stdout.flush()
    return status


def _fail(message: str) -> int:
    """One line on stderr, exit status 2."""
    text = " ".join(message.split()) or "unknown error"
    print(f"bpgui: error: {text}", file=sys.stderr)
    return EXIT_USAGE


def _default(
    experiment: str | None = None, session: str | None = None, loaded: Session | None = None
) -> int:
    """No subcommand: open the desktop app (Qt is imported only here)."""
    if experiment is not None:
        get_experiment(experiment)  # a clear error before any window opens
    from bpgui.window.app import main as app_main

    return app_main(experiment, session, loaded)


if __name__ == "__main__":
    sys.exit(main())
