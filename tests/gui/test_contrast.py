"""Issue 18 #11: themes checked by numbers: every label, legend and table row on screen
has text/background contrast of at least 4.5:1 (WCAG AA), in the light and dark themes
and in presentation mode.  Measured on what is drawn: each widget is grabbed and its
text's colour (the pixel furthest from the background) is compared with the background
(the commonest colour)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel, QLineEdit, QTableView

T = 30_000
MIN_RATIO = 4.5


def _luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def contrast(image) -> float:
    """Text contrast of a grabbed QImage/QPixmap: background = commonest colour, text =
    the colour whose luminance is furthest from it."""
    img = image.toImage() if hasattr(image, "toImage") else image
    img = img.convertToFormat(img.Format.Format_RGB32)
    w, h = img.width(), img.height()
    if w == 0 or h == 0:
        return float("inf")
    a = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    a = a.reshape(h, img.bytesPerLine() // 4, 4)[:, :w, :3][..., ::-1].reshape(-1, 3)
    colours, counts = np.unique(a, axis=0, return_counts=True)
    bg = colours[np.argmax(counts)].astype(float)
    lum = _luminance(colours.astype(float))
    lb = float(_luminance(bg[None, :])[0])
    hi, lo = np.maximum(lum, lb), np.minimum(lum, lb)
    ratios = (hi + 0.05) / (lo + 0.05)
    return float(ratios.max())


def _labels(window):
    for lab in window.findChildren(QLabel):
        if lab.isVisible() and lab.text().strip() and lab.width() > 4 and lab.height() > 4:
            if lab.pixmap() is not None and not lab.pixmap().isNull():
                continue
            yield lab


def _legend_images(window):
    for view in window.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        for item in view.scene().items():
            if isinstance(item, pg.LegendItem) and item.isVisible() and item.items:
                for _sample, label in item.items:
                    if not label.isVisible() or not label.text:
                        continue
                    r = view.mapFromScene(label.sceneBoundingRect()).boundingRect()
                    yield f"legend {label.text!r}", view.grab(r)


def _table_images(window):
    for t in window.findChildren(QTableView):
        if not t.isVisible() or t.model() is None:
            continue
        m = t.model()
        for row in range(min(m.rowCount(), 6)):
            for col in range(m.columnCount()):
                text = m.data(m.index(row, col))
                if not isinstance(text, str) or not text.strip():
                    continue
                r: QRect = t.visualRect(m.index(row, col))
                if r.width() > 4 and r.height() > 4:
                    yield f"{type(t.parent()).__name__} row {row} col {col}", t.viewport().grab(r)


def _busy_window(window, qtbot):
    """Every kind of text on screen: a finished run and race, critical points, restarts,
    an invalid field with its error, a warning, the parameter table."""
    window.resize(1560, 960)  # a lecture screen (the offscreen one is 800 x 800)
    c = window.controller
    with qtbot.waitSignal(c.run_finished, timeout=T):
        window.load_experiment("vlbp")
    window.actions.race.trigger()
    window.tools["race"].race_pane.epochs.setValue(300)
    window.tools["race"].start_race()
    qtbot.waitUntil(lambda: c.race is not None and not c.racing, timeout=T)
    window.actions.critical.trigger()
    qtbot.waitUntil(lambda: window.tools["critical"].critical_result is not None, timeout=T)
    window.left_tabs.setCurrentIndex(1)  # the optimizer form, with an invalid field
    window.optimizer_pane.epochs.setText("-3")
    window.optimizer_pane.epochs.editingFinished.emit()
    window.network_pane.set_data_warning("a warning under the data")
    window.show_message("an error in the status bar", error=True)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("presentation", [False, True])
def test_every_text_on_screen_is_legible(window, qtbot, theme, presentation):
    _busy_window(window, qtbot)
    window.view.set_theme(theme)
    if presentation:
        window.view.set_presentation(True)
        window.actions.race.trigger()  # a dock shown in presentation mode too
    qtbot.wait(200)
    bad = []
    for lab in _labels(window):
        r = contrast(lab.grab())
        if r < MIN_RATIO:
            bad.append((f"label {lab.text()[:40]!r}", round(r, 2)))
    invalid = [w for w in window.findChildren(QLineEdit) if w.property("invalid")]
    invalid = [w for w in invalid if w.isVisible()]
    assert invalid or presentation  # the setup dock is hidden in presentation mode
    for w in invalid:
        r = contrast(w.grab())
        if r < MIN_RATIO:
            bad.append((f"invalid field {w.text()!r}", round(r, 2)))
    for name, img in (*_legend_images(window), *_table_images(window)):
        r = contrast(img)
        if r < MIN_RATIO:
            bad.append((name, round(r, 2)))
    if presentation:
        window.view.set_presentation(False)
    assert not bad, bad
