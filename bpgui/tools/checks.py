"""Two tools: the gradient check (Tools ▸ Gradient check) and the random restarts (Tools ▸
Random restarts; their results belong to the problem they were computed on)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from bpgui.panes.restarts import RestartsPane
from bpgui.tools.base import Tool
from bpgui_engine.model.setup import problem_key


def gradcheck_line(r) -> str:
    """One layer's check in words: what was compared with what, how far apart they are,
    and how far apart a finite difference can be on its own."""
    n = r.n_params
    which = (
        ("its free parameter" if n == 1 else f"all {n} of its free parameters")
        if r.n_checked == n
        else f"{r.n_checked} of its {n} free parameters (sampled)"
    )
    diff = abs(r.backprop - r.numeric)
    verdict = (
        "within the finite difference's own error"
        if r.max_rel_error == 0
        else f"relative error beyond it {r.max_rel_error:.2e}"
    )
    return (
        f"layer {r.layer}: compared ∂F/∂x for {which}; worst {r.worst}: backprop "
        f"{r.backprop:.6g} vs central difference {r.numeric:.6g} (apart by {diff:.1e}; "
        f"a central difference is accurate to ±{r.fd_error:.1e} here) — {verdict}"
    )


class GradcheckTool(Tool):
    """Tools ▸ Gradient check: backprop against central differences at the current point."""

    name = "gradcheck"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.last_gradcheck: list = []
        self.info_box: QMessageBox | None = None
        self._gradcheck_job = None
        host.actions.gradcheck.triggered.connect(self.run_gradient_check)

    def run_gradient_check(self) -> None:
        """Backprop against finite differences at the current point, in the service."""
        host = self.host
        h = host.controller.history
        x = h.x[-1] if h is not None and len(h) else host.runs.default_start()
        if self._gradcheck_job is not None:
            host.jobs.drop(self._gradcheck_job)
        host.show_message("gradient check: computing…")
        job = self._gradcheck_job = host.jobs.submit("gradcheck", {"setup": host.setup, "x": x})
        job.finished.connect(self._gradient_checked)

    def _gradient_checked(self, rows, error: str) -> None:
        self._gradcheck_job = None
        if rows is None:
            self.host.show_message(f"gradient check: {error or 'cancelled'}", error=bool(error))
            return
        self.last_gradcheck = rows
        worst = max(r.max_rel_error for r in rows)
        verdict = (
            "backprop agrees with finite differences" if worst < 1e-4 else "CHECK THE GRADIENT"
        )
        lines = [gradcheck_line(r) for r in rows]
        size = (
            "no error beyond the finite differences' own"
            if worst == 0
            else f"worst relative error {worst:.2e} beyond the finite differences' own"
        )
        self.host.show_message(f"gradient check: {size} — {verdict}")
        box = QMessageBox(self.host)
        box.setWindowTitle("Gradient check")
        box.setText(f"{verdict} (central differences, h = 1e-6 relative)")
        box.setInformativeText("\n".join(lines))
        box.open()
        self.info_box = box


class RestartsTool(Tool):
    """Tools ▸ Random restarts: the pane in its dock (built with the window: View lists it),
    its results drawn on the contour while their problem is current."""

    name = "restarts"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.restarts = RestartsPane(service=host.jobs)
        self.restarts_dock = self.make_dock(
            "Random restarts", "restarts-dock", self.restarts,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )  # fmt: skip
        self.restarts_key: tuple | None = None  # the problem the restarts belong to
        self._restarts_started_key: tuple | None = None
        self.highlight_row: int | None = None  # the restart drawn bold
        r = self.restarts
        r.started.connect(self._restarts_started)
        r.finished.connect(self._restarts_done)
        r.failed.connect(lambda m: host.show_message(f"restarts: {m}", error=True))
        r.row_selected.connect(self._restart_selected)
        host.actions.restarts.triggered.connect(self._show_restarts)
        host.setup_applied.connect(self._setup_applied)
        host.refreshed.connect(self._draw)
        host.cleared.connect(self._drop_restarts)
        host.closing.connect(self.restarts.shutdown)

    def menu_actions(self, menu: str) -> list[QAction]:
        return [self.restarts_dock.toggleViewAction()] if menu == "view" else []

    def _current(self):
        """The restarts of the current problem (None: none, or of another problem)."""
        ok = self.restarts_key == problem_key(self.host.setup)
        return self.restarts.result if ok else None

    def _setup_applied(self, problem_changed: bool, _view_changed: bool) -> None:
        host = self.host
        if problem_changed and self.restarts_key != problem_key(host.setup):
            self._drop_restarts()
        self.restarts.set_problem(host.setup, host.objective)

    def _draw(self) -> None:
        self.host.plots.set_restarts(self._current(), self.highlight_row)

    def _drop_restarts(self) -> None:
        """Restart results belong to the problem they were computed on."""
        self.restarts_key = self.highlight_row = None
        if self.restarts.result is not None:
            self.restarts.restore(None, self.restarts.settings())

    def _show_restarts(self) -> None:
        self.show_dock(self.restarts_dock)
        self.restarts.run()

    def _restarts_started(self) -> None:
        self._restarts_started_key = problem_key(self.host.setup)

    def _restarts_done(self, res) -> None:
        host = self.host
        if self._restarts_started_key != problem_key(host.setup):
            self._drop_restarts()  # computed for a problem that is no longer current
            host.show_message("restarts discarded: the problem changed while they ran")
            return
        host.document.mark_modified()
        self.restarts_key = self._restarts_started_key
        self.highlight_row = None
        host.refresh()
        host.show_message(self.restarts.summary.text())

    def _restart_selected(self, row: int) -> None:
        self.highlight_row = row
        self.host.plots.set_restarts(self._current(), row)

    # ---- sessions -------------------------------------------------------------------------
    def save(self, session) -> None:
        # restarts are saved only with the problem they were computed on
        session.restarts = self._current()
        session.restarts_settings = self.restarts.settings()
        session.view["restarts_open"] = self.restarts_dock.isVisible()

    def restore(self, session) -> None:
        key = problem_key(session.setup)
        self.highlight_row = None
        self._restarts_started_key = key
        self.restarts.restore(session.restarts, session.restarts_settings)
        self.restarts_key = key if session.restarts is not None else None
        if "restarts_open" in session.view:
            self.restarts_dock.setVisible(bool(session.view["restarts_open"]))
