"""The basin map and hyperparameter sweep (issue 12): Tools ▸ Basin map,
Tools ▸ Sweep.

Both are results that belong to what they were computed on, like the restarts: the basin
map to the problem (:func:`~bpgui.document.runs.problem_key`), the contour's axes and its ranges;
the sweep to the problem.  They stay in the model while other views are current and are
drawn only while theirs is (an axes swap back shows the map again); New, Open and Clear
earlier runs drop them.  The panes and the overlay are built the first time they are
needed (a menu, or a session that holds a map or a sweep)."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from bpgui.tools.base import Tool
from bpgui_engine.analysis.curvature import kinds_at
from bpgui_engine.model.setup import problem_key

log = logging.getLogger(__name__)


def _basins_key(setup, m) -> tuple:
    return (problem_key(setup), (m.x_label, m.y_label))


class MapsTool(Tool):
    """Tools ▸ Basin map and Tools ▸ Sweep (one tool: they share the left dock area, their
    drawing path and their life cycle)."""

    name = "maps"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.basin_map = None  # bpgui_engine.maps.basins.BasinMap on the contour (key below)
        self.basins_key: tuple | None = None  # (problem, axes, ranges) the map belongs to
        self.sweep_result = None  # bpgui_engine.maps.sweep.SweepResult
        self.sweep_bound = None  # the stability bound curve drawn on it
        self.sweep_key: tuple | None = None  # the problem it belongs to
        self.sweep_start: np.ndarray | None = None  # the start point of its runs
        self.basins_pane = None
        self.sweep_pane = None
        self.basin_overlay = None
        self._kinds_key = None
        host.actions.basins.triggered.connect(self.show_basins)
        host.actions.sweep.triggered.connect(self.show_sweep)
        host.cleared.connect(self.drop_maps)
        host.setup_applied.connect(self._setup_applied)
        host.theme_changed.connect(self._theme_changed)
        host.closing.connect(self._closing)

    def _setup_applied(self, _problem_changed: bool, view_changed: bool) -> None:
        if view_changed:
            self.sync_maps()  # a map of another problem, axes or ranges goes at once

    def _theme_changed(self) -> None:
        ov = self.basin_overlay
        if ov is not None and ov.visible:  # the legends drawn in plots: the new size
            ov.set_map(ov.map, self._minima_kinds())
        if self.sweep_pane is not None:
            self.sweep_pane.heatmap.refresh_legend()

    # ---- construction (once) -------------------------------------------------------------
    def _maps_ui(self) -> None:
        if self.basins_pane is not None:
            return
        from bpgui.panes.basins import BasinsPane
        from bpgui.panes.sweep import SweepPane
        from bpgui.plots.basin_overlay import BasinOverlay

        host = self.host
        self.basin_overlay = BasinOverlay(host.plots.contour.plot_item)
        self.basins_pane = BasinsPane(service=host.jobs)
        self.basins_dock = self._maps_dock("Basin map", "basins-dock", self.basins_pane,
                                           Qt.DockWidgetArea.LeftDockWidgetArea)  # fmt: skip
        setup_dock = host.findChild(QDockWidget, "setup-dock")
        if setup_dock is not None:  # a tab beside the setup: the plots keep their width
            host.tabifyDockWidget(setup_dock, self.basins_dock)
        self.sweep_pane = SweepPane(service=host.jobs)
        # the sweep's heat map needs height: a tab beside the setup too
        self.sweep_dock = self._maps_dock("Hyperparameter sweep", "sweep-dock", self.sweep_pane,
                                          Qt.DockWidgetArea.LeftDockWidgetArea)  # fmt: skip
        if setup_dock is not None:
            host.tabifyDockWidget(setup_dock, self.sweep_dock)
        bp, sp = self.basins_pane, self.sweep_pane
        bp.current = lambda: host.setup
        sp.current = lambda: (host.setup, np.array(host.runs.default_start(), float))
        bp.started.connect(self._basins_started)
        sp.started.connect(self._sweep_started)
        bp.progress.connect(self._basins_progress)
        bp.finished.connect(self._basins_finished)
        bp.opacity_changed.connect(self.basin_overlay.set_opacity)
        bp.shown_changed.connect(lambda _: self.sync_maps())
        sp.progress.connect(self._sweep_progress)
        sp.finished.connect(self._sweep_finished)
        sp.cell_clicked.connect(self._sweep_cell_clicked)
        host.surfaces.ready.connect(lambda _res: self.sync_maps())  # axes, ranges, problem

    def _maps_dock(self, title: str, name: str, widget, area) -> QDockWidget:
        return self.make_dock(title, name, widget, area)

    # ---- basin map -------------------------------------------------------------------------
    def show_basins(self) -> None:
        self._maps_ui()
        if not self.basins_pane.busy:
            self.basins_pane.set_setup(self.host.setup)
        self.show_dock(self.basins_dock)

    def _basins_started(self, job) -> None:
        """The map belongs to the problem, axes and ranges it is computed on: the contour
        shows those ranges (the pane's may differ from the contour's)."""
        s = job.setup
        ranges = ((float(job.xs[0]), float(job.xs[-1])), (float(job.ys[0]), float(job.ys[-1])))
        self._basins_job_key = (problem_key(s), s.axes, ranges)
        if ranges != self.host.setup.ranges and problem_key(self.host.setup) == problem_key(s):
            self.host.apply_setup(self.host.setup.replace(ranges=ranges))

    def _basins_progress(self, m) -> None:
        self._set_basins(m)

    def _basins_finished(self, m, error: str) -> None:
        self._set_basins(m)
        self.host.document.mark_modified()
        counts = ", ".join(f"{k}: {v:,}" for k, v in m.counts().items())
        state = "partial basin map" if m.partial else "basin map"
        text = f"{state} {m.resolution}×{m.resolution} ({counts})"
        self.host.show_message(text, error=bool(error))

    def _set_basins(self, m) -> None:
        self.basin_map, self.basins_key = m, self._basins_job_key
        self.sync_maps()

    def _basins_current(self) -> bool:
        s = self.host.setup
        return self.basins_key == (problem_key(s), s.axes, s.ranges)

    # ---- sweep -----------------------------------------------------------------------------
    def show_sweep(self) -> None:
        self._maps_ui()
        if not self.sweep_pane.busy:
            self.sweep_pane.set_setup(self.host.setup, self.host.runs.default_start())
        self.show_dock(self.sweep_dock)

    def _sweep_started(self, job) -> None:
        self._sweep_job_key = (problem_key(job.setup), job.x0.copy())

    def _sweep_progress(self, r) -> None:
        self._set_sweep(r, None)

    def _sweep_finished(self, r, bound, error: str) -> None:
        self._set_sweep(r, bound)
        self.host.document.mark_modified()
        self.host.show_message(self.sweep_pane.status.text(), error=bool(error))

    def _set_sweep(self, r, bound) -> None:
        self.sweep_result, self.sweep_bound = r, bound
        self.sweep_key, self.sweep_start = self._sweep_job_key
        self.sync_maps()

    def _sweep_cell_clicked(self, ix: int, iy: int) -> None:
        """Run with the cell's hyperparameters (through the normal setup path, so the
        optimizer pane shows them) from the start point the sweep trained from."""
        r = self.sweep_result
        if r is None or self.sweep_key != problem_key(self.host.setup):
            return
        cast = {f.name: f.type for f in _fields(r.optimizer)}
        hyper = dict(r.hyper)
        for name, v in ((r.x_param, r.xs[ix]), (r.y_param, r.ys[iy])):
            hyper[name] = int(np.rint(v)) if cast[name] in ("int", int) else float(v)
        try:
            self.host.apply_setup(self.host.setup.replace(optimizer=r.optimizer, hyper=hyper))
        except ValueError as exc:
            self.host.show_message(f"sweep: {exc}", error=True)
            return
        self.host.runs.start_new_run(np.array(self.sweep_start, float))
        vals = f"{r.x_param} = {hyper[r.x_param]:.4g}, {r.y_param} = {hyper[r.y_param]:.4g}"
        self.host.show_message(f"running {r.optimizer} with {vals} from the sweep's start point")

    def _minima_kinds(self) -> list[str] | None:
        """What the Hessian says at each of the shown map's minima (cached per problem and
        minima: the partial maps of one computation share them until it finds another)."""
        m = self.basin_map
        key = (id(self.host.objective), m.minima.tobytes())
        if self._kinds_key != key:
            self._kinds_key = key
            self._kinds = kinds_at(self.host.objective, m.minima)
        return self._kinds

    # ---- the model -> the views ------------------------------------------------------------
    def sync_maps(self) -> None:
        """Draw the basin map and the sweep only while what they belong to is current."""
        if self.basin_overlay is None:
            return
        shown = self.basin_map is not None and self._basins_current()
        if shown and self.basins_pane.show_box.isChecked():
            if self.basin_overlay.map is not self.basin_map or not self.basin_overlay.visible:
                self.basin_overlay.set_map(self.basin_map, self._minima_kinds())
        else:
            self.basin_overlay.hide()
        self.basins_pane.show_legend(
            self.basin_map if shown else None, self._minima_kinds() if shown else None
        )
        if shown or self.basin_map is None:
            if not self.basins_pane.busy and self.basin_map is None:
                self.basins_pane.status.setText("")
        else:
            self.basins_pane.status.setText(
                "The map belongs to another problem, axes or ranges: it is hidden until "
                "those are current again."
            )
        ok = self.sweep_result is not None and self.sweep_key == problem_key(self.host.setup)
        sp = self.sweep_pane
        if ok:
            if sp.heatmap.result is not self.sweep_result or sp.bound is not self.sweep_bound:
                index = self.host.setup.performance.upper()
                sp.show_result(self.sweep_result, self.sweep_bound, index)
        elif sp.heatmap.result is not None:
            sp.show_result(None)
            if self.sweep_result is not None:
                sp.status.setText("The sweep belongs to another problem: hidden until it is "
                                  "current again.")  # fmt: skip
        if not self.basins_pane.busy and self.host.setup is not None:
            self.basins_pane.set_ranges(self.host.setup)

    def drop_maps(self) -> None:
        """New, Open, Clear earlier runs: forget the map and the sweep (a running one is
        cancelled; its partial result is dropped too)."""
        if self.basins_pane is None:
            return
        for pane in (self.basins_pane, self.sweep_pane):
            if pane.busy:
                pane.runner.drop()  # never waits on the GUI thread
                pane.start_button.setEnabled(True)
                pane.cancel_button.setEnabled(False)
            pane.job = None
        self.basin_map = self.basins_key = None
        self.sweep_result = self.sweep_bound = self.sweep_key = self.sweep_start = None
        self.basin_overlay.set_map(None)
        self.basins_pane.show_legend(None)
        self.basins_pane.status.setText("")
        self.sweep_pane.show_result(None)
        self.sweep_pane.status.setText("")
        for pane in (self.basins_pane, self.sweep_pane):
            pane.bar.setValue(0)
        self.sync_maps()

    # ---- exports and sessions ----------------------------------------------------------------
    def csv_exports(self) -> dict:
        return {"basins": self._basins_csv, "sweep": self._sweep_csv}

    def _basins_csv(self) -> str:
        if self.basin_map is None:
            raise ValueError("no basin map yet: Tools ▸ Basin map computes one")
        return self.basin_map.to_csv()

    def _sweep_csv(self) -> str:
        if self.sweep_result is None:
            raise ValueError("no sweep yet: Tools ▸ Sweep computes one")
        return self.sweep_result.to_csv()

    def save(self, session) -> None:
        session.basins, session.sweep, session.sweep_start = self.maps_for_session()

    def restore(self, session) -> None:
        self.restore_maps(session.basins, session.sweep, session.sweep_start)  # None: dropped

    def maps_for_session(self) -> tuple:
        """``(basin map, sweep, sweep start)`` to save: only those of the current problem."""
        key = problem_key(self.host.setup)
        m = self.basin_map if self.basins_key is not None and self.basins_key[0] == key else None
        ok = self.sweep_result is not None and self.sweep_key == key
        return m, self.sweep_result if ok else None, self.sweep_start if ok else None

    def restore_maps(self, basins, sweep, sweep_start) -> None:
        """A saved session's map and sweep (computed on its setup); None: none."""
        if basins is None and sweep is None and self.basins_pane is None:
            return
        self._maps_ui()
        self.drop_maps()
        s = self.host.setup
        if basins is not None:
            ranges = ((float(basins.xs[0]), float(basins.xs[-1])),
                      (float(basins.ys[0]), float(basins.ys[-1])))  # fmt: skip
            self.basin_map = basins
            self.basins_key = (problem_key(s), (basins.x_label, basins.y_label), ranges)
            self.basins_pane.set_setup(s)
        if sweep is not None:
            self.sweep_result, self.sweep_key = sweep, problem_key(s)
            self.sweep_start = None if sweep_start is None else np.array(sweep_start, float)
            self.sweep_bound = None
            if self.sweep_start is not None:  # its stability bound, from the service
                req = {"setup": s, "x0": self.sweep_start, "result": sweep}
                self._bound_job = job = self.host.jobs.submit("sweep_bound", req)
                job.finished.connect(lambda out, _e, r=sweep: self._bound_done(out, r))
        self.sync_maps()

    def _bound_done(self, out, sweep) -> None:
        """A reopened sweep's stability bound has arrived: drawn while that sweep is shown."""
        if out is not None and self.sweep_result is sweep:
            self.sweep_bound = out[1]
            self.sync_maps()

    def _closing(self) -> None:
        """Closing (after the window accepted it): drop a running map or sweep; none
        starts after this (the compute service ends their processes)."""
        for pane in (self.basins_pane, self.sweep_pane):
            if pane is not None:
                pane.shutdown()


def _fields(optimizer: str):
    import dataclasses

    from bpgui_engine.optim import OPTIMIZERS

    return dataclasses.fields(OPTIMIZERS[optimizer].Hyper)
