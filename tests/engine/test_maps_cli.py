"""``bpgui race``, ``bpgui basins`` and ``bpgui sweep`` (bpgui.cli.maps), headless."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bpgui.cli import main
from bpgui_engine.maps.basins import basin_map
from bpgui_engine.model.setup import Setup
from bpgui_engine.optim import OPTIMIZERS
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_race_prints_a_table_and_json(capsys):
    argv = ["race", "--preset", "book-1-2-1", "--free", "W1[1,1]", "W2[1,1]", "--start", "-4",
            "-4", "--entry", "sd:lr=1", "--entry", "momentum:lr=4,gamma=0.8", "--entry", "lm",
            "--epochs", "400000", "--goal", "1e-10"]  # fmt: skip
    code, out, _ = run(capsys, *argv)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["entry", "epochs", "to"] and len(lines) == 4
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["optimizer"] for r in rows] == ["sd", "momentum", "lm"]
    assert {k: rows[1]["hyper"][k] for k in ("lr", "gamma")} == {"lr": 4.0, "gamma": 0.8}
    assert rows[1]["hyper"].get("lr_layers", 1.0) == 1.0
    assert rows[0]["minimum"] == rows[1]["minimum"] == "M1" and rows[2]["minimum"] == "M2"
    assert rows[2]["epochs_to_goal"] is None and rows[0]["stop"] == "goal"
    # the same as a separate run of the entry
    cls = OPTIMIZERS["momentum"]
    tr = FastTrainer(Setup.from_preset("book-1-2-1").objective(),
                     cls(cls.Hyper.from_dict({"lr": 4.0, "gamma": 0.8})),
                     np.array([-4.0, -4.0]), StopCriteria(epochs=400_000, goal=1e-10))  # fmt: skip
    last = list(tr.blocks())[-1]
    assert rows[1]["epochs_to_goal"] == int(last.cols["epoch"][-1])
    assert rows[1]["performance"] == float(last.cols["performance"][-1])
    assert list(rows[1]["end"].values()) == last.x[-1].tolist()


def test_basins_csv_columns_and_cells(capsys, tmp_path):
    out = tmp_path / "b.csv"
    code, text, _ = run(capsys, "basins", "--preset", "book-1-2-1", "--x", "W1[1,1]", "-5",
                        "15", "--y", "W2[1,1]", "-5", "45", "--resolution", "6", "--optimizer",
                        "sd", "--hyper", "lr=1", "--epochs", "3000", "--min-grad", "1e-4",
                        "--out", str(out))  # fmt: skip
    assert code == 0 and "wrote" in text
    rows = read_csv(out)
    assert rows[0] == ["W1[1,1]", "W2[1,1]", "end W1[1,1]", "end W2[1,1]", "performance",
                       "epochs", "minimum", "stop"]  # fmt: skip
    assert len(rows) == 37
    s = Setup.from_preset("book-1-2-1", ranges=((-5.0, 15.0), (-5.0, 45.0)), hyper={"lr": 1.0})
    m = basin_map(s, resolution=6, epochs=3000, min_grad=1e-4)
    assert [float(v) for v in (rows[1][0], rows[1][1])] == [-5.0, -5.0]
    for r in rows[1:]:
        ix = int(np.flatnonzero(m.xs == float(r[0]))[0])
        iy = int(np.flatnonzero(m.ys == float(r[1]))[0])
        assert [float(r[2]), float(r[3])] == m.end[ix, iy].tolist()
        assert float(r[4]) == m.performance[ix, iy] and int(r[5]) == m.epochs[ix, iy]
        assert r[6] == "" or r[6].startswith("M")
        assert r[7] in ("epochs", "min_grad", "no_change", "goal")


def test_sweep_csv_columns(capsys, tmp_path):
    out = tmp_path / "s.csv"
    code, _, _ = run(capsys, "sweep", "--start", "-4", "-4", "--optimizer", "momentum", "--x",
                     "lr", "1", "300", "--y", "gamma", "0", "0.9", "--resolution", "4",
                     "--epochs", "3000", "--goal", "1e-6", "--out", str(out))  # fmt: skip
    assert code == 0
    rows = read_csv(out)
    assert rows[0] == ["lr", "gamma", "epochs_to_goal", "performance", "epochs", "stop"]
    assert len(rows) == 17
    lrs = sorted({float(r[0]) for r in rows[1:]})
    assert np.allclose(lrs, np.geomspace(1, 300, 4))  # lr is a log hyperparameter
    for r in rows[1:]:
        assert (r[2] == "") == (r[5] != "goal")
        if r[2]:
            assert int(r[2]) == int(r[4]) and float(r[3]) <= 1e-6


@pytest.mark.parametrize(
    "argv, words",
    [
        (["race"], "at least one --entry"),
        (["race", "--entry", "newton"], "newton"),
        (["race", "--entry", "sd:gama=1"], "'gama'"),
        (["race", "--entry", "sd:lr=abc"], "lr needs a number"),
        (["basins", "--x", "W1[1,1]", "15", "-5", "--y", "W2[1,1]", "-5", "45", "--out", "o"],
         "MIN < MAX"),
        (["basins", "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "x", "--out", "o"],
         "not a number"),
        (["basins", "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "45",
          "--resolution", "0", "--out", "o"], "resolution"),
        (["basins", "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "45",
          "--hyper", "mu=1", "--out", "o"], "'mu'"),
        (["basins", "--x", "W1[9,1]", "-5", "15", "--y", "W2[1,1]", "-5", "45", "--out", "o"],
         "W1[9,1]"),
        (["basins", "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "45",
          "--resolution", "4", "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1",
          "--out", "o"], "tcp://127.0.0.1:9"),
        (["sweep", "--x", "lr", "1", "10", "--y", "beta", "0", "1", "--out", "o"], "'beta'"),
        (["sweep", "--x", "lr", "-1", "10", "--y", "gamma", "0", "0.5", "--out", "o"], "lr"),
        (["sweep", "--x", "lr", "1", "10", "--y", "gamma", "0", "0.5", "--epochs", "0",
          "--out", "o"], "--epochs"),
    ],
)  # fmt: skip
def test_errors_are_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert words in err and err.count("\n") == 1 and err.startswith("bpgui: error:")
    assert not (tmp_path / "o").exists()


def test_usage_errors_are_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["basins", "--x", "W1[1,1]", "-5"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--x" in err
