"""The Prop firm page's own fields: the switch that makes the account a prop-firm account, a rule's
group box that switches the rule on, a limit given as an amount or a percent, the news calendar
chosen from a file, the news impacts, and the other accounts the hedging guard watches."""

from __future__ import annotations

import copy
from pathlib import Path as FilePath
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from copier_gui.core.prop_rules import NewsImpact
from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.rules_form.fields import Field, number_text, parse_number

ACCOUNT_COLUMNS = 4  # a row of check boxes that fits the page at 1366 pixels


class SwitchField(Field):
    """A check box that puts ``default`` at its path when ticked and None when cleared."""

    def __init__(self, path: Path, text: str, default: dict, parent: QWidget | None = None) -> None:
        self.check = QCheckBox(text)
        super().__init__(path, self.check, parent)
        self.default = default
        self.check.clicked.connect(lambda on: self._emit(copy.deepcopy(self.default) if on else None))

    def load(self, value: Any) -> None:
        on = isinstance(value, dict)
        if on != self.check.isChecked():
            self.check.setChecked(on)


class SectionField(Field):
    """A rule that is there or not: a group box ticked on (its defaults) or off (None). The rule's
    own fields go in ``form``; a problem with the rule as a whole is shown under the box."""

    wide = True

    def __init__(self, path: Path, title: str, default: dict, hint: str = "", parent: QWidget | None = None) -> None:
        self.box = QGroupBox(title)
        self.box.setCheckable(True)
        self.box.setChecked(False)
        self.form = QFormLayout(self.box)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        if hint:
            text = QLabel(hint, self.box)
            text.setWordWrap(True)
            text.setObjectName("groupHint")
            self.form.addRow(text)
        super().__init__(path, self.box, parent)
        self.default = default
        self.box.clicked.connect(lambda on: self._emit(copy.deepcopy(self.default) if on else None))

    def load(self, value: Any) -> None:
        on = isinstance(value, dict)
        if on != self.box.isChecked():
            self.box.setChecked(on)


class AmountOrPercentField(Field):
    """A loss limit as a number with its kind beside it: money in the account currency, or a
    percent. Stored as the rule's ``amount`` and ``percent``, one of them None."""

    def __init__(self, path: Path, percent_of: str, parent: QWidget | None = None) -> None:
        box = QWidget()
        self.edit = QLineEdit(box)
        self.edit.setPlaceholderText("amount or %")
        self.edit.setMaximumWidth(160)
        self.unit = QComboBox(box)
        self.unit.addItem(f"% of {percent_of}", "percent")
        self.unit.addItem("in the account currency", "amount")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit)
        row.addWidget(self.unit)
        row.addStretch(1)
        super().__init__((*path, "amount"), box, parent)
        self.rule = path
        self.also = ((*path, "percent"),)
        self.edit.textEdited.connect(lambda _text: self._send())
        self.unit.activated.connect(lambda _index: self._send())

    def _send(self) -> None:
        number = parse_number(self.edit.text(), optional=True)
        kind = self.unit.currentData()
        self.edited.emit(self, None, [((*self.rule, "amount"), number if kind == "amount" else None),
                                      ((*self.rule, "percent"), number if kind == "percent" else None)])

    def read(self, draft) -> None:
        percent, amount = draft.get((*self.rule, "percent")), draft.get((*self.rule, "amount"))
        kind, value = ("percent", percent) if percent is not None else ("amount", amount)
        text = number_text(value)
        if text != self.edit.text():
            self.edit.setText(text)
        if value is not None:  # an empty limit keeps the kind the trader last chose
            self.unit.setCurrentIndex(self.unit.findData(kind))

    def load(self, value: Any) -> None:  # read() loads both halves
        raise AssertionError("AmountOrPercentField loads through read()")


class CalendarField(Field):
    """The news calendar: a file's path, typed or chosen in a file dialog opened with open()."""

    wide = True

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        box = QWidget()
        self.edit = QLineEdit(box)
        self.edit.setPlaceholderText("an .ics or .csv file exported from your economic calendar")
        self.button = QPushButton("Choose…", box)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)
        super().__init__(path, box, parent)
        self.dialog: QFileDialog | None = None
        self.edit.textEdited.connect(lambda text: self._emit(text.strip()))
        self.button.clicked.connect(self.choose)

    def choose(self) -> None:
        # open(), never exec(): a nested event loop would stall the copier while the trader browses.
        current = FilePath(self.edit.text().strip()).expanduser()
        self.dialog = QFileDialog(self, "Choose the news calendar",
                                  str(current.parent) if self.edit.text().strip() else "")
        self.dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.dialog.setNameFilters(["Calendars (*.ics *.csv)", "All files (*)"])
        self.dialog.fileSelected.connect(self._chosen)
        self.dialog.finished.connect(self.dialog.deleteLater)
        self.dialog.open()

    def _chosen(self, name: str) -> None:
        self.edit.setText(name)
        self._emit(name)

    def load(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if text != self.edit.text():
            self.edit.setText(text)


class ImpactsField(Field):
    """Which events open a window: a check box per impact, stored as a list."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QCheckBox] = {}
        for impact in (NewsImpact.HIGH, NewsImpact.MEDIUM, NewsImpact.LOW):
            self.boxes[impact.value] = check = QCheckBox(impact.value.capitalize(), box)
            check.clicked.connect(lambda _on: self._emit(self.value()))
            row.addWidget(check)
        super().__init__(path, box, parent)

    def value(self) -> list[str]:
        return [name for name, check in self.boxes.items() if check.isChecked()]

    def load(self, value: Any) -> None:
        chosen = set(value) if isinstance(value, list | tuple) else set()
        for name, check in self.boxes.items():
            if check.isChecked() != (name in chosen):
                check.setChecked(name in chosen)


class AccountsField(Field):
    """The other accounts of one owner, as check boxes: the accounts this copier links (but this
    slave), and any other the rules name, said to be not linked here."""

    wide = True

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        self.box = QWidget()
        self.grid = QGridLayout(self.box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.none = QLabel("No other account is linked in this copier.", self.box)
        self.none.setObjectName("groupHint")
        super().__init__(path, self.box, parent)
        self.linked: list[str] = []
        self.boxes: dict[str, QCheckBox] = {}
        self._build([])

    def set_accounts(self, linked: list[str]) -> None:
        self.linked = list(linked)
        self._build(self.value())

    def value(self) -> list[str]:
        return [name for name, check in self.boxes.items() if check.isChecked()]

    def _build(self, ticked: list[str]) -> None:
        names = self.linked + [name for name in ticked if name not in self.linked]
        if list(self.boxes) != names:
            for check in self.boxes.values():
                self.grid.removeWidget(check)
                check.deleteLater()
            self.boxes = {}
            for index, name in enumerate(names):
                text = name if name in self.linked else f"{name} (not linked here)"
                self.boxes[name] = check = QCheckBox(text, self.box)
                check.clicked.connect(lambda _on: self._emit(self.value()))
                self.grid.addWidget(check, index // ACCOUNT_COLUMNS, index % ACCOUNT_COLUMNS)
        self.none.setVisible(not names)
        if not names:
            self.grid.addWidget(self.none, 0, 0)
        for name, check in self.boxes.items():
            if check.isChecked() != (name in ticked):
                check.setChecked(name in ticked)

    def load(self, value: Any) -> None:
        self._build([str(v) for v in value] if isinstance(value, list | tuple) else [])
