from __future__ import annotations

import numpy as np
import pytest

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.presets import get_preset

# Network shapes the derivative tests run on: (spec, performance)
SHAPES = [
    (NetworkSpec(1, (2, 1), ("logsig", "logsig")), "sse"),
    (NetworkSpec(2, (3, 2), ("tansig", "purelin")), "sse"),
    (NetworkSpec(3, (4, 3, 2), ("logsig", "tansig", "purelin")), "mse"),
    (NetworkSpec(2, (5, 3), ("poslin", "softmax")), "ce"),
    (NetworkSpec(2, (3, 2), ("tansig", "logsig")), "ce"),
    (NetworkSpec(2, (3, 3), ("tansig", "softmax")), "sse"),
]


def random_problem(spec: NetworkSpec, perf: str, seed: int = 0, Q: int = 7):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(spec.n_inputs, Q))
    if perf == "ce" and spec.transfers[-1] == "softmax":
        T = np.eye(spec.n_outputs)[:, rng.integers(0, spec.n_outputs, Q)]
    elif perf == "ce":
        T = rng.uniform(0, 1, (spec.n_outputs, Q))
    else:
        T = rng.normal(size=(spec.n_outputs, Q))
    theta = rng.normal(size=spec.n_params)
    return Dataset(P, T), theta


@pytest.fixture
def book():
    return get_preset("book-1-2-1")
