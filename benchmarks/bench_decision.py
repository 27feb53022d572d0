"""The decision map (issue 21): its redraw, and the window's frame rate while a
playground network trains at full speed.

1. Redraw: one forward pass of a 100 x 100 grid and its colouring (target: <= 10 ms for
   a 2-8-8-1 network), against the forward pass alone, at three network sizes; medians
   of 50 redraws.
2. The window: a 2-8-8-1 tansig network with Adam on the spiral (1,000 points, 500 of
   them training: "500 samples"), trained as fast as possible for a few seconds: frames
   drawn per second (target >= 20), the GUI timer's 99th-percentile gap, epochs per
   second, and the median cost of the map's redraw inside the window (image and the
   diagram's thumbnails included).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_decision.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "BPGUI_CONFIG_DIR" not in os.environ:  # the default layout, not this user's docks
    import tempfile

    os.environ["BPGUI_CONFIG_DIR"] = tempfile.mkdtemp(prefix="bpgui-bench-")

from bench_app import GapProbe, _wait  # noqa: E402  (the same folder)

from bpgui.plots.decision_colours import decision_rgba  # noqa: E402
from bpgui_engine.analysis.classify import grid_inputs, layer_maps  # noqa: E402
from bpgui_engine.model.problem import plane_setup  # noqa: E402

SIZES = {"2-8-8-1": (8, 8), "2-4-2-1 (Playground's default)": (4, 2), "2-64-64-1": (64, 64)}


def median_ms(fn, repeat: int = 50) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def redraw_table() -> None:
    print("| network | forward pass, float64 (ms) | window's map, float32 (ms) | target |")
    print("|---|---|---|---|")
    for name, layers in SIZES.items():
        s = plane_setup("spiral:samples=500", layers=layers, seed=0)
        grid = grid_inputs(s.data.prepare(), 100)
        theta = s.theta_array
        fwd = median_ms(lambda s=s, g=grid, t=theta: s.spec.forward(t, g.inputs))

        def redraw(s=s, g=grid, t=theta):  # as the window draws it (single precision)
            maps = layer_maps(s.spec, t, g, single=True)
            decision_rgba(maps[-1], 2, False, (235, 235, 235))

        full = median_ms(redraw)
        target = "≤ 10 ms" if name == "2-8-8-1" else ""
        print(f"| {name} | {fwd:.2f} | {full:.2f} | {target} |")


def window_round(seconds: float) -> dict:

    from bpgui.window.app import make_application
    from bpgui.window.main import MainWindow
    from bpgui_engine.train.trainer import StopCriteria

    make_application()
    win = MainWindow()
    win.resize(1600, 1000)
    win.show()
    c = win.controller
    while c.engine_kernel is None:
        _wait(0.05)
    s = plane_setup("spiral:samples=1000", layers=(8, 8), seed=0)
    s = s.replace(optimizer="adam", hyper={"lr": 0.01}, criteria=StopCriteria(epochs=10**8))
    win.apply_setup(s, problem_changed=True)
    win.speed.setValue(win.speed.maximum())
    dec = win.plots.decision
    costs: list[float] = []
    redraw = dec._redraw

    def timed() -> None:
        t0 = time.perf_counter()
        redraw()
        costs.append(time.perf_counter() - t0)

    dec._redraw = timed
    win.runs.start_new_run(win.start_x)
    _wait(0.5)  # past the start
    probe = GapProbe()
    f0, e0, t0 = win.runs.frames_drawn, c.epoch, time.perf_counter()
    cpu0 = time.process_time()
    n0 = len(costs)
    probe.start()
    _wait(seconds)
    probe.stop()
    dt = time.perf_counter() - t0
    cpu = (time.process_time() - cpu0) / dt
    out = {
        "gui_cpu": 100 * cpu,
        "fps": (win.runs.frames_drawn - f0) / dt,
        "epochs_per_s": (c.epoch - e0) / dt,
        "p99": probe.p99(),
        "redraw_ms": 1000 * statistics.median(costs[n0:]) if len(costs) > n0 else float("nan"),
        "redraws_per_s": (len(costs) - n0) / dt,
        "kernel": c.engine_kernel,
    }
    c.stop()
    _wait(0.3)
    win.document.modified = False
    win.close()
    _wait(0.3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    redraw_table()
    rows = [window_round(args.seconds) for _ in range(args.rounds)]
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    print()
    print(f"window, 2-8-8-1 on 500 training samples, Adam, as fast as possible "
          f"(medians of {args.rounds} rounds of {args.seconds:g} s):")  # fmt: skip
    print(f"  frames drawn                 {med('fps'):8.1f} per s   (target >= 20)")
    print(f"  decision map redraws         {med('redraws_per_s'):8.1f} per s")
    print(f"  one redraw in the window     {med('redraw_ms'):8.2f} ms")
    print(f"  GUI timer gap, 99th pct      {med('p99'):8.1f} ms")
    print(f"  epochs trained               {med('epochs_per_s'):8.0f} per s")
    print(f"  the window's process         {med('gui_cpu'):8.0f} % of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
