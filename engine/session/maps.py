"""The session file's optional ``basins``, ``sweep`` and ``race`` sections (schema 3):
what :func:`bpgui_engine.maps.basins.basin_to_dict`, :func:`bpgui_engine.maps.sweep.sweep_to_dict`
and
:func:`bpgui_engine.maps.race.race_to_dict` give, as a JSON section plus ``.npy`` members, and their
validation on reading.  Qt-free; used by :mod:`bpgui_engine.session.io`.

Each section says what it belongs to: a basin map and a sweep were computed on the
session's own setup (``"belongs_to": "setup"``; the map's free parameters must be the
setup's, the sweep's hyperparameters the optimizer's); a sweep also names the start point
its runs trained from; a race carries its own setup (``race.setup``).  Every array's shape
and dtype is declared by the JSON and checked before it is read, like the history's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bpgui_engine.maps.basins import DIVERGED, BasinMap, basin_from_dict, basin_to_dict
from bpgui_engine.maps.grid import MISSING, STOP_CODES, check_resolution
from bpgui_engine.maps.race import RaceRecord, race_from_dict, race_to_dict
from bpgui_engine.maps.sweep import SweepResult, sweep_from_dict, sweep_to_dict
from bpgui_engine.model.setup import Setup, setup_from_dict
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.session.schema import MAX_HISTORY, SessionError, _dec, _enc, _vector, _want
from bpgui_engine.train.history import COLUMNS

__all__ = ["MAX_CELLS", "maps_arrays", "maps_plan", "maps_read", "maps_sections"]

MAX_CELLS = 16_000_000  # cells of one map or sweep (a 4,000 x 4,000 grid)
MAX_RACE_ENTRIES = 64
Plan = dict[str, tuple[tuple[int, ...], str]]

_BASIN_DTYPES = {
    "xs": "<f8", "ys": "<f8", "end": "<f8", "performance": "<f8", "grad_norm": "<f8",
    "epochs": "<i8", "stop": "|i1", "labels": "<i8",
}  # fmt: skip
_SWEEP_DTYPES = {"xs": "<f8", "ys": "<f8", "performance": "<f8", "epochs": "<i8", "stop": "|i1"}


# ---- writing ----------------------------------------------------------------------------------
def maps_sections(s) -> dict[str, Any]:
    """``session.json``'s ``basins``, ``sweep`` and ``race`` sections (None when absent)."""
    out: dict[str, Any] = {"basins": None, "sweep": None, "race": None}
    if s.basins is not None:
        doc, _ = basin_to_dict(s.basins)
        out["basins"] = {"belongs_to": "setup", "resolution": s.basins.resolution,
                         "map": _enc(doc)}  # fmt: skip
    if s.sweep is not None:
        doc, _ = sweep_to_dict(s.sweep)
        start = None if s.sweep_start is None else _enc(np.asarray(s.sweep_start, float))
        out["sweep"] = {
            "belongs_to": "setup", "shape": list(s.sweep.performance.shape), "start": start,
            "result": _enc(doc),
        }  # fmt: skip
    if s.race is not None:
        doc, _ = race_to_dict(s.race)
        hs = s.race.histories
        out["race"] = {
            "belongs_to": "race.setup",
            "lengths": None if hs is None else [len(h) for h in hs],
            "record": doc,
        }
    return out


def maps_arrays(s) -> dict[str, np.ndarray]:
    """The sections' arrays as archive members (``basins.<field>``, ``sweep.<field>``,
    ``race.<entry>.<column>``)."""
    out: dict[str, np.ndarray] = {}
    if s.basins is not None:
        _, arrays = basin_to_dict(s.basins)
        for k, v in arrays.items():
            name = k[len("basins_") :]
            out[f"basins.{name}"] = np.asarray(v, dtype=_BASIN_DTYPES[name])
    if s.sweep is not None:
        _, arrays = sweep_to_dict(s.sweep)
        for k, v in arrays.items():
            name = k[len("sweep_") :]
            out[f"sweep.{name}"] = np.asarray(v, dtype=_SWEEP_DTYPES[name])
    if s.race is not None and s.race.histories is not None:
        _, arrays = race_to_dict(s.race)
        for k, v in arrays.items():
            _, i, col = k.split("_", 2)
            dtype = "<i8" if col == "epoch" else "<f8"
            out[f"race.{i}.{col}"] = np.asarray(v, dtype=dtype)
    return out


