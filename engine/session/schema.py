"""The session model: what a session file holds, its schema version and migrations.

Reading and writing the file is :mod:`bpgui_engine.session.io`; the public names are all in
:mod:`bpgui_engine.session`.  Qt-free.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpgui_engine.model.setup import Setup
from bpgui_engine.train.batch import BatchResult
from bpgui_engine.train.history import History
from bpgui_engine.train.thinning import MAX_ROWS

FORMAT = "bpgui-session"
SCHEMA_VERSION = 5
SUFFIX = ".bpgui"
MAX_FILE_BYTES = 4 << 30  # 4 GiB: far above any real session
MAX_JSON_BYTES = 256 << 20
MAX_HISTORY = MAX_ROWS  # epochs kept in one file
MAX_RESTARTS = 1_000_000  # starts x stored path points
ARRAY_LIMIT = 1 << 31  # bytes of one array

#: ``schema_version -> function`` that upgrades a description from that version to the
#: next.  Every past version has a fixture file in ``tests/engine/sessions/``.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def _v1_to_v2(doc: dict) -> dict:
    """Version 1 called conjugate gradient's Polak-Ribiere-plus (beta clipped at 0) "pr";
    version 2 names it "pr+" and means plain Polak-Ribiere by "pr"."""
    doc = dict(doc, schema_version=2)
    setup = doc.get("setup")
    if isinstance(setup, dict) and setup.get("optimizer") == "cg":
        hyper = setup.get("hyper")
        if isinstance(hyper, dict) and hyper.get("beta") == "pr":
            doc["setup"] = dict(setup, hyper=dict(hyper, beta="pr+"))
    return doc


def _v2_to_v3(doc: dict) -> dict:
    """Version 3 adds the optional ``basins``, ``sweep`` and ``race`` sections (absent in
    version 2: nothing to convert)."""
    return dict(doc, schema_version=3)


def _v3_to_v4(doc: dict) -> dict:
    """Version 4 may store a large network's ``setup.theta`` and ``setup.free`` as
    ``.npy`` members (lists in version 3, which are still read: nothing to convert)."""
    return dict(doc, schema_version=4)


def _v4_to_v5(doc: dict) -> dict:
    """Version 5 adds the optional ``landscape`` and ``sharpness`` sections (absent in
    version 4: nothing to convert)."""
    return dict(doc, schema_version=5)


MIGRATIONS[1] = _v1_to_v2
MIGRATIONS[2] = _v2_to_v3
MIGRATIONS[3] = _v3_to_v4
MIGRATIONS[4] = _v4_to_v5

VIEW_KEYS = {
    "colour_scale": str,  # "log" | "linear"
    "resolution": int,
    "curves_log_x": bool,
    "plot_tab": int,
    "setup_tab": int,
    "restarts_open": bool,
    "speed": int,
    "window": dict,
}


#: what reading a damaged archive can raise (RuntimeError: "encrypted", NotImplementedError:
#: an unknown compression method or zip version)
DAMAGE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError)


class SessionError(ValueError):
    """A session file that cannot be read or written; the message is one clear line."""


@dataclass
class RunState:
    """Where training stands: enough to continue exactly as an uninterrupted run would."""

    start: np.ndarray  # the free parameters at epoch 0
    x: np.ndarray  # the free parameters now
    epoch: int
    stop: str | None  # why the run ended; None if it was saved while running or paused
    max_epochs: int  # where the run was going to stop
    optimizer_state: dict[str, Any]  # Optimizer.state_dict()
    val_best: float = math.inf
    val_fails: int = 0


@dataclass
class Session:
    setup: Setup
    run: RunState | None = None  # None: nothing trained yet
    history: History | None = None
    restarts: BatchResult | None = None
    restarts_settings: dict[str, Any] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)
    start: np.ndarray | None = None  # the chosen start point when no run exists yet
    # since schema 3 (issue 12): computed on this session's setup (``race`` on its own)
    basins: Any = None  # bpgui_engine.maps.basins.BasinMap
    sweep: Any = None  # bpgui_engine.maps.sweep.SweepResult
    sweep_start: np.ndarray | None = None  # the free vector the sweep's runs started from
    race: Any = None  # bpgui_engine.maps.race.RaceRecord
    # since schema 5 (issue 22): the landscape view and the run's sampled sharpness
    landscape: Any = None  # bpgui_engine.analysis.views.LandscapeView
    sharpness: tuple | None = None  # (epochs, values, every)
    # a lighter copy (bpgui_engine.session.lighter): the history keeps some of the epochs,
    # sampled from this many; None: every epoch is there
    history_sampled_from: int | None = None

    @property
    def epochs(self) -> int:
        return 0 if self.run is None else self.run.epoch


# ---- JSON-safe numbers -----------------------------------------------------------------------
def _enc(v: Any) -> Any:
    """Non-finite floats as the strings "nan", "inf", "-inf" (JSON has no such numbers)."""
    if isinstance(v, float | np.floating):
        v = float(v)
        return v if math.isfinite(v) else ("nan" if math.isnan(v) else "inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {str(k): _enc(w) for k, w in v.items()}
    if isinstance(v, list | tuple):
        return [_enc(w) for w in v]
    if isinstance(v, np.ndarray):
        return [_enc(w) for w in v.tolist()]
    if isinstance(v, np.integer):
        return int(v)
    return v


_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _dec(v: Any) -> Any:
    if isinstance(v, str) and v in _SPECIAL:
        return _SPECIAL[v]
    if isinstance(v, dict):
        return {k: _dec(w) for k, w in v.items()}
    if isinstance(v, list):
        return [_dec(w) for w in v]
    return v


def migrate(doc: dict) -> dict:
    """Upgrade a description of an older schema version to :data:`SCHEMA_VERSION`."""
    v = doc.get("schema_version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise SessionError("schema_version: missing or not a positive integer")
    if v > SCHEMA_VERSION:
        raise SessionError(
            f"written by a newer bpgui (schema version {v}; this one reads up to "
            f"{SCHEMA_VERSION}): update bpgui to open it"
        )
    while v < SCHEMA_VERSION:
        doc = MIGRATIONS[v](doc)
        v = doc["schema_version"]
    return doc


def one_line(text: str, limit: int = 400) -> str:
    """A message on one line: control characters escaped, at most ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_state_from_dict(d: dict) -> RunState:
    """A run state as the engine process sends it (see ``bpgui.service.engine_host``)."""
    return RunState(
        start=np.array(d["start"], float),
        x=np.array(d["x"], float),
        epoch=int(d["epoch"]),
        stop=d.get("stop"),
        max_epochs=int(d["max_epochs"]),
        optimizer_state=_dec(d["optimizer_state"]),
        val_best=float(_dec(d.get("val_best", "inf"))),
        val_fails=int(d.get("val_fails", 0)),
    )


