"""The window <-> a :class:`~engine.session.Session`: what a session file holds of the
window (the setup, start point and view settings; each tool saves and restores its own
part: restarts, maps, race), and putting a loaded session back.  The run's state is
:meth:`bpgui.document.document.Document.capture`'s (it may have to come from the engine)."""

from __future__ import annotations

import numpy as np

from bpgui_engine.session import Session, run_state_to_dict


def capture_view(w) -> Session:
    """Everything of the window's session but the current run (``w``: the main window)."""
    s = Session(w.setup, start=None if w.start_x is None else np.array(w.start_x, float))
    s.view = {
        "colour_scale": "log" if w.plots.scale.currentIndex() == 0 else "linear",
        "resolution": int(w.plots.resolution.currentData()),
        "curves_log_x": w.plots.curves.log_x.isChecked(),
        "plot_tab": w.plots.tabs.currentIndex(),
        "setup_tab": w.left_tabs.currentIndex(),
        "speed": w.speed.value(),
        "window": {
            "width": w.width(),
            "height": w.height(),
            "maximized": w.isMaximized(),
        },
    }
    for tool in w.tools.values():  # restarts, maps, race: each with the problem it is of
        tool.save(s)
    return s


def restore_view(w, s: Session) -> None:
    """Show ``s`` in the window exactly as it was saved; Start continues its run.
    Nothing of the session shown before survives (earlier runs, restarts, texts)."""
    w.controller.clear()
    w.archive.clear()
    w.note = None
    w.apply_setup(s.setup, problem_changed=True)
    start = s.run.start if s.run is not None else s.start
    if start is not None:
        w.start_x = np.array(start, float)
        w.start_drawn = False
    if s.run is not None and s.history is not None:
        w.controller.restore(s.setup, run_state_to_dict(s.run), s.history)
        w.restored_epoch = s.run.epoch
        if len(s.setup.free) > 2:
            w.plots.request_surface(s.history.x[-1], s.run.epoch)
    for tool in w.tools.values():  # each tool's part (none: dropped, as on New)
        tool.restore(s)
    _apply_view(w, s.view)
    w.refresh()


def _apply_view(w, v: dict) -> None:
    if "colour_scale" in v:
        w.plots.scale.setCurrentIndex(0 if v["colour_scale"] == "log" else 1)
    if "resolution" in v:
        i = w.plots.resolution.findData(v["resolution"])
        if i >= 0:
            w.plots.resolution.setCurrentIndex(i)
    if "curves_log_x" in v:
        w.plots.curves.log_x.setChecked(bool(v["curves_log_x"]))
    if "plot_tab" in v and 0 <= v["plot_tab"] < w.plots.tabs.count():
        w.plots.tabs.setCurrentIndex(v["plot_tab"])
    if "setup_tab" in v and 0 <= v["setup_tab"] < w.left_tabs.count():
        w.left_tabs.setCurrentIndex(v["setup_tab"])
    if "speed" in v and w.speed.minimum() <= v["speed"] <= w.speed.maximum():
        w.speed.setValue(v["speed"])
    win = v.get("window")
    if isinstance(win, dict) and not w.isMaximized():
        width, height = win.get("width"), win.get("height")
        if isinstance(width, int) and isinstance(height, int) and 400 <= width <= 10000:
            w.resize(width, max(300, min(height, 10000)))
