"""The compute service's jobs: every numeric task the window asks for, by name.

A job is a generator function ``job(request, cancel)``: ``request`` is a dict (decoded by
:mod:`bpgui_engine.codec`), ``cancel`` a :class:`threading.Event` set when the window
cancels.  It yields results so far (a map's cells as they arrive) and *returns*
``(result, error)``: the final, possibly partial, result and ``""`` or one line saying
what went wrong.  An exception it raises is the job's failure (one line in the window).
Jobs that cannot stop between steps are cancelled by ending their process (see
:mod:`bpgui.service.jobs`).

Adding a job: write the generator here and add it to :data:`JOBS`.  Qt-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from bpgui_engine.session import one_line

Job = Generator[Any, None, tuple[Any, str]]


def _chunked(job, address: str | None, cancel: threading.Event, after=None) -> Job:
    """A basin map or sweep, chunk by chunk: the result after every chunk."""
    error = ""
    it = job.chunks(address)
    try:
        for _ in it:
            if cancel.is_set():
                break
            yield job.result()
            if cancel.is_set():
                break
    except Exception as exc:  # a bad scheduler address, a chunk that raised, …
        error = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    finally:
        try:
            it.close()  # cancels what has not started
        except Exception as exc:  # the cluster connection may be gone already
            error = error or one_line(str(exc))
    res = job.result()
    if after is not None and not error and not cancel.is_set():
        try:
            res = after(res)
        except Exception as exc:
            error = one_line(str(exc))
    return res, error


def basins(req: dict, cancel: threading.Event) -> Job:
    """A basin map: ``setup`` and :class:`~bpgui_engine.maps.basins.BasinJob`'s options."""
    from bpgui_engine.maps.basins import BasinJob

    job = BasinJob(req["setup"], **req.get("options", {}))
    return (yield from _chunked(job, req.get("address"), cancel))


def sweep(req: dict, cancel: threading.Event) -> Job:
    """A sweep and (when its runs found a minimum) its stability bound: ``(result, bound)``."""
    from bpgui_engine.maps.sweep import SweepJob
    from bpgui_engine.maps.sweep_bound import with_bound

    setup = req["setup"]
    job = SweepJob(setup, *req["axes"], **req.get("options", {}))
    x0 = job.x0.copy()
    res, error = yield from _chunked(
        job, req.get("address"), cancel, lambda r: with_bound(setup, x0, r)
    )
    return (res if isinstance(res, tuple) else (res, None)), error


def sweep_bound(req: dict, cancel: threading.Event) -> Job:
    """The stability bound of a reopened sweep: ``(result, bound)``."""
    from bpgui_engine.maps.sweep_bound import with_bound

    return with_bound(req["setup"], np.asarray(req["x0"], float), req["result"]), ""
    yield  # a generator


def restarts(req: dict, cancel: threading.Event) -> Job:
    """Random restarts: one batch of runs from ``starts`` (rows of free parameters); a
    method with no batch kernel runs start by start (:mod:`bpgui_engine.train.rowwise`)."""
    from bpgui_engine.train.fast import FAST_BATCH_METHODS, fast_train_batch
    from bpgui_engine.train.rowwise import rowwise_batch

    batch = fast_train_batch if req["method"] in FAST_BATCH_METHODS else rowwise_batch
    res = batch(
        req["setup"].objective(),
        np.asarray(req["starts"], float),
        req["method"],
        req.get("hyper", {}),
        int(req["epochs"]),
        stride=int(req.get("stride", 1)),
        should_stop=cancel.is_set,
    )
    return res, ""
    yield  # a generator


def critical(req: dict, cancel: threading.Event) -> Job:
    """Stationary points: ``(points, cancelled)``."""
    from bpgui_engine.analysis.critical import find_critical_points

    pts = find_critical_points(
        req["setup"], free=req["free"], x=np.asarray(req["x"], float), should_stop=cancel.is_set
    )
    return (pts, cancel.is_set()), ""
    yield  # a generator