def run_state_to_dict(r: RunState) -> dict:
    return {
        "start": _enc(np.asarray(r.start, float)),
        "x": _enc(np.asarray(r.x, float)),
        "epoch": int(r.epoch),
        "stop": r.stop,
        "max_epochs": int(r.max_epochs),
        "optimizer_state": _enc(r.optimizer_state),
        "val_best": _enc(float(r.val_best)),
        "val_fails": int(r.val_fails),
    }


# ---- validation helpers (shared by reading and the engine process) ----------------------
def _want(d: Any, key: str, kind, where: str, optional: bool = False):
    if not isinstance(d, dict):
        raise SessionError(f"{where}: expected an object")
    if key not in d:
        if optional:
            return None
        raise SessionError(f"{where}.{key}: missing")
    v = d[key]
    if v is None and optional:
        return None
    ok = isinstance(v, kind) and not (kind in (int, float, (int, float)) and isinstance(v, bool))
    if not ok:
        names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
        want = names.get(kind, "a number") if not isinstance(kind, tuple) else "a number"
        raise SessionError(f"{where}.{key}: expected {want}, got {type(v).__name__}")
    return v


def _vector(v: Any, n: int, where: str, finite: bool = True) -> np.ndarray:
    if not isinstance(v, list) or len(v) != n:
        raise SessionError(f"{where}: expected a list of {n} numbers")
    try:
        a = np.array([_dec(t) for t in v], dtype=float)
    except (TypeError, ValueError):
        raise SessionError(f"{where}: expected numbers") from None
    if any(isinstance(t, bool) for t in v):
        raise SessionError(f"{where}: expected numbers, not true/false")
    if finite and not np.all(np.isfinite(a)):
        raise SessionError(f"{where}: values must be finite")
    return a


def check_state_shapes(opt, n: int) -> None:
    """Every vector in an optimizer's state has one value per free parameter."""
    for k, v in vars(opt).items():
        if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind == "f" and v.size != n:
            raise SessionError(f"run.optimizer_state.{k}: expected {n} values, got {v.size}")
        if isinstance(v, float) and not math.isfinite(v) and k in ("lr", "mu"):
            raise SessionError(f"run.optimizer_state.{k}: must be finite")
