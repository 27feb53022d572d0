"""``bpgui train --dataset`` and its flags (issue 21)."""

import json

import pytest

from bpgui.cli import main


def _json(capsys, *args):
    assert main(["train", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_train_on_a_plane_data_set_reports_both_accuracies(capsys):
    out = _json(capsys, "--dataset", "spiral:noise=0.1,samples=100,test=0.4,seed=1",
                "--layers", "6,6", "--transfer", "tansig", "--output", "logsig",
                "--features", "x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2", "--performance", "ce",
                "--l2", "0.001", "--l1", "0", "--optimizer", "adam", "--epochs", "50")  # fmt: skip
    assert out["dataset"] == "spiral:noise=0.1,samples=100,test=0.4,seed=1"
    assert out["classes"] == 2 and out["l2"] == 0.001 and out["epochs"] == 50
    assert 0 <= out["train_accuracy"] <= 1 and 0 <= out["test_accuracy"] <= 1
    assert len(out["params"]) == 7 * 6 + 6 + 6 * 6 + 6 + 6 + 1
    assert out["performance_index"] == "ce" and out["train_loss"] < out["performance"]


def test_plane_defaults_test_share_half_and_cross_entropy(capsys):
    out = _json(capsys, "--dataset", "gauss3", "--epochs", "5", "--optimizer", "cg")
    assert out["classes"] == 3 and out["performance_index"] == "ce"
    assert "W2[3,8]" in out["params"]  # softmax over three outputs after 8 hidden
    assert out["test_accuracy"] is not None  # a test set by default
    book = _json(capsys, "--epochs", "3")
    assert book["train_accuracy"] is None and book["dataset"] is None


def test_the_decision_of_two_seeds_differs_and_one_seed_repeats(capsys):
    a = _json(capsys, "--dataset", "xor:seed=2", "--layers", "2", "--epochs", "3")
    b = _json(capsys, "--dataset", "xor:seed=2", "--layers", "2", "--epochs", "3")
    c = _json(capsys, "--dataset", "xor:seed=3", "--layers", "2", "--epochs", "3")
    assert a["params"] == b["params"] and a["train_loss"] != c["train_loss"]


@pytest.mark.parametrize(
    ("args", "why"),
    [(["--dataset", "swirl"], "unknown 'swirl'"),
     (["--dataset", "xor:noise=-1"], "noise"),
     (["--dataset", "xor:samples=3"], "samples"),
     (["--dataset", "xor:test=1"], "test"),
     (["--dataset", "xor:colour=red"], "KEY=VALUE"),
     (["--dataset", "xor:samples=1.5"], "whole"),
     (["--dataset", "xor", "--features", ""], "feature"),
     (["--dataset", "xor", "--features", "x1,x9"], "unknown 'x9'"),
     (["--dataset", "xor", "--output", "softmax", "--optimizer", "lm"], "sum-of-squares"),
     (["--dataset", "xor", "--preset", "sine-1-2-1"], "not with --preset"),
     (["--layers", "4"], "needs --dataset"),
     (["--dataset", "xor", "--l2", "-1"], "l2"),
     (["--dataset", "xor", "--l1", "0.1", "--optimizer", "lm", "--performance", "sse"], "L1")],
)  # fmt: skip
def test_bad_plane_flags_get_one_line(capsys, args, why):
    assert main(["train", *args, "--epochs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert why in err and len(err.splitlines()) == 1
