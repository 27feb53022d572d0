"""A run as an animation for slides: its trajectory on the contour (and the error curve
beside it), as an animated GIF (Pillow) or an MP4 video (imageio-ffmpeg's ffmpeg, the
optional ``video`` extra); the encoders live in :mod:`bpgui.export.animation_encode`.

No Qt: :func:`render_frames` and :func:`write_animation` run on any thread -- the window's
worker (:mod:`bpgui.export.animation_dialog`) and ``bpgui export SESSION --animation FILE``.

Which epochs the frames show (:func:`frame_rows`): ``"log"`` spaces them geometrically
in the epochs since the start (at least one epoch per frame at first), so a run whose
error creeps for thousands of epochs and then falls (trajectory a: 324,000 epochs) shows
the creep, the flat region and the fall; ``"linear"`` spaces them evenly.

The file is written beside the target and renamed into place only once the encoder
reported success and the file read back whole (:func:`bpgui_engine.safe_write.replacing`,
:mod:`bpgui.export.animation_encode`): an error, a full disk or Cancel leaves no partial
file and the old file untouched; a folder, device or FIFO as the target is refused
before any work.  Every error is a ``ValueError`` with one line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bpgui.export.animation_draw import THEMES, RunData, Scene, run_data
from bpgui.export.animation_encode import (
    AnimationError,
    EncoderMissing,
    mp4_encoder,
    verify_gif,
    verify_mp4,
    write_gif,
    write_mp4,
)
from bpgui_engine.safe_write import replacing, resolve_target

__all__ = [
    "FORMATS",
    "AnimationCancelled",
    "AnimationError",
    "AnimationResult",
    "EncoderMissing",
    "RunData",
    "check_animation",
    "frame_rows",
    "render_frames",
    "run_data",
    "write_animation",
]

FORMATS = (".gif", ".mp4")
SPACINGS = ("log", "linear")
MAX_SECONDS = 600.0
FPS_RANGE = (1, 60)
GIF_MAX_FPS = 50  # GIF delays are in hundredths of a second; under 2 most viewers slow down
MAX_FRAMES = 3600
GIF_MAX_PIXELS = 400_000_000  # frames x width x height: Pillow keeps a GIF's frames in memory
WIDTH_RANGE, HEIGHT_RANGE = (240, 3840), (160, 2160)

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


class AnimationCancelled(Exception):
    """``should_stop()`` said stop; nothing was written."""


@dataclass(frozen=True)
class AnimationResult:
    path: str
    frames: int
    width: int
    height: int
    bytes: int
    seconds: float
    fps: int
    first_epoch: int
    last_epoch: int
    kept: str = ""  # which epochs the (thinned) history keeps ("": every epoch)

    def summary(self) -> str:
        mb = self.bytes / 1e6
        return (
            f"{self.path}: {self.frames} frames, {self.width} x {self.height}, "
            f"{self.seconds:g} s at {self.fps} fps (epochs {self.first_epoch:,} to "
            f"{self.last_epoch:,}), {mb:.1f} MB{self.kept_note()}"
        )

    def kept_note(self) -> str:
        return f"; from a thinned history ({self.kept})" if self.kept else ""


def default_size(with_curve: bool) -> tuple[int, int]:
    return (900, 420) if with_curve else (480, 420)


def frame_rows(epochs: np.ndarray, n_frames: int, spacing: str = "log") -> np.ndarray:
    """The history rows the ``n_frames`` frames show: the first and the last row at the
    ends, the epochs in between spaced ``"log"`` (geometric in the epochs since the
    start, but at least one epoch per frame at first) or ``"linear"``."""
    epochs = np.asarray(epochs, np.int64)
    span = float(epochs[-1] - epochs[0])
    t = np.linspace(0.0, 1.0, n_frames)
    if spacing == "log":
        offset = np.expm1(t * math.log1p(span))
        offset = np.maximum(offset, t * min(span, n_frames - 1.0))
    else:
        offset = t * span
    target = epochs[0] + np.round(offset).astype(np.int64)
    rows = np.searchsorted(epochs, target, side="right") - 1
    rows[-1] = len(epochs) - 1
    return np.clip(rows, 0, len(epochs) - 1)


def _check(seconds, fps, spacing, size, theme, with_curve, ext=None) -> tuple[int, tuple]:
    """The number of frames and the size, or :class:`AnimationError`."""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise AnimationError(f"duration: not a number ({seconds!r})") from None
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_SECONDS:
        raise AnimationError(
            f"duration: must be more than 0 and at most {MAX_SECONDS:g} seconds, got {seconds:g}"
        )
    hi = GIF_MAX_FPS if ext == ".gif" else FPS_RANGE[1]
    if isinstance(fps, bool) or not isinstance(fps, int | np.integer) or not 1 <= fps <= hi:
        why = ""
        if ext == ".gif" and isinstance(fps, int | float) and fps > hi:
            why = " (GIF frames cannot be shorter than 20 ms: use MP4)"
        raise AnimationError(
            f"frame rate: must be a whole number from 1 to {hi} frames/s, got {fps!r}{why}"
        )
    if spacing not in SPACINGS:
        raise AnimationError(f"spacing: choose log or linear, not {spacing!r}")
    if theme not in THEMES:
        raise AnimationError(f"theme: choose {' or '.join(THEMES)}, not {theme!r}")
    size = default_size(with_curve) if size is None else size
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise AnimationError(f"size: expected (width, height), got {size!r}") from None
    if not (WIDTH_RANGE[0] <= w <= WIDTH_RANGE[1] and HEIGHT_RANGE[0] <= h <= HEIGHT_RANGE[1]):
        raise AnimationError(
            f"size: width {WIDTH_RANGE[0]}-{WIDTH_RANGE[1]} and height "
            f"{HEIGHT_RANGE[0]}-{HEIGHT_RANGE[1]} pixels, got {w} x {h}"
        )
    if ext == ".mp4":  # yuv420p video needs even dimensions
        w, h = w - w % 2, h - h % 2
    n = round(seconds * int(fps))
    if n < 2:
        raise AnimationError(
            f"duration: {seconds:g} s at {fps} fps is {n} frame(s); an animation needs at least 2"
        )
    if n > MAX_FRAMES:
        raise AnimationError(
            f"{seconds:g} s at {fps} fps is {n:,} frames, more than {MAX_FRAMES:,}: "
            "shorten it or lower the frame rate"
        )
    if ext == ".gif" and n * w * h > GIF_MAX_PIXELS:
        raise AnimationError(
            f"a GIF of {n:,} frames at {w} x {h} is too large to build in memory: fewer "
            "frames, a smaller size, or MP4"
        )
    return n, (w, h)


@dataclass
class _Job:
    scene: Scene
    rows: np.ndarray

    def frames(
        self, on_progress: ProgressFn | None, should_stop: StopFn | None
    ) -> Iterator[Image.Image]:
        n = len(self.rows)
        for k, row in enumerate(self.rows):
            if should_stop is not None and should_stop():
                raise AnimationCancelled("cancelled")
            im = self.scene.frame(int(row), last=k == n - 1)
            if on_progress is not None:
                on_progress(k + 1, n)
            yield im


def _job(session, seconds, fps, spacing, size, with_curve, theme, ext=None) -> _Job:
    n, size = _check(seconds, fps, spacing, size, theme, with_curve, ext)
    run = session if isinstance(session, RunData) else run_data(session)
    rows = frame_rows(run.epochs, n, spacing)
    try:
        scene = Scene(run, size, bool(with_curve), theme, log_x=spacing == "log")
    except ValueError as exc:
        raise AnimationError(str(exc)) from None
    return _Job(scene, rows)


def render_frames(
    session,
    *,
    seconds: float = 10.0,
    fps: int = 20,
    spacing: str = "log",
    size: tuple[int, int] | None = None,
    with_curve: bool = True,
    theme: str = "dark",
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Iterator[Image.Image]:
    """The ``round(seconds * fps)`` frames (RGB images of ``size``) of ``session``'s run
    (a :class:`~engine.session.Session` with a history, or :func:`run_data` of one).

    The options and the run are checked -- and the surface computed -- when this is
    called, before the first frame.  ``on_progress(done, total)`` after each frame;
    ``should_stop()`` before each, :class:`AnimationCancelled` when it says so.  The
    epoch axis of the error curve is logarithmic with ``"log"`` spacing (the marker
    then moves at an even pace), linear otherwise."""
    job = _job(session, seconds, fps, spacing, size, with_curve, theme)
    return job.frames(on_progress, should_stop)


def write_animation(
    session,
    path: str | os.PathLike,
    *,
    seconds: float = 10.0,
    fps: int = 20,
    spacing: str = "log",
    size: tuple[int, int] | None = None,
    with_curve: bool = True,
    theme: str = "dark",
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> AnimationResult:
    """Write the animation of ``session``'s run to ``path``: ``.gif`` (Pillow) or ``.mp4``
    (H.264, yuv420p; needs the ``video`` extra).  Options as :func:`render_frames`
    (an MP4's width and height are rounded down to even numbers).  A GIF is encoded
    after its last frame is drawn, so ``on_progress`` reaches its total a moment before
    the file is complete."""
    name = os.fspath(path)
    ext = Path(name).suffix.lower()
    encoder = check_animation(name, seconds, fps, spacing, size, theme, with_curve)
    job = _job(session, seconds, fps, spacing, size, with_curve, theme, ext)
    frames = job.frames(on_progress, should_stop)
    fps = int(fps)
    with replacing(name, suffix=ext) as tmp:
        size = (job.scene.W, job.scene.H)
        if ext == ".gif":  # what the encoder reported, then what landed
            write_gif(job.scene, len(job.rows), frames, tmp, fps)
            verify_gif(tmp, name, size, len(job.rows))
        else:
            n = write_mp4(encoder, frames, tmp, fps, size, name)
            verify_mp4(tmp, name, n)
        written = os.path.getsize(tmp)
    run = job.scene.run
    return AnimationResult(
        name,
        len(job.rows),
        job.scene.W,
        job.scene.H,
        written,
        float(seconds),
        fps,
        int(run.epochs[job.rows[0]]),
        int(run.epochs[job.rows[-1]]),
        run.kept,
    )


def check_animation(
    path: str | os.PathLike,
    seconds: float = 10.0,
    fps: int = 20,
    spacing: str = "log",
    size: tuple[int, int] | None = None,
    theme: str = "dark",
    with_curve: bool = True,
):
    """Everything :func:`write_animation` checks before drawing, without a session: the
    file name's format, the options, the MP4 encoder, and the target (a folder, device
    or FIFO is refused; its folder must exist).  :class:`AnimationError` /
    :class:`~engine.safe_write.OutputError` with one line; returns the MP4 encoder."""
    name = os.fspath(path)
    ext = Path(name).suffix.lower()
    if ext not in FORMATS:
        raise AnimationError(
            f"animation: the file name must end in .gif or .mp4, not {Path(name).name!r}"
        )
    _check(seconds, fps, spacing, size, theme, with_curve, ext)
    encoder = mp4_encoder() if ext == ".mp4" else None
    resolve_target(name)
    return encoder
