"""The Prop firm page's times: a time of day, an IANA zone (the firms' own zones first, then every
zone, found by any part of its name), and a time in the week (weekday, time and zone together).

Each hands on what is typed as it is; the prop rules model says what is wrong with it ("unknown
time zone 'Europe/Prag' (did you mean Europe/Prague?)").
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QHBoxLayout, QLineEdit, QWidget

from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.rules_form.fields import Field

# The zones prop firms reset in, with what a trader knows them as.
FIRM_ZONES = (
    ("Europe/Prague", "CET, with summer time (FTMO and most European firms)"),
    ("Etc/GMT-2", "GMT+2 all year (POSIX signs: GMT-2 is two hours ahead of UTC)"),
    ("America/New_York", "New York, 5 pm is the forex day's end (US firms)"),
    ("UTC", "UTC"),
)
WEEKDAYS = (("mon", "Mon"), ("tue", "Tue"), ("wed", "Wed"), ("thu", "Thu"), ("fri", "Fri"), ("sat", "Sat"),
            ("sun", "Sun"))


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    """Every IANA zone but the firms' own, which head the list."""
    firms = {name for name, _ in FIRM_ZONES}
    return tuple(sorted(available_timezones() - firms))


class ZoneCombo(QComboBox):
    """An editable list of zones. ``typed(text)`` fires on each key and on each pick."""

    def __init__(self, on_change, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(16)
        for name, words in FIRM_ZONES:
            self.addItem(name, name)
            self.setItemData(self.count() - 1, words, Qt.ItemDataRole.ToolTipRole)
        self.insertSeparator(self.count())
        for name in all_zones():
            self.addItem(name, name)
        self.setMinimumContentsLength(18)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        # Inline completion would show a zone the trader has not typed; a popup of the zones
        # holding what is typed ("prag", "new_y") shows them and changes nothing until picked.
        completer = QCompleter([name for name, _ in FIRM_ZONES] + list(all_zones()), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.lineEdit().textEdited.connect(lambda text: on_change())
        self.activated.connect(lambda _index: on_change())
        completer.activated.connect(lambda _text: on_change())

    def zone(self) -> str:
        return self.currentText().strip()

    def show_zone(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if text == self.currentText():
            return
        index = self.findData(text)
        if index >= 0:
            self.setCurrentIndex(index)
        else:  # a zone the list lacks (a typo in the YAML): shown as it is, the model names it
            self.setEditText(text)


def time_edit(parent: QWidget | None = None) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setPlaceholderText("HH:MM")
    edit.setMaximumWidth(80)
    return edit


class TimeField(Field):
    """A 24-hour time of day, typed as HH:MM."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        self.edit = time_edit()
        super().__init__(path, self.edit, parent)
        self.edit.textEdited.connect(lambda text: self._emit(text.strip()))

    def load(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if text != self.edit.text():
            self.edit.setText(text)


class ZoneField(Field):
    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        self.combo = ZoneCombo(lambda: self._emit(self.combo.zone()))
        self.edit = self.combo.lineEdit()
        super().__init__(path, self.combo, parent)

    def load(self, value: Any) -> None:
        self.combo.show_zone(value)


class WeeklyTimeField(Field):
    """A time in the week, stored as ``{day, time, zone}``: the weekend's close and reopen."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        box = QWidget()
        self.day = QComboBox(box)
        for value, text in WEEKDAYS:
            self.day.addItem(text, value)
        self.time = time_edit(box)
        self.zone = ZoneCombo(lambda: self._emit(self.value()), box)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.day)
        row.addWidget(self.time)
        row.addWidget(self.zone)
        super().__init__(path, box, parent)
        self.day.activated.connect(lambda _index: self._emit(self.value()))
        self.time.textEdited.connect(lambda _text: self._emit(self.value()))

    def value(self) -> dict[str, str]:
        return {"day": self.day.currentData(), "time": self.time.text().strip(), "zone": self.zone.zone()}

    def load(self, value: Any) -> None:
        value = value if isinstance(value, dict) else {}
        index = self.day.findData(str(value.get("day", "")).lower()[:3])
        if index >= 0 and index != self.day.currentIndex():
            self.day.setCurrentIndex(index)
        text = "" if value.get("time") is None else str(value["time"])
        if text != self.time.text():
            self.time.setText(text)
        self.zone.show_zone(value.get("zone"))
