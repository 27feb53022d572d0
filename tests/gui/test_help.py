"""Help: the user guide ships with the app and opens from the Help menu; the shortcuts
page lists every shortcut; About names the versions (issue 14 #4)."""

from __future__ import annotations

import pyqtgraph
from PySide6.QtCore import qVersion

from bpgui.tools.help import GUIDE, PAGES
from bpgui_engine.model.experiments import EXPERIMENTS


def test_every_guide_page_and_image_ships_with_the_package():
    for page, _ in PAGES:
        if page not in ("experiments.md", "shortcuts.md"):  # generated
            assert (GUIDE / page).is_file(), page
    for md in GUIDE.glob("*.md"):
        for part in md.read_text(encoding="utf-8").split("](")[1:]:
            target = part.split(")", 1)[0].split("#", 1)[0]
            if target and not target.startswith("http"):
                assert (GUIDE / target).exists() or target in dict(PAGES), (md.name, target)


def test_f1_opens_the_guide_and_its_pages_render(window, qtbot):
    window.actions.guide.trigger()
    g = window.tools["help"].guide_window
    qtbot.waitUntil(g.isVisible, timeout=5000)
    assert "bpgui user guide" in g.browser.toPlainText()
    for row, (_page, title) in enumerate(PAGES):
        g.pages.setCurrentRow(row)
        text = g.browser.toPlainText()
        assert text.strip(), title
    g.show_page("experiments.md")
    text = g.browser.toPlainText()
    for e in EXPERIMENTS.values():
        assert e.title in text
        assert "What to look for" in text
    g.close()


def test_the_shortcuts_page_lists_every_shortcut(window, qtbot):
    window.actions.shortcuts.trigger()
    text = window.tools["help"].guide_window.browser.toPlainText()
    for a in window.actions.all():
        keys = a.shortcut().toString()
        if keys:
            assert keys in text, keys
    assert "Ctrl+Shift+C" in text and "Space" in text and "F1" in text
    window.tools["help"].guide_window.close()


def test_the_optimizer_form_links_to_its_explanation(window, qtbot):
    pane = window.optimizer_pane
    link = pane.about_link
    assert "optimizer.md#sd" in link.text()
    pane._help_link("optimizer.md#sd")  # what a click on the link does
    qtbot.waitUntil(lambda: window.tools["help"].guide_window.isVisible(), timeout=5000)
    assert "Steepest descent" in window.tools["help"].guide_window.browser.toPlainText()
    window.tools["help"].guide_window.close()


def test_about_names_the_versions(window):
    window.actions.about.trigger()
    text = window.tools["help"].about_box.informativeText()
    assert qVersion() in text and pyqtgraph.__version__ in text and "NumPy" in text
    window.tools["help"].about_box.close()


def test_about_links_open_the_guide_at_the_methods_section(window, qtbot):
    """The optimizer form's "About …" link opens the Optimizer page at the method's own
    section (Qt's Markdown reader drops the pages' <a name> anchors: the heading after
    each is found instead)."""
    from bpgui.tools.help import GuideWindow

    g = GuideWindow(window.actions)
    qtbot.addWidget(g)
    g.show()
    tops = {}
    for name, heading in (("rprop", "Resilient backpropagation — rprop"),
                          ("lbfgs", "BFGS — bfgs, L-BFGS — lbfgs, one-step secant — oss"),
                          ("momentum", "Momentum — momentum")):  # fmt: skip
        g.show_page("optimizer.md", name)
        bar = g.browser.verticalScrollBar()
        assert bar.value() > 0 or bar.maximum() == 0
        tops[name] = bar.value()
        doc = g.browser.document()
        block = doc.begin()
        while block.isValid() and block.text().strip() != heading:
            block = block.next()
        assert block.isValid(), heading
        y = doc.documentLayout().blockBoundingRect(block).top()
        assert abs(bar.value() - min(int(y), bar.maximum())) <= 1
    assert tops["momentum"] < tops["rprop"] <= tops["lbfgs"]
