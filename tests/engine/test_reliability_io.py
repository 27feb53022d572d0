"""Issue 10: never save what cannot be reopened (#1), never write over what is not ours
(#4), never hang on a FIFO (#7).  Includes the round-trip property test over random
sessions the window can produce."""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.performance import get_performance
from bpgui_engine.model.setup import DataRecipe, Setup
from bpgui_engine.optim import OPTIMIZERS, mismatch
from bpgui_engine.safe_write import OutputError, open_regular, replacing
from bpgui_engine.session import (
    Session,
    SessionError,
    load_session,
    read_session_bytes,
    save_session,
    session_bytes,
    session_trainer,
    trainer_state,
)
from bpgui_engine.session.export import atomic_write_text
from bpgui_engine.train.batch import train_batch
from bpgui_engine.train.history import COLUMNS, History
from bpgui_engine.train.trainer import StopCriteria


def _restarts(setup: Setup, count: int = 5, seed: int = 0):
    X0 = np.random.default_rng(seed).uniform(-5, 5, (count, len(setup.free)))
    with np.errstate(all="ignore"):
        return train_batch(setup.objective(), X0, "sd", epochs=12, stride=4)


# ---- #1: a session the reader would reject is never written ---------------------------------
def test_restarts_of_another_free_set_are_refused_not_written(tmp_path):
    """The bug: restarts computed on 7 free parameters saved with a setup of 2 -> the
    file was written and could not be reopened."""
    setup7 = Setup.from_preset().replace(free=Setup.from_preset().spec.labels)
    s = Session(setup7.replace(free=("W1[1,1]", "W2[1,1]")))
    s.restarts = _restarts(setup7)  # (5, 7) rows for a 2-parameter setup
    path = tmp_path / "s.bpgui"
    path.write_bytes(b"the old file")
    with pytest.raises(SessionError) as err:
        save_session(s, path)
    msg = str(err.value)
    assert "\n" not in msg and "restarts.x.npy" in msg and "would not reopen" in msg
    assert path.read_bytes() == b"the old file"  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["s.bpgui"]  # no temporary left
    with pytest.raises(SessionError):
        session_bytes(s)


def test_history_that_contradicts_the_run_is_refused(tmp_path):
    setup = Setup.from_preset()
    s = Session(setup.replace(criteria=StopCriteria(epochs=5)), start=np.array([-4.0, -4.0]))
    tr, _ = session_trainer(s)
    h = History(2)
    h.append_records(list(tr.run()))
    s.history, s.run = h, trainer_state(tr, [-4.0, -4.0], 5, h.stop)
    s.run.epoch = 99  # the run says 99, the history ends at 5
    with pytest.raises(SessionError, match="last epoch differs"):
        save_session(s, tmp_path / "x.bpgui")
    assert not (tmp_path / "x.bpgui").exists()


# ---- the round-trip property ------------------------------------------------------------------
TRANSFERS = ("logsig", "tansig", "purelin", "poslin")
CSV = "x,y,z\n" + "\n".join(f"{i / 7:.4f},{np.sin(i):.5f},{i % 3}" for i in range(15)) + "\n"


def _value(f, draw):
    md = f.metadata
    if md.get("choices"):
        return draw(st.sampled_from(md["choices"]))
    lo, hi = md.get("lo"), md.get("hi")
    if f.type in ("int", int):
        return draw(st.integers(int(lo or 0) + 1, min(int(hi or 50), 50)))
    lo = -10.0 if lo is None else lo
    hi = 10.0 if hi is None else min(hi, lo + 100.0) if lo > 0 else min(hi, 100.0)
    if md.get("log") and lo >= 0:
        lo_ = max(lo, 1e-6) * (1.01 if md["lo_open"] else 1.0)
        return float(np.exp(draw(st.floats(np.log(lo_), np.log(hi) - 1e-9, allow_nan=False))))
    v = draw(st.floats(lo, hi, allow_nan=False, exclude_min=True, exclude_max=True))
    return v


