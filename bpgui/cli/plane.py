"""``bpgui train``'s flags for a data set in the plane (``--dataset``, ``--layers``,
``--transfer``, ``--output``, ``--features``, ``--l2``, ``--l1``) and what the result
reports about it: the loss and accuracy of the training and test sets."""

from __future__ import annotations

import argparse
import math

from bpgui_engine.analysis.classify import metrics
from bpgui_engine.model.features import FEATURES
from bpgui_engine.model.problem import plane_setup
from bpgui_engine.model.toy import TOYS

#: the flags that shape a data set in the plane's network (they need --dataset)
PLANE_FLAGS = ("layers", "transfer", "output", "features")


class PlaneFlagError(ValueError):
    """A flag given without the one it needs (printed as one line)."""


def _layers(text: str) -> tuple[int, ...]:
    """``--layers 8,8``: hidden layer sizes (``0``: no hidden layer)."""
    try:
        sizes = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 8,8, got {text!r}") from None
    if sizes == (0,):
        return ()
    if any(not 1 <= s <= 10_000 for s in sizes):
        raise argparse.ArgumentTypeError(f"each size must be in [1, 10000], got {text!r}")
    return sizes


def add_plane_flags(t: argparse.ArgumentParser) -> None:
    toys = ", ".join(TOYS)
    t.add_argument(
        "--dataset",
        default=None,
        metavar="NAME[:KEY=VALUE,...]",
        help=f"a data set in the plane instead of a preset: {toys}; keys noise (default 0), "
        "samples (500), test (the test share, 0.5) and seed (0), e.g. "
        "spiral:noise=0.1,samples=400,test=0.5,seed=1",
    )
    t.add_argument(
        "--layers",
        type=_layers,
        default=None,
        metavar="S1,S2,...",
        help="with --dataset: the hidden layers' sizes (default 8; 0 for none)",
    )
    t.add_argument(
        "--transfer",
        default=None,
        choices=("tansig", "logsig", "poslin", "purelin"),
        help="with --dataset: the hidden layers' transfer function (default tansig)",
    )
    t.add_argument(
        "--output",
        default=None,
        choices=("logsig", "softmax", "purelin", "tansig"),
        help="with --dataset: the output layer (default logsig for two classes, softmax for "
        "more: one-hot targets, purelin for regression)",
    )
    t.add_argument(
        "--features",
        default=None,
        metavar="F1,F2,...",
        help=f"with --dataset: the network's inputs, from {', '.join(FEATURES)} (default x1,x2)",
    )
    t.add_argument(
        "--l2", type=float, default=None, help="L2 weight penalty rate (weight decay; default 0)"
    )
    t.add_argument("--l1", type=float, default=None, help="L1 weight penalty rate (default 0)")


def plane_base(args: argparse.Namespace):
    """The setup ``--dataset`` and its network flags describe (None without it)."""
    if args.dataset is None:
        given = [f"--{k}" for k in PLANE_FLAGS if getattr(args, k) is not None]
        if given:
            raise PlaneFlagError(f"{given[0]}: needs --dataset (a preset brings its own network)")
        return None
    if args.preset is not None:
        raise PlaneFlagError("--dataset: not with --preset (choose one problem)")
    feats = ("x1", "x2")
    if args.features is not None:
        feats = tuple(f.strip() for f in args.features.split(",") if f.strip())
    return plane_setup(
        args.dataset,
        layers=(8,) if args.layers is None else args.layers,
        transfer=args.transfer or "tansig",
        output=args.output,
        features=feats,
        performance=args.performance,
        l2=args.l2 or 0.0,
        l1=args.l1 or 0.0,
        seed=0 if args.seed is None else args.seed,
    )


def class_report(setup, x) -> dict:
    """The data set, the penalties, and the loss (the plain index) and accuracy of the
    training and test sets (null where there is no test set or no classes)."""
    r = setup.data
    m = metrics(setup, x).row()
    prep = r.prepare()
    dataset = None
    if r.kind == "toy":
        dataset = (
            f"{r.toy}:noise={r.noise:g},samples={r.samples},test={r.test:g},seed={r.noise_seed}"
        )
    return {
        "dataset": dataset,
        "features": list(r.features) or None,
        "classes": prep.classes or None,
        "l2": setup.l2,
        "l1": setup.l1,
        "train_loss": _opt(m["train_loss"]),
        "test_loss": _opt(m["test_loss"]),
        "train_accuracy": _opt(m["train_acc"]),
        "test_accuracy": _opt(m["test_acc"]),
    }


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else _num(v)


def _num(v: float) -> float | str:
    v = float(v)
    return v if math.isfinite(v) else str(v)
