"""Every parameter in the book's labels (``W1[1,1]``, ``b1[1]``, …): whether it is free,
its start value (typed by the user for a free one: an exact start point such as the
saddle at (0, 0)) and its current value, updated live while training.

A model/view table: a network of any size costs nothing until its rows are on screen,
and :meth:`ParamsTable.set_current` only tells the view that one column changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bpgui.widgets.fields import ErrorLabel, parse_number
from bpgui.widgets.theme import colour
from bpgui_engine.model.labels import ParamLabels
from bpgui_engine.model.setup import Setup

MAX_START = 1e6
LABEL, FREE, START, CURRENT = range(4)
HEADERS = ("parameter", "free", "start", "current")
TIPS = (
    "the book's label: W<layer>[<neuron>,<input>], b<layer>[<neuron>]",
    "checked parameters are trained; the others stay fixed",
    "where the next run starts (type a value for a free parameter); a fixed one's value "
    "(typed: the contour re-slices)",
    "the value now (the last epoch shown)",
)


class ParamsModel(QAbstractTableModel):
    """Rows: parameters; columns: label, free, start, current."""

    def __init__(self, table: ParamsTable) -> None:
        super().__init__(table)
        self.table = table
        self.labels: Sequence[str] = ()
        self.free: set[int] = set()
        self.start = np.zeros(0)
        self.current: np.ndarray | None = None

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.labels)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return TIPS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == FREE:
            f |= Qt.ItemFlag.ItemIsUserCheckable
        elif index.column() == START:  # free: the start; fixed: the value (issue 13 #8)
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        r, c = index.row(), index.column()
        free = r in self.free
        if role == Qt.ItemDataRole.DisplayRole:
            if c == LABEL:
                return self.labels[r]
            if c == START:
                return f"{self.start[r]:.6g}"
            if c == CURRENT:
                cur = self.current
                return "" if cur is None or r >= cur.size else f"{cur[r]:.6g}"
        elif role == Qt.ItemDataRole.EditRole and c == START:
            return repr(float(self.start[r]))  # full precision, edited as text
        elif role == Qt.ItemDataRole.CheckStateRole and c == FREE:
            return Qt.CheckState.Checked if free else Qt.CheckState.Unchecked
        elif role == Qt.ItemDataRole.ForegroundRole and c in (START, CURRENT) and not free:
            return colour("dim")  # a fixed parameter: dimmer, legible in either theme
        elif role == Qt.ItemDataRole.TextAlignmentRole and c in (START, CURRENT):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.ToolTipRole and c == START:
            if free:
                return "type the start value (right-click: make it fixed)"
            return "fixed: this value is used throughout; type another (right-click: make it free)"
        return None

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:
        r, c = index.row(), index.column()
        if c == FREE and role == Qt.ItemDataRole.CheckStateRole:
            on = Qt.CheckState(value) == Qt.CheckState.Checked
            (self.free.add if on else self.free.discard)(r)
            self.dataChanged.emit(self.index(r, 0), self.index(r, CURRENT))
            self.table._free_toggled()
            return True
        if c == START and role == Qt.ItemDataRole.EditRole:
            return self.table._start_typed(r, str(value))
        return False


class ParamsTable(QWidget):
    """The parameter table with its error line underneath."""

    start_edited = Signal(object)  # np.ndarray: the full parameter vector to start from
    free_edited = Signal(tuple)  # the labels of the free parameters, in network order
    value_edited = Signal(int, float)  # a fixed parameter's value typed (issue 13 #8)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ParamsModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(FREE, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setMinimumHeight(22 * 5)
        self.view.setMaximumHeight(22 * 11)
        self.view.setToolTip("every parameter: free or fixed, start value, current value")
        # an unchecked box is visible on either palette: the application's style sheet
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.error = ErrorLabel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.view)
        lay.addWidget(self.error)
        self.setup: Setup | None = None
        self._shown: tuple | None = None

    # ---- in --------------------------------------------------------------------------
    def set_setup(self, setup: Setup, start_free: np.ndarray | None = None) -> None:
        """Show ``setup``'s parameters; the start column is ``setup.theta`` with the free
        parameters set to ``start_free`` when given."""
        self.setup = setup
        start = setup.theta_array if start_free is None else setup.full_theta(start_free)
        key = (setup.spec, setup.free, start.tobytes())
        if key == self._shown:
            return  # nothing visible changed (a view or optimizer edit): no work
        m = self.model
        same_rows = self._shown is not None and self._shown[0] == setup.spec
        if not same_rows:
            m.beginResetModel()
        m.labels = ParamLabels.all(setup.spec)  # made one at a time, as rows are drawn
        m.free = set(setup.free_idx)
        m.start = start
        if same_rows:
            m.dataChanged.emit(m.index(0, 0), m.index(m.rowCount() - 1, CURRENT))
        else:
            m.current = None
            m.endResetModel()
        self._shown = key
        self.error.show_error(None)

    def set_start(self, start_free: np.ndarray | None) -> None:
        if self.setup is not None:
            self.set_setup(self.setup, start_free)

    def set_current(self, theta_full: np.ndarray | None) -> None:
        """The current full parameter vector (None: no run); cheap, call it per frame."""
        m = self.model
        m.current = None if theta_full is None else np.asarray(theta_full, float)
        n = m.rowCount()
        if n:
            m.dataChanged.emit(m.index(0, CURRENT), m.index(n - 1, CURRENT))

    # ---- out -------------------------------------------------------------------------
    def free_labels(self) -> tuple[str, ...]:
        m = self.model
        return tuple(lab for i, lab in enumerate(m.labels) if i in m.free)

    def set_all_free(self, on: bool, keep: tuple[str, ...] = ()) -> None:
        """Check every parameter (``on``) or none but ``keep``; one ``free_edited``."""
        m = self.model
        m.free = set(range(len(m.labels))) if on else {m.labels.index(k) for k in keep}
        m.dataChanged.emit(m.index(0, 0), m.index(m.rowCount() - 1, CURRENT))
        self._free_toggled()

    def problems(self) -> list[str]:
        return [self.error.text()] if self.error.text() else []

    def _free_toggled(self) -> None:
        self.free_edited.emit(self.free_labels())

    def context_menu(self, row: int) -> QMenu:
        """Right-click on a row: make the parameter free or fixed."""
        m = self.model
        menu = QMenu(self)
        free = row in m.free
        act = menu.addAction(f"Make {m.labels[row]} {'fixed' if free else 'free'}")
        act.triggered.connect(lambda: self.toggle_free(row))
        return menu

    def _context_menu(self, pos) -> None:
        idx = self.view.indexAt(pos)
        if idx.isValid():
            self.context_menu(idx.row()).exec(self.view.viewport().mapToGlobal(pos))

    def toggle_free(self, row: int) -> None:
        m = self.model
        on = row not in m.free
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        m.setData(m.index(row, FREE), state.value, Qt.ItemDataRole.CheckStateRole)

    def _start_typed(self, row: int, text: str) -> bool:
        label = self.model.labels[row]
        try:
            v = float(parse_number(text))
            if abs(v) > MAX_START:
                raise ValueError(f"must be within ±{MAX_START:g}")
        except ValueError as exc:
            what = "start" if row in self.model.free else "value"
            self.error.show_error(f"{label} {what}: {exc}")
            return False
        self.error.show_error(None)
        if v == self.model.start[row]:
            return True
        if row not in self.model.free:  # a fixed parameter's value: the problem changes
            self.value_edited.emit(row, v)
            return True
        start = self.model.start.copy()
        start[row] = v
        self.model.start = start
        idx = self.model.index(row, START)
        self.model.dataChanged.emit(idx, idx)
        self.start_edited.emit(start.copy())
        return True
