"""The main window: composes the panes, menus, toolbar and status bar, the tools
(:data:`bpgui.tools.TOOLS`, each given this window as its host) and two collaborators
(:class:`~bpgui.window.runs.RunCommands`: start, step, reset, refresh;
:class:`~bpgui.window.view.ViewState`: theme, presentation, layout), and wires them to the
training controller.  The current experiment is a :class:`~engine.model.setup.Setup`.

The window holds the model (setup, objective, start point, earlier runs) and tells the
tools what happened through its signals (:mod:`bpgui.tools.base`), never calling one."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from bpgui.document.document import Document
from bpgui.document.runs import RunArchive
from bpgui.panes.network import NetworkPane
from bpgui.panes.optimizer import OptimizerPane
from bpgui.panes.plots import PlotsPane
from bpgui.service.controller import TrainingController
from bpgui.service.jobs import shared as shared_service
from bpgui.service.surfaces import SurfaceService
from bpgui.tools import TOOLS
from bpgui.widgets.fields import WheelGuard
from bpgui.widgets.theme import THEMES
from bpgui.window import history_memory
from bpgui.window.actions import Actions
from bpgui.window.menus import build_menus, build_toolbar, rebuild_recent_menu
from bpgui.window.runs import RunCommands
from bpgui.window.settings import Settings
from bpgui.window.status import StatusLine, epochs_per_second
from bpgui.window.view import ViewState
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.model.performance import get_performance
from bpgui_engine.model.problem import start_point
from bpgui_engine.model.setup import Setup, problem_key
from bpgui_engine.model.transfer import targets_outside
from bpgui_engine.optim import mismatch

FRAME_MS = 25  # redraw at most 40 times a second (when records arrived)
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, math.inf)
SURFACE_BUSY = "computing the contour…"
CLOSE_WAIT_MS = 10_000  # closing waits at most this long for a save's run state
EXPERIMENT_SECONDS = 60  # an experiment at the slider's speed must end within this


def first_size(win) -> tuple[int, int]:
    """1560 x 960, or the screen's available area less a margin when that is smaller."""
    screen = win.screen() or QApplication.primaryScreen()
    if screen is None:
        return 1560, 960
    avail = screen.availableGeometry()
    return min(1560, avail.width() - 16), min(960, avail.height() - 40)


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setMinimumWidth(330)
    return area


