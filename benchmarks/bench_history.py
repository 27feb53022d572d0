"""Long runs in bounded memory (issue 24): the CLI under a memory limit, the speed of the
book slice with a thinning history, and the window left running.

Run:  make bench-history   (or .venv/bin/python benchmarks/bench_history.py [--part P])

* ``cli``: ``BPGUI_MEMORY_LIMIT=1G bpgui train --start -4 -4 --hyper lr=100 --epochs 1e9
  --time-limit 30 --save run.bpgui``: the peak resident memory of the process (its own
  rusage), the epochs its thinned history keeps; then the file reopened and continued
  for 1,000,000 epochs under the same limit, against one run that was never interrupted
  over the same epochs (the weights and the SSE compared bit for bit, their JSON
  numbers printed with ``repr``); then ``bpgui export --history``: its first and last
  epochs.
* ``speed``: trajectory b on the compiled kernel, its records going into no history, a
  history without a budget and a history with a small budget (thinning all the time),
  in the same process, medians of 3 rounds; the ratios against no history.
* ``window``: the app (offscreen) runs the book's problem at lr 100 from (-4, -4) (it
  never settles; trajectory b stops by itself at 6,063,793 epochs) at full speed with
  max epochs 1e12 for ``--minutes``; every 10 s the resident memory of the app and of its engine
  process and the frames drawn in those 10 s.

Targets: cli peak <= 1.1 GB and an exact continuation; the speed with thinning within
noise of a full history (>= 1.5 M epochs/s on an idle machine); the window's memory
flat once the budget is reached and >= 30 frames/s throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
BPGUI = [sys.executable, "-m", "bpgui"]


def run_child(args: list[str], env: dict) -> tuple[str, float]:
    """stdout and the peak resident memory (MB) of one child process (its own rusage)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode()
        out.seek(0)
        text = out.read().decode()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({p.returncode}): {err}")
    return text, usage.ru_maxrss / 1024


def part_cli(seconds: float = 30.0) -> None:
    env = {**os.environ, "BPGUI_MEMORY_LIMIT": "1G"}
    with tempfile.TemporaryDirectory() as d:
        run, cont, csv = (str(Path(d) / n) for n in ("run.bpgui", "cont.bpgui", "h.csv"))
        text, peak = run_child(
            [*BPGUI, "train", "--start", "-4", "-4", "--hyper", "lr=100", "--epochs",
             "1000000000", "--time-limit", str(seconds), "--save", run, "--json"],
            env,
        )  # fmt: skip
        a = json.loads(text)
        print(
            f"train {a['epochs']:,} epochs in {a['elapsed_s']:.1f} s "
            f"({a['epochs_per_s']:,.0f}/s): peak {peak:.0f} MB under BPGUI_MEMORY_LIMIT=1G; "
            f"file {os.path.getsize(run) / 1e6:.1f} MB; history {a['history']['rows']:,} "
            f"rows: {a['history']['kept']}"
        )
        more = 1_000_000
        text, peak2 = run_child(
            [*BPGUI, "train", run, "--epochs", str(more), "--save", cont, "--json"], env
        )
        b = json.loads(text)
        text, _ = run_child(
            [*BPGUI, "train", "--start", "-4", "-4", "--hyper", "lr=100", "--epochs",
             str(a["epochs"] + more), "--json"],
            env,
        )  # fmt: skip
        c = json.loads(text)
        same = b["params"] == c["params"] and b["sse"] == c["sse"] and b["epochs"] == c["epochs"]
        print(
            f"reopened and continued to epoch {b['epochs']:,}: peak {peak2:.0f} MB; "
            f"against one uninterrupted run: {'bit for bit the same' if same else 'DIFFERENT'} "
            f"(SSE {b['sse']!r} vs {c['sse']!r})"
        )
        run_child([*BPGUI, "export", cont, "--history", csv], env)
        with open(csv) as fh:
            lines = fh.readlines()
        first, last = lines[1].split(",")[0], lines[-1].split(",")[0]
        print(f"export --history: {len(lines) - 1:,} rows, epochs {first} to {last}")


