"""Crash evidence: every bpgui process (the window, each engine process) has Python's
:mod:`faulthandler` write a native crash's Python stacks (all threads) to its own log in
``<config>/crash/``.  A process that ends normally removes its log if nothing was written
to it; a log left behind by a process that is no longer running is a crash report, which
the next start names (the recovery prompt, or the status bar).  Qt-free: the engine
process uses it too."""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import os
from pathlib import Path

_open: list = []  # the log this process writes to (kept open for faulthandler)


def crash_dir() -> Path:
    """``$BPGUI_CONFIG_DIR/crash``, else ``$XDG_CONFIG_HOME/bpgui/crash`` (an absolute
    ``XDG_CONFIG_HOME`` only, as the XDG spec says), else ``~/.config/bpgui/crash``."""
    env = os.environ.get("BPGUI_CONFIG_DIR")
    if env:
        return Path(env) / "crash"
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "bpgui" / "crash"


def enable(role: str) -> Path | None:
    """Write this process's native-crash stacks to ``<crash_dir>/<role>-<pid>.log``.
    Returns the log's path (None: the folder cannot be written; stderr then)."""
    folder = crash_dir()
    path = folder / f"{role}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- open for the process's life
    except OSError:
        faulthandler.enable(all_threads=True)
        return None
    _open.append(fh)
    faulthandler.enable(file=fh, all_threads=True)
    atexit.register(_clean_exit, path)
    return path


def finish() -> None:
    """For a process that leaves by ``os._exit`` (atexit does not run there)."""
    for fh in _open:
        _clean_exit(Path(fh.name))


def mark_reported(path: Path) -> Path:
    """A crash report the user has been told about: kept (renamed), not told again."""
    target = path.with_name(path.stem + ".reported.log")
    with contextlib.suppress(OSError):
        path.rename(target)
        return target
    return path


def _clean_exit(path: Path) -> None:
    """A normal end: an empty log goes (a non-empty one holds a Python fatal error)."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            faulthandler.disable()
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def crash_reports() -> list[Path]:
    """Logs with something in them, left by processes that are no longer running, newest
    first."""
    out = []
    with contextlib.suppress(OSError):
        for p in crash_dir().glob("*-*.log"):
            try:
                pid = int(p.stem.rsplit("-", 1)[1])
                if p.stat().st_size > 0 and not _alive(pid):
                    out.append(p)
            except (ValueError, OSError):
                continue
    return sorted(out, key=lambda p: -p.stat().st_mtime)


def forget_empty_stale() -> None:
    """Empty logs of processes that ended without cleaning up (killed): nothing to say."""
    with contextlib.suppress(OSError):
        for p in crash_dir().glob("*-*.log"):
            with contextlib.suppress(ValueError, OSError):
                pid = int(p.stem.rsplit("-", 1)[1])
                if p.stat().st_size == 0 and not _alive(pid):
                    p.unlink()
