"""View ▸ Curvature and equations and View ▸ Update vectors (issue 13): the curvature panel
and the optimizer form's stability bound, the equations panel, the contour's eigenvector
arrows and quadratic isolines, the update vectors, CG's line search and the LM step's
curve — all at the current point.

One tool for both: they are drawn from the same computation at the same point (one
Hessian, one step on a copy of the optimizer in its state there), which
:mod:`bpgui.tools.explain_live` does on every ``refreshed``, on the slow frames while
training and when a paused run steps.  The optimizer's state at the point is the run's
when the engine has it (paused: a snapshot it is asked for; ended: the run's last state),
else reconstructed from the history."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from bpgui.tools.base import Tool
from bpgui.tools.explain_live import MAX_RECENT, update_live

LIVE_INTERVAL_S = 1.0


class ExplainTool(Tool):
    """View ▸ Curvature and equations, View ▸ Update vectors."""

    name = "explain"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.explain_dock: QDockWidget | None = None
        self.curvature_panel = None
        self.equations_panel = None
        self.curvature_overlay = None
        self.vectors_overlay = None
        self.curvature = None  # bpgui_engine.analysis.curvature.Curvature here (or None)
        self.stability = None
        self.line_search = None
        self.lm_curve = None
        self._snapshot: tuple[int, int, dict] | None = None  # (run id, epoch, optimizer state)
        self._snapshot_wanted: tuple[int, int] | None = None
        self._live_at = -1e9  # when sync_live last ran during a run (a large network's)
        self._snapshot_engine = None
        a, c = host.actions, host.controller
        a.explain.triggered.connect(self.show_explain)
        a.vectors.setCheckable(True)
        a.vectors.setIconVisibleInMenu(False)  # the menu shows its check mark, not an icon
        a.vectors.toggled.connect(self.toggle_vectors)
        host.refreshed.connect(self.sync_live)
        host.shown_changed.connect(self.sync_live)  # replay: the numbers at that epoch
        host.slow_frame.connect(self.sync_live)
        c.state_changed.connect(lambda _s: self.sync_live())
        c.records_added.connect(self._explain_records)
        host.left_tabs.currentChanged.connect(lambda _i: self.sync_live())  # the bound shown

    # ---- the panel and the overlays -----------------------------------------------------------
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
        self.explain_dock = self.make_dock(
            "Curvature and equations", "explain-dock", box, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.curvature_panel.overlays_changed.connect(self.sync_live)
        self.explain_dock.visibilityChanged.connect(lambda _v: self.sync_live())

    def _overlays(self) -> None:
        if self.curvature_overlay is None:
            from bpgui.plots.vectors import CurvatureOverlay, VectorsOverlay

            pi = self.host.plots.contour.plot_item
            self.curvature_overlay = CurvatureOverlay(pi)
            self.vectors_overlay = VectorsOverlay(pi)

    def show_explain(self) -> None:
        """View ▸ Curvature and equations: the panel beside the plots."""
        self._explain_ui()
        self._overlays()
        self.show_dock(self.explain_dock)
        self.sync_live()

    def toggle_vectors(self, on: bool) -> None:
        """View ▸ Update vectors: the arrows at the current point (and CG's line search, the
        LM step's curve) on the contour."""
        self._overlays()
        self.sync_live()
        if on:
            self.host.show_message(
                "update vectors: drawn at the current point (legend on the contour)"
            )

    def _explain_records(self) -> None:
        """Records while paused (a step): the slow frames do not run, so redraw here."""
        if self.host.controller.state == "paused":
            QTimer.singleShot(0, self.sync_live)

    def _on_screen(self) -> bool:
        """Whether anything drawn from the live curvature is on screen: the panel, the
        update vectors or the optimizer form's stability bound."""
        panel = self.explain_dock is not None and self.explain_dock.isVisible()
        vectors = self.host.actions.vectors.isChecked()
        return panel or vectors or self.host.optimizer_pane.isVisible()

    def sync_live(self) -> None:
        """Curvature, the stability bound, the equations and the update vectors at the
        current point (cheap: one Hessian, one step on a copy).  While a network of more
        than :data:`~bpgui.tools.explain_live.MAX_RECENT` free parameters trains, at most
        once every :data:`LIVE_INTERVAL_S` (its Hessian's eigen-decomposition would cost
        the frames; the run's end and a pause redraw at once)."""
        running = self.host.controller.state == "running"
        if running and not self._on_screen():  # nothing shows it: drawn when it is shown
            return
        if running and self.host.objective.n_free > MAX_RECENT:
            now = time.monotonic()
            if now - self._live_at < LIVE_INTERVAL_S:
                return
            self._live_at = now
        update_live(self)

    # ---- the optimizer's state at the current point --------------------------------------------
    def optimizer_now(self):
        """The optimizer in its state at the current point, and a note when that state is
        reconstructed from the history (not the run's own)."""
        from bpgui_engine.optim import OPTIMIZERS
        from bpgui_engine.session.schema import run_state_from_dict

        host = self.host
        name, hyper, epoch = host.runs.run_context()
        cls = OPTIMIZERS[name]
        opt = cls(cls.Hyper.from_dict(hyper), seed=host.setup.seed)
        c = host.controller
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
        i = host.runs.shown_index()  # the replayed epoch or the run's last
        ep = h.column("epoch")
        dx = np.array(h.x[i]) - np.array(h.x[i - 1]) if i >= 1 else None
        if dx is not None and int(ep[i]) - int(ep[i - 1]) != 1 and name in ("momentum", "vlbp"):
            return opt, (
                "the history is thinned here (the previous epoch is not kept): these numbers "
                "start the rule afresh"
            )
        lr, mu = float(h.column("lr")[i]), float(h.column("mu")[i])
        if name == "momentum":
            opt.dx = dx
        elif name == "vlbp":
            opt.dx = dx
            if np.isfinite(lr):
                opt.lr = lr
        elif name == "lm" and np.isfinite(mu):
            opt.mu = mu
        else:
            if name != "sd":  # every other method carries state of its own
                when = (
                    "is read from the run when it is paused or ends"
                    if i == len(h) - 1
                    else "at a replayed epoch is not kept"
                )
                return opt, f"{name}'s state {when}: these numbers start it afresh"
        return opt, ""

    def request_snapshot(self) -> None:
        """Paused: ask the engine for the run's state (CG's direction, VLBP's switch, …)."""
        c = self.host.controller
        h = c.history
        if c.state != "paused" or h is None or not len(h) or c.engine is None:
            return
        want = (c.run_id, int(h.column("epoch")[len(h) - 1]))
        if self._snapshot_wanted == want or (self._snapshot and self._snapshot[:2] == want):
            return
        if self._snapshot_engine is not c.engine:
            self._snapshot_engine = c.engine
            c.engine.frame.connect(self._engine_frame)
        self._snapshot_wanted = want
        c.engine.send({"cmd": "snapshot", "run": c.run_id})

    def _engine_frame(self, header: dict, _payload) -> None:
        c = self.host.controller
        if header.get("type") != "state" or header.get("run") != c.run_id:
            return
        from bpgui_engine.session.schema import run_state_from_dict

        st = run_state_from_dict(header["state"])
        self._snapshot = (c.run_id, int(st.epoch), st.optimizer_state)
        self._snapshot_wanted = None
        self.sync_live()
