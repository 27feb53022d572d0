"""Issue 18 #9: the response plot shows the validation samples (their own marker), and
the data field warns when targets lie outside the output transfer function's range."""

from __future__ import annotations

import dataclasses

import numpy as np

T = 20_000


def test_validation_samples_are_drawn_with_their_own_marker(window, qtbot):
    s = window.setup
    window.apply_setup(s.replace(data=dataclasses.replace(s.data, validation=0.25)))
    val = window.objective.validation
    assert val is not None and val.n_samples > 0
    r = window.plots.response
    x, _y = r.val_targets.getData()
    assert np.array_equal(np.sort(x), np.sort(val.P[0]))
    assert r.val_targets.opts["symbol"] != r.targets.opts["symbol"]
    tx, _ = r.targets.getData()
    assert len(tx) == window.objective.data.n_samples  # training samples only


def test_targets_outside_the_output_range_are_warned_about(window, qtbot):
    pane = window.network_pane
    window.load_preset("sine-1-2-1")  # purelin output: 1 + sin is fine
    assert "outside" not in pane.data_warning.text()
    spec = window.setup.spec
    logsig_out = dataclasses.replace(spec, transfers=(*spec.transfers[:-1], "logsig"))
    window.apply_setup(window.setup.replace(spec=logsig_out))
    qtbot.waitUntil(lambda: pane.data_warning.isVisible(), timeout=T)
    text = pane.data_warning.text()
    assert "logsig" in text and "(0, 1)" in text and "2" in text
    assert window.actions.start.isEnabled()  # a warning, not an error
