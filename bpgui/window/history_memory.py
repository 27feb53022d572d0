"""Run ▸ History memory…: the budget a run's history keeps within (issue 24).

Past the budget a history thins its middle instead of growing
(:mod:`bpgui_engine.train.thinning`); the run itself always goes on exactly.  The setting is
remembered (``history/budget`` in bpgui's settings, as typed: ``512M``, ``2G``); empty
means the default, the smaller of 2 GiB and a quarter of physical memory.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit

from bpgui_engine.memory import fmt_bytes, fmt_count, history_budget, history_rows, parse_size

KEY = "history/budget"


def load_setting(win) -> None:
    """The remembered budget into the controller (a bad value: the default, said once)."""
    text = win.settings.get_str(KEY, "")
    win.controller.history_setting = None
    if text:
        try:
            win.controller.history_setting = parse_size(text)
        except ValueError:
            win.settings.remove(KEY)
            win.show_message(f"history memory: {text!r} is not a size; using the default")


def describe(win) -> str:
    """What the budget is and what it holds for the network on screen."""
    budget, source = history_budget(win.controller.history_setting)
    rows = history_rows(len(win.setup.free), budget)
    return (
        f"{fmt_bytes(budget)} ({source}): every epoch of the first ~{fmt_count(rows)} of a "
        "run of this network, then thinned"
    )


def apply_text(win, text: str) -> bool:
    """Set the budget from what was typed ("" = the default); False, with one line
    saying why, when it is not a size."""
    text = text.strip()
    if not text:
        win.controller.history_setting = None
        win.settings.remove(KEY)
    else:
        try:
            value = parse_size(text)
        except ValueError:
            win.show_message(
                f"history memory: {text!r} is not a size (e.g. 512M or 2G)", error=True
            )
            return False
        win.controller.history_setting = value
        win.settings.set(KEY, text)
    win.show_message(f"history memory: {describe(win)}; from the next run")
    return True


def ask(win) -> None:
    """The dialog: type a size, or leave it empty for the default."""
    current = win.settings.get_str(KEY, "")
    text, ok = QInputDialog.getText(
        win,
        "History memory",
        "The most memory one run's history keeps (e.g. 512M, 2G; empty: the default).\n"
        "Past it, the history keeps the first and the latest epochs whole and, between\n"
        "them, the lowest and highest values of each block of epochs. Now: " + describe(win),
        QLineEdit.EchoMode.Normal,
        current,
    )
    if ok:
        apply_text(win, text)
