"""One frame of a run's animation, drawn with Pillow: the error surface as a colour image
with isolines, the path up to the frame's epoch, and optionally the error curve beside it.

No Qt: it runs on any thread (the dialog's worker, ``bpgui export --animation``).  Frames
are drawn at twice their size and reduced, so lines and text come out smooth; everything
that does not move (surface, isolines, axes, the whole error curve, faint) is drawn once
into a background that every frame copies.

A long module (over 400 lines) on purpose: the surface, the path, the axes and the curve
share one coordinate mapping and one supersampled canvas; apart, each piece would need
the whole frame's geometry passed to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bpgui.export.animation_plane import DecisionPanel
from bpgui_engine.analysis.contour import contour_levels, isolines
from bpgui_engine.analysis.surface import evaluate_surface
from bpgui_engine.memory import check_surface
from bpgui_engine.model.presets import BOOK_OPTIMUM, get_preset
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.pathdec import PathDecimator

__all__ = ["THEMES", "RunData", "Scene", "Theme", "run_data", "viridis"]

SS = 2  # supersampling: drawn at twice the size, then reduced
FLOOR = 1e-30  # log colour scale: values below show as this
#: viridis (matplotlib's, CC0), 17 evenly spaced anchors, interpolated linearly
VIRIDIS = np.array(
    [
        (68, 1, 84), (72, 24, 106), (71, 45, 123), (66, 64, 134), (59, 82, 139),
        (51, 99, 141), (44, 114, 142), (38, 130, 142), (33, 145, 140), (31, 159, 136),
        (39, 173, 129), (61, 188, 116), (92, 200, 99), (129, 211, 77), (170, 220, 50),
        (213, 226, 26), (253, 231, 37),
    ],
    dtype=float,
)  # fmt: skip
BOOK = get_preset("book-1-2-1")
START = (46, 196, 182)  # the app's markers: teal start, white current, red end, yellow optimum
CURRENT = (255, 255, 255)
END = (231, 29, 54)
OPTIMUM = (255, 210, 63)
OUTLINE = (20, 20, 20)


@dataclass(frozen=True)
class Theme:
    background: tuple[int, int, int]
    text: tuple[int, int, int]
    dim: tuple[int, int, int]  # tick labels, secondary text
    axis: tuple[int, int, int]
    curve: tuple[int, int, int]  # the error curve up to the frame's epoch
    ahead: tuple[int, int, int]  # the rest of the curve, faint


THEMES = {
    "dark": Theme((25, 25, 28), (235, 235, 235), (170, 170, 175), (120, 120, 128),
                  (90, 180, 255), (70, 70, 80)),
    "light": Theme((255, 255, 255), (25, 25, 25), (80, 80, 80), (110, 110, 110),
                   (31, 119, 180), (215, 215, 220)),
}  # fmt: skip


@dataclass(frozen=True)
class RunData:
    """What an animation needs of a session, copied (the window's run may go on)."""

    setup: Setup
    epochs: np.ndarray  # (n,) int64, increasing
    sse: np.ndarray  # (n,)
    px: np.ndarray  # (n,) the path along the contour's x axis
    py: np.ndarray  # (n,) and along its y axis
    slice_theta: np.ndarray  # the full parameter vector the surface is a slice through
    finished: bool  # the run has ended (its end marker is drawn on the last frame)
    kept: str = ""  # which epochs a thinned history keeps ("": every epoch)
    x: np.ndarray | None = None  # (n, n_free) for data in the plane (its decision map)
    performance: np.ndarray | None = None  # (n,) the index trained, when it is not the SSE


def run_data(session) -> RunData:
    """Copy what an animation of ``session``'s run needs; ``ValueError`` (one line) when
    there is no run to animate."""
    h = session.history
    if h is None or len(h) == 0:
        raise ValueError("animation: the session has no run to animate (train it first)")
    epochs = np.array(h.column("epoch"), dtype=np.int64)
    span = int(epochs[-1] - epochs[0])
    if span < 2:
        raise ValueError(
            f"animation: the run has {'only 1 epoch' if span == 1 else 'no epochs'}; "
            "an animation needs at least 2 (train it further)"
        )
    if np.any(np.diff(epochs) <= 0):
        raise ValueError("animation: the run's epochs are not increasing")
    setup = session.setup
    x = np.array(h.x, dtype=float)
    theta0 = setup.full_theta(x[0])
    cols = []
    for axis in setup.axes:
        if axis in setup.free:
            cols.append(x[:, setup.free.index(axis)])
        else:
            cols.append(np.full(len(x), theta0[setup.spec.index(axis)]))
    run = session.run
    finished = h.stop is not None or (run is not None and run.stop is not None)
    return RunData(
        setup, epochs, np.array(h.column("sse"), float), cols[0], cols[1], theta0, finished,
        "" if h.kept is None else h.describe(), x if DecisionPanel.wanted(setup) else None,
        None if setup.index_name == "SSE" else np.array(h.column("performance"), float),
    )  # fmt: skip


def _optimum(setup: Setup, theta: np.ndarray) -> tuple[float, float] | None:
    """The book's optimum, when the slice is of the book's problem through it (as the
    window's contour shows it)."""
    d = setup.data
    book = (d.kind, d.preset, d.normalize, d.validation) == ("preset", "book-1-2-1", "none", 0)
    if not book or setup.spec != BOOK.spec:
        return None
    fixed = [k for k, lab in enumerate(setup.spec.labels) if lab not in setup.free]
    if any(theta[k] != BOOK_OPTIMUM[k] for k in fixed):
        return None
    i, j = setup.spec.index(setup.axes[0]), setup.spec.index(setup.axes[1])
    return float(BOOK_OPTIMUM[i]), float(BOOK_OPTIMUM[j])


def _font(px: int):
    try:
        return ImageFont.load_default(size=px)  # Pillow's bundled TrueType font
    except (TypeError, OSError):  # no FreeType: the bitmap font
        return ImageFont.load_default()


def viridis(t: np.ndarray) -> np.ndarray:
    """Viridis colours (uint8 RGB) of values in [0, 1]."""
    pos = np.clip(t, 0.0, 1.0) * (len(VIRIDIS) - 1)
    out = np.stack([np.interp(pos, np.arange(len(VIRIDIS)), VIRIDIS[:, c]) for c in range(3)])
    return np.moveaxis(out, 0, -1).round().astype(np.uint8)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step


def _fmt_tick(v: float) -> str:
    v = 0.0 if abs(v) < 1e-12 else v
    return f"{v:g}"


def _fmt_count(v: float) -> str:
    """1, 10, 100, 1k, 10k, 100k, 1M, 1.5M ..."""
    for unit, k in (("M", 1e6), ("k", 1e3)):
        if abs(v) >= k:
            return f"{v / k:g}{unit}"
    return f"{v:g}"


class Scene:
    """Layout and background of one animation; :meth:`frame` draws row ``r`` of the run."""

    def __init__(
        self, run: RunData, size: tuple[int, int], with_curve: bool, theme: str, log_x: bool
    ) -> None:
        self.run, self.theme, self.log_x = run, THEMES[theme], log_x
        self.with_curve = with_curve
        self.plane = with_curve and run.x is not None  # the decision map, not the curve
        self.W, self.H = size
        fs = int(min(28, max(10, round(self.H / 28))))
        self.fs = fs
        self.font = _font(fs * SS)
        self.big = _font(round(fs * 1.2) * SS)
        self.small = _font(round(fs * 0.85) * SS)
        self._layout()
        self._surface()
        self.background = self._background()
        self._path_points()

    # ---- layout (in final pixels) --------------------------------------------------------
    def _layout(self) -> None:
        fs, W, H = self.fs, self.W, self.H
        top, bottom = round(2.2 * fs), round(2.8 * fs)
        left = round(3.6 * fs)
        side = H - top - bottom
        bar_gap, bar_w, bar_labels = round(0.6 * fs), round(0.7 * fs), round(3.8 * fs)
        contour_w = left + side + bar_gap + bar_w + bar_labels
        curve_left, right = round(4.8 * fs), round(1.2 * fs)
        need = contour_w + (curve_left + round(6 * fs) + right if self.with_curve else 0)
        if side < 60 or need > W:
            what = " with the error curve" if self.with_curve else ""
            raise ValueError(
                f"size: {W} x {H} is too small for the animation{what}; make it at least "
                f"{need} wide (or taller than {H})"
            )
        x0 = 0 if self.with_curve else (W - contour_w) // 2
        self.plot = (x0 + left, top, x0 + left + side, top + side)
        self.bar = (self.plot[2] + bar_gap, top, self.plot[2] + bar_gap + bar_w, top + side)
        self.curve = self.decision = None
        if self.plane:  # a square beside the contour: the decision regions
            rect = (x0 + contour_w + fs, top, x0 + contour_w + fs + side, top + side)
            if rect[2] > W:
                raise ValueError(f"size: {W} x {H} is too small for the animation with the "
                                 f"decision map; make it at least {rect[2]} wide")  # fmt: skip
            self.decision = DecisionPanel(self.run.setup, rect, SS, self.theme.background)
        elif self.with_curve:
            cx0 = x0 + contour_w + curve_left
            self.curve = (cx0, top, W - right, top + side)

    # ---- the surface ---------------------------------------------------------------------
    def _surface(self) -> None:
        r, s = self.run, self.run.setup
        side = self.plot[2] - self.plot[0]
        res = int(min(240, max(40, side)))
        data, _ = s.data.build()
        check_surface(s.spec, data.n_samples, res * res)
        (xl, yl), (xr, yr) = s.axes, s.ranges
        self.surf = evaluate_surface(
            s.spec, data, r.slice_theta, xl, xr, yl, yr, res, s.performance, s.penalty
        )
        self.optimum = _optimum(s, r.slice_theta)

    # ---- coordinates (supersampled pixels) -----------------------------------------------
    def _to_plot(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Parameter coordinates to pixels of the contour (relative to its corner)."""
        (xlo, xhi), (ylo, yhi) = self.run.setup.ranges
        w = (self.plot[2] - self.plot[0]) * SS
        h = (self.plot[3] - self.plot[1]) * SS
        with np.errstate(all="ignore"):
            u = (np.asarray(x, float) - xlo) / (xhi - xlo) * w
            v = (yhi - np.asarray(y, float)) / (yhi - ylo) * h
        lim = 10.0 * max(w, h)
        return np.clip(u, -lim, lim), np.clip(v, -lim, lim)

    def _curve_xy(self, epochs: np.ndarray, sse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cx0, cy0, cx1, cy1 = (v * SS for v in self.curve)
        (elo, ehi), (ylo, yhi) = self.curve_x, self.curve_y
        e = np.asarray(epochs, float)
        if self.log_x:
            e = np.log10(np.maximum(e, 0.5))  # epoch 0 at 0.5, as the window draws it
        with np.errstate(all="ignore"):
            y = np.log10(np.maximum(np.asarray(sse, float), 1e-300))
        y = np.where(np.isnan(y), yhi, y)
        u = cx0 + (e - elo) / (ehi - elo) * (cx1 - cx0)
        v = cy1 - (np.clip(y, ylo, yhi) - ylo) / (yhi - ylo) * (cy1 - cy0)
        return u, v

    # ---- background ----------------------------------------------------------------------
    def _background(self) -> Image.Image:
        t = self.theme
        im = Image.new("RGB", (self.W * SS, self.H * SS), t.background)
        self._draw_surface(im)
        d = ImageDraw.Draw(im)
        self._draw_axes(d, im)
        self._draw_bar(im, d)
        if self.curve is not None:
            self._curve_background(im, d)
        return im

    def _draw_surface(self, im: Image.Image) -> None:
        s = self.surf
        v = np.where(np.isfinite(s.values), s.values, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(np.maximum(v, FLOOR))
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        self.levels_range = (lo, hi)
        img = np.where(np.isfinite(img), img, hi)  # undefined points: the top colour
        rgb = viridis((img - lo) / (hi - lo))  # (nx, ny, 3)
        rgb = np.ascontiguousarray(np.transpose(rgb, (1, 0, 2))[::-1])  # rows: y downward
        x0, y0, x1, y1 = (v * SS for v in self.plot)
        pic = Image.fromarray(rgb, "RGB").resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
        layer = Image.new("RGBA", pic.size, (0, 0, 0, 0))
        levels = contour_levels(s.values, 12, log=True)
        X, Y = isolines(s.xs, s.ys, s.values, levels)
        u, w = self._to_plot(X, Y)
        d = ImageDraw.Draw(layer)
        for k in range(0, len(u) - 1, 2):
            d.line([(u[k], w[k]), (u[k + 1], w[k + 1])], fill=(255, 255, 255, 120), width=SS)
        if self.optimum is not None:
            ou, ov = self._to_plot(np.array([self.optimum[0]]), np.array([self.optimum[1]]))
            _star(d, float(ou[0]), float(ov[0]), 0.75 * self.fs * SS)
        pic = Image.alpha_composite(pic.convert("RGBA"), layer).convert("RGB")
        im.paste(pic, (x0, y0))

    def _text(self, d, xy, text, font=None, fill=None, anchor="la") -> None:
        d.text(xy, text, font=font or self.font, fill=fill or self.theme.text, anchor=anchor)

    def _vtext(self, im: Image.Image, cx: float, cy: float, text: str, font=None) -> None:
        """Text rotated 90 degrees (reading upward), centred on ``(cx, cy)``."""
        font = font or self.font
        box = font.getbbox(text)
        tile = Image.new("RGBA", (box[2] + 4, box[3] + 4), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((2, 2), text, font=font, fill=(*self.theme.text, 255))
        tile = tile.rotate(90, expand=True)
        im.paste(tile, (round(cx - tile.width / 2), round(cy - tile.height / 2)), tile)

    def _draw_axes(self, d: ImageDraw.ImageDraw, im: Image.Image) -> None:
        t, fs = self.theme, self.fs
        x0, y0, x1, y1 = (v * SS for v in self.plot)
        d.rectangle([x0 - SS, y0 - SS, x1 + SS - 1, y1 + SS - 1], outline=t.axis, width=SS)
        (xlo, xhi), (ylo, yhi) = self.run.setup.ranges
        tick = round(0.35 * fs * SS)
        for v in _nice_ticks(xlo, xhi):
            u = x0 + (v - xlo) / (xhi - xlo) * (x1 - x0)
            d.line([(u, y1), (u, y1 + tick)], fill=t.axis, width=SS)
            self._text(d, (u, y1 + tick + SS), _fmt_tick(v), self.small, t.dim, "mt")
        for v in _nice_ticks(ylo, yhi):
            w = y1 - (v - ylo) / (yhi - ylo) * (y1 - y0)
            d.line([(x0 - tick, w), (x0, w)], fill=t.axis, width=SS)
            self._text(d, (x0 - tick - 2 * SS, w), _fmt_tick(v), self.small, t.dim, "rm")
        xl, yl = self.run.setup.axes
        self._text(d, ((x0 + x1) / 2, self.H * SS - round(0.2 * fs * SS)), xl, anchor="md")
        self._vtext(im, x0 - round(2.9 * fs * SS), (y0 + y1) / 2, yl)
        s = self.run.setup
        if len(s.free) > 2:  # in the plot's top left corner, on a box of the frame's colour
            note = f"slice through the start ({len(s.free)} free parameters)"
            pad = round(0.3 * fs * SS)
            box = d.textbbox((x0 + 2 * pad, y0 + 2 * pad), note, font=self.small, anchor="lt")
            d.rectangle([box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad], t.background)
            self._text(d, (x0 + 2 * pad, y0 + 2 * pad), note, self.small, t.dim, "lt")

    def _draw_bar(self, im: Image.Image, d: ImageDraw.ImageDraw) -> None:
        b0, y0, b1, y1 = (v * SS for v in self.bar)
        col = viridis(np.linspace(1.0, 0.0, y1 - y0))[:, None, :]
        im.paste(Image.fromarray(np.repeat(col, b1 - b0, axis=1), "RGB"), (b0, y0))
        lo, hi = self.levels_range
        for v in _nice_ticks(lo, hi, 5):
            w = y1 - (v - lo) / (hi - lo) * (y1 - y0)
            d.line([(b1, w), (b1 + 3 * SS, w)], fill=self.theme.axis, width=SS)
            self._text(d, (b1 + 4 * SS, w), _fmt_tick(v), self.small, self.theme.dim, "lm")
        name = self.run.setup.index_name
        name = f"log10 ({name})" if " " in name else f"log10 {name}"
        self._vtext(im, b1 + round(2.7 * self.fs * SS), (y0 + y1) / 2, name, self.small)

    def _curve_background(self, im: Image.Image, d: ImageDraw.ImageDraw) -> None:
        r, t, fs = self.run, self.theme, self.fs
        e0, e1 = float(r.epochs[0]), float(r.epochs[-1])
        self.curve_x = (
            (math.log10(max(e0, 0.5)), math.log10(max(e1, 1.0))) if self.log_x else (e0, e1)
        )
        with np.errstate(all="ignore"):
            ly = np.log10(r.sse[np.isfinite(r.sse) & (r.sse > 0)])
        lo, hi = (math.floor(ly.min()), math.ceil(ly.max())) if ly.size else (-1, 1)
        hi = hi if hi > lo else lo + 1
        self.curve_y = (float(lo), float(hi))
        cx0, cy0, cx1, cy1 = (v * SS for v in self.curve)
        d.rectangle([cx0 - SS, cy0 - SS, cx1 + SS - 1, cy1 + SS - 1], outline=t.axis, width=SS)
        tick = round(0.35 * fs * SS)
        step = next(m for m in (1, 2, 5, 10, 20, 50, 100, 1000) if m * 5 >= hi - lo)
        for k in range(int(hi) - int(hi) % step, int(lo) - 1, -step):
            w = cy1 - (k - lo) / (hi - lo) * (cy1 - cy0)
            d.line([(cx0 - tick, w), (cx0, w)], fill=t.axis, width=SS)
            self._text(d, (cx0 - tick - 2 * SS, w), _fmt_pow(k), self.small, t.dim, "rm")
        xlo, xhi = self.curve_x
        if self.log_x:
            ticks = [k for k in range(math.ceil(xlo), math.floor(xhi) + 1)]
            step = max(1, math.ceil(len(ticks) / 7))
            xt = [(float(k), _fmt_count(10.0**k)) for k in ticks[::step]]
        else:
            xt = [(v, _fmt_count(v)) for v in _nice_ticks(xlo, xhi, 4)]
        for v, label in xt:
            u = cx0 + (v - xlo) / (xhi - xlo) * (cx1 - cx0)
            d.line([(u, cy1), (u, cy1 + tick)], fill=t.axis, width=SS)
            self._text(d, (u, cy1 + tick + SS), label, self.small, t.dim, "mt")
        axis = "epoch (log scale)" if self.log_x else "epoch"
        self._text(d, ((cx0 + cx1) / 2, self.H * SS - round(0.2 * fs * SS)), axis, anchor="md")
        self._vtext(im, cx0 - round(3.9 * fs * SS), (cy0 + cy1) / 2, "SSE (log scale)")
        # the curve as per-pixel-column envelopes (min and max), with the row each starts at
        ok = np.isfinite(r.sse) | (r.sse == np.inf)
        rows = np.flatnonzero(ok)
        u, v = self._curve_xy(r.epochs[rows], r.sse[rows])
        col = np.floor(u).astype(np.int64)
        starts = np.flatnonzero(np.concatenate(([True], col[1:] != col[:-1])))
        vmin, vmax = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
        self.env_rows = rows[starts]
        pts = np.empty((2 * len(starts), 2))
        pts[0::2, 0] = pts[1::2, 0] = col[starts]
        pts[0::2, 1], pts[1::2, 1] = vmin, vmax
        self.env_pts = pts
        d.line([tuple(p) for p in pts], fill=t.ahead, width=2 * SS)
        title = _run_title(r)
        self._text(d, (cx1, round(1.1 * fs * SS)), title, self.font, t.dim, "rm")

    def fixed_colours(self) -> list[tuple[int, int, int]]:
        """Colours drawn exactly (a GIF's palette keeps them)."""
        t = self.theme
        return [t.background, t.text, t.dim, t.axis, t.curve, t.ahead,
                START, CURRENT, END, OPTIMUM, OUTLINE, (0, 0, 0)]  # fmt: skip

    # ---- the path ------------------------------------------------------------------------
    def _path_points(self) -> None:
        r = self.run
        u, v = self._to_plot(r.px, r.py)
        ok = np.isfinite(r.px) & np.isfinite(r.py)
        self.pu, self.pv, self.pok = u, v, ok
        dec = PathDecimator(points=3000)  # evenly along the drawn length, in pixels
        self.path_idx = dec.update(np.where(ok, u, np.nan), np.where(ok, v, np.nan), (1.0, 1.0))
        self.path_idx = self.path_idx[ok[self.path_idx]]
        self.start_row = int(np.argmax(ok)) if ok.any() else None

    def frame(self, row: int, last: bool = False) -> Image.Image:
        """The frame showing the run up to ``row`` (``last``: the run's final frame)."""
        r, fs = self.run, self.fs
        im = self.background.copy()
        x0, y0, x1, y1 = (v * SS for v in self.plot)
        layer = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        idx = self.path_idx[: np.searchsorted(self.path_idx, row, side="right")]
        if self.pok[row] and (not idx.size or idx[-1] != row):
            idx = np.append(idx, row)
        pts = list(zip(self.pu[idx].tolist(), self.pv[idx].tolist(), strict=True))
        if len(pts) > 1:
            d.line(pts, fill=(*OUTLINE, 200), width=4 * SS, joint="curve")
            d.line(pts, fill=(255, 255, 255, 255), width=2 * SS, joint="curve")
        rad = 0.42 * fs * SS
        if self.start_row is not None and self.start_row <= row:
            _disc(d, self.pu[self.start_row], self.pv[self.start_row], rad, START)
        if pts:
            cu, cv = pts[-1]
            if last and r.finished:
                _square(d, cu, cv, rad, END)
            else:
                _disc(d, cu, cv, rad * 1.1, CURRENT)
        im.paste(layer, (x0, y0), layer)
        dr = ImageDraw.Draw(im)
        epoch, sse = int(r.epochs[row]), float(r.sse[row])
        top = round(1.1 * fs * SS)
        self._text(dr, (x0, top), f"epoch {epoch:,}", self.big, anchor="lm")
        value = f"SSE {sse:.3g}"
        if r.performance is not None:  # the index trained first (the colour bar's)
            value = f"{r.setup.index_name} {float(r.performance[row]):.3g}"
        self._text(dr, (x1, top), value, self.big, anchor="rm")
        if self.decision is not None:
            self.decision.draw(im, r.x[row])
            acc = self.decision.accuracy_text(r.x[row])
            self._text(dr, (self.decision.rect[0] * SS, top), acc, self.big, anchor="lm")
        if self.curve is not None:
            k = int(np.searchsorted(self.env_rows, row, side="right"))
            done = self.env_pts[: 2 * k]
            if len(done) > 1:
                dr.line([tuple(p) for p in done], fill=self.theme.curve, width=2 * SS)
            u, v = self._curve_xy(r.epochs[row : row + 1], r.sse[row : row + 1])
            _disc(dr, float(u[0]), float(v[0]), rad * 0.9, END)
        return im.reduce(SS)


def _fmt_pow(k: int) -> str:
    return "1" if k == 0 else f"1e{k}"


def _run_title(run: RunData) -> str:
    """``sd, lr 1, from (-4, -4)``: the optimizer, the learning rate and whatever else
    differs from the optimizer's defaults, and the start on the contour's axes."""
    s = run.setup
    try:
        default = OPTIMIZERS[s.optimizer].Hyper().to_dict()
    except (KeyError, TypeError, ValueError):
        default = {}
    parts = [s.optimizer]
    for k, v in s.hyper.items():
        if (k == "lr" or v != default.get(k)) and isinstance(v, int | float | str):
            parts.append(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}")
    parts.append(f"from ({run.px[0]:.3g}, {run.py[0]:.3g})")
    return ", ".join(parts[:5])


def _disc(d, x: float, y: float, r: float, fill) -> None:
    d.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=OUTLINE, width=SS)


def _square(d, x: float, y: float, r: float, fill) -> None:
    d.rectangle([x - r, y - r, x + r, y + r], fill=fill, outline=OUTLINE, width=SS)


def _star(d, x: float, y: float, r: float) -> None:
    pts = []
    for k in range(10):
        a = math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else r * 0.45
        pts.append((x + rr * math.cos(a), y - rr * math.sin(a)))
    d.polygon(pts, fill=OPTIMUM, outline=OUTLINE)
