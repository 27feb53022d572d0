"""How to make a problem's data, exactly and repeatably: :class:`DataRecipe` (the preset's
targets, a function of p, a CSV file or a data set in the plane; normalization, the
validation and test splits, input features, class coding).  A session stores the recipe,
never the points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpgui_engine.model.data import METHODS, Dataset
from bpgui_engine.model.features import CODINGS, check_features
from bpgui_engine.model.plane import Prepared, prepare
from bpgui_engine.model.presets import PRESETS, get_preset
from bpgui_engine.model.toy import check_toy, get_toy

__all__ = ["DATA_KINDS", "DataRecipe"]

DATA_KINDS = ("preset", "expression", "csv", "toy")


@dataclass(frozen=True)
class DataRecipe:
    """How to make the training (and validation) data, exactly and repeatably."""

    kind: str = "preset"  # preset | expression | csv | toy (a data set in the plane)
    preset: str = "book-1-2-1"
    expression: str = "1 + sin(pi/4*p)"
    lo: float = -2.0
    hi: float = 2.0
    points: int = 41
    noise: float = 0.0
    noise_seed: int = 0
    csv_text: str = ""
    csv_name: str = ""
    inputs: tuple[str, ...] = ("0",)
    targets: tuple[str, ...] = ("1",)
    normalize: str = "none"
    validation: float = 0.0
    split_seed: int = 0
    # data in the plane (kind "toy"; features also for a CSV file with two inputs)
    toy: str = "circle"  # a name in bpgui_engine.model.toy.TOYS
    samples: int = 500  # toy: points before the test split (noise: ``noise``, seed:
    # ``noise_seed``)
    test: float = 0.0  # the share held out as the test set (seeded by ``split_seed``)
    features: tuple[str, ...] = ()  # the network's inputs (bpgui_engine.model.features);
    # () : the raw inputs
    classes: bool = False  # csv: the (one) target column holds class labels
    coding: str = "auto"  # class labels -> targets (bpgui_engine.model.features.CODINGS)

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise ValueError(
                f"data: kind must be one of {', '.join(DATA_KINDS)}, not {self.kind!r}"
            )
        if self.kind == "preset" and self.preset not in PRESETS:
            get_preset(self.preset)  # raises with the list of presets
        if self.normalize not in METHODS:
            raise ValueError(f"normalization: choose one of {', '.join(METHODS)}")
        if not 0.0 <= self.validation < 1.0:
            raise ValueError(f"validation split: must be in [0, 1), got {self.validation}")
        if not 0.0 <= self.test < 1.0:
            raise ValueError(f"test share: must be in [0, 1), got {self.test}")
        object.__setattr__(self, "features", tuple(self.features))
        if self.features:
            check_features(self.features)
        if self.coding not in CODINGS:
            raise ValueError(f"coding: choose one of {', '.join(CODINGS)}, not {self.coding!r}")
        if self.kind == "toy":
            get_toy(self.toy)
            check_toy(self.samples, self.noise)
            if not self.features:
                raise ValueError("features: choose at least one input feature")

    @classmethod
    def plane(cls, toy: str = "circle", **changes: Any) -> DataRecipe:
        """A data set in the plane with Playground's defaults: 500 points, half of them
        the test set, the inputs x1 and x2."""
        base = {"samples": 500, "test": 0.5, "features": ("x1", "x2")}
        return cls(kind="toy", toy=toy, **{**base, **changes})

    def build(self) -> tuple[Dataset, Dataset | None]:
        """Training and validation sets (validation is None without a split)."""
        p = self.prepare()
        return p.train, p.validation

    def prepare(self) -> Prepared:
        """Every set the recipe makes, with the points in the plane
        (:func:`bpgui_engine.model.plane.prepare`)."""
        return prepare(self)
