"""Data in the plane: the toy sets, features, class coding, the test split and the
recipe in sessions (issue 21)."""

import dataclasses

import numpy as np
import pytest

from bpgui_engine.model.data import csv_dataset
from bpgui_engine.model.features import (
    FEATURES,
    apply_features,
    check_features,
    decode_classes,
    encode_classes,
)
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.setup import DataRecipe, Setup, setup_from_dict, setup_to_dict
from bpgui_engine.model.toy import MAX_TOY_SAMPLES, TOYS, make_toy


@pytest.mark.parametrize("name", list(TOYS))
def test_every_toy_set_has_its_shape_classes_and_seed(name):
    toy = TOYS[name]
    X, y = make_toy(name, 301, 0.1, seed=3)
    assert X.shape == (2, 301) and y.shape == (301,) and np.all(np.isfinite(X))
    if toy.regression:
        assert y.dtype.kind == "f" and np.all(np.abs(y) < 2)
    else:
        assert y.dtype.kind == "i"
        counts = np.bincount(y, minlength=toy.classes)
        assert counts.size == toy.classes and counts.min() > 0
        if name not in ("circle", "xor"):  # decided by the points, not split evenly
            assert counts.max() - counts.min() <= 1  # balanced
    X2, y2 = make_toy(name, 301, 0.1, seed=3)
    X3, _ = make_toy(name, 301, 0.1, seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert np.abs(X).max() < 12  # Playground's domain, with noise


def test_toy_definitions_match_their_documented_rules():
    X, y = make_toy("xor", 400, 0.0, 0)
    np.testing.assert_array_equal(y, (X[0] * X[1] >= 0).astype(int))
    assert np.all(np.abs(X) >= 0.3)  # kept off the axes
    X, y = make_toy("circle", 400, 0.0, 0)
    np.testing.assert_array_equal(y, (np.hypot(X[0], X[1]) < 2.5).astype(int))
    X, y = make_toy("spiral", 400, 0.0, 0)
    r = np.hypot(X[0], X[1])  # arm k: r = 5 i / n
    np.testing.assert_allclose(np.sort(r[y == 1]), 5 * np.arange(200) / 200, atol=1e-12)
    X, y = make_toy("plane", 100, 0.0, 0)
    np.testing.assert_allclose(y, (X[0] + X[1]) / 12)


@pytest.mark.parametrize(
    ("samples", "noise", "why"),
    [(3, 0.0, "samples"), (MAX_TOY_SAMPLES + 1, 0.0, "samples"), (2.5, 0.0, "whole"),
     (True, 0.0, "whole"), (100, -0.1, "noise"), (100, float("nan"), "noise")],
)  # fmt: skip
def test_toy_fields_are_checked(samples, noise, why):
    with pytest.raises(ValueError, match=why):
        DataRecipe.plane("circle", samples=samples, noise=noise)


def test_features_follow_their_definitions():
    X = np.array([[0.5, -2.0, 3.0], [1.5, 0.25, -1.0]])
    F = apply_features(list(FEATURES), X)
    a, b = X
    np.testing.assert_array_equal(F, [a, b, a * a, b * b, a * b, np.sin(a), np.sin(b)])
    for bad, why in (((), "at least one"), (("x3",), "unknown"), (("x1", "x1"), "twice")):
        with pytest.raises(ValueError, match=why):
            check_features(bad)


def test_the_network_input_count_follows_the_features():
    rec = DataRecipe.plane("circle", features=("x1sq", "x2sq", "x1x2"))
    train, _ = rec.build()
    assert train.n_inputs == 3
    s = Setup.from_preset().replace(data=rec)
    s = s.with_network(NetworkSpec(3, (1,), ("logsig",)))
    assert s.objective().data.P.shape == (3, 250)


def test_class_coding():
    y = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(encode_classes(y, 3), np.eye(3)[:, y])
    np.testing.assert_array_equal(encode_classes(y % 2, 2), [[0, 0, 1, 0]])
    np.testing.assert_array_equal(encode_classes(y % 2, 2, "onehot"), np.eye(2)[:, y % 2])
    with pytest.raises(ValueError, match="one-hot"):
        encode_classes(y, 3, "binary")
    assert list(decode_classes(np.array([[0.2, 0.7]]))) == [0, 1]
    assert list(decode_classes(np.eye(3)[:, y])) == list(y)


def test_test_split_is_seeded_disjoint_and_the_points_kept():
    rec = DataRecipe.plane("gauss", samples=200, test=0.3, split_seed=5)
    p = rec.prepare()
    assert p.train.n_samples == 140 and p.test.n_samples == 60 and p.classes == 2
    X, _ = make_toy("gauss", 200, 0.0, 0)
    both = np.concatenate([p.plane_train.X, p.plane_test.X], axis=1)
    assert sorted(map(tuple, both.T)) == sorted(map(tuple, X.T))  # every point once
    np.testing.assert_array_equal(p.train.P, p.plane_train.X)  # x1, x2, not normalized
    np.testing.assert_array_equal(p.train.T[0], p.plane_train.y)
    other = dataclasses.replace(rec, split_seed=6).prepare()
    assert not np.array_equal(other.test.P, p.test.P)
    assert dataclasses.replace(rec, test=0.0).prepare().test is None


def test_normalization_is_fitted_on_the_training_part_and_applied_to_the_grid():
    rec = DataRecipe.plane("moons", samples=100, features=("x1", "x1sq"), normalize="standard")
    p = rec.prepare()
    np.testing.assert_allclose(p.train.P.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(p.inputs(p.plane_test.X), p.test.P)
    grid = np.zeros((2, 3, 4))
    assert p.inputs(grid).shape == (2, 3, 4)


def test_a_recipe_without_test_or_features_is_what_it_was():
    rec = DataRecipe(kind="expression", validation=0.25, normalize="minmax")
    train, val = rec.build()
    assert train.n_samples + val.n_samples == 41 and rec.prepare().plane_train is None


CSV = "x,y,label\n0,0,1\n1,0,2\n0,1,2\n1,1,1\n2,2,7\n"


def test_csv_class_column_becomes_targets():
    rec = DataRecipe(kind="csv", csv_text=CSV, inputs=("x", "y"), targets=("label",),
                     classes=True)  # fmt: skip
    p = rec.prepare()
    assert p.classes == 3 and p.train.T.shape == (3, 5) and p.in_plane
    np.testing.assert_array_equal(p.train.T.argmax(axis=0), [0, 1, 1, 0, 2])
    two = CSV.replace(",7\n", ",1\n")
    p2 = dataclasses.replace(rec, csv_text=two).prepare()
    np.testing.assert_array_equal(p2.train.T, [[0, 1, 1, 0, 0]])  # one 0/1 row
    with pytest.raises(ValueError, match="one class only"):
        dataclasses.replace(rec, csv_text="x,y,label\n0,0,1\n1,1,1\n").prepare()
    with pytest.raises(ValueError, match="more classes than one 0/1 output|one-hot"):
        dataclasses.replace(rec, coding="binary").prepare()
    many = "x,y,c\n" + "".join(f"{i},{i},{i / 7}\n" for i in range(150))
    with pytest.raises(ValueError, match="labels"):
        dataclasses.replace(rec, csv_text=many, inputs=("x", "y"), targets=("c",)).prepare()
    with pytest.raises(ValueError, match="plane"):  # features need two inputs
        DataRecipe(kind="csv", csv_text=CSV, inputs=("x",), targets=("label",),
                   features=("x1",)).prepare()  # fmt: skip
    assert csv_dataset(CSV, ["x"], ["label"]).n_samples == 5


def test_recipe_and_penalties_round_trip_through_the_session_dict():
    rec = DataRecipe.plane("spiral3", samples=90, noise=0.2, noise_seed=4, test=0.4,
                           features=("x1", "sinx2"), coding="onehot")  # fmt: skip
    s = Setup.from_preset().replace(data=rec)
    s = s.with_network(NetworkSpec(2, (5, 3), ("tansig", "softmax")), seed=2)
    s = s.replace(performance="ce", l2=1e-3, l1=2e-4)
    d = setup_to_dict(s)
    assert d["data"]["toy"] == "spiral3" and "P" not in d["data"]  # the recipe, not points
    back = setup_from_dict(d)
    assert back == s and back.data.features == ("x1", "sinx2")
    old = dict(d)
    del old["l2"], old["l1"]
    old["data"] = {k: v for k, v in d["data"].items() if k not in (
        "toy", "samples", "test", "features", "classes", "coding")}  # fmt: skip
    old["data"]["kind"] = "preset"
    old_setup = setup_from_dict({**old, **setup_to_dict(Setup.from_preset())})
    assert old_setup.l2 == 0.0 and old_setup.data.test == 0.0  # older files load unchanged
    with pytest.raises(ValueError, match="l2"):
        setup_from_dict({**d, "l2": "lots"})
    with pytest.raises(ValueError, match="l2"):
        s.replace(l2=-1.0)
