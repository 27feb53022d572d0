"""Plots to PNG or SVG, from the window (File > Export) or headless (``bpgui export
--plot``), through pyqtgraph's exporters.  Files are written beside the target and renamed
into place, so a failed export never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PLOT_NAMES = ("contour", "curves", "response")


def _widget(win, which: str):
    p = win.plots
    return {"contour": p.contour.widget, "curves": p.curves.glw, "response": p.response.widget}[
        which
    ]


def _svg(widget, path: str, title: str) -> None:
    """The widget painted into Qt's SVG generator: lines and text stay vectors (the
    contour image is embedded).  pyqtgraph 0.14's SVGExporter fails on Qt 6.11's path
    syntax (pyqtgraph issue #3485), so it is not used."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    gen = QSvgGenerator()
    gen.setFileName(path)
    size = widget.size()
    gen.setSize(size)
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setDescription("exported by bpgui")
    painter = QPainter(gen)
    try:
        widget.render(painter)
    finally:
        painter.end()


def _item(win, which: str):
    p = win.plots
    if which == "contour":
        return p.contour.plot_item  # image, isolines, paths and the colour bar
    if which == "curves":
        return p.curves.glw.scene()  # SSE and gradient/lr panels together
    if which == "response":
        return p.response.plot
    raise ValueError(f"plot: choose one of {', '.join(PLOT_NAMES)}, not {which!r}")


def export_plot(win, which: str, path: str | os.PathLike) -> None:
    """Write plot ``which`` of window ``win`` to ``path`` (.png or .svg)."""
    import pyqtgraph.exporters as ex

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"plot: the file name must end in .png or .svg, not {path.name!r}")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    item = _item(win, which)
    fd, tmp = tempfile.mkstemp(prefix=".bpgui-", suffix=ext, dir=path.parent)
    os.close(fd)
    try:
        if ext == ".png":
            exporter = ex.ImageExporter(item)
            if int(exporter.parameters()["width"]) < 1200:  # sharp in a report
                exporter.parameters()["width"] = 1200
            exporter.export(fileName=tmp)
        else:
            _svg(_widget(win, which), tmp, f"bpgui {which}")
        if os.path.getsize(tmp) == 0:
            raise ValueError(f"plot {which}: nothing was drawn")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_plots(session, pairs: list[tuple[str, str]], timeout_s: float = 60.0) -> list[str]:
    """Headless: open ``session`` in an offscreen window, wait for its contour, export."""
    import time

    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QCoreApplication

    from .app import make_application
    from .main_window import MainWindow

    for which, _ in pairs:
        if which not in PLOT_NAMES:
            raise ValueError(f"--plot: choose one of {', '.join(PLOT_NAMES)}, not {which!r}")
    app = make_application()
    win = MainWindow()
    try:
        win.resize(1400, 900)
        win.show()
        win.document.restore(session)
        t_end = time.monotonic() + timeout_s
        while (win.plots.surface is None or win.surfaces.busy) and time.monotonic() < t_end:
            app.processEvents()
            time.sleep(0.01)
        for _ in range(5):
            QCoreApplication.processEvents()
        written = []
        for which, path in pairs:
            export_plot(win, which, path)
            written.append(path)
        return written
    finally:
        win.document.modified = False
        win.close()
