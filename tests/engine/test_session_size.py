"""Issue 18 #16: sessions are stored compressed (every ``.npy`` member deflated, still
readable by ``numpy.load``; old files with stored members still open), and a lighter copy
for handing out samples the history but keeps the run's state, so it continues exactly."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpgui.cli import main
from bpgui.cli.commands import run_session
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.session import (
    Session,
    SessionError,
    lighten,
    load_session,
    read_session_bytes,
    save_lighter_copy,
    save_session,
    session_bytes,
)
from bpgui_engine.session.lighter import sample_rows
from bpgui_engine.train.history import COLUMNS, History
from tests.engine.test_animation import trained
from tests.engine.test_cli_reliability import _one_line_exit_2
from tests.session_files import edit_description

FIXTURES = Path(__file__).parent / "sessions"
EPOCHS = 20_000


@pytest.fixture(scope="module")
def traj_b() -> Session:
    """Trajectory b's first 20,000 epochs: a path still moving, every column real data."""
    return trained(get_experiment("trajectory-b").setup(), epochs=EPOCHS)


def _members(data: bytes) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: i for i in zf.infolist()}


# ---- compressed ---------------------------------------------------------------------------------
def test_every_array_member_is_deflated_and_numpy_still_reads_it(traj_b, tmp_path):
    path = save_session(traj_b, tmp_path / "b.bpgui")
    members = _members(path.read_bytes())
    npys = [m for m in members.values() if m.filename.endswith(".npy")]
    assert {m.filename for m in npys} >= {"history.x.npy", "history.sse.npy"}
    assert all(m.compress_type == zipfile.ZIP_DEFLATED for m in npys)
    raw = sum(m.file_size for m in npys)
    assert path.stat().st_size < 0.7 * raw, f"{path.stat().st_size / raw:.2f} of the arrays"
    with np.load(path) as z:  # any NumPy reads it, no bpgui needed
        assert np.array_equal(z["history.x"], traj_b.history.x)
        assert np.array_equal(z["history.sse"], traj_b.history.column("sse"))


def test_an_old_session_with_stored_members_opens_and_resaves_compressed(tmp_path):
    old = (FIXTURES / "v4.bpgui").read_bytes()
    stored = [m for m in _members(old).values() if m.compress_type == zipfile.ZIP_STORED]
    assert any(m.filename == "history.x.npy" for m in stored)  # written before compression
    s = read_session_bytes(old, "v4.bpgui")
    again = read_session_bytes(session_bytes(s))
    assert np.array_equal(again.history.x, s.history.x)
    for c in COLUMNS:
        assert np.array_equal(again.history.column(c), s.history.column(c), equal_nan=True)
    members = _members(session_bytes(s))
    assert all(
        m.compress_type == zipfile.ZIP_DEFLATED for n, m in members.items() if n.endswith(".npy")
    )


# ---- a lighter copy -----------------------------------------------------------------------------
def test_a_lighter_copy_continues_exactly_as_the_full_session(traj_b, tmp_path):
    full = save_session(traj_b, tmp_path / "full.bpgui")
    light = save_lighter_copy(traj_b, tmp_path / "light.bpgui", blocks=64)
    assert light.rows_before == EPOCHS + 1 and 100 < light.rows_after < 2000
    assert light.bytes < full.stat().st_size / 10
    a, b = load_session(full), load_session(light.path)
    assert b.history_sampled_from == EPOCHS + 1 and a.history_sampled_from is None
    assert (b.run.epoch, b.run.optimizer_state) == (a.run.epoch, a.run.optimizer_state)
    run_session(a, 3000)
    run_session(b, 3000)
    assert b.run.epoch == a.run.epoch == EPOCHS + 3000
    assert np.array_equal(b.run.x, a.run.x)  # bit for bit
    assert b.run.optimizer_state == a.run.optimizer_state
    new_a, new_b = a.history.column("epoch") > EPOCHS, b.history.column("epoch") > EPOCHS
    assert new_a.sum() == new_b.sum() == 3000
    assert np.array_equal(a.history.x[new_a], b.history.x[new_b])
    assert np.array_equal(a.history.column("sse")[new_a], b.history.column("sse")[new_b])


def test_the_kept_epochs_are_exact_rows_with_every_curves_extremes(traj_b):
    h = traj_b.history
    light = lighten(traj_b, blocks=64).history
    rows = np.searchsorted(h.column("epoch"), light.column("epoch"))
    assert np.array_equal(h.column("epoch")[rows], light.column("epoch"))  # real epochs
    assert np.array_equal(h.x[rows], light.x)  # the trajectory exact at each of them
    for c in ("sse", "grad_norm"):
        assert light.column(c).min() == h.column(c).min()
        assert light.column(c).max() == h.column(c).max()
    assert light.column("epoch")[0] == 0 and light.column("epoch")[-1] == EPOCHS
    assert light.stop == h.stop and len(traj_b.history) == EPOCHS + 1  # the original kept


def test_a_spike_anywhere_is_kept_and_early_epochs_stay_dense():
    n = 200_000
    rng = np.random.default_rng(3)
    h = History(2, capacity=n)
    cols = {c: np.full(n, 1.0) for c in COLUMNS}
    cols["epoch"] = np.arange(n, dtype=np.int64)
    cols["sse"] = cols["performance"] = np.exp(-np.arange(n) / 5e4)
    cols["grad_norm"] = 1.0 + 1e-3 * rng.normal(size=n)
    spikes = rng.choice(n, 5, replace=False)
    cols["sse"][spikes] = 50.0
    h.extend(cols, rng.normal(size=(n, 2)), "epochs")
    rows = sample_rows(h, blocks=256)
    assert set(spikes) <= set(rows.tolist())
    assert len(rows) < 3000
    assert np.all(np.isin(np.arange(16), rows))  # the first epochs, for a log axis


def test_export_lighter_on_the_command_line(traj_b, tmp_path, capsys):
    path = save_session(traj_b, tmp_path / "b.bpgui")
    out = tmp_path / "light.bpgui"
    assert main(["export", str(path), "--lighter", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out} (a lighter copy: 20,001 -> " in err and "continues exactly" in err
    doc = json.loads(zipfile.ZipFile(out).read("session.json"))
    assert doc["history"]["sampled_from"] == EPOCHS + 1
    assert doc["history"]["length"] < EPOCHS / 2
    line = _one_line_exit_2(["export", str(path), "--lighter", str(path)], capsys)
    assert "is the SESSION being read" in line


def test_a_lighter_copy_of_a_short_run_is_the_whole_run(tmp_path):
    s = trained(get_experiment("trajectory-a").setup(), epochs=50)
    light = save_lighter_copy(s, tmp_path / "l.bpgui")
    assert light.rows_after == light.rows_before == 51
    assert load_session(light.path).history_sampled_from is None


def test_sampled_from_below_the_length_is_refused():
    s = trained(get_experiment("trajectory-a").setup(), epochs=50)
    raw = session_bytes(lighten(s))

    def change(doc: dict) -> None:
        doc["history"]["sampled_from"] = 3

    edited = edit_description(raw, change)
    with pytest.raises(SessionError, match="history.sampled_from"):
        read_session_bytes(edited)
