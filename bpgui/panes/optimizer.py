"""Optimizer choice, a hyperparameter form generated from the engine's metadata, and the
stopping criteria."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from bpgui.widgets.fields import (
    LayerRatesEdit,
    LogNumber,
    NumberEdit,
    attach_error,
    mark,
    with_error,
)
from bpgui.widgets.theme import set_role
from bpgui_engine.model.performance import get_performance
from bpgui_engine.optim import OPTIMIZERS, mismatch
from bpgui_engine.optim.base import range_text
from bpgui_engine.train.trainer import StopCriteria


class OptimizerPane(QWidget):
    optimizer_changed = Signal(str, dict)  # name, hyperparameters (valid)
    hyper_changed = Signal(dict)  # a valid edit of the current optimizer's form
    criteria_changed = Signal(object)  # StopCriteria
    validity_changed = Signal(bool)
    help_requested = Signal(str, str)  # guide page, anchor

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        for name, cls in OPTIMIZERS.items():
            self.combo.addItem(f"{cls.title}  [{name}]", name)
        self.combo.setToolTip("the training algorithm; its settings appear below")
        attach_error(self.combo, "optimizer")
        self.performance = get_performance("sse")  # the index it minimizes (set_performance)
        self.l1 = self.l2 = 0.0  # its penalties' rates (set_performance)
        self.combo.currentIndexChanged.connect(self._optimizer_picked)
        self.form_box = QGroupBox("Hyperparameters")
        self.form = QFormLayout(self.form_box)
        self.fields: dict[str, Any] = {}
        self._kept: dict[str, dict] = {}  # each method's last settings, while switching
        crit = QGroupBox("Stop when")
        cf = QFormLayout(crit)
        self.epochs = NumberEdit(
            1000, "maximum number of epochs", integer=True, lo=0, hi=1e12, label="max epochs"
        )
        self.goal = NumberEdit(
            0.0,
            "stop when the performance index (SSE, MSE or cross-entropy, as chosen under "
            "Network & data) falls to this (0: off)",
            lo=0,
            label="goal",
        )
        self.min_grad = NumberEdit(
            0.0, "stop when the gradient norm falls to this (0: off)", lo=0, label="min gradient"
        )
        self.max_time = NumberEdit(
            math.inf,
            "time limit in seconds (blank: none)",
            lo=1e-3,
            allow_blank=True,
            label="time limit",
        )
        self.max_fail = NumberEdit(
            6,
            "validation checks in a row the error may rise",
            integer=True,
            lo=1,
            hi=1e9,
            label="validation fails",
        )
        self.criteria_fields = (self.epochs, self.goal, self.min_grad, self.max_time, self.max_fail)
        for label, w in (
            ("max epochs", self.epochs),
            ("goal", self.goal),
            ("min gradient", self.min_grad),
            ("time limit (s)", self.max_time),
            ("validation fails", self.max_fail),
        ):
            cf.addRow(label, with_error(w, w))
            w.value_changed.connect(self._criteria_edited)
            w.textEdited.connect(self._criteria_edited)
        self.note = QLabel()
        self.note.setWordWrap(True)
        set_role(self.note, "dim")
        # "About <method>…": opens the user guide at the method's explanation
        self.about_link = QLabel()
        self.about_link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.about_link.linkActivated.connect(self._help_link)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Optimizer"))
        lay.addWidget(with_error(self.combo, self.combo))
        lay.addWidget(self.about_link)
        lay.addWidget(self.form_box)
        lay.addWidget(crit)
        lay.addWidget(self.note)
        lay.addStretch(1)
        self._quiet = False
        self._valid = True
        self._form_name: str | None = None
        self.n_layers = 2  # the network's layers (per-layer fields); set_layers
        self._build_form(self.name, {})

    # ---- state in and out -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.combo.currentData()

    def set_state(self, name: str, hyper: dict, criteria: StopCriteria) -> None:
        """Show ``name``/``hyper``/``criteria`` without emitting change signals.  The form
        is rebuilt only for another optimizer; a field keeps text that already means its
        value and the text of a field being edited."""
        self._quiet = True
        try:
            self.combo.setCurrentIndex(list(OPTIMIZERS).index(name))
            if name != self._form_name:
                self._kept.clear()  # a setup from elsewhere (an experiment, a session)
                self._build_form(name, hyper)
            else:
                self._show_hyper(hyper)
            self.epochs.set_value(criteria.epochs)
            self.goal.set_value(criteria.goal)
            self.min_grad.set_value(criteria.min_grad)
            self.max_time.set_value(criteria.max_time)
            self.max_fail.set_value(criteria.max_fail)
        finally:
            self._quiet = False
        self._report_validity()

    def set_performance(self, name: str, l1: float = 0.0, l2: float = 0.0) -> None:
        """The performance index the optimizer is to minimize, with its penalties'
        rates (not every optimizer can)."""
        self.performance = get_performance(name)
        self.l1, self.l2 = l1, l2
        self._report_validity()

    def set_layers(self, n: int) -> None:
        """The network's number of layers: one learning-rate multiplier field each."""
        self.n_layers = max(1, int(n))
        for w in self.fields.values():
            if isinstance(w, LayerRatesEdit):
                w.set_layers(self.n_layers)
        self._report_validity()

    def set_stability(self, text: str) -> None:
        """The stability bound beside the learning rate ("": hidden)."""
        if self.stability is not None:
            if text != self.stability.text():
                self.stability.setText(text)
            self.stability.setVisible(bool(text))

    def _show_hyper(self, hyper: dict) -> None:
        for key, w in self.fields.items():
            if key not in hyper:
                continue
            if isinstance(w, QComboBox):
                w.setCurrentText(str(hyper[key]))
            else:
                w.set_value(hyper[key])
                slider = self.sliders.get(key)
                if slider is not None:
                    slider.sync()

    def problems(self) -> list[str]:
        """Why the form cannot be used, one sentence per bad field ("goal: must be >= 0")."""
        out = []
        why = mismatch(self.name, self.performance, self.l1, self.l2)
        mark(self.combo, why, self.combo.tip)
        if why:
            out.append(f"optimizer: {why}")
        for w in (*self.fields.values(), *self.criteria_fields):
            if isinstance(w, NumberEdit | LayerRatesEdit):
                p = w.problem()
                if p:
                    out.append(p)
        if not out:
            try:
                self.hyper()
                self.criteria()
            except ValueError as exc:
                out.append(str(exc))
        return out

    def _report_validity(self) -> None:
        self.validity_changed.emit(not self.problems())

    def hyper(self) -> dict:
        """The form's hyperparameters; ``ValueError`` names the first bad field."""
        cls = OPTIMIZERS[self.name]
        out = {}
        for f in dataclasses.fields(cls.Hyper):
            w = self.fields[f.name]
            if isinstance(w, QComboBox):
                out[f.name] = w.currentText()
            else:
                try:
                    out[f.name] = w.value()
                except ValueError as exc:
                    raise ValueError(f"{f.name}: {exc}") from None
        cls.Hyper.from_dict(out)  # range checks, with the engine's own message
        return out

    def criteria(self) -> StopCriteria:
        t = self.max_time.value()
        return StopCriteria(
            epochs=int(self.epochs.value()),
            goal=float(self.goal.value()),
            min_grad=float(self.min_grad.value()),
            max_fail=int(self.max_fail.value()),
            max_time=math.inf if t is None else float(t),
        )

    def is_valid(self) -> bool:
        try:
            self.hyper()
            self.criteria()
        except ValueError:
            return False
        return True

    # ---- the generated form ---------------------------------------------------------------------
    def _build_form(self, name: str, values: dict) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields.clear()
        self.sliders: dict[str, LogNumber] = {}
        self.stability: QLabel | None = None
        self._form_name = name
        cls = OPTIMIZERS[name]
        defaults = cls.Hyper()
        for f in dataclasses.fields(cls.Hyper):
            md = f.metadata
            v = values.get(f.name, getattr(defaults, f.name))
            tip = f"{md['label']}: {md.get('help') or ''} Allowed: {range_text(f)}".replace(
                ":  Allowed", ". Allowed"
            )
            if md.get("per_layer"):  # one multiplier per layer
                w = LayerRatesEdit(v, self.n_layers, tip, f.name, md["lo"], md["hi"])
                w.edited.connect(self._hyper_edited)
                self.fields[f.name] = w
                self.form.addRow(f.name, w)
                continue
            if md.get("choices"):
                w = QComboBox()
                w.addItems(list(md["choices"]))
                w.setCurrentText(str(v))
                w.setToolTip(tip)
                w.currentIndexChanged.connect(self._hyper_edited)
                self.fields[f.name] = w
                self.form.addRow(f.name, w)
                continue
            integer = f.type in ("int", int)
            edit = NumberEdit(v, tip, integer=integer, label=f.name)
            edit.textEdited.connect(self._hyper_edited)
            edit.editingFinished.connect(self._hyper_edited)
            self.fields[f.name] = edit
            row: QWidget = edit
            if md.get("log"):
                lo = md["lo"] if md.get("lo") and md["lo"] > 0 else 1e-6
                hi = md["hi"] if md.get("hi") is not None else 1e6
                row = self.sliders[f.name] = LogNumber(edit, lo, min(hi, 1e6))
                edit.value_changed.connect(self._hyper_edited)
            self.form.addRow(f.name, with_error(row, edit))
            if f.name == "lr":  # steepest descent's stability bound here (issue 13 #3)
                self.stability = QLabel()
                self.stability.setWordWrap(True)
                self.stability.setTextFormat(Qt.TextFormat.RichText)
                self.stability.setToolTip(
                    "the largest learning rate for which steepest descent is stable near the "
                    "current point: 2 / λmax of the Hessian (NND eq. 9.25), in the engine's "
                    "units; View ▸ Curvature and equations shows the eigenvalues"
                )
                self.stability.hide()
                self.form.addRow("", self.stability)
        if not dataclasses.fields(cls.Hyper):  # BFGS, OSS: nothing to set
            note = QLabel("none: the line search's constants are fixed (see the guide)")
            note.setWordWrap(True)
            self.form.addRow(note)
        self.form_box.setTitle(f"{cls.title}: hyperparameters")
        self.about_link.setText(
            f'<a href="optimizer.md#{name}">About {_lower_first(cls.title.split(" (")[0])}: '
            "the method and what to watch for…</a>"
        )
        self.note.setText(
            "Changing a hyperparameter during a run applies from the next epoch; "
            "choosing another optimizer applies to the next run."
        )

    def _optimizer_picked(self, _index: int) -> None:
        if self._quiet:
            return
        # the method left keeps its settings for when it is picked again (this window)
        old = getattr(self, "_form_name", None)
        if old is not None and old in OPTIMIZERS and old != self.name:
            with contextlib.suppress(ValueError):  # an unfinished setting is not kept
                kept = self._hyper_of(old)
                kept.pop("lr_layers", None)  # per layer: the network may change meanwhile
                self._kept[old] = kept
        self._build_form(self.name, dict(self._kept.get(self.name, {})))
        self.optimizer_changed.emit(self.name, self.hyper())

    def _hyper_of(self, name: str) -> dict:
        """The form's values for method ``name`` (the form still shows it)."""
        out = {}
        for f in dataclasses.fields(OPTIMIZERS[name].Hyper):
            w = self.fields[f.name]
            out[f.name] = w.currentText() if isinstance(w, QComboBox) else w.value()
        return out

    def _hyper_edited(self, *_):
        if self._quiet:
            return
        try:
            h = self.hyper()
        except ValueError as exc:
            self._mark_hyper(str(exc))
            self._report_validity()
            return
        self._mark_hyper(None)
        self._report_validity()
        self.hyper_changed.emit(h)

    def _range_errors(self, error: str | None) -> dict[str, str]:
        """Field name -> the engine's range error, for every field out of range (each
        checked alone against the defaults of the others), and ``error``'s field (a rule
        between fields, e.g. mu <= mu_max)."""
        cls = OPTIMIZERS[self.name].Hyper
        out = {}
        for name, w in self.fields.items():
            if isinstance(w, QComboBox):
                continue
            try:
                cls.from_dict({name: w.value()})
            except ValueError as exc:  # a text that is no number, or out of range
                bad, _, message = str(exc).partition(": ")
                out[bad if bad in self.fields else name] = message or str(exc)
        bad, _, message = error.partition(": ") if error else ("", "", "")
        if bad in self.fields:
            out.setdefault(bad, message)
        return out

    def _mark_hyper(self, error: str | None) -> None:
        """Each number field checks its own text; the engine's range errors (``"lr: ..."``)
        go to every field they name, not only the first."""
        errors = self._range_errors(error) if error else {}
        for name, w in self.fields.items():
            message = errors.get(name)
            if isinstance(w, NumberEdit) and w.check(typing=w.hasFocus()) is None and message:
                mark(w, message, w.tip)
            elif isinstance(w, LayerRatesEdit) and w.check() is None and message:
                w.error_label.show_error(message)
                w.setProperty("invalid", True)

    def _criteria_edited(self, *_):
        if self._quiet:
            return
        errors = [w.check(typing=w.hasFocus()) for w in self.criteria_fields]
        if any(errors):
            self._report_validity()
            return
        try:
            c = self.criteria()
        except ValueError as exc:
            mark(self.epochs, str(exc), self.epochs.tip)
            self._report_validity()
            return
        self._report_validity()
        self.criteria_changed.emit(c)

    def _help_link(self, href: str) -> None:
        page, _, anchor = href.partition("#")
        self.help_requested.emit(page, anchor)


def _lower_first(title: str) -> str:
    """ "Resilient backpropagation" -> "resilient backpropagation"; acronyms stay
    ("BFGS quasi-Newton", "L-BFGS", "AdamW")."""
    head = title.split(" ")[0]
    if len(head) > 1 and (head[1].isupper() or not head[1].isalpha()):
        return title
    return title[0].lower() + title[1:]
