"""Race benchmark (issue 12 target): the seed's five methods raced in the window against
the same five runs headless, one after another.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_race.py [--rounds 3]

Each round times the five runs headless (:class:`bpgui_engine.train.fast.FastTrainer` to their stop,
blocks only: no records built) and then the race in the window under the same load: from
the race pane's Start to the race's ``finished`` frame, with the window drawing every
entry's path, curve and the results table as it goes (the engine process computes; the
window receives one frame per entry per step).  Book problem, (W1[1,1], W2[1,1]) from
(-4, -4), 400,000 epochs at most and goal 0 (each entry stops on its own criterion: sd
lr 1 runs all 400,000 epochs, momentum, vlbp, cg and LM stop when the weights stop
changing).  Speed = headless seconds / window seconds (target >= 0.8x).  Also: frames
drawn per second and the GUI thread's longest gap (10 ms timer, p99 and max).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

START = np.array([-4.0, -4.0])
EPOCHS = 400_000
GOAL = 0.0


def headless_seconds() -> tuple[float, list[int]]:
    """The five entries as separate runs, one after another: seconds, epochs each."""
    from bpgui_engine.maps.race_presets import race_preset
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.train.fast import FastTrainer
    from bpgui_engine.train.trainer import StopCriteria

    s = Setup.from_preset("book-1-2-1")
    crit = StopCriteria.from_dict({**s.criteria.to_dict(), "epochs": EPOCHS, "goal": GOAL})
    total, eps = 0.0, []
    for e in race_preset():
        se = s.replace(optimizer=e.optimizer, hyper=e.hyper)
        tr = FastTrainer(se.objective(), se.make_optimizer(), START, crit)
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            n = sum(len(b) for b in tr.blocks())
        total += time.perf_counter() - t0
        eps.append(n - 1)
    return total, eps


def _wait(s: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(s * 1000), loop.quit)
    loop.exec()


def window_round(win, timeout: float = 120.0) -> dict:
    """The race in ``win``, from Start to the finished frame."""
    from PySide6.QtCore import QEventLoop, QTimer

    from bpgui_engine.maps.race_presets import race_preset
    from bpgui_engine.model.setup import Setup

    win.apply_setup(Setup.from_preset("book-1-2-1"), problem_changed=True)
    win.start_x = START.copy()
    win.tools["race"].show_race()
    pane = win.tools["race"].race_pane
    pane.set_entries(race_preset())
    pane.epochs.setValue(EPOCHS)
    pane.goal.set_value(GOAL)
    pane.validate()
    _wait(0.3)
    gaps: list[float] = []
    last = [None]

    def tick() -> None:
        now = time.perf_counter()
        if last[0] is not None:
            gaps.append(now - last[0])
        last[0] = now

    c = win.controller
    loop = QEventLoop()
    c.race_finished.connect(loop.quit)
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    f0 = win.tools["race"]._race_frames
    probe.start()
    t0 = time.perf_counter()
    pane.start_button.click()
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    dt = time.perf_counter() - t0
    probe.stop()
    c.race_finished.disconnect(loop.quit)
    r = c.race
    return {
        "seconds": dt,
        "epochs": [int(h.column("epoch")[-1]) for h in r.histories],
        "reason": r.reason,
        "fps": (win.tools["race"]._race_frames - f0) / dt,
        "p99": float(np.percentile(np.array(gaps) * 1000, 99)) if gaps else float("nan"),
        "max": float(np.max(gaps) * 1000) if gaps else float("nan"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from bpgui.window.main import MainWindow
    from bpgui_engine import jit

    jit.kernels()
    app = QApplication.instance() or QApplication(sys.argv)
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    t_end = time.perf_counter() + 120
    while win.controller.engine_kernel is None and time.perf_counter() < t_end:
        _wait(0.05)
    _wait(0.5)
    window_round(win)  # warm-up: imports, first frames
    res: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        sep, eps = headless_seconds()
        got = window_round(win)
        assert got["reason"] == "finished", got
        assert got["epochs"] == eps, (got["epochs"], eps)  # the same runs
        res.setdefault("headless", []).append(sep)
        res.setdefault("window", []).append(got["seconds"])
        res.setdefault("speed", []).append(sep / got["seconds"])
        for k in ("fps", "p99", "max"):
            res.setdefault(k, []).append(got[k])
    med = {k: statistics.median(v) for k, v in res.items()}
    print(
        f"kernel {jit.kernel_name()}, {os.cpu_count()} cores, {args.rounds} rounds (medians); "
        f"entries' epochs {', '.join(f'{e:,}' for e in eps)}"
    )
    print(f"5 runs headless, one after another: {med['headless']:.3f} s")
    print(
        f"race of the 5 in the window: {med['window']:.3f} s, {med['speed']:.2f}x the "
        f"headless speed (target >= 0.8x); {med['fps']:.0f} frames/s, GUI timer p99 "
        f"{med['p99']:.0f} ms, max {med['max']:.0f} ms"
    )
    win.document.modified = False
    win.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
