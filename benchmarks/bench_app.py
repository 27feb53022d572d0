"""App benchmark (issue 11): trajectory a in the window on the compiled kernel, frame rate,
GUI latency, first click to first frame, start-up time and memory over a long run.

Run:  make bench-app   (or QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_app.py)

Each round runs the headless engine (FastTrainer, trajectory a to its stop) and then the
app on the same run back to back, so the ratio compares the two under the same machine
load.  In the app: wall clock from the Start call to the run's finished frame (trajectory
a from (-4, -4) until the weights stop changing, ~324k epochs), frames drawn per second
over that run and the gaps between ticks of a 10 ms timer on the GUI thread (p99, max).
First click: the engine process is started and a run sent at once; the time to its first
block of records, with an empty numba cache (``NUMBA_CACHE_DIR`` a new folder: a fresh
install, the kernels compile in the background and the run starts on NumPy) and with the
on-disk cache.  Memory: RSS of the app and of the engine process over a 5,000,000-epoch run
(trajectory b never converges), growth per million epochs of kept history.

Targets: trajectory a <= 2 s, >= 30 frames/s, timer p99 <= 50 ms, first click <= 1 s (cold),
window <= 1.5 s after launch, <= 80 MB per million epochs.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def headless_seconds() -> tuple[float, int, str]:
    """Trajectory a to its stop on the engine alone: seconds, epochs, kernel."""
    from bpgui_engine.model.experiments import get_experiment
    from bpgui_engine.train.fast import FastTrainer

    setup = get_experiment("trajectory-a").setup()
    e = get_experiment("trajectory-a")
    tr = FastTrainer(setup.objective(), setup.make_optimizer(), e.start, setup.criteria)
    t0 = time.perf_counter()
    n = sum(len(b) for b in tr.blocks())
    return time.perf_counter() - t0, n - 1, tr.kernel


def _wait(s: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(s * 1000), loop.quit)
    loop.exec()


def app_round(timeout: float = 60.0) -> dict:
    """Trajectory a in the window, from Start to the finished frame."""
    from PySide6.QtCore import QEventLoop, QTimer

    from bpgui.window.main import MainWindow

    win = MainWindow()
    win.show()
    c = win.controller
    t_end = time.perf_counter() + timeout
    while c.engine_kernel is None and time.perf_counter() < t_end:  # the engine's warm-up
        _wait(0.05)
    _wait(0.5)  # the first contour
    gaps: list[float] = []
    last = [None]

    def tick() -> None:
        now = time.perf_counter()
        if last[0] is not None:
            gaps.append(now - last[0])
        last[0] = now

    loop = QEventLoop()
    done = QTimer()
    done.setInterval(1)
    done.timeout.connect(lambda: loop.quit() if c.state == "idle" and c.last_stop else None)
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    f0 = win.runs.frames_drawn
    probe.start()
    t0 = time.perf_counter()
    win.load_experiment("trajectory-a")
    done.start()
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    dt = time.perf_counter() - t0
    probe.stop()
    done.stop()
    out = {
        "seconds": dt,
        "epochs": c.epoch,
        "stop": c.last_stop,
        "kernel": c.kernel,
        "fps": (win.runs.frames_drawn - f0) / dt,
        "p99": float(np.percentile(np.array(gaps) * 1000, 99)) if gaps else float("nan"),
        "max": float(np.max(gaps) * 1000) if gaps else float("nan"),
    }
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    _wait(0.3)
    return out


class GapProbe:
    """A 10 ms timer on the GUI thread: the gaps between its ticks (a blocked GUI thread
    shows as a long gap).  ``start()``, run the event loop, ``stop()``, then :meth:`p99`."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def p99(self) -> float:
        return float(np.percentile(np.array(self.gaps) * 1000, 99))


def sustained_round(seconds: float = 3.0) -> dict:
    """Trajectory b (millions of epochs) animating for ``seconds``: frames drawn per
    second and GUI timer gaps while the window keeps up with the compiled kernel."""
    from bpgui.window.main import MainWindow

    win = MainWindow()
    win.show()
    c = win.controller
    while c.engine_kernel is None:
        _wait(0.05)
    _wait(0.5)
    win.load_experiment("trajectory-b")
    _wait(0.3)  # past the start
    probe = GapProbe()
    f0, e0, t0 = win.runs.frames_drawn, c.epoch, time.perf_counter()
    probe.start()
    _wait(seconds)
    probe.stop()
    dt = time.perf_counter() - t0
    out = {
        "fps": (win.runs.frames_drawn - f0) / dt,
        "epochs_per_s": (c.epoch - e0) / dt,
        "p99": probe.p99(),
    }
    c.stop()
    _wait(0.2)
    win.document.modified = False
    win.close()
    _wait(0.3)
    return out


def first_click(cache_dir: str | None) -> tuple[float, str]:
    """Seconds from sending Start to an engine process just launched to its first block,
    and the kernel of that block."""
    from bpgui.service.wire import read_frame, write_frame
    from bpgui_engine.model.experiments import get_experiment
    from bpgui_engine.model.setup import setup_to_dict

    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpgui.service.engine_host"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    s = get_experiment("trajectory-a").setup()
    t0 = time.perf_counter()
    write_frame(proc.stdin, {"cmd": "start", "run": 1, "setup": setup_to_dict(s), "x0": [-4, -4]})
    while True:
        head, _ = read_frame(proc.stdout)
        if head["type"] == "batch":
            dt, kernel = time.perf_counter() - t0, head["kernel"]
            break
    write_frame(proc.stdin, {"cmd": "quit"})
    proc.stdin.close()
    proc.wait(120)  # a cold process may still be compiling: quit ends it at once
    return dt, kernel


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


