"""Responsiveness with every kind of work at once (issue 19): a 100x100 basin map, a
hyperparameter sweep and a training run going together, while a 10 ms timer on the GUI
thread records how late it fires.

Run:  make bench-responsive   (or QT_QPA_PLATFORM=offscreen .venv/bin/python
benchmarks/bench_responsive.py [--rounds 3] [--seconds 8] [--speed default|max])

The run is trajectory b (it never converges) at the speed slider's default, or as fast as
possible with ``--speed max`` (then painting alone keeps the GUI thread busy most of the
time on a 2-core machine).

Three arrangements, measured back to back in each round (ratios within a round compare
them under the same machine load):

- ``service``: the window as it is: the map and the sweep run in the compute service's
  processes, the run in the engine process.
- ``threads``: the old arrangement as a baseline: the same map and sweep jobs
  (:data:`bpgui_engine.jobs.JOBS`) iterated on threads of the GUI process, as the window
  did before issue 19; the run in the engine process.
- ``run only``: the training run alone (what painting costs by itself).

Each reports the timer's gaps (median, p99, max, in ms), the frames drawn per second, how
fast the map and the sweep advanced (cells and runs per second) and
the window process's CPU seconds per second (robust to other load on the machine: what
the window itself spends; with ``threads`` it includes the computing threads).
Target: p99 <= 50 ms for ``service``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


SPEED = "default"  # the training run's speed: "default" (the slider's start) or "max"
SPEED_DEFAULT = 0  # set from the window at start


def _wait(cond, seconds: float) -> bool:
    from PySide6.QtTest import QTest

    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        QTest.qWait(20)
    return cond()


def _requests(win):
    """A 100x100 map and a 30x30 sweep that last the whole measurement: steepest descent
    at 30,000 epochs a cell (the map pane's suggestion for crossing the flat regions) and
    the sweep pane's defaults at 20,000 epochs a run."""
    win.tools["maps"].show_basins()
    bp = win.tools["maps"].basins_pane
    bp.set_setup(win.setup)
    bp.resolution.setValue(100)
    bp.optimizer.setCurrentIndex(bp.optimizer.findData("sd"))
    bp.epochs.setText("30000")
    job = bp.make_job()
    basins = {"setup": job.setup, "options": job.options, "address": None}
    win.tools["maps"].show_sweep()
    sp = win.tools["maps"].sweep_pane
    sp.set_setup(win.setup, np.array(win.runs.default_start(), float))
    sp.epochs.setText("20000")
    sweep = {**sp.make_job().request, "address": None}
    return basins, sweep


def one(win, mode: str, seconds: float) -> dict:
    from PySide6.QtCore import QTimer

    from bpgui_engine.jobs import JOBS

    basins, sweep = _requests(win)
    stop = threading.Event()
    threads = []
    last: dict[str, object] = {}
    if mode == "service":  # as the window starts them (its panes' Start)
        assert win.tools["maps"].basins_pane.start() and win.tools["maps"].sweep_pane.start()
    elif mode == "threads":
        for kind, req in (("basins", basins), ("sweep", sweep)):

            def work(kind=kind, req=req):
                for part in JOBS[kind](req, stop):
                    last[kind] = part

            t = threading.Thread(target=work, daemon=True)
            t.start()
            threads.append(t)
    if SPEED == "max":
        win.speed.setValue(win.speed.maximum())
    win.load_experiment("trajectory-b", run=False)  # never converges: runs the whole time
    if SPEED != "max":
        win.speed.setValue(SPEED_DEFAULT)
    win.runs.start_new_run(win.start_x)
    _wait(lambda: win.controller.state == "running", 30)
    stamps: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    frames0 = win.runs.frames_drawn
    timer.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    _wait(lambda: False, seconds)
    elapsed = time.perf_counter() - t0
    cpu = (time.process_time() - cpu0) / elapsed
    if mode == "service":
        maps = win.tools["maps"]
        last = {"basins": maps.basins_pane._last, "sweep": maps.sweep_pane._last}
    cells = int((last["basins"].stop >= 0).sum()) if last.get("basins") is not None else 0
    sweep = last.get("sweep")
    runs = int((sweep.stop >= 0).sum()) if sweep is not None else 0
    timer.stop()
    fps = (win.runs.frames_drawn - frames0) / elapsed
    win.controller.stop()
    _wait(lambda: win.controller.state == "idle", 30)
    stop.set()
    for p in (win.tools["maps"].basins_pane, win.tools["maps"].sweep_pane):
        p.runner.drop()
    for t in threads:
        t.join(120)
    _wait(lambda: not win.jobs.busy, 120)
    gaps = np.diff(stamps) * 1000
    return {
        "median": float(np.median(gaps)),
        "p99": float(np.percentile(gaps, 99)),
        "max": float(gaps.max()),
        "fps": fps,
        "cpu": cpu,
        "cells": cells / elapsed,
        "runs": runs / elapsed,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument(
        "--speed",
        choices=("default", "max"),
        default="default",
        help="the run's speed: the slider's default, or as fast as possible",
    )
    args = ap.parse_args()
    global SPEED, SPEED_DEFAULT
    SPEED = args.speed
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    from bpgui.window.main import MainWindow

    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    _wait(lambda: win.plots.surface is not None, 30)
    SPEED_DEFAULT = win.speed.value()
    results: dict[str, list[dict]] = {"service": [], "threads": [], "run only": []}
    for r in range(args.rounds):
        for mode in results:
            res = one(win, mode, args.seconds)
            results[mode].append(res)
            print(f"round {r + 1} {mode:9s} timer median {res['median']:5.1f} ms  "
                  f"p99 {res['p99']:6.1f} ms  max {res['max']:6.1f} ms  "
                  f"{res['fps']:5.1f} frames/s  window CPU {res['cpu']:4.2f} s/s  "
                  f"map {res['cells']:6.0f} cells/s  sweep {res['runs']:5.1f} runs/s",
                  flush=True)  # fmt: skip
    print("\nmedians over the rounds:")
    for mode, rs in results.items():
        p99 = statistics.median(x["p99"] for x in rs)
        mx = statistics.median(x["max"] for x in rs)
        fps = statistics.median(x["fps"] for x in rs)
        cpu = statistics.median(x["cpu"] for x in rs)
        cells = statistics.median(x["cells"] for x in rs)
        runs = statistics.median(x["runs"] for x in rs)
        print(f"  {mode:9s} p99 {p99:6.1f} ms  max {mx:6.1f} ms  {fps:5.1f} frames/s  "
              f"window CPU {cpu:4.2f} s/s  map {cells:6.0f} cells/s  "
              f"sweep {runs:5.1f} runs/s")  # fmt: skip
    ratio = [
        t["p99"] / s["p99"] for s, t in zip(results["service"], results["threads"], strict=True)
    ]
    print(f"  threads/service p99 ratio per round: {', '.join(f'{x:.1f}' for x in ratio)}")
    win.document.modified = False
    win.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
