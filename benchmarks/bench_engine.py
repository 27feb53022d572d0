"""Engine benchmark: epochs/s of the real run loop against the tutorial-style loop.

Run:  make bench   (or .venv/bin/python benchmarks/bench_engine.py [--rounds N])

Each round measures the baseline (a per-sample loop written as in the tutorial seed,
``tutorial_loop.py``) and every engine case back to back, so ratios compare code under
the same machine load; the script prints medians over the rounds.  Targets (issue 2):
single run >= 40x the baseline, 1,000 starts at once >= 500x in trajectory-epochs/s,
a 200x200 surface of the book slice under 30 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tutorial_loop import TutorialNetwork

from bpgui_engine import jit
from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.model.data import Dataset, function_dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.objective import Objective
from bpgui_engine.model.presets import get_preset
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.batch import train_batch
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria, Trainer

BOOK = get_preset("book-1-2-1")


def tutorial_rate(epochs: int = 300) -> float:
    """Epochs/s of the tutorial-style loop on the book slice (W1[1,1], W2[1,1] free)."""
    net = TutorialNetwork([-4.0, 10.0], [-5.0, 5.0], [-4.0, 1.0], [-1.0], lr=1.0)
    mask = [np.array([[1.0], [0.0]]), np.zeros((2, 1)), np.array([[1.0, 0.0]]), np.zeros((1, 1))]
    P, T = BOOK.data.P[0], BOOK.data.T[0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.epoch(P, T, mask)
    return epochs / (time.perf_counter() - t0)


def run_loop_rate(obj: Objective, x0: np.ndarray, epochs: int) -> float:
    """Epochs/s of Trainer.run() with every record consumed."""
    tr = Trainer(obj, make_optimizer("sd", lr=1.0), x0, StopCriteria(epochs=epochs))
    t0 = time.perf_counter()
    n = 0
    for _ in tr.run():
        n += 1
    return (n - 1) / (time.perf_counter() - t0)


def perf_rate(obj: Objective, x0: np.ndarray, epochs: int) -> float:
    """Epochs/s of Trainer.run() with steepest descent (lr 0.5), any performance index."""
    tr = Trainer(obj, make_optimizer("sd", lr=0.5), x0, StopCriteria(epochs=epochs))
    t0 = time.perf_counter()
    n = 0
    for _ in tr.run():
        n += 1
    return (n - 1) / (time.perf_counter() - t0)


def fast_rate(obj: Objective, x0: np.ndarray, epochs: int) -> float:
    """Epochs/s of the compiled run loop (FastTrainer, numba), steepest descent lr 0.5."""
    tr = FastTrainer(obj, make_optimizer("sd", lr=0.5), x0, StopCriteria(epochs=epochs))
    t0 = time.perf_counter()
    for _ in tr.blocks():
        pass
    return epochs / (time.perf_counter() - t0)


def batch_rate(obj: Objective, starts: int, epochs: int) -> float:
    X0 = np.random.default_rng(0).uniform(-5, 15, (starts, obj.n_free))
    t0 = time.perf_counter()
    res = train_batch(obj, X0, "sd", epochs=epochs, stride=epochs)
    dt = time.perf_counter() - t0
    return int(res.epochs.sum()) / dt


def surface_ms(res: int = 200) -> float:
    t0 = time.perf_counter()
    evaluate_surface(
        BOOK.spec, BOOK.data, BOOK.theta, "W1[1,1]", (-5, 15), "W2[1,1]", (-5, 15), res
    )
    return (time.perf_counter() - t0) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    book2 = Objective(BOOK.spec, BOOK.data, BOOK.theta, BOOK.free)
    book7 = Objective(BOOK.spec, BOOK.data, BOOK.theta)
    spec110 = NetworkSpec(1, (10, 1), ("logsig", "purelin"))
    d100 = function_dataset("1 + sin(pi/4*p)", -2, 2, 100)
    net110 = Objective(spec110, d100, np.random.default_rng(0).uniform(-1, 1, spec110.n_params))
    spec121 = NetworkSpec(1, (2, 1), ("logsig", "logsig"))
    d121 = function_dataset("0.5 + 0.4*sin(pi/4*p)", -2, 2, 21)
    th121 = np.random.default_rng(0).uniform(-1, 1, spec121.n_params)
    sse121 = Objective(spec121, d121, th121, None, "sse")
    ce121 = Objective(spec121, d121, th121, None, "ce")
    x121 = sse121.x0()
    # a softmax output: the same inputs, two one-hot classes (p > 0 and p <= 0)
    spec122 = NetworkSpec(1, (2, 2), ("logsig", "softmax"))
    cls = (d121.P[0] > 0).astype(float)
    d122 = Dataset(d121.P, np.vstack([cls, 1.0 - cls]))
    th122 = np.random.default_rng(0).uniform(-1, 1, spec122.n_params)
    sse122 = Objective(spec122, d122, th122, None, "sse")
    ce122 = Objective(spec122, d122, th122, None, "ce")
    x122 = sse122.x0()
    compiled = jit.kernels(True) is not None
    cases = {
        "sd, book slice (2 free)": lambda: run_loop_rate(book2, np.array([-4.0, -4.0]), 20_000),
        "sd, book, all 7 free": lambda: run_loop_rate(book7, BOOK.theta - 3.0, 20_000),
        "sd, 1-10-1 on 100 points": lambda: run_loop_rate(net110, net110.x0(), 10_000),
        "sd, 1,000 starts at once": lambda: batch_rate(book2, 1000, 100),
        # issue 10 #12: the same 1-2-1 logsig/logsig network and data, SSE against CE
        "sd, 1-2-1 logsig out, SSE": lambda: perf_rate(sse121, x121, 20_000),
        "sd, 1-2-1 logsig out, CE": lambda: perf_rate(ce121, x121, 20_000),
        "sd, 1-2-2 softmax out, SSE": lambda: perf_rate(sse122, x122, 20_000),
        "sd, 1-2-2 softmax out, CE": lambda: perf_rate(ce122, x122, 20_000),
    }
    if compiled:  # the same four on the compiled kernel (the app's path for sd)
        cases["numba: 1-2-1 logsig out, SSE"] = lambda: fast_rate(sse121, x121, 400_000)
        cases["numba: 1-2-1 logsig out, CE"] = lambda: fast_rate(ce121, x121, 400_000)
        cases["numba: 1-2-2 softmax out, SSE"] = lambda: fast_rate(sse122, x122, 400_000)
        cases["numba: 1-2-2 softmax out, CE"] = lambda: fast_rate(ce122, x122, 400_000)
    res: dict[str, list[float]] = {k: [] for k in ("tutorial", *cases, "surface")}
    ratios: dict[str, list[float]] = {k: [] for k in cases}
    with np.errstate(all="ignore"):
        surface_ms(50)  # warm-up
        for r in range(args.rounds):
            base = tutorial_rate()
            res["tutorial"].append(base)
            for k, f in cases.items():
                v = f()
                res[k].append(v)
                ratios[k].append(v / base)
            res["surface"].append(min(surface_ms() for _ in range(3)))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    med = statistics.median
    print(f"bpgui engine benchmark, median of {args.rounds} rounds (numpy {np.__version__})")
    print(f"{'case':34s} {'epochs/s':>14s} {'x tutorial':>11s}")
    print(f"{'tutorial per-sample loop (base)':34s} {med(res['tutorial']):14,.0f} {1.0:11.1f}")
    for k in cases:
        unit = " traj-ep/s" if "starts" in k else ""
        print(f"{k:34s} {med(res[k]):14,.0f} {med(ratios[k]):11.1f}{unit}")
    print(f"{'surface 200x200, book slice':34s} {med(res['surface']):11.1f} ms")
    print("CE/SSE time per epoch on the same network (median of the rounds' ratios):")
    for pre in ("sd, ", "numba: "):
        for net in ("1-2-1 logsig out", "1-2-2 softmax out"):
            sse, ce = res.get(f"{pre}{net}, SSE"), res.get(f"{pre}{net}, CE")
            if sse and ce:
                ratio = med([a / b for a, b in zip(sse, ce, strict=True)])
                print(f"  {pre + net:32s} {ratio:14.2f}x")
    print()
    print("targets: single run >= 40x, 1,000 starts >= 500x, surface < 30 ms, CE/SSE <= 2x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
