"""The main window's Help menu: the user guide, the keyboard shortcuts, About."""

from __future__ import annotations

from bpgui.tools.help import GuideWindow, about


class HelpMixin:
    """Part of :class:`~bpgui.window.main.MainWindow`."""

    def show_guide(self, page: str = "index.md", anchor: str = "") -> GuideWindow:
        """Help ▸ User guide (F1), opened at ``page`` (and ``anchor``)."""
        if getattr(self, "guide_window", None) is None:
            self.guide_window = GuideWindow(self.actions, self)
        self.guide_window.show_page(page, anchor)
        self.guide_window.show()
        self.guide_window.raise_()
        return self.guide_window

    def show_shortcuts(self) -> GuideWindow:
        return self.show_guide("shortcuts.md")

    def _about(self) -> None:
        self.about_box = about(self)
