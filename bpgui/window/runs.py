"""The main window's run commands and the views derived from its model: start, step,
pause/continue, reset, the per-frame redraw and :meth:`RunsMixin.refresh`, which redraws
every view from the model (setup, start point, current run, earlier runs, restarts)."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtWidgets import QMessageBox, QStyle

from bpgui.document.runs import archived, problem_key
from bpgui.service.controller import CRASHED
from bpgui_engine.memory import fmt_bytes, fmt_count, history_budget
from bpgui_engine.model.problem import start_point
from bpgui_engine.train.trainer import STOP_REASONS

SLOW_EVERY = 3  # response, diagram and 3-D path: every third frame
RESLICE_S = 1.0  # re-slice the contour at most once a second while training
CONTINUABLE = ("epochs", "time", "stopped", CRASHED)


class RunsMixin:
    """Part of :class:`~bpgui.window.main.MainWindow`."""

    def start_at(self, x: float, y: float) -> None:
        """A click on the contour: a new run from there (the other free parameters keep
        their start values)."""
        if not self.actions.start.isEnabled():
            self.show_message("fix the marked settings first", error=True)
            return
        base = self.start_x if self.start_x is not None else None
        self.start_x = self.setup.point_from_axes(x, y, base)
        self.start_drawn = False
        self.start_new_run(self.start_x)

    def _start_typed(self, theta) -> None:
        """A start point typed into the parameter table (issue 9 #7)."""
        self.start_x = np.asarray(theta, float)[self.setup.free_idx]
        self.start_drawn = False
        self.reset()

    def start_new_run(self, x0: np.ndarray, paused: bool = False) -> None:
        if not self.actions.start.isEnabled():
            self.show_message("fix the marked settings first", error=True)
            return
        self._end_run()
        if self.start_x is None or not np.array_equal(x0, self.start_x):
            self.start_drawn = False
        self.start_x = np.array(x0, float)
        self.restored_epoch = None
        self.status.reset_rate()
        self.controller.start(self.setup, self.start_x, paused)
        h = self.controller.history
        if h is not None and h.max_rows is not None and self.setup.criteria.epochs >= h.max_rows:
            budget, source = history_budget(self.controller.history_setting)
            self.show_message(
                f"the history will be thinned after ~{fmt_count(h.max_rows - 1)} epochs "
                f"(its budget: {fmt_bytes(budget)}, {source}; Run ▸ History memory…)"
            )
        if len(self.setup.free) > 2:
            self.plots.request_surface(self.start_x, 0)
        self.refresh()

    def _end_run(self) -> None:
        """End the current run (if any) and keep it as an earlier run of its problem (a
        race stays on screen; a running one is stopped)."""
        c = self.controller
        if c.history is not None and c.setup is not None:
            self.archive.add(archived(problem_key(c.setup), c.history))
        c.clear(keep_race=True)

    def _default_start(self) -> np.ndarray:
        if self.start_x is None:
            self.start_x = start_point(self.objective, None, self.setup.seed, self.setup.init)
        return self.start_x

    def toggle_run(self) -> None:
        """Space: pause a running run, resume a paused one, otherwise continue a stopped
        run or start a new one from the start point."""
        c = self.controller
        if c.state == "running":
            c.pause()
        elif c.state == "paused":
            c.resume()
        elif c.history is not None and c.last_stop in CONTINUABLE:
            self.restored_epoch = None
            c.resume_run(self.setup.criteria.epochs)
        else:
            self.start_new_run(self._default_start())

    def step(self) -> None:
        c = self.controller
        if c.running:
            c.step()
        elif c.history is not None and c.last_stop in CONTINUABLE:
            self.restored_epoch = None
            c.resume_run(self.setup.criteria.epochs, paused=True)
            c.step()
        elif c.history is None:
            self.start_new_run(self._default_start(), paused=True)
            c.step()

    def reset(self) -> None:
        """Back to epoch 0 at the start point, same initial weights; the old path stays
        faint."""
        self._end_run()
        self.drop_race()
        self.document.mark_modified()  # the run is no longer the session's current one
        self.restored_epoch = None
        self._default_start()
        self.refresh()
        self.show_message("reset: Start (Space) runs again from the same start point")

    def reslice(self) -> None:
        h = self.controller.history
        if h is not None and len(h):
            self.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))
        else:
            self.plots.request_surface()

    def _mark_dirty(self) -> None:
        self._dirty = True
        self.document.mark_modified(progress=True)

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.frames_drawn += 1
        c = self.controller
        h = c.history
        if h is None or len(h) == 0:
            return
        # a run reopened from a session saved mid-run is idle but not finished
        finished = c.state == "idle" and h.stop is not None
        slow = c.state == "idle" or finished or self.frames_drawn % SLOW_EVERY == 0
        self.plots.show_history(h, finished, slow)
        if slow:
            self.network_pane.set_current(self.setup.full_theta(h.x[-1]))
            if self.restored_epoch is not None and c.epoch != self.restored_epoch:
                self.restored_epoch = None
            self._update_hint()
            self.explain_frame()  # curvature, vectors, equations, inspector (issue 13)
        self._show_status(h, c.state)
        now = time.perf_counter()
        if (
            len(self.setup.free) > 2
            and now - self._last_reslice > RESLICE_S
            and not self.surfaces.busy
            and self.plots.slice_drift(h.x[-1]) > 0
        ):
            self._last_reslice = now
            self.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))

    def refresh(self) -> None:
        """Redraw every view from the model: the setup, the start point, the current run,
        the earlier runs of this problem, its restarts and its race.  Called after every change
        that is not a training frame, so nothing on screen outlives what it shows."""
        s, c = self.setup, self.controller
        key = problem_key(s)
        h = c.history if c.history is not None and len(c.history) else None
        self.plots.set_earlier(self.archive.matching(key))
        res = self.restarts.result if self.restarts_key == key else None
        self.plots.set_restarts(res, self.highlight_row)
        if h is None:
            self.plots.show_start(self.start_x)
            theta = s.theta_array if self.start_x is None else s.full_theta(self.start_x)
            self.plots.response.set_theta(theta)
        else:
            self.plots.show_history(h, c.state == "idle" and h.stop is not None, True)
            theta = s.full_theta(h.x[-1])
        self.network_pane.set_start(self.start_x)
        self.network_pane.set_current(theta)
        self.plots.update_slice_info(h)
        self._show_status(h, c.state)
        self.plots.hint.setText(self._hint())
        self.draw_race()
        self._sync_actions()
        if getattr(self, "replay", None) is not None:  # none yet while the window is built
            self.replay.sync()
        self.sync_explain()  # critical points, curvature, vectors, … (issue 13)
        self._dirty = False

    def _hint(self) -> str:
        """The line above the contour: a reopened run, the experiment's explanation, or
        what Space does now (never empty, so the contour does not jump)."""
        c = self.controller
        h = c.history if c.history is not None and len(c.history) else None
        if h is not None and self.restored_epoch is not None and c.state == "idle":
            more = "continues the run" if c.last_stop in CONTINUABLE else "starts again"
            return f"Epoch {self.restored_epoch:,} of a saved session: Start (Space) {more}."
        if self.note is not None and self.note[0] == self._note_key():
            return self.note[1]
        if c.state == "running":
            return "Running: Space pauses, Esc stops, Ctrl+R goes back to the start point."
        if c.state == "paused":
            return "Paused: Space resumes, → steps one epoch, Esc stops."
        if h is None:
            if self.start_x is None:
                return "Click on the contour to start training."
            x, y = self.setup.axis_values(self.start_x[None, :])
            how = (
                f" (drawn at random with seed {self.setup.seed}; type an exact start in the "
                "parameter table)"
                if self.start_drawn
                else ""
            )
            return (
                "Click on the contour to start training there, or press Start (Space) to "
                f"start at the teal dot ({x[0]:.4g}, {y[0]:.4g}){how}."
            )
        if c.last_stop in CONTINUABLE:
            return "Stopped: Space continues this run; a click on the contour starts a new one."
        return "Finished: click on the contour for a new run, or Ctrl+R and Space to run again."

    def _update_hint(self) -> None:
        text = self._hint()
        if text != self.plots.hint.text():
            self.plots.hint.setText(text)

    def _run_finished(self, reason: str) -> None:
        self.refresh()
        h = self.controller.history
        # with more than two free: the end point on the slice it ended on, not one drawn
        # some epochs before
        more = len(self.setup.free) > 2 and h is not None and len(h)
        if more and self.plots.slice_drift(h.x[-1]) > 0:
            self.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))
        text = STOP_REASONS.get(reason, reason)
        h = self.controller.history
        sse = f", SSE {h.last()['sse']:.4g}" if h is not None and len(h) else ""
        self.show_message(f"run ended: {text}{sse}", error=reason == "diverged")
        if reason == "diverged":
            self.show_message(
                "the run diverged (a non-finite value appeared): try a smaller learning rate",
                error=True,
            )

    def _run_failed(self, message: str) -> None:
        self.refresh()
        first = message.splitlines()[0] if message else "unknown error"
        self.show_message(f"training failed: {first}", error=True)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Training failed")
        box.setText(f"The run stopped because of an error:\n\n{first}")
        box.open()  # one line; the engine's traceback goes to the log, not to the user
        self.error_box = box

    def _state_changed(self, state: str) -> None:
        self.plots.curves.growing = state != "idle"
        a = self.actions
        a.step.setEnabled(True)
        a.pause.setEnabled(state == "running")
        a.stop.setEnabled(state != "idle")
        self._sync_actions()
        self._update_hint()
        h = self.controller.history
        self._show_status(h, state)
        if state == "running":  # "run ended …", "reset …" and old errors are over
            self.status.clear_message()
        self._validity_changed(True)

    def _show_status(self, h, state: str) -> None:
        c = self.controller
        run = c.setup if c.setup is not None else self.setup
        self.status.rate_name = "step" if run.optimizer == "cg" else "lr"
        self.status.performance_name = run.performance.upper()
        self.plots.curves.set_index_name(run.performance.upper())
        self.status.show_run(h, state, c.max_epochs)

    def _sync_actions(self) -> None:
        """Start's text says what Space does now: pause, resume, continue or start."""
        c = self.controller
        if c.state == "running":
            text = "&Pause"
        elif c.state == "paused":
            text = "&Resume"
        elif c.history is not None and len(c.history) and c.last_stop in CONTINUABLE:
            text = "&Continue"
        else:
            text = "&Start"
        self.actions.start.setText(text)
        self.actions.start.setIconText(text.replace("&", ""))  # the toolbar's label
        icon = "SP_MediaPause" if c.state == "running" else "SP_MediaPlay"
        self.actions.start.setIcon(self.style().standardIcon(getattr(QStyle.StandardPixmap, icon)))
