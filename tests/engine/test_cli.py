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


# ---- sessions on the command line ------------------------------------------------------------
@pytest.fixture
def session_file(tmp_path):
    import numpy as np

    from bpgui_engine.model.setup import Setup
    from bpgui_engine.session import Session, save_session, session_trainer, trainer_state
    from bpgui_engine.train.history import History
    from bpgui_engine.train.trainer import StopCriteria

    setup = Setup.from_preset().replace(optimizer="momentum", criteria=StopCriteria(epochs=30))
    s = Session(setup, start=np.array([-4.0, -4.0]))
    tr, _ = session_trainer(s)
    h = History(2)
    h.append_records(list(tr.run()))
    s.history, s.run = h, trainer_state(tr, [-4.0, -4.0], 30, h.stop)
    return save_session(s, tmp_path / "m.bpgui")


def test_train_continues_a_session_and_saves_it(session_file, tmp_path, capsys):
    import numpy as np

    from bpgui_engine.model.setup import Setup
    from bpgui_engine.session import load_session
    from bpgui_engine.train.trainer import StopCriteria, Trainer

    out = tmp_path / "more.bpgui"
    assert main(["train", str(session_file), "--epochs", "20", "--save", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["epochs"] == 50 and res["epochs_run"] == 20 and res["stop_reason"] == "epochs"
    s = load_session(out)
    assert s.run.epoch == 50 and len(s.history) == 51
    setup = Setup.from_preset().replace(optimizer="momentum")
    tr = Trainer(setup.objective(), setup.make_optimizer(), [-4.0, -4.0], StopCriteria(epochs=50))
    ref = list(tr.run())
    assert np.array_equal(s.history.x, np.array([r.x for r in ref]))
    assert res["params"]["W1[1,1]"] == ref[-1].x[0]
    assert load_session(session_file).run.epoch == 30  # the input is untouched


def test_surface_and_export_of_a_session(session_file, tmp_path):
    g = tmp_path / "g.csv"
    assert (
        main([*SURF[:1], str(session_file), *SURF[1:], "--resolution", "5", "--out", str(g)]) == 0
    )
    with open(g, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["W1[1,1]", "W2[1,1]", "performance"] and len(rows) == 26
    files = {k: tmp_path / n for k, n in [("h", "h.csv"), ("t", "t.csv"), ("p", "p.json")]}
    args = ["export", str(session_file), "--history", str(files["h"]), "--trajectory"]
    args += [str(files["t"]), "--params", str(files["p"]), "--contour", str(tmp_path / "c.csv")]
    assert main(args) == 0
    with open(files["h"], newline="") as f:
        assert len(list(csv.reader(f))) == 32
    assert json.loads(files["p"].read_text())["free"] == ["W1[1,1]", "W2[1,1]"]


def test_export_plots_headless(session_file, tmp_path):
    png, svg = tmp_path / "c.png", tmp_path / "k.svg"
    r = cli(
        "export", str(session_file), "--plot", "contour", str(png), "--plot", "curves", str(svg)
    )
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:4] == b"\x89PNG" and "<svg" in svg.read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "MISSING.bpgui"], "cannot open MISSING.bpgui"),
        (["MISSING.bpgui"], "cannot open MISSING.bpgui"),
        (["surface", "MISSING.bpgui", *SURF[1:], "--out", "x.csv"], "cannot open"),
        (["export", "MISSING.bpgui", "--history", "h.csv"], "cannot open"),
        (["train", "MISSING.bpgui", "--optimizer", "cg"], "--optimizer: not with a SESSION"),
    ],
)
def test_session_errors_are_one_line_and_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_a_bad_session_file_is_one_line(tmp_path, capsys):
    p = tmp_path / "not.bpgui"
    p.write_text("hello")
    assert main(["train", str(p)]) == 2
    assert capsys.readouterr().err.strip() == (
        "bpgui: error: not.bpgui: not a bpgui session file (not a session archive)"
    )


# ---- one path for flags and sessions (issue 9 #19, #20) --------------------------------------
@pytest.mark.parametrize(
    "opt, n, m",
    [
        (["--optimizer", "sd"], 120, 80),
        (["--optimizer", "sgd", "--hyper", "lr=0.5"], 120, 80),
        (["--optimizer", "cg"], 6, 5),  # CG stops (no change) after about 20 line searches
    ],
)
def test_train_from_flags_saves_a_session_that_continues_bit_for_bit(tmp_path, capsys, opt, n, m):
    """train --start ... --epochs N --save a; train a --epochs M == train --epochs N+M."""
    import numpy as np

    from bpgui_engine.session import load_session

    flags = ["--start", "-4", "-4", "--seed", "5", *opt]
    a, b, c = (tmp_path / n for n in ("a.bpgui", "b.bpgui", "c.bpgui"))
    assert main(["train", *flags, "--epochs", str(n), "--save", str(a), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["saved"] == str(a) and first["epochs"] == n and first["session"] is None
    assert main(["train", str(a), "--epochs", str(m), "--save", str(b), "--json"]) == 0
    cont = json.loads(capsys.readouterr().out)
    assert main(["train", *flags, "--epochs", str(n + m), "--save", str(c), "--json"]) == 0
    once = json.loads(capsys.readouterr().out)
    assert cont["epochs"] == once["epochs"] == n + m and cont["epochs_run"] == m
    assert cont["params"] == once["params"] and cont["sse"] == once["sse"]
    two, one = load_session(b), load_session(c)
    assert np.array_equal(two.history.x, one.history.x)
    assert np.array_equal(two.history.column("sse"), one.history.column("sse"))
    assert len(one.history) == n + m + 1 and np.array_equal(one.history.x[0], [-4.0, -4.0])
    assert (
        np.array_equal(two.run.x, one.run.x) and two.run.optimizer_state == one.run.optimizer_state
    )
    # and it opens: the start point and the flags are in the session
    assert one.setup.optimizer == opt[1] and np.array_equal(one.run.start, [-4.0, -4.0])


def test_train_without_save_reports_the_same_as_with_it(tmp_path, capsys):
    args = ["train", "--start", "-4", "-4", "--epochs", "50", "--json"]
    main(args)
    plain = json.loads(capsys.readouterr().out)
    main([*args, "--save", str(tmp_path / "s.bpgui")])
    saved = json.loads(capsys.readouterr().out)
    for k in ("epochs", "sse", "performance", "grad_norm", "params", "stop_reason", "start"):
        assert plain[k] == saved[k], k


def test_problem_flags_with_a_session_are_an_error(tmp_path, capsys):
    path = tmp_path / "a.bpgui"
    assert main(["train", "--epochs", "5", "--save", str(path)]) == 0
    capsys.readouterr()
    assert main(["train", str(path), "--optimizer", "cg"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--optimizer: not with a SESSION" in err and "\n" not in err


def test_goal_applies_to_the_performance_index_and_says_so(capsys):
    """With --performance mse the goal is met when the MSE (SSE / 41 on the book's data)
    is <= GOAL, while the SSE is still above it: the JSON names the index it applied to."""
    args = ["train", "--start", "-4", "-4", "--optimizer", "vlbp", "--epochs", "1000"]
    assert main([*args, "--performance", "mse", "--goal", "1e-3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stop_reason"] == "goal" and out["performance_index"] == "mse"
    assert out["goal"] == 1e-3 and out["performance"] <= 1e-3 < out["sse"]
    assert out["sse"] == pytest.approx(41 * out["performance"], rel=1e-12)
    r = cli("train", "--help")
    text = " ".join(r.stdout.split())
    assert "SSE <= GOAL" not in text
    assert "stop when the performance index being minimized" in text
