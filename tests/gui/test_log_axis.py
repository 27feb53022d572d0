"""The log axes' labels (bpgui.plots.log_axis): before, a view spanning about two decades
labelled every minor tick and the labels near the top of each decade overlapped."""

from __future__ import annotations

import itertools
import math

import pytest
from PySide6.QtGui import QFontMetricsF

from bpgui.plots.log_axis import LogAxis


def _labels(axis, lo, hi, size):
    """(position in decades, text) of every label pyqtgraph would be given, level by level
    up to the axis's maxTextLevel."""
    levels = axis.tickValues(lo, hi, size)
    out = []
    for spacing, values in levels[: axis.style["maxTextLevel"] + 1]:
        for v, s in zip(values, axis.tickStrings(values, 1.0, spacing), strict=True):
            if s is not None:
                out.append((v, s))
    return out


def _value(text: str) -> float:
    """A label's number: pyqtgraph writes 20 as "2·10¹" and 100 as "10²"."""
    sup = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
    mant, _, power = text.rpartition("·") if "·" in text else ("1", "", text)
    if power.startswith("10") and len(power) > 2:
        return float(mant) * 10 ** int(power[2:].translate(sup))
    return float(text)


@pytest.mark.parametrize("size", [120, 170, 300, 700])
@pytest.mark.parametrize(("lo", "hi"), [(-1.1, 1.05), (-3.2, 0.4), (0.1, 0.9), (-0.3, 2.7)])
def test_labels_clear_each_other_and_every_decade_is_labelled(qtbot, lo, hi, size):
    axis = LogAxis("left")
    axis.setLogMode(y=True)
    got = _labels(axis, lo, hi, size)
    px = size / (hi - lo)
    height = QFontMetricsF(axis.font()).height()
    pos = sorted(v * px for v, _ in got)
    assert all(b - a >= height for a, b in itertools.pairwise(pos)), got  # no two overlap
    decades = [float(v) for v in range(math.ceil(lo), math.floor(hi) + 1)]
    assert {v for v, _ in got} >= set(decades)  # every decade in view carries its label
    assert got, "an axis without a single label"  # within one decade: minor labels
    for v, s in got:  # each label says its tick's value
        assert _value(s) == pytest.approx(10**v, rel=1e-9)


def test_a_tall_axis_labels_more_than_the_decades(qtbot):
    axis = LogAxis("left")
    axis.setLogMode(y=True)
    short = _labels(axis, -1.1, 1.05, 120)
    tall = _labels(axis, -1.1, 1.05, 700)
    assert len(tall) > len(short) >= 3
    assert {"2", "5", "0.2", "0.5"} <= {s for _, s in tall}


def test_outside_log_mode_it_is_pyqtgraphs_axis(qtbot):
    import pyqtgraph as pg

    mine, theirs = LogAxis("left"), pg.AxisItem("left")
    mine.setStyle(maxTextLevel=theirs.style["maxTextLevel"])
    assert mine.tickValues(0.0, 7.3, 300) == theirs.tickValues(0.0, 7.3, 300)
    values = mine.tickValues(0.0, 7.3, 300)[0][1]
    assert mine.tickStrings(values, 1.0, 1.0) == theirs.tickStrings(values, 1.0, 1.0)


@pytest.mark.parametrize("point_size", [9.0, 23.0])  # the usual font and presentation mode's
@pytest.mark.parametrize("size", [180, 260, 500])
def test_a_horizontal_axis_leaves_room_between_its_labels(qtbot, size, point_size):
    """Before: an epoch axis 0…3,500 in presentation mode's large type on a narrow plot
    read "10002000 3000" (pyqtgraph allows about log(size) ticks, whatever the font)."""
    from PySide6.QtGui import QFont

    axis = LogAxis("bottom")
    font = QFont(axis.font())
    font.setPointSizeF(point_size)
    axis.setTickFont(font)
    fm = QFontMetricsF(font)
    spacing, values = axis.tickValues(0.0, 3500.0, size)[0]
    texts = axis.tickStrings(values, 1.0, spacing)
    px = [v / 3500.0 * size for v in values]
    widths = [fm.horizontalAdvance(t) for t in texts]
    assert len(values) >= 2
    for (a, wa), (b, wb) in itertools.pairwise(zip(px, widths, strict=True)):
        assert b - a >= (wa + wb) / 2, (texts, size)  # centred labels do not touch
