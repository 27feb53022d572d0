"""Memory benchmark: peak memory of opening a large valid session and hostile ones
(issue 10 #6).  Each case runs in a fresh subprocess; the figure is its peak RSS
(``VmHWM``) minus the RSS after importing the engine, next to the arrays' real size.

Run:  .venv/bin/python benchmarks/bench_memory.py [--epochs N]

Target: peak for opening any session <= 3x its arrays' real size; a hostile file refused
before it costs more than a few megabytes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork + exec, so a child of this
# (large) process would report the parent's peak
CHILD = r"""
import sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
import bpgui_engine.session as S
base = hwm()
t0 = time.perf_counter()
try:
    s = S.load_session(sys.argv[1])
    out = "opened"
except S.SessionError as exc:
    out = "refused: " + str(exc)
dt = time.perf_counter() - t0
peak = hwm()
print(f"{(peak - base) * 1024} {dt} {out}")
"""


def measure(path: Path) -> tuple[int, float, str]:
    p = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, cwd=ROOT
    )
    if p.returncode:
        return 0, 0.0, f"crashed: {p.stderr.strip().splitlines()[-1:]}"
    extra, dt, out = p.stdout.strip().split(" ", 2)
    return int(extra), float(dt), out


def _member(zf: zipfile.ZipFile, name: str, shape: tuple, dtype: str, fill) -> None:
    """A deflated .npy member of ``shape`` written chunk by chunk (``fill(i0, i1)``)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": dtype, "fortran_order": False, "shape": shape}
        )
        k = shape[0]
        step = 1 << 20
        for i in range(0, k, step):
            fh.write(np.ascontiguousarray(fill(i, min(k, i + step))).astype(dtype).tobytes())


def valid_session(path: Path, epochs: int) -> int:
    """A valid session with an ``epochs``-row history (book problem, 2 free); returns the
    arrays' real size in bytes."""
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.session import Session, save_session
    from bpgui_engine.train.history import COLUMNS, History

    setup = Setup.from_preset()
    h = History(2, capacity=epochs)
    ep = np.arange(epochs)
    cols = {c: np.linspace(1.0, 0.1, epochs) for c in COLUMNS}
    cols["epoch"] = ep
    cols["lr"] = np.full(epochs, 1.0)
    h.extend(cols, np.c_[np.linspace(-4, 10, epochs), np.linspace(-4, 1, epochs)], "epochs")
    s = Session(setup, history=h)
    from bpgui_engine.session import trainer_state
    from bpgui_engine.train.trainer import Trainer

    tr = Trainer(setup.objective(), setup.make_optimizer(), h.x[-1])
    tr.epoch = epochs - 1
    s.run = trainer_state(tr, h.x[0], epochs - 1, "epochs")
    save_session(s, path)
    return epochs * (len(COLUMNS) + 2) * 8  # what the history holds once opened


def hostile_history(path: Path, rows: int) -> None:
    """session.json claims ``rows`` epochs; every column is zeros (deflates ~1000:1)."""
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.session import Session, session_to_dict

    doc = session_to_dict(Session(Setup.from_preset()))
    from bpgui_engine.train.history import COLUMNS

    cols = [c for c in COLUMNS if c != "performance"]
    doc["history"] = {"length": rows, "stop": None, "columns": cols}
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        zf.writestr("session.json", json.dumps(doc))
        for c in cols:
            _member(zf, f"history.{c}.npy", (rows,), "<i8" if c == "epoch" else "<f8",
                    lambda i, j: np.zeros(j - i))  # fmt: skip
        _member(zf, "history.x.npy", (rows, 2), "<f8", lambda i, j: np.zeros((j - i, 2)))


def inflated_json(path: Path, size: int) -> None:
    """A valid description padded with whitespace to ``size`` bytes (deflates to ~0.1%)."""
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.session import Session, session_to_dict

    text = json.dumps(session_to_dict(Session(Setup.from_preset())), indent=1)
    pad = size - len(text)
    text = text[:-1] + " " * pad + "}"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", text, compress_type=zipfile.ZIP_DEFLATED)


def big_network(path: Path) -> None:
    """A valid session of a 1-2000-2000-1 network (4,008,001 parameters)."""
    from bpgui_engine.model.network import NetworkSpec
    from bpgui_engine.model.setup import Setup
    from bpgui_engine.session import Session, save_session

    spec = NetworkSpec(1, (2000, 2000, 1), ("logsig", "logsig", "purelin"))
    setup = Setup.from_preset().with_network(spec)
    save_session(Session(setup), path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5_000_000)
    args = ap.parse_args()
    mb = 1 << 20
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        real = valid_session(d / "valid.bpgui", args.epochs)
        hostile_history(d / "forged-history.bpgui", 40_000_000)
        inflated_json(d / "inflated-json.bpgui", 200_000_000)
        big_network(d / "net-1-2000-2000-1.bpgui")
        print(f"(files built in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        cases = [
            ("valid.bpgui", f"valid, {args.epochs:,} epochs", real),
            ("forged-history.bpgui", "history claims 40 M rows", None),
            ("inflated-json.bpgui", "session.json padded to 200 MB", None),
            # its arrays: theta (float64) and the free parameters' positions (int64)
            ("net-1-2000-2000-1.bpgui", "1-2000-2000-1 network", 4_008_001 * 16),
        ]
        print("bpgui memory benchmark: peak RSS added by opening a session (fresh process)")
        print(f"{'case':34s} {'file':>9s} {'arrays':>9s} {'peak':>9s} {'ratio':>6s} {'time':>7s}")
        for name, label, arrays in cases:
            size = (d / name).stat().st_size
            extra, dt, out = measure(d / name)
            ratio = f"{extra / arrays:5.2f}x" if arrays else "   -  "
            arr = f"{arrays / mb:7.1f}MB" if arrays else "       - "
            print(f"{label:34s} {size / mb:7.1f}MB {arr} {extra / mb:7.1f}MB {ratio} {dt:6.2f}s")
            print(f"    -> {out[:150]}")
            if name.startswith("net-"):
                print(f"    -> {extra / (arrays / 2):.2f}x theta alone ({arrays / 2 / mb:.1f}MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
