"""One slave's copy rules as YAML text: check them, then save them and apply them while copying.

Open it with ``open()``, never ``exec()``: a nested event loop would stall the copier. It is not
even window-modal, so the kill switch stays in reach while rules are edited. A valid
save emits ``rulesSaved(slave_id, rules)``; the dashboard applies the rules and reports back
through :meth:`RulesEditor.show_result`.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from copier_gui.core.rules import CopyRules
from copier_gui.ui import palette

HELP = ("What each rule means (sizing, symbols, filters, stops, tolerances, risk, copy_partial_closes, "
        "copy_pending, copy_existing) is explained, with examples, in docs/rules.md. "
        "An unknown key is an error. A price tolerance has a unit: "
        "max_price_deviation: {value: 2, unit: pip} (point, pip, bp or spread); null is the asset "
        "class's default; tolerances.per_symbol sets limits per master symbol.")


def rules_yaml(rules: CopyRules) -> str:
    return yaml.safe_dump(rules.model_dump(mode="json"), sort_keys=False)


def parse_rules(text: str) -> tuple[CopyRules | None, str]:
    """The rules in ``text``, or None and one message naming the field (``sizing.multiplier: ...``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, f"not valid YAML{where}: {problem}"
    try:
        return CopyRules.model_validate({} if data is None else data), ""
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        path = ".".join(str(part) for part in first["loc"]) or "rules"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return None, f"{path}: {first['msg']}{more}"


class RulesEditor(QDialog):
    """Edits one slave's rules. ``saved_to_file`` False (the demo) says they apply to this run only."""

    rulesSaved = Signal(str, object)

    def __init__(self, slave_id: str, rules: CopyRules, *, saved_to_file: bool, parent=None) -> None:
        super().__init__(parent)
        self.slave_id = slave_id
        self.setWindowTitle(f"Copy rules · {slave_id}")
        self.resize(620, 680)

        help_text = HELP + (" Saved rules go to the settings file and apply to the running copier at once."
                            if saved_to_file else
                            " This session has no settings file: saved rules apply to the running copier "
                            "only and are gone when it stops.")
        self.help = QLabel(help_text, self)
        self.help.setWordWrap(True)
        self.editor = QPlainTextEdit(self)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setPlainText(rules_yaml(rules))
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.setObjectName("rulesMessage")

        self.validate_button = QPushButton("Validate", self)
        self.validate_button.clicked.connect(self.validate)
        self.save_button = QPushButton("Save", self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.validate_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.help)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.editor.textChanged.connect(lambda: self._say("", ok=True))

    def open(self) -> None:
        """Show without blocking anything: QDialog.open() would make the dialog window-modal."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.show()
        self.raise_()
        self.activateWindow()

    def text(self) -> str:
        return self.editor.toPlainText()

    def _say(self, text: str, *, ok: bool) -> None:
        theme = palette.current()
        self.message.setStyleSheet(f"color: {theme.ok if ok else theme.bad}")
        self.message.setText(text)

    def validate(self) -> CopyRules | None:
        rules, error = parse_rules(self.text())
        if rules is None:
            self._say(error, ok=False)
        else:
            self._say("The rules are valid.", ok=True)
        return rules

    def save(self) -> None:
        rules, error = parse_rules(self.text())
        if rules is None:
            self._say(error, ok=False)
            return
        self._say("", ok=True)
        self.rulesSaved.emit(self.slave_id, rules)

    def show_result(self, text: str, *, ok: bool = True) -> None:
        """What became of a save (applied, written to the settings file, or why not)."""
        self._say(text, ok=ok)
