"""The main window's run commands and the views derived from its model: start, step,
pause/continue, reset, an edited weight, the per-frame redraw and
:meth:`RunCommands.refresh`, which redraws every view from the model (setup, start point,
current run, earlier runs) and then tells the tools (the window's ``refreshed``).

Not a tool: a collaborator the window owns (``window.runs``), kept apart so that
``main.py`` stays the composition.  The model it works on is the window's (``setup``,
``start_x``, ``archive``, …); the tools use its :meth:`~RunCommands.current_point`,
:meth:`~RunCommands.default_start`, :meth:`~RunCommands.start_new_run` and
:meth:`~RunCommands.end_run`."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtWidgets import QMessageBox, QStyle

from bpgui.document.runs import archived
from bpgui.service.controller import CRASHED
from bpgui_engine.memory import fmt_bytes, fmt_count, history_budget
from bpgui_engine.model.problem import start_point
from bpgui_engine.model.setup import problem_key
from bpgui_engine.train.trainer import STOP_REASONS

SLOW_EVERY = 3  # response, diagram and 3-D path: every third frame
RESLICE_S = 1.0  # re-slice the contour at most once a second while training
CONTINUABLE = ("epochs", "time", "stopped", CRASHED)


class RunCommands:
    """Start, step, stop, reset and refresh of the main window ``win``."""

    def __init__(self, win) -> None:
        self.win = win
        self.dirty = False  # records arrived since the last frame
        self.frames_drawn = 0
        self._last_reslice = 0.0

    def start_at(self, x: float, y: float) -> None:
        """A click on the contour: a new run from there (the other free parameters keep
        their start values)."""
        if not self.win.actions.start.isEnabled():
            self.win.show_message("fix the marked settings first", error=True)
            return
        base = self.win.start_x if self.win.start_x is not None else None
        self.win.start_x = self.win.setup.point_from_axes(x, y, base)
        self.win.start_drawn = False
        self.start_new_run(self.win.start_x)

    def start_typed(self, theta) -> None:
        """A start point typed into the parameter table (issue 9 #7)."""
        self.win.start_x = np.asarray(theta, float)[self.win.setup.free_idx]
        self.win.start_drawn = False
        self.reset()

    def start_new_run(self, x0: np.ndarray, paused: bool = False) -> None:
        if not self.win.actions.start.isEnabled():
            self.win.show_message("fix the marked settings first", error=True)
            return
        self.end_run()
        if self.win.start_x is None or not np.array_equal(x0, self.win.start_x):
            self.win.start_drawn = False
        self.win.start_x = np.array(x0, float)
        self.win.restored_epoch = None
        self.win.status.reset_rate()
        self.win.controller.start(self.win.setup, self.win.start_x, paused)
        h = self.win.controller.history
        epochs = self.win.setup.criteria.epochs
        if h is not None and h.max_rows is not None and epochs >= h.max_rows:
            budget, source = history_budget(self.win.controller.history_setting)
            self.win.show_message(
                f"the history will be thinned after ~{fmt_count(h.max_rows - 1)} epochs "
                f"(its budget: {fmt_bytes(budget)}, {source}; Run ▸ History memory…)"
            )
        if len(self.win.setup.free) > 2:
            self.win.plots.request_surface(self.win.start_x, 0)
        self.refresh()

    def end_run(self) -> None:
        """End the current run (if any) and keep it as an earlier run of its problem (a
        race stays on screen; a running one is stopped)."""
        c = self.win.controller
        if c.history is not None and c.setup is not None:
            self.win.archive.add(archived(problem_key(c.setup), c.history))
        c.clear(keep_race=True)

    def default_start(self) -> np.ndarray:
        w = self.win
        if w.start_x is None:
            w.start_x = start_point(w.objective, None, w.setup.seed, w.setup.init)
        return w.start_x

    def toggle_run(self) -> None:
        """Space: pause a running run, resume a paused one, otherwise continue a stopped
        run or start a new one from the start point."""
        c = self.win.controller
        if c.state == "running":
            c.pause()
        elif c.state == "paused":
            c.resume()
        elif c.history is not None and c.last_stop in CONTINUABLE:
            self.win.restored_epoch = None
            c.resume_run(self.win.setup.criteria.epochs)
        else:
            self.start_new_run(self.default_start())

    def step(self) -> None:
        c = self.win.controller
        if c.running:
            c.step()
        elif c.history is not None and c.last_stop in CONTINUABLE:
            self.win.restored_epoch = None
            c.resume_run(self.win.setup.criteria.epochs, paused=True)
            c.step()
        elif c.history is None:
            self.start_new_run(self.default_start(), paused=True)
            c.step()

    def reset(self) -> None:
        """Back to epoch 0 at the start point, same initial weights; the old path stays
        faint."""
        self.end_run()
        self.win.run_reset.emit()  # the race goes too
        self.win.document.mark_modified()  # the run is no longer the session's current one
        self.win.restored_epoch = None
        self.default_start()
        self.refresh()
        self.win.show_message("reset: Start (Space) runs again from the same start point")

    def reslice(self) -> None:
        h = self.win.controller.history
        if h is not None and len(h):
            self.win.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))
        else:
            self.win.plots.request_surface()

    def mark_dirty(self) -> None:
        self.dirty = True
        self.win.document.mark_modified(progress=True)

    def redraw(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.frames_drawn += 1
        c = self.win.controller
        h = c.history
        if h is None or len(h) == 0:
            return
        # a run reopened from a session saved mid-run is idle but not finished
        finished = c.state == "idle" and h.stop is not None
        slow = c.state == "idle" or finished or self.frames_drawn % SLOW_EVERY == 0
        self.win.plots.show_history(h, finished, slow)
        if slow:
            self.win.network_pane.set_current(self.win.setup.full_theta(h.x[-1]))
            if self.win.restored_epoch is not None and c.epoch != self.win.restored_epoch:
                self.win.restored_epoch = None
            self._update_hint()
            self.win.slow_frame.emit()  # curvature, vectors, equations, inspector (issue 13)
        self._show_status(h, c.state)
        now = time.perf_counter()
        if (
            len(self.win.setup.free) > 2
            and now - self._last_reslice > RESLICE_S
            and not self.win.surfaces.busy
            and self.win.plots.slice_drift(h.x[-1]) > 0
        ):
            self._last_reslice = now
            self.win.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))

    def refresh(self) -> None:
        """Redraw every view from the model: the setup, the start point, the current run,
        the earlier runs of this problem; then the tools redraw theirs (``refreshed``: the
        restarts, the race, replay, the explanations).  Called after every change that is
        not a training frame, so nothing on screen outlives what it shows."""
        s, c = self.win.setup, self.win.controller
        key = problem_key(s)
        h = c.history if c.history is not None and len(c.history) else None
        self.win.plots.set_earlier(self.win.archive.matching(key))
        if h is None:
            self.win.plots.show_start(self.win.start_x)
            theta = s.theta_array if self.win.start_x is None else s.full_theta(self.win.start_x)
            self.win.plots.response.set_theta(theta)
            self.win.plots.decision.set_theta(theta)
        else:
            self.win.plots.show_history(h, c.state == "idle" and h.stop is not None, True)
            theta = s.full_theta(h.x[-1])
        self.win.network_pane.set_start(self.win.start_x)
        self.win.network_pane.set_current(theta)
        self.win.plots.update_slice_info(h)
        self._show_status(h, c.state)
        self.win.plots.hint.setText(self.hint())
        self.win.optimizer_pane.set_layers(s.spec.n_layers)
        self._sync_actions()
        self.win.refreshed.emit()  # the tools' views (issue 19)
        self.dirty = False

    def hint(self) -> str:
        """The line above the contour: a reopened run, the experiment's explanation, or
        what Space does now (never empty, so the contour does not jump)."""
        c = self.win.controller
        h = c.history if c.history is not None and len(c.history) else None
        if h is not None and self.win.restored_epoch is not None and c.state == "idle":
            more = "continues the run" if c.last_stop in CONTINUABLE else "starts again"
            return f"Epoch {self.win.restored_epoch:,} of a saved session: Start (Space) {more}."
        if self.win.note is not None and self.win.note[0] == self.win._note_key():
            return self.win.note[1]
        if c.state == "running":
            return "Running: Space pauses, Esc stops, Ctrl+R goes back to the start point."
        if c.state == "paused":
            return "Paused: Space resumes, → steps one epoch, Esc stops."
        if h is None:
            if self.win.start_x is None:
                return "Click on the contour to start training."
            x, y = self.win.setup.axis_values(self.win.start_x[None, :])
            how = (
                f" (drawn at random with seed {self.win.setup.seed}; type an exact start in the "
                "parameter table)"
                if self.win.start_drawn
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
        text = self.hint()
        if text != self.win.plots.hint.text():
            self.win.plots.hint.setText(text)

    def run_finished(self, reason: str) -> None:
        self.refresh()
        h = self.win.controller.history
        # with more than two free: the end point on the slice it ended on, not one drawn
        # some epochs before
        more = len(self.win.setup.free) > 2 and h is not None and len(h)
        if more and self.win.plots.slice_drift(h.x[-1]) > 0:
            self.win.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))
        text = STOP_REASONS.get(reason, reason)
        h = self.win.controller.history
        sse = ""
        if h is not None and len(h):
            row, name = h.last(), self.win.setup.index_name
            sse = f", SSE {row['sse']:.4g}"
            if name != "SSE":  # what training minimized first
                sse = f", {name} {row['performance']:.4g}{sse}"
        self.win.show_message(f"run ended: {text}{sse}", error=reason == "diverged")
        if reason == "diverged":
            self.win.show_message(
                "the run diverged (a non-finite value appeared): try a smaller learning rate",
                error=True,
            )

    def run_failed(self, message: str) -> None:
        self.refresh()
        first = message.splitlines()[0] if message else "unknown error"
        self.win.show_message(f"training failed: {first}", error=True)
        box = QMessageBox(self.win)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Training failed")
        box.setText(f"The run stopped because of an error:\n\n{first}")
        box.open()  # one line; the engine's traceback goes to the log, not to the user
        self.win.error_box = box

    def state_changed(self, state: str) -> None:
        self.win.plots.curves.growing = state != "idle"
        a = self.win.actions
        a.step.setEnabled(True)
        a.pause.setEnabled(state == "running")
        a.stop.setEnabled(state != "idle")
        self._sync_actions()
        self._update_hint()
        h = self.win.controller.history
        self._show_status(h, state)
        if state == "running":  # "run ended …", "reset …" and old errors are over
            self.win.status.clear_message()
        self.validity_changed(True)

    def validity_changed(self, _ok: bool) -> None:
        """Start is enabled only while the forms are valid; the status bar says why not."""
        problems = [*self.win.network_pane.problems(), *self.win.optimizer_pane.problems()]
        ok = not problems
        self.win.actions.start.setEnabled(ok or self.win.controller.state != "idle")
        self.win.actions.step.setEnabled(ok or self.win.controller.state != "idle")
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.win.show_message(f"Start is disabled: {problems[0]}{more}", error=True)
        elif self.win.last_message.startswith("Start is disabled: "):
            self.win.status.clear_message(only=self.win.last_message)
            self.win.last_message = ""

    def _show_status(self, h, state: str) -> None:
        c = self.win.controller
        run = c.setup if c.setup is not None and h is not None else self.win.setup
        self.win.status.rate_name = "step" if run.optimizer == "cg" else "lr"
        self.win.status.performance_name = run.index_name
        self.win.plots.curves.set_index_name(run.index_name)
        self.win.status.show_run(h, state, c.max_epochs)
        self.win.status.show_accuracy(self.win.plots.accuracy.track.latest())

    def _sync_actions(self) -> None:
        """Start's text says what Space does now: pause, resume, continue or start."""
        c = self.win.controller
        if c.state == "running":
            text = "&Pause"
        elif c.state == "paused":
            text = "&Resume"
        elif c.history is not None and len(c.history) and c.last_stop in CONTINUABLE:
            text = "&Continue"
        else:
            text = "&Start"
        self.win.actions.start.setText(text)
        self.win.actions.start.setIconText(text.replace("&", ""))  # the toolbar's label
        icon = "SP_MediaPause" if c.state == "running" else "SP_MediaPlay"
        style = self.win.style()
        self.win.actions.start.setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, icon)))

    # ---- the current point ------------------------------------------------------------------
    def shown_index(self) -> int | None:
        """The history row the views show: the replayed one, else the run's last (None
        without a run)."""
        h = self.win.controller.history
        if h is None or not len(h):
            return None
        row = self.win.shown_row
        return len(h) - 1 if row is None or not 0 <= row < len(h) else int(row)

    def current_point(self) -> np.ndarray:
        """The point the views show: the replayed epoch or the run's last, else where the
        next run starts."""
        i = self.shown_index()
        if i is not None:
            return np.array(self.win.controller.history.x[i], float)
        return np.array(self.default_start(), float)

    def run_context(self):
        """(optimizer name, hyperparameters, epoch or None) of the point the views show."""
        c, s = self.win.controller, self.win.setup
        i = self.shown_index()
        if i is not None and c.setup is not None:
            name = c.setup.optimizer
            hyper = s.hyper if s.optimizer == name else c.setup.hyper
            return name, hyper, int(c.history.column("epoch")[i])
        return s.optimizer, s.hyper, None

    def point_on_screen(self) -> tuple[np.ndarray, str]:
        """The free vector the views show (the replayed epoch, the run's last one, or the
        start point) and where that is, in words."""
        i = self.shown_index()
        if i is not None:
            epoch = int(self.win.controller.history.column("epoch")[i])
            return self.current_point(), f"epoch {epoch:,} of the run"
        return self.current_point(), "the start point"

    def set_weight(self, k: int, value: float) -> None:
        """Set parameter ``k`` (index in the full vector) to ``value``: the setup's values
        change (a fixed one re-slices the contour; a free one moves the start point), any
        run ends (it stays as an earlier run of its problem)."""
        w = self.win
        s = w.setup
        x, where = self.point_on_screen()  # an edit applies to the point shown
        theta = s.full_theta(x)
        theta[k] = float(value)
        new = s.replace(theta=tuple(theta))
        w.apply_setup(new)
        w.start_x = np.array(theta[new.free_idx], float)
        w.start_drawn = False
        w.plots.request_surface(w.start_x, 0)
        self.refresh()
        state = (
            "free: the start point moved" if k in new.free_idx else "fixed: the contour re-sliced"
        )
        w.show_message(f"{s.spec.labels[k]} = {value:g} at {where} ({state})")
