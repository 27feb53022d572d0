"""The live explanations at the current point, recomputed from the window's model (issue 13
#3-#5): the curvature panel and the optimizer form's stability bound, the contour's
eigenvector arrows and quadratic isolines, the equations panel, the update vectors, CG's
line search and the LM step's curve.

Drawn for :class:`~bpgui.tools.explain.ExplainTool` (``tool`` below, the only module that
uses this one) on the host's ``refreshed``, on the slow frames while training and when a
paused run steps.  Cheap for the book's networks (one exact Hessian and one step on a copy, about
a millisecond); above :data:`MAX_LIVE` free parameters the panel says so instead.  A
non-finite point shows "undefined" and never raises.
"""

from __future__ import annotations

import logging

import numpy as np

from bpgui.panes.curvature import stability
from bpgui_engine.analysis.contour import contour_levels, isolines
from bpgui_engine.analysis.curvature import curvature_at, eigen, quadratic_grid
from bpgui_engine.analysis.steps import cg_line_search, lm_curve, update_vectors

log = logging.getLogger(__name__)
MAX_LIVE = 400  # free parameters: above this the live Hessian is skipped
MAX_RECENT = 60  # free parameters: above this only the current point's bound is shown
RECENT = 7  # earlier epochs whose curvature enters the stability bound "near here"
QUAD_GRID = 80
VECTOR_KEYS = ("neg_gradient", "step", "momentum", "conjugate", "gauss_newton", "lm_step")


def update_live(tool) -> None:
    s = tool.host.setup
    obj = tool.host.objective
    name, hyper, epoch = tool.host.runs.run_context()
    x = tool.host.runs.current_point()
    panel = tool.explain_dock is not None and tool.explain_dock.isVisible()
    vectors_on = tool.host.actions.vectors.isChecked()
    big = obj.n_free > MAX_LIVE
    curv = None
    if not big:
        try:
            with np.errstate(all="ignore"):
                curv = curvature_at(obj, x)
        except Exception:  # a point the network cannot evaluate: "undefined"
            log.debug("curvature", exc_info=True)
    tool.curvature = curv
    recent = _recent(tool, obj) if curv is not None else []
    tool.stability = stability(curv, s.optimizer, s.hyper, recent)
    tool.host.optimizer_pane.set_stability(tool.stability[0])
    where = "the start point" if epoch is None else f"epoch {epoch:,}"
    point = _point(s, x)
    uv, note = None, ""
    if (panel or vectors_on) and not big:
        opt, note = tool.optimizer_now()
        try:
            with np.errstate(all="ignore"):
                uv = update_vectors(obj, opt, x)
        except Exception as exc:
            note = f"undefined here ({exc})"
            log.debug("update vectors", exc_info=True)
        tool.request_snapshot()
    if panel:
        too_big = f"more than {MAX_LIVE} free parameters: no live Hessian" if big else ""
        approx = None
        H = getattr(opt, "H", None) if uv is not None and name == "bfgs" else None
        if H is not None:
            with np.errstate(all="ignore"):
                try:  # the approximate Hessian BFGS has learned, beside the exact one
                    B = np.linalg.inv(H)
                    approx = np.linalg.eigvalsh((B + B.T) / 2)
                except np.linalg.LinAlgError:
                    approx = None
        tool.curvature_panel.show_curvature(curv, where, s.optimizer, s.hyper, too_big, recent,
                                            approx)  # fmt: skip
        _equations(tool, name, hyper, uv, obj, epoch, note)
    _curvature_overlay(tool, curv, point, panel)
    _vectors_overlay(tool, uv, point, vectors_on, name, x, note)


def _recent(tool, obj) -> list:
    """The curvature at the run's :data:`RECENT` epochs before the one shown."""
    h = tool.host.controller.history
    if h is None or len(h) < 2 or obj.n_free > MAX_RECENT:
        return []
    n = tool.host.runs.shown_index() + 1
    out = []
    with np.errstate(all="ignore"):
        for i in range(max(0, n - 1 - RECENT), n - 1):
            try:
                out.append(curvature_at(obj, np.array(h.x[i], float)))
            except Exception:
                log.debug("curvature", exc_info=True)
    return out


def _point(s, x) -> tuple[float, float] | None:
    px, py = s.axis_values(np.asarray(x, float)[None, :])
    p = (float(px[0]), float(py[0]))
    return p if all(np.isfinite(p)) else None


def _axis_idx(s) -> tuple[int | None, int | None]:
    return tuple(s.free.index(a) if a in s.free else None for a in s.axes)


def _project(s, v) -> tuple[float, float]:
    ix, iy = _axis_idx(s)
    return (float(v[ix]) if ix is not None else 0.0, float(v[iy]) if iy is not None else 0.0)


