"""Encoding an animation's frames into a file, and checking what landed before the file
replaces anything (issue 18 #17).

* GIF: Pillow, one palette for every frame; the file read back must be a whole GIF (its
  trailer byte there, every frame's header readable, the frame size right).
* MP4: the ffmpeg program of imageio-ffmpeg (the ``video`` extra), driven directly so that
  its exit status and its error messages are ours: a failed encode (a full disk: "Error
  writing trailer: No space left on device") is one line, nothing of ffmpeg's reaches the
  terminal, and the file read back must hold the ``ftyp``, ``moov`` and ``mdat`` boxes
  end to end and one video sample per frame.

No Qt.  Every failure is an ``OSError`` with one line, which
:func:`bpgui_engine.safe_write.replacing` turns into an error that leaves the old file.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Iterator

import numpy as np
from PIL import Image

from bpgui.export.animation_draw import Scene, viridis

__all__ = [
    "AnimationError",
    "EncoderMissing",
    "gif_durations",
    "gif_palette",
    "mp4_encoder",
    "mp4_frame_count",
    "verify_gif",
    "write_gif",
    "write_mp4",
]

VIDEO_HINT = "pip install 'bpgui[video]'"
CRF = 10  # H.264 constant rate factor: what imageio's quality 8 gave


class AnimationError(ValueError):
    """Bad options or a run that cannot be animated; the message is one line."""


class EncoderMissing(AnimationError):
    """The optional MP4 encoder (imageio-ffmpeg's ffmpeg) is not installed."""


# ---- GIF ----------------------------------------------------------------------------------------
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


def write_gif(scene: Scene, n: int, frames: Iterator[Image.Image], tmp: str, fps: int) -> None:
    """One palette for all frames (:func:`gif_palette`, no dithering): unchanged pixels
    stay identical, so Pillow stores only each frame's changed box.  Identical
    consecutive frames (a run shorter than the frame count) are merged by Pillow into
    one longer frame; the total duration stays."""
    palette = gif_palette(scene)

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
        duration=gif_durations(n, fps),
        loop=0,
        optimize=False,
    )


