"""Screenshots of the Landscape tab (issue 22) for the README and the guide.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_landscape.py

(``make screenshots`` runs it.)  Writes ``docs/screenshots/edge-of-stability.png`` (the
edge-of-stability experiment: the sharpness along the run beside 2/lr and the loss) and
``docs/screenshots/landscape-pca.png`` (the spiral network's PCA plane with its
trajectory), and prints what the sharpness did.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shot_window import picture_window, wait

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    win = picture_window(1400, 860)

    tool = win.tools["landscape"]
    win.load_experiment("edge-of-stability")
    wait(lambda: win.controller.state == "idle" and win.controller.history is not None, 120)
    wait(lambda: False, 0.5)
    tool.sync_sharpness()
    wait(lambda: False, 0.3)
    ep, val = win.controller.sharpness.arrays()
    late = val[len(val) // 2 :]
    print(f"edge of stability: {len(ep)} samples, lambda_max {val[0]:.1f} at epoch 0, "
          f"peak {val.max():.1f}, second half {late.mean():.1f} +- {late.std():.1f} "
          "(2/lr = 40)")  # fmt: skip
    win.grab().save(str(OUT / "edge-of-stability.png"))

    win.document.modified = False
    win.load_experiment("spiral-deep")
    wait(lambda: win.controller.state == "idle" and win.controller.history is not None, 120)
    tool.show_tab()
    tool.pane.page.setCurrentIndex(0)
    tool.pane.mode.setCurrentIndex(1)  # the PCA plane
    tool.compute()
    wait(lambda: not tool.runner.busy and tool.view is not None, 120)
    wait(lambda: False, 0.5)
    print(f"PCA plane: {tool.view.axis_labels()}")
    win.grab().save(str(OUT / "landscape-pca.png"))
    win.document.modified = False
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
