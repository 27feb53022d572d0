"""The main window: composes the panes, menus, toolbar and status bar, and wires them to
the training controller.  The current experiment is a :class:`~engine.setup.Setup`."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSlider,
    QTabWidget,
    QWidget,
)

from engine.experiments import EXPERIMENTS, get_experiment
from engine.gradcheck import gradient_check
from engine.problem import start_point
from engine.setup import Setup
from engine.trainer import STOP_REASONS

from .actions import Actions
from .controller import TrainingController
from .document import Document
from .panes.network import NetworkPane
from .panes.optimizer import OptimizerPane
from .panes.plots import PlotsPane
from .panes.restarts import RestartsPane
from .surface_service import SurfaceService

FRAME_MS = 25  # redraw at most 40 times a second (when records arrived)
SLOW_EVERY = 3  # response, diagram and 3-D path: every third frame
RESLICE_S = 1.0  # re-slice the contour at most once a second while training
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, math.inf)
CONTINUABLE = ("epochs", "time", "stopped")


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
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self._wire()

        self.setup: Setup = setup or Setup.from_preset("book-1-2-1")
        self.objective = self.setup.objective()
        self.start_x: np.ndarray | None = None
        self._reset_pending = True  # the next Start begins a new run from start_x
        self._dirty = False
        self.frames_drawn = 0
        self._rate_window: deque[tuple[float, int]] = deque()
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
        self.document.modified = False
        self.document.update_title()

    # ---- construction ----------------------------------------------------------------
    def _build_menus(self) -> None:
        a = self.actions
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for act in (a.new, a.open):
            m.addAction(act)
        self.recent_menu = m.addMenu("Open &recent")
        self.rebuild_recent_menu()
        for act in (a.save, a.save_as):
            m.addAction(act)
        ex = m.addMenu("&Export")
        for what, text in (
            ("contour-png", "Contour plot as PNG…"),
            ("contour-svg", "Contour plot as SVG…"),
            ("curves-png", "Error curves as PNG…"),
            ("curves-svg", "Error curves as SVG…"),
            ("response-png", "Network response as PNG…"),
            ("response-svg", "Network response as SVG…"),
            (None, None),
            ("history", "History (every epoch) as CSV…"),
            ("trajectory", "Weight trajectory as CSV…"),
            ("grid", "Contour grid as CSV…"),
            ("params-csv", "Parameters as CSV…"),
            ("params-json", "Parameters as JSON…"),
        ):
            if what is None:
                ex.addSeparator()
                continue
            act = ex.addAction(text)
            act.setData(what)
            act.triggered.connect(lambda _=False, w=what: self.document.export(w))
        m.addSeparator()
        m.addAction(a.quit)
        m = mb.addMenu("&Run")
        for act in (a.start, a.pause, a.step, a.stop, a.reset):
            m.addAction(act)
        m = mb.addMenu("&Experiments")
        for key, e in EXPERIMENTS.items():
            act = m.addAction(e.title)
            act.setToolTip(e.description)
            act.setStatusTip(e.description)
            act.setData(key)
            act.triggered.connect(lambda _=False, k=key: self.load_experiment(k))
        m.setToolTipsVisible(True)
        m = mb.addMenu("&View")
        for act in (a.fit, a.reslice, a.clear):
            m.addAction(act)
        m.addAction(self.restarts_dock.toggleViewAction())
        m = mb.addMenu("&Tools")
        m.addAction(a.gradcheck)
        m.addAction(a.restarts)
        m = mb.addMenu("&Help")
        m.addAction(a.about)

    def _build_toolbar(self) -> None:
        a = self.actions
        tb = self.addToolBar("Run")
        tb.setObjectName("run-toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (a.open, a.save):
            tb.addAction(act)
        tb.addSeparator()
        for act in (a.start, a.pause, a.step, a.stop, a.reset):
            tb.addAction(act)
        tb.addSeparator()
        tb.addWidget(QLabel(" speed "))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setMaximumWidth(200)
        self.speed.setToolTip("epochs per second: slow motion to as fast as possible")
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(110)
        tb.addWidget(self.speed)
        tb.addWidget(self.speed_label)
        self.speed.valueChanged.connect(self._speed_changed)
        self._speed_changed(self.speed.value())
        tb.addSeparator()
        for act in (a.fit, a.clear, a.gradcheck, a.restarts):
            tb.addAction(act)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_fields: dict[str, QLabel] = {}
        for key, tip in (
            ("epoch", "epochs trained"),
            ("sse", "sum of squared errors"),
            ("grad", "gradient norm"),
            ("rate", "learning rate or mu"),
            ("speed", "epochs per second"),
            ("stop", "why the run stopped"),
        ):
            lab = QLabel()
            lab.setToolTip(tip)
            lab.setMinimumWidth(60)
            sb.addPermanentWidget(lab)
            self.status_fields[key] = lab
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.setToolTip("epochs of the maximum")
        sb.addPermanentWidget(self.progress)
        self.progress.hide()

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
        self.surfaces.failed.connect(lambda msg: self.show_message(f"contour: {msg}", error=True))
        self.surfaces.busy_changed.connect(self._surface_busy)
        self.restarts.finished.connect(self._restarts_done)
        self.restarts.failed.connect(lambda m: self.show_message(f"restarts: {m}", error=True))
        self.restarts.row_selected.connect(self._restart_selected)

    # ---- the setup -------------------------------------------------------------------
    def apply_setup(
        self, setup: Setup, problem_changed: bool | None = None, objective=None
    ) -> None:
        """Make ``setup`` current.  A changed problem (network, data, free parameters or
        their values) ends the current run; a changed view only redraws.  ``objective``:
        the setup's, when the caller already built it."""
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
            self.controller.discard()
            self.objective = objective if objective is not None else setup.objective()
            self.start_x = None
            self._reset_pending = True
            self.plots.reset_run(None)
            self.plots.hint.setText("Click on the contour to start training.")
            self.plots.slice_x = None
            self.plots.slice_epoch = None
            self._update_status_fields(None)
        self.network_pane.set_setup(setup)
        self.optimizer_pane.set_state(setup.optimizer, setup.hyper, setup.criteria)
        self.plots.set_setup(setup, self.objective, problem_changed)
        self.restarts.set_problem(setup, self.objective)
        if view_changed:
            self.plots.request_surface()
            h = self.controller.history
            if h is not None and len(h) and not problem_changed:
                self.plots.decimator.reset()
                self.plots.show_history(h, self.controller.state == "idle", True)

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
        self.plots.reset_run(self.start_x)
        self.plots.hint.setText(f"{e.title}. {e.description}")
        self.plots.hint.setToolTip(e.description)
        self.show_message(e.title)
        if run:
            self.start_new_run(self.start_x)

    def _optimizer_changed(self, name: str, hyper: dict) -> None:
        self.apply_setup(self.setup.replace(optimizer=name, hyper=hyper))
        self.show_message(f"optimizer {name}: applies to the next run")

    def _hyper_changed(self, hyper: dict) -> None:
        self.setup = self.setup.replace(hyper=hyper)
        self.document.mark_modified()
        running = self.controller.setup
        if running is not None and running.optimizer == self.setup.optimizer:
            self.controller.set_hyper(hyper)

    def _validity_changed(self, _ok: bool) -> None:
        ok = self.optimizer_pane.is_valid() and not self.network_pane.error.text()
        self.actions.start.setEnabled(ok or self.controller.state != "idle")
        self.actions.step.setEnabled(ok or self.controller.state != "idle")

    # ---- runs ------------------------------------------------------------------------
    def start_at(self, x: float, y: float) -> None:
        """A click on the contour: a new run from there (the other free parameters keep
        their start values)."""
        base = self.start_x if self.start_x is not None else None
        self.start_x = self.setup.point_from_axes(x, y, base)
        self.start_new_run(self.start_x)

    def start_new_run(self, x0: np.ndarray, paused: bool = False) -> None:
        if not self.actions.start.isEnabled():
            self.show_message("fix the marked settings first", error=True)
            return
        self.plots.reset_run(x0)
        self._rate_window.clear()
        self._reset_pending = False
        self.controller.start(self.setup, x0, paused)
        self.plots.slice_x, self.plots.slice_epoch = np.array(x0, float), 0
        if len(self.setup.free) > 2:
            self.plots.request_surface(x0, 0)
        self.progress.setMaximum(max(1, self.setup.criteria.epochs))
        self.progress.show()

    def _default_start(self) -> np.ndarray:
        if self.start_x is None:
            self.start_x = start_point(self.objective, None, self.setup.seed, self.setup.init)
        return self.start_x

    def toggle_run(self) -> None:
        """Space: pause a running run, resume a paused one, otherwise start or continue."""
        c = self.controller
        if c.state == "running":
            c.pause()
        elif c.state == "paused":
            c.resume()
        elif not self._reset_pending and c.last_stop in CONTINUABLE:
            c.resume_run(self.setup.criteria.epochs)
            self.progress.setMaximum(max(1, c.max_epochs))
        else:
            self.start_new_run(self._default_start())

    def step(self) -> None:
        c = self.controller
        if c.running:
            c.step()
        elif not self._reset_pending and c.last_stop in CONTINUABLE:
            c.resume_run(self.setup.criteria.epochs, paused=True)
            c.step()
        elif self._reset_pending or c.last_stop is None:
            self.start_new_run(self._default_start(), paused=True)
            c.step()

    def reset(self) -> None:
        """Back to the start point, same initial weights; the old path stays faint."""
        self.controller.discard()
        self._reset_pending = True
        x0 = self._default_start()
        self.plots.reset_run(x0)
        self._update_status_fields(None)
        self.show_message("reset: Start (Space) runs again from the same start point")

    def clear_previous(self) -> None:
        self.plots.contour.clear_previous()
        self.plots.curves.clear_previous()

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
        h = self.controller.history
        if h is None or len(h) == 0:
            return
        finished = self.controller.state == "idle"
        slow = finished or self.frames_drawn % SLOW_EVERY == 0
        self.plots.show_history(h, finished, slow)
        if slow:
            self.network_pane.diagram.set_theta(self.setup.full_theta(h.x[-1]))
        self._update_status_fields(h)
        now = time.perf_counter()
        if (
            len(self.setup.free) > 2
            and now - self._last_reslice > RESLICE_S
            and not self.surfaces.busy
            and self.plots.slice_drift(h.x[-1]) > 0
        ):
            self._last_reslice = now
            self.plots.request_surface(h.x[-1], int(h.column("epoch")[-1]))

    def _update_status_fields(self, h) -> None:
        f = self.status_fields
        if h is None or len(h) == 0:
            for lab in f.values():
                lab.setText("")
            self.progress.hide()
            return
        row = h.last()
        epoch = int(row["epoch"])
        f["epoch"].setText(f"epoch {epoch:,}")
        f["sse"].setText(f"SSE {row['sse']:.6g}")
        f["grad"].setText(f"|grad| {row['grad_norm']:.3g}")
        if np.isfinite(row["mu"]):
            f["rate"].setText(f"mu {row['mu']:.3g}")
        elif np.isfinite(row["lr"]):
            f["rate"].setText(f"lr {row['lr']:.3g}")
        else:
            f["rate"].setText("")
        now = time.perf_counter()
        w = self._rate_window
        w.append((now, epoch))
        while len(w) > 2 and now - w[0][0] > 1.0:
            w.popleft()
        rate = (
            (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0]) if len(w) > 1 and w[-1][0] > w[0][0] else 0
        )
        f["speed"].setText(f"{rate:,.0f} epochs/s" if self.controller.state == "running" else "")
        stop = h.stop
        f["stop"].setText(f"stopped: {STOP_REASONS.get(stop, stop)}" if stop else "")
        self.progress.setValue(min(epoch, self.progress.maximum()))

    def _run_finished(self, reason: str) -> None:
        self._dirty = True
        self._redraw()
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
        self._dirty = True
        self._redraw()
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
        a.start.setText("&Pause" if state == "running" else "&Start / Resume")
        if state == "idle":
            self.progress.setVisible(False)
        self._validity_changed(True)

    def _speed_changed(self, pos: int) -> None:
        rate = SPEEDS[pos]
        self.speed_label.setText(
            "as fast as possible" if math.isinf(rate) else f"{rate:,} epochs/s"
        )
        self.controller.set_rate(rate)

    def _surface_busy(self, busy: bool) -> None:
        if busy:
            self.statusBar().showMessage("computing the contour…")
        elif self.statusBar().currentMessage() == "computing the contour…":
            self.statusBar().clearMessage()

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
        self.restarts_dock.show()
        self.restarts_dock.raise_()
        self.restarts.run()

    def _restarts_done(self, res) -> None:
        self.document.mark_modified()
        paths = []
        for i in range(res.path.shape[1]):
            xs, ys = self.setup.axis_values(res.path[:, i, :])
            paths.append((xs, ys))
        self.plots.contour.set_restarts(paths)
        self.plots.curves.set_overlays(
            [(res.path_epochs, res.path_performance[:, i]) for i in range(res.path.shape[1])]
        )
        self.show_message(self.restarts.summary.text())

    def _restart_selected(self, row: int) -> None:
        res = self.restarts.result
        if res is None or row >= res.path.shape[1]:
            return
        xs, ys = self.setup.axis_values(res.path[:, row, :])
        self.plots.contour.set_highlight(xs, ys)

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
        self.statusBar().setStyleSheet("color: #ff6b6b;" if error else "")
        self.statusBar().showMessage(text, 0 if error else 15_000)

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
