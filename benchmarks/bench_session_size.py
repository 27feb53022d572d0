"""Session size benchmark (issue 18 #16): trajectory b trained to 5,800,000 epochs, saved
the way sessions were saved before (float members stored), as saved now (every member
deflated), and as a lighter copy; file size, save and open times, and a check that the
lighter copy continues bit for bit as the full session does.

Run:  .venv/bin/python benchmarks/bench_session_size.py [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from bpgui.cli.commands import run_session
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.session import (
    Session,
    load_session,
    save_lighter_copy,
    save_session,
    session_trainer,
    trainer_state,
)
from bpgui_engine.session import write as session_write
from bpgui_engine.train.history import History
from bpgui_engine.train.trainer import StopCriteria

EPOCHS = 5_800_000


def trained(epochs: int) -> Session:
    setup = get_experiment("trajectory-b").setup()
    setup = setup.replace(criteria=StopCriteria(epochs=epochs))
    s = Session(setup)
    trainer, _ = session_trainer(s)
    h = History(len(setup.free), capacity=epochs + 1)
    with np.errstate(all="ignore"):
        for block in trainer.blocks(emit_start=True):
            h.extend(block.cols, block.x, block.stop)
    s.history = h
    s.run = trainer_state(trainer, h.x[0], epochs, h.stop)
    return s


def _old_write_zip(fh, text, arrays):
    """The writer before issue 18: members deflated only when their first 64 KiB packed
    below 60 % (float trajectories were stored)."""
    import io
    import zlib

    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        zf.writestr("session.json", text, compress_type=zipfile.ZIP_DEFLATED)
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            raw = buf.getbuffer()
            probe = bytes(raw[: 1 << 16])
            packs = len(zlib.compress(probe, 1)) < 0.6 * len(probe)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if packs else zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=raw.nbytes > (1 << 31)) as out:
                out.write(raw)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    args = ap.parse_args()
    s, dt = _timed(lambda: trained(args.epochs))
    print(f"trained trajectory b to {args.epochs:,} epochs in {dt:.1f} s", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        before, now = Path(d) / "before.bpgui", Path(d) / "now.bpgui"
        real = session_write._write_zip
        session_write._write_zip = _old_write_zip
        try:
            _, t_save = _timed(lambda: save_session(s, before))
        finally:
            session_write._write_zip = real
        _, t_open = _timed(lambda: load_session(before))
        rows.append(("before (floats stored)", before.stat().st_size, t_save, t_open))
        _, t_save = _timed(lambda: save_session(s, now))
        full, t_open = _timed(lambda: load_session(now))
        rows.append(("now (every member deflated)", now.stat().st_size, t_save, t_open))
        light, t_save = _timed(lambda: save_lighter_copy(s, Path(d) / "light.bpgui"))
        copy, t_open = _timed(lambda: load_session(light.path))
        rows.append(("lighter copy", light.bytes, t_save, t_open))
        # the lighter copy continues exactly: 1,000 more epochs from each
        run_session(full, 1000)
        run_session(copy, 1000)
        exact = np.array_equal(full.run.x, copy.run.x) and full.run.epoch == copy.run.epoch
    print(f"bpgui session size, trajectory b at {args.epochs:,} epochs ({len(s.history):,} rows)")
    print(f"  {'':30s} {'size':>10s} {'save':>8s} {'open':>8s}")
    for name, size, ts, to in rows:
        print(f"  {name:30s} {size / 1e6:7.1f} MB {ts:6.2f} s {to:6.2f} s")
    print(f"  lighter copy: {light.rows_after:,} of {light.rows_before:,} history rows; "
          f"1,000 more epochs from it equal those from the full session: {exact}")  # fmt: skip
    return 0 if exact else 1


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    sys.exit(main())
