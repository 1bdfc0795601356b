"""The Tolerances page: how late and how far from the master's fill an entry may still be copied,
for every symbol and per master symbol. A price limit has a unit that means something on the
symbol: points, pips of a pair, basis points of the price, or spreads of the slave's quote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QToolButton,
)

from copier_gui.core.rules import DeviationPolicy, PartialFillPolicy
from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.rules_form.fields import ChoiceField, NumberField, Page, PairField, parse_number

UNITS = [("pip", "pips (currency pairs)"), ("bp", "basis points of the price"), ("point", "points"),
         ("spread", "spreads of the slave's quote")]
PER_SYMBOL: Path = ("tolerances", "per_symbol")
_ROW_HEIGHT = 34
_VISIBLE_ROWS = 6


@dataclass
class RowWidgets:
    symbol: QLineEdit
    value: QLineEdit
    unit: QComboBox
    delay: QLineEdit


class TolerancesPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Tolerances", (("tolerances",),),
                         "Entries only: exits are never held to a tolerance. A refusal is journaled with the gap "
                         "in your unit and in points.", parent)
        every = self.group("For every symbol")
        self.add(every, "Maximum price deviation", PairField(
            ("tolerances", "max_price_deviation"), "unit", UNITS, default="pip",
            placeholder="class default"),
            "Empty: the asset class's default (2 pip on pairs, 5 bp on metals, 3 bp on indices, 15 bp on "
            "crypto), never tighter than two current spreads")
        self.add(every, "Maximum delay (ms)", NumberField(("tolerances", "max_delay_ms"), integer=True),
                 "An entry later than this after the master's fill is skipped")
        self.add(every, "When the price is beyond it", ChoiceField(("tolerances", "on_price_deviation"), [
            (DeviationPolicy.SKIP.value, "Skip the entry"),
            (DeviationPolicy.LIMIT_AT_MASTER_PRICE.value, "Place a limit order at the master's price")]))
        self.add(every, "Requote retries", NumberField(("tolerances", "requote_retries"), integer=True, width=80))
        self.add(every, "Partial fills", ChoiceField(("tolerances", "partial_fill"), [
            (PartialFillPolicy.TOP_UP.value, "Send the missing volume at once"),
            (PartialFillPolicy.ACCEPT.value, "Keep what filled")]))

        per = self.group("Per master symbol", "Keyed by the master's name for the symbol. What a row leaves "
                                              "empty is the value for every symbol above.")
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(["Master symbol", "Max deviation", "Unit", "Max delay (ms)", ""])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(_ROW_HEIGHT)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        for column, mode in enumerate((QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        per.addRow(self.table)
        self.add_button = QPushButton("Add a symbol", self)
        self.add_button.clicked.connect(lambda: self.add_row())
        self.notes = QLabel(self)
        self.notes.setObjectName("groupHint")
        self.notes.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.notes, 1)
        per.addRow(buttons)
        self.place_error()
        self.finish()
        self._rows: list[RowWidgets] = []
        self.master_symbols: list[str] = []
        self._fit_table()

    # -- rows
    def row_widgets(self, row: int) -> RowWidgets:
        return self._rows[row]

    def add_row(self, symbol: str | None = None, entry: dict | None = None, *, emit: bool = True) -> None:
        if symbol is None:
            listed = {r.symbol.text().strip() for r in self._rows}
            symbol = next((s for s in self.master_symbols if s not in listed), "")
        row = self.table.rowCount()
        self.table.insertRow(row)
        widgets = RowWidgets(QLineEdit(symbol), QLineEdit(), QComboBox(), QLineEdit())
        widgets.symbol.setPlaceholderText("master symbol")
        widgets.value.setPlaceholderText("as above")
        widgets.delay.setPlaceholderText("as above")
        for value, text in UNITS:
            widgets.unit.addItem(text, value)
        remove = QToolButton()
        remove.setText("Remove")
        remove.clicked.connect(lambda _checked=False, w=widgets: self.remove_row(self._rows.index(w)))
        for column, widget in enumerate((widgets.symbol, widgets.value, widgets.unit, widgets.delay, remove)):
            self.table.setCellWidget(row, column, widget)
        for edit in (widgets.symbol, widgets.value, widgets.delay):
            edit.textEdited.connect(lambda _text: self._emit())
        widgets.unit.activated.connect(lambda _index: self._emit())
        self._rows.append(widgets)
        self._load_row(widgets, entry or {})
        self._fit_table()
        if emit:
            self._emit()
            widgets.symbol.setFocus()

    def remove_row(self, row: int) -> None:
        self._rows.pop(row)
        self.table.removeRow(row)
        self._fit_table()
        self._emit()

    def _fit_table(self) -> None:
        rows = min(max(self.table.rowCount(), 1), _VISIBLE_ROWS)
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows * _ROW_HEIGHT + 4)

    def _load_row(self, widgets: RowWidgets, entry: dict) -> None:
        limit = entry.get("max_price_deviation") if isinstance(entry, dict) else None
        limit = limit if isinstance(limit, dict) else {}
        value = "" if limit.get("value") is None else f"{limit['value']:.10g}" if isinstance(
            limit.get("value"), int | float) else str(limit["value"])
        if widgets.value.text() != value:
            widgets.value.setText(value)
        index = widgets.unit.findData(limit.get("unit", "pip"))
        widgets.unit.setCurrentIndex(max(index, 0))
        delay = entry.get("max_delay_ms") if isinstance(entry, dict) else None
        delay_text = "" if delay is None else str(delay)
        if widgets.delay.text() != delay_text:
            widgets.delay.setText(delay_text)

    def _entries(self) -> tuple[dict[str, Any], list[str]]:
        entries: dict[str, Any] = {}
        notes = []
        for widgets in self._rows:
            symbol = widgets.symbol.text().strip()
            if not symbol:
                notes.append("A row without a master symbol is left out.")
                continue
            if symbol in entries:
                notes.append(f"{symbol} is listed twice: the last row counts.")
            entry: dict[str, Any] = {}
            value = parse_number(widgets.value.text(), optional=True)
            if value is not None:
                entry["max_price_deviation"] = {"value": value, "unit": widgets.unit.currentData()}
            delay = parse_number(widgets.delay.text(), integer=True, optional=True)
            if delay is not None:
                entry["max_delay_ms"] = delay
            entries[symbol] = entry
        return entries, notes

    def _emit(self) -> None:
        entries, notes = self._entries()
        self.notes.setText(" ".join(dict.fromkeys(notes)))
        self.edited.emit(self, PER_SYMBOL, entries)

    # -- from the draft
    def load(self, draft, origin: object) -> None:
        super().load(draft, origin)
        if origin is self:
            return
        entries = draft.get(PER_SYMBOL) or {}
        entries = entries if isinstance(entries, dict) else {}
        if [r.symbol.text().strip() for r in self._rows] != list(entries):
            while self._rows:
                self._rows.pop()
                self.table.removeRow(0)
            for symbol, entry in entries.items():
                self.add_row(str(symbol), entry, emit=False)
            self.notes.setText("")
        else:
            for widgets, entry in zip(self._rows, entries.values(), strict=True):
                self._load_row(widgets, entry)

    def problem_paths(self) -> tuple[Path, ...]:
        return (PER_SYMBOL,)

    def set_symbols(self, names: list[str]) -> None:
        self.master_symbols = names
