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
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import Session, SessionError, load_session, save_session, session_to_dict

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
    from bpgui_engine.train.history import COLUMNS

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
    assert check_run(setup.replace(optimizer="sd")).need < 4 << 30


def test_save_and_reopen_a_large_network(tmp_path):
    spec = NetworkSpec(1, (300, 300, 1), ("logsig", "logsig", "purelin"))
    setup = Setup.from_preset().with_network(spec)
    path = save_session(Session(setup), tmp_path / "net.bpgui")
    assert load_session(path).setup == setup


def test_opening_a_large_network_peaks_below_three_times_its_arrays(tmp_path):
    """Before: theta and the free labels were JSON lists, made into tuples of Python floats
    and strings, every label looked up in a table of all labels (49x the arrays, 20 s for
    1-2000-2000-1).  Now they are .npy members read into the setup's own arrays."""
    spec = NetworkSpec(1, (400, 400, 1), ("logsig", "logsig", "purelin"))  # 161,201 params
    setup = Setup.from_preset().with_network(spec)
    path = save_session(Session(setup), tmp_path / "net.bpgui")
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("session.json"))
        assert {"setup.theta.npy", "setup.free.npy"} <= set(zf.namelist())
    assert doc["setup"]["theta"] == {"array": "setup.theta"}
    assert doc["setup"]["free"] == {"array": "setup.free", "count": spec.n_params}
    arrays = spec.n_params * 16  # theta (float64) and the free positions (int64)
    peak, out = _peak(lambda: load_session(path))
    assert isinstance(out, Session) and out.setup == setup
    assert peak <= 3 * arrays, f"{peak / arrays:.2f}x"
    # nothing made a string per parameter: the label table was never built
    assert "labels" not in out.setup.spec.__dict__


def _rewrite(path: Path, out: Path, edit_doc=None, members: dict | None = None) -> Path:
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "session.json" and edit_doc:
                doc = json.loads(data)
                edit_doc(doc)
                data = json.dumps(doc).encode()
            name = item.filename[: -len(".npy")]
            if members and name in members:
                if members[name] is None:
                    continue
                import io

                buf = io.BytesIO()
                np.lib.format.write_array(buf, members[name])
                data = buf.getvalue()
            zout.writestr(item.filename, data)
    return out


@pytest.mark.parametrize(
    "case",
    ["theta missing", "theta short", "theta int", "theta nan", "free out of range",
     "free twice", "free count", "free count zero", "bad reference", "free not ints"],
)  # fmt: skip
def test_hostile_parameter_members_get_one_line(tmp_path, case):
    spec = NetworkSpec(1, (40, 30, 1), ("logsig", "logsig", "purelin"))  # 1,341 params
    setup = Setup.from_preset().with_network(spec)
    good = save_session(Session(setup), tmp_path / "good.bpgui")
    n = spec.n_params
    free = np.arange(n, dtype=np.int64)
    edits = {
        "theta missing": (None, {"setup.theta": None}, "missing"),
        "theta short": (None, {"setup.theta": np.zeros(n - 1)}, "setup.theta.npy"),
        "theta int": (None, {"setup.theta": np.zeros(n, dtype=np.int64)}, "setup.theta.npy"),
        "theta nan": (None, {"setup.theta": np.full(n, np.nan)}, "finite"),
        "free out of range": (None, {"setup.free": np.where(free == 5, n + 7, free)}, "outside"),
        "free twice": (None, {"setup.free": np.where(free == 5, 4, free)}, "twice"),
        "free count": (lambda d: d["setup"]["free"].update(count=n - 1), None, "setup.free"),
        "free count zero": (lambda d: d["setup"]["free"].update(count=0), None, "count"),
        "bad reference": (lambda d: d["setup"].update(theta={"array": "x"}), None, "theta"),
        "free not ints": (None, {"setup.free": free.astype(float)}, "setup.free.npy"),
    }
    edit_doc, members, match = edits[case]
    bad = _rewrite(good, tmp_path / "bad.bpgui", edit_doc, members)
    with pytest.raises(SessionError, match=match) as exc:
        load_session(bad)
    assert "\n" not in str(exc.value) and str(exc.value).startswith("bad.bpgui: ")
