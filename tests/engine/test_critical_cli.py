"""``bpgui critical`` (bpgui/cli/critical.py): JSON and table output, nothing found, errors."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest

import bpgui.cli
from bpgui.cli import main

BOOK = ["critical", "--preset", "book-1-2-1", "--free", "W1[1,1]", "W2[1,1]",
        "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "45"]  # fmt: skip


def _kinds(points, kind):
    return [p for p in points if p["kind"] == kind]


def test_json_lists_the_book_slice_points(capsys):
    assert main([*BOOK, "--json"]) == 0
    out = capsys.readouterr().out
    points = json.loads(out)
    assert isinstance(points, list) and out.count("\n") == 1
    for p in points:
        assert set(p) >= {"params", "performance", "eigenvalues", "kind"}
        assert set(p["params"]) == {"W1[1,1]", "W2[1,1]"}
        assert p["eigenvalues"] == sorted(p["eigenvalues"])
        assert p["kind"] in ("minimum", "saddle", "maximum", "degenerate")
    mins = _kinds(points, "minimum")
    xy = sorted((m["params"]["W1[1,1]"], m["params"]["W2[1,1]"]) for m in mins)
    np.testing.assert_allclose(xy, [(0.882828, 38.6187), (10.0, 1.0)], atol=1e-4)
    (saddle,) = _kinds(points, "saddle")
    assert saddle["eigenvalues"][0] < 0 < saddle["eigenvalues"][1]
    (floor,) = _kinds(points, "degenerate")
    assert floor["count"] > 1 and abs(floor["params"]["W2[1,1]"]) < 0.01


def test_table(capsys):
    assert main(BOOK) == 0
    out = capsys.readouterr().out
    assert "searched in 2 dimension(s)" in out
    assert "minimum" in out and "saddle" in out and "degenerate (" in out
    assert "0.003822, 1.156" in out  # the global minimum's eigenvalues


def test_bias_slice_with_lower_case_labels_and_exponent_bounds(capsys):
    argv = ["critical", "--free", "b1[1]", "b1[2]", "--x", "B1[1]", "-1e1", "10",
            "--y", "b1[2]", "-10", "10", "--json"]  # fmt: skip
    assert main(argv) == 0
    points = json.loads(capsys.readouterr().out)
    (saddle,) = _kinds(points, "saddle")
    np.testing.assert_allclose(list(saddle["params"].values()), [0, 0], atol=1e-9)
    assert len(_kinds(points, "minimum")) == 2


def test_all_free_parameters(capsys):
    argv = ["critical", "--free", "W1[1,1]", "W2[1,1]", "b1[1]", "--x", "W1[1,1]", "5", "15",
            "--y", "W2[1,1]", "-1", "3", "--grid", "3", "--all", "--json"]  # fmt: skip
    assert main(argv) == 0
    points = json.loads(capsys.readouterr().out)
    assert points and all(p["dims"] == 3 and len(p["params"]) == 3 for p in points)


def test_nothing_found_says_so(capsys):
    argv = ["critical", "--x", "W1[1,1]", "11", "15", "--y", "W2[1,1]", "10", "20", "--grid", "5"]
    assert main(argv) == 0
    assert "No critical point found" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out) == [] and "no critical point found" in cap.err


@pytest.mark.parametrize(
    "extra, msg",
    [
        (["--x", "W1[1,1]", "15", "-5"], "range of W1[1,1]"),
        (["--x", "W9[1,1]", "0", "1"], "unknown parameter label"),
        (["--x", "b1[1]", "0", "1"], "must be a free parameter"),
        (["--x", "W2[1,1]", "0", "1"], "two different"),
        (["--x", "W1[1,1]", "a", "1"], "must be numbers"),
        (["--grid", "0"], "grid"),
        (["--preset", "nope"], "preset"),
        (["--grid", "x"], "invalid int"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, extra, msg):
    with pytest.raises(SystemExit) if extra == ["--grid", "x"] else contextlib.nullcontext():
        code = main(["critical", "--y", "W2[1,1]", "-5", "45", *extra])
        assert code == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and err.startswith("bpgui: error:")


def test_through_bpgui_main_once_hooked(capsys):
    if "critical" not in getattr(bpgui.cli, "COMMANDS", ()):
        pytest.skip("bpgui.cli does not dispatch 'critical' yet")
    assert bpgui.cli.main([*BOOK, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert bpgui.cli.main([*BOOK[:-3], "W2[1,1]", "45", "-5"]) == 2
