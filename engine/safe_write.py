"""Output and input files handled safely: every file bpgui writes (sessions, autosaves,
CSV/JSON exports, images) and every file it reads by name goes through here.  Qt-free.

Writing (:func:`replacing`, :func:`atomic_write_bytes`):

* only a regular file is ever replaced: a device (``/dev/null``, ``/dev/full``), a FIFO,
  a socket or a folder as the target is refused with one line, and nothing is created;
* a symlink is written *through*: the new contents go to the link's target, atomically
  (a temporary file in the target's folder, then a rename there), and the link stays;
* the target keeps its permission bits; a new file gets what ``open`` would give it under
  the umask (``mkstemp`` alone would make it 0600).

Reading (:func:`open_regular`): only a regular file is opened, and the open never blocks
(a FIFO with no writer would hang ``open`` forever).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

__all__ = [
    "OutputError",
    "atomic_write_bytes",
    "landed",
    "new_file_mode",
    "open_regular",
    "replacing",
    "resolve_target",
]


class OutputError(ValueError):
    """A file that cannot (or must not) be written or read; the message is one line."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _umask_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def new_file_mode(path: str | os.PathLike) -> int:
    """The permissions ``path`` should get: an existing file keeps its own (through a
    symlink: its target's), a new one gets what ``open`` would give it under the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return _umask_mode()


def resolve_target(path: str | os.PathLike) -> tuple[str, int]:
    """The file to replace for ``path`` (symlinks followed) and the mode it must get.

    :class:`OutputError` when the target exists and is not a regular file, or when its
    folder does not exist."""
    name = os.fspath(path)
    target = os.path.realpath(name)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            raise OutputError(
                f"cannot write in {folder}: the folder does not exist (for {name})"
            ) from None
        return target, _umask_mode()
    except OSError as exc:
        raise OutputError(f"cannot write {name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(
            f"cannot write {name}: it is {_kind(st.st_mode)}, not a regular file "
            "(bpgui replaces only regular files)"
        )
    return target, st.st_mode & 0o777


@contextlib.contextmanager
def replacing(path: str | os.PathLike, suffix: str = ".part") -> Iterator[str]:
    """``with replacing(path) as tmp:`` write the new contents to the file named ``tmp``;
    when the block ends without an error it is flushed to disk, given the target's mode
    and renamed over the target (the symlink's target for a symlink).  On any error the
    temporary file is removed and the target is untouched; ``OSError`` becomes
    :class:`OutputError` with one line."""
    name = os.fspath(path)
    target, mode = resolve_target(name)
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=suffix, dir=folder
        )
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {name}: {exc.strerror or exc}") from None
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        # the target may have been swapped for something else meanwhile: check again
        if os.path.lexists(target):
            resolve_target(name)
        os.replace(tmp, target)
    except OSError as exc:
        msg = exc.strerror or str(exc)
        msg = msg if msg.startswith("cannot write") else f"cannot write {name}: {msg}"
        raise OutputError(msg) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def landed(tmp: str | os.PathLike, size: int, name: str | os.PathLike) -> None:
    """What landed in ``tmp`` must be the ``size`` bytes the writer wrote: ``OSError`` with
    one line otherwise (a writer that lost bytes without an error, e.g. a full disk
    behind a library that does not check).  Call it inside :func:`replacing`."""
    got = os.path.getsize(tmp)
    if got != size:
        raise OSError(
            f"cannot write {os.fspath(name)}: {got:,} of {size:,} bytes landed (is the disk full?)"
        )


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Write a file atomically: ``write(fh)`` fills a binary file object (see
    :func:`replacing`); what landed is checked against what was written (:func:`landed`)."""
    with replacing(path) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            size = fh.tell()
        landed(tmp, size, path)


def open_regular(path: str | os.PathLike, max_bytes: int | None = None) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file (checked before opening and
    again on the open descriptor; the open itself never blocks).  :class:`OutputError`
    with one line otherwise, or when it is larger than ``max_bytes``."""
    name = os.fspath(path)
    base = os.path.basename(name) or name
    try:
        st = os.stat(name)
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{base}: it is {_kind(st.st_mode)}, not a regular file")
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise OutputError(f"cannot open {base}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between stat and open
            raise OutputError(f"{base}: it is {_kind(st.st_mode)}, not a regular file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise OutputError(
                f"{base}: {st.st_size:,} bytes is more than the {max_bytes:,} bytes allowed"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
