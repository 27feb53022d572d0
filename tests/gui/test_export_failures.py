"""A plot export whose writer fails (a full disk) is an error and leaves the old file
(issue 10 #5)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage


@pytest.mark.parametrize("mode", ["reports-failure", "truncates-silently"])
def test_a_failing_png_writer_keeps_the_old_file(window, tmp_path, monkeypatch, mode):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "contour.png"
    assert window.document.export("contour-png", target)
    good = target.read_bytes()
    real_save = QImage.save

    def broken_save(self, device, fmt=None, *args):
        whole = QBuffer()
        whole.open(QIODevice.OpenModeFlag.WriteOnly)
        real_save(self, whole, fmt)
        if mode == "reports-failure":
            return False
        device.write(whole.data()[: len(good) // 3])  # the rest lost, and no error
        return True

    monkeypatch.setattr(QImage, "save", broken_save)
    assert not window.document.export("contour-png", target)
    assert target.read_bytes() == good
    assert "cannot write" in window.document.last_error
    assert [p.name for p in out.iterdir()] == ["contour.png"]  # no debris
