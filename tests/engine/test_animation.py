"""Animations of a run (issue 14 #3): GIF and MP4 decoded back (frame count, size,
duration), log spacing on trajectory a measured on the drawn frames, and every bad input
or failure -- one line, no partial file, the old file untouched."""

from __future__ import annotations

import errno
import itertools
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import GifImagePlugin, Image

import bpgui.export.animation as anim
from bpgui.cli import main
from bpgui.export.animation import (
    AnimationCancelled,
    AnimationError,
    EncoderMissing,
    frame_rows,
    render_frames,
    write_animation,
)
from bpgui.export.animation_encode import mp4_frame_count
from bpgui_engine.model.experiments import get_experiment
from bpgui_engine.session import Session, save_session, session_trainer, trainer_state
from bpgui_engine.train.history import History
from bpgui_engine.train.trainer import StopCriteria

SIZE = (480, 240)


def trained(setup, epochs: int | None = None) -> Session:
    """``setup`` trained headless on the compiled kernel, its history kept."""
    if epochs is not None:
        setup = setup.replace(criteria=StopCriteria(epochs=epochs))
    s = Session(setup)
    trainer, _ = session_trainer(s)
    h = History(len(setup.free))
    for block in trainer.blocks(emit_start=True):
        h.extend(block.cols, block.x, block.stop)
    s.history = h
    s.run = trainer_state(trainer, h.x[0], trainer.criteria.epochs, h.stop)
    return s


@pytest.fixture(scope="module")
def traj_a() -> Session:
    s = trained(get_experiment("trajectory-a").setup())
    assert s.history.stop == "no_change" and s.run.epoch > 300_000
    return s


@pytest.fixture(scope="module")
def short() -> Session:
    return trained(get_experiment("trajectory-a").setup(), epochs=400)


def leftovers(folder: Path, keep: set[str] = frozenset()) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n not in keep)


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg
    return msg


# ---- files decoded back ----------------------------------------------------------------------
def test_gif_has_seconds_times_fps_frames_of_the_size_and_duration(short, tmp_path):
    out = tmp_path / "run.gif"
    r = write_animation(short, out, seconds=2.5, fps=8, size=SIZE, theme="light")
    assert (r.frames, r.width, r.height) == (20, *SIZE)
    assert r.bytes == out.stat().st_size > 0
    with Image.open(out) as im:
        assert im.format == "GIF" and im.size == SIZE
        assert im.n_frames == 20
        total = 0
        for k in range(im.n_frames):
            im.seek(k)
            total += im.info["duration"]
        assert total == 2500
        assert im.info.get("loop") == 0
        # the shared palette keeps the markers' exact colours (the red end marker and
        # the curve's marker, the teal start), not their nearest surface colour
        im.seek(im.n_frames - 1)
        rgb = np.asarray(im.convert("RGB")).reshape(-1, 3)
        for colour in ((231, 29, 54), (46, 196, 182)):
            assert np.sum(np.all(rgb == colour, axis=1)) > 20, colour
    assert leftovers(tmp_path) == ["run.gif"]


def test_mp4_has_seconds_times_fps_frames_and_even_dimensions(short, tmp_path):
    iio = pytest.importorskip("imageio.v2")
    out = tmp_path / "run.mp4"
    r = write_animation(short, out, seconds=2, fps=10, size=(481, 241), with_curve=True)
    assert (r.frames, r.width, r.height) == (20, 480, 240)
    reader = iio.get_reader(out)
    try:
        assert reader.count_frames() == 20
        meta = reader.get_meta_data()
        assert tuple(meta["size"]) == (480, 240) and meta["fps"] == 10
        first = reader.get_data(0)
        assert first.shape == (240, 480, 3)
    finally:
        reader.close()
    assert leftovers(tmp_path) == ["run.mp4"]


def test_frames_have_the_size_without_the_curve_and_differ(short):
    frames = list(render_frames(short, seconds=1, fps=6, size=(300, 260), with_curve=False))
    assert len(frames) == 6 and {f.size for f in frames} == {(300, 260)}
    arrays = [np.asarray(f) for f in frames]
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(arrays))


