"""The decision map in a run's animation (data in the plane): the network's regions at
each frame's epoch with the training points, drawn with Pillow beside the contour in
place of the error curve.  No Qt (:mod:`bpgui.export.animation_draw` uses it)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from bpgui.plots.decision_colours import class_colour, decision_rgba
from bpgui_engine.analysis.classify import grid_inputs, layer_maps, metrics

RESOLUTION = 100


class DecisionPanel:
    """Draws ``setup``'s decision map for a free vector into the pixel rectangle
    ``rect`` (supersampled by ``ss``) of a frame."""

    def __init__(self, setup, rect: tuple[int, int, int, int], ss: int, neutral) -> None:
        self.setup, self.rect, self.ss = setup, rect, ss
        self.neutral = neutral
        prep = setup.data.prepare()
        self.classes = prep.classes
        self.grid = grid_inputs(prep, RESOLUTION)
        x0, x1, y0, y1 = self.grid.extent
        plane = prep.plane_train
        w, h = (rect[2] - rect[0]) * ss, (rect[3] - rect[1]) * ss
        self.pu = (plane.X[0] - x0) / (x1 - x0) * w
        self.pv = (y1 - plane.X[1]) / (y1 - y0) * h
        labels = plane.y if self.classes else (plane.y > 0).astype(int)
        self.colours = [class_colour(int(k)) for k in labels]

    @staticmethod
    def wanted(setup) -> bool:
        try:
            return setup.data.prepare().in_plane
        except ValueError:
            return False

    def accuracy_text(self, x: np.ndarray) -> str:
        if not self.classes:
            return ""
        m = metrics(self.setup, x).row()
        test = "" if np.isnan(m["test_acc"]) else f" · test {100 * m['test_acc']:.0f} %"
        return f"accuracy {100 * m['train_acc']:.0f} %{test}"

    def draw(self, im: Image.Image, x: np.ndarray) -> None:
        maps = layer_maps(self.setup.spec, self.setup.full_theta(x), self.grid)
        rgba = decision_rgba(maps[-1], self.classes, False, self.neutral)
        rgb = np.ascontiguousarray(np.transpose(rgba[..., :3], (1, 0, 2))[::-1])  # y down
        x0, y0, x1, y1 = (v * self.ss for v in self.rect)
        pic = Image.fromarray(rgb, "RGB").resize((x1 - x0, y1 - y0), Image.Resampling.NEAREST)
        d = ImageDraw.Draw(pic)
        r = 1.6 * self.ss
        for u, v, c in zip(self.pu, self.pv, self.colours, strict=True):
            d.ellipse([u - r, v - r, u + r, v + r], fill=c, outline=(255, 255, 255), width=1)
        im.paste(pic, (x0, y0))
