"""Basin maps, sweeps and races (issue 12): times against the issue's targets.

Run:  .venv/bin/python benchmarks/bench_maps.py [--rounds N]

* basin map: 100x100 starts x 2,000 epochs, steepest descent lr 1, the book's slice
  (W1[1,1], W2[1,1] in [-5, 15]); target <= 10 s; throughput in trajectory-epochs/s
  (epochs actually run, summed over the cells: cells that stop early count what they ran).
* sweep: 30x30 momentum lr (1..300, log) x gamma (0..0.95), 2,000 epochs each from
  (-4, -4); target <= 5 s.
* race: the seed's five methods from (-4, -4) up to 400,000 epochs, against the sum of the
  five separate headless runs (FastTrainer blocks, what ``bpgui train`` runs), measured
  back to back in each round; target >= 0.8x.

Medians over the rounds (each round after a warm-up that loads the compiled kernels).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bpgui_engine import jit  # noqa: E402
from bpgui_engine.maps.basins import basin_map  # noqa: E402
from bpgui_engine.maps.race import Race  # noqa: E402
from bpgui_engine.maps.race_presets import race_preset  # noqa: E402
from bpgui_engine.maps.sweep import SweepJob  # noqa: E402
from bpgui_engine.model.setup import Setup  # noqa: E402
from bpgui_engine.optim import OPTIMIZERS  # noqa: E402
from bpgui_engine.train.fast import FastTrainer  # noqa: E402
from bpgui_engine.train.trainer import StopCriteria  # noqa: E402

START = np.array([-4.0, -4.0])
RACE_EPOCHS = 400_000


def bench_basins() -> tuple[float, float]:
    s = Setup.from_preset("book-1-2-1", hyper={"lr": 1.0})
    t0 = time.perf_counter()
    m = basin_map(s, resolution=100, epochs=2000)
    dt = time.perf_counter() - t0
    return dt, float(m.epochs.sum()) / dt


def bench_sweep() -> tuple[float, float]:
    s = Setup.from_preset("book-1-2-1").with_start(START)
    job = SweepJob(s, "lr", (1.0, 300.0), "gamma", (0.0, 0.95), resolution=30,
                   optimizer="momentum", hyper={}, epochs=2000)  # fmt: skip
    t0 = time.perf_counter()
    for _ in job.chunks():
        pass
    dt = time.perf_counter() - t0
    return dt, float(job.result().epochs.sum()) / dt


def separate_runs(s: Setup) -> float:
    total = 0.0
    for e in race_preset():
        cls = OPTIMIZERS[e.optimizer]
        tr = FastTrainer(s.objective(), cls(cls.Hyper.from_dict(e.hyper)), START,
                         StopCriteria(epochs=RACE_EPOCHS))  # fmt: skip
        t0 = time.perf_counter()
        for _ in tr.blocks():
            pass
        total += time.perf_counter() - t0
    return total


def race_time(s: Setup, step: int) -> float:
    t0 = time.perf_counter()
    race = Race(s, race_preset(), START, epochs=RACE_EPOCHS)
    for _ in race.steps(step):
        pass
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"kernel {jit.kernel_name()}, {os.cpu_count()} cores, {args.rounds} rounds (medians)")
    s = Setup.from_preset("book-1-2-1")
    basin_map(s, resolution=4, epochs=10)  # warm-up
    res: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for k, v in zip(("basin s", "basin ep/s"), bench_basins(), strict=True):
            res.setdefault(k, []).append(v)
        for k, v in zip(("sweep s", "sweep ep/s"), bench_sweep(), strict=True):
            res.setdefault(k, []).append(v)
        sep = separate_runs(s)
        res.setdefault("separate s", []).append(sep)
        for step in (1_000, 20_000):
            t = race_time(s, step)
            res.setdefault(f"race s (step {step})", []).append(t)
            res.setdefault(f"race speed (step {step})", []).append(sep / t)
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"basin map 100x100 x 2,000 sd: {med['basin s']:.2f} s (target <= 10 s), "
          f"{med['basin ep/s'] / 1e6:.2f} M trajectory-epochs/s")  # fmt: skip
    print(f"sweep 30x30 momentum lr x gamma, 2,000 epochs: {med['sweep s']:.2f} s "
          f"(target <= 5 s), {med['sweep ep/s'] / 1e6:.2f} M epochs/s")  # fmt: skip
    print(f"5 separate runs: {med['separate s']:.3f} s")
    for step in (1_000, 20_000):
        t, speed = med[f"race s (step {step})"], med[f"race speed (step {step})"]
        print(
            f"race of 5, {step:,} epochs a step: {t:.3f} s, {speed:.2f}x the separate runs "
            "(target >= 0.8x)"
        )


if __name__ == "__main__":
    main()
