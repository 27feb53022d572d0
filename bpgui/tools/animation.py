"""File ▸ Export ▸ Animation (GIF/MP4) as a tool: the menu entry, the dialog
(:mod:`bpgui.export.animation_dialog`, one per window, reused) and stopping its encoding
when the window closes."""

from __future__ import annotations

from PySide6.QtGui import QAction

from bpgui.export.animation_dialog import show_animation_dialog
from bpgui.tools.base import Tool


class AnimationTool(Tool):
    """File ▸ Export ▸ Animation (GIF/MP4)…"""

    name = "animation"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.action = QAction("&Animation (GIF/MP4)…", self)
        self.action.setToolTip(
            "the run on the contour, with the error curve, as a GIF or MP4 for slides"
        )
        self.action.triggered.connect(lambda _=False: self.show())
        host.closing.connect(self._closing)

    def menu_actions(self, menu: str) -> list[QAction]:
        return [self.action] if menu == "export" else []

    def show(self):
        return show_animation_dialog(self.host)

    @property
    def dialog(self):
        """The dialog (None until it was first opened)."""
        return getattr(self.host, "_animation_dialog", None)

    def _closing(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()
