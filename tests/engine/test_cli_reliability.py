"""Issue 10 #9 and #11 on the command line: every error is one line on stderr and exit
status 2 -- from every command -- and negative numbers are option values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpgui.cli.commands as commands
from bpgui.cli import main
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.setup import DataRecipe, Setup
from bpgui_engine.session import Session, save_session, session_bytes
from tests.session_files import edit_description

SURF = ["--x", "W1[1,1]", "0", "1", "--y", "W2[1,1]", "0", "1", "--resolution", "5"]


def _forged(path: Path, data: dict) -> Path:
    """A session whose data recipe holds ``data`` (written by hand: bpgui refuses to
    save a session it could not reopen)."""
    raw = session_bytes(Session(Setup.from_preset(), start=np.array([-4.0, -4.0])))

    def change(doc: dict) -> None:
        doc["setup"]["data"].update(data)

    edited = edit_description(raw, change)
    path.write_bytes(edited)
    return path


BAD_SESSIONS = {
    # csv.Error: a field longer than the csv module's limit
    "csv-error": {
        "kind": "csv",
        "csv_text": "p,t\n1," + "9" * 200_000 + "\n",
        "inputs": ["p"],
        "targets": ["t"],
    },
    # OverflowError: an integer literal of 320 digits
    "overflow": {"kind": "expression", "expression": "1" * 320 + " + p"},
}


def _commands(path: str, tmp: Path) -> dict[str, list[str]]:
    return {
        "train": ["train", path, "--epochs", "2"],
        "surface": ["surface", path, *SURF, "--out", str(tmp / "s.csv")],
        "export": ["export", path, "--params", str(tmp / "p.csv")],
        "open": [path],  # bpgui FILE: the error comes before any window
    }


def _one_line_exit_2(argv, capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpgui: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", ["train", "surface", "export", "open"])
@pytest.mark.parametrize("bad", sorted(BAD_SESSIONS))
def test_bad_session_data_is_one_line_and_exit_2(bad, command, tmp_path, capsys):
    path = _forged(tmp_path / f"{bad}.bpgui", BAD_SESSIONS[bad])
    line = _one_line_exit_2(_commands(str(path), tmp_path)[command], capsys)
    assert ("csv" in line) if bad == "csv-error" else ("too large" in line)


def _big_lm_session(tmp_path: Path) -> Path:
    """1-10000-1 with Levenberg-Marquardt: its J^T J alone is 30,001^2 doubles (6.7 GiB)."""
    spec = NetworkSpec(1, (10_000, 1), ("logsig", "purelin"))
    setup = Setup.from_preset().with_network(spec).replace(optimizer="lm")
    return save_session(Session(setup), tmp_path / "big.bpgui")


def test_a_run_that_cannot_fit_in_memory_is_refused_with_the_estimate(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "2G")
    path = _big_lm_session(tmp_path)
    line = _one_line_exit_2(["train", str(path), "--epochs", "1"], capsys)
    assert "needs about" in line and "GiB" in line and "Jacobian" in line
    assert "BPGUI_MEMORY_LIMIT" in line


@pytest.mark.parametrize("command", ["train", "surface", "export"])
def test_memory_error_anywhere_is_one_line_and_exit_2(command, tmp_path, capsys, monkeypatch):
    path = save_session(Session(Setup.from_preset()), tmp_path / "s.bpgui")

    def boom(*_a, **_k):
        raise MemoryError("cannot allocate 30.6 GiB")

    monkeypatch.setattr(commands, "run_session", boom)
    monkeypatch.setattr(commands, "evaluate_surface", boom)
    argv = _commands(str(path), tmp_path)[command]
    if command == "export":
        argv = ["export", str(path), "--contour", str(tmp_path / "c.csv")]
    line = _one_line_exit_2(argv, capsys)
    assert "out of memory" in line


def _run(args, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "bpgui", *args], capture_output=True, text=True, env=env, **kw
    )


def _assert_one_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpgui: error: "), p.stderr
    return lines[0]


def test_export_plot_into_a_folder_we_cannot_write_is_one_line(tmp_path):
    path = save_session(Session(Setup.from_preset()), tmp_path / "s.bpgui")
    # /sys refuses new files even to root (a chmod'ed folder would not stop root)
    line = _assert_one_line(_run(["export", str(path), "--plot", "contour", "/sys/bpgui-test.png"]))
    assert "Permission denied" in line


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_full_stdout_is_one_line_and_exit_2(extra):
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "bpgui", "train", "--epochs", "3", *extra],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert lines == ["bpgui: error: cannot write to standard output: No space left on device"]


# ---- #11: negative numbers are values ----------------------------------------------------------
@pytest.mark.parametrize("low", ["-1e1", "-10", "-1E+1", "-10.0", "-.5e1"])
def test_negative_numbers_in_every_spelling_are_option_values(low, tmp_path, capsys):
    out = tmp_path / "g.csv"
    args = ["surface", "--x", "W1[1,1]", low, "15", "--y", "W2[1,1]", "-1e0", "1"]
    assert main([*args, "--resolution", "3", "--out", str(out)]) == 0
    first = out.read_text().splitlines()[1].split(",")
    assert float(first[0]) == float(low) and float(first[1]) == -1.0


def test_train_start_takes_exponent_negatives(capsys):
    assert main(["train", "--start", "-4e0", "-4", "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["start"] == [-4.0, -4.0]


def test_a_negative_seed_names_the_option(capsys):
    line = _one_line_exit_2(["train", "--seed", "-1", "--epochs", "1"], capsys)
    assert "--seed" in line and "-1" in line


def test_an_option_is_still_an_option():
    p = _run(["surface", "--x", "W1[1,1]", "0", "--y", "W2[1,1]", "0", "1", "--out", "x.csv"])
    assert p.returncode == 2 and "--x: expected 3 arguments" in p.stderr


def test_a_recipe_with_huge_data_is_still_refused_on_save(tmp_path):
    """The save-side validation also covers the data recipe (a bad recipe never reaches a
    file)."""
    s = Session(Setup.from_preset())
    s.setup = s.setup.replace(data=DataRecipe(kind="expression", expression="p"))
    object.__setattr__(s.setup.data, "expression", "1" * 320)
    with pytest.raises(ValueError, match="too large"):
        save_session(s, tmp_path / "x.bpgui")
    assert not (tmp_path / "x.bpgui").exists()
