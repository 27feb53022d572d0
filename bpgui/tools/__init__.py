"""Tools: each one a component given the window (its document, model and compute
service) as its host; see :mod:`bpgui.tools.base`.

:data:`TOOLS` is the registration: the window makes one of each, in this order (which is
also the order they hear the host's signals in), and knows nothing else about them.
Adding a tool is adding a module and one line here."""

from __future__ import annotations

from bpgui.tools.animation import AnimationTool
from bpgui.tools.checks import GradcheckTool, RestartsTool
from bpgui.tools.critical import CriticalTool
from bpgui.tools.explain import ExplainTool
from bpgui.tools.help_menu import HelpTool
from bpgui.tools.inspector import InspectorTool
from bpgui.tools.landscape import LandscapeTool
from bpgui.tools.maps import MapsTool
from bpgui.tools.race import RaceTool
from bpgui.tools.replay import ReplayController

TOOLS = (
    HelpTool,
    RestartsTool,
    GradcheckTool,
    RaceTool,
    MapsTool,
    ReplayController,
    CriticalTool,
    ExplainTool,
    InspectorTool,
    LandscapeTool,
    AnimationTool,
)
