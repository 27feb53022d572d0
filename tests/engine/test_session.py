"""Session files: round trip, exact resume through a file, atomic saves, and bad input."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpgui_engine.session as session_mod
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.session import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Session,
    SessionError,
    load_session,
    read_session_bytes,
    save_session,
    session_bytes,
    session_trainer,
    trainer_state,
)
from bpgui_engine.train.batch import train_batch
from bpgui_engine.train.history import COLUMNS, History
from bpgui_engine.train.trainer import StopCriteria

FIXTURES = Path(__file__).parent / "sessions"


def trained(setup: Setup, x0, epochs: int, restarts: bool = False) -> Session:
    """A session after ``epochs`` epochs from ``x0`` (history and run state)."""
    s = Session(setup.replace(criteria=StopCriteria(epochs=epochs)), start=np.array(x0, float))
    tr, _ = session_trainer(s)
    h = History(len(setup.free))
    with np.errstate(all="ignore"):
        h.append_records(list(tr.run()))
    s.setup = setup
    s.history = h
    s.run = trainer_state(tr, x0, epochs, h.stop)
    if restarts:
        X0 = np.random.default_rng(0).uniform(-5, 15, (6, len(setup.free)))
        s.restarts = train_batch(setup.objective(), X0, "sd", epochs=30, stride=10)
        s.restarts_settings = {"count": 6, "method": "sd", "seed": 0, "epochs": 30}
    s.view = {"colour_scale": "linear", "resolution": 120, "plot_tab": 1, "restarts_open": True}
    return s


@pytest.fixture
def small(tmp_path) -> tuple[Session, Path]:
    s = trained(Setup.from_preset(), [-4.0, -4.0], 50, restarts=True)
    path = save_session(s, tmp_path / "small.bpgui")
    return s, path


def test_round_trip_keeps_everything(small):
    s, path = small
    t = load_session(path)
    assert t.setup == s.setup
    assert t.view == s.view
    assert t.run.epoch == 50 and t.run.stop == "epochs" and t.run.max_epochs == 50
    assert np.array_equal(t.run.x, s.run.x) and np.array_equal(t.run.start, [-4.0, -4.0])
    assert t.run.optimizer_state == s.run.optimizer_state
    for c in COLUMNS:
        assert np.array_equal(t.history.column(c), s.history.column(c), equal_nan=True), c
    assert np.array_equal(t.history.x, s.history.x) and t.history.stop == "epochs"
    fields = ("x", "performance", "epochs", "path", "path_performance", "path_epochs", "grad_norm")
    for f in fields:
        assert np.array_equal(getattr(t.restarts, f), getattr(s.restarts, f)), f
    assert list(t.restarts.stop) == list(s.restarts.stop)
    assert t.restarts_settings == s.restarts_settings


def test_the_file_is_json_plus_standard_numpy_arrays(small):
    """Readable without bpgui: unzip gives session.json; numpy.load reads the arrays."""
    s, path = small
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("session.json"))
    assert doc["format"] == "bpgui-session" and doc["schema_version"] == SCHEMA_VERSION
    assert doc["setup"]["network"]["sizes"] == [2, 1]
    with np.load(path, allow_pickle=False) as npz:
        assert np.array_equal(npz["history.sse"], s.history.column("sse"))
        assert npz["history.x"].shape == (51, 2)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_train_save_open_train_equals_one_long_run(tmp_path, name):
    """N epochs, save, reopen, M more == N+M in one go, bit for bit, for every optimizer
    (SGD's shuffling RNG, VLBP's adapted rate and momentum switch, CG's direction and
    restart counter, LM's mu, Adam's moments all travel in the file)."""
    setup = Setup.from_preset()
    setup = setup.replace(free=setup.spec.labels, optimizer=name, seed=7)
    if name == "sgd":
        setup = setup.replace(hyper={"lr": 0.05, "batch_size": 4})
    x0 = np.array(setup.theta) + np.random.default_rng(0).uniform(-1, 1, 7)
    n, total = (5, 10) if name in ("lm", "br") else (25, 40)
    full = trained(setup, x0, total)
    part = trained(setup, x0, n)
    path = save_session(part, tmp_path / f"{name}.bpgui")
    back = load_session(path)
    tr, fresh = session_trainer(back, total - n)
    assert not fresh
    rest = History(7)
    with np.errstate(all="ignore"):
        rest.append_records(list(tr.run(emit_start=False)))
    joined_x = np.vstack([back.history.x, rest.x])
    joined_sse = np.concatenate([back.history.column("sse"), rest.column("sse")])
    assert np.array_equal(joined_x, full.history.x), name
    assert np.array_equal(joined_sse, full.history.column("sse")), name
    assert tr.epoch == total


def test_a_session_saved_mid_run_continues_to_its_maximum(tmp_path):
    s = trained(Setup.from_preset(), [-4.0, -4.0], 30)
    s.run.stop, s.run.max_epochs = None, 45  # as if saved while paused at epoch 30 of 45
    back = load_session(save_session(s, tmp_path / "paused.bpgui"))
    tr, _ = session_trainer(back)
    recs = list(tr.run(emit_start=False))
    assert recs[-1].epoch == 45 and recs[-1].stop == "epochs"


def test_a_session_without_a_run_starts_from_its_start_point(tmp_path):
    s = Session(Setup.from_preset(), start=np.array([1.0, 2.0]))
    back = load_session(save_session(s, tmp_path / "new.bpgui"))
    assert back.run is None and back.history is None
    tr, fresh = session_trainer(back, 3)
    assert fresh and np.array_equal(tr.x, [1.0, 2.0])


# ---- safety of work -----------------------------------------------------------------------
def test_a_failed_save_leaves_the_old_file_and_no_debris(small, monkeypatch):
    s, path = small
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_mod.np.lib.format, "write_array", boom)
    with pytest.raises(SessionError, match="No space left on device"):
        save_session(s, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_saving_into_a_missing_folder_is_a_clear_error(small, tmp_path):
    s, _ = small
    with pytest.raises(SessionError, match="cannot write in .*does not exist"):
        save_session(s, tmp_path / "nope" / "x.bpgui")


# ---- bad input ------------------------------------------------------------------------------
def rezip(path: Path, edit=None, drop=(), add=None, raw_json: str | None = None) -> bytes:
    """The file at ``path`` with session.json edited (``edit(doc)``) or replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info)
            if info.filename == "session.json":
                if raw_json is not None:
                    data = raw_json.encode()
                elif edit is not None:
                    doc = json.loads(data)
                    edit(doc)
                    data = json.dumps(doc).encode()
            dst.writestr(info, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def setitem(path, value):
    def edit(doc):
        d = doc
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value

    return edit


def delitem(path):
    def edit(doc):
        d = doc
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]

    return edit


