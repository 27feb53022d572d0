"""Speed at every network size (issue 20): the default engine against its own NumPy path
and (if installed) PyTorch on the CPU in float64, on the same runs.

Run:  .venv/bin/python benchmarks/bench_sizes.py [--rounds 5] [--markdown]

Every case is batch steepest descent (all samples each epoch) from one seeded start; the
figure is epochs per CPU second (``time.process_time``: all threads' time, so a library
that spreads over both cores gains nothing), the median of ``--rounds`` rounds.  Each
round measures every engine back to back, so the ratios compare code under the same load.
BLAS and PyTorch run on one thread (``OPENBLAS_NUM_THREADS=1``, ``torch.set_num_threads``).
PyTorch is an optional benchmark dependency (``pip install '.[bench]'``), never a runtime
one: without it its column says "-".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bpgui_engine import jit  # noqa: E402
from bpgui_engine.model.data import Dataset  # noqa: E402
from bpgui_engine.model.network import NetworkSpec  # noqa: E402
from bpgui_engine.model.objective import Objective  # noqa: E402
from bpgui_engine.model.presets import get_preset  # noqa: E402
from bpgui_engine.optim import make_optimizer  # noqa: E402
from bpgui_engine.train.fast import FastTrainer  # noqa: E402
from bpgui_engine.train.trainer import StopCriteria, Trainer  # noqa: E402

#: (name, inputs, hidden sizes, outputs, samples, hidden transfer, output transfer, performance)
CASES = [
    ("1-2-1 book slice", 1, (2,), 1, 21, "logsig", "purelin", "sse"),
    ("2-10-1", 2, (10,), 1, 41, "tansig", "purelin", "mse"),
    ("2-8-8-1", 2, (8, 8), 1, 500, "tansig", "purelin", "mse"),
    ("2-8-8-2 softmax, CE", 2, (8, 8), 2, 500, "tansig", "softmax", "ce"),
    ("2-200-1", 2, (200,), 1, 200, "tansig", "purelin", "mse"),
    ("2-50-50-1", 2, (50, 50), 1, 1000, "tansig", "purelin", "mse"),
    ("2-100-100-100-3 softmax, CE", 2, (100, 100, 100), 3, 2000, "tansig", "softmax", "ce"),
]


def problem(case):
    name, R, hidden, S, Q, th, to, perf = case
    if name.startswith("1-2-1"):
        b = get_preset("book-1-2-1")
        free = ("W1[1,1]", "W2[1,1]")
        return Objective(b.spec, b.data, b.theta, free=free), b.theta.copy()[[0, 4]] * 0 + 1.0
    rng = np.random.default_rng(len(hidden) * 1000 + Q)
    spec = NetworkSpec(R, (*hidden, S), (*[th] * len(hidden), to))
    P = rng.uniform(-1, 1, (R, Q))
    if to == "softmax":
        k = (P[0] * P[1] > 0).astype(int) if S == 2 else np.digitize(P[0], [-0.3, 0.3])
        T = np.eye(S)[k].T
    else:
        T = np.sin(3 * P[:1]) * np.cos(2 * P[1:2])
    theta = rng.normal(0, 1, spec.n_params) / np.sqrt(2 + max(hidden))
    return Objective(spec, Dataset(P, T), theta, performance=perf), theta


def lr_for(obj) -> float:
    return 0.05 if obj.perf.name == "sse" and obj.spec.n_params < 10 else 0.1


def cpu_rate(run, epochs: int) -> float:
    t0 = time.process_time()
    n = run(epochs)
    return n / max(time.process_time() - t0, 1e-9)


def numpy_run(obj, x0, lr):
    def go(epochs):
        tr = Trainer(obj, make_optimizer("sd", lr=lr), x0, StopCriteria(epochs=epochs))
        with np.errstate(all="ignore"):
            return sum(1 for _ in tr.run(emit_start=False))

    return go


def default_run(obj, x0, lr, dtype="float64"):
    def go(epochs):
        ft = FastTrainer(obj, make_optimizer("sd", lr=lr), x0, StopCriteria(epochs=epochs),
                         block_seconds=0.05, dtype=dtype)  # fmt: skip
        go.kernel = ft.kernel
        return sum(len(b) for b in ft.blocks(emit_start=False))

    return go


def torch_run(obj, x0, lr):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    spec, d = obj.spec, obj.data
    theta = torch.tensor(obj.full(x0))
    P, T = torch.tensor(d.P), torch.tensor(d.T)
    params = []
    for (w, b), r, s in zip(spec.slices, spec.fan_ins, spec.sizes, strict=True):
        params.append(theta[w].reshape(s, r).clone().requires_grad_(True))
        params.append(theta[b].reshape(s, 1).clone().requires_grad_(True))
    acts = {"tansig": torch.tanh, "logsig": torch.sigmoid, "purelin": lambda n: n}
    Q, perf = d.n_samples, obj.perf.name
    scale = obj.lr_scale

    def go(epochs):
        for _ in range(epochs):
            a = P
            for m, t in enumerate(spec.transfers):
                n = params[2 * m] @ a + params[2 * m + 1]
                a = n if t == "softmax" else acts[t](n)
            if perf == "ce":
                F = -(T * torch.log_softmax(n, dim=0)).sum() / Q
            else:
                F = ((T - a) ** 2).sum() / (T.numel() if perf == "mse" else 1)
            grads = torch.autograd.grad(F, params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p -= lr * scale * g
        return epochs

    return go


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.4, help="about this long per measurement")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    jit.warm_up()
    rows = []
    for case in CASES:
        obj, _ = problem(case)
        x0 = obj.x0() if not case[0].startswith("1-2-1") else np.array([10.0, -5.0])
        lr = lr_for(obj)
        runs = {"default": default_run(obj, x0, lr), "numpy": numpy_run(obj, x0, lr)}
        if obj.spec.n_params > 1000:
            runs["float32"] = default_run(obj, x0, lr, "float32")
        t = torch_run(obj, x0, lr)
        if t is not None:
            runs["torch"] = t
        # epochs per measurement: about --seconds on the NumPy path
        probe = cpu_rate(runs["numpy"], 20)
        epochs = int(max(20, min(2_000_000, probe * args.seconds)))
        if case[0].startswith("1-2-1"):
            epochs *= 20
        rates = {k: [] for k in runs}
        for _ in range(args.rounds):
            for k, go in runs.items():
                rates[k].append(cpu_rate(go, epochs))
        med = {k: statistics.median(v) for k, v in rates.items()}
        rows.append((case[0], obj.spec.n_params, obj.data.n_samples, runs["default"].kernel, med))
        if not args.markdown:
            print(fmt_row(rows[-1]), flush=True)
    load = os.getloadavg()[0]
    tail = f"load average {load:.2f} on {os.cpu_count()} cores; {args.rounds} rounds, medians"
    if args.markdown:
        print(HEADER)
        for row in rows:
            print(md_row(row))
        print(f"\nEpochs per CPU second; {tail}.")
    else:
        print(f"\n{tail}")


HEADER = (
    "| network (samples) | parameters | kernel chosen | default | NumPy path | vs NumPy "
    "| PyTorch f64 | vs PyTorch | float32 (blas) | vs PyTorch |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
)


def md_row(row) -> str:
    name, n, q, kernel, med = row
    d, npy, tor, f32 = med["default"], med["numpy"], med.get("torch"), med.get("float32")
    cells = [f"{name} ({q:,})", f"{n:,}", kernel, f"{d:,.0f}", f"{npy:,.0f}", f"{d / npy:.2f}x"]
    cells += [f"{tor:,.0f}", f"{d / tor:.2f}x"] if tor else ["-", "-"]
    cells += [f"{f32:,.0f}", f"{f32 / tor:.2f}x" if tor else "-"] if f32 else ["-", "-"]
    return "| " + " | ".join(cells) + " |"


def fmt_row(row) -> str:
    name, n, q, kernel, med = row
    d, npy, tor = med["default"], med["numpy"], med.get("torch")
    t = f"{tor:10.0f}  {d / tor:5.2f}x" if tor else "         -      -"
    f32 = med.get("float32")
    f = f"  float32 {f32:8.0f}" if f32 else ""
    return f"{name:30s} {n:6d} {q:5d}  {kernel:6s} {d:10.0f} {npy:10.0f}  {d / npy:5.2f}x {t}{f}"


if __name__ == "__main__":
    main()
