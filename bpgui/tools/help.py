"""Help: the user guide that ships with the app (Markdown pages in ``bpgui/guide``, two of
them generated so they cannot drift: the experiments and the keyboard shortcuts), the
shortcuts list, and About with the versions of everything that matters."""

from __future__ import annotations

import platform
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from bpgui_engine.model.experiments import EXPERIMENTS

GUIDE = Path(__file__).resolve().parents[1] / "guide"
PAGES = (
    ("index.md", "Contents"),
    ("start.md", "Getting started"),
    ("plots.md", "The contour and the plots"),
    ("network.md", "Network & data"),
    ("plane.md", "Classification in the plane"),
    ("landscape.md", "Landscapes, spectra and the sharpness"),
    ("optimizer.md", "Optimizer"),
    ("experiments.md", "Experiments"),
    ("tools.md", "Tools"),
    ("sessions.md", "Sessions and exports"),
    ("shortcuts.md", "Keyboard shortcuts"),
)


def experiments_page() -> str:
    lines = [
        "# Experiments",
        "",
        "The seed texts' experiments, one click each in the Experiments menu. Each sets "
        "the network, data, free parameters, axes, ranges, optimizer and start point, "
        "and runs.",
        "",
    ]
    for e in EXPERIMENTS.values():
        lines += [f"## {e.title}", "", e.description.replace("\n\n", "\n\n"), ""]
    lines.append("[Back to the guide](index.md)")
    return "\n".join(lines)


# keys that are not menu actions
EXTRA_SHORTCUTS = [
    ("Ctrl+Left / Ctrl+Right", "replay: one epoch back / on"),
    ("Ctrl+Shift+Left / Ctrl+Shift+Right", "replay: a hundredth of the run back / on"),
]


def shortcut_rows(actions) -> list[tuple[str, str]]:
    """(keys, what) for every action that has a shortcut, in menu order."""
    out = []
    for a in actions.all():
        keys = a.shortcut().toString()
        if keys:
            text = a.text().replace("&", "").rstrip("…")
            if keys == "Space":  # its text follows the run: say everything it does
                text = "start, pause, resume or continue (the Start button says which)"
            out.append((keys, text))
    return out


def shortcuts_page(actions) -> str:
    rows = shortcut_rows(actions) + EXTRA_SHORTCUTS
    lines = ["# Keyboard shortcuts", "", "| keys | action |", "|---|---|"]
    lines += [f"| {k} | {t} |" for k, t in rows]
    lines += ["", "[Back to the guide](index.md)"]
    return "\n".join(lines)


class GuideBrowser(QTextBrowser):
    """Renders the guide's Markdown pages; the generated ones come from code."""

    def __init__(self, actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actions = actions
        self.setSearchPaths([str(GUIDE)])
        self.setOpenExternalLinks(True)

    def scroll_to_section(self, page: str, anchor: str) -> bool:
        """Scroll to the heading that follows ``<a name="anchor">`` in ``page``'s Markdown
        (Qt's Markdown reader drops raw HTML, and with it every such anchor)."""
        try:
            lines = (GUIDE / page).read_text(encoding="utf-8").splitlines()
        except OSError:
            return False
        tag = f'<a name="{anchor}"></a>'
        heading = None
        for i, line in enumerate(lines):
            if tag in line:
                heading = next((t.lstrip("#").strip() for t in lines[i:] if t.startswith("#")),
                               None)  # fmt: skip
                break
        if heading is None:
            return False
        doc = self.document()
        block = doc.begin()
        while block.isValid():
            if block.text().strip() == heading:
                y = doc.documentLayout().blockBoundingRect(block).top()
                self.verticalScrollBar().setValue(int(y))
                return True
            block = block.next()
        return False

    def loadResource(self, kind: int, url: QUrl):
        name = url.fileName() or url.path().rsplit("/", 1)[-1]
        if name == "experiments.md":
            return experiments_page()
        if name == "shortcuts.md":
            return shortcuts_page(self.actions)
        return super().loadResource(kind, url)


class GuideWindow(QDialog):
    """Help ▸ User guide: the page list on the left, the page on the right."""

    def __init__(self, actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("bpgui user guide")
        self.resize(960, 720)
        self.pages = QListWidget()
        for _, title in PAGES:
            self.pages.addItem(title)
        self.pages.setMaximumWidth(220)
        self.browser = GuideBrowser(actions)
        self.browser.sourceChanged.connect(self._source_changed)
        self.pages.currentRowChanged.connect(self._page_chosen)
        row = QHBoxLayout()
        row.addWidget(self.pages)
        row.addWidget(self.browser, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.close)
        lay.addWidget(box)
        self.show_page("index.md")

    def show_page(self, page: str, anchor: str = "") -> None:
        url = QUrl(page if not anchor else f"{page}#{anchor}")
        self.browser.setSource(url, QTextDocument.ResourceType.MarkdownResource)
        if anchor and not self.browser.scroll_to_section(page, anchor):
            self.browser.scrollToAnchor(anchor)

    def _page_chosen(self, row: int) -> None:
        if 0 <= row < len(PAGES) and self._current() != PAGES[row][0]:
            self.show_page(PAGES[row][0])

    def _current(self) -> str:
        return self.browser.source().fileName()

    def _source_changed(self, url: QUrl) -> None:
        if url.fragment():  # a link inside the guide to a section (see scroll_to_section)
            self.browser.scroll_to_section(url.fileName(), url.fragment())
        names = [p for p, _ in PAGES]
        if url.fileName() in names:
            self.pages.blockSignals(True)
            self.pages.setCurrentRow(names.index(url.fileName()))
            self.pages.blockSignals(False)


def versions() -> dict[str, str]:
    import numpy
    import pyqtgraph
    import PySide6
    from PySide6.QtCore import qVersion

    out = {
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
        "NumPy": numpy.__version__,
    }
    try:  # the compute processes' numba, read without importing it into the window
        from importlib.metadata import version

        out["numba"] = version("numba")
    except Exception:
        out["numba"] = "not available (the NumPy engine runs)"
    try:
        from importlib.metadata import version

        out["bpgui"] = version("bpgui")
    except Exception:
        out["bpgui"] = "from source"
    return out


def about(parent: QWidget) -> QMessageBox:
    text = "\n".join(f"{k}: {v}" for k, v in versions().items())
    box = QMessageBox(parent)
    box.setWindowTitle("About bpgui")
    box.setText(
        "bpgui: watch backpropagation train a neural network.\n"
        "Based on Hagan et al., Neural Network Design, chapter 12."
    )
    box.setInformativeText(text)
    box.open()
    return box