# ---- which epochs the frames show --------------------------------------------------------------
def test_frame_rows_cover_the_run_in_order():
    epochs = np.arange(0, 5001)
    for spacing in ("log", "linear"):
        rows = frame_rows(epochs, 50, spacing)
        assert rows[0] == 0 and rows[-1] == 5000 and len(rows) == 50
        assert np.all(np.diff(rows) > 0)  # more epochs than frames: no frame repeats
    lin = frame_rows(epochs, 51, "linear")
    assert np.array_equal(lin, np.arange(0, 5001, 100))
    # a history that starts later (a continued run) and skips epochs
    rows = frame_rows(np.array([10, 11, 12, 20, 40, 80]), 4, "log")
    assert rows[0] == 0 and rows[-1] == 5


def _marker_centre(frame: Image.Image, half: int) -> tuple[float, float] | None:
    """The current-position marker: the white disc (the path is a white line only 2
    pixels wide, so only the disc contains a 5 x 5 block of white)."""
    a = np.asarray(frame)[:, :half]
    white = np.all(a >= 245, axis=-1).astype(np.int64)
    s = np.pad(white.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    k = 5
    box = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
    ys, xs = np.nonzero(box == k * k)
    if not len(xs):
        return None
    return float(xs.mean()), float(ys.mean())


def test_trajectory_a_log_spacing_shows_the_creep_the_flat_region_and_the_fall(traj_a):
    h = traj_a.history
    epochs, sse = h.column("epoch"), h.column("sse")
    n = 120  # 10 s at 12 fps
    log, lin = frame_rows(epochs, n, "log"), frame_rows(epochs, n, "linear")
    e_log, e_lin = epochs[log], epochs[lin]
    # the early creep (the first 1,000 epochs, the path leaves the start): log spacing
    # gives it many frames, even spacing none after the first
    assert np.sum(e_log < 1000) >= 40 and np.sum(e_lin < 1000) == 1
    # the flat region (SSE about 0.78 for tens of thousands of epochs) and the fall
    flat = (sse[log] > 0.7) & (sse[log] < 0.8)
    fall = (sse[log] < 0.5) & (sse[log] > 1e-4)
    assert flat.sum() >= 15 and fall.sum() >= 2
    # the first half of the film covers under 1% of the epochs
    assert e_log[n // 2] < 0.01 * epochs[-1]

    # measured on the drawn frames: the marker moves little in the first half, a lot later
    frames = render_frames(traj_a, seconds=10, fps=12, size=(640, 300), theme="dark")
    centres = [_marker_centre(f, 640 // 2) for f in frames]
    found = [c for c in centres[:-1] if c is not None]
    assert len(found) >= n - 3  # hidden only under the start marker at the very beginning
    pos = np.array([c if c is not None else (np.nan, np.nan) for c in centres[:-1]])
    steps = np.hypot(*np.diff(pos, axis=0).T)
    first, second = np.nansum(steps[: n // 2]), np.nansum(steps[n // 2 :])
    assert first > 3  # it does move
    assert first < 0.35 * second, (first, second)
    # the marker ends where the run ended: near the optimum (10, 1), right of the start
    assert pos[-1, 0] - pos[0, 0] > 100


# ---- bad input: one line, nothing written ------------------------------------------------------
def test_a_run_of_one_epoch_or_none_is_refused(tmp_path):
    setup = get_experiment("trajectory-a").setup()
    for epochs in (1, 0):
        s = trained(setup, epochs=epochs)
        with pytest.raises(ValueError) as exc:
            write_animation(s, tmp_path / "a.gif", seconds=1, fps=5)
        assert "at least 2" in one_line(exc)
    with pytest.raises(ValueError) as exc:
        write_animation(Session(setup), tmp_path / "a.gif")  # never trained
    assert "train it first" in one_line(exc)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "opts, words",
    [
        ({"seconds": 0}, "duration"),
        ({"seconds": -2}, "duration"),
        ({"seconds": float("nan")}, "duration"),
        ({"seconds": 0.05, "fps": 10}, "at least 2"),
        ({"fps": 0}, "frame rate"),
        ({"fps": 61}, "frame rate"),
        ({"fps": 2.5}, "frame rate"),
        ({"spacing": "cubic"}, "spacing"),
        ({"theme": "pink"}, "theme"),
        ({"size": (10, 10)}, "size"),
        ({"seconds": 600, "fps": 60}, "frames"),
    ],
)
def test_bad_options_give_one_line_and_no_file(short, tmp_path, opts, words):
    with pytest.raises(AnimationError) as exc:
        write_animation(short, tmp_path / "a.mp4", **opts)
    assert words in one_line(exc)
    assert leftovers(tmp_path) == []


def test_gif_frame_rate_is_limited_and_other_formats_refused(short, tmp_path):
    with pytest.raises(AnimationError) as exc:
        write_animation(short, tmp_path / "a.gif", fps=60)
    assert "use MP4" in one_line(exc)
    with pytest.raises(AnimationError) as exc:
        write_animation(short, tmp_path / "a.avi")
    assert ".gif or .mp4" in one_line(exc)
    assert leftovers(tmp_path) == []


def test_a_folder_or_a_fifo_as_the_target_is_refused(short, tmp_path):
    folder = tmp_path / "dir.gif"
    folder.mkdir()
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    for target, kind in ((folder, "a folder"), (fifo, "FIFO")):
        with pytest.raises(ValueError) as exc:
            write_animation(short, target, seconds=1, fps=4, size=SIZE)
        assert kind in one_line(exc)
    assert folder.is_dir() and not os.listdir(folder)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert leftovers(tmp_path) == ["dir.gif", "pipe.mp4"]
    with pytest.raises(ValueError) as exc:  # a folder that does not exist
        write_animation(short, tmp_path / "nowhere" / "a.gif", seconds=1, fps=4)
    assert "does not exist" in one_line(exc)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder(short, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ValueError) as exc:
            write_animation(short, ro / "a.gif", seconds=1, fps=4, size=SIZE)
        assert "Permission denied" in one_line(exc)
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o755)


def test_a_folder_that_refuses_the_file_permission_denied(short, tmp_path, monkeypatch):
    """What a read-only folder does for a user who is not root (simulated: these tests
    may run as root, who writes anywhere)."""
    import tempfile

    def refuse(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ValueError) as exc:
        write_animation(short, tmp_path / "a.gif", seconds=1, fps=4, size=SIZE)
    assert "Permission denied" in one_line(exc)
    assert leftovers(tmp_path) == []


def _old_target(tmp_path: Path, name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(b"the previous animation")
    return p


def test_a_full_disk_in_the_gif_encoder_leaves_the_old_file(short, tmp_path, monkeypatch):
    target = _old_target(tmp_path, "a.gif")
    real = GifImagePlugin._write_frame_data
    calls = []

    def fill_up(fp, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # some frames are on disk, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fp, *args, **kwargs)

    monkeypatch.setattr(GifImagePlugin, "_write_frame_data", fill_up)
    with pytest.raises(ValueError) as exc:
        write_animation(short, target, seconds=1, fps=8, size=SIZE)
    assert "No space left on device" in one_line(exc)
    assert len(calls) == 4
    assert target.read_bytes() == b"the previous animation"
    assert leftovers(tmp_path) == ["a.gif"]


#: fake ffmpeg programs (issue 18 #17): what a full disk does to the real one
FAKE_FFMPEG = {
    # gives up after a frame and a half: the next frame meets a broken pipe
    "dies-mid-way": 'head -c 500000 >/dev/null; echo "[out#0/mp4 @ 0x1] Error writing '
    'trailer: No space left on device" >&2; exit 1',
    # takes every frame, then cannot finish the file
    "fails-at-the-end": 'cat >/dev/null; echo "[out#0/mp4 @ 0x1] Error writing trailer: No '
    'space left on device" >&2; exit 1',
    # says nothing and exits 0, but what landed is not a whole MP4 (moov atom not found)
    "claims-success": 'cat >/dev/null; for a; do out=$a; done; printf "\\0\\0\\0\\30ftypisom" '
    '> "$out"; exit 0',
}


@pytest.mark.parametrize("how", sorted(FAKE_FFMPEG))
def test_an_mp4_encoder_failure_leaves_the_old_file(how, short, tmp_path, monkeypatch, capfd):
    ffmpeg = pytest.importorskip("imageio_ffmpeg")
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n" + FAKE_FFMPEG[how] + "\n")
    fake.chmod(0o755)
    monkeypatch.setattr(ffmpeg, "get_ffmpeg_exe", lambda: str(fake))
    target = _old_target(tmp_path, "a.mp4")
    with pytest.raises(ValueError) as exc:
        write_animation(short, target, seconds=1, fps=10, size=SIZE)
    msg = one_line(exc)
    if how == "claims-success":
        assert "the MP4 written is incomplete" in msg, msg
    else:
        assert "MP4 encoder failed (Error writing trailer: No space left on device)" in msg, msg
    assert capfd.readouterr().err == ""  # nothing of ffmpeg's reaches the terminal
    assert target.read_bytes() == b"the previous animation"
    assert leftovers(tmp_path, {"bin"}) == ["a.mp4"]


def test_the_mp4_read_back_counts_the_frames_and_refuses_a_cut_file(short, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / "a.mp4"
    write_animation(short, out, seconds=1.5, fps=10, size=SIZE)
    assert mp4_frame_count(str(out)) == 15
    data = out.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 40):
        out.write_bytes(data[:cut])
        with pytest.raises(ValueError):
            mp4_frame_count(str(out))


@pytest.mark.parametrize("ext", [".gif", ".mp4"])
def test_cancel_mid_way_leaves_no_file_and_the_old_one_untouched(short, tmp_path, ext):
    if ext == ".mp4":
        pytest.importorskip("imageio_ffmpeg")
    target = _old_target(tmp_path, "a" + ext)
    seen = []
    with pytest.raises(AnimationCancelled):
        write_animation(
            short,
            target,
            seconds=2,
            fps=10,
            size=SIZE,
            on_progress=lambda done, total: seen.append((done, total)),
            should_stop=lambda: len(seen) >= 7,
        )
    assert seen[-1] == (7, 20)
    assert target.read_bytes() == b"the previous animation"
    assert leftovers(tmp_path) == ["a" + ext]


def test_a_missing_video_encoder_names_the_extra(short, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(EncoderMissing) as exc:
        write_animation(short, tmp_path / "a.mp4", seconds=1, fps=4)
    assert "pip install 'bpgui[video]'" in one_line(exc)
    assert leftovers(tmp_path) == []
    # a GIF needs only Pillow
    write_animation(short, tmp_path / "a.gif", seconds=1, fps=4, size=SIZE)
    assert leftovers(tmp_path) == ["a.gif"]


def test_no_ffmpeg_program_names_the_extra(short, tmp_path, monkeypatch):
    ffmpeg = pytest.importorskip("imageio_ffmpeg")

    def none():
        raise RuntimeError("No ffmpeg exe could be found.")

    monkeypatch.setattr(ffmpeg, "get_ffmpeg_exe", none)
    with pytest.raises(EncoderMissing) as exc:
        anim.write_animation(short, tmp_path / "a.mp4", seconds=1, fps=4)
    assert "bpgui[video]" in one_line(exc)
    assert leftovers(tmp_path) == []


# ---- headless ----------------------------------------------------------------------------------
def test_export_animation_on_the_command_line(short, tmp_path, capsys):
    path = tmp_path / "s.bpgui"
    save_session(short, path)
    out = tmp_path / "a.gif"
    rc = main(
        ["export", str(path), "--animation", str(out), "--seconds", "1.5", "--fps", "6",
         "--spacing", "linear", "--theme", "light", "--no-curve", "--size", "320x240"]
    )  # fmt: skip
    assert rc == 0
    err = capsys.readouterr().err
    assert "wrote" in err and "9 frames" in err
    with Image.open(out) as im:
        assert im.n_frames == 9 and im.size == (320, 240)


def test_export_animation_errors_are_one_line_exit_2(short, tmp_path, capsys):
    path = tmp_path / "s.bpgui"
    save_session(short, path)
    one = tmp_path / "one.bpgui"
    save_session(trained(get_experiment("trajectory-a").setup(), epochs=1), one)
    cases = [
        [str(one), "--animation", str(tmp_path / "a.gif")],
        [str(path), "--animation", str(tmp_path / "a.gif"), "--seconds", "0"],
        [str(path), "--animation", str(tmp_path), "--fps", "5"],
        [str(path), "--animation", str(tmp_path / "a.gif"), "--size", "big"],
        [str(path), "--history", str(tmp_path / "h.csv"), "--fps", "5"],
        # the animation's options are checked before any other output is written
        [str(path), "--history", str(tmp_path / "h.csv"), "--animation", "x.gif", "--fps", "0"],
    ]
    for args in cases:
        assert main(["export", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("bpgui: error: "), err
    assert leftovers(tmp_path) == ["one.bpgui", "s.bpgui"]


def test_the_animation_module_loads_no_qt():
    code = (
        "import sys, bpgui.export.animation; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