def verify_gif(tmp: str, name: str, size: tuple[int, int], n: int) -> None:
    """The GIF written must read back whole: the trailer byte at its end, every frame's
    header readable (no pixels decoded), the size right, at most ``n`` frames."""
    bad = f"cannot write {name}: the GIF written is incomplete (is the disk full?)"
    with open(tmp, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() < 14:
            raise OSError(bad)
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != b";":
            raise OSError(bad)
    try:
        with Image.open(tmp) as im:
            frames = im.n_frames
            ok = im.format == "GIF" and im.size == tuple(size) and 1 <= frames <= n
    except (OSError, ValueError, EOFError, SyntaxError):
        ok = False
    if not ok:
        raise OSError(bad)


# ---- MP4 ----------------------------------------------------------------------------------------
def mp4_encoder() -> str:
    """The ffmpeg program imageio-ffmpeg provides, or :class:`EncoderMissing`."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise EncoderMissing(
            f"MP4 needs the optional video encoder (imageio and imageio-ffmpeg): {VIDEO_HINT}, "
            "or write a .gif"
        ) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # RuntimeError: no binary for this platform, none on PATH
        raise EncoderMissing(
            f"MP4: imageio-ffmpeg finds no ffmpeg program: {VIDEO_HINT} (or set "
            "IMAGEIO_FFMPEG_EXE), or write a .gif"
        ) from None


def _ffmpeg_command(ffmpeg: str, size: tuple[int, int], fps: int, tmp: str) -> list[str]:
    w, h = size
    return [
        ffmpeg, "-y", "-hide_banner", "-loglevel", "error",
        "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}", "-pix_fmt", "rgb24",
        "-r", str(int(fps)), "-i", "-", "-an",
        "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", str(CRF),
        "-movflags", "+faststart", "-f", "mp4", tmp,
    ]  # fmt: skip


def _ffmpeg_error(log) -> str:
    """ffmpeg's first error line, without its ``[out#0/mp4 @ 0x...]`` prefix."""
    log.seek(0)
    for raw in log.read(1 << 16).decode("utf-8", "replace").splitlines():
        line = re.sub(r"^(\[[^\]]*\]\s*)+", "", raw).strip()
        if line:
            return line
    return ""


def write_mp4(ffmpeg: str, frames: Iterator[Image.Image], tmp: str, fps: int,
              size: tuple[int, int], name: str) -> int:  # fmt: skip
    """Pipe the frames (RGB, ``size``) into ffmpeg encoding H.264 into ``tmp``; returns the
    number of frames.  ffmpeg's messages go to a temporary file, never to the terminal;
    a non-zero exit status is an ``OSError`` naming ffmpeg's first error."""
    failed = f"cannot write {name}: the MP4 encoder failed"
    with tempfile.TemporaryFile() as log:
        try:
            proc = subprocess.Popen(
                _ffmpeg_command(ffmpeg, size, fps, tmp),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        except OSError as exc:
            raise OSError(f"{failed} to start ({exc.strerror or exc})") from None
        n = 0
        try:
            for im in frames:
                proc.stdin.write(np.ascontiguousarray(np.asarray(im, np.uint8)).tobytes())
                n += 1
            proc.stdin.close()
            code = proc.wait()
        except (BrokenPipeError, ConnectionResetError):  # ffmpeg gave up: its reason below
            code = proc.wait()
            code = code or -1
        finally:
            if proc.poll() is None:  # an error or Cancel: stop ffmpeg, the file is dropped
                proc.kill()
                proc.wait()
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if code != 0:
            why = _ffmpeg_error(log) or f"exit status {code}"
            raise OSError(f"{failed} ({why})")
    return n


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(fh, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The ISO-BMFF boxes between ``start`` and ``end``: (type, body start, box end);
    ``ValueError`` when one runs past ``end``."""
    pos = start
    while pos < end:
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError("a box header is cut off")
        size, kind = struct.unpack(">I4s", head)
        body = pos + 8
        if size == 1:
            big = fh.read(8)
            if len(big) < 8:
                raise ValueError("a box header is cut off")
            size, body = struct.unpack(">Q", big)[0], pos + 16
        elif size == 0:
            size = end - pos
        if size < body - pos or pos + size > end:
            raise ValueError(f"box {kind!r} runs past the end")
        yield kind, body, pos + size
        pos += size


def mp4_frame_count(path: str) -> int:
    """The video samples of the MP4 at ``path``, read from its boxes (nothing decoded):
    the top-level boxes must tile the file and hold ``ftyp``, ``moov`` and ``mdat``.
    ``ValueError`` when the file is not a whole MP4."""
    with open(path, "rb") as fh:
        end = os.fstat(fh.fileno()).st_size
        top = {kind: (body, stop) for kind, body, stop in _boxes(fh, 0, end)}
        if not {b"ftyp", b"moov", b"mdat"} <= set(top):
            raise ValueError("no ftyp, moov or mdat box")
        counts: list[int] = []

        def walk(start: int, stop: int, video: bool) -> None:
            for kind, body, box_end in _boxes(fh, start, stop):
                if kind == b"trak":
                    walk(body, box_end, False)
                elif kind == b"mdia":
                    walk(body, box_end, _is_video(fh, body, box_end))
                elif kind in _CONTAINERS:
                    walk(body, box_end, video)
                elif kind == b"stsz" and video:
                    fh.seek(body + 8)  # version and flags, sample size
                    counts.append(struct.unpack(">I", fh.read(4))[0])

        walk(*top[b"moov"], False)
    if len(counts) != 1:
        raise ValueError(f"{len(counts)} video tracks")
    return counts[0]


def _is_video(fh, start: int, stop: int) -> bool:
    for kind, body, _ in _boxes(fh, start, stop):
        if kind == b"hdlr":
            fh.seek(body + 8)  # version and flags, pre-defined
            return fh.read(4) == b"vide"
    return False


def verify_mp4(tmp: str, name: str, n: int) -> None:
    """The MP4 written must be whole and hold ``n`` frames (:func:`mp4_frame_count`)."""
    try:
        found = mp4_frame_count(tmp)
    except (OSError, ValueError, struct.error) as exc:
        raise OSError(
            f"cannot write {name}: the MP4 written is incomplete ({exc}; is the disk full?)"
        ) from None
    if found != n:
        raise OSError(f"cannot write {name}: the MP4 written holds {found} of {n} frames")
