"""The mirrored positions tree over ``core.view.mirrored_positions``: master rows, slave children.

Master positions opening and closing become top-level inserts and removes; children are diffed too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QFont

from copier_gui.core.view import MasterPositionRow, SlaveCopyRow
from copier_gui.ui import format as fmt
from copier_gui.ui import palette
from copier_gui.ui.models.base import (
    LEFT,
    RIGHT,
    CellCache,
    Index,
    changed_columns,
    fill_roles,
    sync_rows,
)

# Column order; titles carry the units so the cells can be bare numbers.
HEADERS = ("Position / slave", "Symbol", "Side", "Volume", "Open price", "SL", "TP", "Slippage",
           "Latency (ms)", "Status")
_ALIGN_FLAGS = (LEFT, LEFT, LEFT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, LEFT)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_HEADER_TIPS = {
    7: "Slave fill against the master's fill, in the slave symbol's points; + is worse for the trader",
    8: "Master fill to slave fill, in milliseconds",
}
STATUS = 9
_STATE_COLOUR = {"mirrored": "ok", "mirrored (net)": "ok", "pending": "accent", "skipped": "warn",
                 "failed": "bad", "closed at master": "text_dim"}


class _Node:
    """A master row plus its children list, which the model edits in place between signals."""

    __slots__ = ("children", "head", "ticket")

    def __init__(self, head: MasterPositionRow) -> None:
        self.ticket = head.ticket
        self.head = head
        self.children: list[SlaveCopyRow] = list(head.copies)


def state_colour(state: str):
    return palette.current().color(_STATE_COLOUR.get(state, "text"))


def master_status(row: MasterPositionRow) -> str:
    total = len(row.copies)
    mirrored = sum(1 for c in row.copies if c.state.startswith("mirrored"))
    text = f"{mirrored}/{total} mirrored"
    others = {}
    for c in row.copies:
        if not c.state.startswith("mirrored"):
            others[c.state] = others.get(c.state, 0) + 1
    return text + "".join(f" · {n} {state}" for state, n in sorted(others.items()))


def child_status(child: SlaveCopyRow) -> str:
    label = child.state.capitalize()
    if not child.reason or child.state.startswith("mirrored"):
        return label
    reason = child.reason
    # Refusal texts often begin with their own verdict ("skipped: ..."); say it once.
    if reason.lower().startswith(f"{child.state}:"):
        reason = reason[len(child.state) + 1:].strip()
    return f"{label}: {reason}"


class PositionsModel(QAbstractItemModel):
    def __init__(self, source: Callable[[], Sequence[MasterPositionRow]] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._source = source
        self._nodes: list[_Node] = []
        self._bold = QFont()
        self._bold.setBold(True)
        self._cells = CellCache()
        palette.signals.changed.connect(self._theme_changed)

    # ---------------------------------------------------------------- refreshing
    def refresh(self) -> None:
        if self._source is not None:
            self.set_rows(self._source())

    def set_rows(self, rows: Sequence[MasterPositionRow]) -> None:
        new = [_Node(r) for r in rows]

        def assign(i: int, node: _Node) -> None:
            self._nodes[i].head = node.head

        def head_columns(old: _Node, node: _Node) -> list[int]:
            return changed_columns(self._cells.get(old.head, self._build), self._cells.get(node.head, self._build))

        last = len(HEADERS) - 1
        if not sync_rows(self, QModelIndex(), self._nodes, new, lambda n: n.ticket,
                         same=lambda a, b: a.head == b.head, assign=assign, last_column=last, columns=head_columns):
            self.beginResetModel()
            self._nodes = new
            self.endResetModel()
            return
        for i, fresh in enumerate(new):
            node = self._nodes[i]
            if node is fresh:  # just inserted, children and all
                continue
            parent = self.index(i, 0)
            digits = node.head.digits

            def child_columns(old: SlaveCopyRow, child: SlaveCopyRow, digits=digits) -> list[int]:
                return changed_columns(self._cells.get(old, self._build, digits),
                                       self._cells.get(child, self._build, digits))

            if not sync_rows(self, parent, node.children, fresh.children, lambda c: c.slave, last_column=last,
                             columns=child_columns):
                if node.children:
                    self.beginRemoveRows(parent, 0, len(node.children) - 1)
                    node.children.clear()
                    self.endRemoveRows()
                if fresh.children:
                    self.beginInsertRows(parent, 0, len(fresh.children) - 1)
                    node.children.extend(fresh.children)
                    self.endInsertRows()

    def master_rows(self) -> list[MasterPositionRow]:
        return [n.head for n in self._nodes]

    def children_of(self, ticket: int) -> list[SlaveCopyRow]:
        for node in self._nodes:
            if node.ticket == ticket:
                return list(node.children)
        return []

    # ---------------------------------------------------------------- structure
    def _row_of(self, ticket: int) -> int:
        # A linear scan, not a cached map: Qt asks for parents between a begin/end pair, when a
        # map rebuilt after the change would be stale. Open master positions number in the tens.
        for i, node in enumerate(self._nodes):
            if node.ticket == ticket:
                return i
        return -1

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        if parent.internalId() != 0:
            return QModelIndex()
        # A child's internal id is its master's ticket (plus one, as 0 marks the top level): stable
        # while rows above come and go.
        return self.createIndex(row, column, self._nodes[parent.row()].ticket + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        row = self._row_of(index.internalId() - 1)
        return self.createIndex(row, 0, 0) if row >= 0 else QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._nodes)
        if parent.column() != 0 or parent.internalId() != 0 or parent.row() >= len(self._nodes):
            return 0
        return len(self._nodes[parent.row()].children)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(HEADERS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_ALIGN_FLAGS[section])
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(section)
        return None

    # ---------------------------------------------------------------- cells
    def _cell(self, index: Index) -> dict | None:
        if not index.isValid() or index.column() >= len(HEADERS):
            return None
        if index.internalId() == 0:
            if index.row() >= len(self._nodes):
                return None
            return self._cells.get(self._nodes[index.row()].head, self._build)[index.column()]
        row = self._row_of(index.internalId() - 1)
        if row < 0:
            return None
        node = self._nodes[row]
        if index.row() >= len(node.children):
            return None
        return self._cells.get(node.children[index.row()], self._build, node.head.digits)[index.column()]

    def multiData(self, index: Index, span) -> None:
        fill_roles(self._cell(index) or {}, span)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        cell = self._cell(index)
        return None if cell is None else cell.get(int(role))

    def _build(self, item, master_digits: int = 5) -> list[dict]:
        cells = [{_ALIGN: int(align)} for align in _ALIGN_FLAGS]
        if isinstance(item, MasterPositionRow):
            self._master_cells(item, cells)
        else:
            self._child_cells(item, master_digits, cells)
        for cell in cells:
            for role in [r for r, v in cell.items() if v is None]:
                del cell[role]
        return cells

    def _master_cells(self, row: MasterPositionRow, cells: list[dict]) -> None:
        theme = palette.current()
        values = (f"#{row.ticket}", row.symbol, row.side.capitalize(), fmt.volume(row.volume, units=row.units),
                  fmt.price(row.price_open, row.digits), fmt.price(row.sl, row.digits),
                  fmt.price(row.tp, row.digits), "", "", master_status(row))
        for cell, value in zip(cells, values, strict=True):
            cell[_DISPLAY] = value
        cells[0][_FONT] = cells[1][_FONT] = self._bold
        cells[2][_FOREGROUND] = theme.color("buy" if row.side == "buy" else "sell")
        cells[5][_FOREGROUND] = cells[6][_FOREGROUND] = theme.color("text_dim")
        every = all(c.state.startswith("mirrored") for c in row.copies)
        cells[STATUS][_FOREGROUND] = theme.color("ok" if every else "warn")
        cells[STATUS][_TOOLTIP] = "\n".join(f"{c.slave}: {child_status(c)}" for c in row.copies) or None
        cells[3][_TOOLTIP] = fmt.volume_tip(row.volume, row.symbol, units=row.units)

    def _child_cells(self, child: SlaveCopyRow, master_digits: int, cells: list[dict]) -> None:
        theme = palette.current()
        digits = child.digits if child.digits is not None else master_digits
        values = (child.slave, child.symbol, "", fmt.volume(child.volume, units=child.units),
                  fmt.price(child.price_open, digits),
                  "", "", _slippage(child), fmt.latency_ms(child.latency_ms), child_status(child))
        for cell, value in zip(cells, values, strict=True):
            cell[_DISPLAY] = value
        colour = state_colour(child.state)
        cells[STATUS][_FOREGROUND] = colour
        if child.slippage_points:
            cells[7][_FOREGROUND] = theme.color("warn" if child.slippage_points > 0 else "ok")
            money = f" · {fmt.money_signed(child.slippage_money, child.currency)} {child.currency}" \
                if child.slippage_money is not None and child.currency else ""
            cells[7][_TOOLTIP] = f"{fmt.points(child.slippage_points)} points{money}"
        cells[0][_DECORATION] = palette.dot_icon(colour.name())
        cells[0][_TOOLTIP] = cells[STATUS][_TOOLTIP] = f"{child.slave}: {child_status(child)}"
        cells[3][_TOOLTIP] = fmt.volume_tip(child.volume, child.symbol, units=child.units)

    def _theme_changed(self, _theme) -> None:
        self._cells.clear()
        for i in range(len(self._nodes)):
            parent = self.index(i, 0)
            self.dataChanged.emit(parent, self.index(i, len(HEADERS) - 1))
            children = self.rowCount(parent)
            if children:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(children - 1, len(HEADERS) - 1, parent))


def _slippage(child: SlaveCopyRow) -> str:
    """Pips on currency pairs, basis points elsewhere: comparable across symbols."""
    if child.slippage is None or not child.slippage_unit:
        return fmt.points(child.slippage_points)
    return f"{round(child.slippage, 1) + 0.0:+,.1f} {child.slippage_unit}"  # + 0.0: never "-0.0"
