"""Issue 10 #6: memory and time bounded by what a file can honestly need.  The hostile
files are built by benchmarks/bench_memory.py (the same builders the benchmark uses)."""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpgui_engine.memory import MemoryLimitError, check_run, run_bytes
from bpgui_engine.network import NetworkSpec
from bpgui_engine.session import Session, SessionError, load_session, save_session, session_to_dict
from bpgui_engine.setup import Setup

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_memory as bm


def _peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        try:
            out = fn()
        except SessionError as exc:
            out = exc
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def test_a_history_claiming_millions_of_rows_is_refused_cheaply(tmp_path):
    """Before: every column was read whole (3.2 GB for 40 M rows) before the epochs were
    checked.  Now the epoch column is checked streaming, before anything is allocated."""
    path = tmp_path / "forged.bpgui"
    bm.hostile_history(path, 5_000_000)  # 40 MB per column, zeros
    t0 = time.perf_counter()
    peak, out = _peak(lambda: load_session(path))
    assert isinstance(out, SessionError) and "increasing" in str(out)
    assert peak < 40 << 20, f"{peak / 2**20:.0f} MiB"  # less than one column
    assert time.perf_counter() - t0 < 10


def test_padded_session_json_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "padded.bpgui"
    bm.inflated_json(path, 60_000_000)
    peak, out = _peak(lambda: load_session(path))
    assert isinstance(out, SessionError) and "whitespace" in str(out)
    assert peak < 20 << 20, f"{peak / 2**20:.0f} MiB"


def test_declared_shape_must_match_the_member_before_reading(tmp_path):
    """history.length says 10 M rows, the members hold 100: refused from the sizes."""
    s = Session(Setup.from_preset())
    doc = session_to_dict(s)
    from bpgui_engine.history import COLUMNS

    cols = [c for c in COLUMNS if c != "performance"]
    doc["history"] = {"length": 10_000_000, "stop": None, "columns": cols}
    path = tmp_path / "short.bpgui"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", json.dumps(doc))
        for c in cols:
            bm._member(zf, f"history.{c}.npy", (100,), "<f8", lambda i, j: np.arange(i, j))
        bm._member(zf, "history.x.npy", (100, 2), "<f8", lambda i, j: np.zeros((j - i, 2)))
    with pytest.raises(SessionError, match="needs 80,000,000 bytes, the archive member holds"):
        load_session(path)


def test_opening_is_refused_when_the_arrays_do_not_fit_the_memory_budget(tmp_path, monkeypatch):
    path = tmp_path / "valid.bpgui"
    bm.valid_session(path, 200_000)
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "10M")
    with pytest.raises(SessionError, match=r"opening needs about .* BPGUI_MEMORY_LIMIT"):
        load_session(path)
    monkeypatch.delenv("BPGUI_MEMORY_LIMIT")
    assert len(load_session(path).history) == 200_000


def test_opening_a_valid_session_peaks_below_three_times_its_arrays(tmp_path):
    path = tmp_path / "valid.bpgui"
    real = bm.valid_session(path, 500_000)
    peak, out = _peak(lambda: load_session(path))
    assert isinstance(out, Session) and len(out.history) == 500_000
    assert peak <= 3 * real, f"{peak / real:.2f}x"


def test_lm_memory_is_estimated_from_the_jacobian_and_refused_with_the_number(monkeypatch):
    spec = NetworkSpec(1, (10_000, 1), ("logsig", "purelin"))
    need, why = run_bytes(spec, 21, spec.n_params, "lm")
    assert need > 4 * 30_001**2 * 8 and "Jacobian 21 (samples x outputs) x 30,001" in why
    setup = Setup.from_preset().with_network(spec).replace(optimizer="lm")
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "4G")
    with pytest.raises(MemoryLimitError, match=r"needs about 2\d\.\d GiB .* 4\.0 GiB"):
        check_run(setup)
    assert check_run(setup.replace(optimizer="sd")) < 4 << 30


def test_save_and_reopen_a_large_network(tmp_path):
    spec = NetworkSpec(1, (300, 300, 1), ("logsig", "logsig", "purelin"))
    setup = Setup.from_preset().with_network(spec)
    path = save_session(Session(setup), tmp_path / "net.bpgui")
    assert load_session(path).setup == setup
