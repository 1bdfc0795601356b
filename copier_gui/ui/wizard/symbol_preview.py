"""The symbol preview on the role page: how each master symbol maps to this slave's, editable.

The map is detected as the copier will detect it (``SymbolMap``: same name, the broker's suffix
or prefix, known aliases); the trader corrects a row by choosing one of the slave's symbols, and
those corrections become the slave's ``symbols.aliases``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from copier_gui.core.rules import SymbolMapping
from copier_gui.core.symbols import SymbolMap


def affix_text(prefix: str, suffix: str) -> str:
    if prefix and suffix:
        return f"start with '{prefix}' and end with '{suffix}'"
    if suffix:
        return f"end with '{suffix}'"
    if prefix:
        return f"start with '{prefix}'"
    return "use plain names"


class SymbolDelegate(QStyledItemDelegate):
    """Edits a slave symbol with a list of the slave's symbols, and free text for the rest."""

    def __init__(self, symbols: Callable[[], Sequence[str]], parent=None) -> None:
        super().__init__(parent)
        self._symbols = symbols

    def createEditor(self, parent, option, index):
        editor = QComboBox(parent)
        editor.setEditable(True)
        editor.addItems(list(self._symbols()))
        return editor

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole) or "")

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentText().strip(), Qt.ItemDataRole.EditRole)


class SymbolPreview(QWidget):
    """A note on the broker's naming and a master -> slave table; ``aliases()`` are the corrections."""

    MASTER_COL, SLAVE_COL, HOW_COL = range(3)
    rowEdited = Signal()  # the trader changed a slave symbol

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._auto: dict[str, str | None] = {}
        self._slave_symbols: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("symbol_table")
        self.table.setHorizontalHeaderLabels(["Master symbol", "Slave symbol", "How"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        self.table.setItemDelegateForColumn(self.SLAVE_COL,
                                            SymbolDelegate(lambda: self._slave_symbols, self.table))
        self.table.itemChanged.connect(self._on_item_changed)
        layout.addWidget(self.table, 1)

    def fill(self, master: Sequence[str] | None, slave: Sequence[str], *, master_linked: bool) -> None:
        """Show ``master``'s symbols mapped to ``slave``'s, keeping corrections already typed.

        ``master`` None: the master's symbols are not known (none is linked, or it is not
        connected), and ``master_linked`` says which of the two to tell the trader.
        """
        kept = self.aliases(valid_only=False)
        self._slave_symbols = list(slave)
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self._auto.clear()
        if master is None:
            self.note.setText(
                "The master's symbols are not known yet (it is not connected); the map is detected "
                "when this account starts copying." if master_linked else
                "Link the master first to preview how its symbols map to this account's; until then "
                "the map is detected when copying starts.")
        else:
            symbol_map = SymbolMap(list(slave), SymbolMapping())
            self.note.setText(
                f"This broker's symbols {affix_text(symbol_map.prefix, symbol_map.suffix)}. "
                "Double-click a slave symbol to correct the map.")
            for name in master:
                resolution = symbol_map.resolve(name)
                self._auto[name] = resolution.slave_symbol
                row = self.table.rowCount()
                self.table.insertRow(row)
                master_item = QTableWidgetItem(name)
                master_item.setFlags(master_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                slave_item = QTableWidgetItem(kept.get(name, resolution.slave_symbol or ""))
                how_item = QTableWidgetItem()
                how_item.setFlags(how_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, self.MASTER_COL, master_item)
                self.table.setItem(row, self.SLAVE_COL, slave_item)
                self.table.setItem(row, self.HOW_COL, how_item)
                self._describe(row, resolution.how, resolution.candidates)
        self.table.blockSignals(False)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == self.SLAVE_COL:
            self._describe(item.row())
            self.rowEdited.emit()

    def _describe(self, row: int, how: str | None = None, candidates: Iterable[str] = ()) -> None:
        master = self.table.item(row, self.MASTER_COL).text()
        chosen = self.table.item(row, self.SLAVE_COL).text().strip()
        auto = self._auto.get(master)
        if chosen and chosen != auto:
            text = "your choice" if chosen in self._slave_symbols else "not a symbol at this broker"
        elif auto is not None:
            text = {"exact": "same name", "affix": "broker's suffix/prefix",
                    "known alias": "known alias"}.get(how or "", "detected")
        else:
            hint = f"; closest: {', '.join(candidates)}" if candidates else ""
            text = f"no match: not copied unless you choose one{hint}"
        # Restores the caller's blocking: fill describes rows while signals are blocked.
        was_blocked = self.table.blockSignals(True)
        self.table.item(row, self.HOW_COL).setText(text)
        self.table.blockSignals(was_blocked)

    def aliases(self, *, valid_only: bool = True) -> dict[str, str]:
        """The trader's corrections: master symbol -> slave symbol where it differs from the detected
        (only those the slave's broker has, unless ``valid_only`` is False)."""
        known = set(self._slave_symbols)
        chosen = {}
        for row in range(self.table.rowCount()):
            master = self.table.item(row, self.MASTER_COL).text()
            slave = self.table.item(row, self.SLAVE_COL).text().strip()
            if slave and slave != self._auto.get(master) and (slave in known or not valid_only):
                chosen[master] = slave
        return chosen
