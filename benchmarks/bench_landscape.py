"""Landscapes and spectra of any network (issue 22): how long a picture takes.

1. A 51 x 51 filter-normalized random-direction landscape at three sizes — the book's
   1-2-1 (7 parameters, 21 samples), a playground net 2-8-8-1 (105 parameters, 500
   samples) and 2-50-50-1 (2,751 parameters, 1,000 samples; target <= 2 s) — plus a
   2-100-100-1 net (10,501 parameters, 1,000 samples; target <= 10 s): the landscape as
   bpgui computes it (float32 hidden layers above 500 parameters, compiled transfer
   functions, cache-sized batches) against the plain NumPy float64 batched forward pass
   (the baseline, the same run), and the progressive first picture (13 x 13 of the 51 x
   51 lattice; target <= 0.3 s).  Medians of ``--repeat`` runs, wall time.
2. The top eigenvalue by Lanczos on Hessian-vector products (how many products, how long)
   at the same sizes.

    python benchmarks/bench_landscape.py [--repeat 3] [--markdown]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bpgui_engine.analysis.landscape as landscape_module  # noqa: E402
from bpgui_engine import jit  # noqa: E402
from bpgui_engine.analysis.landscape import landscape, progressive, random_directions  # noqa: E402
from bpgui_engine.analysis.spectrum import HessianOperator, lanczos  # noqa: E402
from bpgui_engine.model.problem import plane_setup  # noqa: E402
from bpgui_engine.model.setup import Setup  # noqa: E402


class plain_numpy:
    """No compiled transfer functions inside (the baseline)."""

    def __enter__(self):
        self._saved = jit.activations_module
        landscape_module.jit_activations = lambda: None

    def __exit__(self, *exc):
        landscape_module.jit_activations = self._saved


def nets():
    book = Setup.from_preset("book-1-2-1")
    book = book.replace(free=tuple(book.spec.labels))  # all seven parameters
    yield "book 1-2-1", book
    yield "2-8-8-1 (playground)", plane_setup("spiral:samples=1000", layers=(8, 8), seed=1)
    yield "2-50-50-1", plane_setup("moons:samples=2000", layers=(50, 50), seed=1)
    yield "2-100-100-1", plane_setup("moons:samples=2000", layers=(100, 100), seed=1)


def median_s(fns, repeat: int) -> list[float]:
    """Medians of ``repeat`` runs of each function, interleaved (a noisy machine slows
    them alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn in zip(times, fns, strict=True):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows = []
    for name, s in nets():
        obj = s.objective()
        x = s.start()
        d1, d2 = random_directions(obj, x, seed=0)
        landscape(obj, x, d1, d2, 1.0, 5)  # compile / load the kernels
        q = obj.data.n_samples * max(obj.spec.sizes)

        def ours(o=obj, x=x, d1=d1, d2=d2):
            landscape(o, x, d1, d2, 1.0, 51)

        def base(o=obj, x=x, d1=d1, d2=d2, q=q):  # float64, NumPy's tanh, 4M activations a batch
            with plain_numpy():
                landscape(o, x, d1, d2, 1.0, 51, precision="float64",
                          chunk=max(1, min(256, 4_000_000 // q)))  # fmt: skip

        def first(o=obj, x=x, d1=d1, d2=d2):
            next(progressive(o, x, d1, d2, 1.0, 51))

        ours, base, first_s = median_s((ours, base, first), args.repeat)
        op = HessianOperator(obj, x)
        t0 = time.perf_counter()
        spec = lanczos(op, k=1, which="top", tol=1e-8, max_hvps=300)
        lz = time.perf_counter() - t0
        rows.append((name, obj.n_free, obj.data.n_samples, ours, base, first_s,
                     spec.values[0], op.count, lz))  # fmt: skip
        print(f"{name}: {obj.n_free} parameters, landscape {ours:.3f} s (plain NumPy float64 "
              f"{base:.3f} s, x{base / ours:.1f}), first picture {first_s:.3f} s; lambda_max "
              f"{spec.values[0]:.6g} in {op.count} HVPs, {lz:.2f} s", flush=True)  # fmt: skip
    if args.markdown:
        print(
            "\n| network | parameters | samples | 51x51 landscape | plain NumPy float64 | "
            "speed-up | first picture (13x13) | lambda_max HVPs | Lanczos time |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name, n, q, ours, base, first_s, _lam, hv, lz in rows:
            print(f"| {name} | {n:,} | {q:,} | {ours:.2f} s | {base:.2f} s | x{base / ours:.1f} "
                  f"| {first_s * 1000:.0f} ms | {hv} | {lz:.2f} s |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
