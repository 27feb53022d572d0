"""A real full filesystem for the writers' tests (issue 18 #17): a small tmpfs mounted on a
test's folder, holding the files a test puts there, then filled until only ``free`` bytes
are left.  Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped and says why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE = 4096
FILLER = "filler"


def _mount(folder: Path, size: int) -> None:
    if os.geteuid() != 0:
        pytest.skip("a full filesystem needs a tmpfs mount, which needs root")
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {p.stderr.strip()}")


def _fill(path: Path, leave: int) -> None:
    """Write ``path`` until the filesystem has ``leave`` bytes (whole pages) left."""
    st = os.statvfs(path.parent)
    room = st.f_bavail * st.f_frsize - leave
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        block = b"\0" * (1 << 16)
        while room > 0:
            try:
                room -= os.write(fd, block[: min(len(block), room)])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)


@contextlib.contextmanager
def full_disk(folder: Path, files: dict[str, bytes], free: int = 0) -> Iterator[Path]:
    """``folder`` as a tmpfs holding ``files`` and about ``free`` bytes of room (rounded
    down to whole pages; 0: not one byte more can be written)."""
    folder.mkdir(parents=True, exist_ok=True)
    need = sum(len(b) + PAGE for b in files.values())
    _mount(folder, need + free + 16 * PAGE)
    try:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        _fill(folder / FILLER, free - free % PAGE)
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)
