"""Schema 3: basin maps, sweeps and races in session files (issue 12).  Round trips are
compared field by field with what was saved; hostile files give one-line errors."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpgui_engine.maps.basins import BasinJob, basin_map
from bpgui_engine.maps.race import Race, RaceEntry
from bpgui_engine.maps.sweep import sweep
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import (
    Session,
    SessionError,
    load_session,
    read_session_bytes,
    save_session,
    session_bytes,
)

FIXTURES = Path(__file__).parent / "sessions"
X0 = np.array([-4.0, -4.0])


def book() -> Setup:
    return Setup.from_preset("book-1-2-1", ranges=((-5.0, 15.0), (-5.0, 45.0)))


@pytest.fixture(scope="module")
def maps_session() -> Session:
    s = book()
    m = basin_map(s, resolution=6, epochs=3000, hyper={"lr": 30.0}, min_grad=1e-4)
    assert len(m.minima) >= 1  # so that the hostile "no minima" below contradicts the labels
    sw = sweep(s, "lr", (1.0, 40.0), "gamma", (0.1, 0.9), optimizer="momentum",
               resolution=(4, 3), epochs=300, x0=X0)  # fmt: skip
    race = Race(s, [RaceEntry("sd", {"lr": 2.0}), RaceEntry("lm")], X0, epochs=40)
    for _ in race.steps(15):
        pass
    return Session(s, basins=m, sweep=sw, sweep_start=X0.copy(), race=race.record())


def _same_dataclass(a, b) -> None:
    for f in dataclasses.fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and np.array_equal(va, vb, equal_nan=True), f.name
        else:
            assert va == vb, f.name


def test_round_trip_is_identical(maps_session, tmp_path):
    s = maps_session
    back = load_session(save_session(s, tmp_path / "maps.bpgui"))
    _same_dataclass(s.basins, back.basins)
    _same_dataclass(s.sweep, back.sweep)
    assert np.array_equal(back.sweep_start, X0)
    r, q = s.race, back.race
    assert q.setup == r.setup and np.array_equal(q.x0, r.x0) and q.criteria == r.criteria
    assert q.entries == r.entries
    for a, b in zip(r.results, q.results, strict=True):
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
    for ha, hb in zip(r.histories, q.histories, strict=True):
        assert len(ha) == len(hb) > 1 and ha.stop == hb.stop
        assert np.array_equal(ha.x, hb.x)
        assert np.array_equal(ha.column("sse"), hb.column("sse"), equal_nan=True)

    # and saving what was opened writes the same description
    def described(path):
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("session.json"))

    assert described(save_session(back, tmp_path / "b.bpgui")) == described(tmp_path / "maps.bpgui")


def test_a_partial_map_stays_partial(tmp_path):
    job = BasinJob(book(), resolution=8, epochs=200, chunk_cells=16)
    it = job.chunks()
    next(it)
    it.close()
    m = job.result()
    assert m.partial and (m.labels == -1).any()
    back = read_session_bytes(session_bytes(Session(book(), basins=m)))
    assert back.basins.partial
    assert np.array_equal(back.basins.labels, m.labels)
    assert np.array_equal(back.basins.stop, m.stop)


def test_v3_fixture_holds_all_three():
    s = load_session(FIXTURES / "v3.bpgui")
    assert s.basins is not None and s.basins.resolution == 5
    assert s.basins.free == s.setup.free
    assert s.sweep is not None and (s.sweep.x_param, s.sweep.y_param) == ("lr", "gamma")
    assert s.race is not None and len(s.race.entries) == 2
    assert len(s.race.histories[0]) == 31


def test_v2_fixture_migrates_with_no_maps():
    s = load_session(FIXTURES / "v2.bpgui")
    assert s.basins is None and s.sweep is None and s.race is None


def _edit(data: bytes, edit, drop: str | None = None) -> bytes:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["session.json"] = json.dumps(edit(json.loads(members["session.json"]))).encode()
    if drop:
        del members[drop]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, d in members.items():
            zf.writestr(name, d)
    return buf.getvalue()


def _set(path: str, value):
    def edit(doc):
        *head, last = path.split(".")
        d = doc
        for k in head:
            d = d[int(k)] if isinstance(d, list) else d[k]
        if isinstance(d, list):
            d[int(last)] = value
        else:
            d[last] = value
        return doc

    return edit


HOSTILE = [
    ("basins.resolution", 7, "basins"),
    ("basins.resolution", 10**6, "basins.resolution"),
    ("basins.resolution", "6", "basins.resolution"),
    ("basins.map.free", ["W1[1,1]", "b1[1]"], "basins.map.free"),
    ("basins.map.x_label", "b2", "x_label"),
    ("basins.map.optimizer", "newton", "basins.map.optimizer"),
    ("basins.map.hyper", {"lr": -1}, "basins.map.hyper"),
    ("basins.map.minima", [], "basins"),
    ("basins.map.max_epochs", 0, "max_epochs"),
    ("basins.map.format", "x", "basins"),
    ("basins", [1], "basins"),
    ("sweep.shape", [4], "sweep.shape"),
    ("sweep.shape", [3, 4], "sweep"),
    ("sweep.shape", [5000, 1], "sweep.shape"),
    ("sweep.result.x_param", "eta", "sweep.result.x_param"),
    ("sweep.result.optimizer", "adadelta", "sweep.result.optimizer"),
    ("sweep.start", [1, 2, 3], "sweep.start"),
    ("race.lengths", [1], "race.lengths"),
    ("race.lengths.0", -3, "race.lengths"),
    ("race.record.entries", [], "race.record.entries"),
    ("race.record.setup", {"network": 1}, "race"),
    ("race.record.version", 9, "race"),
    ("race.lengths.0", 5, "race.0"),
]


@pytest.mark.parametrize(("path", "value", "match"), HOSTILE)
def test_hostile_values_give_one_line(maps_session, path, value, match):
    bad = _edit(session_bytes(maps_session), _set(path, value))
    with pytest.raises(SessionError, match=match.replace("[", r"\[")) as info:
        read_session_bytes(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("member", ["basins.labels.npy", "sweep.stop.npy", "race.1.x.npy"])
def test_a_missing_member_is_named(maps_session, member):
    bad = _edit(session_bytes(maps_session), lambda d: d, drop=member)
    with pytest.raises(SessionError, match=member.replace(".", r"\.")):
        read_session_bytes(bad)


def test_out_of_range_codes_are_refused(maps_session):
    s = maps_session
    labels = s.basins.labels.copy()
    labels[0, 0] = 99
    bad = dataclasses.replace(s.basins, labels=labels)
    with pytest.raises(SessionError, match="not saved.*basins.labels"):
        session_bytes(Session(s.setup, basins=bad))
    stop = s.sweep.stop.copy()
    stop[0, 0] = 77
    with pytest.raises(SessionError, match="not saved.*sweep.stop"):
        session_bytes(Session(s.setup, sweep=dataclasses.replace(s.sweep, stop=stop)))


def test_a_map_of_another_problem_is_not_saved(maps_session):
    """The map must have been computed on the session's setup (same free parameters)."""
    other = book().replace(free=("W1[1,1]", "W2[1,1]", "b2"))
    with pytest.raises(SessionError, match="not saved.*basins.map.free"):
        session_bytes(Session(other, basins=maps_session.basins))


