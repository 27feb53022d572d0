"""The animation of a run on data in the plane shows its decision regions evolving
(issue 21): the map beside the contour, for each frame's epoch."""

import numpy as np
import pytest

from bpgui.export.animation_draw import Scene, run_data
from bpgui.plots.decision_colours import class_colour
from bpgui_engine.analysis.classify import metrics
from bpgui_engine.model.experiments import get_experiment
from tests.engine.test_animation import trained


@pytest.fixture(scope="module")
def circle():
    return trained(get_experiment("circle-features").setup())


def _pixel_classes(scene, img, prep):
    """The map's colour under each training point: 1 where blue wins, 0 where orange."""
    a = np.asarray(img.convert("RGB"), dtype=int)
    x0, y0, x1, y1 = scene.decision.rect
    e0, e1, f0, f1 = scene.decision.grid.extent
    u = np.clip(((prep.plane_train.X[0] - e0) / (e1 - e0) * (x1 - x0)).astype(int), 0, x1 - x0 - 1)
    v = np.clip(((f1 - prep.plane_train.X[1]) / (f1 - f0) * (y1 - y0)).astype(int), 0, y1 - y0 - 1)
    # two pixels off each point (its marker covers the point itself)
    px = a[y0 + np.clip(v + 3, 0, y1 - y0 - 1), x0 + u]
    return (px[:, 2] > px[:, 0]).astype(int)


def test_plane_animation_draws_the_decision_map_at_each_frame(circle):
    run = run_data(circle)
    assert run.x is not None and run.x.shape == (len(circle.history), 3)
    scene = Scene(run, (900, 420), True, "dark", log_x=True)
    assert scene.decision is not None and scene.curve is None
    prep = circle.setup.data.prepare()
    last = scene.frame(len(run.epochs) - 1, last=True)
    got = _pixel_classes(scene, last, prep)
    want = prep.plane_train.y
    assert np.mean(got == want) > 0.9  # the trained circle: regions match the classes
    assert metrics(circle.setup, run.x[-1]).row()["train_acc"] == 1.0
    first = scene.frame(0)
    assert np.mean(_pixel_classes(scene, first, prep) == want) < np.mean(got == want)
    assert class_colour(1)[2] > class_colour(1)[0]  # class 1 is blue, as tested above


def test_plane_animation_refuses_a_size_without_room(circle):
    with pytest.raises(ValueError, match="too small"):
        Scene(run_data(circle), (600, 420), True, "dark", log_x=True)
    Scene(run_data(circle), (600, 420), False, "dark", log_x=True)  # the contour alone fits
