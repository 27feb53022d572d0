"""File ▸ Export: the contour, curves or response as PNG/SVG, the history, trajectory,
contour grid and parameters as CSV/JSON, and what a tool exports as CSV
(:meth:`bpgui.tools.base.Tool.csv_exports`: the basin map, the sweep).  Every file is
written beside its target and renamed into place, so a failed export leaves nothing
behind."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from bpgui.export.plots import PLOT_NAMES, export_plot
from bpgui_engine.session.export import (
    atomic_write_text,
    grid_csv,
    history_csv,
    kept_note,
    params_csv,
    params_json,
    trajectory_csv,
)

EXPORTS = (
    "contour-png", "contour-svg", "curves-png", "curves-svg", "response-png",
    "response-svg", "history", "trajectory", "grid", "params-csv", "params-json", "basins",
    "sweep",
)  # fmt: skip


def _tool_exports(win) -> dict:
    """Every tool's CSV exports: kind -> a function giving the text (ValueError: none)."""
    return {k: fn for tool in win.tools.values() for k, fn in tool.csv_exports().items()}


def export(doc, what: str, path: str | Path | None = None) -> bool:
    """Export ``what`` (one of :data:`EXPORTS`) of ``doc``'s window to ``path`` (a dialog
    when None).  Errors: one dialog, the session unchanged."""
    kind, _, fmt = what.partition("-")
    if path is None:
        csv = ("history", "trajectory", "grid", "basins", "sweep")
        ext = "csv" if kind in csv else fmt
        base = doc.path.stem if doc.path else "bpgui"
        suggested = str(Path(doc.folder()) / f"{base}-{kind}.{ext}")
        path, _ = QFileDialog.getSaveFileName(
            doc.win, f"Export {kind}", suggested, f"{ext.upper()} (*.{ext})"
        )
        if not path:
            return False
    w = doc.win
    h = w.controller.history
    try:
        if kind in PLOT_NAMES:
            export_plot(w.plots, kind, path)
        elif kind in ("history", "trajectory"):
            if h is None or len(h) == 0:
                raise ValueError("nothing trained yet: there is no history to export")
            fn = history_csv if kind == "history" else trajectory_csv
            atomic_write_text(path, fn(h, w.setup.free))
        elif kind == "grid":
            surf = w.plots.surface
            if surf is None:
                raise ValueError("the contour has not been computed yet")
            atomic_write_text(path, grid_csv(surf.surface))
        elif kind in (tools := _tool_exports(w)):
            atomic_write_text(path, tools[kind]())
        elif kind == "params":
            x = h.x[-1] if h is not None and len(h) else w.start_x
            fn = params_json if fmt == "json" else params_csv
            atomic_write_text(path, fn(w.setup, x))
        else:
            raise ValueError(f"unknown export {what!r}")
    except (ValueError, OSError) as exc:
        doc.error("Export failed", str(exc))
        return False
    note = kept_note(h) if kind in ("history", "trajectory") else ""
    w.show_message(f"exported {Path(path).name}{note}")
    return True
