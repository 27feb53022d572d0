"""The main window's optimizer race (issue 12): Tools ▸ Optimizer race.

The race is the controller's (:attr:`~bpgui.service.controller.TrainingController.race`, one
history per entry, run in the engine process on one epoch clock); this tool shows it.
:meth:`RaceTool.draw_race` derives every race view from it (the paths on the contour,
the error curves, the results table), as ``refresh`` does for the rest: a race belongs to
the problem it ran on, so on another problem it is hidden and on other axes re-projected.
It stays on screen through new runs until Reset, Clear earlier runs, New or Open; a
session saves it (:attr:`RaceTool.race_record`) and reopens it
(:meth:`RaceTool.restore_race`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from bpgui.panes.race import RacePane
from bpgui.tools.base import Tool
from bpgui_engine.maps.race import COLOURS, EntryResult, RaceRecord
from bpgui_engine.maps.race_presets import race_preset
from bpgui_engine.model.setup import problem_key
from bpgui_engine.train.history import Decimator
from bpgui_engine.train.pathdec import PathDecimator

RACE_PATH_POINTS = 1500  # per entry
RACE_CURVE_BLOCKS = 512  # per entry (min/max pairs)
TABLE_EVERY = 3  # the results table: every third frame while racing


def race_summary(results: list[EntryResult], reason: str) -> str:
    """``race finished: first to the goal: cg (22 epochs); M1 reached by 3 of 5``."""
    head = "race stopped" if reason == "stopped" else "race finished"
    parts = []
    reached = [r for r in results if r.epochs_to_goal is not None]
    if reached:
        best = min(reached, key=lambda r: r.epochs_to_goal)
        parts.append(f"first to the goal: {best.label} ({best.epochs_to_goal:,} epochs)")
    else:
        parts.append("no entry reached the goal")
    m1 = sum(r.minimum == "M1" for r in results)
    if m1:
        parts.append(f"M1 reached by {m1} of {len(results)}")
    return f"{head}: " + "; ".join(parts)


class RaceTool(Tool):
    """Tools ▸ Optimizer race."""

    name = "race"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.race_pane: RacePane | None = None
        self.race_dock: QDockWidget | None = None
        self.race_highlight: int | None = None  # the entry drawn bold
        self._race_decs: tuple | None = None  # (key, [(PathDecimator, Decimator)] per entry)
        self._race_dirty = False
        self._race_frames = 0
        host.actions.race.triggered.connect(self.show_race)
        host.refreshed.connect(self.draw_race)
        host.run_reset.connect(self.drop_race)
        host.cleared.connect(self._cleared)
        host.theme_changed.connect(self._theme_changed)

    def _cleared(self) -> None:
        """Clear earlier runs: an ended race goes (a running one stays)."""
        if not self.host.controller.racing:
            self.drop_race()

    def _theme_changed(self) -> None:
        if self.race_pane is not None:
            self.race_pane.validate()

    # ---- the pane -------------------------------------------------------------------------
    def _race_ui(self) -> RacePane:
        """The race pane in its dock (built on first use)."""
        if self.race_pane is not None:
            return self.race_pane
        pane = self.race_pane = RacePane()
        pane.set_entries(race_preset())
        self.race_dock = self.make_dock(
            "Optimizer race", "race-dock", pane, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        c = self.host.controller
        pane.start_requested.connect(self.start_race)
        pane.pause_requested.connect(self._race_pause)
        pane.step_requested.connect(lambda: c.racing and c.step())
        pane.stop_requested.connect(lambda: c.racing and c.stop())
        pane.row_selected.connect(self._race_row_selected)
        pane.problems_changed.connect(self._race_problems)
        c.race_records_added.connect(self._race_records)
        c.race_finished.connect(self._race_finished)
        c.state_changed.connect(lambda st: pane.set_state(st, c.racing))
        self.host.frame_timer.timeout.connect(self._redraw_race)
        pane.set_state(c.state, c.racing)
        return pane

    def show_race(self) -> None:
        """Tools ▸ Optimizer race: the pane, small at the bottom (Start runs the race)."""
        self._race_ui()
        self.show_dock(self.race_dock)
        self.draw_race()
        if self.race_pane.problems():
            self._race_problems(self.race_pane.problems())

    def _race_problems(self, problems: list) -> None:
        """Why the race's Start is disabled: one line in the status bar."""
        if problems:
            self.host.show_message(f"Race: Start is disabled: {problems[0]}", error=True)
        elif self.host.last_message.startswith("Race: Start is disabled: "):
            self.host.status.clear_message(only=self.host.last_message)
            self.host.last_message = ""

    # ---- commands ----------------------------------------------------------------------
    def start_race(self) -> None:
        """Race the pane's entries from the start point (the current run, if any, becomes
        an earlier run)."""
        pane = self._race_ui()
        problems = [*pane.validate(), *self.host.network_pane.problems()]
        entries = pane.entries()
        if problems or not entries:
            self._race_problems(problems or ["add at least one entry"])
            return
        self.host.runs.end_run()
        self.host.document.mark_modified()
        x0 = self.host.runs.default_start()
        self.host.restored_epoch = None
        self.race_highlight = None
        self.host.status.reset_rate()
        # the entries' epochs span decades (a dozen for cg, ~10^5 for sd): a log epoch
        # axis shows every curve (the box stays the user's to untick)
        self.host.plots.curves.log_x.setChecked(True)
        host = self.host
        host.controller.start_race(host.setup, x0, entries, pane.epochs.value(), pane.goal_value())
        host.refresh()
        n = len(entries)
        host.show_message(f"racing {n} optimizers from ({', '.join(f'{v:.4g}' for v in x0)})")

    def _race_pause(self) -> None:
        c = self.host.controller
        if not c.racing:
            return
        if c.state == "running":
            c.pause()
        else:
            c.resume()

    def _race_row_selected(self, row: int) -> None:
        self.race_highlight = None if row < 0 else row
        self.draw_race(table=False)

    def drop_race(self) -> None:
        """No race on screen (Reset, Clear earlier runs)."""
        if self.host.controller.race is not None:
            self.host.controller.drop_race()
            self.race_highlight = None
            self.draw_race()

    # ---- from the controller ------------------------------------------------------------
    def _race_records(self) -> None:
        self._race_dirty = True
        self.host.document.mark_modified()

    def _redraw_race(self) -> None:
        if not self._race_dirty:
            return
        self._race_dirty = False
        self._race_frames += 1
        self.draw_race(table=self._race_frames % TABLE_EVERY == 0)

    def _race_finished(self, reason: str) -> None:
        self.host.refresh()
        r = self.host.controller.race
        if r is not None:
            self.host.show_message(race_summary(r.results(), reason))

    # ---- the views ---------------------------------------------------------------------
    def draw_race(self, table: bool = True) -> None:
        """Every race view from the model: paths, curves, legend, results table."""
        c, s = self.host.controller, self.host.setup
        r = c.race
        shown = r is not None and r.key == problem_key(s)
        contour, curves = self.host.plots.contour, self.host.plots.curves
        pane = self.race_pane
        if not shown:
            contour.set_race([], [])
            curves.set_race([], [], [], [])
            self._race_decs = None
            if pane is not None:
                note = "" if r is None else "The race belongs to another problem: it is hidden."
                pane.show_race(None, s.performance.upper(), None, note)
            return
        key = (id(r), s.axes, s.ranges)
        if self._race_decs is None or self._race_decs[0] != key:
            decs = [
                (PathDecimator(RACE_PATH_POINTS), Decimator(RACE_CURVE_BLOCKS)) for _ in r.entries
            ]
            self._race_decs = (key, decs)
        (x0, x1), (y0, y1) = s.ranges
        paths, eps, sses = [], [], []
        for h, (pdec, cdec) in zip(r.histories, self._race_decs[1], strict=True):
            ep = h.column("epoch")
            if len(h) < pdec.follow(ep):
                pdec.reset()
                pdec.follow(ep)
            xs, ys = s.axis_values(h.x[pdec.done :]) if len(h) else (np.empty(0),) * 2
            pidx = pdec.update(xs, ys, (x1 - x0, y1 - y0))
            paths.append(s.axis_values(h.x[pidx]) if pidx.size else (np.empty(0), np.empty(0)))
            cidx = cdec.update(h.column("sse"), ep)
            eps.append(h.column("epoch")[cidx].astype(float))
            sses.append(h.column("sse")[cidx])
        colours = [e.colour or COLOURS[i % len(COLOURS)] for i, e in enumerate(r.entries)]
        names = [e.label for e in r.entries]
        hl = self.race_highlight if self.race_highlight is not None else None
        if hl is not None and not 0 <= hl < len(r.entries):
            hl = self.race_highlight = None
        contour.set_race(paths, colours, hl)
        curves.set_race(eps, sses, names, colours, hl)
        if c.racing and c.history is None:
            self.host.status_fields["epoch"].setText(f"epoch {max(r.clock, 0):,}")
        if pane is not None and (table or not r.running):
            pane.show_race(r.results(), s.performance.upper(), r.clock, "", hl)

    # ---- sessions -------------------------------------------------------------------------
    def save(self, session) -> None:
        session.race = self.race_record  # None: no race, or one of another problem

    def restore(self, session) -> None:
        self.restore_race(session.race)

    @property
    def race_record(self) -> RaceRecord | None:
        """The race to save with the session (None: none, or it belongs to another
        problem)."""
        r = self.host.controller.race
        if r is None or r.key != problem_key(self.host.setup):
            return None
        return r.record()

    def restore_race(self, record: RaceRecord | None) -> None:
        """A saved session's race (None: none): its paths, curves and results table."""
        self.host.controller.restore_race(record)
        self.race_highlight = None
        self._race_decs = None
        if record is not None:
            pane = self._race_ui()
            pane.set_entries(record.entries)
            pane.epochs.setValue(int(record.criteria.epochs))
            pane.goal.set_value(float(record.criteria.goal))
            pane.validate()
            self.race_dock.show()
        self.draw_race()
