"""What the network computes, under the error curves: its response (a function fit) or,
for data in the plane, its decision map as a second tab (shown, and given more room,
only while the data is in the plane)."""

from __future__ import annotations

from PySide6.QtWidgets import QSplitter, QTabWidget

from bpgui.plots.decision import DecisionPlot
from bpgui.plots.response import ResponsePlot


class OutputTabs(QTabWidget):
    def __init__(self, response: ResponsePlot, decision: DecisionPlot) -> None:
        super().__init__()
        self.response, self.decision = response, decision
        self.setTabBarAutoHide(True)  # one page (no data in the plane): no tabs
        self.addTab(response, "Response")
        decision.hide()  # a page only while the data is in the plane
        self.presenting = False

    def set_problem(self, setup, splitter: QSplitter) -> None:
        """The decision map of ``setup``; a change into or out of the plane adds or
        removes its tab and shares ``splitter`` (curves above, this below) anew."""
        was = self.decision.active
        self.decision.set_problem(setup)
        self.decision.set_theta(setup.theta_array)
        if self.decision.active == was:
            return
        if self.decision.active:
            self.addTab(self.decision, "Decision map")
            self.setCurrentWidget(self.decision)
        else:
            self.removeTab(self.indexOf(self.decision))
            self.decision.hide()
        self.set_presentation(self.presenting)
        share = (4, 5) if self.decision.active else (5, 3)  # the map gets room
        total = sum(splitter.sizes()) or 800
        splitter.setSizes([total * share[0] // 9, total * share[1] // 9])

    def set_presentation(self, on: bool) -> None:
        """In presentation mode the response gives its room to the curves; a decision
        map (data in the plane) stays."""
        self.presenting = on
        self.setVisible(not on or self.decision.active)
