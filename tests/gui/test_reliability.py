"""Issue 10 in the window: saves that reopen after setup edits (#1), CSV read off the GUI
thread with the header shown (#8, #10), errors shown where they belong (#9)."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer

from bpgui_engine.model.setup import Setup
from bpgui_engine.session import Session, load_session, session_bytes
from tests.session_files import edit_description

T = 30_000


def test_save_after_restarts_and_a_free_parameter_change_reopens(window, qtbot, tmp_path):
    r = window.tools["restarts"].restarts
    r.count.setValue(6)
    r.epochs.setValue(30)
    window.apply_setup(window.setup.replace(free=window.setup.spec.labels))  # all 7 free
    with qtbot.waitSignal(r.finished, timeout=T):
        window.actions.restarts.trigger()
    assert r.result is not None and r.result.x.shape[1] == 7
    # fewer free parameters after the restarts
    window.apply_setup(
        window.setup.replace(free=("W1[1,1]", "W2[1,1]"), axes=("W1[1,1]", "W2[1,1]"))
    )
    path = tmp_path / "after-edit.bpgui"
    assert window.document.save_as(path), window.document.last_error
    s = load_session(path)  # reopens
    assert s.setup.free == ("W1[1,1]", "W2[1,1]")
    assert s.restarts is None or s.restarts.x.shape[1] == 2
    assert window.document.open(path)
    # and the autosave of the same state reopens too
    window.document.mark_modified()
    assert window.document.autosave()
    assert load_session(window.document.recovery_path).setup.free == ("W1[1,1]", "W2[1,1]")


def test_a_large_csv_is_read_off_the_gui_thread(window, qtbot, tmp_path):
    data = window.network_pane.data
    path = tmp_path / "big.csv"
    p = np.linspace(-2, 2, 400_000)
    with open(path, "w") as fh:
        fh.write("p,t\n")
        np.savetxt(fh, np.c_[p, np.sin(p)], delimiter=",", fmt="%.6f")
        # a bad last field: the data is parsed whole but not applied (no contour over
        # 400,000 samples to wait for afterwards)
        fh.write("2.5,oops\n")
    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    t0 = time.perf_counter()
    with qtbot.waitSignal(data.csv_loaded, timeout=T):
        data.load_csv(str(path))
        returned = time.perf_counter() - t0
        assert data.loading and "reading" in data.csv_label.text()
    timer.stop()
    assert returned < 0.25, f"load_csv blocked the GUI thread for {returned:.2f} s"
    during = [t for t in ticks if t > t0]
    assert len(during) >= 3, "the event loop did not run while the file was parsed"
    assert "header detected (p, t)" in data.csv_info.text()
    assert "400,001 data rows" in data.csv_info.text()
    assert "line 400,002" in window.network_pane.error.text() or "line 400002" in (
        window.network_pane.error.text()
    )


def test_the_form_says_whether_a_header_was_detected(window, tmp_path):
    data = window.network_pane.data
    f = tmp_path / "nohead.csv"
    f.write_text("nan,1\n1,2\n2,3\n")  # a first row of numbers: data, not a header
    data.load_csv(str(f))
    assert data.csv_info.text().startswith("no header")
    g = tmp_path / "head.csv"
    g.write_text("p,t\n1,2\n2,3\n")
    data.load_csv(str(g))
    assert data.csv_info.text().startswith("header detected (p, t)")
    assert window.setup.data.csv_name == "head.csv"


def test_a_huge_integer_in_the_expression_shows_a_message(window):
    pane = window.network_pane
    data = pane.data
    data.kind.setCurrentIndex(1)
    data.expr.setText("1" * 320 + " + p")
    data.expr.editingFinished.emit()
    assert "too large" in pane.error.text()
    assert data.expr.property("invalid") is True
    assert not window.actions.start.isEnabled()


def _session_with_csv(text: str) -> bytes:
    """A session file whose CSV text the csv module rejects (written by hand: bpgui itself
    refuses to save it)."""
    good = "p,t\n1,2\n2,3\n"
    s = Session(
        Setup.from_preset().replace(
            data=Setup.from_preset().data.__class__(
                kind="csv", csv_text=good, csv_name="d.csv", inputs=("p",), targets=("t",)
            )
        )
    )
    raw = session_bytes(s)

    def change(doc: dict) -> None:
        doc["setup"]["data"]["csv_text"] = text

    edited = edit_description(raw, change)
    return edited


def test_file_open_of_a_session_with_unreadable_csv_shows_a_dialog(window, tmp_path):
    path = tmp_path / "badcsv.bpgui"
    path.write_bytes(_session_with_csv("p,t\n1," + "9" * 200_000 + "\n"))  # csv.Error
    before = window.setup
    assert not window.document.open(path)
    assert window.error_box is not None and window.error_box.isVisible()
    assert "csv" in window.document.last_error and "\n" not in window.document.last_error
    assert window.setup == before
