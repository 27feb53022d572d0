"""Tools ▸ Inspect backprop (issue 13): one sample's forward and backward passes at the
current point (the run's last epoch, else the start point), redrawn on every
``refreshed`` and on the slow frames while training, while its dock is visible."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from bpgui.tools.base import Tool


class InspectorTool(Tool):
    """Tools ▸ Inspect backprop."""

    name = "inspector"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.inspector_pane = None
        self.inspector_dock: QDockWidget | None = None
        host.actions.inspect.triggered.connect(self.show_inspector)
        host.refreshed.connect(self.sync_inspector)
        host.shown_changed.connect(self.sync_inspector)
        host.slow_frame.connect(self.sync_inspector)

    def show_inspector(self) -> None:
        """Tools ▸ Inspect backprop: one sample's passes at the current point."""
        if self.inspector_pane is None:
            from bpgui.panes.inspector import InspectorPane

            pane = self.inspector_pane = InspectorPane()
            self.inspector_dock = self.make_dock(
                "Backprop inspector", "inspector-dock", pane, Qt.DockWidgetArea.BottomDockWidgetArea
            )
            pane.sample_changed.connect(lambda _q: self.sync_inspector())
            self.inspector_dock.visibilityChanged.connect(lambda _v: self.sync_inspector())
        self.show_dock(self.inspector_dock, tall=True)
        self.sync_inspector()

    def sync_inspector(self) -> None:
        pane = self.inspector_pane
        if pane is None or not self.inspector_dock.isVisible():
            return
        from bpgui_engine.analysis.inspect import inspect_sample

        host = self.host
        s, obj = host.setup, host.objective
        pane.set_samples(obj.data.n_samples)
        q = pane.sample.value() - 1
        x = host.runs.current_point()
        _name, _hyper, epoch = host.runs.run_context()
        where = "the start point" if epoch is None else f"epoch {epoch:,}"
        try:
            with np.errstate(all="ignore"):
                ins = inspect_sample(obj, x, q)
        except Exception as exc:  # a point the network cannot evaluate: say so
            pane.show_inspection(None, s.spec, message=f"undefined at {where}: {exc}")
            return
        pane.show_inspection(ins, s.spec, s.full_theta(x), s.free_idx, where)