class MainWindow(QMainWindow):
    # what the tools follow (bpgui.tools.base): they are told, never called
    refreshed = Signal()  # refresh(): every view redrawn from the model
    slow_frame = Signal()  # a slow frame while training
    setup_applied = Signal(bool, bool)  # a setup made current: (problem changed, view changed)
    theme_changed = Signal()  # theme or presentation: text and items coloured in code
    cleared = Signal()  # Run ▸ Clear earlier runs
    run_reset = Signal()  # Reset: back to the start point
    closing = Signal()  # the window closes: every tool's background work stops
    shown_changed = Signal()  # replay: the epoch the views show (shown_row) changed

    def __init__(self, setup: Setup | None = None) -> None:
        super().__init__()
        self.setWindowTitle("bpgui — backpropagation, live")
        self.resize(*first_size(self))  # within the screen (a 1024x700 one too)
        self.controller = TrainingController(self)
        self.jobs = shared_service()  # every other computation: processes of their own
        self.jobs.warm(1)
        self.surfaces = SurfaceService(self, self.jobs)
        self.actions = Actions(self)
        self.network_pane = NetworkPane()
        self.optimizer_pane = OptimizerPane()
        self.plots = PlotsPane(self.surfaces)
        left = QTabWidget()
        left.addTab(_scroll(self.network_pane), "Network && data")
        left.addTab(_scroll(self.optimizer_pane), "Optimizer")
        self.left_tabs = left
        dock = QDockWidget("Setup", self)
        dock.setObjectName("setup-dock")
        dock.setWidget(left)
        dock.setFeatures(  # never closed (it holds the controls), but it can float
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.setCentralWidget(self.plots)
        self.setAcceptDrops(True)
        self.settings = Settings()  # what bpgui remembers between starts
        self.view = ViewState(self)
        self.runs = RunCommands(self)
        self.document = Document(self)
        self.shown_row: int | None = None  # the history row the views show (replay)
        self._wire()  # first: the tools hear the controller after the window's own views
        self.tools = {cls.name: cls(self) for cls in TOOLS}  # each builds its docks, actions
        build_menus(self)
        build_toolbar(self, SPEEDS)
        self.speed.valueChanged.connect(self._speed_changed)
        self._build_status()
        # the wheel scrolls the setup panel; it changes a field only once clicked
        WheelGuard.install(QApplication.instance())

        # the window's model; every view is redrawn from it by refresh()
        self.setup: Setup = setup or Setup.from_preset("book-1-2-1")
        self.objective = self.setup.objective()
        self.start_x: np.ndarray | None = None  # where the next new run starts
        self.start_drawn = False  # start_x was drawn at random (not clicked or typed)
        self.archive = RunArchive()  # earlier runs, each with the problem it belongs to
        self.note: tuple[tuple, str] | None = None  # an experiment's text, for its setup
        self.restored_epoch: int | None = None  # a reopened run's epoch, until it goes on
        self.last_message = ""
        self.error_box: QMessageBox | None = None
        self._close_confirmed = False  # the user chose to close: no second prompt
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.runs.redraw)
        self.frame_timer.start()
        self.apply_setup(self.setup, problem_changed=True)
        self.runs.state_changed("idle")
        self._speed_changed(self.speed.value())
        self.document.modified = False
        self.document.update_title()
        self.view.restore_layout()
        self.view.set_theme(self.settings.get_str("view/theme", "system", THEMES))
        history_memory.load_setting(self)
        if self.settings.note:
            self.show_message(self.settings.note, error=True)
        if self.settings.get_bool("view/presentation", False):
            QTimer.singleShot(0, lambda: self.view.set_presentation(True))

    # ---- construction ----------------------------------------------------------------
    def _build_status(self) -> None:
        self.status = StatusLine(self.statusBar(), self.controller)
        self.status_fields = self.status.fields
        self.progress = self.status.progress

    def _wire(self) -> None:
        """The window's own actions and panes (each tool connects its own)."""
        a, c, r = self.actions, self.controller, self.runs
        a.start.triggered.connect(r.toggle_run)
        a.pause.triggered.connect(c.pause)
        a.step.triggered.connect(r.step)
        a.stop.triggered.connect(c.stop)
        a.reset.triggered.connect(r.reset)
        a.clear.triggered.connect(self.clear_previous)
        a.fit.triggered.connect(self.plots.fit_to_trajectory)
        a.reslice.triggered.connect(r.reslice)
        a.quit.triggered.connect(self.close)
        a.new.triggered.connect(self.document.new)
        a.open.triggered.connect(lambda: self.document.open())
        a.save.triggered.connect(self.document.save)
        a.save_as.triggered.connect(lambda: self.document.save_as())
        a.save_lighter.triggered.connect(lambda: self.document.save_lighter())
        c.records_added.connect(r.mark_dirty)
        c.run_finished.connect(r.run_finished)
        c.run_failed.connect(r.run_failed)
        c.state_changed.connect(r.state_changed)
        self.plots.start_requested.connect(r.start_at)
        self.plots.decision.maps_ready.connect(self.network_pane.diagram.set_maps)
        self.plots.ranges_edited.connect(lambda r: self.apply_setup(self.setup.replace(ranges=r)))
        self.network_pane.setup_edited.connect(self._setup_edited)
        self.network_pane.preset_requested.connect(
            lambda name: self.document.may_replace() and self.load_preset(name)
        )
        self.optimizer_pane.optimizer_changed.connect(self._optimizer_changed)
        self.optimizer_pane.hyper_changed.connect(self._hyper_changed)
        self.optimizer_pane.criteria_changed.connect(
            lambda crit: self.apply_setup(self.setup.replace(criteria=crit))
        )
        self.optimizer_pane.validity_changed.connect(r.validity_changed)
        self.network_pane.validity_changed.connect(r.validity_changed)

        self.network_pane.start_edited.connect(r.start_typed)
        self.network_pane.weight_edited.connect(r.set_weight)
        self.surfaces.failed.connect(lambda msg: self.show_message(f"contour: {msg}", error=True))
        self.surfaces.busy_changed.connect(self._surface_busy)
        # text coloured in code redraws in the new theme (the tools' own: theirs)
        self.theme_changed.connect(lambda: self.network_pane.params.model.layoutChanged.emit())

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
            problem_changed = old.differs(setup, "spec", "data", "free", "theta", "performance")
        penalty_changed = (old.l2, old.l1) != (setup.l2, setup.l1)  # F itself changed
        view_changed = problem_changed or penalty_changed or old.differs(setup, "axes", "ranges")
        if problem_changed:
            # the run ends while its own setup is current: no view (they redraw on the
            # controller's state change) combines the new setup with the old run's point
            self.runs.end_run()
        self.setup = setup
        if problem_changed or penalty_changed:
            self.objective = objective if objective is not None else setup.objective()
        if penalty_changed and not problem_changed:  # live: the run goes on with it
            self.controller.set_penalty(setup.l2, setup.l1)
        if problem_changed:
            self.restored_epoch = None
            self.start_x = start_point(self.objective, None, setup.seed, setup.init)
            self.start_drawn = True
        self.network_pane.set_setup(setup)
        if problem_changed:
            self.network_pane.set_data_warning(
                targets_outside(setup.spec.transfers[-1], self.objective.data.T)
            )
        self.optimizer_pane.set_performance(setup.performance, setup.l1, setup.l2)
        # the refusal also beside the performance index, not only on the Optimizer tab
        why = mismatch(setup.optimizer, get_performance(setup.performance), setup.l1, setup.l2)
        self.network_pane.performance.error_label.show_error(why)
        self.optimizer_pane.set_state(setup.optimizer, setup.hyper, setup.criteria)
        self.plots.set_setup(setup, self.objective, problem_changed)
        if view_changed:
            self.plots.request_surface()
        self.setup_applied.emit(problem_changed, view_changed)  # the tools' results
        self.refresh()

    def refresh(self) -> None:
        """Redraw every view from the model, the tools' too (``refreshed``)."""
        self.runs.refresh()

    def clear_previous(self) -> None:
        """Run ▸ Clear earlier runs: the earlier runs go, and the tools drop what they
        keep of them (``cleared``); the current run stays."""
        self.archive.clear()
        self.cleared.emit()
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
        self.start_x = np.array(e.start_point(), float)
        self.start_drawn = False
        self.note = (self._note_key(), f"{e.title}. {e.description}")
        self.experiment_key = key
        self.plots.hint.setToolTip(e.description)
        self.show_message(e.title + self._experiment_speed(self.setup.criteria.epochs))
        self.refresh()
        if run:
            self.runs.start_new_run(self.start_x)

    def _experiment_speed(self, epochs: int) -> str:
        """An experiment runs at a speed that tells its story in a lecture minute: when
        the slider would make it take longer than that, it goes to "as fast as possible"
        and the message says so."""
        rate = SPEEDS[self.speed.value()]
        if math.isinf(rate) or epochs / rate <= EXPERIMENT_SECONDS:
            return ""
        minutes = epochs / rate / 60
        self.speed.setValue(self.speed.maximum())
        return (
            f" (speed set to as fast as possible: at {epochs_per_second(rate)} its "
            f"{epochs:,} epochs would take {minutes:,.0f} minutes)"
        )

    def current_experiment(self) -> str | None:
        """The experiment on screen: loaded last and its setup not changed since."""
        if self.note is not None and self.note[0] == self._note_key():
            return getattr(self, "experiment_key", None)
        return None

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
        self.plots.hint.setText(self.runs.hint())

    def rebuild_recent_menu(self) -> None:
        """File ▸ Open recent, rebuilt after the event that changed it: its actions are
        deleted by the rebuild, and one of them may be the action being triggered."""
        QTimer.singleShot(0, self, lambda: rebuild_recent_menu(self))

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

    def _speed_changed(self, pos: int) -> None:
        rate = SPEEDS[pos]
        self.speed_label.setText(
            "as fast as possible" if math.isinf(rate) else epochs_per_second(rate)
        )
        self.controller.set_rate(rate)

    def _surface_busy(self, busy: bool) -> None:
        if busy:
            self.status.show(SURFACE_BUSY, ms=60_000)
        else:
            self.status.clear_message(only=SURFACE_BUSY)

    # ---- messages and closing --------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.last_message = text
        self.status.show(text, error)

    def closeEvent(self, event) -> None:
        doc = self.document
        if not doc.terminating and not self._close_confirmed:
            if not doc.maybe_save():
                event.ignore()
                return
            doc.discard_recovery()  # saved or discarded on purpose: nothing to recover
        if doc.saving and not self._close_confirmed:
            # a save waits for the running run's state: close once it has landed (or
            # failed), within a bound; the run is stopped meanwhile (its state still comes)
            self._close_confirmed = True
            event.ignore()
            self.controller.discard()
            self.show_message("closing once the save has finished…")
            doc.save_ended.connect(self._close_after_save)
            QTimer.singleShot(CLOSE_WAIT_MS, self._close_after_wait)
            return
        self.view.save_layout()
        doc.timer.stop()
        self.frame_timer.stop()
        # every background job the window owns stops (bounded waits) before Qt tears
        # down the objects its threads use: the tools' first
        self.closing.emit()
        self.controller.shutdown()
        self.surfaces.shutdown()
        self.jobs.drop_all()
        super().closeEvent(event)

    def _close_after_save(self) -> None:
        if not self.document.saving:  # else another save still waits
            self._close_after_wait()

    def _close_after_wait(self) -> None:
        if self.isVisible():
            QTimer.singleShot(0, self._close_now)

    def _close_now(self) -> None:
        if self.close() and self.document.terminating:
            QApplication.quit()
