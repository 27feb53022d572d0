"""``bpgui spectrum``: the Hessian's extreme eigenvalues, trace and eigenvalue density at a
point, from Hessian-vector products (:mod:`bpgui_engine.analysis.spectrum`), headless.  No
Qt.

    bpgui spectrum SESSION|--preset P [--free …] [--start …] [--top K] [--bottom K]
        [--trace] [--density] [--json]

The eigenvalues are those of the Hessian of the performance index the session trains (the
SSE for the book; with its weight penalties), over its free parameters, at the session's
current point (``--start`` for a preset).  ``--json`` prints ``{"top": [...] descending,
"bottom": [...] ascending, "trace": t, "hvps": n, "performance_index": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from bpgui.cli.point import session_or_preset
from bpgui_engine.analysis.spectrum import HessianOperator, hutchinson_trace, lanczos, slq_density
from bpgui_engine.model.presets import PRESETS

__all__ = ["add_parsers", "spectrum_command"]

FLAGS = ("preset", "free", "start", "performance")  # a SESSION brings its own


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add ``spectrum`` to ``subparsers`` (it sets ``func``)."""
    c = subparsers.add_parser(
        "spectrum",
        help="the Hessian's top and bottom eigenvalues, trace and density at a point",
        description="Lanczos on Hessian-vector products (never the whole matrix): the K "
        "largest and smallest eigenvalues of the Hessian of the performance index trained, "
        "over the free parameters, at a session's current point or a preset's --start; "
        "Hutchinson's trace estimate; the eigenvalue density by stochastic Lanczos "
        "quadrature.",
    )
    c.add_argument("session", nargs="?", metavar="SESSION", help="a .bpgui session file")
    c.add_argument("--preset", default=None, help=f"problem: {', '.join(PRESETS)}")
    c.add_argument("--free", nargs="+", metavar="LABEL", help="the free parameters")
    c.add_argument("--start", nargs="+", type=float, metavar="VALUE", help="in --free order")
    c.add_argument("--performance", default=None, choices=("sse", "mse", "ce"))
    c.add_argument("--top", type=int, default=3, help="largest eigenvalues (default 3)")
    c.add_argument("--bottom", type=int, default=None, help="smallest (default: --top's K)")
    c.add_argument("--trace", action="store_true", help="Hutchinson's trace estimate")
    c.add_argument("--density", action="store_true", help="the eigenvalue density (SLQ)")
    c.add_argument("--seed", type=int, default=0, help="random vectors' seed (default 0)")
    c.add_argument(
        "--along",
        type=int,
        default=None,
        metavar="K",
        help="a SESSION's run: the sharpness (lambda_max of the per-sample mean index's "
        "Hessian) at K epochs spread over the run, beside steepest descent's bound 2/lr",
    )
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=spectrum_command)


def _along(args: argparse.Namespace) -> int:
    """The sharpness along a session's run (the edge of stability, Cohen et al. 2021)."""
    from bpgui_engine.analysis.spectrum import sharpness
    from bpgui_engine.session import load_session

    if args.session is None:
        raise ValueError("--along: needs a SESSION with a run")
    s = load_session(args.session)
    h = s.history
    if h is None or len(h) < 2:
        raise ValueError("--along: the session has no run history")
    if not 1 <= args.along <= 10_000:
        raise ValueError(f"--along: K must be in [1, 10000], got {args.along}")
    obj = s.setup.objective()
    rows = np.unique(np.linspace(0, len(h) - 1, args.along).astype(int))
    lr = s.setup.hyper.get("lr")
    bound = 2.0 / lr if s.setup.optimizer in ("sd", "sgd") and lr else None
    pts = [{"epoch": int(h.column("epoch")[r]), "performance": float(h.column("performance")[r]),
            "sharpness": sharpness(obj, h.x[r], seed=args.seed)} for r in rows]  # fmt: skip
    out = {"performance_index": s.setup.index_name, "lr_scale": obj.lr_scale,
           "stability_bound": bound, "along": pts}  # fmt: skip
    if args.json:
        print(json.dumps(out))
        return 0
    bound_text = f"; steepest descent is stable below 2/lr = {bound:.6g}" if bound else ""
    name = out["performance_index"]
    print(f"sharpness (lambda_max of the per-sample mean {name}'s Hessian){bound_text}")
    for p in pts:
        print(f"  epoch {p['epoch']:>10,}  {p['performance']:.6g}  sharpness {p['sharpness']:.6g}")
    return 0


def spectrum_command(args: argparse.Namespace) -> int:
    if args.along is not None:
        return _along(args)
    top = int(args.top)
    bottom = top if args.bottom is None else int(args.bottom)
    if top < 0 or bottom < 0 or top + bottom == 0:
        raise ValueError("--top/--bottom: ask for at least one eigenvalue (K >= 0)")
    setup, x, _h = session_or_preset(args, FLAGS)
    obj = setup.objective()
    op = HessianOperator(obj, x)
    out: dict = {"performance_index": setup.index_name, "n_free": obj.n_free}
    notes = []
    for key, k in (("top", top), ("bottom", bottom)):
        if not k:
            out[key] = []
            continue
        sp = lanczos(op, k=k, which=key, seed=args.seed)
        vals = sp.values[::-1] if key == "top" else sp.values
        out[key] = [float(v) for v in vals]
        out[f"{key}_residuals"] = [float(r) for r in (sp.residuals[::-1] if key == "top"
                                                      else sp.residuals)]  # fmt: skip
        if not sp.converged:
            notes.append(f"Lanczos for the {key} {k} did not converge (residuals in the JSON)")
    if args.trace:
        t, se = hutchinson_trace(op, samples=100, seed=args.seed)
        out["trace"], out["trace_stderr"] = t, se
    if args.density:
        nodes, w = slq_density(op, steps=min(obj.n_free, 40), runs=4, seed=args.seed)
        order = np.argsort(nodes)
        out["density"] = {"nodes": nodes[order].tolist(), "weights": w[order].tolist()}
    out["hvps"] = op.count
    if args.json:
        print(json.dumps(out))
    else:
        name = out["performance_index"]
        print(f"Hessian of {name} over {obj.n_free} free parameter(s), {op.count} products:")
        if out["top"]:
            print("  top:    " + ", ".join(f"{v:.6g}" for v in out["top"]))
        if out["bottom"]:
            print("  bottom: " + ", ".join(f"{v:.6g}" for v in out["bottom"]))
        if "trace" in out:
            print(f"  trace:  {out['trace']:.6g} ± {out['trace_stderr']:.2g}")
    for n in notes:
        print(f"bpgui: {n}", file=sys.stderr)
    return 0
