"""Issue 18 #18: ``bpgui race`` keeps its memory bounded and refuses what cannot fit, and
``bpgui export --history`` streams instead of building the whole CSV in memory.  Peak
memory is measured with tracemalloc (NumPy reports its buffers to it)."""

from __future__ import annotations

import csv
import tracemalloc

import numpy as np
import pytest

from bpgui.cli import main
from bpgui_engine.maps.race import Race, RaceEntry
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import Session, save_session
from bpgui_engine.train.history import COLUMNS, History
from tests.engine.test_cli_reliability import _one_line_exit_2


def _peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


# ---- race ---------------------------------------------------------------------------------------
def test_a_long_race_on_the_command_line_keeps_its_memory_flat(capsys):
    main(["race", "--entry", "sd:lr=1", "--epochs", "10"])  # kernels loaded, not measured
    capsys.readouterr()
    epochs = 1_500_000  # kept, its history alone would be 1.5e6 x 9 x 8 bytes = 108 MB
    peak, code = _peak(lambda: main(["race", "--entry", "sd:lr=0.001", "--epochs", str(epochs)]))
    assert code == 0
    out = capsys.readouterr().out
    assert f"{epochs:,}" in out  # it ran them all
    assert peak < 25e6, f"{peak / 1e6:.0f} MB"


def test_a_race_without_histories_has_the_same_results():
    setup = Setup.from_preset()
    entries = [RaceEntry("sd", {"lr": 1.0}), RaceEntry("momentum", {"lr": 4.0, "gamma": 0.8})]
    kept = Race(setup, entries, np.array([-4.0, -4.0]), epochs=3000, goal=1e-3)
    lean = Race(setup, entries, np.array([-4.0, -4.0]), epochs=3000, goal=1e-3,
                keep_history=False)  # fmt: skip
    for race, step in ((kept, 700), (lean, 250)):
        with np.errstate(all="ignore"):
            for _ in race.steps(step):
                pass
    a, b = kept.results(), lean.results()
    for ra, rb in zip(a, b, strict=True):
        assert (ra.epochs, ra.epochs_to_goal, ra.stop, ra.end) == (
            rb.epochs, rb.epochs_to_goal, rb.stop, rb.end,
        )  # fmt: skip
        assert ra.performance == rb.performance and ra.minimum == rb.minimum
    assert all(len(h) == 1 for h in lean.histories) and lean.record().histories is None
    assert len(kept.histories[0]) == a[0].epochs + 1


def test_a_race_that_cannot_fit_is_refused_with_the_estimate(capsys, monkeypatch):
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "1K")
    line = _one_line_exit_2(["race", "--entry", "sd:lr=1", "--entry", "lm", "--epochs", "5"],
                            capsys)  # fmt: skip
    assert "the race of 2 entries needs about" in line and "BPGUI_MEMORY_LIMIT" in line


# ---- export --history ---------------------------------------------------------------------------
def _long_session(n: int) -> Session:
    rng = np.random.default_rng(0)
    h = History(2, capacity=n)
    cols = {c: rng.normal(size=n) for c in COLUMNS}
    cols["epoch"] = np.arange(n, dtype=np.int64)
    h.extend(cols, rng.normal(size=(n, 2)), "epochs")
    s = Session(Setup.from_preset())
    s.history = h
    return s


@pytest.mark.slow  # 6-15 s each (a long run exported): make test-slow, CI
@pytest.mark.parametrize("what", ["--history", "--trajectory"])
def test_export_history_streams(what, tmp_path, capsys):
    n = 400_000
    s = _long_session(n)
    path = save_session(s, tmp_path / "long.bpgui")
    arrays = n * (len(COLUMNS) + 2) * 8  # 29 MB
    out = tmp_path / "h.csv"
    peak, code = _peak(lambda: main(["export", str(path), what, str(out)]))
    assert code == 0, capsys.readouterr().err
    # the session's own arrays are read (<= 1x); the CSV text is never whole in memory
    assert peak < 1.5 * arrays, f"{peak / arrays:.2f}x the arrays"
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == n + 1
    last = rows[-1]
    assert int(last[0]) == n - 1 and float(last[-1]) == s.history.x[-1, 1]


def test_an_adopted_history_never_writes_the_arrays_it_was_given():
    cols = {c: np.arange(5.0) for c in COLUMNS}
    cols["epoch"] = np.arange(5, dtype=np.int64)
    x = np.zeros((5, 2))
    for a in (*cols.values(), x):
        a.flags.writeable = False  # a write would raise
    h = History.adopt(cols, x, "epochs")
    assert len(h) == 5 and np.shares_memory(h.x, x) and h.stop == "epochs"
    one = {c: np.array([9.0]) for c in COLUMNS}
    one["epoch"] = np.array([5])
    h.extend(one, np.ones((1, 2)))
    assert len(h) == 6 and h.column("epoch")[-1] == 5 and not np.shares_memory(h.x, x)
    h2 = History.adopt(cols, x)
    h2.clear()
    h2.extend(one, np.ones((1, 2)))
    assert len(h2) == 1 and np.array_equal(x, np.zeros((5, 2)))
