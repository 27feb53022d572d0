"""ParamLabels (labels held as positions) against the tuple of labels it stands for, and
NetworkSpec.label/index (computed, no table) against the list of every label."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpgui_engine.model.labels import ParamLabels
from bpgui_engine.model.network import NetworkSpec

specs = st.builds(
    lambda r, sizes: NetworkSpec(r, tuple(sizes), ("tansig",) * (len(sizes) - 1) + ("purelin",)),
    st.integers(1, 4),
    st.lists(st.integers(1, 5), min_size=1, max_size=4),
)


def all_labels(spec: NetworkSpec) -> list[str]:
    """Every label, written out by plain loops from the book's notation."""
    out = []
    for m, (r, s) in enumerate(zip(spec.fan_ins, spec.sizes, strict=True), 1):
        out += [f"W{m}[{i},{j}]" for i in range(1, s + 1) for j in range(1, r + 1)]
        out += [f"b{m}[{i}]" for i in range(1, s + 1)]
    return out


@given(specs)
def test_label_and_index_agree_with_the_list_of_labels(spec):
    labels = all_labels(spec)
    assert len(labels) == spec.n_params
    for k, lab in enumerate(labels):
        assert spec.label(k) == lab and spec.index(lab) == k
        assert spec.index(lab.replace("W", "w").replace(",", ", ")) == k


@given(specs, st.text(alphabet="Wwb0123456789[], x-", max_size=10))
def test_index_accepts_exactly_the_labels(spec, text):
    labels = set(all_labels(spec))
    canon = text.replace(" ", "").replace("w", "W")
    single = {f"b{m}" for m, s in enumerate(spec.sizes, 1) if s == 1}
    try:
        k = spec.index(text)
    except ValueError as exc:
        assert canon not in labels and canon not in single
        assert "valid labels" in str(exc)
    else:
        assert canon in labels or canon in single
        assert spec.label(k) == (canon if canon in labels else canon + "[1]")


@settings(max_examples=60)
@given(specs, st.data())
def test_param_labels_behave_like_the_tuple(spec, data):
    labels = all_labels(spec)
    idx = data.draw(st.lists(st.integers(0, spec.n_params - 1), unique=True, max_size=12))
    want = tuple(labels[k] for k in idx)
    got = ParamLabels(spec, np.array(idx, dtype=np.int64))
    assert len(got) == len(want) and tuple(got) == want and list(got) == list(want)
    assert got == want and got == list(want) and want == got
    assert hash(got) == hash(want)
    assert ParamLabels.of(spec, want) == got and ParamLabels.of(spec, got) is got
    for i, lab in enumerate(want):
        assert got[i] == lab and got[i - len(want)] == lab
        assert lab in got and got.index(lab) == i
    for lab in set(labels) - set(want):
        assert lab not in got
        with pytest.raises(ValueError):
            got.index(lab)
    assert "W99[1,1]" not in got and 3 not in got
    assert tuple(got[1:3]) == want[1:3]
    assert got.is_unique()
    assert got.is_all() == (list(idx) == list(range(spec.n_params)))


def test_param_labels_refuse_bad_positions():
    spec = NetworkSpec(1, (2, 1), ("logsig", "logsig"))
    with pytest.raises(ValueError, match="outside"):
        ParamLabels(spec, np.array([0, 7]))
    with pytest.raises(ValueError, match="positions"):
        ParamLabels(spec, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="unknown parameter label 'W3"):
        ParamLabels.of(spec, ["W1[1,1]", "W3[1,1]"])
    assert not ParamLabels(spec, np.array([1, 1])).is_unique()
    dup = ParamLabels(spec, np.array([0, 1]))
    assert dup.idx.flags.writeable is False


def test_a_large_networks_error_describes_the_labels_instead_of_listing_them():
    spec = NetworkSpec(1, (2000, 2000, 1), ("logsig", "logsig", "purelin"))
    with pytest.raises(ValueError) as exc:
        spec.index("W2[2001,1]")
    msg = str(exc.value)
    assert len(msg) < 400 and "W2[i,j] (i 1..2000, j 1..2000)" in msg
    assert "labels" not in spec.__dict__  # no table of 4 million labels was made
