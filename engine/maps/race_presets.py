"""Entries for an optimizer race, ready made: the seed's five methods, MATLAB's train*
family as bpgui's methods, and the modern ones (issue 23).  Qt-free."""

from __future__ import annotations

from bpgui_engine.maps.race import COLOURS, RaceEntry
from bpgui_engine.model.experiments import get_experiment

__all__ = ["MATLAB", "MODERN", "PRESETS", "race_preset"]

#: MATLAB's train* functions as bpgui's methods (``traingd`` ... ``trainbr``), with the
#: book problem's settings where the toolbox's defaults (lr 0.01) would not move in a race
MATLAB = (
    ("traingd", "sd", {"lr": 1.0}),
    ("traingdm", "momentum", {"lr": 4.0, "gamma": 0.8}),
    ("traingdx", "vlbp", {"lr": 1.0, "gamma": 0.9, "zeta": 0.04, "rho": 0.7, "eta": 1.05}),
    ("traincgf", "cg", {"beta": "fr"}),
    ("traincgp", "cg", {"beta": "pr"}),
    ("traincgb", "cg", {"beta": "fr", "powell": "on"}),
    ("trainscg", "scg", {}),
    ("trainbfg", "bfgs", {}),
    ("trainoss", "oss", {}),
    ("trainrp", "rprop", {}),
    ("trainlm", "lm", {}),
    ("trainbr", "br", {}),
)
#: what deep-learning courses use, at rates that suit the book problem
MODERN = (
    ("Nesterov", "nesterov", {"lr": 0.1, "momentum": 0.9}),
    ("RMSprop", "rmsprop", {"lr": 0.01}),
    ("Adagrad", "adagrad", {"lr": 0.5}),
    ("Adam", "adam", {"lr": 0.1}),
    ("AdamW", "adamw", {"lr": 0.1, "weight_decay": 0.01}),
    ("iRprop+", "rprop", {"variant": "irprop+"}),
)
PRESETS = ("seed", "matlab", "modern")


def race_preset(name: str = "seed") -> list[RaceEntry]:
    """Entries for a race: ``seed`` — the seed's five methods with its experiments'
    settings (:mod:`bpgui_engine.model.experiments`); ``matlab`` — :data:`MATLAB`, the
    toolbox's family; ``modern`` — :data:`MODERN`."""
    if name == "seed":
        keys = ("trajectory-a", "momentum", "vlbp", "cg", "lm")
        out = []
        for i, key in enumerate(keys):
            ch = get_experiment(key).changes
            out.append(RaceEntry(ch["optimizer"], dict(ch["hyper"]), COLOURS[i]))
        return out
    table = {"matlab": MATLAB, "modern": MODERN}.get(name)
    if table is None:
        raise ValueError(f"race preset: {name!r} is not one of {', '.join(PRESETS)}")
    return [RaceEntry(opt, dict(h), COLOURS[i % len(COLOURS)], label)
            for i, (label, opt, h) in enumerate(table)]  # fmt: skip
