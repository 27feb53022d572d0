"""Compiled-kernel benchmark (issue 11): the numba path against the NumPy engine, same run.

Run:  .venv/bin/python benchmarks/bench_kernel.py [--rounds N] [--no-compile]

Each round measures every case on both kernels back to back, so the ratios compare code
under the same machine load; the script prints medians over the rounds.  Compile times are
measured in fresh interpreters: with an empty numba cache (``NUMBA_CACHE_DIR`` set to a new
directory) and again with that cache filled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bpgui_engine import jit  # noqa: E402
from bpgui_engine.analysis.surface import evaluate_surface  # noqa: E402
from bpgui_engine.model.data import function_dataset  # noqa: E402
from bpgui_engine.model.network import NetworkSpec  # noqa: E402
from bpgui_engine.model.objective import Objective  # noqa: E402
from bpgui_engine.model.presets import get_preset  # noqa: E402
from bpgui_engine.optim import make_optimizer  # noqa: E402
from bpgui_engine.train.batch import train_batch  # noqa: E402
from bpgui_engine.train.fast import FastTrainer, fast_train_batch  # noqa: E402
from bpgui_engine.train.fast_surface import fast_surface  # noqa: E402
from bpgui_engine.train.trainer import StopCriteria, Trainer  # noqa: E402

BOOK = get_preset("book-1-2-1")


def numpy_rate(obj, x0, epochs):
    tr = Trainer(obj, make_optimizer("sd", lr=1.0), x0, StopCriteria(epochs=epochs))
    t0 = time.perf_counter()
    n = sum(1 for _ in tr.run())
    return (n - 1) / (time.perf_counter() - t0)


def fast_rate(obj, x0, epochs):
    ft = FastTrainer(obj, make_optimizer("sd", lr=1.0), x0, StopCriteria(epochs=epochs))
    t0 = time.perf_counter()
    n = sum(len(b) for b in ft.blocks())
    return (n - 1) / (time.perf_counter() - t0)


def batch_rate(fn, obj, epochs, **kw):
    X0 = np.random.default_rng(0).uniform(-5, 15, (1000, obj.n_free))
    t0 = time.perf_counter()
    res = fn(obj, X0, "sd", epochs=epochs, stride=epochs, **kw)
    return int(res.epochs.sum()) / (time.perf_counter() - t0)


def surface_ms(fn):
    t0 = time.perf_counter()
    fn(BOOK.spec, BOOK.data, BOOK.theta, "W1[1,1]", (-5, 15), "W2[1,1]", (-5, 15), 200)
    return (time.perf_counter() - t0) * 1e3


def one_thread(fn):
    """``fn`` run with numba limited to one thread (the per-core rate, free of the other
    engineers' load on the second core)."""
    import numba

    def run(*a, **kw):
        n = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return fn(*a, **kw)
        finally:
            numba.set_num_threads(n)

    return run


def compile_seconds() -> tuple[list[float], list[float]]:
    """``[kernels, then the block kernel]`` seconds with a cold cache, then a warm one."""
    code = (
        "from bpgui_engine import jit; jit.kernels(); "
        "print(jit.compile_seconds(), jit.compile_seconds(block=True))"
    )
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d}
        out = []
        for _ in range(2):
            r = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
            )
            out.append([float(v) for v in r.stdout.strip().splitlines()[-1].split()])
    return out[0], out[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time runs")
    args = ap.parse_args()
    if jit.kernel_name() != "numba":
        print("numba kernel unavailable: nothing to compare")
        return 1

    book2 = Objective(BOOK.spec, BOOK.data, BOOK.theta, BOOK.free)
    book7 = Objective(BOOK.spec, BOOK.data, BOOK.theta)
    spec110 = NetworkSpec(1, (10, 1), ("logsig", "purelin"))
    d100 = function_dataset("1 + sin(pi/4*p)", -2, 2, 100)
    net110 = Objective(spec110, d100, np.random.default_rng(0).uniform(-1, 1, spec110.n_params))
    x2, x7 = np.array([-4.0, -4.0]), BOOK.theta - 3.0
    # (numpy case, compiled case, unit, target)
    cases = {
        "sd, book slice (2 free)": (
            lambda: numpy_rate(book2, x2, 20_000),
            lambda: fast_rate(book2, x2, 300_000),
            ">= 1,000,000 ep/s, >= 20x",
        ),
        "sd, book, all 7 free": (
            lambda: numpy_rate(book7, x7, 20_000),
            lambda: fast_rate(book7, x7, 200_000),
            ">= 500,000 ep/s",
        ),
        "sd, 1-10-1 on 100 points": (
            lambda: numpy_rate(net110, net110.x0(), 5_000),
            lambda: fast_rate(net110, net110.x0(), 50_000),
            ">= 100,000 ep/s",
        ),
        "sd, 1,000 starts (traj-ep/s)": (
            lambda: batch_rate(train_batch, book2, 100),
            lambda: batch_rate(fast_train_batch, book2, 2_000),
            ">= 5,000,000 traj-ep/s",
        ),
        "  the same, numba on 1 thread": (
            lambda: batch_rate(train_batch, book2, 100),
            lambda: batch_rate(one_thread(fast_train_batch), book2, 2_000),
            "(per core)",
        ),
        "  row kernel (block=False)": (
            lambda: batch_rate(train_batch, book2, 100),
            lambda: batch_rate(fast_train_batch, book2, 2_000, block=False),
            "(before: one row per iteration)",
        ),
        "  row kernel, 1 thread": (
            lambda: batch_rate(train_batch, book2, 100),
            lambda: batch_rate(one_thread(fast_train_batch), book2, 2_000, block=False),
            "(before, per core)",
        ),
    }
    res = {k: ([], []) for k in cases}
    surf = ([], [], [])
    with np.errstate(all="ignore"):
        surface_ms(evaluate_surface)
        surface_ms(fast_surface)
        for r in range(args.rounds):
            for k, (f_np, f_jit, _) in cases.items():
                res[k][0].append(f_np())
                res[k][1].append(f_jit())
            surf[0].append(min(surface_ms(evaluate_surface) for _ in range(3)))
            surf[1].append(min(surface_ms(fast_surface) for _ in range(3)))
            surf[2].append(min(surface_ms(one_thread(fast_surface)) for _ in range(3)))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    med = statistics.median
    import numba

    print(
        f"bpgui kernel benchmark, median of {args.rounds} rounds "
        f"(numpy {np.__version__}, numba {numba.__version__}, {numba.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"{'case':32s} {'numpy':>12s} {'numba':>12s} {'ratio':>7s}  target")
    for k, (_, _, target) in cases.items():
        ratios = [b / a for a, b in zip(*res[k], strict=True)]
        print(
            f"{k:32s} {med(res[k][0]):12,.0f} {med(res[k][1]):12,.0f} {med(ratios):7.1f}  {target}"
        )
    for name, j in (("surface 200x200, book slice", 1), ("  the same, numba on 1 thread", 2)):
        ratios = [a / b for a, b in zip(surf[0], surf[j], strict=True)]
        print(
            f"{name:32s} {med(surf[0]):9.1f} ms {med(surf[j]):9.1f} ms {med(ratios):7.1f}  "
            + ("<= 10 ms" if j == 1 else "")
        )
    if not args.no_compile:
        cold, warm = compile_seconds()
        print(
            f"first use (import + compile): cold cache {cold[0]:.1f} s, on-disk cache "
            f"{warm[0]:.2f} s; then the block kernel (batches wait for none of it): "
            f"cold {cold[1]:.1f} s, cached {warm[1]:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
