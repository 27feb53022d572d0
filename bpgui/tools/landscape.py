"""The contour pane's Landscape tab (issue 22): loss landscapes of any network around the
point shown, the Hessian's spectrum there, and the sharpness along the run.

- **Landscape**: filter-normalized random directions, the PCA plane of the trajectory or
  a line (the run's start, or an earlier run's end, to the point shown), computed by the
  ``landscape`` job coarse first (each better picture drawn as it comes; Cancel keeps the
  picture so far).  Finished pictures are cached per (problem, settings, point): asking
  again shows them at once.  The picture shown is saved in the session.
- **Spectrum**: the ``spectrum`` job at the point shown (Lanczos top/bottom eigenvalues,
  Hutchinson-free SLQ density and trace).
- **Sharpness**: the engine samples λmax while training (see
  :class:`~bpgui_engine.train.sharpness.SharpnessProbe`); the curve follows the run
  beside the optimizer's stability bound.

What clears what: a change of problem (network, data, free parameters, performance
index), New, Open, Reset and Clear earlier runs drop the pictures (they were of points
and runs that are gone or of another problem); the cache keeps finished pictures of any
problem (keyed by it, at most :data:`CACHE` of them).  The sharpness samples belong to
the run (the controller clears them with it)."""

from __future__ import annotations

import collections
import hashlib

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bpgui.service.runner import JobRunner
from bpgui.service.sharpness import BUDGET
from bpgui.tools.base import Tool
from bpgui_engine.analysis.views import PCA_BUDGET
from bpgui_engine.model.setup import problem_key
from bpgui_engine.train.sharpness import stability_bound

CACHE = 8  # finished landscapes kept (per problem, settings and point)
PCA_ROWS = 2000  # trajectory rows sent for a PCA at most


def describe(v) -> str:
    """What a landscape view is, in words (for a picture reopened from a session)."""
    if v.mode == "random":
        return f"random directions (seed {v.seed}, span {v.span:g})"
    if v.mode == "pca":
        return f"the PCA plane of a trajectory (span {v.span:g})"
    return "a line between two points"


