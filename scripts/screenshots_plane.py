"""Screenshots of the classification experiments (Experiments ▸ Classification in the
plane) for the README: each experiment run to its end, then the window grabbed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_plane.py [KEY ...]

(``make screenshots`` runs it after ``scripts/screenshots.py``.)  Writes
``docs/screenshots/plane-<key>.png`` (the diagram with every neuron's map beside the
curves and the decision map), ``docs/screenshots/plane.png`` (the whole window on the
spiral) and prints each run's accuracies.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QImage, QPainter, QPalette

from bpgui_engine.model.experiments import EXPERIMENTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shot_window import picture_window, wait

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


FULL = "spiral-deep"  # also grabbed whole, as docs/screenshots/plane.png


def _composite(win) -> QImage:
    """The diagram with the neurons' maps beside the curves and the decision map."""
    left = win.network_pane.diagram.grab()
    right = win.plots.right.grab()
    h = max(left.height(), right.height())
    img = QImage(left.width() + right.width() + 8, h, QImage.Format.Format_RGB32)
    img.fill(win.palette().color(QPalette.ColorRole.Window))
    p = QPainter(img)
    p.drawPixmap(0, (h - left.height()) // 2, left)
    p.drawPixmap(left.width() + 8, 0, right)
    p.end()
    return img


def main(keys: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    win = picture_window(1400, 860)

    keys = keys or [k for k, e in EXPERIMENTS.items() if e.group == "plane"]
    for key in keys:
        win.document.modified = False
        win.load_experiment(key)
        wait(lambda: win.controller.state == "idle" and win.controller.history is not None, 120)
        wait(lambda: win.plots.surface is not None and not win.surfaces.busy, 60)  # the slice
        wait(lambda: False, 0.3)
        # the diagram (with the neurons' maps) in view in the setup panel
        win.network_pane.diagram.setMinimumHeight(300)
        scroll = win.network_pane.diagram.parentWidget()
        while scroll is not None and not hasattr(scroll, "ensureWidgetVisible"):
            scroll = scroll.parentWidget()
        if scroll is not None:
            scroll.ensureWidgetVisible(win.network_pane.diagram)
        wait(lambda: False, 0.3)
        path = OUT / f"plane-{key}.png"
        if key == FULL:  # the whole window once
            win.grab().save(str(OUT / "plane.png"))
        _composite(win).save(str(path))
        last = win.plots.accuracy.track.latest() or {}
        acc = ", ".join(f"{k} {100 * v:.1f} %" for k, v in last.items() if k.endswith("acc"))
        print(f"wrote {path.relative_to(OUT.parents[1])}: {acc}")
    win.document.modified = False
    win.close()
    wait(lambda: False, 0.05)  # the close handled
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
