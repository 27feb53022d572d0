"""Issue 24: a history that stays within a budget.

The thinning rule is checked against a plain re-implementation over the full history
(which rows stay, the min and max of every curve per block, whole rows), memory against
the budget after every append, the views' decimators against the rows they follow, and
exact resume across a thinned history against a run never interrupted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpgui_engine import memory
from bpgui_engine.memory import check_run, history_budget, history_rows, parse_size, plan_run
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import Session, load_session, save_session
from bpgui_engine.session.schema import SessionError
from bpgui_engine.train.history import COLUMNS, Decimator, History
from bpgui_engine.train.pathdec import PathDecimator
from bpgui_engine.train.thinning import CURVES, Kept, parts
from bpgui_engine.train.trainer import StopCriteria

MAX_ROWS = 3000


def full_history(n: int, seed: int = 0, n_free: int = 3) -> tuple[dict, np.ndarray]:
    """Every epoch of a made-up run: noisy curves with NaN, inf and ties, a constant
    learning rate that changes once, mu all NaN."""
    rng = np.random.default_rng(seed)
    cols = {
        "epoch": np.arange(n, dtype=np.int64),
        "performance": rng.random(n),
        "sse": np.round(rng.random(n), 2),  # ties: the first of equal values is kept
        "grad_norm": rng.lognormal(size=n),
        "lr": np.where(np.arange(n) < n // 2, 0.1, 0.2),
        "mu": np.full(n, np.nan),
        "val_performance": rng.random(n),
    }
    cols["grad_norm"][rng.integers(0, n, n // 50)] = np.nan
    cols["sse"][rng.integers(0, n, 5)] = np.inf
    return cols, rng.normal(size=(n, n_free))


def feed(h: History, cols: dict, x: np.ndarray, seed: int = 1) -> None:
    """Append in blocks of random sizes (1 to ~1,000 rows), as frames arrive; the budget
    holds after every one."""
    rng = np.random.default_rng(seed)
    i, n = 0, len(x)
    while i < n:
        k = int(rng.integers(1, 1000))
        h.extend({c: cols[c][i : i + k] for c in COLUMNS}, x[i : i + k])
        i += k
        assert len(h) <= h.max_rows and h._cap <= h.max_rows


def check_thinning(h: History, cols: dict, x: np.ndarray) -> None:
    """The thinned ``h`` against the full history, block by block, in plain Python."""
    ep = h.column("epoch")
    kp = h.kept
    assert kp is not None
    rows = ep  # the full history's rows are its epochs (0, 1, 2, ...)
    # whole rows: every kept row is the full history's row at that epoch, bit for bit
    for c in COLUMNS:
        np.testing.assert_array_equal(h.column(c), cols[c][rows])
    np.testing.assert_array_equal(h.x, x[rows])
    # the head and the tail: every epoch
    np.testing.assert_array_equal(ep[: kp.head], np.arange(kp.head))
    tail_from = int(ep[kp.middle_end])
    np.testing.assert_array_equal(ep[kp.middle_end :], np.arange(tail_from, len(x)))
    # the middle: per block of kp.block epochs from kp.origin, its first epoch and, of
    # every curve, the lowest and the highest value (NaN only when nothing else)
    assert kp.origin == kp.head
    middle = ep[kp.head : kp.middle_end]
    blocks = 0
    for b0 in range(kp.origin, tail_from, kp.block):
        b1 = min(b0 + kp.block, tail_from)
        kept = middle[(middle >= b0) & (middle < b1)]
        if b1 <= b0:
            continue
        blocks += 1
        assert b0 in kept, f"block at {b0}: its first epoch is missing"
        for c in CURVES:
            full = cols[c][b0:b1]
            if np.all(np.isnan(full)):
                continue
            mine = cols[c][kept]
            assert np.nanmin(mine) == np.nanmin(full), (c, b0)
            assert np.nanmax(mine) == np.nanmax(full), (c, b0)
    assert blocks >= 2
    # ... and nothing else: at most the first row and two per varying curve, per block
    assert len(middle) <= blocks * (1 + 2 * 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_kept_rows_are_the_heads_the_tails_and_each_blocks_extremes(seed):
    n = 60_000
    cols, x = full_history(n, seed)
    h = History(3, max_rows=MAX_ROWS)
    feed(h, cols, x, seed)
    assert h.thins > 10 and h.kept.block >= 16
    check_thinning(h, cols, x)
    head, middle, tail = parts(MAX_ROWS)
    assert h.kept.head == head and h.kept.middle_end - h.kept.head <= middle
    assert len(h) - h.kept.middle_end >= tail  # the most recent epochs, every one
    text = h.describe()
    assert text.startswith(f"every epoch to {head - 1:,}, then the extremes of each ")
    assert text.endswith(f"every epoch from {int(h.column('epoch')[h.kept.middle_end]):,}")


def test_a_history_within_its_budget_is_not_touched():
    cols, x = full_history(2000)
    h = History(3, max_rows=MAX_ROWS)
    feed(h, cols, x)
    assert h.kept is None and h.thins == 0 and h.describe() == "every epoch"
    np.testing.assert_array_equal(h.x, x)


def test_one_append_larger_than_the_budget_is_taken_a_slice_at_a_time():
    cols, x = full_history(20_000)
    h = History(3, max_rows=MAX_ROWS)
    h.extend(cols, x, "epochs")
    assert len(h) <= MAX_ROWS and h.stop == "epochs"
    check_thinning(h, cols, x)


def test_memory_is_flat_once_the_budget_is_reached():
    cols, x = full_history(50_000)
    h = History(3, max_rows=MAX_ROWS)
    sizes = []
    for i in range(0, 50_000, 500):
        h.extend({c: cols[c][i : i + 500] for c in COLUMNS}, x[i : i + 500])
        sizes.append(h.nbytes)
    assert max(sizes) == sizes[-1] <= MAX_ROWS * 8 * (len(COLUMNS) + 3)


def test_the_decimators_follow_rows_a_thinning_history_moved():
    """The curves' and the path's decimators hold row numbers; after a thinning they find
    their rows again by epoch (no recomputation from scratch) and stay valid."""
    cols, x = full_history(40_000)
    h = History(3, max_rows=MAX_ROWS)
    dec, path = Decimator(max_blocks=64), PathDecimator(points=100)
    rng = np.random.default_rng(5)
    i = 0
    while i < 40_000:
        k = int(rng.integers(1, 2000))
        h.extend({c: cols[c][i : i + k] for c in COLUMNS}, x[i : i + k])
        i += k
        ep = h.column("epoch")
        before = dec._done
        idx = dec.update(h.column("sse"), ep)
        assert np.all(np.diff(idx) > 0) and idx[0] >= 0 and idx[-1] < len(h)
        assert dec._done <= len(h) and (h.thins == 0 or before > 0)
        # the lowest error of all kept rows is among the rows drawn (the envelope holds)
        sse = h.column("sse")
        assert np.nanmin(sse[idx]) == np.nanmin(sse)
        start = path.follow(ep)
        assert 0 < start <= len(h) or i == k
        pidx = path.update(x[ep[start:], 0], x[ep[start:], 1], (1.0, 1.0))
        assert np.all(np.diff(pidx) > 0) and pidx[-1] == len(h) - 1 and pidx[0] >= 0
    assert h.thins > 5
    # what the path kept are real rows of the history: epochs it had seen, in order
    assert path.done == len(h)


def test_the_budget_setting_and_the_memory_limit(monkeypatch):
    monkeypatch.delenv("BPGUI_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("BPGUI_HISTORY_BUDGET", raising=False)
    monkeypatch.setattr(memory, "_physical_bytes", lambda: 64 << 30)
    assert history_budget() == (2 << 30, "the default")
    monkeypatch.setattr(memory, "_physical_bytes", lambda: 4 << 30)
    assert history_budget() == (1 << 30, "a quarter of physical memory")
    assert history_budget(300 << 20) == (300 << 20, "the setting")
    monkeypatch.setenv("BPGUI_HISTORY_BUDGET", "100M")
    assert history_budget() == (100 << 20, "BPGUI_HISTORY_BUDGET")
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "1G")  # never above what the limit leaves
    monkeypatch.delenv("BPGUI_HISTORY_BUDGET")
    budget, source = history_budget()
    assert budget == ((1 << 30) - memory.PROGRAM_BYTES) // 2 and "BPGUI_MEMORY_LIMIT" in source
    assert history_budget(64 << 20)[0] == 64 << 20  # a smaller setting stands
    # rows: 8 bytes a value, the 7 columns and the free parameters
    assert history_rows(2, 72 * 1000) == 1000
    for text, v in (("512M", 512 << 20), ("2G", 2 << 30), ("300k", 300 << 10), ("1GiB", 1 << 30)):
        assert parse_size(text) == v
    for bad in ("", "lots", "-1G", "nanG", "1e400"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_check_run_counts_the_history_and_says_when_it_will_be_thinned(monkeypatch):
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "1G")
    setup = Setup.from_preset().replace(criteria=StopCriteria(epochs=10**9))
    plan = check_run(setup)  # a billion epochs: accepted, the history will be thinned
    budget, _ = history_budget(None, plan.work)
    assert plan.max_rows == history_rows(2, budget) and plan.history <= budget
    assert plan.thin_after == plan.max_rows - 1
    assert plan.note().startswith("the history will be thinned after ~")
    short = setup.replace(criteria=StopCriteria(epochs=1000))
    p = plan_run(short)
    assert p.thin_after is None and p.note() == "" and p.history == 1001 * 72


def _train(s: Session, epochs: int, max_rows: int | None) -> None:
    from bpgui.cli.commands import run_session

    run_session(s, epochs, max_rows=max_rows)


def _moving_setup() -> Setup:
    s = Setup.from_preset()
    return s.replace(hyper={"lr": 5.0}, criteria=StopCriteria(epochs=30_000))


def test_a_thinned_history_saves_reopens_and_continues_exactly(tmp_path):
    setup = _moving_setup()
    a = Session(setup, start=np.array([-4.0, -4.0]))
    _train(a, None, 500)
    assert a.history.kept is not None and len(a.history) <= 500
    path = save_session(a, tmp_path / "thin.bpgui")
    b = load_session(path)
    assert b.history.kept == a.history.kept
    for c in COLUMNS:
        np.testing.assert_array_equal(b.history.column(c), a.history.column(c))
    np.testing.assert_array_equal(b.history.x, a.history.x)
    # continued for 7,000 epochs against one run never interrupted over the same epochs
    _train(b, 7000, 500)
    whole = Session(
        setup.replace(criteria=StopCriteria(epochs=37_000)),
        start=np.array([-4.0, -4.0]),
    )
    _train(whole, None, None)
    assert b.run.epoch == whole.run.epoch == 37_000
    np.testing.assert_array_equal(b.run.x, whole.run.x)
    assert json.dumps(b.run.optimizer_state, sort_keys=True) == json.dumps(
        whole.run.optimizer_state, sort_keys=True
    )
    # and the rows it kept are the uninterrupted run's rows at those epochs
    ep = b.history.column("epoch")
    assert ep[0] == 0 and ep[-1] == 37_000 and len(b.history) <= 500
    for c in COLUMNS:
        np.testing.assert_array_equal(b.history.column(c), whole.history.column(c)[ep])
    np.testing.assert_array_equal(b.history.x, whole.history.x[ep])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"head": 0}, "history.kept.head 0"),
        ({"block": 3}, "history.kept.block: 3 is not a power of two"),
        ({"middle_end": 10**9}, "middle_end"),
        ({"origin": 0}, "history.kept.origin"),
        ({"head": "7"}, "history.kept.head: expected an integer"),
    ],
)
def test_a_malformed_kept_field_is_refused_in_one_line(tmp_path, change, message):
    import zipfile

    a = Session(_moving_setup(), start=np.array([-4.0, -4.0]))
    _train(a, 3000, 300)
    path = save_session(a, tmp_path / "thin.bpgui")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["session.json"])
    doc["history"]["kept"].update(change)
    members["session.json"] = json.dumps(doc).encode()
    bad = tmp_path / "bad.bpgui"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(SessionError, match=message.replace("(", r"\(")) as err:
        load_session(bad)
    assert "\n" not in str(err.value)


def test_a_race_keeps_each_entrys_history_within_its_share_and_saves_it():
    from bpgui_engine.maps.race import Race, RaceEntry, race_from_dict, race_to_dict

    setup = _moving_setup()
    race = Race(
        setup,
        [RaceEntry("sd", {"lr": 5.0}), RaceEntry("momentum", {"lr": 5.0, "gamma": 0.5})],
        np.array([-4.0, -4.0]),
        epochs=20_000,
        max_rows=400,
    )
    for _ in race.steps(997):
        pass
    for h in race.histories:
        assert h.kept is not None and len(h) <= 400 and h.column("epoch")[-1] == 20_000
    doc, arrays = race_to_dict(race)
    back = race_from_dict(json.loads(json.dumps(doc)), arrays)
    for h0, h1 in zip(race.histories, back.histories, strict=True):
        assert h1.kept == h0.kept
        np.testing.assert_array_equal(h1.x, h0.x)


def test_kept_round_trips_through_its_dict():
    k = Kept(head=10, middle_end=20, block=64, origin=10)
    assert Kept.from_dict(k.to_dict(), 30) == k


def test_a_session_with_a_thinned_race_saves_and_reopens(tmp_path):
    from bpgui_engine.maps.race import Race, RaceEntry

    setup = _moving_setup()
    race = Race(setup, [RaceEntry("sd", {"lr": 5.0})], np.array([-4.0, -4.0]),
                epochs=8000, max_rows=300)  # fmt: skip
    for _ in race.steps(1000):
        pass
    s = Session(setup)
    s.race = race.record()
    back = load_session(save_session(s, tmp_path / "race.bpgui"))
    (h0,), (h1,) = race.histories, back.race.histories
    assert h0.kept is not None and h1.kept == h0.kept
    np.testing.assert_array_equal(h1.column("epoch"), h0.column("epoch"))


def test_a_path_that_lagged_behind_a_thinning_follows_twice_without_drawing():
    """The soak's find: a view not redrawn while its last row was thinned away, asked
    twice (an autosave, then a frame) before it draws again."""
    cols, x = full_history(30_000)
    h = History(3, max_rows=MAX_ROWS)
    path = PathDecimator(points=50)
    h.extend({c: cols[c][:2000] for c in COLUMNS}, x[:2000])
    ep = h.column("epoch")
    start = path.follow(ep)
    path.update(x[ep[start:], 0], x[ep[start:], 1], (1.0, 1.0))
    feed(h, {c: cols[c][2000:] for c in COLUMNS}, x[2000:])  # row 1999 is in the middle now
    assert h.kept is not None and 1999 not in h.column("epoch")
    ep = h.column("epoch")
    first = path.follow(ep)
    assert path.follow(ep) == first  # asked again: the same, nothing re-mapped twice
    pidx = path.update(x[ep[first:], 0], x[ep[first:], 1], (1.0, 1.0))
    assert pidx[-1] == len(h) - 1 and np.all(np.diff(pidx) > 0)
