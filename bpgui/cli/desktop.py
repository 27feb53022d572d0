"""A desktop entry for the user: ``bpgui --install-desktop`` writes a freedesktop
``.desktop`` file (menu entry), the icon in every size (hicolor theme) and the
``application/x-bpgui-session`` MIME type for ``*.bpgui`` files, so sessions open by
double-click; ``bpgui --uninstall-desktop`` removes exactly those files.  Per user, under
``$XDG_DATA_HOME`` (default ``~/.local/share``); no root needed.  No Qt."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from bpgui_engine.safe_write import atomic_write_bytes
from bpgui_engine.session.export import atomic_write_text

ICONS = Path(__file__).resolve().parents[1] / "icons"
SIZES = (16, 32, 48, 64, 128, 256)
MIME = "application/x-bpgui-session"
APP_ID = "bpgui"

MIME_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="{MIME}">
    <comment>bpgui session</comment>
    <generic-icon name="{APP_ID}"/>
    <glob pattern="*.bpgui"/>
  </mime-type>
</mime-info>
"""


#: what the desktop's tools generate from our files (update-mime-database,
#: update-desktop-database, gtk-update-icon-cache): removed by the uninstall when nothing
#: but ours was left for them to describe, regenerated otherwise
MIME_GENERATED = ("XMLnamespaces", "aliases", "generic-icons", "globs", "globs2", "icons",
                  "magic", "mime.cache", "subclasses", "treemagic", "types", "version")  # fmt: skip


class Uninstalled(NamedTuple):
    removed: list[Path]
    kept: list[Path]  # ours, but edited since the install: left alone


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset, empty or relative (the
    XDG base directory specification: a relative path is invalid and must be ignored)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def launcher() -> list[str]:
    """How to start bpgui: the installed ``bpgui`` script when there is one, else this
    Python with ``-m bpgui``."""
    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "bpgui" and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("bpgui")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "bpgui"]


def desktop_entry(command: list[str]) -> str:
    exec_line = " ".join(shlex.quote(c) for c in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=bpgui\n"
        "GenericName=Backpropagation visualizer\n"
        "Comment=Watch backpropagation train a neural network on its error surface\n"
        f"Exec={exec_line} %f\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "Categories=Education;Science;Math;\n"
        f"MimeType={MIME};\n"
        "Keywords=neural network;backpropagation;gradient descent;Hagan;\n"
    )


def planned_files(home: Path | None = None) -> dict[Path, bytes]:
    """Every file the desktop install writes, with its contents."""
    home = home or data_home()
    files: dict[Path, bytes] = {
        home / "applications" / f"{APP_ID}.desktop": desktop_entry(launcher()).encode(),
        home / "mime" / "packages" / f"{APP_ID}.xml": MIME_XML.encode(),
        home / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg": (
            ICONS / f"{APP_ID}.svg"
        ).read_bytes(),
    }
    mime_icon = MIME.replace("/", "-")
    for n in SIZES:
        png = (ICONS / f"{APP_ID}-{n}.png").read_bytes()
        files[home / f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png"] = png
        files[home / f"icons/hicolor/{n}x{n}/mimetypes/{mime_icon}.png"] = png
    return files


def _refresh_caches(home: Path, skip: frozenset[str] = frozenset()) -> None:
    """Tell the desktop about the changes when its tools are installed (best effort);
    ``skip``: the tools whose caches were removed (nothing left to describe)."""
    for cmd in (
        ["update-mime-database", str(home / "mime")],
        ["update-desktop-database", str(home / "applications")],
        ["gtk-update-icon-cache", "-q", "-t", str(home / "icons" / "hicolor")],
    ):
        if cmd[0] not in skip and shutil.which(cmd[0]) and Path(cmd[-1]).is_dir():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(cmd, check=False, capture_output=True, timeout=30)


def install(home: Path | None = None) -> list[Path]:
    """Write the desktop entry, icons and MIME type; returns the files written."""
    home = home or data_home()
    written = []
    for path, content in planned_files(home).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".desktop", ".xml"):
            atomic_write_text(path, content.decode())
        else:
            atomic_write_bytes(path, lambda fh, data=content: fh.write(data))
        written.append(path)
    if shutil.which("xdg-mime"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["xdg-mime", "default", f"{APP_ID}.desktop", MIME],
                check=False,
                capture_output=True,
                timeout=30,
            )
    _refresh_caches(home)
    return written


def is_our_entry(text: str) -> bool:
    """Whether ``text`` is a desktop entry exactly as :func:`install` writes it (for any
    launcher: a venv may have moved since), i.e. not edited by the user."""
    for line in text.splitlines():
        if line.startswith("Exec=") and line.endswith(" %f"):
            try:
                command = shlex.split(line[len("Exec=") : -len(" %f")])
            except ValueError:
                return False
            return bool(command) and desktop_entry(command) == text
    return False


def uninstall(home: Path | None = None) -> Uninstalled:
    """Remove what :func:`install` wrote (and nothing else) and what the desktop's tools
    generated from it, with the folders that leaves empty; a desktop entry edited since
    the install is kept (and listed in ``kept``)."""
    home = home or data_home()
    removed: list[Path] = []
    kept: list[Path] = []
    for path in planned_files(home):
        if not (path.is_file() or path.is_symlink()):
            continue
        if path.suffix == ".desktop" and not path.is_symlink():
            try:
                ours = is_our_entry(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                ours = False
            if not ours:
                kept.append(path)
                continue
        path.unlink()
        removed.append(path)
    gone, tools = _generated(home)
    removed += gone
    _refresh_caches(home, tools)
    _prune(home, planned_files(home))
    return Uninstalled(removed, kept)


def _others(folder: Path, skip: set[str] = frozenset()) -> bool:
    """Whether ``folder`` still holds a file (at any depth) other than ``skip``'s names."""
    return folder.is_dir() and any(p.is_file() and p.name not in skip for p in folder.rglob("*"))


def _generated(home: Path) -> tuple[list[Path], frozenset[str]]:
    """The caches generated from our files alone (nobody else's files left for them to
    describe), removed, and the tools that made them (not to be run again); the other
    caches are regenerated by :func:`_refresh_caches`."""
    mime = home / "mime"
    kind, sub = MIME.split("/")
    caches: dict[str, list[Path]] = {}
    if not _others(mime / "packages"):
        caches["update-mime-database"] = [
            *(mime / name for name in MIME_GENERATED),
            mime / kind / f"{sub}.xml",
        ]
    if not _others(home / "applications", {"mimeinfo.cache"}):
        caches["update-desktop-database"] = [home / "applications" / "mimeinfo.cache"]
    if not _others(home / "icons" / "hicolor", {"icon-theme.cache"}):
        caches["gtk-update-icon-cache"] = [home / "icons" / "hicolor" / "icon-theme.cache"]
    out: list[Path] = []
    for paths in caches.values():
        for path in paths:
            if path.is_file() and not path.is_symlink():
                path.unlink()
                out.append(path)
    return out, frozenset(caches)


def _prune(home: Path, files) -> None:
    """Remove the folders of ours that are left empty (never ``home`` itself)."""
    folders = {home / "mime" / MIME.split("/")[0]}
    for path in files:
        folders.update(p for p in path.parents if p != home and home in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty, or not there: left as it is
            folder.rmdir()
