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

from bpgui_engine.export import atomic_write_text
from bpgui_engine.safe_write import atomic_write_bytes

ICONS = Path(__file__).resolve().parent / "icons"
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


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


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


def _refresh_caches(home: Path) -> None:
    """Tell the desktop about the changes when its tools are installed (best effort)."""
    for cmd in (
        ["update-mime-database", str(home / "mime")],
        ["update-desktop-database", str(home / "applications")],
        ["gtk-update-icon-cache", "-q", "-t", str(home / "icons" / "hicolor")],
    ):
        if shutil.which(cmd[0]):
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


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install` wrote (and nothing else); returns the files removed."""
    home = home or data_home()
    removed = []
    for path in planned_files(home):
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    _refresh_caches(home)
    return removed