def _curvature_overlay(tool, curv, point, panel: bool) -> None:
    ov = tool.curvature_overlay
    if ov is None:
        return
    s = tool.host.setup
    cp = tool.curvature_panel
    if not panel or curv is None or point is None:
        ov.clear()
        return
    ix, iy = _axis_idx(s)
    if cp.eigen_box.isChecked() and ix is not None and iy is not None:
        idx = [ix, iy]
        lam, vec = eigen(curv.hessian[np.ix_(idx, idx)])
        ov.set_eigen(point, lam, vec, s.ranges)
    else:
        ov.set_eigen(None, None, None, None)
    if cp.quad_box.isChecked():
        (x0, x1), (y0, y1) = s.ranges
        xs, ys = np.linspace(x0, x1, QUAD_GRID), np.linspace(y0, y1, QUAD_GRID)
        q = quadratic_grid(curv, ix, iy, xs, ys)
        surf = tool.host.plots.surface
        levels = surf.levels if surf is not None and len(surf.levels) else contour_levels(q, 12)
        levels = np.union1d(levels, [curv.value]) if np.isfinite(curv.value) else levels
        ov.set_quadratic(*isolines(xs, ys, q, levels))
    else:
        ov.set_quadratic(None, None)


def _equations(tool, name, hyper, uv, obj, epoch, note) -> None:
    from bpgui.panes.equations import equation_html
    from bpgui_engine.optim import OPTIMIZERS

    ep = tool.equations_panel
    title = OPTIMIZERS[name].title
    if uv is None:
        ep.show_update(title, name, "undefined at this point", note, tool.host.current_experiment())
        return
    opt, _ = tool.optimizer_now()
    state = {
        **opt.state_dict(),  # the rule's own state (Rprop's Δ, RMSprop's v, …)
        **{k: getattr(opt, k) for k in ("lr", "mu", "momentum_on") if hasattr(opt, k)},
    }
    try:
        html = equation_html(name, hyper, uv, obj.lr_scale, state, epoch)
    except Exception as exc:  # a value the text cannot show: say so, never crash
        html = f"undefined ({exc})"
    if name != tool.host.setup.optimizer:
        form = tool.host.setup.optimizer
        note = (note + "; " if note else "") + (
            f"the current run uses {name}; the form's {form} applies to the next run"
        )
    ep.show_update(title, name, html, note, tool.host.current_experiment())


def _vectors_overlay(tool, uv, point, on: bool, name: str, x, note: str) -> None:
    ov = tool.vectors_overlay
    if ov is None:
        return
    s = tool.host.setup
    if not on or uv is None or point is None:
        ov.clear()
        return
    vectors = {}
    for key in VECTOR_KEYS:
        v = getattr(uv, key)
        if v is None or not np.all(np.isfinite(v)):
            continue
        dx, dy = _project(s, v)
        if dx == 0 and dy == 0 and key != "step":
            continue
        with np.errstate(all="ignore"):
            vectors[key] = (dx, dy, float(np.linalg.norm(v)))
    ov.set_vectors(point, vectors, s.ranges)
    obj = tool.host.objective
    opt, _ = tool.optimizer_now()
    line = locate = golden = None
    if name == "cg":
        try:
            with np.errstate(all="ignore"):
                ls = cg_line_search(obj, opt, x)
            tool.line_search = ls
            if len(ls.trials):
                a_max = max(t[1] for t in ls.trials)
                ends = np.array([x, x + a_max * ls.u])
                line = s.axis_values(ends)
                locate = s.axis_values(ls.phase("locate")) if len(ls.phase("locate")) else None
                golden = s.axis_values(ls.phase("golden")) if len(ls.phase("golden")) else None
        except Exception:
            log.debug("line search", exc_info=True)
    ov.set_line_search(line, locate, golden)
    curve = accepted = None
    if name == "lm" and obj.perf.least_squares:
        try:
            with np.errstate(all="ignore"):
                lc = lm_curve(obj, x, opt)
            tool.lm_curve = lc
            curve = s.axis_values(x + lc.steps)
            if lc.accepted_step is not None:
                accepted = s.axis_values((x + lc.accepted_step)[None, :])
        except Exception:
            log.debug("LM curve", exc_info=True)
    ov.set_lm(curve, accepted)
    if name == "cg" and locate is not None:
        ov.add_legend_note(ov.locate, "line search: interval location")
        if golden is not None:
            ov.add_legend_note(ov.golden, "line search: golden section")
    if name == "lm" and curve is not None:
        ov.add_legend_note(ov.lm_curve, "LM step as μ goes from large to small")
        if accepted is not None and tool.lm_curve.accepted_mu is not None:
            ov.add_legend_note(ov.lm_accepted, f"accepted μ = {tool.lm_curve.accepted_mu:.3g}")
