"""The rules form's fields: one setting each, its editor and, under it, what is wrong with it.

A field knows the path of its setting in the draft. It reports a trader's edit as (path, value) and
never the values it is loaded with, so loading the form from YAML does not echo back. Text is
handed on as typed when it is no number: the rules model then names the field ("must be a
number"), the same check a settings file gets.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from copier_gui.ui import palette
from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.widgets import repolish


def number_text(value: Any) -> str:
    """A number as a trader would type it (0.37, 2500), or the text they typed that is none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.10g}"
    return str(value)


def parse_number(text: str, *, integer: bool = False, optional: bool = False) -> Any:
    """The number in ``text``; None for an empty optional field; the text itself otherwise, for the
    model to refuse by name. A decimal comma is read as a point."""
    text = text.strip()
    if not text:
        return None if optional else ""
    candidate = text.replace(",", ".") if "," in text and "." not in text else text
    try:
        number = float(candidate)
    except ValueError:
        return text
    if integer:
        return int(number) if number.is_integer() and "." not in candidate and "e" not in candidate.lower() else text
    return number


class Field(QWidget):
    """One setting's row content: the editor on top, its error (hidden when none) under it."""

    edited = Signal(object, object, object)  # the field, its path, the value typed

    wide = False  # text that may run long (lists of symbols) takes the row's width; the rest their own
    also: tuple[Path, ...] = ()  # other settings it edits, whose problems it shows too

    def __init__(self, path: Path, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.editor = editor
        self.error = QLabel(self)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        if self.wide:
            layout.addWidget(editor)
        else:
            layout.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.error)

    def read(self, draft) -> None:
        """Show what the draft holds for it; a field that edits several settings reads them all."""
        self.load(draft.get(self.path))

    def load(self, value: Any) -> None:
        raise NotImplementedError

    def show_problem(self, text: str) -> None:
        if text == self.error.text() and self.error.isHidden() != bool(text):
            return
        self.error.setText(text)
        self.error.setStyleSheet(f"color: {palette.current().bad}")
        self.error.setVisible(bool(text))
        self.editor.setProperty("invalid", bool(text))
        repolish(self.editor)
        self.editor.setToolTip(text)

    def _emit(self, value: Any) -> None:
        self.edited.emit(self, self.path, value)


class NumberField(Field):
    def __init__(self, path: Path, *, integer: bool = False, optional: bool = False, placeholder: str = "",
                 width: int = 120, parent: QWidget | None = None) -> None:
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setMaximumWidth(width)
        super().__init__(path, self.edit, parent)
        self.integer, self.optional = integer, optional
        self.edit.textEdited.connect(lambda text: self._emit(parse_number(text, integer=integer, optional=optional)))

    def load(self, value: Any) -> None:
        text = number_text(value)
        if text != self.edit.text():
            self.edit.setText(text)


class TextField(Field):
    """Free text; empty is None."""

    wide = True

    def __init__(self, path: Path, *, placeholder: str = "", parent: QWidget | None = None) -> None:
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        super().__init__(path, self.edit, parent)
        self.edit.textEdited.connect(lambda text: self._emit(text if text.strip() else None))

    def load(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if text != self.edit.text():
            self.edit.setText(text)


class ListField(Field):
    """A list typed as comma-separated items: symbols, or whole numbers."""

    wide = True

    def __init__(self, path: Path, *, integer: bool = False, placeholder: str = "", parent: QWidget | None = None) -> None:
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        super().__init__(path, self.edit, parent)
        self.integer = integer
        self.edit.textEdited.connect(lambda text: self._emit(self._items(text)))

    def _items(self, text: str) -> list:
        items = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
        if self.integer:
            return [parse_number(item, integer=True) for item in items]
        return items

    def load(self, value: Any) -> None:
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else number_text(value)
        if self._items(text) != self._items(self.edit.text()):
            self.edit.setText(text)


_NONE = "\0none"  # a combo's data cannot be None and still be found again


class ChoiceField(Field):
    """One of a few values, each shown in words (None among them: "no preset")."""

    def __init__(self, path: Path, choices: list[tuple[Any, str]], parent: QWidget | None = None) -> None:
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for value, text in choices:
            self.combo.addItem(text, _NONE if value is None else value)
        super().__init__(path, self.combo, parent)
        self.combo.activated.connect(lambda index: self._emit(self._value(index)))

    def _value(self, index: int) -> Any:
        data = self.combo.itemData(index)
        return None if data == _NONE else data

    def load(self, value: Any) -> None:
        value = _NONE if value is None else value
        index = self.combo.findData(value)
        if index < 0 and value == _NONE:
            # Nothing set where "nothing" is no choice (a rule left off): nothing shown as chosen.
            self.combo.setCurrentIndex(-1)
            return
        if index < 0:  # a value the form has no words for (typed in YAML): shown as it is
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        if index != self.combo.currentIndex():
            self.combo.setCurrentIndex(index)


class CheckField(Field):
    def __init__(self, path: Path, text: str, parent: QWidget | None = None) -> None:
        self.check = QCheckBox(text)
        super().__init__(path, self.check, parent)
        self.check.clicked.connect(self._emit)

    def load(self, value: Any) -> None:
        if bool(value) != self.check.isChecked():
            self.check.setChecked(bool(value))


class PairField(Field):
    """A number with a choice beside it, stored as ``{value, <choice key>}``; empty is None.

    A price limit (value and unit) and a risk limit (value and action) are both this shape.
    """

    def __init__(self, path: Path, key: str, choices: list[tuple[Any, str]], *, default: Any,
                 placeholder: str = "", maximum: float | None = None, parent: QWidget | None = None) -> None:
        box = QWidget()
        self.edit = QLineEdit(box)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setMaximumWidth(160)
        self.combo = QComboBox(box)
        for value, text in choices:
            self.combo.addItem(text, value)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit)
        row.addWidget(self.combo)
        row.addStretch(1)
        super().__init__(path, box, parent)
        self.key, self.default = key, default
        self.edit.textEdited.connect(lambda _text: self._emit(self.value()))
        self.combo.activated.connect(lambda _index: self._emit(self.value()))
        self.set_default(default)

    def set_default(self, choice: Any) -> None:
        """The choice shown while the field is empty (a preset's action, say)."""
        self.default = choice
        if not self.edit.text().strip():
            self._select(choice)

    def value(self) -> Any:
        number = parse_number(self.edit.text(), optional=True)
        if number is None:
            return None
        return {"value": number, self.key: self.combo.currentData()}

    def load(self, value: Any) -> None:
        if isinstance(value, dict):
            text = number_text(value.get("value"))
            if text != self.edit.text():
                self.edit.setText(text)
            self._select(value.get(self.key, self.default))
        else:
            if self.edit.text():
                self.edit.clear()
            self._select(self.default)

    def _select(self, choice: Any) -> None:
        index = self.combo.findData(choice)
        if index < 0 and choice is not None:
            self.combo.addItem(str(choice), choice)
            index = self.combo.count() - 1
        if index >= 0 and index != self.combo.currentIndex():
            self.combo.setCurrentIndex(index)

    @property
    def unit(self) -> QComboBox:  # a price limit's choice is its unit
        return self.combo

    @property
    def action(self) -> QComboBox:  # a risk limit's choice is its action
        return self.combo


