"""The Symbols page: the live master -> slave symbol map. Each master symbol, the slave symbol the
copier's own map finds for it (or the trader's choice), whether it is copied, and a volume factor.

Typing a slave name sets an alias; clearing it gives the map's own answer back. Unticking "Copy"
puts the symbol in filters.exclude_symbols, which the Filters page shows too.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
)

from copier_gui.core.rules import CopyRules
from copier_gui.core.rules_preview import PreviewInputs, SymbolRow, affixes, symbol_rows
from copier_gui.core.symbols import SymbolMap
from copier_gui.ui import palette
from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.rules_form.fields import CheckField, Page, number_text, parse_number

MASTER, SLAVE, HOW, COPY, VOLUME = range(5)
HINTS_PER_TICK = 2  # closest names cost a few ms each on a long list: a few per turn of the loop
_HOW = {"exact": "same name", "affix": "slave's suffix/prefix", "known alias": "known alias", "alias": "your choice"}
ALIASES: Path = ("symbols", "aliases")
PER_SYMBOL: Path = ("symbols", "per_symbol")
EXCLUDE: Path = ("filters", "exclude_symbols")
INCLUDE: Path = ("filters", "include_symbols")


def _affix_text(prefix: str, suffix: str) -> str:
    if prefix and suffix:
        return f"start with {prefix!r} and end with {suffix!r}"
    if prefix:
        return f"start with {prefix!r}"
    if suffix:
        return f"end with {suffix!r}"
    return "carry no suffix or prefix"


class SymbolsPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Symbols", (("symbols",),), "", parent)
        options = self.group("Symbol map", "Master names are matched in order: your choice, the same name, the "
                                          "name with this slave's suffix or prefix, then well-known aliases "
                                          "(XAUUSD and GOLD, US30 and DJ30.cash).")
        self.add(options, "", CheckField(("symbols", "detect_affixes"), "Detect this slave's suffix and prefix"))
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setObjectName("groupHint")
        options.addRow(self.note)
        self.find = QLineEdit(self)
        self.find.setPlaceholderText("Find a symbol")
        self.find.setClearButtonEnabled(True)
        self.find.textChanged.connect(self._filter)
        options.addRow(self.find)
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(["Master symbol", "Slave symbol", "Found by", "Copy", "Volume ×"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.setMinimumHeight(220)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COPY, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(VOLUME, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Double-click a slave symbol to choose another; untick Copy to leave a symbol out")
        self.table.itemChanged.connect(self._item_changed)
        self.body.addWidget(self.table, 1)
        self.place_error()
        self.finish(stretch=False)
        self.inputs = PreviewInputs()
        self._rows: dict[str, SymbolRow] = {}
        self._auto: dict[str, str | None] = {}
        self._order: list[str] = []
        self._key: Any = None
        self.draft = None  # the editor's: a change here starts from the values the draft holds now
        # The slave's closest names for each symbol it lacks, found a few at a time after the map shows.
        self._closest: dict[str, tuple[str, ...]] = {}
        self._pending: list[str] = []
        self._closest_map: SymbolMap | None = None
        self._hints = QTimer(self)
        self._hints.setInterval(0)
        self._hints.timeout.connect(self._next_hints)

    # -- reading the table
    def row_of(self, master: str) -> int:
        return self._order.index(master)

    def set_inputs(self, inputs: PreviewInputs) -> None:
        self.inputs = inputs

    # -- from the draft
    def load(self, draft, origin: object) -> None:
        super().load(draft, origin)
        rules: CopyRules = draft.rules
        data = {p: draft.get(p) for p in (ALIASES, PER_SYMBOL, EXCLUDE, INCLUDE, ("symbols", "detect_affixes"))}
        # Recomputed only when the symbol lists or the rules behind the map change: a broker lists
        # hundreds of symbols, and the accounts' figures change every second.
        held = tuple(p.symbol for p in self.inputs.master_positions)
        key = (id(self.inputs.master.symbols), id(self.inputs.slave.symbols), held, json.dumps({".".join(p): v for p, v in data.items()}, sort_keys=True, default=str))
        if key == self._key:
            return
        self._key = key
        # The last rules that validated decide the map; the draft's own values fill the cells.
        self._rows = {r.master: r for r in symbol_rows(rules, self.inputs, closest=False)}
        # What the map finds by itself, so a typed name equal to it keeps no alias: the same as
        # shown, except where an alias is set now.
        self._auto = {name: row.slave for name, row in self._rows.items()}
        if rules.symbols.aliases:
            unaliased = SymbolMap(list(self.inputs.slave.symbols), rules.symbols.model_copy(update={"aliases": {}}))
            self._auto.update({name: unaliased.resolve(name).slave_symbol for name in rules.symbols.aliases})
        self._closest, self._closest_map = {}, SymbolMap(list(self.inputs.slave.symbols), rules.symbols)
        self._pending = [name for name, row in self._rows.items() if row.slave is None]
        if self._pending and self.inputs.slave.symbols:
            self._hints.start()
        if self.inputs.slave.symbols:
            prefix, suffix = affixes(rules, self.inputs)
            detected = ("This slave's symbols " + _affix_text(prefix, suffix) + "."
                        if rules.symbols.detect_affixes else "Suffixes and prefixes are not detected.")
            self.note.setText(f"{detected} Double-click a slave symbol to choose another.")
        else:
            self.note.setText("Connect the master and this slave to see how each master symbol maps; until then "
                              "only the symbols your rules name are listed.")
        self._fill(draft)

    def _fill(self, draft) -> None:
        names = list(self._rows)
        self.table.blockSignals(True)
        try:
            if names != self._order:
                self.table.setRowCount(0)
                self.table.setRowCount(len(names))
                self._order = names
            aliases = draft.get(ALIASES) or {}
            per_symbol = draft.get(PER_SYMBOL) or {}
            muted = QBrush(palette.current().color("text_dim"))
            for row, name in enumerate(names):
                info = self._rows[name]
                alias = aliases.get(name) if isinstance(aliases, dict) else None
                own = per_symbol.get(name) if isinstance(per_symbol, dict) else None
                factor = own.get("volume_multiplier", 1.0) if isinstance(own, dict) else 1.0
                how = self._how(name)
                cells = {
                    MASTER: (name, False),
                    SLAVE: (alias if alias else (info.slave or ""), True),
                    HOW: (how, False),
                    COPY: ("", False),
                    VOLUME: (number_text(factor), True),
                }
                for column, (text, editable) in cells.items():
                    item = self.table.item(row, column)
                    if item is None:
                        item = QTableWidgetItem()
                        self.table.setItem(row, column, item)
                    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    if editable:
                        flags |= Qt.ItemFlag.ItemIsEditable
                    if column == COPY:
                        flags |= Qt.ItemFlag.ItemIsUserCheckable
                    item.setFlags(flags)
                    if item.text() != text:
                        item.setText(text)
                copy = self.table.item(row, COPY)
                copy.setCheckState(Qt.CheckState.Checked if info.copied else Qt.CheckState.Unchecked)
                copy.setToolTip(info.why_not or "Copied")
                self.table.item(row, HOW).setToolTip(info.how)
                for column in (MASTER, SLAVE, HOW):
                    usable = info.copied and info.slave is not None
                    self.table.item(row, column).setForeground(QBrush() if usable else muted)
        finally:
            self.table.blockSignals(False)
        self._filter(self.find.text())

    def _how(self, name: str) -> str:
        info = self._rows[name]
        how = _HOW.get(info.how, "not at this broker")
        closest = self._closest.get(name)
        if info.slave is None and closest:
            how += f" (closest: {', '.join(closest)})"
        return how

    def _next_hints(self) -> None:
        batch, self._pending = self._pending[:HINTS_PER_TICK], self._pending[HINTS_PER_TICK:]
        if not self._pending:
            self._hints.stop()
        self.table.blockSignals(True)
        try:
            for name in batch:
                self._closest[name] = self._closest_map.resolve(name).candidates
                if name in self._order:
                    self.table.item(self._order.index(name), HOW).setText(self._how(name))
        finally:
            self.table.blockSignals(False)

    def _filter(self, text: str) -> None:
        needle = text.strip().upper()
        for row, name in enumerate(self._order):
            slave = self.table.item(row, SLAVE).text().upper() if self.table.item(row, SLAVE) else ""
            self.table.setRowHidden(row, bool(needle) and needle not in name.upper() and needle not in slave)

    # -- to the draft
    def _item_changed(self, item: QTableWidgetItem) -> None:
        name = self._order[item.row()]
        draft_aliases = self._draft_value(ALIASES, {})
        if item.column() == SLAVE:
            typed = item.text().strip()
            aliases = dict(draft_aliases)
            if typed and typed != self._auto.get(name):
                aliases[name] = typed
            else:
                aliases.pop(name, None)
            self.edited.emit(self, ALIASES, aliases)
        elif item.column() == COPY:
            self.edited.emit(self, None, self._copy_changes(name, item.checkState() == Qt.CheckState.Checked))
        elif item.column() == VOLUME:
            factor = parse_number(item.text(), optional=True)
            per_symbol = dict(self._draft_value(PER_SYMBOL, {}))
            own = dict(per_symbol.get(name) or {})
            own["volume_multiplier"] = 1.0 if factor is None else factor
            if own.get("enabled", True) and own["volume_multiplier"] == 1.0:
                per_symbol.pop(name, None)
            else:
                per_symbol[name] = own
            self.edited.emit(self, PER_SYMBOL, per_symbol)

    def _copy_changes(self, name: str, copied: bool) -> list[tuple[Path, Any]]:
        exclude = [s for s in self._draft_value(EXCLUDE, []) if s != name]
        include = list(self._draft_value(INCLUDE, []))
        changes: list[tuple[Path, Any]] = []
        if copied:
            if include and name not in include:
                changes.append((INCLUDE, [*include, name]))
            per_symbol = dict(self._draft_value(PER_SYMBOL, {}))
            own = per_symbol.get(name)
            if isinstance(own, dict) and own.get("enabled") is False:
                own = {**own, "enabled": True}
                if own.get("volume_multiplier", 1.0) == 1.0:
                    per_symbol.pop(name)
                else:
                    per_symbol[name] = own
                changes.append((PER_SYMBOL, per_symbol))
        else:
            exclude.append(name)
            if name in include:
                changes.append((INCLUDE, [s for s in include if s != name]))
        changes.append((EXCLUDE, exclude))
        return changes

    def _draft_value(self, path: Path, default: Any) -> Any:
        value = self.draft.get(path) if self.draft is not None else None
        return value if isinstance(value, type(default)) else default

    def problem_paths(self) -> tuple[Path, ...]:
        return (ALIASES, PER_SYMBOL)
