"""The Help menu as a tool: the user guide (F1, and the optimizer form's help links), the
keyboard shortcuts, About."""

from __future__ import annotations

from bpgui.tools.base import Tool
from bpgui.tools.help import GuideWindow, about


class HelpTool(Tool):
    """Help ▸ User guide, Keyboard shortcuts, About."""

    name = "help"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.guide_window: GuideWindow | None = None
        self.about_box = None
        a = host.actions
        a.about.triggered.connect(self._about)
        a.guide.triggered.connect(lambda: self.show_guide())
        a.shortcuts.triggered.connect(self.show_shortcuts)
        host.optimizer_pane.help_requested.connect(self.show_guide)

    def show_guide(self, page: str = "index.md", anchor: str = "") -> GuideWindow:
        """Help ▸ User guide (F1), opened at ``page`` (and ``anchor``)."""
        if self.guide_window is None:
            self.guide_window = GuideWindow(self.host.actions, self.host)
        self.guide_window.show_page(page, anchor)
        self.guide_window.show()
        self.guide_window.raise_()
        return self.guide_window

    def show_shortcuts(self) -> GuideWindow:
        return self.show_guide("shortcuts.md")

    def _about(self) -> None:
        self.about_box = about(self.host)