def _empty_parts() -> dict:
    """A race whose entries never ran an epoch, a map and a sweep with no cell computed."""
    s = book()
    race = Race(s, [RaceEntry("sd", {"lr": 2.0}), RaceEntry("cg")], X0, epochs=40)
    job = BasinJob(s, resolution=4, epochs=50, chunk_cells=16)
    return {"race": race.record(), "basins": job.result()}


@pytest.mark.parametrize("part", ["race", "basins", "run"])
def test_empty_histories_save_and_reopen(part, tmp_path):
    """Issue 25 #3: a race stopped before its first epoch (and any other history with no
    rows) must not make the session unsaveable."""
    s = book()
    if part == "run":
        from bpgui_engine.train.history import History

        sess = Session(s, start=X0.copy())
        sess.history = History(len(s.free))
    else:
        sess = Session(s, **{part: _empty_parts()[part]})
    back = load_session(save_session(sess, tmp_path / f"{part}.bpgui"))
    if part == "race":
        assert [len(h) for h in back.race.histories] == [0, 0]
        assert all(h.x.shape == (0, 2) for h in back.race.histories)
        assert back.race.entries == sess.race.entries
    elif part == "basins":
        assert (back.basins.labels == -1).all() and back.basins.partial
    else:
        assert back.history is None or len(back.history) == 0
