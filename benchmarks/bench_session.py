"""Session-file benchmark: save and open a 1,000,000-epoch session (issue 4's target:
under 2 s each, under 50 MB).

Run:  make bench-session   (or .venv/bin/python benchmarks/bench_session.py [--rounds N])

Trains the book slice for 1,000,000 epochs of steepest descent (lr 0.1 from (-4, -4):
a run that is still moving, so every column is real data), then per round: save it
(atomic, fsync'd), read it back (validated), and open it in an offscreen window (load +
restore the plots).  Prints medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bpgui_engine.model.setup import Setup
from bpgui_engine.session import Session, load_session, save_session, session_trainer, trainer_state
from bpgui_engine.train.history import History
from bpgui_engine.train.trainer import StopCriteria

EPOCHS = 1_000_000


def make_session() -> Session:
    setup = Setup.from_preset().replace(hyper={"lr": 0.1}, criteria=StopCriteria(epochs=EPOCHS))
    s = Session(setup, start=np.array([-4.0, -4.0]))
    tr, _ = session_trainer(s)
    h = History(2, capacity=EPOCHS + 1)
    buf = []
    with np.errstate(all="ignore"):
        for rec in tr.run():
            buf.append(rec)
            if len(buf) == 100_000:
                h.append_records(buf)
                buf.clear()
    h.append_records(buf)
    s.history = h
    s.run = trainer_state(tr, [-4.0, -4.0], EPOCHS, h.stop)
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    s = make_session()
    print(
        f"trained {len(s.history) - 1:,} epochs in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["BPGUI_CONFIG_DIR"] = tempfile.mkdtemp(prefix="bpgui-bench-")
    from bpgui.window.app import make_application
    from bpgui.window.main import MainWindow

    app = make_application()
    win = MainWindow()
    win.resize(1560, 960)
    win.show()
    app.processEvents()

    save, load, gui, size = [], [], [], 0
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "million.bpgui"
        for r in range(args.rounds):
            t = time.perf_counter()
            save_session(s, path)
            save.append(time.perf_counter() - t)
            size = path.stat().st_size
            t = time.perf_counter()
            back = load_session(path)
            load.append(time.perf_counter() - t)
            assert back.run.epoch == EPOCHS and np.array_equal(back.history.x, s.history.x)
            win.document.modified = False
            t = time.perf_counter()
            assert win.document.open(path)
            app.processEvents()
            gui.append(time.perf_counter() - t)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    win.document.modified = False
    win.close()
    med = statistics.median
    print(f"bpgui session benchmark, {EPOCHS:,}-epoch session, median of {args.rounds} rounds")
    print(f"  file size                 {size / 1e6:8.1f} MB   (target < 50 MB)")
    print(f"  save (atomic, fsync)      {med(save):8.2f} s    (target < 2 s)")
    print(f"  open (read + validate)    {med(load):8.2f} s    (target < 2 s)")
    print(f"  open in the window        {med(gui):8.2f} s    (load + restore plots)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