# ---- reading ----------------------------------------------------------------------------------
def maps_plan(doc: dict, setup: Setup) -> tuple[Plan, dict[str, Any]]:
    """The members the sections declare (shapes and dtypes) and what reading them needs."""
    plan: Plan = {}
    ctx: dict[str, Any] = {}
    n = len(setup.free)
    b = _want(doc, "basins", dict, "session", optional=True)
    if b is not None:
        N = _want(b, "resolution", int, "basins")
        try:
            check_resolution(N)
        except ValueError as exc:
            raise SessionError(f"basins.{exc}") from None
        if N * N > MAX_CELLS:
            raise SessionError(f"basins.resolution: {N}x{N} cells is more than {MAX_CELLS:,}")
        m = _want(b, "map", dict, "basins")
        free = m.get("free")
        if free != list(setup.free):
            raise SessionError(
                f"basins.map.free: the map's free parameters {free!r} are not the setup's "
                f"{list(setup.free)!r}"
            )
        shapes = {"xs": (N,), "ys": (N,), "end": (N, N, n)}
        for k, dt in _BASIN_DTYPES.items():
            plan[f"basins.{k}.npy"] = (shapes.get(k, (N, N)), dt)
        ctx["basins"] = b
    sw = _want(doc, "sweep", dict, "session", optional=True)
    if sw is not None:
        shape = _want(sw, "shape", list, "sweep")
        if len(shape) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in shape):  # fmt: skip
            raise SessionError("sweep.shape: expected two integers")
        nx, ny = shape
        if not (1 <= nx <= 2000 and 1 <= ny <= 2000):
            raise SessionError(f"sweep.shape: {nx}x{ny} is outside [1, 2000] per axis")
        for k, dt in _SWEEP_DTYPES.items():
            plan[f"sweep.{k}.npy"] = ({"xs": (nx,), "ys": (ny,)}.get(k, (nx, ny)), dt)
        ctx["sweep"] = sw
    r = _want(doc, "race", dict, "session", optional=True)
    if r is not None:
        rec = _want(r, "record", dict, "race")
        try:
            rsetup = setup_from_dict(_want(rec, "setup", dict, "race.record"))
        except ValueError as exc:
            raise SessionError(f"race.record.{exc}") from None
        entries = _want(rec, "entries", list, "race.record")
        if not 1 <= len(entries) <= MAX_RACE_ENTRIES:
            raise SessionError(f"race.record.entries: expected 1 to {MAX_RACE_ENTRIES} entries")
        lengths = _want(r, "lengths", list, "race", optional=True)
        if lengths is not None:
            if len(lengths) != len(entries):
                raise SessionError(f"race.lengths: expected {len(entries)} lengths")
            rn = len(rsetup.free)
            for i, k in enumerate(lengths):
                if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= MAX_HISTORY:
                    raise SessionError(f"race.lengths[{i}]: expected an integer in [0, 5e7]")
                for c in COLUMNS:
                    plan[f"race.{i}.{c}.npy"] = ((k,), "<i8" if c == "epoch" else "<f8")
                plan[f"race.{i}.x.npy"] = ((k, rn), "<f8")
        ctx["race"] = (r, lengths)
    return plan, ctx


