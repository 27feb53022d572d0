"""The main window: composes the panes, menus, toolbar and status bar, and wires them to
the training controller.  The current experiment is a :class:`~engine.setup.Setup`."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from engine.experiments import get_experiment
from engine.gradcheck import gradient_check
from engine.problem import start_point
from engine.setup import Setup
from engine.trainer import STOP_REASONS

from .actions import Actions
from .controller import TrainingController
from .document import Document
from .menus import build_menus, build_toolbar
from .panes.network import NetworkPane
from .panes.optimizer import OptimizerPane
from .panes.plots import PlotsPane
from .panes.restarts import RestartsPane
from .runs import RunArchive, archived, problem_key
from .status import StatusLine
from .surface_service import SurfaceService

FRAME_MS = 25  # redraw at most 40 times a second (when records arrived)
SLOW_EVERY = 3  # response, diagram and 3-D path: every third frame
RESLICE_S = 1.0  # re-slice the contour at most once a second while training
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, math.inf)
CONTINUABLE = ("epochs", "time", "stopped")
SURFACE_BUSY = "computing the contour…"


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setMinimumWidth(330)
    return area


class MainWindow(QMainWindow):
    def __init__(self, setup: Setup | None = None) -> None:
        super().__init__()
        self.setWindowTitle("bpgui — backpropagation, live")
        self.resize(1560, 960)
        self.controller = TrainingController(self)
        self.surfaces = SurfaceService(self)
        self.actions = Actions(self)
        self.network_pane = NetworkPane()
        self.optimizer_pane = OptimizerPane()
        self.plots = PlotsPane(self.surfaces)
        self.restarts = RestartsPane()
        left = QTabWidget()
        left.addTab(_scroll(self.network_pane), "Network && data")
        left.addTab(_scroll(self.optimizer_pane), "Optimizer")
        self.left_tabs = left
        dock = QDockWidget("Setup", self)
        dock.setObjectName("setup-dock")
        dock.setWidget(left)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.restarts_dock = QDockWidget("Random restarts", self)
        self.restarts_dock.setObjectName("restarts-dock")
        self.restarts_dock.setWidget(self.restarts)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.restarts_dock)
        self.restarts_dock.hide()
        self.setCentralWidget(self.plots)
        self.setAcceptDrops(True)
        self.document = Document(self)
        build_menus(self)
        build_toolbar(self, SPEEDS)
        self.speed.valueChanged.connect(self._speed_changed)
        self._build_status()
        self._wire()

        # the window's model; every view is redrawn from it by refresh()
        self.setup: Setup = setup or Setup.from_preset("book-1-2-1")
        self.objective = self.setup.objective()
        self.start_x: np.ndarray | None = None  # where the next new run starts
        self.start_drawn = False  # start_x was drawn at random (not clicked or typed)
        self.archive = RunArchive()  # earlier runs, each with the problem it belongs to
        self.restarts_key: tuple | None = None  # the problem the restarts belong to
        self._restarts_started_key: tuple | None = None
        self.highlight_row: int | None = None  # the restart drawn bold
        self.note: tuple[tuple, str] | None = None  # an experiment's text, for its setup
        self.restored_epoch: int | None = None  # a reopened run's epoch, until it goes on
        self._dirty = False
        self.frames_drawn = 0
        self._last_reslice = 0.0
        self.last_message = ""
        self.last_gradcheck: list = []
        self.error_box: QMessageBox | None = None
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self._redraw)
        self.frame_timer.start()
        self.apply_setup(self.setup, problem_changed=True)
        self._state_changed("idle")
        self._speed_changed(self.speed.value())
        self.document.modified = False
        self.document.update_title()

    # ---- construction ----------------------------------------------------------------
    def _build_status(self) -> None:
        self.status = StatusLine(self.statusBar())
        self.status_fields = self.status.fields
        self.progress = self.status.progress

    def _wire(self) -> None:
        a, c = self.actions, self.controller
        a.start.triggered.connect(self.toggle_run)
        a.pause.triggered.connect(c.pause)
        a.step.triggered.connect(self.step)
        a.stop.triggered.connect(c.stop)
        a.reset.triggered.connect(self.reset)
        a.clear.triggered.connect(self.clear_previous)
        a.fit.triggered.connect(self.plots.fit_to_trajectory)
        a.reslice.triggered.connect(self.reslice)
        a.gradcheck.triggered.connect(self.run_gradient_check)
        a.restarts.triggered.connect(self._show_restarts)
        a.quit.triggered.connect(self.close)
        a.new.triggered.connect(self.document.new)
        a.open.triggered.connect(lambda: self.document.open())
        a.save.triggered.connect(self.document.save)
        a.save_as.triggered.connect(lambda: self.document.save_as())
        a.about.triggered.connect(self._about)
        c.records_added.connect(self._mark_dirty)
        c.run_finished.connect(self._run_finished)
        c.run_failed.connect(self._run_failed)
        c.state_changed.connect(self._state_changed)
        self.plots.start_requested.connect(self.start_at)
        self.plots.ranges_edited.connect(lambda r: self.apply_setup(self.setup.replace(ranges=r)))
        self.network_pane.setup_edited.connect(self._setup_edited)
        self.network_pane.preset_requested.connect(self.load_preset)
        self.optimizer_pane.optimizer_changed.connect(self._optimizer_changed)
        self.optimizer_pane.hyper_changed.connect(self._hyper_changed)
        self.optimizer_pane.criteria_changed.connect(
            lambda crit: self.apply_setup(self.setup.replace(criteria=crit))
        )
        self.optimizer_pane.validity_changed.connect(self._validity_changed)
        self.network_pane.validity_changed.connect(self._validity_changed)

        self.network_pane.start_edited.connect(self._start_typed)
        self.surfaces.failed.connect(lambda msg: self.show_message(f"contour: {msg}", error=True))
        self.surfaces.busy_changed.connect(self._surface_busy)
        self.restarts.started.connect(self._restarts_started)
        self.restarts.finished.connect(self._restarts_done)
        self.restarts.failed.connect(lambda m: self.show_message(f"restarts: {m}", error=True))
        self.restarts.row_selected.connect(self._restart_selected)

    # ---- the setup -------------------------------------------------------------------
    def apply_setup(
        self, setup: Setup, problem_changed: bool | None = None, objective=None
    ) -> None:
        """Make ``setup`` current.  A changed problem (network, data, free parameters or
        their values) ends the current run (it is kept as an earlier run of its own
        problem); a changed view only redraws.  ``objective``: the setup's, when the
        caller already built it."""
        old = self.setup
        self.document.mark_modified()
        if problem_changed is None:
            problem_changed = any(
                getattr(old, f) != getattr(setup, f)
                for f in ("spec", "data", "free", "theta", "performance")
            )
        view_changed = problem_changed or (old.axes, old.ranges) != (setup.axes, setup.ranges)
        self.setup = setup
        if problem_changed:
            self._end_run()
            self.objective = objective if objective is not None else setup.objective()
            self.restored_epoch = None
            if self.restarts_key != problem_key(setup):
                self._drop_restarts()
            self.start_x = start_point(self.objective, None, setup.seed, setup.init)
            self.start_drawn = True
        self.network_pane.set_setup(setup)
        self.optimizer_pane.set_state(setup.optimizer, setup.hyper, setup.criteria)
        self.plots.set_setup(setup, self.objective, problem_changed)
        self.restarts.set_problem(setup, self.objective)
        if view_changed:
            self.plots.request_surface()
        self.refresh()

    def _setup_edited(self, setup: Setup, objective) -> None:
        self.apply_setup(setup, objective=objective)

    def load_preset(self, name: str) -> None:
        self.apply_setup(Setup.from_preset(name), problem_changed=True)
        self.show_message(f"loaded preset {name}")

    def load_experiment(self, key: str, run: bool = True) -> None:
        """One of the seed's experiments: its setup, start point and (unless ``run`` is
        False) the run itself."""
        e = get_experiment(key)
        self.apply_setup(e.setup(), problem_changed=True)
        self.start_x = np.array(e.start, float)
        self.start_drawn = False
        self.note = (self._note_key(), f"{e.title}. {e.description}")
        self.plots.hint.setToolTip(e.description)
        self.show_message(e.title)
        self.refresh()
        if run:
            self.start_new_run(self.start_x)

    def _note_key(self) -> tuple:
        """What an experiment's text is about: its problem, optimizer and settings."""
        s = self.setup
        return (problem_key(s), s.optimizer, tuple(sorted(s.hyper.items())))

    def _optimizer_changed(self, name: str, hyper: dict) -> None:
        self.apply_setup(self.setup.replace(optimizer=name, hyper=hyper))
        self.show_message(f"optimizer {name}: applies to the next run")

    def _hyper_changed(self, hyper: dict) -> None:
        self.setup = self.setup.replace(hyper=hyper)
        self.document.mark_modified()
        running = self.controller.setup
        if running is not None and running.optimizer == self.setup.optimizer:
            self.controller.set_hyper(hyper)
        self.plots.hint.setText(self._hint())

    def _validity_changed(self, _ok: bool) -> None:
        """Start is enabled only while the forms are valid; the status bar says why not."""
        problems = [*self.network_pane.problems(), *self.optimizer_pane.problems()]
        ok = not problems
        self.actions.start.setEnabled(ok or self.controller.state != "idle")
        self.actions.step.setEnabled(ok or self.controller.state != "idle")
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.show_message(f"Start is disabled: {problems[0]}{more}", error=True)
        elif self.last_message.startswith("Start is disabled: "):
            self.status.clear_message(only=self.last_message)
            self.last_message = ""

    # ---- runs ------------------------------------------------------------------------
    def start_at(self, x: float, y: float) -> None:
        """A click on the contour: a new run from there (the other free parameters keep
        their start values)."""
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
        self.plots.slice_x, self.plots.slice_epoch = self.start_x.copy(), 0
        if len(self.setup.free) > 2:
            self.plots.request_surface(self.start_x, 0)
        self.refresh()

    def _end_run(self) -> None:
        """End the current run (if any) and keep it as an earlier run of its problem."""
        c = self.controller
        if c.history is not None and c.setup is not None:
            self.archive.add(archived(problem_key(c.setup), c.history))
        c.clear()

    def _drop_restarts(self) -> None:
        """Restart results belong to the problem they were computed on."""
        self.restarts_key = self.highlight_row = None
        if self.restarts.result is not None:
            self.restarts.restore(None, self.restarts.settings())

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
        self.restored_epoch = None
        self._default_start()
        self.refresh()
        self.show_message("reset: Start (Space) runs again from the same start point")

    def clear_previous(self) -> None:
        """Forget the earlier runs and the restarts (the current run stays)."""
        self.archive.clear()
        self._drop_restarts()
        self.refresh()

    def reslice(self) -> None:
        h = self.controller.history
        if h is not None and len(h):
            self.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))
        else:
            self.plots.request_surface()

    # ---- from the controller ---------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._dirty = True
        self.document.mark_modified()

    def rebuild_recent_menu(self) -> None:
        m = self.recent_menu
        m.clear()
        items = self.document.recent.list()
        for i, path in enumerate(items, 1):
            act = m.addAction(f"&{i} {path}")
            act.setData(path)
            act.triggered.connect(lambda _=False, p=path: self.document.open(p))
        if not items:
            m.addAction("(none yet)").setEnabled(False)

    # ---- drag and drop of session files ------------------------------------------------
    @staticmethod
    def _dropped_session(event) -> str | None:
        md = event.mimeData()
        if not md.hasUrls():
            return None
        for url in md.urls():
            if url.isLocalFile() and url.toLocalFile().endswith(".bpgui"):
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:
        if self._dropped_session(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = self._dropped_session(event)
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.document.open(path))  # after the drop ends

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.frames_drawn += 1
        c = self.controller
        h = c.history
        if h is None or len(h) == 0:
            return
        finished = c.state == "idle"
        slow = finished or self.frames_drawn % SLOW_EVERY == 0
        self.plots.show_history(h, finished, slow)
        if slow:
            self.network_pane.set_current(self.setup.full_theta(h.x[-1]))
            if self.restored_epoch is not None and c.epoch != self.restored_epoch:
                self.restored_epoch = None
                self.plots.hint.setText(self._hint())
        self.status.show_run(h, c.state, c.max_epochs)
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
        the earlier runs of this problem and its restarts.  Called after every change
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
            self.plots.decimator.reset()
            self.plots.show_history(h, c.state == "idle", True)
            theta = s.full_theta(h.x[-1])
        self.network_pane.set_start(self.start_x)
        self.network_pane.set_current(theta)
        self.plots.update_slice_info(h)
        self.status.show_run(h, c.state, c.max_epochs)
        self.plots.hint.setText(self._hint())
        self._sync_actions()
        self._dirty = False

    def _hint(self) -> str:
        """The line above the contour: a reopened run, the experiment, or where a run
        would start."""
        c = self.controller
        h = c.history if c.history is not None and len(c.history) else None
        if h is not None and self.restored_epoch is not None and c.state == "idle":
            more = "continues the run" if c.last_stop in CONTINUABLE else "starts again"
            return f"Epoch {self.restored_epoch:,} of a saved session: Start (Space) {more}."
        if self.note is not None and self.note[0] == self._note_key():
            return self.note[1]
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
        return ""

    def _run_finished(self, reason: str) -> None:
        self.refresh()
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
        box.setDetailedText(message)
        box.open()
        self.error_box = box

    def _state_changed(self, state: str) -> None:
        a = self.actions
        a.step.setEnabled(True)
        a.pause.setEnabled(state == "running")
        a.stop.setEnabled(state != "idle")
        self._sync_actions()
        h = self.controller.history
        self.status.show_run(h, state, self.controller.max_epochs)
        self._validity_changed(True)

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

    def _speed_changed(self, pos: int) -> None:
        rate = SPEEDS[pos]
        self.speed_label.setText(
            "as fast as possible" if math.isinf(rate) else f"{rate:,} epochs/s"
        )
        self.controller.set_rate(rate)

    def _surface_busy(self, busy: bool) -> None:
        if busy:
            self.status.show(SURFACE_BUSY, ms=60_000)
        else:
            self.status.clear_message(only=SURFACE_BUSY)

    # ---- tools -----------------------------------------------------------------------
    def run_gradient_check(self) -> None:
        h = self.controller.history
        x = h.x[-1] if h is not None and len(h) else self._default_start()
        try:
            rows = gradient_check(self.objective, x)
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return
        self.last_gradcheck = rows
        worst = max(r.max_rel_error for r in rows)
        verdict = (
            "backprop agrees with finite differences" if worst < 1e-4 else "CHECK THE GRADIENT"
        )
        lines = [
            f"layer {r.layer}: largest relative error {r.max_rel_error:.2e} at {r.worst} "
            f"(backprop {r.backprop:.6g}, numeric {r.numeric:.6g}; {r.n_checked} of "
            f"{r.n_params} checked)"
            for r in rows
        ]
        self.show_message(f"gradient check: worst relative error {worst:.2e} — {verdict}")
        box = QMessageBox(self)
        box.setWindowTitle("Gradient check")
        box.setText(f"{verdict} (central differences, h = 1e-6 relative)")
        box.setInformativeText("\n".join(lines))
        box.open()
        self.info_box = box

    def _show_restarts(self) -> None:
        if not self.restarts_dock.isVisible():
            self.restarts_dock.show()
            # a dock that starts small: the plots keep most of the window
            h = max(160, min(260, self.height() // 4))
            self.resizeDocks([self.restarts_dock], [h], Qt.Orientation.Vertical)
        self.restarts_dock.raise_()
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

    # ---- messages and closing --------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.last_message = text
        self.status.show(text, error)

    def closeEvent(self, event) -> None:
        doc = self.document
        if not doc.terminating:
            if not doc.maybe_save():
                event.ignore()
                return
            doc.discard_recovery()  # saved or discarded on purpose: nothing to recover
        doc.timer.stop()
        self.frame_timer.stop()
        self.controller.shutdown()
        self.restarts.shutdown()
        self.surfaces.shutdown()
        super().closeEvent(event)