LABEL_WIDTH = 250



def hinted_group(title: str, hint: str, parent: QWidget) -> tuple[QGroupBox, QFormLayout]:
    """A titled group of form rows whose long rows wrap, with its hint as the first row."""
    box = QGroupBox(title, parent)
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    if hint:
        text = QLabel(hint, box)
        text.setWordWrap(True)
        text.setObjectName("groupHint")
        form.addRow(text)
    return box, form

class Page(QScrollArea):
    """One tab of the form: groups of labelled fields in a scroll area, so a short screen loses none.

    ``roots`` are the settings it holds: a problem the page has no field for is shown on it.
    """

    edited = Signal(object, object, object)  # the field or table edited, the path, the value

    def __init__(self, title: str, roots: tuple[Path, ...], intro: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.roots = roots
        self.fields: list[Field] = []
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget(self)
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(12, 10, 12, 10)
        self.body.setSpacing(10)
        if intro:
            text = QLabel(intro, body)
            text.setWordWrap(True)
            text.setObjectName("pageIntro")
            self.body.addWidget(text)
        self.error = QLabel(body)
        self.error.setObjectName("pageError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.setWidget(body)

    def group(self, title: str, hint: str = "") -> QFormLayout:
        box, form = hinted_group(title, hint, self.widget())
        self.body.addWidget(box)
        return form

    def add(self, form: QFormLayout, label: str, field: Field, tip: str = "") -> Field:
        name = QLabel(label) if label else None
        if name is not None:
            name.setMinimumWidth(LABEL_WIDTH)  # one label column down the whole page
        if name is not None and tip:
            name.setToolTip(tip)
        if tip:
            field.editor.setToolTip(tip)
        if name is None:
            form.addRow(field)
        else:
            form.addRow(name, field)
        self.fields.append(field)
        field.edited.connect(self.edited)
        return field

    def place_error(self) -> None:
        """Show the page's own problems here (under its table) rather than at its foot."""
        self.body.addWidget(self.error)
        self._error_placed = True

    def finish(self, *, stretch: bool = True) -> None:
        if not getattr(self, "_error_placed", False):
            self.place_error()
        if stretch:  # a page whose table takes the height left has none
            self.body.addStretch(1)

    # -- the editor calls these after every change
    def load(self, draft, origin: object) -> None:
        for field in self.fields:
            if field is not origin:
                field.read(draft)
        self.update_state(draft)

    def update_state(self, draft) -> None:
        """Enable what applies to the current choices; pages override."""

    def problem_paths(self) -> tuple[Path, ...]:
        """Paths beyond its fields whose problems this page shows itself (its tables)."""
        return ()

    def show_problems(self, found: dict[Path, str]) -> None:
        """Problems for ``problem_paths`` and for settings with no field of their own."""
        text = "\n".join(found.values())
        self.error.setText(text)
        self.error.setStyleSheet(f"color: {palette.current().bad}")
        self.error.setVisible(bool(text))
