"""Issue 18 #20 on the command line: a closed standard output, the same file named for two
outputs, a grid too wide to be finite, and repeated or empty hyperparameter names -- each
one line on stderr, exit status 2, and nothing lost or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpgui.cli import main
from bpgui_engine.model.problem import parse_hyper
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import save_session
from tests.engine.test_animation import trained
from tests.engine.test_cli_reliability import _one_line_exit_2

SURF = ["--x", "W1[1,1]", "0", "1", "--y", "W2[1,1]", "0", "1", "--resolution", "3"]


@pytest.fixture(scope="module")
def session_file(tmp_path_factory) -> Path:
    return save_session(
        trained(Setup.from_preset(), epochs=30), tmp_path_factory.mktemp("s") / "s.bpgui"
    )


# ---- standard output closed (>&-) ---------------------------------------------------------------
@pytest.mark.parametrize("command", ["train", "surface", "race", "export"])
def test_a_closed_stdout_is_one_line_and_exit_2_before_any_work(command, session_file, tmp_path):
    out = tmp_path / "out.csv"
    argv = {
        "train": ["train", "--epochs", "3", "--save", str(tmp_path / "t.bpgui")],
        "surface": ["surface", *SURF, "--out", str(out)],
        "race": ["race", "--entry", "sd:lr=1", "--epochs", "5"],
        "export": ["export", str(session_file), "--history", str(out)],
    }[command]
    p = subprocess.run(
        [sys.executable, "-m", "bpgui", *argv],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),  # what the shell's >&- does
        check=False,
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().splitlines() == [
        "bpgui: error: standard output is closed (redirect it, e.g. >/dev/null, to discard "
        "what bpgui prints)"
    ]
    assert sorted(q.name for q in tmp_path.iterdir()) == []  # nothing done, nothing lost


# ---- one file for two outputs -------------------------------------------------------------------
@pytest.mark.parametrize(
    "first, second",
    [
        ("--history", "--trajectory"),
        ("--trajectory", "--params"),
        ("--history", "--contour"),
        ("--params", "--animation"),
    ],
)
def test_the_same_file_for_two_outputs_is_refused(first, second, session_file, tmp_path, capsys):
    ext = ".gif" if second == "--animation" else ".csv"
    same = tmp_path / f"same{ext}"
    same.write_text("the user's file\n")
    line = _one_line_exit_2(
        ["export", str(session_file), first, str(same), second, str(same)], capsys
    )
    assert f"{second}: {same} is also the {first} output" in line
    assert same.read_text() == "the user's file\n"
    assert sorted(q.name for q in tmp_path.iterdir()) == [same.name]


def test_the_same_file_through_a_symlink_or_a_plot_is_refused(session_file, tmp_path, capsys):
    real = tmp_path / "h.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    line = _one_line_exit_2(
        ["export", str(session_file), "--history", str(real), "--trajectory", str(link)], capsys
    )
    assert "is also the --history output" in line and not real.exists()
    png = tmp_path / "c.png"
    line = _one_line_exit_2(
        ["export", str(session_file), "--plot", "contour", str(png), "--plot", "curves",
         str(png)], capsys,
    )  # fmt: skip
    assert "is also the --plot output" in line and not png.exists()


def test_an_output_over_the_session_itself_is_refused(session_file, tmp_path, capsys):
    before = session_file.read_bytes()
    line = _one_line_exit_2(["export", str(session_file), "--history", str(session_file)], capsys)
    assert "--history: " in line and "is the SESSION being read" in line
    assert session_file.read_bytes() == before


# ---- a grid that is not finite ----------------------------------------------------------------
@pytest.mark.parametrize(
    "lo, hi",
    [("-1e308", "1e308"), ("-1.7e308", "1.7e308"), ("-1.5e308", "0.5e308")],
)
def test_a_range_whose_grid_is_not_finite_is_refused(lo, hi, tmp_path, capsys):
    out = tmp_path / "g.csv"
    argv = ["surface", "--x", "b1[1]", lo, hi, "--y", "W2[1,1]", "0", "1", "--resolution", "3"]
    line = _one_line_exit_2([*argv, "--out", str(out)], capsys)
    assert "range of b1[1]: " in line and "its grid is not finite" in line
    assert not out.exists()


def test_a_wide_but_finite_range_still_works(tmp_path, capsys):
    out = tmp_path / "g.csv"
    argv = ["surface", "--x", "b1[1]", "-1e300", "1e300", "--y", "W2[1,1]", "0", "1"]
    assert main([*argv, "--resolution", "3", "--out", str(out)]) == 0
    rows = [r.split(",") for r in out.read_text().splitlines()[1:]]
    assert [float(r[0]) for r in rows[::3]] == [-1e300, 0.0, 1e300]


# ---- hyperparameter names ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "entry, why",
    [
        ("sd:lr=1,lr=2", "lr given twice"),
        ("momentum:lr=1,gamma=0.5,lr=1", "lr given twice"),
        ("sd:lr=1,,", "an empty KEY=VALUE"),
        ("sd:lr=1,,lr=2", "an empty KEY=VALUE"),
        ("sd:=3", "an empty name"),
        ("sd: =3", "an empty name"),
    ],
)
def test_race_entries_with_repeated_or_empty_keys_are_refused(entry, why, capsys):
    line = _one_line_exit_2(["race", "--entry", entry, "--epochs", "3"], capsys)
    assert f"--entry {entry}: " in line and why in line


def test_train_hyper_given_twice_is_refused(capsys):
    line = _one_line_exit_2(["train", "--hyper", "lr=1", "lr=2", "--epochs", "3"], capsys)
    assert "lr given twice" in line


def test_distinct_keys_still_parse():
    assert parse_hyper("momentum", ["lr=4", "gamma=0.8"]) == {"lr": 4.0, "gamma": 0.8}
    assert main(["race", "--entry", "sd:lr=1", "--entry", "sd", "--epochs", "3"]) == 0
