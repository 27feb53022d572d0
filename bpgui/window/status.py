"""The status bar: a message on the left (red only while it is an error, and only the
message), the run's state, and fields for epoch, performance, gradient, rate, speed and
the training kernel ("numba" or "numpy", why in its tooltip) whose widths fit the widest
value they can show, so numbers are never clipped."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar

from bpgui.widgets.elided import ElidedLabel
from bpgui.widgets.theme import set_role
from bpgui_engine.train.trainer import STOP_REASONS

MESSAGE_MS = 15_000  # an information line stays this long
ERROR_MS = 60_000  # an error stays longer, then goes (the field it concerns keeps its mark)

# key: (tooltip, the widest text it must show)
FIELDS = {
    "state": ("what the run is doing", "stopped: the weights stopped changing"),
    "epoch": ("epochs trained", "epoch 100,000,000"),
    "sse": (
        "the performance index at the current point (and the SSE beside it when the index "
        "is not the SSE)",
        "MSE -8.88888e-300 (SSE -8.89e-300)",
    ),
    "grad": ("norm of the gradient", "|grad| 8.88e-300"),
    "rate": ("learning rate or mu", "mu 8.88e+300"),
    "speed": ("epochs per second", "8,888,888 epochs/s"),
    "accuracy": (
        "the share of training (and test) points classified right",
        "acc 100.0 % / 100.0 %",
    ),
    "kernel": ("the training kernel: compiled (numba), BLAS products or NumPy", "numpy"),
    "history": ("which epochs the history keeps", "history thinned"),
}
KERNEL_TIPS = {
    "numba": "compiled kernel (numba): sd, momentum, vlbp and sgd run compiled",
    "blas": "BLAS kernel: each layer one matrix product over all samples",
    "numpy": "NumPy engine",
}


PRESENTATION_HIDES = ("speed", "kernel")  # secondary: hidden in presentation mode
STOP_TEXTS = {"engine_crashed": "the engine process crashed", "failed": "an error"}


def epochs_per_second(rate: float) -> str:
    n = f"{rate:,.0f}"
    return f"{n} epoch/s" if n == "1" else f"{n} epochs/s"


def state_text(state: str, stop: str | None, has_run: bool) -> str:
    """What the state field says: running, paused, why it stopped, or ready."""
    if state == "running":
        return "running"
    if state == "paused":
        return "paused: Space resumes, → steps"
    if stop:
        return f"stopped: {STOP_TEXTS.get(stop) or STOP_REASONS.get(stop, stop)}"
    return "ready" if not has_run else "not finished: Space continues"


class StatusLine:
    """Owns the widgets of ``bar`` (a QStatusBar)."""

    def __init__(self, bar: QStatusBar, controller=None) -> None:
        """``controller``: the :class:`~bpgui.service.controller.TrainingController` whose kernel
        the kernel field shows (default: the window's ``controller``)."""
        self.bar = bar
        self.message = ElidedLabel(tip="the last thing bpgui did or could not do")
        bar.addWidget(self.message, 1)
        self.fields: dict[str, QLabel] = {}
        for key, (tip, _widest) in FIELDS.items():
            if key == "state":  # words: cut with "…" (whole in the tooltip), never mid-word
                lab = ElidedLabel(tip=tip)
                lab.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            else:
                lab = QLabel()
                lab.setToolTip(tip)
            bar.addPermanentWidget(lab)
            self.fields[key] = lab
        self.presentation = False
        self._row = None  # the row the fields show (redrawn when the font changes)
        self.fit_widths(False)
        self.fields["history"].hide()  # shown once a run's history is thinned
        self.fields["accuracy"].hide()  # shown for classes
        self._history_key: tuple | None = None
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 100)
        self.progress.setToolTip("epochs of the maximum")
        bar.addPermanentWidget(self.progress)
        self.progress.hide()
        self._timer = QTimer(bar)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear_message)
        self.text = ""
        self.is_error = False
        self._rates: deque[tuple[float, int]] = deque()
        self._progress_at = (-1, 0)  # (percent, maximum epochs) shown
        if controller is None:
            controller = getattr(bar.window(), "controller", None)
        if controller is not None and hasattr(controller, "kernel_changed"):
            controller.kernel_changed.connect(self.show_kernel)
            controller.kernel_fallback.connect(self.show_fallback)
            if controller.kernel is not None:
                self.show_kernel(controller.kernel, controller.kernel_note)

    def fit_widths(self, presentation: bool) -> None:
        """Each field as wide as the widest value it can show in the bar's font now.  In
        presentation mode (large type, a projector's 1024 pixels) the speed and kernel
        fields are hidden and the performance field shows the index alone, so the numbers
        left are never cut."""
        self.presentation = presentation
        fm = QFontMetrics(self.bar.font())
        for key, (_tip, widest) in FIELDS.items():
            if key == "sse" and presentation:
                widest = widest.split(" (")[0]
            share = {"state": 3 if presentation else 2}.get(key, 1)
            self.fields[key].setMinimumWidth(fm.horizontalAdvance(widest) // share)
        for key in PRESENTATION_HIDES:
            self.fields[key].setVisible(not presentation)
        if self._row is not None:
            self.show_point(self._row)

    # ---- the kernel ---------------------------------------------------------------------
    def show_kernel(self, kernel: str, note: str = "") -> None:
        """Which kernel the run uses; the tooltip says why NumPy when it is."""
        lab = self.fields["kernel"]
        lab.setText(kernel)
        tip = KERNEL_TIPS.get(kernel, kernel)
        lab.setToolTip(f"{tip}\n{note}" if note else tip)

    def show_fallback(self, why: str) -> None:
        """numba cannot be used: one message saying why."""
        self.show(why)

    # ---- the message ----------------------------------------------------------------
    def show(self, text: str, error: bool = False, ms: int | None = None) -> None:
        self.text, self.is_error = text, error
        self.message.setText(text)
        set_role(self.message, "error" if error else None)
        self._timer.start(ms if ms is not None else (ERROR_MS if error else MESSAGE_MS))

    def clear_message(self, only: str | None = None) -> None:
        """Clear the message (only if it is ``only``, when given)."""
        if only is not None and self.text != only:
            return
        self._timer.stop()
        self.text, self.is_error = "", False
        self.message.setText("")
        set_role(self.message, None)

    # ---- the run ----------------------------------------------------------------------
    def reset_rate(self) -> None:
        self._rates.clear()

    #: what the history's lr column holds for the run shown: "lr", or "step" for
    #: conjugate gradient (its line search's step, 0 once it no longer moves)
    rate_name = "lr"
    performance_name = "SSE"  # the index the run minimizes (its value leads the field)

    def show_run(self, h, state: str, max_epochs: int) -> None:
        """The fields for history ``h`` (None: no run) in controller state ``state``."""
        f = self.fields
        has_run = h is not None and len(h) > 0
        f["state"].setText(state_text(state, h.stop if has_run else None, has_run))
        self.show_kept(h if has_run else None, state != "idle")
        if not has_run:
            self._row = None
            for key in ("epoch", "sse", "grad", "rate", "speed"):
                f[key].setText("")
            self.progress.hide()
            return
        row = h.last()
        epoch = int(row["epoch"])
        self.show_point(row)
        now = time.perf_counter()
        w = self._rates
        w.append((now, epoch))
        while len(w) > 2 and now - w[0][0] > 1.0:
            w.popleft()
        rate = (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0]) if len(w) > 1 else 0.0
        running = state == "running" and math.isfinite(rate)
        f["speed"].setText(epochs_per_second(rate) if running else "")
        self.progress.setVisible(state != "idle")
        # in whole percent: it repaints only when the percentage changes (at most a
        # hundred times a run), and never lags the epoch field by more than 1 %
        top = max(1, int(max_epochs))
        pct = min(100, epoch * 100 // top)
        if (pct, top) != self._progress_at:
            self._progress_at = (pct, top)
            self.progress.setToolTip(f"epoch {epoch:,} of at most {top:,}")
            self.progress.setValue(pct)

    def show_point(self, row) -> None:
        """The epoch, performance, gradient and rate fields for one history row (a
        mapping of its columns): the run's last, or the one replay shows."""
        f = self.fields
        self._row = row
        f["epoch"].setText(f"epoch {int(row['epoch']):,}")
        if self.performance_name == "SSE":
            f["sse"].setText(f"SSE {row['sse']:.6g}")
        elif self.presentation:  # room for the index alone
            f["sse"].setText(f"{self.performance_name} {row['performance']:.6g}")
        else:  # the index training minimizes first, the SSE beside it
            name = self.performance_name
            f["sse"].setText(f"{name} {row['performance']:.6g} (SSE {row['sse']:.3g})")
        f["grad"].setText(f"|grad| {row['grad_norm']:.3g}")
        if np.isfinite(row["mu"]):
            f["rate"].setText(f"mu {row['mu']:.3g}")
        elif np.isfinite(row["lr"]):
            f["rate"].setText(f"{self.rate_name} {row['lr']:.3g}")
        else:
            f["rate"].setText("")

    def show_accuracy(self, latest: dict | None) -> None:
        """Training and test accuracy (:class:`~bpgui.plots.accuracy.MetricsTrack`'s
        latest; None or no classes: hidden)."""
        lab = self.fields["accuracy"]
        train = None if latest is None else latest.get("train_acc")
        if train is None or not math.isfinite(train):
            lab.hide()
            return
        test = latest.get("test_acc", math.nan)
        text = f"acc {100 * train:.1f} %"
        if math.isfinite(test):
            text += f" / {100 * test:.1f} %"
        lab.setText(text)
        lab.setVisible(True)

    def show_kept(self, h, live: bool = False) -> None:
        """The history field: shown while the run's history is thinned (its tooltip says
        which epochs are kept); when a ``live`` run's history first thins, the message
        says it."""
        kept = getattr(h, "kept", None)
        lab = self.fields["history"]
        key = None if kept is None else (id(h), h.thins)
        if key == self._history_key:
            return
        first = kept is not None and (self._history_key or (None,))[0] != id(h)
        self._history_key = key
        lab.setVisible(kept is not None)
        if kept is None:
            return
        what = f"history: {h.describe()}"
        lab.setText("history thinned")
        lab.setToolTip(
            f"{what}. This run's history keeps at most {h.max_rows or len(h):,} epochs (a new "
            "budget, Run ▸ History memory…, applies from the next run); the run's own state "
            "is never thinned, so it continues exactly."
        )
        if first and live:
            self.show(f"{what} (Run ▸ History memory… sets its budget)")
