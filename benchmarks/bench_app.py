"""App benchmark: training speed while the plots animate, frame rate, GUI latency,
start-up time and memory over a long run.

Run:  make bench-app   (or QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_app.py)

Each round runs the headless engine (the real run loop on the book slice, sd, lr 1) and
then the app on the same problem (trajectory a, full speed) back to back, so the ratio
compares the two under the same machine load.  In the app it counts epochs received,
frames drawn, and the gaps between ticks of a 10 ms timer on the GUI thread.  Targets
(issue 3): app >= 80% of headless, >= 30 frames/s, timer gap p99 <= 50 ms, window within
1.5 s of launch, flat memory over a 1,000,000-epoch run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def headless_rate(seconds: float = 3.0) -> float:
    from engine.experiments import get_experiment
    from engine.trainer import StopCriteria, Trainer

    setup = get_experiment("trajectory-a").setup()
    obj = setup.objective()
    tr = Trainer(obj, setup.make_optimizer(), setup.start(), StopCriteria(epochs=10**9))
    n, t0 = 0, time.perf_counter()
    with np.errstate(all="ignore"):
        for _ in tr.run():
            n += 1
            if n % 1000 == 0 and time.perf_counter() - t0 > seconds:
                break
    return n / (time.perf_counter() - t0)


def app_round(app, seconds: float = 5.0, warmup: float = 1.0) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer

    from bpgui.main_window import MainWindow

    win = MainWindow()
    win.show()
    loop = QEventLoop()

    def wait(s: float) -> None:
        QTimer.singleShot(int(s * 1000), loop.quit)
        loop.exec()

    wait(1.0)  # the engine process and the first contour
    gaps: list[float] = []
    last = [None]

    def tick() -> None:
        now = time.perf_counter()
        if last[0] is not None:
            gaps.append(now - last[0])
        last[0] = now

    win.load_experiment("trajectory-a")
    wait(warmup)
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    e0, f0, t0 = win.controller.epoch, win.frames_drawn, time.perf_counter()
    probe.start()
    wait(seconds)
    probe.stop()
    dt = time.perf_counter() - t0
    out = {
        "rate": (win.controller.epoch - e0) / dt,
        "fps": (win.frames_drawn - f0) / dt,
        "p99": float(np.percentile(np.array(gaps) * 1000, 99)),
        "max": float(np.max(gaps) * 1000),
    }
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    wait(0.3)
    return out


def launch_time() -> float:
    """Seconds from starting the process to the window being shown (``BPGUI_EXIT_AFTER_SHOW``)."""
    env = {**os.environ, "BPGUI_EXIT_AFTER_SHOW": "1"}
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "bpgui"], env=env, capture_output=True, text=True, timeout=60
    )
    shown = [ln for ln in out.stdout.splitlines() if ln.startswith("shown ")]
    if not shown:
        raise RuntimeError(f"no 'shown' line: {out.stdout} {out.stderr}")
    return float(shown[0].split()[1]) - t0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(app, epochs: int = 1_000_000) -> list[tuple[int, float, float]]:
    """RSS of the app and of its engine process at points of a long run."""
    from PySide6.QtCore import QEventLoop, QTimer

    from bpgui.main_window import MainWindow
    from engine.experiments import get_experiment
    from engine.trainer import StopCriteria

    win = MainWindow()
    win.show()
    # trajectory b never converges, so it really runs all the epochs
    setup = get_experiment("trajectory-b").setup().replace(criteria=StopCriteria(epochs=epochs))
    win.apply_setup(setup, problem_changed=True)
    win.start_x = np.array([-4.0, 10.0])
    loop = QEventLoop()
    marks, samples = [10_000, 100_000, 250_000, 500_000, 750_000, epochs], []

    def poll() -> None:
        h = win.controller.history
        n = len(h) if h is not None else 0
        while marks and n >= marks[0] + 1:
            samples.append(
                (marks.pop(0), rss_mb(os.getpid()), rss_mb(win.controller.engine.proc.pid))
            )
        if not marks or (win.controller.state == "idle" and n > 1):
            loop.quit()

    timer = QTimer()
    timer.setInterval(200)
    timer.timeout.connect(poll)
    timer.start()
    win.start_new_run(win.start_x)
    loop.exec()
    timer.stop()
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--no-memory", action="store_true", help="skip the 1,000,000-epoch run")
    args = ap.parse_args()
    from bpgui.app import make_application

    app = make_application()
    rows = []
    for r in range(args.rounds):
        head = headless_rate()
        res = app_round(app, args.seconds)
        res["headless"] = head
        rows.append(res)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    launches = [launch_time() for _ in range(args.rounds)]
    med = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
    ratio = statistics.median(row["rate"] / row["headless"] for row in rows)
    print(f"bpgui app benchmark, median of {args.rounds} rounds")
    print(f"headless engine, book slice sd        {med['headless']:>10,.0f} epochs/s")
    print(f"app, trajectory a, plots animating    {med['rate']:>10,.0f} epochs/s")
    print(f"app / headless                        {ratio:>10.0%}")
    print(f"frames drawn                          {med['fps']:>10.1f} per s")
    print(f"GUI timer gap p99 / max               {med['p99']:>6.1f} / {med['max']:.1f} ms")
    print(f"window shown after launch             {statistics.median(launches):>10.2f} s")
    if not args.no_memory:
        print("memory over a 1,000,000-epoch run (RSS, MB):  epochs, app, engine")
        for ep, a, e in memory_run(app):
            print(f"    {ep:>9,}  {a:8.1f}  {e:8.1f}")
    print("targets: >= 80% of headless, >= 30 frames/s, p99 <= 50 ms, window < 1.5 s, flat memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
