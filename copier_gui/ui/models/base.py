"""The keyed diff every model refreshes with, a per-row cell cache, and a table model on both.

Rows compare by key and value (as equinor/ert's snapshot model does): only changed rows are
signalled, and cells are formatted once per row value, so a repaint only looks them up.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from copier_gui.ui import palette

Index = QModelIndex | QPersistentModelIndex

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


Cells = list[dict[int, Any]]  # per column: role -> value, only the roles that have one


class CellCache:
    """Each row's cells, computed once per row value rather than once per paint.

    Rows are frozen values that a refresh replaces when they change, so a row object's identity
    is its version; the cache holds the row, which keeps its ``id`` from being reused.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._cells: dict[int, tuple[Any, Cells]] = {}

    def get(self, row, build: Callable[..., Cells], *context) -> Cells:
        """``build(row, *context)`` on a miss; ``context`` must not change while ``row`` stays.

        The builder is passed per call, not kept: a model holding its own bound method would be
        a reference cycle, freed by the garbage collector on whatever thread it runs, and Qt
        objects must be destroyed on the GUI thread.
        """
        entry = self._cells.get(id(row))
        if entry is None or entry[0] is not row:
            if len(self._cells) >= self.LIMIT:
                self._cells.clear()
            entry = (row, build(row, *context))
            self._cells[id(row)] = entry
        return entry[1]

    def clear(self) -> None:
        self._cells.clear()


def fill_roles(cell: dict[int, Any], span) -> None:
    """``multiData``: every role a delegate asks for, in one call into Python.

    Qt's default asks ``data()`` once per role, each a C++ to Python crossing; painting a tree of
    twenty slaves that way cost the loop milliseconds per frame.
    """
    for role_data in span:
        value = cell.get(role_data.role())
        if value is None:
            role_data.clearData()
        else:
            role_data.setData(value)


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)


def ranges(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted row numbers -> contiguous (first, last) ranges: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for row in rows:
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


def sync_rows(model: QAbstractItemModel, parent: QModelIndex, rows: list, new: Sequence,
              key: Callable[[Any], Hashable], *, same: Callable[[Any, Any], bool] | None = None,
              assign: Callable[[int, Any], None] | None = None, last_column: int = 0,
              columns: Callable[[Any, Any], Sequence[int]] | None = None) -> bool:
    """Bring ``rows`` (the model's own list under ``parent``) to ``new`` with the right signals.

    Returns False, having changed nothing, when the survivors changed order or keys repeat; the
    caller then resets. ``assign(i, item)`` stores a changed item (default: replace it), which lets
    a tree keep a node's children while its own fields change. ``columns(old, new)`` names the
    columns whose cells differ: only those are signalled (none when nothing shown changed, an
    equity moving by less than a cent), so a view repaints those cells and not whole rows.
    """
    new_keys = [key(item) for item in new]
    if len(set(new_keys)) != len(new_keys):
        return False
    wanted = set(new_keys)
    old_keys = [key(item) for item in rows]
    survivors = [k for k in old_keys if k in wanted]
    kept = set(survivors)
    if survivors != [k for k in new_keys if k in kept]:
        return False

    # Removals bottom-up, so earlier row numbers stay valid.
    gone = [i for i, k in enumerate(old_keys) if k not in wanted]
    for first, last in reversed(ranges(gone)):
        model.beginRemoveRows(parent, first, last)
        del rows[first:last + 1]
        model.endRemoveRows()

    i = 0
    while i < len(new_keys):
        if i < len(rows) and key(rows[i]) == new_keys[i]:
            i += 1
            continue
        j = i
        while j < len(new_keys) and new_keys[j] not in kept:
            j += 1
        model.beginInsertRows(parent, i, j - 1)
        rows[i:i] = list(new[i:j])
        model.endInsertRows()
        i = j

    equal = same or (lambda a, b: a == b)
    changed: list[tuple[int, tuple[tuple[int, int], ...]]] = []  # row, its changed column ranges
    every = ((0, last_column),)
    for i, item in enumerate(new):
        if not equal(rows[i], item):
            spans = every if columns is None else tuple(ranges(sorted(columns(rows[i], item))))
            if assign is None:
                rows[i] = item
            else:
                assign(i, item)
            if spans:
                changed.append((i, spans))
    # Neighbouring rows that changed in the same columns go out as one signal per column range.
    start = 0
    while start < len(changed):
        first, spans = changed[start]
        end = start
        while end + 1 < len(changed) and changed[end + 1] == (changed[end][0] + 1, spans):
            end += 1
        last = changed[end][0]
        for left, right in spans:
            model.dataChanged.emit(model.index(first, left, parent), model.index(last, right, parent))
        start = end + 1
    return True


def changed_columns(old: Cells, new: Cells) -> list[int]:
    """The columns whose cells (every role) differ."""
    return [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


@dataclass(frozen=True)
class Column:
    """One column: its title and how a row becomes each role's value (None: nothing to show)."""

    title: str
    text: Callable[[Any], str]
    align: Qt.AlignmentFlag = LEFT
    foreground: Callable[[Any], Any] | None = None
    tooltip: Callable[[Any], str] | None = None
    decoration: Callable[[Any], Any] | None = None
    header_tip: str = ""


class RowsTableModel(QAbstractTableModel):
    """A flat table over a list of frozen view rows, refreshed by :func:`sync_rows`."""

    columns: tuple[Column, ...] = ()

    def __init__(self, source: Callable[[], Sequence] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._source = source
        self._rows: list = []
        self._cells = CellCache()
        # Colours are part of the cached cells; a new theme must recompute them.
        palette.signals.changed.connect(self._theme_changed)

    # ---------------------------------------------------------------- refreshing
    def key(self, row) -> Hashable:
        return row.id

    def set_rows(self, new: Sequence) -> None:
        def columns(old, row) -> list[int]:
            return changed_columns(self._cells.get(old, self.cells), self._cells.get(row, self.cells))

        if not sync_rows(self, QModelIndex(), self._rows, new, self.key, last_column=len(self.columns) - 1,
                         columns=columns):
            self.beginResetModel()
            self._rows = list(new)
            self.endResetModel()

    def refresh(self) -> None:
        if self._source is not None:
            self.set_rows(self._source())

    def row_at(self, row: int):
        return self._rows[row]

    def rows(self) -> list:
        return list(self._rows)

    def _theme_changed(self, _theme) -> None:
        self._cells.clear()
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(self.columns) - 1))

    # ---------------------------------------------------------------- cells
    def cells(self, row) -> Cells:
        """Every column's roles for one row; subclasses add roles to the dicts."""
        out = []
        for column in self.columns:
            cell = {_DISPLAY: column.text(row), _ALIGN: int(column.align)}
            for role, fn in ((_FOREGROUND, column.foreground), (_TOOLTIP, column.tooltip),
                             (_DECORATION, column.decoration)):
                if fn is not None:
                    value = fn(row)
                    if value:
                        cell[role] = value
            out.append(cell)
        return out

    def _cell(self, index: Index) -> dict[int, Any] | None:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.columns):
            return None
        return self._cells.get(self._rows[index.row()], self.cells)[index.column()]

    # ---------------------------------------------------------------- Qt's interface
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align)
        if role == Qt.ItemDataRole.ToolTipRole and column.header_tip:
            return column.header_tip
        return None

    def multiData(self, index: Index, span) -> None:
        fill_roles(self._cell(index) or {}, span)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        cell = self._cell(index)
        return None if cell is None else cell.get(int(role))
