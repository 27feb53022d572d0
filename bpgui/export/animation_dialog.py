"""File ▸ Export ▸ Animation: the run as an animated GIF or MP4, drawn off the GUI thread.

:class:`AnimationDialog` takes the window's current session from ``session_provider()``
when Export is pressed, copies what the animation needs (:func:`bpgui.export.animation.run_data`,
so the run may go on meanwhile), checks the options and the target at once (errors in one
line under the fields), then hands the copy to an :class:`AnimationWorker` on a
``QThread``.  The worker only iterates :func:`bpgui.export.animation.write_animation` and emits
signals; it never touches a widget.  Cancel sets a ``threading.Event`` checked before
every frame: the temporary file goes and the old file stays.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bpgui.export.animation import (
    FPS_RANGE,
    MAX_SECONDS,
    AnimationCancelled,
    AnimationResult,
    check_animation,
    run_data,
    write_animation,
)
from bpgui.widgets.fields import ErrorLabel
from bpgui.widgets.theme import current as current_theme
from bpgui_engine.session.schema import one_line

log = logging.getLogger(__name__)

FILTERS = "Animated GIF (*.gif);;MP4 video (*.mp4)"
PROGRESS_EVERY_S = 0.03  # at most ~30 progress signals a second


class AnimationWorker(QObject):
    """Writes one animation in its thread; reports through signals only."""

    progress = Signal(int, int)  # frames done, frames in all
    done = Signal(object)  # AnimationResult
    failed = Signal(str)  # one line
    cancelled = Signal()

    def __init__(self, run, path: str, options: dict, stop: threading.Event) -> None:
        super().__init__()
        self._run, self._path, self._options, self._stop = run, path, options, stop
        self._last = 0.0

    def _progress(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.progress.emit(done, total)

    @Slot()
    def run(self) -> None:
        try:
            result = write_animation(
                self._run,
                self._path,
                **self._options,
                on_progress=self._progress,
                should_stop=self._stop.is_set,
            )
        except AnimationCancelled:
            self.cancelled.emit()
        except MemoryError:
            self.failed.emit("out of memory: fewer frames or a smaller size")
        except (ValueError, OSError) as exc:
            self.failed.emit(one_line(" ".join(str(exc).split()) or type(exc).__name__))
        except Exception as exc:  # a bug: reported, never a dead worker
            log.exception("animation failed")
            self.failed.emit(one_line(f"unexpected error: {exc!r}"))
        else:
            self.done.emit(result)


class AnimationDialog(QDialog):
    """File name, duration, frame rate, spacing, the error curve or not, theme; a
    progress bar and Cancel; the result (or the error) in one line."""

    finished_ok = Signal(object)  # AnimationResult, after the file is in place
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        session_provider: Callable[[], object],
        default_path: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.session_provider = session_provider
        self._thread: QThread | None = None
        self._worker: AnimationWorker | None = None
        self._stop = threading.Event()
        self._close_when_done = False

        self.path = QLineEdit(default_path or str(Path.home() / "bpgui-run.gif"))
        self.path.setToolTip("the file to write: .gif (Pillow) or .mp4 (needs bpgui[video])")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(self.browse)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(0.5, MAX_SECONDS)
        self.seconds.setDecimals(1)
        self.seconds.setValue(10.0)
        self.seconds.setSuffix(" s")
        self.fps = QSpinBox()
        self.fps.setRange(*FPS_RANGE)
        self.fps.setValue(20)
        self.fps.setSuffix(" frames/s")
        self.spacing = QComboBox()
        self.spacing.addItem("logarithmic: the early creep and the late fall both show", "log")
        self.spacing.addItem("linear: every frame the same number of epochs", "linear")
        self.curve = QCheckBox("the error curve beside the contour")
        self.curve.setChecked(True)
        self.theme = QComboBox()
        self.theme.addItem("dark", "dark")
        self.theme.addItem("light (white slides)", "light")
        form = QFormLayout()
        form.addRow("File", file_row)
        form.addRow("Duration", self.seconds)
        form.addRow("Frame rate", self.fps)
        form.addRow("Epochs per frame", self.spacing)
        form.addRow("", self.curve)
        form.addRow("Colours", self.theme)
        self.error = ErrorLabel(self)
        self.progress = QProgressBar()
        self.progress.setValue(0)
        self._idle_progress()
        for w in (self.seconds, self.fps):
            w.valueChanged.connect(self._idle_progress)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.progress)
        lay.addWidget(self.result)
        lay.addLayout(buttons)

    def _idle_progress(self) -> None:
        """Before an export: how many frames it will write (not "0 / 1 frames")."""
        if self.running:
            return
        n = max(1, round(self.seconds.value() * self.fps.value()))
        self.progress.setRange(0, n)
        self.progress.setValue(0)
        self.progress.setFormat(f"{n:,} frames to write")

    def follow_theme(self, theme: str) -> None:
        """The colours default to the window's theme (light: for white slides)."""
        if not self.running:
            self.theme.setCurrentIndex(max(0, self.theme.findData(theme)))

    # ---- state -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def options(self) -> dict:
        return {
            "seconds": float(self.seconds.value()),
            "fps": int(self.fps.value()),
            "spacing": self.spacing.currentData(),
            "with_curve": self.curve.isChecked(),
            "theme": self.theme.currentData(),
        }

    def _set_running(self, on: bool) -> None:
        for w in (self.path, self.browse, self.seconds, self.fps, self.spacing, self.curve,
                  self.theme, self.export_button):  # fmt: skip
            w.setEnabled(not on)
        self.cancel_button.setText("Cancel" if on else "Close")
        self.cancel_button.setEnabled(True)

    # ---- actions -----------------------------------------------------------------------
    def _browse(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export animation", self.path.text(), FILTERS
        )
        if path:
            if Path(path).suffix.lower() not in (".gif", ".mp4"):
                path += ".mp4" if "mp4" in chosen.lower() else ".gif"
            self.path.setText(path)

    def start(self) -> bool:
        """Check everything here (one line under the fields on error), then write on the
        worker thread.  False when nothing was started."""
        if self.running:
            return False
        self.error.show_error(None)
        self.result.clear()
        path, opts = self.path.text().strip(), self.options()
        try:
            if not path:
                raise ValueError("choose a file name (.gif or .mp4)")
            check_animation(path, **opts)
            run = run_data(self.session_provider())  # a copy: the run may go on
        except (ValueError, OSError) as exc:
            self.error.show_error(one_line(" ".join(str(exc).split())))
            return False
        self._stop = threading.Event()
        self.progress.setRange(0, max(1, round(opts["seconds"] * opts["fps"])))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m frames")
        thread = QThread(self)
        worker = AnimationWorker(run, path, opts, self._stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # slots of this dialog (GUI thread): queued across the threads
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._thread, self._worker = thread, worker
        self._set_running(True)
        self.result.setText(f"writing {path} …")
        thread.start()
        return True

    def cancel(self) -> None:
        if self.running:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.result.setText("cancelling …")

    def _cancel_or_close(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.accept()

    def reject(self) -> None:  # Esc or the window's close button
        if self.running:
            self._close_when_done = True
            self.cancel()
            self.hide()
            return
        super().reject()

    # ---- worker results (GUI thread) ---------------------------------------------------
    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(done)
        if done >= total and str(self._worker_path()).lower().endswith(".gif"):
            self.result.setText("encoding the GIF …")

    def _worker_path(self) -> str:
        return self._worker._path if self._worker is not None else ""

    @Slot(object)
    def _on_done(self, r: AnimationResult) -> None:
        self._finish()
        self.progress.setValue(self.progress.maximum())
        self.result.setText(
            f"wrote {r.path}: {r.frames} frames, {r.width} x {r.height}, {r.bytes / 1e6:.1f} MB"
            + r.kept_note()
        )
        self.finished_ok.emit(r)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish()
        self.result.clear()
        self.error.show_error(message)
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish()
        self.result.setText("cancelled: nothing was written")
        self.progress.setValue(0)
        self.cancelled.emit()

    def _finish(self) -> None:
        thread, self._thread, self._worker = self._thread, None, None
        if thread is not None:
            thread.quit()
            thread.wait()  # the worker has returned: this is immediate
            thread.deleteLater()
        self._set_running(False)
        if self._close_when_done:
            self._close_when_done = False
            super().reject()

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """The app is closing: cancel a running export and wait (bounded) for its thread,
        which stops before its next frame; nothing is written.  A thread destroyed while
        it runs aborts the process."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._close_when_done = False
        for sig in (self._worker.done, self._worker.failed, self._worker.cancelled):
            with contextlib.suppress(RuntimeError, TypeError):
                sig.disconnect()
        thread.quit()
        if not thread.wait(wait_ms):
            log.error("the animation export did not stop within %d ms", wait_ms)
        self._thread = self._worker = None
        self._set_running(False)
        self.hide()

    def closeEvent(self, event) -> None:
        if self.running:
            self.reject()
            event.ignore()
            return
        super().closeEvent(event)


def export_folder(win) -> Path:
    """Where an export goes by default: the session's folder, else the last folder used,
    else the user's Videos (or Pictures, or home) folder — never the working directory
    (the repository, when bpgui was started from it)."""
    doc = win.document
    if doc.path is not None:
        return doc.path.parent
    last = win.settings.get_str("folders/last", "")
    if last and Path(last).is_dir():
        return Path(last)
    for kind in (QStandardPaths.StandardLocation.MoviesLocation,
                 QStandardPaths.StandardLocation.PicturesLocation):  # fmt: skip
        folder = QStandardPaths.writableLocation(kind)
        if folder and Path(folder).is_dir():
            return Path(folder)
    return Path.home()


def show_animation_dialog(win) -> AnimationDialog:
    """File ▸ Export ▸ Animation… of the main window ``win`` (one dialog, reused)."""
    dlg = getattr(win, "_animation_dialog", None)
    if dlg is None:
        base = win.document.path.stem if getattr(win.document, "path", None) else "bpgui-run"
        dlg = AnimationDialog(win, win.document.as_shown, str(export_folder(win) / f"{base}.gif"))
        win._animation_dialog = dlg
    dlg.follow_theme(current_theme())
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
