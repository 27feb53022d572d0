"""The main window's tools: gradient check, random restarts (their results belong to the
problem they were computed on), clearing earlier runs, About."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from bpgui.document.runs import problem_key
from bpgui.window.docks import show_tool_dock


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
        f"layer {r.layer}: compared dF/d for {which}; worst {r.worst}: backprop "
        f"{r.backprop:.6g} vs central difference {r.numeric:.6g} (apart by {diff:.1e}; "
        f"a central difference is accurate to ±{r.fd_error:.1e} here) — {verdict}"
    )


class ToolsMixin:
    """Part of :class:`~bpgui.window.main.MainWindow`."""

    def _drop_restarts(self) -> None:
        """Restart results belong to the problem they were computed on."""
        self.restarts_key = self.highlight_row = None
        if self.restarts.result is not None:
            self.restarts.restore(None, self.restarts.settings())

    def clear_previous(self) -> None:
        """Forget the earlier runs, the restarts and an ended race (the current run
        stays)."""
        self.archive.clear()
        self._drop_restarts()
        if not self.controller.racing:
            self.drop_race()
        self.refresh()

    def run_gradient_check(self) -> None:
        """Backprop against finite differences at the current point, in the service."""
        h = self.controller.history
        x = h.x[-1] if h is not None and len(h) else self._default_start()
        if getattr(self, "_gradcheck_job", None) is not None:
            self.jobs.drop(self._gradcheck_job)
        self.show_message("gradient check: computing…")
        job = self._gradcheck_job = self.jobs.submit("gradcheck", {"setup": self.setup, "x": x})
        job.finished.connect(self._gradient_checked)

    def _gradient_checked(self, rows, error: str) -> None:
        self._gradcheck_job = None
        if rows is None:
            self.show_message(f"gradient check: {error or 'cancelled'}", error=bool(error))
            return
        self.last_gradcheck = rows
        worst = max(r.max_rel_error for r in rows)
        verdict = (
            "backprop agrees with finite differences" if worst < 1e-4 else "CHECK THE GRADIENT"
        )
        lines = [gradcheck_line(r) for r in rows]
        self.show_message(f"gradient check: worst relative error {worst:.2e} — {verdict}")
        box = QMessageBox(self)
        box.setWindowTitle("Gradient check")
        box.setText(f"{verdict} (central differences, h = 1e-6 relative)")
        box.setInformativeText("\n".join(lines))
        box.open()
        self.info_box = box

    def _show_restarts(self) -> None:
        show_tool_dock(self, self.restarts_dock)
        self.restarts.run()

    def _restarts_started(self) -> None:
        self._restarts_started_key = problem_key(self.setup)

    def _restarts_done(self, res) -> None:
        if self._restarts_started_key != problem_key(self.setup):
            self._drop_restarts()  # computed for a problem that is no longer current
            self.show_message("restarts discarded: the problem changed while they ran")
            return
        self.document.mark_modified()
        self.restarts_key = self._restarts_started_key
        self.highlight_row = None
        self.refresh()
        self.show_message(self.restarts.summary.text())

    def _restart_selected(self, row: int) -> None:
        self.highlight_row = row
        res = self.restarts.result if self.restarts_key == problem_key(self.setup) else None
        self.plots.set_restarts(res, row)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About bpgui",
            "bpgui: watch backpropagation train a neural network.\n\n"
            "Based on Hagan et al., Neural Network Design, chapter 12.",
        )