def _digest(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    return h.hexdigest()


class LandscapeTool(Tool):
    """The Landscape tab of the contour pane."""

    name = "landscape"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.pane = None
        self.page = QWidget()  # the tab; its content is built when first shown
        QVBoxLayout(self.page).setContentsMargins(0, 0, 0, 0)
        self.index = host.plots.tabs.addTab(self.page, "Landscape")
        host.plots.tabs.setTabToolTip(
            self.index,
            "the loss landscape of any network, the Hessian's spectrum and the sharpness",
        )
        self.cache: collections.OrderedDict[tuple, object] = collections.OrderedDict()
        self.view = None  # the LandscapeView shown
        self.view_key: tuple | None = None
        self.caption = ""
        self._asked: tuple | None = None  # (key, caption) of the running landscape job
        self.runner = JobRunner(host.jobs, self)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.spectrum_runner = JobRunner(host.jobs, self)
        self.spectrum_runner.finished.connect(self._spectrum_finished)
        self._spectrum_caption = ""
        host.plots.tabs.currentChanged.connect(self._tab_changed)
        host.actions.landscape.triggered.connect(self.show_tab)
        host.setup_applied.connect(self._setup_applied)
        host.run_reset.connect(self._drop_pictures)
        host.cleared.connect(self._drop_pictures)
        host.slow_frame.connect(self.sync_sharpness)
        host.refreshed.connect(self.sync_sharpness)
        self._experiment: str | None = None  # the experiment seen last
        self._experiment_sampling = False  # the sampling on screen is an experiment's
        host.theme_changed.connect(self._theme_changed)
        host.refreshed.connect(self._experiment_loaded)  # before its run starts
        host.closing.connect(self._closing)

    # ---- the tab --------------------------------------------------------------------------
    def ui(self):
        if self.pane is None:
            from bpgui.panes.landscape import LandscapePane

            pane = self.pane = LandscapePane()
            self.page.layout().addWidget(pane)
            pane.compute_requested.connect(self.compute)
            pane.cancel_requested.connect(self.runner.cancel)
            pane.spectrum_requested.connect(self.compute_spectrum)
            pane.sharpness_changed.connect(self._sharpness_changed)
            track = self.host.controller.sharpness
            pane.set_sharpness_every(track.every, track.budget)
            self._redraw()
        return self.pane

    def _tab_changed(self, index: int) -> None:
        if index == self.index:
            self.ui()
            self.sync_sharpness()

    def show_tab(self) -> None:
        """Tools ▸ Landscape and spectrum: the tab (a first landscape if none is shown)."""
        self.host.plots.tabs.setCurrentIndex(self.index)
        if self.view is None and not self.runner.busy:
            self.compute()

    def _redraw(self) -> None:
        if self.pane is None:
            return
        if self.view is None:
            self.pane.plot.clear("Compute: the landscape around the point shown (the run's "
                                 "last epoch, the replayed one, or the start point).")  # fmt: skip
        else:
            self.pane.plot.show_view(self.view, self.caption)

    # ---- the landscape ----------------------------------------------------------------------
    def _request(self, st: dict):
        """(request, key, caption) for the form's settings at the point shown; raises
        ValueError with one line when there is nothing to draw."""
        host = self.host
        s = host.setup
        x, where = host.runs.point_on_screen()
        h = host.controller.history
        req = {"setup": s, "mode": st["mode"], "x": x,
               "options": {"resolution": st["resolution"]}}  # fmt: skip
        if st["mode"] == "random":
            req["options"].update(seed=st["seed"], span=st["span"])
            caption, pts = f"random directions (seed {st['seed']}) around {where}", (x,)
        elif st["mode"] == "pca":
            if h is None or len(h) < 3:
                raise ValueError("PCA: train first (the plane is the trajectory's)")
            row = host.shown_row
            end = len(h) if row is None or not 0 <= row < len(h) else row + 1
            # no more rows than the engine keeps (PCA_BUDGET numbers): a large network's
            # path is thinned here, not copied whole and then thinned in the job
            rows = min(end, PCA_ROWS, max(3, PCA_BUDGET // max(len(s.free), 1)))
            idx = np.unique(np.linspace(0, end - 1, rows).round().astype(int))
            path = np.asarray(h.x[idx], float)
            req["options"].update(path=path, span=st["span"])
            caption, pts = f"the PCA plane of the trajectory up to {where}", (path,)
        elif st["first"] == "start":
            if h is None or not len(h):
                raise ValueError("line: train first (from the run's start to the point shown)")
            a = np.asarray(h.x[0], float)
            req["x"], req["options"]["b"] = a, x
            caption, pts = f"the line from the run's start to {where}", (a, x)
        else:
            runs = host.archive.matching(problem_key(s))
            if not runs:
                raise ValueError("line: no earlier run of this problem (train twice)")
            a = np.asarray(runs[-1].X[-1], float)
            req["x"], req["options"]["b"] = a, x
            caption, pts = f"the line from the earlier run's end to {where}", (a, x)
        key = (problem_key(s), st["mode"], st["first"], st["seed"], st["span"],
               st["resolution"], _digest(*pts))  # fmt: skip
        return req, key, caption

    def compute(self) -> None:
        pane = self.ui()
        try:
            st = pane.settings()
            req, key, caption = self._request(st)
        except ValueError as exc:  # the picture on screen stays (it is what a save keeps)
            self.host.show_message(f"landscape: {exc}", error=True)
            return
        if key in self.cache:  # computed before: at once
            self.cache.move_to_end(key)
            self._show(self.cache[key], key, caption)
            self.host.show_message(f"landscape: {caption} (computed before)")
            return
        self._asked = (key, caption)
        if self.runner.start("landscape", req):
            pane.set_busy(True)
            self.host.show_message(f"landscape: computing {caption}…")

    def _show(self, view, key, caption: str) -> None:
        self.view, self.view_key, self.caption = view, key, caption
        self._redraw()
        self.host.document.mark_modified()

    def _progress(self, view, _parts: int) -> None:
        """A better picture: it is the one shown (and saved) from now on."""
        if self._asked is not None:
            key, caption = self._asked
            self.view, self.view_key, self.caption = view, key, caption
            self._redraw()

    def _finished(self, view, error: str) -> None:
        key, caption = self._asked or (None, "")
        self._asked = None
        if self.pane is not None:
            self.pane.set_busy(False)
        if view is None:  # failed, or cancelled before a first picture: the last one stays
            msg = error or "cancelled"
            self.host.show_message(f"landscape: {msg}", error=bool(error))
            self._redraw()
            return
        if view.done:
            self.cache[key] = view
            while len(self.cache) > CACHE:
                self.cache.popitem(last=False)
        self._show(view, key, caption if view.done else f"{caption} (cancelled)")
        self.host.show_message(f"landscape: {caption}" + ("" if view.done else " — cancelled"))

    def _drop_pictures(self, *_args) -> None:
        self.runner.drop()
        self.spectrum_runner.drop()
        self._asked = None
        self.view = self.view_key = None
        if self.pane is not None:
            self.pane.set_busy(False)
            self.pane.spectrum.clear("")
        self._redraw()

    def _setup_applied(self, problem_changed: bool, _view_changed: bool) -> None:
        if problem_changed:
            self._drop_pictures()
            self._experiment = None  # the same experiment loaded again applies again
            if self._experiment_sampling:  # an experiment's sampling ends with its problem
                self._experiment_sampling = False
                self.host.controller.set_sharpness(0, BUDGET)
        self.sync_sharpness()

    # ---- the spectrum -------------------------------------------------------------------------
    def compute_spectrum(self) -> None:
        pane = self.ui()
        x, where = self.host.runs.point_on_screen()
        self._spectrum_caption = f"at {where}"
        req = {"setup": self.host.setup, "x": x, "options": {"k": pane.k.value()}}
        if self.spectrum_runner.start("spectrum", req):
            pane.set_busy(True, spectrum=True)
            pane.spectrum.clear(f"computing the spectrum at {where}…")

    def _spectrum_finished(self, view, error: str) -> None:
        if self.pane is None:
            return
        self.pane.set_busy(False)
        if view is None:
            self.pane.spectrum.clear(f"spectrum: {error or 'cancelled'}")
            self.host.show_message(f"spectrum: {error or 'cancelled'}", error=bool(error))
            return
        self.pane.spectrum.show_view(view, self._spectrum_caption)
        self.host.show_message(f"spectrum {self._spectrum_caption}: {view.message()}",
                               error=not view.converged)  # fmt: skip

    # ---- the sharpness ------------------------------------------------------------------------
    def _sharpness_changed(self, every: int, budget: float) -> None:
        self._experiment_sampling = False  # the user's own setting from now on
        self.host.controller.set_sharpness(every, budget)
        text = f"sampled every {every:,} epochs from the next block" if every else "off"
        self.host.show_message(f"sharpness: {text}")

    def _experiment_loaded(self) -> None:
        """An experiment about the sharpness (Experiments ▸ Edge of stability), loaded
        just now: its runs sample the sharpness (every sample) and its curve shows."""
        from bpgui_engine.model.experiments import get_experiment

        key = self.host.current_experiment()
        if key == self._experiment:
            return
        self._experiment = key
        every = get_experiment(key).sharpness if key is not None else 0
        if every:  # every sample, however long: the experiment's curve
            self._experiment_sampling = True
            self.host.controller.set_sharpness(every, 0.0)
            self.host.plots.tabs.setCurrentIndex(self.index)
            self.ui().page.setCurrentIndex(2)

    def sync_sharpness(self, *_args) -> None:
        pane = self.pane
        if pane is None or self.host.plots.tabs.currentIndex() != self.index:
            return
        track = self.host.controller.sharpness
        pane.set_sharpness_every(track.every, track.budget)
        s = self.host.setup
        try:
            from bpgui_engine.optim import OPTIMIZERS

            bound = stability_bound(s.optimizer, OPTIMIZERS[s.optimizer].Hyper.from_dict(s.hyper))
        except (KeyError, ValueError):
            bound = None
        ep, val = track.arrays()
        if len(ep):
            text = f"{len(ep):,} samples; λmax {val[-1]:.4g} at epoch {int(ep[-1]):,}"
        elif track.every:
            text = "λmax is sampled while training: Start"
        else:
            text = "tick “Sample λmax every” and train to follow the sharpness"
        if bound is None:
            text += f" ({s.optimizer} has no fixed stability bound)"
        pane.sharpness.set_data(ep, val, bound, text)

    # ---- sessions -------------------------------------------------------------------------------
    def save(self, session) -> None:
        key = self.view_key
        if self.view is not None and key is not None and key[0] == problem_key(session.setup):
            session.landscape = self.view
        session.sharpness = self.host.controller.sharpness.saved()

    def restore(self, session) -> None:
        self._drop_pictures()
        self.cache.clear()
        v = session.landscape
        if v is not None:
            self.view, self.caption = v, f"{describe(v)}, saved with the session"
            self.view_key = (problem_key(session.setup), "saved")
        track = self.host.controller.sharpness
        track.restore(session.sharpness, None if session.run is None else session.run.epoch)
        if self.pane is not None:
            self.pane.set_sharpness_every(track.every, track.budget)
        self._redraw()
        self.sync_sharpness()

    def _theme_changed(self) -> None:
        if self.pane is not None:
            on = bool(self.host.view.presentation)
            for plot in (self.pane.spectrum, self.pane.sharpness):
                plot.presentation = on
                plot.style_labels()

    def _closing(self) -> None:
        self.runner.shutdown()
        self.spectrum_runner.shutdown()
