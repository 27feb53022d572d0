"""A randomized soak of the window: a seeded random walk of what a user does.

Every step picks one action at random and does it as a user would — a menu action (every
one the menus hold but Quit: runs, tools, experiments, exports, New, Open, Save, theme,
presentation, reset layout), a click on an enabled button or a check box in a visible
dock (Start race, a basin map, a sweep, restarts, Find, Cancel, …), a dock closed with
its ×, floated or docked again, a results-table row clicked, the window resized, the
free set changed (All free / a box ticked mid-run), the replay slider dragged, a check
box of the plots (the log epoch axis) clicked, a save followed at once by another
action, and at the end a quit while jobs run.  Modal dialogs answer at once (file
dialogs with files in a temporary folder, "discard" to the unsaved-changes prompt).

It fails (exit 1) on any Python exception in a slot, any Qt warning about a deleted or
destroyed object, or a thread destroyed while running; a native crash kills the process,
and faulthandler prints every thread's Python stack.  The last 40 actions are printed on
failure, so a seed and a step count reproduce it.

    QT_QPA_PLATFORM=offscreen python benchmarks/soak.py --steps 2000 --seed 1
    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import random
import sys
import tempfile
import time
import traceback

faulthandler.enable(all_threads=True)

STEP_LIMIT_S = 60

BAD_QT = (
    "deleted",
    "destroyed",
    "QThread",
    "Internal C++ object",
    "QObject::connect",
    "QBasicTimer",
    "Cannot create children",
    "QPainter::begin",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=0.0, help="run this long (not --steps)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wait-ms", type=int, default=15, help="events processed between steps")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bpgui-soak-")
    os.environ.setdefault("BPGUI_CONFIG_DIR", os.path.join(tmp, "config"))
    if not os.environ.get("DISPLAY"):  # under Xvfb (xvfb-run sets DISPLAY): a real X window
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QPoint, Qt, qInstallMessageHandler
    from PySide6.QtGui import QColor
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import (
        QAbstractButton,
        QCheckBox,
        QColorDialog,
        QDialog,
        QDockWidget,
        QFileDialog,
        QInputDialog,
        QMessageBox,
        QPushButton,
        QSlider,
        QTableWidget,
    )

    from bpgui.document.document import Document
    from bpgui.window.app import make_application
    from bpgui.window.main import MainWindow

    problems: list[str] = []
    log: list[str] = []

    def hook(tp, val, tb) -> None:
        problems.append("".join(traceback.format_exception(tp, val, tb)))

    sys.excepthook = hook

    def qt_messages(mode, ctx, msg: str) -> None:
        if any(b in msg for b in BAD_QT):
            problems.append(f"Qt: {msg}")

    qInstallMessageHandler(qt_messages)
    rng = random.Random(args.seed)
    files = [os.path.join(tmp, f"s{i}.bpgui") for i in range(3)]
    exports = {"png": "x.png", "svg": "x.svg", "csv": "x.csv", "json": "x.json"}

    def save_name(*_a, **_k):
        name = rng.choice(files)
        caption = str(_a[1]) if len(_a) > 1 else ""
        for key, ext in exports.items():
            if key in caption.lower():
                name = os.path.join(tmp, ext)
        return name, ""

    def open_name(*_a, **_k):
        there = [f for f in files if os.path.exists(f)]
        return (rng.choice(there), "") if there else ("", "")

    QFileDialog.getSaveFileName = staticmethod(save_name)
    QFileDialog.getOpenFileName = staticmethod(open_name)
    Document.ask_save_changes = lambda self: rng.choice(["discard", "discard", "save", "cancel"])
    QMessageBox.exec = lambda self: int(QMessageBox.StandardButton.Ok)
    QDialog.exec = lambda self: 0  # the recovery prompt: keep for later
    QColorDialog.getColor = staticmethod(lambda *a, **k: QColor(rng.choice(["#e41a1c", "#377eb8"])))
    # Run ▸ History memory…: a small budget (long runs thin their history), the default,
    # a large one, nonsense or Cancel
    QInputDialog.getText = staticmethod(
        lambda *a, **k: (rng.choice(["1M", "2M", "", "2G", "lots"]), rng.random() < 0.9)
    )

    app = make_application()  # noqa: F841
    win = MainWindow()
    win.show()
    deadline = time.time() + 120
    while win.plots.surface is None and time.time() < deadline:
        QTest.qWait(20)

    def menu_actions():
        out = []
        for top in win.menuBar().actions():
            stack = [top.menu()]
            while stack:
                m = stack.pop()
                if m is None:
                    continue
                for a in m.actions():
                    if a.menu() is not None:
                        stack.append(a.menu())
                    elif a.text() and a.isEnabled() and a is not win.actions.quit:
                        out.append(a)
        return out

    def visible_docks():
        return [d for d in win.findChildren(QDockWidget) if d.isVisible()]

    def click_button():
        docks = visible_docks()
        if not docks:
            return "no dock"
        d = rng.choice(docks)
        buttons = [b for b in d.findChildren(QAbstractButton) if b.isEnabled() and b.isVisible()]
        if not buttons:
            return f"{d.windowTitle()}: no button"
        b = rng.choice(buttons)
        if isinstance(b, QCheckBox | QPushButton) or b.isCheckable():
            QTest.mouseClick(b, Qt.MouseButton.LeftButton)
        else:
            b.click()
        return f"{d.windowTitle()}: click {b.text()!r}"

    def dock_op():
        docks = [d for d in win.findChildren(QDockWidget) if d.isVisible()]
        if not docks:
            return "no dock"
        d = rng.choice(docks)
        op = rng.choice(["close", "float", "dock"])
        if op == "close":
            d.close()
        elif op == "float" and d.features() & QDockWidget.DockWidgetFeature.DockWidgetFloatable:
            d.setFloating(True)
        else:
            d.setFloating(False)
        return f"{op} dock {d.windowTitle()!r}"

    def table_row():
        tables = [
            t
            for d in visible_docks()
            for t in d.findChildren(QTableWidget)
            if t.isVisible() and t.rowCount()
        ]
        if not tables:
            return "no table"
        t = rng.choice(tables)
        r = rng.randrange(t.rowCount())
        rect = t.visualRect(t.model().index(r, 0))
        QTest.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        return f"click row {r} of {t.objectName() or type(t.parent()).__name__}"

    def resize():
        w, h = rng.choice([(1024, 700), (1600, 1000), (900, 640), (1280, 800)])
        if not win.view.presentation:
            win.resize(w, h)
        return f"resize {w}x{h}"

    def contour_click():
        view = win.plots.contour
        widget = getattr(view, "widget", None) or getattr(win.plots, "contour_widget", None)
        if widget is None:
            (x0, x1), (y0, y1) = win.setup.ranges
            win.runs.start_at(rng.uniform(x0, x1), rng.uniform(y0, y1))
            return "start at a random point"
        p = QPoint(rng.randrange(20, max(21, widget.width() - 20)),
                   rng.randrange(20, max(21, widget.height() - 20)))  # fmt: skip
        QTest.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=p)
        return f"click contour at {p.x()},{p.y()}"

    def free_change():
        labels = win.setup.spec.labels
        k = rng.randint(1, len(labels))
        free = tuple(sorted(rng.sample(range(len(labels)), k)))
        try:
            setup = win.setup.replace(free=tuple(labels[i] for i in free))
        except ValueError as exc:
            return f"free set refused: {exc}"
        win.apply_setup(setup)
        return f"free {k} parameters"

    def slider():
        sliders = [s for s in win.findChildren(QSlider) if s.isVisible() and s.isEnabled()]
        if not sliders:
            return "no slider"
        s = rng.choice(sliders)
        s.setValue(rng.randint(s.minimum(), s.maximum()))
        return f"slider {s.objectName() or s.toolTip()[:30]!r}"

    def save_then():
        win.document.save_as(rng.choice(files))
        act = rng.choice(menu_actions())
        text = act.text()
        act.trigger()
        return f"save, then {text!r}"

    def menu():
        acts = menu_actions()
        a = rng.choice(acts)
        text = a.text()
        a.trigger()
        return f"menu {text!r}"

    def landscape():
        """The contour pane's Landscape tab: its pages, modes and buttons (small grids)."""
        tool = win.tools["landscape"]
        tabs = win.plots.tabs
        if tabs.currentIndex() != tool.index or tool.pane is None:
            tabs.setCurrentIndex(rng.choice([tool.index, tool.index, 0]))
            return f"plot tab {tabs.currentIndex()}"
        pane = tool.pane
        op = rng.choice(["page", "mode", "resolution", "button", "button"])
        if op == "page":
            pane.page.setCurrentIndex(rng.randrange(pane.page.count()))
            return f"landscape page {pane.page.currentText()!r}"
        if op == "mode":
            pane.mode.setCurrentIndex(rng.randrange(pane.mode.count()))
            return f"landscape mode {pane.mode.currentText()!r}"
        if op == "resolution":
            pane.resolution.setCurrentIndex(rng.randrange(2))  # 21 or 51: seconds at most
            return f"landscape resolution {pane.resolution.currentText()!r}"
        return click_one(pane, QAbstractButton, "landscape")

    def plot_box():
        """A check box of the plots themselves (the log epoch axis, the map's toggles)."""
        return click_one(win.plots, QCheckBox, "plot box")

    def click_one(parent, kind, what: str) -> str:
        """Click one of ``parent``'s enabled, visible buttons of ``kind``, at random."""
        found = [b for b in parent.findChildren(kind) if b.isEnabled() and b.isVisible()]
        if not found:
            return f"{what}: none"
        b = rng.choice(found)
        QTest.mouseClick(b, Qt.MouseButton.LeftButton)
        return f"{what}: click {b.text()!r}"

    def key():
        k = rng.choice([Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_Escape])
        QTest.keyClick(win, k)
        return f"key {k.name}"

    ops = [
        (menu, 30),
        (click_button, 25),
        (dock_op, 8),
        (table_row, 6),
        (resize, 3),
        (contour_click, 5),
        (free_change, 2),
        (slider, 5),
        (save_then, 2),
        (key, 8),
        (landscape, 6),
        (plot_box, 3),
    ]
    funcs = [f for f, _ in ops]
    weights = [w for _, w in ops]
    t_end = time.time() + args.minutes * 60 if args.minutes else None
    step = 0
    while (t_end is None and step < args.steps) or (t_end is not None and time.time() < t_end):
        step += 1
        f = rng.choices(funcs, weights)[0]
        # a step that hangs (a modal loop, a deadlock) dumps every thread's stack and exits
        faulthandler.dump_traceback_later(STEP_LIMIT_S, exit=True)
        print(f"{step}: {f.__name__} …", end=" ", flush=True)
        try:
            what = f()
        except Exception:
            problems.append(f"step {step} ({f.__name__}):\n{traceback.format_exc()}")
            what = f"{f.__name__} raised"
        log.append(f"{step}: {what}")
        print(what, flush=True)
        QTest.qWait(args.wait_ms)
        faulthandler.cancel_dump_traceback_later()
        if problems:
            break
    # quit while busy: whatever still runs is stopped and waited for
    win.document.modified = False
    win.actions.quit.trigger()
    QTest.qWait(200)
    # a save still waiting for the run's state defers the close until it lands: the event
    # loop goes on until the window has closed (as the app's own loop does)
    deadline = time.time() + 120
    while win.isVisible() and time.time() < deadline:
        QTest.qWait(50)
    if win.isVisible():
        problems.append("the window did not close within 2 minutes of Quit")
    from bpgui.window.app import finish

    procs = win.jobs._idle + list(win.jobs._busy)
    finish(0)  # as the app does once its window has closed: the compute service ends
    left = [p.proc.pid for p in procs if p.proc.poll() is None]
    if left:
        problems.append(f"compute processes still running after the app ended: {left}")
    if problems:
        print("\nSOAK FAILED after these actions:", file=sys.stderr)
        print("\n".join(log[-40:]), file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"soak: {step} steps, seed {args.seed}, no crash, no exception, no Qt warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
