"""Screenshots of the methods added in issue 23 for the README and the guide: each method
trained from (−4, −4) on the book's slice for a few epochs, the update vectors and the
equations panel on, the contour grabbed; all of them in one grid image.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_optimizers.py

Writes ``docs/screenshots/optimizers-family.png`` and prints each method's SSE there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPalette

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shot_window import picture_window, wait

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
METHODS = (("rprop", 12), ("quickprop", 6), ("nesterov", 40), ("rmsprop", 60),
           ("adagrad", 60), ("adamw", 20), ("scg", 8), ("bfgs", 8), ("lbfgs", 8),
           ("oss", 12), ("br", 4), ("cg", 4))  # fmt: skip


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    win = picture_window(1400, 900)

    wait(lambda: win.plots.surface is not None, 30)
    win.actions.vectors.setChecked(True)  # the update vectors at the current point
    tiles = []
    for name, epochs in METHODS:
        hyper = {"powell": "on"} if name == "cg" else {}
        s = win.setup
        win.apply_setup(s.replace(optimizer=name, hyper=hyper,
                                  criteria=s.criteria.__class__(epochs=epochs)))  # fmt: skip
        win.runs.start_at(-4.0, -4.0)
        wait(lambda: win.controller.state == "idle" and win.controller.history is not None, 60)
        wait(lambda: False, 0.4)
        win.refresh()
        wait(lambda: False, 0.4)
        h = win.controller.history
        print(f"{name}: SSE {h.column('sse')[-1]:.4g} after {len(h) - 1} epochs")
        img = win.plots.contour.grab().toImage()
        img = img.scaledToWidth(520, Qt.TransformationMode.SmoothTransformation)
        p = QPainter(img)
        p.setPen(Qt.GlobalColor.white)
        f = p.font()
        f.setPointSize(16)
        f.setBold(True)
        p.setFont(f)
        label = "cg (Powell restarts)" if name == "cg" else name
        p.drawText(img.width() - 340, img.height() - 80, f"{label}: {len(h) - 1} epochs")
        p.end()
        tiles.append(img)
        win.document.modified = False
    cols = 3
    w, h = tiles[0].width(), tiles[0].height()
    rows = (len(tiles) + cols - 1) // cols
    grid = QImage(cols * w, rows * h, QImage.Format.Format_RGB32)
    grid.fill(win.palette().color(QPalette.ColorRole.Window))
    p = QPainter(grid)
    for k, t in enumerate(tiles):
        p.drawImage((k % cols) * w, (k // cols) * h, t)
    p.end()
    grid.save(str(OUT / "optimizers-family.png"))
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
