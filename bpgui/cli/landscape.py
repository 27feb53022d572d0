"""``bpgui landscape``: the performance index over a plane through a point — two
filter-normalized random directions, or the PCA plane of a run's trajectory — or along the
line from a run's start to its end, written as CSV (and a PNG).  No Qt.

    bpgui landscape SESSION|--preset P [--free …] [--start …] --directions random|pca|line
        [--seed S] [--resolution N] [--span A] --out grid.csv [--plot file.png]

CSV columns: the two direction coordinates, then the performance index (``t`` and the
index for ``line``); the grid includes the centre, coordinate (0, 0): the point itself
(random: the session's current point or ``--start``; pca: the run's final point).
"""

from __future__ import annotations

import argparse
import io

import numpy as np

from bpgui.cli.point import session_or_preset
from bpgui_engine.analysis.landscape import (
    interpolate,
    landscape,
    pca_directions,
    random_directions,
)
from bpgui_engine.model.presets import PRESETS
from bpgui_engine.session.export import atomic_write_text

__all__ = ["add_parsers", "landscape_command"]


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add ``landscape`` to ``subparsers`` (it sets ``func``)."""
    c = subparsers.add_parser(
        "landscape",
        help="the performance index over random or PCA directions, or along a run's line",
        description="Li et al. (2018): the performance index over two filter-normalized "
        "random directions around a point, or over the plane of a run's first two "
        "principal components around its end; Goodfellow et al. (2015): along the line "
        "from a run's start to its end.",
    )
    c.add_argument("session", nargs="?", metavar="SESSION", help="a .bpgui session file")
    c.add_argument("--preset", default=None, help=f"problem: {', '.join(PRESETS)}")
    c.add_argument("--free", nargs="+", metavar="LABEL", help="the free parameters")
    c.add_argument("--start", nargs="+", type=float, metavar="VALUE", help="in --free order")
    c.add_argument("--directions", choices=("random", "pca", "line"), default="random")
    c.add_argument("--seed", type=int, default=0, help="the random directions' seed")
    c.add_argument("--resolution", type=int, default=51, help="points per axis (odd)")
    c.add_argument("--span", type=float, default=1.0, help="each coordinate in [-A, A]")
    c.add_argument("--out", required=True, metavar="FILE.csv", help="the grid as CSV")
    c.add_argument("--plot", metavar="FILE.png", help="the grid as a picture (log colour)")
    c.set_defaults(func=landscape_command)


def landscape_command(args: argparse.Namespace) -> int:
    setup, x, h = session_or_preset(args, ("preset", "free", "start"))
    obj = setup.objective()
    name = setup.index_name
    if args.directions == "line":
        if h is None or len(h) < 2:
            raise ValueError("--directions line: needs a session with a run (its start and end)")
        t, F = interpolate(obj, h.x[0], h.x[-1], points=args.resolution)
        atomic_write_text(args.out, _csv(["t", name], [t, F]))
        f0, f1 = F[np.isclose(t, 0)][0], F[np.isclose(t, 1)][0]
        print(f"wrote {args.out} ({len(t)} points from the run's start (t = 0) to its end "
              f"(t = 1): {name} {f0:.6g} -> {f1:.6g})")  # fmt: skip
        return 0
    if args.directions == "pca":
        if h is None or len(h) < 3:
            raise ValueError("--directions pca: needs a session with a run of 3 or more epochs")
        rows = np.unique(np.linspace(0, len(h) - 1, min(len(h), 2000)).astype(int))
        plane = pca_directions(h.x[rows])
        x, d1, d2 = h.x[-1], plane.d1, plane.d2
        what = f"PCA plane ({100 * plane.explained[0]:.1f} % and {100 * plane.explained[1]:.1f} %)"
    else:
        d1, d2 = random_directions(obj, x, seed=args.seed)
        what = f"filter-normalized random directions (seed {args.seed})"
    ls = landscape(obj, x, d1, d2, span=args.span, resolution=args.resolution)
    A, B = np.meshgrid(ls.a, ls.b, indexing="ij")
    atomic_write_text(args.out, _csv(["alpha", "beta", name], [A.ravel(), B.ravel(),
                                                                 ls.values.ravel()]))  # fmt: skip
    if args.plot:
        _png(args.plot, ls.values)
    n = len(ls.a)
    print(f"wrote {args.out} ({n} x {n}, span {args.span:g}, {what}; centre {name} "
          f"{ls.values[n // 2, n // 2]:.6g})")  # fmt: skip
    return 0


def _csv(header: list[str], columns: list[np.ndarray]) -> str:
    lines = [",".join(header)]
    lines += [",".join(repr(float(v)) for v in row) for row in zip(*columns, strict=True)]
    return "\n".join(lines) + "\n"


def _png(path: str, values: np.ndarray) -> None:
    """log10 of the grid in viridis, 4 pixels a point, the centre marked."""
    from PIL import Image, ImageDraw

    from bpgui.export.animation_draw import viridis
    from bpgui_engine.safe_write import landed, replacing

    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log10(np.maximum(values, 1e-300))
    ok = v[np.isfinite(v)]
    lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (0.0, 1.0)
    rgb = viridis((np.where(np.isfinite(v), v, hi) - lo) / max(hi - lo, 1e-12))
    img = Image.fromarray(np.ascontiguousarray(np.transpose(rgb, (1, 0, 2))[::-1]), "RGB")
    img = img.resize((4 * img.width, 4 * img.height), Image.Resampling.NEAREST)
    c = img.width // 2
    ImageDraw.Draw(img).ellipse([c - 5, c - 5, c + 5, c + 5], outline=(255, 255, 255), width=2)
    buf = io.BytesIO()
    img.save(buf, "PNG")  # encoded in memory: what lands is checked against it
    data = buf.getvalue()
    with replacing(path, suffix=".png") as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
        landed(tmp, len(data), path)
