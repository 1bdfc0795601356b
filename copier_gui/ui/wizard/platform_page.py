"""Page 1 of the wizard: where the account trades (a terminal, the Linux bridge, cTrader, a demo broker)."""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QVBoxLayout, QWizardPage

from copier_gui.ui.wizard.common import CTRADER_PAGE, TERMINAL_PAGE, WizardHost
from copier_gui.ui.wizard.draft import LINK_PLATFORMS


class PlatformPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Platform")
        self.setSubTitle("Where does the account you want to link trade?")
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, title, text in LINK_PLATFORMS:
            button = QRadioButton(title)
            button.setObjectName(f"platform_{key}")
            self.group.addButton(button)
            self.buttons[key] = button
            hint = QLabel(text)
            hint.setWordWrap(True)
            hint.setContentsMargins(24, 0, 0, 8)
            layout.addWidget(button)
            layout.addWidget(hint)
        layout.addStretch(1)
        self.buttons[wizard.draft.platform].setChecked(True)
        self.group.buttonToggled.connect(lambda *_: self.completeChanged.emit())

    def selected(self) -> str | None:
        return next((key for key, button in self.buttons.items() if button.isChecked()), None)

    def nextId(self) -> int:
        # A cTrader account has no terminal, login or password: its own page replaces those.
        return CTRADER_PAGE if self.selected() == "ctrader" else TERMINAL_PAGE

    def isComplete(self) -> bool:
        return self.selected() is not None

    def validatePage(self) -> bool:
        platform = self.selected()
        if platform is None:
            return False
        self._wizard.draft.platform = platform
        return True
