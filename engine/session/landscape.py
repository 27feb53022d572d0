"""The session file's optional ``landscape`` and ``sharpness`` sections (schema 5).

``landscape``: the landscape view last computed on this session's setup
(:class:`~bpgui_engine.analysis.views.LandscapeView`): its settings in the JSON, its arrays
as members ``landscape.<field>.npy`` whose shapes the JSON declares (checked against the
archive and the memory budget before anything is read).

``sharpness``: the run's sampled sharpness (λmax of the Hessian of the per-sample mean
of the index) — ``sharpness.epoch.npy`` and ``sharpness.value.npy`` — and the sampling
interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpgui_engine.analysis.views import MODES, LandscapeView
from bpgui_engine.session.schema import MAX_HISTORY, SessionError, _dec, _enc, _want

Plan = dict[str, tuple[tuple[int, ...], str]]
MAX_SIDE = 1001  # grid points per axis of a saved landscape
MAX_PATH = 100_000
_VECTORS = ("center", "d1", "d2")


def landscape_sections(s) -> dict[str, Any]:
    out: dict[str, Any] = {"landscape": None, "sharpness": None}
    v: LandscapeView | None = s.landscape
    if v is not None:
        out["landscape"] = {
            "belongs_to": "setup", "mode": v.mode, "stride": int(v.stride),
            "seed": int(v.seed), "span": _enc(float(v.span)), "index_name": v.index_name,
            "explained": _enc(np.asarray(v.explained, float)),
            "shape": list(v.values.shape), "path_points": len(v.path),
            "iso_points": len(v.iso_x),
        }  # fmt: skip
    if s.sharpness is not None:
        ep, _val, every = s.sharpness
        out["sharpness"] = {"points": len(ep), "every": int(every)}
    return out


def landscape_arrays(s) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    v: LandscapeView | None = s.landscape
    if v is not None:
        for k in ("x_axis", "y_axis", "values", "path", "iso_x", "iso_y", *_VECTORS):
            out[f"landscape.{k}"] = np.asarray(getattr(v, k), dtype="<f8")
    if s.sharpness is not None:
        ep, val, _ = s.sharpness
        out["sharpness.epoch"] = np.asarray(ep, dtype="<i8")
        out["sharpness.value"] = np.asarray(val, dtype="<f8")
    return out


def _count(d: dict, key: str, where: str, hi: int) -> int:
    v = _want(d, key, int, where)
    if isinstance(v, bool) or not 0 <= v <= hi:
        raise SessionError(f"{where}.{key}: expected an integer in [0, {hi:,}]")
    return v


def landscape_plan(doc: dict, n_free: int) -> tuple[Plan, dict[str, Any]]:
    plan: Plan = {}
    ctx: dict[str, Any] = {}
    d = _want(doc, "landscape", dict, "session", optional=True)
    if d is not None:
        mode = _want(d, "mode", str, "landscape")
        if mode not in MODES:
            raise SessionError(f"landscape.mode: expected one of {', '.join(MODES)}")
        shape = _want(d, "shape", list, "landscape")
        dims = 1 if mode == "line" else 2
        if len(shape) != dims or not all(
            isinstance(k, int) and not isinstance(k, bool) and 3 <= k <= MAX_SIDE for k in shape
        ):
            raise SessionError(f"landscape.shape: expected {dims} integers in [3, {MAX_SIDE}]")
        k = _count(d, "path_points", "landscape", MAX_PATH)
        plan["landscape.x_axis.npy"] = ((shape[0],), "<f8")
        plan["landscape.y_axis.npy"] = ((0 if mode == "line" else shape[1],), "<f8")
        plan["landscape.values.npy"] = (tuple(shape), "<f8")
        plan["landscape.path.npy"] = ((k, 2), "<f8")
        iso = _count(d, "iso_points", "landscape", 50_000_000)
        if iso % 2:
            raise SessionError("landscape.iso_points: segment endpoints come in pairs")
        plan["landscape.iso_x.npy"] = plan["landscape.iso_y.npy"] = ((iso,), "<f8")
        for name in _VECTORS:
            plan[f"landscape.{name}.npy"] = ((n_free,), "<f8")
        ctx["landscape"] = d
    sh = _want(doc, "sharpness", dict, "session", optional=True)
    if sh is not None:
        k = _count(sh, "points", "sharpness", MAX_HISTORY)
        _count(sh, "every", "sharpness", 10**9)
        plan["sharpness.epoch.npy"] = ((k,), "<i8")
        plan["sharpness.value.npy"] = ((k,), "<f8")
        ctx["sharpness"] = sh
    return plan, ctx


def landscape_read(s, ctx: dict[str, Any], src, plan: Plan) -> None:
    if "landscape" in ctx:
        d = ctx["landscape"]
        got = {n[len("landscape.") : -4]: src.get(n, *plan[n])
               for n in plan if n.startswith("landscape.")}  # fmt: skip
        for name in ("x_axis", "y_axis", "path", "iso_x", "iso_y", *_VECTORS):
            if not np.all(np.isfinite(got[name])):
                raise SessionError(f"landscape.{name}.npy: values must be finite")
        stride = _want(d, "stride", int, "landscape")
        seed = _want(d, "seed", int, "landscape")
        span = float(_dec(d.get("span")) if isinstance(d.get("span"), int | float | str) else -1)
        if not (np.isfinite(span) and span > 0) or stride < 1:
            raise SessionError("landscape: span must be > 0 and stride at least 1")
        explained = np.asarray(_dec(d.get("explained", [])), dtype=float)
        if explained.shape not in ((0,), (2,)):
            raise SessionError("landscape.explained: expected two shares or none")
        s.landscape = LandscapeView(
            d["mode"], got["x_axis"], got["y_axis"], got["values"], stride, got["center"],
            got["d1"], got["d2"], explained, got["path"], seed, span,
            str(d.get("index_name", "")), got["iso_x"], got["iso_y"],
        )  # fmt: skip
    if "sharpness" in ctx:
        ep = src.get("sharpness.epoch.npy", *plan["sharpness.epoch.npy"])
        val = src.get("sharpness.value.npy", *plan["sharpness.value.npy"])
        if len(ep) and (ep[0] < 0 or np.any(np.diff(ep) <= 0)):
            raise SessionError("sharpness.epoch.npy: epochs must be >= 0 and increasing")
        s.sharpness = (ep, val, int(ctx["sharpness"]["every"]))