@st.composite
def sessions(draw):
    """A random session of the kind the window writes: network, data, free parameters and
    axes, optimizer with valid hyperparameters, a few epochs trained (real optimizer
    state, history), restarts, and edits after the restarts."""
    kind = draw(st.sampled_from(["preset", "expression", "csv"]))
    if kind == "preset":
        recipe, n_in, n_out = DataRecipe(), 1, 1
    elif kind == "expression":
        expr = draw(st.sampled_from(["1 + sin(pi/4*p)", "p**2", "exp(-p) * cos(3*p)", "0.5"]))
        recipe = DataRecipe(kind="expression", expression=expr, points=draw(st.integers(2, 9)))
        n_in, n_out = 1, 1
    else:
        ins = draw(st.sampled_from([("0",), ("x",), ("0", "2")]))
        recipe = DataRecipe(
            kind="csv", csv_text=CSV, csv_name="d.csv", inputs=ins, targets=("y",),
            normalize=draw(st.sampled_from(["none", "minmax", "standard"])),
            validation=draw(st.sampled_from([0.0, 0.2])),
        )  # fmt: skip
        n_in, n_out = len(ins), 1
    hidden = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    sizes = (*hidden, n_out)
    transfers = tuple(draw(st.sampled_from(TRANSFERS)) for _ in sizes)
    perf = draw(st.sampled_from(["sse", "mse", "ce"]))
    if perf == "ce":
        transfers = (*transfers[:-1], "logsig")
    spec = NetworkSpec(n_in, sizes, transfers)
    base = Setup.from_preset().replace(data=recipe)
    setup = base.with_network(spec, seed=draw(st.integers(0, 99)))
    labels = spec.labels
    free = tuple(draw(st.lists(st.sampled_from(labels), min_size=1, unique=True)))
    axes = (
        (free[0], free[1])
        if len(free) >= 2
        else (free[0], next(x for x in labels if x != free[0]) if len(labels) > 1 else free[0])
    )
    if axes[0] == axes[1]:
        return None
    # LM and Bayesian regularization minimize sums of squares only (the window offers them
    # for those): the engine's own rule says which optimizers can minimize this index
    index = get_performance(perf)
    usable = [o for o in sorted(OPTIMIZERS) if mismatch(o, index) is None]
    name = draw(st.sampled_from(usable))
    cls = OPTIMIZERS[name].Hyper
    hyper = {f.name: _value(f, draw) for f in dataclasses.fields(cls)}
    try:
        cls.from_dict(hyper)
    except ValueError:
        hyper = {}
    setup = setup.replace(
        free=free, axes=axes, performance=perf, optimizer=name, hyper=hyper,
        criteria=StopCriteria(epochs=draw(st.integers(1, 6))),
    )  # fmt: skip
    s = Session(setup)
    if draw(st.sampled_from([True, True, False])):  # trained: optimizer state, history
        x0 = setup.start()
        tr, _ = session_trainer(Session(setup, start=x0))
        h = History(len(free))
        with np.errstate(all="ignore"):
            h.append_records(list(tr.run()))
        s.history, s.run = h, trainer_state(tr, x0, setup.criteria.epochs, h.stop)
    else:
        s.start = setup.start() + draw(st.floats(-1, 1))
    if draw(st.sampled_from([True, True, False])):
        s.restarts = _restarts(setup, draw(st.integers(1, 4)), draw(st.integers(0, 9)))
        s.restarts_settings = {"count": int(s.restarts.x.shape[0]), "method": "sd"}
    edit = draw(st.sampled_from(["none", "free", "axes-range", "optimizer"]))
    if edit == "free" and len(labels) > 1:  # the free set changes after the restarts
        new_free = tuple(draw(st.lists(st.sampled_from(labels), min_size=2, unique=True)))
        s.setup = setup.replace(free=new_free, axes=(new_free[0], new_free[1]))
    elif edit == "axes-range":
        s.setup = setup.replace(ranges=((-3.0, 3.0), (-1.0, 2.0)))
    elif edit == "optimizer":
        s.setup = setup.replace(optimizer=draw(st.sampled_from(usable)))
    s.view = {"colour_scale": "log", "resolution": 80}
    return s