def npy(a) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=True)
    return b.getvalue()


BAD_JSON = {
    "newer schema": (setitem(["schema_version"], 99), "newer bpgui"),
    "schema not a number": (setitem(["schema_version"], "1"), "schema_version"),
    "not ours": (setitem(["format"], "something-else"), "not a bpgui session"),
    "extra top-level field": (setitem(["surprise"], 1), "unknown field 'surprise'"),
    "setup missing": (delitem(["setup"]), "setup: missing"),
    "setup wrong type": (setitem(["setup"], [1, 2]), "setup: expected an object"),
    "theta as text": (setitem(["setup", "theta"], "ten"), "setup"),
    "theta NaN": (setitem(["setup", "theta", 0], "nan"), "list of numbers"),
    "billion-neuron layer": (setitem(["setup", "network", "sizes"], [10**9, 1]), "limit"),
    "negative layer": (setitem(["setup", "network", "sizes"], [-2, 1]), "size"),
    "unknown transfer": (setitem(["setup", "network", "transfers"], ["logsig", "evil"]), "evil"),
    "unknown optimizer": (setitem(["setup", "optimizer"], "magic"), "unknown 'magic'"),
    "bad hyperparameter": (setitem(["setup", "hyper", "lr"], -1), "lr"),
    "code in an expression": (
        lambda d: d["setup"]["data"].update(kind="expression", expression="__import__('os')"),
        "expression",
    ),
    "text in CSV": (
        lambda d: d["setup"]["data"].update(kind="csv", csv_text="p,t\n1,2\nhello,3\n"),
        "line 3, column 1: 'hello' is not a number",
    ),
    "run.x wrong length": (setitem(["run", "x"], [1.0]), "run.x: expected a list of 2"),
    "run.x infinite": (setitem(["run", "x", 0], "inf"), "run.x: values must be finite"),
    "run.epoch negative": (setitem(["run", "epoch"], -5), "run.epoch"),
    "run.epoch a bool": (setitem(["run", "epoch"], True), "run.epoch: expected an integer"),
    "unknown stop reason": (setitem(["run", "stop"], "bored"), "run.stop"),
    "optimizer state misfit": (setitem(["run", "optimizer_state"], {"zzz": 1}), "optimizer"),
    "billion-point history": (setitem(["history", "length"], 10**9), "history.length"),
    "history length lies": (setitem(["history", "length"], 7), "history"),
    "unknown column": (setitem(["history", "columns"], ["epoch", "sse", "bogus"]), "bogus"),
    "history without run epoch match": (setitem(["run", "epoch"], 3), "last epoch"),
    "restarts lie": (setitem(["restarts", "starts"], 5), "restarts"),
}


