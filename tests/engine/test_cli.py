import csv
import json
import subprocess
import sys

import pytest

from bpgui.cli import main

SURF = ["surface", "--x", "W1[1,1]", "0", "1", "--y", "W2[1,1]", "0", "1"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "bpgui", *args], capture_output=True, text=True)


def test_train_json(capsys):
    assert main(["train", "--start", "-4", "-4", "--epochs", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epochs"] == 200 and out["stop_reason"] == "epochs"
    assert set(out["params"]) == {
        "W1[1,1]",
        "W1[2,1]",
        "b1[1]",
        "b1[2]",
        "W2[1,1]",
        "W2[1,2]",
        "b2[1]",
    }
    assert out["params"]["W1[2,1]"] == 10.0  # not free: the preset's value
    assert 0 < out["performance"] < 1.434 and out["elapsed_s"] > 0


def test_train_random_start_is_seeded(capsys):
    outs = []
    for seed in (1, 1, 2):
        main(["train", "--epochs", "3", "--seed", str(seed), "--json"])
        outs.append(json.loads(capsys.readouterr().out)["start"])
    assert outs[0] == outs[1] != outs[2]
    assert all(-1 <= v <= 1 for v in outs[0])


def test_train_all_options(capsys):
    args = [
        "train",
        "--free",
        "W1[1,1]",
        "b1[1]",
        "W2[1,1]",
        "--start",
        "1",
        "2",
        "3",
        "--optimizer",
        "cg",
        "--hyper",
        "beta=pr",
        "tol=1e-5",
        "--epochs",
        "50",
        "--goal",
        "1e-6",
        "--min-grad",
        "1e-9",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hyper"]["beta"] == "pr" and out["free"] == ["W1[1,1]", "b1[1]", "W2[1,1]"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--free", "W9[1,1]"], "valid labels are: W1[1,1]"),
        (["train", "--optimizer", "newton"], "choose one of sd, sgd"),
        (["train", "--hyper", "gamma=0.5"], "sd has no hyperparameter 'gamma'"),
        (["train", "--hyper", "lr=-1"], "lr: -1.0 is outside the allowed range"),
        (["train", "--hyper", "lr"], "expected KEY=VALUE"),
        (["train", "--start", "1"], "1 value(s) given for 2 free parameter(s)"),
        (["train", "--epochs", "-5"], "epochs"),
        (["train", "--preset", "xor"], "unknown 'xor'"),
        (["train", "--epochs", "ten"], "invalid int value"),
        (
            ["surface", "--x", "W1[1,1]", "0", "1", "--y", "W2[1,1]", "a", "1", "--out", "o.csv"],
            "--y MIN: 'a' is not a number",
        ),
        (
            ["surface", "--x", "W1[1,1]", "0", "1", "--y", "W1[1,1]", "0", "1", "--out", "o.csv"],
            "different",
        ),
        ([*SURF, "--at", "b1=3", "--out", "o.csv"], "unknown parameter label 'b1'"),
        ([*SURF, "--out", "/nonexistent/o.csv"], "does not exist"),
    ],
)
def test_errors_are_one_line_and_exit_2(args, message):
    r = cli(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_surface_csv(tmp_path):
    out = tmp_path / "s.csv"
    r = cli(
        "surface",
        "--x",
        "W1[1,1]",
        "-5",
        "15",
        "--y",
        "W2[1,1]",
        "-5",
        "15",
        "--resolution",
        "21",
        "--at",
        "b2[1]=-1",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["W1[1,1]", "W2[1,1]", "performance"]
    assert len(rows) == 1 + 21 * 21
    pts = {(float(a), float(b)): float(v) for a, b, v in rows[1:]}
    assert pts[(10.0, 1.0)] == 0.0 and (-5.0, -5.0) in pts and (15.0, 15.0) in pts


def test_failed_surface_leaves_no_file(tmp_path):
    out = tmp_path / "s.csv"
    out.write_text("precious")
    r = cli("surface", "--x", "W1[1,1]", "0", "1", "--y", "W2[1,1]", "1", "0", "--out", str(out))
    assert r.returncode == 2 and out.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]


def test_help_documents_the_options():
    r = cli("train", "--help")
    for opt in (
        "--preset",
        "--free",
        "--start",
        "--optimizer",
        "--hyper",
        "--epochs",
        "--goal",
        "--min-grad",
        "--seed",
        "--json",
    ):
        assert opt in r.stdout
    assert "--resolution" in cli("surface", "--help").stdout
