"""The data form's fields for data in the plane: the toy data set (TensorFlow Playground's
and more), its samples, noise and seed (Regenerate draws a new seed), the test share,
the input features and how class labels become targets.  Part of
:class:`bpgui.panes.data.DataForm`, which owns the recipe."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from bpgui.widgets.fields import NumberEdit, attach_error, mark, with_error
from bpgui.widgets.flow_layout import FlowLayout
from bpgui_engine.model.features import FEATURES
from bpgui_engine.model.toy import MAX_NOISE, MAX_TOY_SAMPLES, TOYS

FEATURES_TIP = (
    "the network's inputs, computed from each point (x1, x2): the network's input count "
    "follows the selection"
)
CODING_TIP = (
    "how class labels become targets: auto is one 0/1 output for two classes (logsig) and "
    "one output per class for more; one-hot always one output per class (softmax)"
)


class PlaneFields(QWidget):
    """Edits the plane part of a recipe; ``changed`` when an edit is finished."""

    changed = Signal()
    typed = Signal()  # a keystroke in a number: the form re-checks (Start says why)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        f = QFormLayout(self)
        f.setContentsMargins(0, 0, 0, 0)
        self.toy = QComboBox()
        for name, toy in TOYS.items():
            self.toy.addItem(toy.title, name)
        self.toy.setToolTip("a data set in the plane: classes, or a surface for regression")
        attach_error(self.toy, "data set")
        f.addRow("data set", with_error(self.toy, self.toy))
        tip = "points in the data set (training and test)"
        self.samples = NumberEdit(500, tip, integer=True, lo=4, hi=MAX_TOY_SAMPLES,
                                  label="samples")  # fmt: skip
        self.noise = NumberEdit(0.0, "noise as a fraction (Playground's slider: 0 to 0.5)",
                                lo=0, hi=MAX_NOISE, label="noise")  # fmt: skip
        f.addRow("samples", with_error(self.samples, self.samples))
        f.addRow("noise", with_error(self.noise, self.noise))  # its error under it
        self.seed = NumberEdit(0, "seed of the points", integer=True, lo=0, hi=2**31 - 1,
                               label="seed")  # fmt: skip
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setToolTip("new points: the next seed")
        self.regenerate.clicked.connect(self._regenerate)
        row = QHBoxLayout()
        row.addWidget(self.seed)
        row.addWidget(self.regenerate)
        f.addRow("seed", with_error(row, self.seed))
        self.test = NumberEdit(0.5, "share of the points held out as the test set (○ on the "
                               "decision map; not trained on)", lo=0, hi=0.99,
                               label="test share")  # fmt: skip
        f.addRow("test share", with_error(self.test, self.test))
        feats = QWidget()
        flow = FlowLayout(feats)
        self.features: dict[str, QCheckBox] = {}
        for name, (label, _) in FEATURES.items():
            box = QCheckBox(label)
            box.setToolTip(FEATURES_TIP)
            box.toggled.connect(self._feature_toggled)
            flow.addWidget(box)
            self.features[name] = box
        attach_error(feats, "features")
        feats.tip = FEATURES_TIP
        self.feature_box = feats
        f.addRow("features", with_error(feats, feats))
        self.classes = QCheckBox("the target column holds class labels")
        self.classes.setToolTip("CSV: read the (one) target column as classes")
        self.classes.toggled.connect(lambda _on: self._emit())
        f.addRow("classes", self.classes)
        self.coding = QComboBox()
        for text, key in (("auto", "auto"), ("one-hot (softmax)", "onehot"),
                          ("one 0/1 output", "binary")):  # fmt: skip
            self.coding.addItem(text, key)
        self.coding.setToolTip(CODING_TIP)
        attach_error(self.coding, "targets")
        self.coding.currentIndexChanged.connect(lambda _i: self._emit())
        f.addRow("targets", with_error(self.coding, self.coding))
        self.toy.currentIndexChanged.connect(lambda _i: self._emit())
        self.numbers = (self.samples, self.noise, self.seed, self.test)
        for w in self.numbers:
            w.editingFinished.connect(self._emit)
            w.textEdited.connect(lambda _t: self.typed.emit())
        self._quiet = False

    # ---- in and out ------------------------------------------------------------------
    def set_recipe(self, d) -> None:
        self._quiet = True
        try:
            self.toy.setCurrentIndex(max(0, self.toy.findData(d.toy)))
            self.samples.set_value(d.samples)
            toy = d.kind == "toy"  # else a toy set starts from no noise and seed 0
            self.noise.set_value(d.noise if toy else 0.0)
            self.seed.set_value(d.noise_seed if toy else 0)
            self.test.set_value(d.test)
            chosen = set(d.features) if d.features else {"x1", "x2"}
            for name, box in self.features.items():
                box.setChecked(name in chosen)
            self.classes.setChecked(d.classes)
            self.coding.setCurrentIndex(max(0, self.coding.findData(d.coding)))
        finally:
            self._quiet = False
        mark(self.feature_box, None, FEATURES_TIP)

    def chosen_features(self) -> tuple[str, ...]:
        return tuple(n for n, box in self.features.items() if box.isChecked())

    def fields(self, kind: str) -> dict:
        """The recipe's plane fields for a source of ``kind`` (``toy`` or ``csv``)."""
        out = {
            "test": float(self.test.value()),
            "coding": self.coding.currentData(),
        }
        if kind == "toy":
            out |= {
                "toy": self.toy.currentData(),
                "samples": int(self.samples.value()),
                "noise": float(self.noise.value()),
                "noise_seed": int(self.seed.value()),
                "features": self.chosen_features(),
            }
        else:  # csv: features only for two inputs, when the user picks other than x1, x2
            feats = self.chosen_features()
            out |= {"classes": self.classes.isChecked(),
                    "features": () if feats == ("x1", "x2") else feats}  # fmt: skip
        return out

    def blame(self, message: str) -> QWidget | None:
        """The field ``message`` is about (None: not one of these)."""
        for prefix, w in (("samples", self.samples), ("noise", self.noise),
                          ("test share", self.test), ("features", self.feature_box),
                          ("coding", self.coding), ("classes", self.coding),
                          ("data set", self.toy)):  # fmt: skip
            if message.startswith(prefix):
                return w
        return None

    def enable(self, kind: str) -> None:
        toy = kind == "toy"
        for w in (self.toy, self.samples, self.noise, self.seed, self.regenerate):
            w.setEnabled(toy)
        self.layout().setRowVisible(self.classes, kind == "csv")
        for w in (self.toy, self.samples, self.noise, self.seed):  # a CSV has its points
            self.layout().setRowVisible(w.error_label.parentWidget(), toy)
        self.setVisible(kind in ("toy", "csv"))

    # ---- edits -----------------------------------------------------------------------
    def _feature_toggled(self, _on: bool) -> None:
        if not self.chosen_features():
            mark(self.feature_box, "choose at least one input feature", FEATURES_TIP)
        else:
            mark(self.feature_box, None, FEATURES_TIP)
        self._emit()

    def _regenerate(self) -> None:
        v = self.seed.value()
        self.seed.set_value(0 if v is None else (int(v) + 1) % (2**31 - 1))
        self._emit()

    def _emit(self) -> None:
        if not self._quiet:
            self.changed.emit()


def toy_tooltips(combo: QComboBox) -> None:
    """Each data set's recipe as its tooltip (from the engine's table)."""
    for i in range(combo.count()):
        toy = TOYS[combo.itemData(i)]
        kind = "regression" if toy.regression else f"{toy.classes} classes"
        combo.setItemData(i, f"{toy.title}: {kind}", Qt.ItemDataRole.ToolTipRole)
