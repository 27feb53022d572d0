"""Plots to PNG or SVG, from the window (File > Export) or headless (``bpgui export
--plot``), through pyqtgraph's exporters.  Files are written beside the target and renamed
into place by :func:`bpgui_engine.safe_write.replacing`, so a failed export never leaves half a
file, a device or FIFO is never replaced and a symlink is written through."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bpgui_engine.safe_write import replacing

log = logging.getLogger(__name__)
PLOT_NAMES = ("contour", "curves", "response")


def _widget(plots, which: str):
    return {
        "contour": plots.contour.widget,
        "curves": plots.curves.glw,
        "response": plots.response.widget,
    }[which]


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
        if not painter.end():
            raise OSError(f"cannot write {path}: the SVG writer failed")


def _item(plots, which: str):
    if which == "contour":
        return plots.contour.plot_item  # image, isolines, paths and the colour bar
    if which == "curves":
        return plots.curves.glw.scene()  # SSE and gradient/lr panels together
    if which == "response":
        return plots.response.plot
    raise ValueError(f"plot: choose one of {', '.join(PLOT_NAMES)}, not {which!r}")


def export_plot(plots, which: str, path: str | os.PathLike) -> None:
    """Write plot ``which`` of the plots pane ``plots`` to ``path`` (.png or .svg)."""
    import pyqtgraph.exporters as ex

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"plot: the file name must end in .png or .svg, not {path.name!r}")
    item = _item(plots, which)
    # the target resolved (symlinks followed, only a regular file replaced, its mode
    # kept), a temporary file beside it, renamed only once the image reads back whole
    with replacing(path, suffix=ext) as tmp:
        if ext == ".png":
            exporter = ex.ImageExporter(item)
            if int(exporter.parameters()["width"]) < 1200:  # sharp in a report
                exporter.parameters()["width"] = 1200
            image = exporter.export(toBytes=True)
            if not image.save(tmp, "PNG"):
                raise OSError(f"cannot write {path}: the PNG writer failed (is the disk full?)")
        else:
            _svg(_widget(plots, which), tmp, f"bpgui {which}")
        _verify(tmp, ext, path)


def _verify(tmp: str, ext: str, path: Path) -> None:
    """The written file must read back as a whole image: a writer that failed half-way
    (a full disk) is an error, and the old file at ``path`` stays."""
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    if os.path.getsize(tmp) == 0:
        raise OSError(f"cannot write {path}: nothing was written (is the disk full?)")
    ok = not QImage(tmp).isNull() if ext == ".png" else QSvgRenderer(tmp).isValid()
    if not ok:
        raise OSError(f"cannot write {path}: the file written is incomplete (is the disk full?)")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())


def export_plots(session, pairs: list[tuple[str, str]], timeout_s: float = 60.0) -> list[str]:
    """Headless: draw ``session`` in an offscreen plots pane (no main window), wait for
    its contour, export each ``(which, path)``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler

    # headless: Qt's platform chatter ("This plugin does not support ...") goes to the
    # log, not to stderr, where the command's one line is the whole message
    qInstallMessageHandler(lambda _mode, _ctx, msg: log.debug("Qt: %s", msg))

    from .panes.plots import PlotsPane
    from .surface_service import SurfaceService

    for which, _ in pairs:
        if which not in PLOT_NAMES:
            raise ValueError(f"--plot: choose one of {', '.join(PLOT_NAMES)}, not {which!r}")
    pg.mkQApp()
    surfaces = SurfaceService()
    plots = PlotsPane(surfaces)
    try:
        plots.resize(1400, 820)
        setup = session.setup
        objective = setup.objective()
        plots.set_setup(setup, objective, True)
        view = session.view or {}
        plots.scale.setCurrentIndex(0 if view.get("colour_scale", "log") == "log" else 1)
        h = session.history
        if h is not None and len(h):
            plots.show_history(h, True, True)
            plots.request_surface(h.x[-1] if len(setup.free) > 2 else None)
        else:
            start = session.start if session.start is not None else setup.start()
            plots.show_start(start)
            plots.response.set_theta(setup.full_theta(start))
            plots.request_surface()
        if session.restarts is not None:  # saved only with the problem they belong to
            plots.set_restarts(session.restarts)
        plots.show()
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        surfaces.ready.connect(lambda _res: QTimer.singleShot(0, loop.quit))
        timer.start(int(timeout_s * 1000))
        if plots.surface is None:
            loop.exec()
        if plots.surface is None:
            raise ValueError(f"the contour was not computed within {timeout_s:g} s")
        loop.processEvents()
        written = []
        for which, path in pairs:
            export_plot(plots, which, path)
            written.append(path)
        return written
    finally:
        plots.close()
        surfaces.shutdown()
