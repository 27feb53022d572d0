"""What bpgui remembers between starts (QSettings, an INI file in bpgui's config folder):
window geometry, dock and splitter layout, last folders, theme and presentation mode.
A corrupt store falls back to the defaults with a note, and is kept aside for inspection.
Tests get their own store through ``$BPGUI_CONFIG_DIR``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths


def config_dir() -> Path:
    """``$BPGUI_CONFIG_DIR``, else the platform's config folder + ``/bpgui``."""
    env = os.environ.get("BPGUI_CONFIG_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "bpgui"


class Settings:
    """A thin typed layer over one QSettings INI file; ``note`` says what went wrong when
    the store could not be read."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "bpgui.ini"
        self.note = ""
        self.q = QSettings(str(self.path), QSettings.Format.IniFormat)
        if self.q.status() != QSettings.Status.NoError:
            self._set_aside("could not be read")

    def _set_aside(self, why: str) -> None:
        bad = self.path.with_name(self.path.name + ".corrupt")
        with contextlib.suppress(OSError):
            os.replace(self.path, bad)
        self.note = f"settings {why}; using the defaults (the old file is {bad.name})"
        self.q = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get_str(self, key: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        v = self.q.value(key, default)
        if not isinstance(v, str) or (choices is not None and v not in choices):
            return default
        return v

    def get_bool(self, key: str, default: bool) -> bool:
        v = self.q.value(key, default)
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        return default

    def get_bytes(self, key: str) -> QByteArray | None:
        v = self.q.value(key)
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def get_ints(self, key: str) -> list[int] | None:
        v = self.q.value(key)
        if isinstance(v, (list, tuple)):
            try:
                out = [int(x) for x in v]
            except (TypeError, ValueError):
                return None
            return out if all(0 <= x <= 100_000 for x in out) else None
        return None

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def remove(self, key: str) -> None:
        self.q.remove(key)

    def sync(self) -> None:
        self.q.sync()