def maps_read(s, ctx: dict[str, Any], src, plan: Plan) -> None:
    """Read the sections into ``s`` (``s.setup`` is the session's setup)."""
    if "basins" in ctx:
        got = {k: src.get(f"basins.{k}.npy", *plan[f"basins.{k}.npy"]) for k in _BASIN_DTYPES}
        s.basins = _basins(ctx["basins"], got, s.setup)
    if "sweep" in ctx:
        sw = ctx["sweep"]
        got = {k: src.get(f"sweep.{k}.npy", *plan[f"sweep.{k}.npy"]) for k in _SWEEP_DTYPES}
        s.sweep = _sweep(sw, got, s.setup)
        start = sw.get("start")
        s.sweep_start = None if start is None else _vector(start, len(s.setup.free), "sweep.start")
    if "race" in ctx:
        r, lengths = ctx["race"]
        arrays = None
        if lengths is not None:
            arrays = {}
            for name, (shape, dtype) in plan.items():
                if name.startswith("race."):
                    _, i, col, _ = name.split(".")
                    arrays[f"race_{i}_{col}"] = src.get(name, shape, dtype)
            for i, k in enumerate(lengths):
                ep = arrays[f"race_{i}_epoch"]
                if k and (ep[0] < 0 or np.any(np.diff(ep) <= 0)):
                    raise SessionError(f"race.{i}.epoch.npy: epochs must be >= 0 and increasing")
        s.race = _race(r["record"], arrays)


def _basins(b: dict, got: dict[str, np.ndarray], setup: Setup) -> BasinMap | None:
    doc = _dec(b["map"])
    if doc.get("x_label") not in setup.free or doc.get("y_label") not in setup.free:
        raise SessionError("basins.map: x_label and y_label must be free parameters of the setup")
    _check_hyper("basins.map", doc)
    try:
        m = basin_from_dict(doc, {f"basins_{k}": v for k, v in got.items()})
    except ValueError as exc:
        raise SessionError(f"basins.map: {exc}") from None
    K = len(m.minima_performance)
    if m.minima.shape[0] != K:
        raise SessionError("basins.map.minima: one performance per minimum")
    if np.any((m.labels >= K) | (m.labels < DIVERGED)):
        raise SessionError(f"basins.labels.npy: codes must be in [-3, {K - 1}]")
    _check_stop("basins.stop.npy", m.stop)
    if not (np.all(np.isfinite(m.xs)) and np.all(np.isfinite(m.ys))):
        raise SessionError("basins.xs.npy / ys: values must be finite")
    if not 1 <= m.max_epochs <= 10**9:
        raise SessionError("basins.map.max_epochs: must be in [1, 1e9]")
    return m


def _sweep(sw: dict, got: dict[str, np.ndarray], setup: Setup) -> SweepResult:
    doc = _dec(_want(sw, "result", dict, "sweep"))
    opt = doc.get("optimizer")
    _check_hyper("sweep.result", doc)
    fields = {f.name for f in dataclasses.fields(OPTIMIZERS[opt].Hyper)}
    for key in ("x_param", "y_param"):
        if doc.get(key) not in fields:
            raise SessionError(f"sweep.result.{key}: {opt} has no hyperparameter {doc.get(key)!r}")
    try:
        r = sweep_from_dict(doc, {f"sweep_{k}": v for k, v in got.items()})
    except ValueError as exc:
        raise SessionError(f"sweep.result: {exc}") from None
    _check_stop("sweep.stop.npy", r.stop)
    if not 1 <= r.max_epochs <= 10**9:
        raise SessionError("sweep.result.max_epochs: must be in [1, 1e9]")
    return r


def _race(doc: dict, arrays: dict[str, np.ndarray] | None) -> RaceRecord:
    try:
        return race_from_dict(doc, arrays)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        raise SessionError(msg if msg.startswith("race") else f"race: {msg}") from None


def _check_hyper(where: str, doc: dict) -> None:
    opt = doc.get("optimizer")
    if opt not in OPTIMIZERS:
        raise SessionError(f"{where}.optimizer: unknown {opt!r}")
    hyper = doc.get("hyper")
    if not isinstance(hyper, dict):
        raise SessionError(f"{where}.hyper: expected an object")
    try:
        if where.startswith("basins"):
            OPTIMIZERS[opt].Hyper.from_dict(hyper)
    except (ValueError, TypeError) as exc:
        raise SessionError(f"{where}.hyper: {exc}") from None


def _check_stop(name: str, stop: np.ndarray) -> None:
    if np.any((stop < MISSING) | (stop >= len(STOP_CODES))):
        raise SessionError(f"{name}: codes must be in [-1, {len(STOP_CODES) - 1}]")