def gradcheck(req: dict, cancel: threading.Event) -> Job:
    """Backpropagation against finite differences at ``x``, layer by layer."""
    from bpgui_engine.analysis.gradcheck import gradient_check

    return gradient_check(req["setup"].objective(), np.asarray(req["x"], float)), ""
    yield  # a generator


def curvature(req: dict, cancel: threading.Event) -> Job:
    """The exact Hessian's eigen-decomposition at each of ``points``."""
    from bpgui_engine.analysis.curvature import curvature_at

    obj = req["setup"].objective()
    out = [curvature_at(obj, np.asarray(x, float)) for x in req["points"]]
    return out, ""
    yield  # a generator


def surface(req: dict, cancel: threading.Event) -> Job:
    """The performance over a grid of two parameters and its isolines."""
    from bpgui_engine.analysis.contour import contour_levels, isolines
    from bpgui_engine.analysis.surface import affordable_resolution, evaluate_surface
    from bpgui_engine.model.penalty import Penalty

    # a large network's contour on a coarser grid: seconds, not minutes
    res = affordable_resolution(req["spec"], req["data"].n_samples, req["resolution"])
    s = evaluate_surface(
        req["spec"], req["data"], np.asarray(req["theta"], float), req["axes"][0],
        req["ranges"][0], req["axes"][1], req["ranges"][1], res, req["performance"],
        Penalty(*req.get("penalty", (0.0, 0.0))),
    )  # fmt: skip
    levels = contour_levels(s.values, 12, log=req["log_levels"])
    ix, iy = isolines(s.xs, s.ys, s.values, levels)
    return (s, levels, ix, iy), ""
    yield  # a generator


def landscape(req: dict, cancel: threading.Event) -> Job:
    """A landscape (:func:`~bpgui_engine.analysis.views.compute_landscape`), coarse first:
    every better picture as progress; cancelled, the last picture is the result."""
    from bpgui_engine.analysis.views import compute_landscape

    opts = dict(req.get("options", {}))
    last = None
    for view in compute_landscape(req["setup"], req["mode"], req.get("x"),
                                  should_stop=cancel.is_set, **opts):  # fmt: skip
        last = view
        if not view.done:
            yield view
        if cancel.is_set():
            break
    return last, ""


def spectrum(req: dict, cancel: threading.Event) -> Job:
    """The Hessian's spectrum at ``x`` (:func:`~bpgui_engine.analysis.views.compute_spectrum`)."""
    from bpgui_engine.analysis.views import compute_spectrum

    return compute_spectrum(req["setup"], np.asarray(req["x"], float), **req.get("options", {})), ""
    yield  # a generator


def crash(req: dict, cancel: threading.Event) -> Job:
    """For the tests, a job that misbehaves as ``how`` says: ``"raise"`` an error,
    ``"abort"`` its process (a native crash), ``"wait"`` until cancelled, or ``"spin"``
    deaf to Cancel (its process is ended)."""
    import time

    how = req.get("how")
    if how == "abort":
        import os

        os.abort()
    if how == "wait":
        cancel.wait(float(req.get("seconds", 30)))
        return ("cancelled" if cancel.is_set() else "waited"), ""
    if how == "spin":
        end = time.monotonic() + float(req.get("seconds", 30))
        while time.monotonic() < end:
            pass
        return "spun", ""
    raise RuntimeError(str(req.get("message", "a job that fails")))
    yield  # a generator


JOBS: dict[str, Callable[[dict, threading.Event], Job]] = {
    "basins": basins,
    "sweep": sweep,
    "sweep_bound": sweep_bound,
    "restarts": restarts,
    "critical": critical,
    "gradcheck": gradcheck,
    "curvature": curvature,
    "surface": surface,
    "landscape": landscape,
    "spectrum": spectrum,
    "crash": crash,
}
