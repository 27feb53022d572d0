"""Plots to PNG or SVG, from the window (File > Export) or headless (``bpgui export
--plot``), through pyqtgraph's exporters.  Files are written beside the target and renamed
into place by :func:`bpgui_engine.safe_write.replacing`, so a failed export never leaves half a
file, a device or FIFO is never replaced and a symlink is written through."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bpgui_engine.safe_write import landed, replacing

log = logging.getLogger(__name__)
PLOT_NAMES = ("contour", "curves", "response", "decision")


def _widget(plots, which: str):
    return {
        "contour": plots.contour.widget,
        "curves": plots.curves.glw,
        "response": plots.response.widget,
        "decision": plots.decision.widget,
    }[which]


def _svg(widget, title: str) -> bytes:
    """The widget painted into Qt's SVG generator, in memory: lines and text stay vectors
    (the contour image is embedded).  pyqtgraph 0.14's SVGExporter fails on Qt 6.11's path
    syntax (pyqtgraph issue #3485), so it is not used."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    size = widget.size()
    gen.setSize(size)
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setDescription("exported by bpgui")
    painter = QPainter(gen)
    try:
        widget.render(painter)
    finally:
        ok = painter.end()
    buf.close()
    if not ok:
        raise OSError("the SVG writer failed")
    return bytes(data.data())


def _png(item) -> bytes:
    """The plot through pyqtgraph's image exporter (at least 1200 pixels wide: sharp in
    a report), encoded in memory."""
    import pyqtgraph.exporters as ex
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    exporter = ex.ImageExporter(item)
    if int(exporter.parameters()["width"]) < 1200:
        exporter.parameters()["width"] = 1200
    image = exporter.export(toBytes=True)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buf, "PNG")
    buf.close()
    if not ok:
        raise OSError("the PNG encoder failed")
    return bytes(data.data())


def _item(plots, which: str):
    if which == "contour":
        return plots.contour.plot_item  # image, isolines, paths and the colour bar
    if which == "curves":
        return plots.curves.glw.scene()  # SSE and gradient/lr panels together
    if which == "response":
        return plots.response.plot
    if which == "decision":  # the map and its points
        if not plots.decision.active:
            raise ValueError("plot: the decision map needs data in the plane (two inputs)")
        return plots.decision.plot
    raise ValueError(f"plot: choose one of {', '.join(PLOT_NAMES)}, not {which!r}")


def export_plot(plots, which: str, path: str | os.PathLike) -> None:
    """Write plot ``which`` of the plots pane ``plots`` to ``path`` (.png or .svg)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"plot: the file name must end in .png or .svg, not {path.name!r}")
    item = _item(plots, which)
    try:  # encoded in memory: Qt's and libpng's own messages never reach the terminal
        data = _png(item) if ext == ".png" else _svg(_widget(plots, which), f"bpgui {which}")
    except OSError as exc:
        raise OSError(f"cannot write {path}: {exc}") from None
    _check_image(data, ext, path)
    # the target resolved (symlinks followed, only a regular file replaced, its mode
    # kept), a temporary file beside it, renamed only once every byte landed
    with replacing(path, suffix=ext) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
        landed(tmp, len(data), path)


def _check_image(data: bytes, ext: str, path: Path) -> None:
    """The encoded image must read back as a whole image."""
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    if ext == ".png":
        ok = bool(data) and not QImage.fromData(data, "PNG").isNull()
    else:
        ok = bool(data) and QSvgRenderer(QByteArray(data)).isValid()
    if not ok:
        raise OSError(f"cannot write {path}: the {ext[1:].upper()} encoded does not read back")


def export_plots(session, pairs: list[tuple[str, str]], timeout_s: float = 60.0) -> list[str]:
    """Headless: draw ``session`` in an offscreen plots pane (no main window), wait for
    its contour, export each ``(which, path)``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler

    # headless: Qt's platform chatter ("This plugin does not support ...") goes to the
    # log, not to stderr, where the command's one line is the whole message
    qInstallMessageHandler(lambda _mode, _ctx, msg: log.debug("Qt: %s", msg))

    from bpgui.panes.plots import PlotsPane
    from bpgui.service.surfaces import SurfaceService

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
            if session.run is not None:  # a run saved without its history: where it is
                plots.decision.set_theta(setup.full_theta(session.run.x))
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
