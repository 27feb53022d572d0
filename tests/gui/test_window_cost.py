"""What each new window costs the application (issue 20: the suite's windows each made the
next one slower): no restyle of every widget unless the theme changes, one wheel filter per
application, and no field's error label left behind by a closed window."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from bpgui.widgets.fields import ErrorLabel, WheelGuard
from bpgui.window.main import MainWindow


def test_a_new_window_does_not_restyle_the_application(qtbot, monkeypatch):
    first = MainWindow()
    qtbot.addWidget(first)
    calls = []
    original = QApplication.setStyleSheet
    monkeypatch.setattr(QApplication, "setStyleSheet",
                        lambda app, css: (calls.append(css), original(app, css))[1])  # fmt: skip
    second = MainWindow()
    qtbot.addWidget(second)
    assert calls == []  # the same theme: nothing to re-polish
    current = first.view.theme_choice
    second.view.set_theme("dark" if current == "light" else "light")
    assert len(calls) == 1  # a real change restyles, once
    app = QApplication.instance()
    assert sum(isinstance(o, WheelGuard) for o in app.children()) == 1


def test_a_closed_window_leaves_no_error_label_behind(qtbot):
    def labels():
        for _ in range(2):  # what earlier windows left to delete first
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        return sum(isinstance(w, ErrorLabel) for w in QApplication.topLevelWidgets())

    before = labels()
    win = MainWindow()
    win.show()
    win.document.modified = False
    win.close()
    win.deleteLater()
    assert labels() == before
