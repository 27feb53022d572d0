"""Issue 18 #17: every writer on a real full filesystem (a tmpfs filled up) -- MP4, GIF,
PNG, SVG, CSV, JSON and the session -- reports one line, exits 2, and leaves the old file
byte for byte and no debris; nothing claims "wrote".

Each output is first written where there is room, to learn its size; then the same
command runs on a filesystem with no room at all, and (where the output is larger than
two pages) with room for half of it: the encoder gets part-way and the disk fills."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bpgui.cli import main
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.safe_write import OutputError, atomic_write_bytes
from bpgui_engine.session import SessionError, save_session
from bpgui_engine.session import write as session_write
from tests.engine.test_animation import trained
from tests.full_disk import FILLER, PAGE, full_disk

ANIM = ["--seconds", "1", "--fps", "10", "--size", "480x240"]
#: writer: (file name, the command's arguments after the session given OUT)
WRITERS = {
    "mp4": ("a.mp4", lambda s, out: ["export", s, "--animation", out, *ANIM]),
    "gif": ("a.gif", lambda s, out: ["export", s, "--animation", out, *ANIM]),
    "png": ("c.png", lambda s, out: ["export", s, "--plot", "contour", out]),
    "svg": ("c.svg", lambda s, out: ["export", s, "--plot", "contour", out]),
    "history-csv": ("h.csv", lambda s, out: ["export", s, "--history", out]),
    "trajectory-csv": ("t.csv", lambda s, out: ["export", s, "--trajectory", out]),
    "surface-csv": (
        "g.csv",
        lambda s, out: [
            "surface",
            s,
            "--x",
            "W1[1,1]",
            "-5",
            "15",
            "--y",
            "W2[1,1]",
            "-5",
            "15",
            "--resolution",
            "60",
            "--out",
            out,
        ],
    ),
    "params-json": ("p.json", lambda s, out: ["export", s, "--params", out]),
    "session": ("s.bpgui", lambda s, out: ["train", s, "--epochs", "5", "--save", out]),
}


@pytest.fixture(scope="module")
def session_file(tmp_path_factory) -> str:
    s = trained(get_experiment("trajectory-a").setup(), epochs=400)
    return str(save_session(s, tmp_path_factory.mktemp("s") / "short.bpgui"))


def _run(argv: list[str], capfd) -> tuple[int, str]:
    """``bpgui ARGV``: its status and everything that reached fd 2 (an encoder's own
    process writes there too).  Plots draw with Qt: in their own process, as the other
    headless plot tests do, so that no QApplication outlives the test here."""
    if "--plot" in argv:
        p = subprocess.run(
            [sys.executable, "-m", "bpgui", *argv], capture_output=True, text=True, check=False
        )
        return p.returncode, p.stderr
    capfd.readouterr()
    code = main(argv)
    return code, capfd.readouterr().err


#: every writer with no room at all, and with room for half its output where that output
#: is at least two pages (the parameters' JSON is a few hundred bytes)
CASES = [
    (w, r) for w in sorted(WRITERS) for r in ("none", "half") if (w, r) != ("params-json", "half")
]


@pytest.mark.parametrize("writer, room", CASES)
def test_a_full_disk_is_one_line_and_the_old_file_stays(writer, room, session_file, tmp_path,
                                                        capfd):  # fmt: skip
    if writer == "mp4":
        pytest.importorskip("imageio_ffmpeg")
    name, argv = WRITERS[writer]
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    code, err = _run(argv(session_file, str(roomy / name)), capfd)
    assert code == 0, err
    size = (roomy / name).stat().st_size
    free = 0 if room == "none" else size // 2
    assert room == "none" or free >= PAGE, f"{writer}: {size} bytes is too small for 'half'"
    old = b"the previous file, which must survive\n" * 3
    with full_disk(tmp_path / "fs", {name: old}, free=free) as fs:
        code, err = _run(argv(session_file, str(fs / name)), capfd)
        lines = err.strip().splitlines()
        assert code == 2, err
        assert len(lines) == 1 and lines[0].startswith("bpgui: error: "), err
        assert re.search(r"No space left on device|disk full", lines[0]), lines[0]
        assert "wrote" not in err
        assert (fs / name).read_bytes() == old
        assert sorted(p.name for p in fs.iterdir()) == sorted([name, FILLER])


def test_the_full_disk_helper_really_is_full(tmp_path):
    with full_disk(tmp_path / "fs", {"x": b"1"}, free=0) as fs, pytest.raises(OSError) as exc:
        Path(fs / "y").write_bytes(b"a" * PAGE)
    assert exc.value.errno == 28  # ENOSPC


# ---- what landed is checked, even when the writer reports no error -------------------------------
def test_bytes_lost_without_an_error_keep_the_old_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def lossy(fh):  # a library that swallowed the disk's error: a third is missing
        fh.write(b"x" * 3000)
        fh.flush()
        os.ftruncate(fh.fileno(), 2000)

    with pytest.raises(OutputError) as exc:
        atomic_write_bytes(target, lossy)
    assert "2,000 of 3,000 bytes landed" in str(exc.value)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_session_archive_missing_a_member_is_not_renamed(tmp_path, monkeypatch):
    s = trained(get_experiment("trajectory-a").setup(), epochs=20)
    target = tmp_path / "s.bpgui"
    target.write_bytes(b"old")
    real = session_write._write_zip

    def drops_one(fh, text, arrays):
        real(fh, text, dict(list(arrays.items())[:-1]))

    monkeypatch.setattr(session_write, "_write_zip", drops_one)
    with pytest.raises(SessionError) as exc:
        save_session(s, target)
    assert "did not land whole" in str(exc.value) and "\n" not in str(exc.value)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["s.bpgui"]