def memory_run(epochs: int = 5_000_000) -> tuple[list[tuple[int, float, float]], float, int]:
    """RSS of the app and of its engine process at points of a long run; the run's time."""
    from PySide6.QtCore import QEventLoop, QTimer

    from bpgui.window.main import MainWindow
    from bpgui_engine.model.experiments import get_experiment
    from bpgui_engine.train.trainer import StopCriteria

    win = MainWindow()
    win.show()
    c = win.controller
    while c.engine_kernel is None:
        _wait(0.05)
    # trajectory b never converges, so it really runs all the epochs
    setup = get_experiment("trajectory-b").setup().replace(criteria=StopCriteria(epochs=epochs))
    win.apply_setup(setup, problem_changed=True)
    win.start_x = np.array([-4.0, 10.0])
    _wait(0.5)
    loop = QEventLoop()
    marks = [0, 500_000, 1_000_000, 2_000_000, 3_000_000, 4_000_000, epochs]
    samples = []

    def poll() -> None:
        h = c.history
        n = len(h) if h is not None else 0
        while marks and n >= marks[0] + 1:
            samples.append((marks.pop(0), rss_mb(os.getpid()), rss_mb(c.engine.proc.pid)))
        if not marks or (c.state == "idle" and n > 1):
            loop.quit()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(poll)
    timer.start()
    t0 = time.perf_counter()
    win.runs.start_new_run(win.start_x)
    loop.exec()
    dt = time.perf_counter() - t0
    timer.stop()
    n = len(c.history)
    win.document.modified = False  # no unsaved-changes prompt
    win.close()
    return samples, dt, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-memory", action="store_true", help="skip the 5,000,000-epoch run")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-cache first click")
    args = ap.parse_args()
    from bpgui.window.app import make_application
    from bpgui_engine import jit

    make_application()
    jit.kernels()  # headless runs compiled, like the engine process after its warm-up
    rows = []
    for r in range(args.rounds):
        head_s, head_n, head_k = headless_seconds()
        res = app_round()
        res.update(headless=head_s, headless_epochs=head_n, headless_kernel=head_k)
        rows.append(res)
        print(f"round {r + 1}/{args.rounds}: {res['seconds']:.2f} s in the window", file=sys.stderr)
    sustained = [sustained_round() for _ in range(min(args.rounds, 3))]
    warm = [first_click(None) for _ in range(args.rounds)]
    cold = []
    if not args.no_cold:
        for _ in range(min(args.rounds, 3)):  # each compiles from scratch: ~40 s of CPU
            with tempfile.TemporaryDirectory() as d:
                cold.append(first_click(d))
    launches = [launch_time() for _ in range(args.rounds)]
    med = statistics.median
    print(
        f"bpgui app benchmark, median of {args.rounds} rounds "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    r0 = rows[0]
    print(
        f"trajectory a, (-4,-4) to its stop: {r0['epochs']:,} epochs, stop {r0['stop']}, "
        f"kernel {r0['kernel']} (headless {r0['headless_kernel']})"
    )
    print(f"  headless engine (FastTrainer)       {med(r['headless'] for r in rows):>8.3f} s")
    print(f"  in the window, Start to finished    {med(r['seconds'] for r in rows):>8.3f} s")
    ratio = med(r["headless"] / r["seconds"] for r in rows)
    print(f"  headless / window time              {ratio:>8.0%}")
    print(f"  frames drawn during the run         {med(r['fps'] for r in rows):>8.1f} per s")
    p99, mx = med(r["p99"] for r in rows), med(r["max"] for r in rows)
    print(f"  GUI timer gap p99 / max             {p99:>8.1f} / {mx:.1f} ms")
    print("trajectory b animating for 3 s (sustained):")
    print(f"  frames drawn                        {med(r['fps'] for r in sustained):>8.1f} per s")
    eps = med(r["epochs_per_s"] for r in sustained)
    print(f"  epochs per second in the window     {eps:>8,.0f}")
    print(f"  GUI timer gap p99                   {med(r['p99'] for r in sustained):>8.1f} ms")
    print(
        f"first click to first frame: warm cache {med(t for t, _ in warm) * 1000:.0f} ms "
        f"({warm[0][1]})"
        + (f", cold cache {med(t for t, _ in cold) * 1000:.0f} ms ({cold[0][1]})" if cold else "")
    )
    print(f"window shown after launch             {med(launches):>8.2f} s")
    if not args.no_memory:
        samples, dt, n = memory_run()
        print(f"memory over a {n - 1:,}-epoch run ({dt:.1f} s): RSS MB at epochs, app, engine")
        for ep, a, e in samples:
            print(f"    {ep:>9,}  {a:8.1f}  {e:8.1f}")
        (e0, a0, g0), (e1, a1, g1) = samples[0], samples[-1]
        per_m = (a1 - a0) / max((e1 - e0) / 1e6, 1e-9)
        print(f"  app growth {per_m:.1f} MB per million epochs; engine {g1 - g0:+.1f} MB in all")
    print(
        "targets: trajectory a <= 2 s, >= 30 frames/s, p99 <= 50 ms, first click <= 1 s, "
        "window < 1.5 s, <= 80 MB per million epochs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
