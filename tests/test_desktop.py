"""``bpgui --install-desktop`` / ``--uninstall-desktop`` (issue 14 #6), in a temporary
XDG data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from bpgui import desktop


def run_cli(*args, home):
    env = {**os.environ, "XDG_DATA_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "bpgui", *args], capture_output=True, text=True, env=env
    )


def test_install_writes_entry_icons_and_mime_type_and_uninstall_removes_them(tmp_path):
    home = tmp_path / "share"
    foreign = home / "applications" / "other.desktop"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Desktop Entry]\nName=other\n")
    r = run_cli("--install-desktop", home=home)
    assert r.returncode == 0, r.stderr
    entry = (home / "applications" / "bpgui.desktop").read_text()
    fields = dict(line.split("=", 1) for line in entry.splitlines()[1:] if "=" in line)
    assert fields["Type"] == "Application" and fields["Icon"] == "bpgui"
    assert fields["MimeType"] == "application/x-bpgui-session;"
    exe = fields["Exec"].split()[0]
    assert os.access(exe, os.X_OK) and fields["Exec"].endswith(" %f")
    root = ET.fromstring((home / "mime/packages/bpgui.xml").read_text())
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mt = root.find("m:mime-type", ns)
    assert mt.get("type") == "application/x-bpgui-session"
    assert mt.find("m:glob", ns).get("pattern") == "*.bpgui"
    for n in desktop.SIZES:
        png = home / f"icons/hicolor/{n}x{n}/apps/bpgui.png"
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(data[16:20], "big") == n  # the IHDR width
    assert (home / "icons/hicolor/scalable/apps/bpgui.svg").read_text().startswith("<svg")
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(
            ["desktop-file-validate", str(home / "applications" / "bpgui.desktop")],
            capture_output=True,
            text=True,
        )
        assert v.returncode == 0, v.stdout + v.stderr
    written = set(desktop.planned_files(home))
    r = run_cli("--uninstall-desktop", home=home)
    assert r.returncode == 0, r.stderr
    assert not any(p.exists() for p in written)
    assert foreign.exists()  # nothing but ours


def test_install_and_uninstall_are_exclusive(tmp_path):
    r = run_cli("--install-desktop", "--uninstall-desktop", home=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("size", desktop.SIZES)
def test_icons_ship_with_the_package(size):
    assert (desktop.ICONS / f"bpgui-{size}.png").is_file()
