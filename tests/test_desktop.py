"""``bpgui --install-desktop`` / ``--uninstall-desktop`` (issue 14 #6), in a temporary
XDG data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from bpgui.cli import desktop


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


# ---- issue 18 #20 -------------------------------------------------------------------------------
def _files(home):
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if not p.is_dir())


@pytest.mark.parametrize("value", ["share", "./share", "rel/share", ""])
def test_a_relative_xdg_data_home_is_ignored(value, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", value)
    assert desktop.data_home() == tmp_path / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "abs"))
    assert desktop.data_home() == tmp_path / "abs"


def test_uninstall_removes_the_caches_the_install_made(tmp_path):
    if not shutil.which("update-mime-database"):
        pytest.skip("update-mime-database is not installed: the install makes no MIME cache")
    home = tmp_path / "share"
    assert run_cli("--install-desktop", home=home).returncode == 0
    assert (home / "mime" / "mime.cache").exists()  # what the desktop's tools made
    r = run_cli("--uninstall-desktop", home=home)
    assert r.returncode == 0, r.stderr
    assert _files(home) == []
    assert not home.exists() or not any(home.iterdir())  # no empty folders of ours either


def test_uninstall_keeps_what_others_installed_and_refreshes_their_caches(tmp_path):
    if not shutil.which("update-mime-database"):
        pytest.skip("update-mime-database is not installed")
    home = tmp_path / "share"
    other = home / "mime" / "packages" / "other.xml"
    other.parent.mkdir(parents=True)
    other.write_text(desktop.MIME_XML.replace("bpgui", "other"))
    assert run_cli("--install-desktop", home=home).returncode == 0
    assert "*.bpgui" in (home / "mime" / "globs2").read_text()
    assert run_cli("--uninstall-desktop", home=home).returncode == 0
    assert other.exists() and "*.other" in (home / "mime" / "globs2").read_text()
    assert "*.bpgui" not in (home / "mime" / "globs2").read_text()
    assert not (home / "mime" / "application" / "x-bpgui-session.xml").exists()


def test_an_edited_desktop_entry_is_kept_and_said_so(tmp_path):
    home = tmp_path / "share"
    assert run_cli("--install-desktop", home=home).returncode == 0
    entry = home / "applications" / "bpgui.desktop"
    edited = entry.read_text().replace("Terminal=false", "Terminal=true")
    entry.write_text(edited)
    r = run_cli("--uninstall-desktop", home=home)
    assert r.returncode == 0, r.stderr
    assert entry.read_text() == edited
    assert f"kept {entry}: edited since --install-desktop" in r.stdout
    assert _files(home) == ["applications/bpgui.desktop"]


def test_an_unedited_entry_of_another_launcher_is_still_ours(tmp_path):
    home = tmp_path / "share"
    entry = home / "applications" / "bpgui.desktop"
    entry.parent.mkdir(parents=True)
    entry.write_text(desktop.desktop_entry(["/opt/old venv/bin/bpgui"]))
    assert desktop.uninstall(home).removed == [entry]
    assert not entry.exists()