@pytest.mark.parametrize("case", BAD_JSON)
def test_bad_descriptions_get_one_clear_message(small, case):
    _, path = small
    edit, match = BAD_JSON[case]
    data = rezip(path, edit)
    with pytest.raises(SessionError, match=match) as exc:
        read_session_bytes(data, "x.bpgui")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("x.bpgui: "), msg


def test_bad_containers_get_one_clear_message(small, tmp_path):
    _, path = small
    good = path.read_bytes()
    cases = {
        "truncated": (good[: len(good) // 2], "damaged or truncated"),
        "empty": (b"", "not a bpgui session"),
        "a PNG": (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a bpgui session"),
        "a JSON file": (b'{"format": "bpgui-session"}', "a JSON file"),
        "no session.json": (rezip(path, drop=("session.json",)), "no session.json"),
        "NaN literal": (rezip(path, raw_json='{"format": NaN}'), "NaN"),
        "broken JSON": (rezip(path, raw_json='{"format": "bpgui-session", '), "not valid JSON"),
        "JSON nested too deep": (rezip(path, raw_json="[" * 100000), "not valid JSON"),
        "missing array": (rezip(path, drop=("history.sse.npy",)), "history.sse.npy: missing"),
        "wrong array shape": (
            rezip(path, drop=("history.x.npy",), add={"history.x.npy": npy(np.zeros((51, 3)))}),
            "expected <f8 of shape",
        ),
        "pickled object array": (
            rezip(
                path,
                drop=("history.sse.npy",),
                add={"history.sse.npy": npy(np.array([{}] * 51, dtype=object))},
            ),
            "history.sse.npy",
        ),
        "epochs not increasing": (
            rezip(
                path,
                drop=("history.epoch.npy",),
                add={"history.epoch.npy": npy(np.zeros(51, dtype="<i8"))},
            ),
            "increasing",
        ),
    }
    for case, (data, match) in cases.items():
        with pytest.raises(SessionError, match=match) as exc:
            read_session_bytes(data, "x.bpgui")
        assert "\n" not in str(exc.value), case
        p = tmp_path / "bad.bpgui"
        p.write_bytes(data)
        with pytest.raises(SessionError):
            load_session(p)
    with pytest.raises(SessionError, match="folder"):
        load_session(tmp_path)
    with pytest.raises(SessionError, match="cannot open"):
        load_session(tmp_path / "missing.bpgui")


@pytest.mark.parametrize("member", ["deflated", "stored"])
def test_a_corrupted_array_byte_is_caught_by_the_checksum(small, member):
    # deflated: as written now; stored: as written before sessions were compressed
    path = small[1] if member == "deflated" else FIXTURES / "v4.bpgui"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("history.x.npy")
    kind = zipfile.ZIP_DEFLATED if member == "deflated" else zipfile.ZIP_STORED
    assert info.compress_type == kind
    at = info.header_offset + 30 + len(info.filename) + min(200, info.compress_size // 2)
    data[at] ^= 0xFF
    with pytest.raises(SessionError, match="damaged"):
        read_session_bytes(bytes(data))


# ---- versions -------------------------------------------------------------------------------
def test_every_schema_version_has_a_fixture_and_a_migration():
    """Each version ever written keeps a fixture here; older ones also need a migration."""
    for v in range(1, SCHEMA_VERSION + 1):
        assert (FIXTURES / f"v{v}.bpgui").is_file(), f"keep a fixture for schema version {v}"
        if v < SCHEMA_VERSION:
            assert v in MIGRATIONS, f"schema version {v} needs a migration"


@pytest.mark.parametrize("v", range(1, SCHEMA_VERSION + 1))
def test_fixtures_of_every_version_open_and_continue(v):
    s = load_session(FIXTURES / f"v{v}.bpgui")
    assert s.setup.spec.sizes == (2, 1) and s.run.epoch == 200
    assert s.history.x.shape == (201, 2)
    tr, _ = session_trainer(s, 10)
    recs = list(tr.run(emit_start=False))
    assert recs[-1].epoch == 210 and recs[-1].sse < s.history.column("sse")[0]


# ---- fuzzing ----------------------------------------------------------------------------------
_GOOD: list[bytes] = []


def good() -> bytes:
    """A valid session's bytes (built once; not a fixture, so failures don't print it)."""
    if not _GOOD:
        _GOOD.append(session_bytes(trained(Setup.from_preset(), [-4.0, -4.0], 20, restarts=True)))
    return _GOOD[0]


def _opens_or_refuses(data: bytes) -> None:
    try:
        read_session_bytes(data, "fuzz.bpgui")
    except SessionError as exc:
        assert str(exc).startswith("fuzz.bpgui") and "\n" not in str(exc)


#: examples per fuzz test; BPGUI_FUZZ_EXAMPLES=5000 for a long run
FUZZ = settings(
    max_examples=int(os.environ.get("BPGUI_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_fuzz_flipped_bytes(data):
    """Any bytes changed anywhere: opened (the change hit nothing checked) or refused
    with a SessionError -- never another exception."""
    b = bytearray(good())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    _opens_or_refuses(bytes(b))


@FUZZ
@given(cut=st.integers(0, 10**6))
def test_fuzz_truncated_files(cut):
    _opens_or_refuses(good()[: cut % len(good())])


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["nan", "inf", "-inf", "sd", "logsig", "book-1-2-1", "W1[1,1]"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            yield from _paths(v, (*prefix, i))


@FUZZ
@given(data=st.data())
def test_fuzz_wrong_types_and_values_anywhere_in_the_description(data):
    """Any field replaced by any JSON value, or deleted, or a field added."""
    with zipfile.ZipFile(io.BytesIO(good())) as zf:
        doc = json.loads(zf.read("session.json"))
    paths = [p for p in _paths(doc) if p]
    path = data.draw(st.sampled_from(paths))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if action == "replace":
        parent[path[-1]] = data.draw(JSON_VALUES)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=6))] = data.draw(JSON_VALUES)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            raw = json.dumps(doc).encode() if info.filename == "session.json" else src.read(info)
            dst.writestr(info, raw)
    _opens_or_refuses(out.getvalue())


def test_nothing_is_left_behind_by_many_saves(small, tmp_path):
    s, _ = small
    p = tmp_path / "again.bpgui"
    for _ in range(3):
        save_session(s, p)
    assert sorted(os.listdir(tmp_path)) == sorted(["again.bpgui", "small.bpgui"])


def _rewrite_json(path: Path, edit) -> None:
    """Rewrite session.json inside the archive at ``path`` with ``edit(doc)``."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    doc = edit(json.loads(members["session.json"]))
    members["session.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_version_1_cg_pr_meant_pr_plus_and_is_migrated(tmp_path):
    """Schema 1 wrote beta "pr" for what was Polak-Ribiere-plus: it opens as "pr+" and
    continues exactly as the pr+ run it was."""
    setup = Setup.from_preset()
    setup = setup.replace(free=setup.spec.labels, optimizer="cg", hyper={"beta": "pr+"})
    x0 = np.array(setup.theta) + np.random.default_rng(0).uniform(-5, 5, 7)
    full = trained(setup, x0, 30)
    path = save_session(trained(setup, x0, 12), tmp_path / "old.bpgui")

    def as_v1(doc):
        assert doc["setup"]["hyper"]["beta"] == "pr+"
        doc["schema_version"] = 1
        doc["setup"]["hyper"]["beta"] = "pr"
        return doc

    _rewrite_json(path, as_v1)
    back = load_session(path)
    assert back.setup.hyper["beta"] == "pr+"
    tr, _ = session_trainer(back, 18)
    recs = list(tr.run(emit_start=False))
    assert np.array_equal(np.vstack([back.history.x, [r.x for r in recs]]), full.history.x)
    # a plain-PR run really is another run
    plain = trained(setup.replace(hyper={"beta": "pr"}), x0, 30)
    assert not np.array_equal(plain.history.x, full.history.x)


def test_version_1_restarts_have_no_gradient_norms():
    assert load_session(FIXTURES / "v1.bpgui").restarts.grad_norm is None
    assert load_session(FIXTURES / "v2.bpgui").restarts.grad_norm.shape == (6,)


def test_version_2_keeps_plain_pr():
    doc = {"schema_version": 2, "setup": {"optimizer": "cg", "hyper": {"beta": "pr"}}}
    assert session_mod.migrate(dict(doc))["setup"]["hyper"]["beta"] == "pr"
    old = session_mod.migrate({**doc, "schema_version": 1})
    assert old["schema_version"] == SCHEMA_VERSION and old["setup"]["hyper"]["beta"] == "pr+"
