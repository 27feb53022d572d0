"""Every QAction in one place: text, shortcut, tooltip."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QWidget

# name: (text, shortcut, tooltip, standard icon); the toolbar shows the text's first word
SPECS = {
    "new": ("&New session", "Ctrl+N", "a new session on the book's problem", "SP_FileIcon"),
    "open": ("&Open session…", "Ctrl+O", "open a saved .bpgui session", "SP_DialogOpenButton"),
    "save": (
        "&Save session",
        "Ctrl+S",
        "save the session (settings, run, history)",
        "SP_DialogSaveButton",
    ),
    "save_as": (
        "Save session &as…",
        "Ctrl+Shift+S",
        "save the session under a new name",
        "SP_DialogSaveButton",
    ),
    "save_lighter": (
        "Save a &lighter copy…",
        "",
        "a small copy for handing out: the history thinned (each stretch's lowest and "
        "highest values kept, the path exact where kept), the run's state whole, so it "
        "still continues exactly",
        "SP_DialogSaveButton",
    ),
    "start": (
        "&Start / Resume",
        "Space",
        "start training from the start point, or resume",
        "SP_MediaPlay",
    ),
    "pause": ("&Pause", "", "pause training (Space toggles)", "SP_MediaPause"),
    "step": (
        "Step one &epoch",
        "Right",
        "train exactly one epoch, then pause",
        "SP_MediaSeekForward",
    ),
    "stop": ("S&top", "Esc", "stop the run (it can be continued with Start)", "SP_MediaStop"),
    "reset": (
        "&Reset to start",
        "Ctrl+R",
        "back to the start point with the same initial weights",
        "SP_BrowserReload",
    ),
    "clear": (
        "&Clear earlier runs",
        "Ctrl+L",
        "remove the faint paths and curves of earlier runs",
        "SP_DialogResetButton",
    ),
    "fit": (
        "&Fit contour to trajectory",
        "Ctrl+F",
        "set the contour ranges around the current path",
        "SP_FileDialogContentsView",
    ),
    "reslice": (
        "Re&draw contour here",
        "Ctrl+D",
        "redraw the contour through the current parameters",
        "SP_BrowserReload",
    ),
    "gradcheck": (
        "&Gradient check",
        "Ctrl+G",
        "compare backprop with finite differences at the current point",
        "SP_DialogApplyButton",
    ),
    "restarts": (
        "Random &restarts…",
        "Ctrl+Shift+R",
        "train from many seeded random starts and compare",
        "SP_ArrowRight",
    ),
    "race": (
        "Optimizer &race…",
        "Ctrl+Shift+C",
        "race several optimizers from the current start point on the same epoch clock",
        "SP_MediaSeekForward",
    ),
    "basins": (
        "&Basin map…",
        "Ctrl+Shift+B",
        "train from every cell of a grid over the contour: which minimum does each reach?",
        "SP_FileDialogDetailedView",
    ),
    "sweep": (
        "Hyperparameter s&weep…",
        "Ctrl+Shift+W",
        "train with every pair of two hyperparameters' values: which settings converge?",
        "SP_FileDialogListView",
    ),
    "quit": ("&Quit", "Ctrl+Q", "close the window", "SP_DialogCloseButton"),
    "critical": (
        "Find &critical points…",
        "Ctrl+Shift+K",
        "the minima, saddles and maxima of the contour's slice, classified by the Hessian",
        "SP_FileDialogContentsView",
    ),
    "landscape": (
        "&Landscape and spectrum…",
        "Ctrl+Shift+L",
        "the loss landscape of any network (random or PCA directions, a line), the "
        "Hessian's spectrum and the sharpness along the run",
        "SP_FileDialogInfoView",
    ),
    "inspect": (
        "&Inspect backprop…",
        "Ctrl+Shift+I",
        "the forward and backward pass for one sample, layer by layer, with the numbers",
        "SP_FileDialogDetailedView",
    ),
    "vectors": (
        "&Update vectors",
        "Ctrl+Shift+U",
        "arrows at the current point: negative gradient, the step taken, momentum, CG, LM",
        "SP_ArrowRight",
    ),
    "explain": (
        "Curvature and &equations",
        "Ctrl+Shift+E",
        "the Hessian at the current point live, and the optimizer's update rule with numbers",
        "SP_MessageBoxInformation",
    ),
    "presentation": (
        "&Presentation mode",
        "F11",
        "large fonts, thick lines, full screen, secondary panels hidden (F11 again to leave)",
        "SP_TitleBarMaxButton",
    ),
    "reset_layout": (
        "Reset &layout",
        "",
        "the window, docks and splitters as on a fresh install",
        "SP_DialogResetButton",
    ),
    "guide": ("&User guide", "F1", "the guide to every pane and tool", "SP_DialogHelpButton"),
    "shortcuts": (
        "&Keyboard shortcuts",
        "Ctrl+/",
        "every keyboard shortcut",
        "SP_FileDialogInfoView",
    ),
    "about": (
        "&About bpgui",
        "",
        "what this is, and the versions it runs on",
        "SP_MessageBoxInformation",
    ),
}


class Actions:
    """Creates the actions with ``parent`` as owner; access them as attributes."""

    def __init__(self, parent: QWidget) -> None:
        style = parent.style()
        for name, (text, key, tip, icon) in SPECS.items():
            a = QAction(text, parent)
            if key:
                a.setShortcut(QKeySequence(key))
                tip = f"{tip} ({key})"
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, icon)))
            short = text.replace("&", "").split(" /")[0].replace("…", "")
            if name in ("new", "open", "save", "save_as"):
                short = short.split()[0]  # "Open", "Save": the toolbar stays narrow
            a.setIconText(short)
            setattr(self, name, a)

    def all(self) -> list[QAction]:
        return [getattr(self, n) for n in SPECS]
