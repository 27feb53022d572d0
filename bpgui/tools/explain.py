"""The main window's explanations (issue 13): critical points, curvature and equations,
update vectors, the backprop inspector, editable weights.

Everything here is derived from the window's model (setup, start point, current run) and
redrawn by :meth:`ExplainMixin.sync_explain` (called from ``refresh()``) and
:meth:`ExplainMixin.explain_frame` (the slow frames while training).  A critical-point
search belongs to the problem, the axes and the ranges it ran on
(:func:`~bpgui.document.runs.problem_key`): it is drawn only while those are current.  The panes are
built the first time they are needed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDockWidget

from bpgui.document.runs import problem_key
from bpgui.window.docks import show_tool_dock, tool_dock


class ExplainMixin:
    """Part of :class:`~bpgui.window.main.MainWindow`."""

    critical_pane = None
    critical_dock: QDockWidget | None = None
    critical_marks = None
    critical_result = None  # panes.critical.CriticalResult (its key says what it is of)
    _critical_row: int | None = None

    # ---- helpers ------------------------------------------------------------------------------
    def explain_point(self) -> np.ndarray:
        """The current point: the run's last epoch, else where the next run starts."""
        h = self.controller.history
        if h is not None and len(h):
            return np.array(h.x[len(h) - 1], float)
        return np.array(self._default_start(), float)

    def _explain_dock(self, title: str, name: str, widget, area) -> QDockWidget:
        return tool_dock(self, title, name, widget, area)

    def _show_small(self, dock: QDockWidget, vertical: bool = True, tall: bool = False) -> None:
        """Show ``dock`` tabbed with the open tools of its area, within the screen."""
        show_tool_dock(self, dock, tall=tall)

    # ---- critical points ----------------------------------------------------------------------
    def _critical_ui(self):
        if self.critical_pane is not None:
            return self.critical_pane
        from bpgui.panes.critical import CriticalPane
        from bpgui.plots.critical_marks import CriticalMarks

        pane = self.critical_pane = CriticalPane(service=self.jobs)
        self.critical_dock = self._explain_dock(
            "Critical points", "critical-dock", pane, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.critical_marks = CriticalMarks(self.plots.contour.plot_item)
        pane.find_button.clicked.connect(self.find_critical)
        pane.finished.connect(self._critical_finished)
        pane.row_selected.connect(self._critical_selected)
        return pane

    def critical_key(self) -> tuple:
        s = self.setup
        return (problem_key(s), s.axes, s.ranges)

    def show_critical(self) -> None:
        """Tools ▸ Find critical points: the dock (small) and a search of the current view."""
        self._critical_ui()
        self._show_small(self.critical_dock)
        self.find_critical()

    def find_critical(self) -> None:
        from bpgui.panes.critical import CriticalJob

        s = self.setup
        free = "all" if len(s.free) > 2 else "slice"
        self._critical_ui().start(CriticalJob(s, self.explain_point(), free, self.critical_key()))

    def _critical_finished(self, res) -> None:
        self.critical_result = res
        self._critical_row = None
        self.sync_critical()
        from bpgui.panes.critical import summary

        self.show_message(f"critical points: {summary(res)}", error=bool(res.error))

    def _critical_selected(self, row: int) -> None:
        self._critical_row = row
        if self.critical_marks is not None:
            self.critical_marks.select(row, self.setup)

    def critical_current(self):
        """The search result of the current problem, axes and ranges (None otherwise)."""
        r = self.critical_result
        return r if r is not None and r.key == self.critical_key() else None

    def sync_critical(self) -> None:
        if self.critical_pane is None:
            return
        from bpgui.panes.critical import KIND_STYLE

        res = self.critical_current()
        pts = res.points if res is not None else []
        self.critical_marks.set_points(pts, self.setup)
        self.critical_pane.show_result(res, self.setup)
        if res is None:
            self._critical_row = None
        elif self._critical_row is not None:
            self.critical_marks.select(self._critical_row, self.setup)
        marks = []
        for p, (x, y) in zip(pts, zip(*self.critical_marks.xy(), strict=True), strict=True):
            c = QColor(KIND_STYLE.get(p.kind, KIND_STYLE["undefined"])[1])
            marks.append((x, y, p.performance, (c.redF(), c.greenF(), c.blueF(), 1.0)))
        self.plots.view3d.set_critical(marks)

    # ---- curvature, equations, update vectors -------------------------------------------------
    explain_dock: QDockWidget | None = None
    curvature_panel = None
    equations_panel = None
    curvature_overlay = None
    vectors_overlay = None
    curvature = None  # bpgui_engine.analysis.curvature.Curvature at the current point (or None)
    _snapshot: tuple[int, int, dict] | None = None  # (run id, epoch, optimizer state)
    _snapshot_wanted: tuple[int, int] | None = None
    _explain_wired = False

    def _explain_ui(self):
        if self.explain_dock is not None:
            return
        from PySide6.QtWidgets import QVBoxLayout, QWidget

        from bpgui.panes.curvature import CurvaturePanel
        from bpgui.panes.equations import EquationsPanel

        self.curvature_panel = CurvaturePanel()
        self.equations_panel = EquationsPanel()
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.curvature_panel)
        v.addWidget(self.equations_panel)
        v.addStretch(1)
        self.explain_dock = self._explain_dock(
            "Curvature and equations", "explain-dock", box, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.curvature_panel.overlays_changed.connect(self.sync_live)
        self.explain_dock.visibilityChanged.connect(lambda _v: self.sync_live())

    def _overlays(self) -> None:
        if self.curvature_overlay is None:
            from bpgui.plots.vectors import CurvatureOverlay, VectorsOverlay

            pi = self.plots.contour.plot_item
            self.curvature_overlay = CurvatureOverlay(pi)
            self.vectors_overlay = VectorsOverlay(pi)

    def show_explain(self) -> None:
        """View ▸ Curvature and equations: the panel beside the plots."""
        self._explain_ui()
        self._overlays()
        self._show_small(self.explain_dock, vertical=False)
        self.sync_live()

    def toggle_vectors(self, on: bool) -> None:
        """View ▸ Update vectors: the arrows at the current point (and CG's line search, the
        LM step's curve) on the contour."""
        self._overlays()
        self.sync_live()
        if on:
            self.show_message("update vectors: drawn at the current point (legend on the contour)")

    def _explain_wire(self) -> None:
        """Once: what the live parts follow besides refresh() and the frames."""
        if self._explain_wired:
            return
        self._explain_wired = True
        c = self.controller
        c.state_changed.connect(lambda _s: self.sync_live())
        c.records_added.connect(self._explain_records)
        self.network_pane.weight_edited.connect(self.set_weight)

    def _explain_records(self) -> None:
        """Records while paused (a step): the slow frames do not run, so redraw here."""
        if self.controller.state == "paused":
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, self.sync_live)

    def _run_context(self):
        """(optimizer name, hyperparameters, epoch or None) of the current point."""
        c, s = self.controller, self.setup
        h = c.history
        if h is not None and len(h) and c.setup is not None:
            name = c.setup.optimizer
            hyper = s.hyper if s.optimizer == name else c.setup.hyper
            return name, hyper, int(h.column("epoch")[len(h) - 1])
        return s.optimizer, s.hyper, None

    def optimizer_now(self):
        """The optimizer in its state at the current point, and a note when that state is
        reconstructed from the history (not the run's own)."""
        from bpgui_engine.optim import OPTIMIZERS
        from bpgui_engine.session.schema import run_state_from_dict

        name, hyper, epoch = self._run_context()
        cls = OPTIMIZERS[name]
        opt = cls(cls.Hyper.from_dict(hyper), seed=self.setup.seed)
        c = self.controller
        h = c.history
        if epoch is None or epoch == 0:
            return opt, ""
        st = c.last_state
        if c.state == "idle" and st and int(st["epoch"]) == epoch:
            opt.load_state_dict(run_state_from_dict(st).optimizer_state)
            return opt, ""
        snap = self._snapshot
        if snap is not None and snap[:2] == (c.run_id, epoch):
            opt.load_state_dict(snap[2])
            return opt, ""
        n = len(h)
        dx = np.array(h.x[n - 1]) - np.array(h.x[n - 2]) if n >= 2 else None
        lr, mu = float(h.column("lr")[n - 1]), float(h.column("mu")[n - 1])
        if name == "momentum":
            opt.dx = dx
        elif name == "vlbp":
            opt.dx = dx
            if np.isfinite(lr):
                opt.lr = lr
        elif name == "lm" and np.isfinite(mu):
            opt.mu = mu
        else:
            if name in ("cg", "sgd", "adam"):
                return opt, (
                    f"{name}'s state is read from the run when it is paused or ends: these "
                    "numbers start it afresh"
                )
        return opt, ""

    def _request_snapshot(self) -> None:
        """Paused: ask the engine for the run's state (CG's direction, VLBP's switch, …)."""
        c = self.controller
        h = c.history
        if c.state != "paused" or h is None or not len(h) or c.engine is None:
            return
        want = (c.run_id, int(h.column("epoch")[len(h) - 1]))
        if self._snapshot_wanted == want or (self._snapshot and self._snapshot[:2] == want):
            return
        if getattr(self, "_snapshot_engine", None) is not c.engine:
            self._snapshot_engine = c.engine
            c.engine.frame.connect(self._engine_frame)
        self._snapshot_wanted = want
        c.engine.send({"cmd": "snapshot", "run": c.run_id})

    def _engine_frame(self, header: dict, _payload) -> None:
        if header.get("type") != "state" or header.get("run") != self.controller.run_id:
            return
        from bpgui_engine.session.schema import run_state_from_dict

        st = run_state_from_dict(header["state"])
        self._snapshot = (self.controller.run_id, int(st.epoch), st.optimizer_state)
        self._snapshot_wanted = None
        self.sync_live()

    def sync_live(self) -> None:
        """Curvature, the stability bound, the equations and the update vectors at the
        current point (cheap: one Hessian, one step on a copy)."""
        from bpgui.tools.explain_live import update_live

        update_live(self)

    # ---- the model's views (from refresh() and the slow frames) ------------------------------
    def sync_explain(self) -> None:
        """Redraw every explanation from the model (``refresh()`` calls this)."""
        self._explain_wire()
        self.optimizer_pane.set_layers(self.setup.spec.n_layers)
        self.sync_critical()
        self.sync_live()
        self.sync_inspector()

    def explain_frame(self) -> None:
        """A slow frame while training: the live parts (cheap)."""
        self.sync_live()
        self.sync_inspector()

    # ---- editable weights ---------------------------------------------------------------------
    def set_weight(self, k: int, value: float) -> None:
        """Set parameter ``k`` (index in the full vector) to ``value``: the setup's values
        change (a fixed one re-slices the contour; a free one moves the start point), any
        run ends (it stays as an earlier run of its problem)."""
        s = self.setup
        x, where = self.point_on_screen()  # an edit applies to the point shown
        theta = s.full_theta(x)
        theta[k] = float(value)
        new = s.replace(theta=tuple(theta))
        self.apply_setup(new)
        self.start_x = np.array(theta[new.free_idx], float)
        self.start_drawn = False
        self.plots.request_surface(self.start_x, 0)
        self.refresh()
        state = (
            "free: the start point moved" if k in new.free_idx else "fixed: the contour re-sliced"
        )
        self.show_message(f"{s.spec.labels[k]} = {value:g} at {where} ({state})")

    def point_on_screen(self) -> tuple[np.ndarray, str]:
        """The free vector the views show (the replayed epoch, the run's last one, or the
        start point) and where that is, in words."""
        h = self.controller.history
        if h is not None and len(h):
            row = getattr(self.replay, "row", None)
            i = len(h) - 1 if row is None or not 0 <= row < len(h) else row
            return np.array(h.x[i], float), f"epoch {int(h.column('epoch')[i]):,} of the run"
        return np.array(self._default_start(), float), "the start point"

    def closeEvent(self, event) -> None:
        """Closing (after the window accepted it): cancel a running search and wait for
        its thread, so none outlives the window."""
        if self.critical_pane is not None:
            self.critical_pane.shutdown()
        super().closeEvent(event)

    # ---- the backprop inspector ---------------------------------------------------------------
    inspector_pane = None
    inspector_dock: QDockWidget | None = None

    def show_inspector(self) -> None:
        """Tools ▸ Inspect backprop: one sample's passes at the current point."""
        if self.inspector_pane is None:
            from bpgui.panes.inspector import InspectorPane

            pane = self.inspector_pane = InspectorPane()
            self.inspector_dock = self._explain_dock(
                "Backprop inspector", "inspector-dock", pane, Qt.DockWidgetArea.BottomDockWidgetArea
            )
            pane.sample_changed.connect(lambda _q: self.sync_inspector())
            self.inspector_dock.visibilityChanged.connect(lambda _v: self.sync_inspector())
        self._show_small(self.inspector_dock, tall=True)
        self.sync_inspector()

    def sync_inspector(self) -> None:
        pane = self.inspector_pane
        if pane is None or not self.inspector_dock.isVisible():
            return
        from bpgui_engine.analysis.inspect import inspect_sample

        s, obj = self.setup, self.objective
        pane.set_samples(obj.data.n_samples)
        q = pane.sample.value() - 1
        x = self.explain_point()
        _name, _hyper, epoch = self._run_context()
        where = "the start point" if epoch is None else f"epoch {epoch:,}"
        try:
            with np.errstate(all="ignore"):
                ins = inspect_sample(obj, x, q)
        except Exception as exc:  # a point the network cannot evaluate: say so
            pane.show_inspection(None, s.spec, message=f"undefined at {where}: {exc}")
            return
        pane.show_inspection(ins, s.spec, s.full_theta(x), s.free_idx, where)
