"""The update vectors' legend (bpgui.plots.vectors): before, it sat bottom left whatever
the point, covering the arrows it explains when they were there, and in a narrow plot
(a tool docked beside it) its long rows ran past the plot's right edge."""

from __future__ import annotations

import pyqtgraph as pg
import pytest

from bpgui.plots.vectors import SHORT_NAMES, VECTOR_STYLE, VectorsOverlay

RANGES = ((-5.0, 15.0), (-5.0, 15.0))
VECTORS = {"neg_gradient": (0.02, 0.01, 0.0248), "step": (0.1, 0.1, 0.147),
           "momentum": (0.1, 0.05, 0.155)}  # fmt: skip


def _overlay(qtbot, width):
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(width, 500)
    w.show()
    qtbot.waitExposed(w)
    return VectorsOverlay(w.getPlotItem()), w


def _rows(ov) -> list[str]:
    return [label.text for _, label in ov.legend.items]


@pytest.mark.parametrize(
    ("point", "corner"),
    [((-4.0, -4.0), (0.0, 1.0)), ((10.0, 1.0), (0.0, 1.0)), ((-4.0, 14.0), (1.0, 0.0)),
     ((14.0, 14.0), (0.0, 0.0)), ((14.0, -4.0), (0.0, 1.0))],
)  # fmt: skip
def test_the_legend_takes_the_corner_farthest_from_the_point(qtbot, point, corner):
    ov, _w = _overlay(qtbot, 900)
    ov.set_vectors(point, VECTORS, RANGES)
    assert ov.corner == corner
    # and it is as far as any corner it may take
    u, v = ((point[0] + 5) / 20, (point[1] + 5) / 20)
    far = max(((0, 1), (0, 0), (1, 0)), key=lambda c: (u - c[0]) ** 2 + (v - c[1]) ** 2)
    assert (u - corner[0]) ** 2 + (v - corner[1]) ** 2 == pytest.approx(
        (u - far[0]) ** 2 + (v - far[1]) ** 2
    )


def test_a_narrow_plot_gets_the_short_rows_a_wide_one_the_long(qtbot):
    wide, _w1 = _overlay(qtbot, 1200)
    wide.set_vectors((0.0, 0.0), VECTORS, RANGES)
    rows = _rows(wide)
    assert rows[0].startswith(VECTOR_STYLE["neg_gradient"][0] + ": |·| 0.0248")
    narrow, _w2 = _overlay(qtbot, 300)
    narrow.set_vectors((0.0, 0.0), VECTORS, RANGES)
    rows = _rows(narrow)
    assert [r.split(" |")[0] for r in rows] == [SHORT_NAMES[k] for k in VECTORS]
    assert rows[0].startswith("−g |0.0248|")
    vb = narrow.plot_item.getViewBox()
    assert narrow.legend.boundingRect().width() < vb.width()  # inside the plot
    assert narrow.legend_form == 2 and wide.legend_form == 1


def test_a_tiny_plot_shows_the_names_alone_or_no_legend_but_the_arrows(qtbot):
    small, _w = _overlay(qtbot, 230)
    small.set_vectors((0.0, 0.0), VECTORS, RANGES)
    assert small.legend_form == 3 and _rows(small) == [SHORT_NAMES[k] for k in VECTORS]
    tiny, _w2 = _overlay(qtbot, 120)
    tiny.set_vectors((0.0, 0.0), VECTORS, RANGES)
    assert tiny.legend_form == 0 and not tiny.legend.isVisible()
    assert set(tiny.arrows.arrows) == set(VECTORS)  # the arrows are drawn all the same