def part_speed(epochs: int = 6_000_000, rounds: int = 3) -> None:
    from bpgui_engine.model.experiments import get_experiment
    from bpgui_engine.train.fast import FastTrainer
    from bpgui_engine.train.history import History
    from bpgui_engine.train.trainer import StopCriteria

    e = get_experiment("trajectory-b")
    setup = e.setup().replace(criteria=StopCriteria(epochs=epochs))
    budget = 1_000_000  # rows: thinning from the first sixth of the run on

    def once(kind: str) -> float:
        tr = FastTrainer(setup.objective(), setup.make_optimizer(), e.start, setup.criteria)
        n = len(setup.free)
        h = {"none": None, "full": History(n), "thinning": History(n, max_rows=budget)}[kind]
        t0 = time.process_time()
        for b in tr.blocks():
            if h is not None:
                h.extend(b.cols, b.x, b.stop)
        dt = time.process_time() - t0
        if kind == "thinning":
            assert h.kept is not None and len(h) <= budget
        return epochs / dt

    once("none")  # the kernels loaded
    res: dict[str, list[float]] = {"none": [], "full": [], "thinning": []}
    for _ in range(rounds):
        for k in res:
            res[k].append(once(k))
    base = statistics.median(res["none"])
    for k, v in res.items():
        m = statistics.median(v)
        print(f"{k:9s} {m / 1e6:5.2f} M epochs/s (CPU time), {m / base:.2f}x no history")


def part_window(minutes: float, budget: str | None) -> None:
    from bench_app import rss_mb  # (benchmarks/ is on the path when run as a script)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from bpgui.window.main import MainWindow
    from bpgui_engine.memory import history_budget, parse_size
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.train.trainer import StopCriteria

    QApplication.instance() or QApplication([])
    os.environ["BPGUI_CONFIG_DIR"] = tempfile.mkdtemp()
    win = MainWindow()
    win.resize(1600, 1000)
    win.show()
    c = win.controller
    c.history_setting = parse_size(budget) if budget else None
    print(f"history budget: {history_budget(c.history_setting)}")
    while c.engine_kernel is None:
        QApplication.processEvents()
        time.sleep(0.02)
    # trajectory b stops by itself after 6,063,793 epochs (its weights stop changing in
    # float64); the book's problem at lr 100 from (-4, -4) never settles
    setup = Setup.from_preset("book-1-2-1").replace(
        hyper={"lr": 100.0}, criteria=StopCriteria(epochs=10**12)
    )
    win.apply_setup(setup, problem_changed=True)
    win.start_x = np.array([-4.0, -4.0])
    loop = QEventLoop()
    t0 = time.perf_counter()
    last = [t0, win.runs.frames_drawn]
    rows = []

    def sample() -> None:
        now = time.perf_counter()
        fps = (win.runs.frames_drawn - last[0 + 1]) / (now - last[0])
        last[:] = [now, win.runs.frames_drawn]
        h = c.history
        rows.append((now - t0, c.epoch, len(h), rss_mb(os.getpid()),
                     rss_mb(c.engine.proc.pid), fps, h.kept is not None))  # fmt: skip
        r = rows[-1]
        print(
            f"{r[0] / 60:6.1f} min  epoch {r[1]:>13,}  rows {r[2]:>11,}  app {r[3]:7.0f} MB  "
            f"engine {r[4]:5.0f} MB  {r[5]:5.1f} frames/s{'  thinned' if r[6] else ''}",
            flush=True,
        )
        if now - t0 >= minutes * 60:
            loop.quit()

    timer = QTimer()
    timer.setInterval(10_000)
    timer.timeout.connect(sample)
    timer.start()
    win.runs.start_new_run(win.start_x)
    loop.exec()
    timer.stop()
    steady = [r for r in rows if r[6]]
    fps = [r[5] for r in rows[1:]]
    print(
        f"{minutes:g} min: {rows[-1][1]:,} epochs; app memory max {max(r[3] for r in rows):.0f} "
        f"MB (steady: {min(r[3] for r in steady) if steady else float('nan'):.0f} to "
        f"{max(r[3] for r in steady) if steady else float('nan'):.0f} MB); frames/s min "
        f"{min(fps):.1f}, median {statistics.median(fps):.1f}"
    )
    c.stop()
    win.document.modified = False
    win.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("cli", "speed", "window", "all"), default="all")
    ap.add_argument("--minutes", type=float, default=5.0, help="the window part's length")
    ap.add_argument("--budget", default=None, help="the window's history budget (e.g. 512M)")
    ap.add_argument("--seconds", type=float, default=30.0, help="the cli part's time limit")
    a = ap.parse_args()
    if a.part in ("cli", "all"):
        part_cli(a.seconds)
    if a.part in ("speed", "all"):
        part_speed()
    if a.part in ("window", "all"):
        part_window(a.minutes, a.budget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
