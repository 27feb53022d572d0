"""A run as an animation for slides: its trajectory on the contour (and the error curve
beside it), as an animated GIF (Pillow) or an MP4 video (imageio with imageio-ffmpeg's
ffmpeg, the optional ``video`` extra).

No Qt: :func:`render_frames` and :func:`write_animation` run on any thread -- the window's
worker (:mod:`bpgui.animation_dialog`) and ``bpgui export SESSION --animation FILE``.

Which epochs the frames show (:func:`frame_rows`): ``"log"`` spaces them geometrically
in the epochs since the start (at least one epoch per frame at first), so a run whose
error creeps for thousands of epochs and then falls (trajectory a: 324,000 epochs) shows
the creep, the flat region and the fall; ``"linear"`` spaces them evenly.

The file is written beside the target and renamed into place only once complete
(:func:`bpgui_engine.safe_write.replacing`): an error, a full disk or Cancel leaves no partial
file and the old file untouched; a folder, device or FIFO as the target is refused
before any work.  Every error is a ``ValueError`` with one line.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bpgui_engine.safe_write import replacing, resolve_target

from .animation_draw import THEMES, RunData, Scene, run_data, viridis

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
VIDEO_HINT = "pip install 'bpgui[video]'"

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


class AnimationError(ValueError):
    """Bad options or a run that cannot be animated; the message is one line."""


class EncoderMissing(AnimationError):
    """The optional MP4 encoder (imageio + imageio-ffmpeg) is not installed."""


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

    def summary(self) -> str:
        mb = self.bytes / 1e6
        return (
            f"{self.path}: {self.frames} frames, {self.width} x {self.height}, "
            f"{self.seconds:g} s at {self.fps} fps (epochs {self.first_epoch:,} to "
            f"{self.last_epoch:,}), {mb:.1f} MB"
        )


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
        if ext == ".gif":
            _write_gif(job, frames, tmp, fps)
        else:
            _write_mp4(encoder, frames, tmp, fps, name)
        written = os.path.getsize(tmp)
        if written == 0:
            raise OSError(f"cannot write {name}: nothing was written (is the disk full?)")
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
    encoder = _mp4_encoder() if ext == ".mp4" else None
    resolve_target(name)
    return encoder


def gif_durations(n: int, fps: int) -> list[int]:
    """Frame delays in ms, multiples of 10 (GIF counts hundredths), adding up to
    ``n / fps`` seconds to the hundredth."""
    ends = np.round(np.arange(1, n + 1) * 100.0 / fps).astype(np.int64)
    return (np.diff(ends, prepend=0) * 10).tolist()


def gif_palette(scene: Scene) -> Image.Image:
    """One palette for every frame: the exact colours of the markers, text and curves,
    then what median cut finds in the background, the last frame and a viridis ramp as
    large as a frame (so the rare dark colours of the surface get entries too)."""
    fixed = list(dict.fromkeys(scene.fixed_colours()))
    probe = scene.frame(len(scene.run.epochs) - 1, last=True)
    w, h = scene.W, scene.H
    sample = Image.new("RGB", (w, 3 * h))
    sample.paste(scene.background.reduce(2), (0, 0))
    sample.paste(probe, (0, h))
    sample.paste(ramp_image(w, h), (0, 2 * h))
    found = sample.quantize(256 - len(fixed), method=Image.Quantize.MEDIANCUT)
    colours = [c for rgb in fixed for c in rgb] + found.getpalette()[: 3 * (256 - len(fixed))]
    pal = Image.new("P", (1, 1))
    pal.putpalette(colours + [0] * (768 - len(colours)))
    return pal


def ramp_image(w: int, h: int) -> Image.Image:
    row = viridis(np.linspace(0.0, 1.0, w))[None, :, :]
    return Image.fromarray(np.ascontiguousarray(np.repeat(row, h, axis=0)), "RGB")


def _write_gif(job: _Job, frames: Iterator[Image.Image], tmp: str, fps: int) -> None:
    """One palette for all frames (:func:`gif_palette`, no dithering): unchanged pixels
    stay identical, so Pillow stores only each frame's changed box.  Identical
    consecutive frames (a run shorter than the frame count) are merged by Pillow into
    one longer frame; the total duration stays."""
    rows = job.rows
    palette = gif_palette(job.scene)

    def indexed() -> Iterator[Image.Image]:
        for im in frames:
            yield im.quantize(palette=palette, dither=Image.Dither.NONE)

    seq = indexed()
    first = next(seq)
    first.save(
        tmp,
        format="GIF",
        save_all=True,
        append_images=seq,
        duration=gif_durations(len(rows), fps),
        loop=0,
        optimize=False,
    )


def _mp4_encoder():
    """imageio's v2 API, once the ffmpeg binary is known to be there."""
    try:
        import imageio.v2 as iio
        import imageio_ffmpeg
    except ImportError:
        raise EncoderMissing(
            f"MP4 needs the optional video encoder (imageio and imageio-ffmpeg): {VIDEO_HINT}, "
            "or write a .gif"
        ) from None
    try:
        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # RuntimeError: no binary for this platform, none on PATH
        raise EncoderMissing(
            f"MP4: imageio-ffmpeg finds no ffmpeg program: {VIDEO_HINT} (or set "
            "IMAGEIO_FFMPEG_EXE), or write a .gif"
        ) from None
    return iio


def _write_mp4(iio, frames: Iterator[Image.Image], tmp: str, fps: int, name: str) -> None:
    writer = None
    try:
        writer = iio.get_writer(
            tmp,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            pixelformat="yuv420p",
            quality=8,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart"],
        )
        for im in frames:
            writer.append_data(np.asarray(im))
        w, writer = writer, None
        w.close()
    except (AnimationCancelled, AnimationError, MemoryError):
        raise
    except Exception as exc:
        raise OSError(f"cannot write {name}: the MP4 encoder failed ({_first_line(exc)})") from None
    finally:
        if writer is not None:  # an error or Cancel: end ffmpeg, the file is dropped anyway
            with contextlib.suppress(Exception):  # the first error is the one reported
                writer.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
