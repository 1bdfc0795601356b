"""The Advanced page: the same rules as YAML, for pasting and for settings the form shows no field
for. An edit that validates replaces the form's rules; one that does not is named here and leaves
the form as it was."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

YAML_HELP = ("The rules as YAML, as the settings file holds them. An unknown key is an error. A price "
             "tolerance has a unit: max_price_deviation: {value: 2, unit: pip} (point, pip, bp or spread); "
             "null is the asset class's default; tolerances.per_symbol sets limits per master symbol.")


class AdvancedPage(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.title = "Advanced (YAML)"
        self.help = QLabel(YAML_HELP, self)
        self.help.setWordWrap(True)
        self.help.setObjectName("pageIntro")
        self.edit = QPlainTextEdit(self)
        self.edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.error = QLabel(self)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(self.error.textInteractionFlags())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.help)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.error)

    def set_text(self, text: str) -> None:
        """Replace the text without the edit counting as the trader's (the caller blocks the echo)."""
        if text != self.edit.toPlainText():
            self.edit.setPlainText(text)
