"""The live sharpness's cost (issue 22 #3): a run in the engine process's own loop
(:class:`bpgui.service.engine_host.Host`, frames to a sink), without sampling and with
the default sampling (λmax every 10 epochs within 15 % of the run's time), at three
sizes; the wall time of each run, medians of ``--repeat`` interleaved pairs, and the
slowdown (target: <= 20 %).  Also the samples taken.

    python benchmarks/bench_sharpness.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpgui.service.engine_host import Host  # noqa: E402
from bpgui.service.wire import read_frame  # noqa: E402
from bpgui_engine import jit  # noqa: E402
from bpgui_engine.model.experiments import get_experiment  # noqa: E402
from bpgui_engine.model.problem import plane_setup  # noqa: E402
from bpgui_engine.model.setup import setup_to_dict  # noqa: E402
from bpgui_engine.train.trainer import StopCriteria  # noqa: E402


class Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.lock = threading.Lock()

    def write(self, b) -> int:
        with self.lock:
            self.buf += b
        return len(b)

    def flush(self) -> None:
        pass

    def frames(self) -> list:
        with self.lock:
            stream = io.BytesIO(bytes(self.buf))
        out = []
        while (f := read_frame(stream)) is not None:
            out.append(f[0])
        return out


def cases():
    a = get_experiment("trajectory-a").setup()
    yield "book 1-2-1 (2 free), sd", a.replace(criteria=StopCriteria(epochs=200_000))
    pg = plane_setup("spiral:samples=1000", layers=(8, 8), seed=1)
    yield "2-8-8-1 (105), sd", pg.replace(optimizer="sd", hyper={"lr": 0.5},
                                          criteria=StopCriteria(epochs=40_000))  # fmt: skip
    big = plane_setup("moons:samples=2000", layers=(50, 50), seed=1)
    yield "2-50-50-1 (2,751), sd", big.replace(optimizer="sd", hyper={"lr": 0.5},
                                               criteria=StopCriteria(epochs=3000))  # fmt: skip


def one_run(setup, every: int) -> tuple[float, int]:
    sink = Sink()
    host = Host(sink)
    t = threading.Thread(target=host.serve, daemon=True)
    t.start()
    t0 = time.perf_counter()
    host.command({"cmd": "start", "run": 1, "setup": setup_to_dict(setup),
                  "x0": list(setup.start()), "sharpness": every})  # fmt: skip
    while not any(h["type"] in ("finished", "failed") for h in sink.frames()):
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    samples = sum(h["type"] == "sharpness" for h in sink.frames())
    host.command({"cmd": "quit"})
    t.join(10)
    return wall, samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    jit.kernels()  # the compiled kernels loaded, as after the engine's warm-up
    print("| run | epochs | without | with (every 10, budget 15 %) | slowdown | samples |")
    print("|---|---|---|---|---|---|")
    for name, s in cases():
        one_run(s.replace(criteria=StopCriteria(epochs=10)), 10)  # warm
        off, on, n = [], [], 0
        for _ in range(args.repeat):
            off.append(one_run(s, 0)[0])
            w, n = one_run(s, 10)
            on.append(w)
        a, b = statistics.median(off), statistics.median(on)
        print(f"| {name} | {s.criteria.epochs:,} | {a:.2f} s | {b:.2f} s | "
              f"{100 * (b / a - 1):+.0f} % | {n} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