def _equal(a: Session, b: Session) -> None:
    assert a.setup == b.setup
    assert a.view == b.view
    assert (a.start is None) == (b.start is None)
    if a.start is not None:
        assert np.array_equal(a.start, b.start)
    assert (a.run is None) == (b.run is None)
    if a.run is not None:
        assert a.run.epoch == b.run.epoch and a.run.stop == b.run.stop
        assert np.array_equal(a.run.x, b.run.x) and np.array_equal(a.run.start, b.run.start)
        assert a.run.optimizer_state == b.run.optimizer_state or repr(
            a.run.optimizer_state
        ) == repr(b.run.optimizer_state)
    assert (a.history is None) == (b.history is None)
    if a.history is not None:
        for c in COLUMNS:
            assert np.array_equal(a.history.column(c), b.history.column(c), equal_nan=True)
        assert np.array_equal(a.history.x, b.history.x)
    assert (a.restarts is None) == (b.restarts is None)
    if a.restarts is not None:
        assert np.array_equal(a.restarts.path, b.restarts.path, equal_nan=True)
        assert np.array_equal(a.restarts.x, b.restarts.x, equal_nan=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(s=sessions())
def test_round_trip_of_random_sessions_or_one_line_refusal(s):
    """Save -> load gives an equal session, or the save refuses with one line; never a
    file that does not reopen."""
    if s is None:
        return
    try:
        data = session_bytes(s)
    except SessionError as exc:
        assert "\n" not in str(exc) and "would not reopen" in str(exc)
        return
    _equal(s, read_session_bytes(data))


# ---- #4: output paths -------------------------------------------------------------------------
def _small_session() -> Session:
    return Session(Setup.from_preset(), start=np.array([-4.0, -4.0]))


WRITERS = {
    "session": lambda p: save_session(_small_session(), p),
    "text": lambda p: atomic_write_text(p, "a,b\n1,2\n"),
}


@pytest.fixture
def device(tmp_path) -> Path:
    """/dev/null for an ordinary user (who cannot replace it anyway).  As root a broken
    writer *would* replace it, so root gets a private character device with /dev/null's
    numbers instead (the test must never damage the machine it runs on)."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return node


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_dev_null_is_refused_and_never_replaced(writer, device):
    before = os.stat(device)
    with pytest.raises(ValueError) as err:
        WRITERS[writer](device)
    assert "device" in str(err.value) and "\n" not in str(err.value)
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_fifo_target_is_refused_without_blocking(writer, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = []
    t = threading.Thread(target=lambda: done.append(_raises(WRITERS[writer], fifo)), daemon=True)
    t.start()
    t.join(5)
    assert done and "FIFO" in done[0]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def _raises(fn, arg) -> str:
    try:
        fn(arg)
    except ValueError as exc:
        return str(exc)
    return "no error"


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_directory_target_is_refused(writer, tmp_path):
    d = tmp_path / "folder.bpgui"
    d.mkdir()
    with pytest.raises(ValueError, match="folder"):
        WRITERS[writer](d)
    assert d.is_dir() and not any(d.iterdir())


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_symlink_is_written_through_and_stays_a_link(writer, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "file"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = tmp_path / "link"
    link.symlink_to(target)
    WRITERS[writer](link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != b"old"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640  # the target's mode kept
    if writer == "session":
        assert load_session(link).setup == Setup.from_preset()
    # the temporary file lived in the target's folder and is gone
    assert sorted(p.name for p in real_dir.iterdir()) == ["file"]


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_mode_of_an_existing_file_is_kept(writer, tmp_path):
    p = tmp_path / "out"
    p.write_bytes(b"old")
    os.chmod(p, 0o604)
    WRITERS[writer](p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o604


def test_replacing_removes_the_temporary_on_error(tmp_path):
    p = tmp_path / "x.png"
    p.write_bytes(b"good")
    with pytest.raises(OutputError, match="writer failed"), replacing(p) as tmp:
        Path(tmp).write_bytes(b"half")
        raise OSError("cannot write x.png: the writer failed")
    assert p.read_bytes() == b"good" and [q.name for q in tmp_path.iterdir()] == ["x.png"]


# ---- #7: a FIFO given as a session never hangs -------------------------------------------------
def test_fifo_as_a_session_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "s.bpgui"
    os.mkfifo(fifo)
    out = []
    t = threading.Thread(target=lambda: out.append(_raises(load_session, fifo)), daemon=True)
    t.start()
    t.join(5)
    assert out, "load_session blocked on a FIFO"
    assert "FIFO" in out[0] and "\n" not in out[0]


def test_device_as_a_session_is_refused():
    with pytest.raises(SessionError, match="device"):
        load_session("/dev/zero")


def test_open_regular_refuses_directories(tmp_path):
    with pytest.raises(OutputError, match="folder"):
        open_regular(tmp_path)
