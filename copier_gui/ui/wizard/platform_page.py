"""Page 1 of the wizard: where the account trades (a terminal, the Linux bridge, cTrader, a demo broker)
and, for a MetaTrader 5 account, where its terminal runs: on this computer or on a worker host."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from copier_gui.ui.wizard.common import CTRADER_PAGE, TERMINAL_PAGE, WORKER_HOST_PAGE, WizardHost
from copier_gui.ui.wizard.draft import LINK_PLATFORMS, WORKER_HOST_PLATFORMS

WORKER_HOSTS = (
    ("local", "This computer",
     "The terminal runs here, and copier_gui starts its worker here (the usual case)."),
    ("nats", "A worker host on another machine (NATS)",
     "The terminal runs on another computer (a Windows VPS, say) where `copier-gui worker-host` serves "
     "it; copier_gui reaches it through a NATS server."),
)


class PlatformPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Platform")
        self.setSubTitle("Where does the account you want to link trade?")
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons = _choices(self.group, layout, LINK_PLATFORMS, "platform", spacing=8)
        self.worker_box = QGroupBox("Where does its terminal run?")
        self.worker_box.setObjectName("worker_box")
        self.worker_group = QButtonGroup(self)
        self.worker_buttons = _choices(self.worker_group, QVBoxLayout(self.worker_box), WORKER_HOSTS, "worker",
                                       spacing=4)
        self.worker_buttons[wizard.draft.worker_host].setChecked(True)
        layout.addWidget(self.worker_box)
        layout.addStretch(1)
        self.buttons[wizard.draft.platform].setChecked(True)
        self.group.buttonToggled.connect(lambda *_: self._on_platform())
        self._on_platform()

    def _on_platform(self) -> None:
        # Only a MetaTrader 5 terminal runs in a worker; cTrader and the demo have none to move.
        self.worker_box.setEnabled(self.selected() in WORKER_HOST_PLATFORMS)
        self.completeChanged.emit()

    def worker_host(self) -> str:
        if self.selected() not in WORKER_HOST_PLATFORMS:
            return "local"
        return "nats" if self.worker_buttons["nats"].isChecked() else "local"

    def selected(self) -> str | None:
        return next((key for key, button in self.buttons.items() if button.isChecked()), None)

    def nextId(self) -> int:
        # A cTrader account has no terminal, login or password: its own page replaces those.
        if self.selected() == "ctrader":
            return CTRADER_PAGE
        # A worker host's terminal is that computer's: its NATS server replaces the terminal page.
        return WORKER_HOST_PAGE if self.worker_host() == "nats" else TERMINAL_PAGE

    def isComplete(self) -> bool:
        return self.selected() is not None

    def validatePage(self) -> bool:
        platform = self.selected()
        if platform is None:
            return False
        self._wizard.draft.platform = platform
        self._wizard.draft.worker_host = self.worker_host()
        return True


def _choices(group: QButtonGroup, layout: QVBoxLayout, choices, prefix: str, *, spacing: int) -> dict[str, QRadioButton]:
    """One radio button per (key, title, text) in ``choices``, each with its explanation under it."""
    buttons: dict[str, QRadioButton] = {}
    for key, title, text in choices:
        button = QRadioButton(title)
        button.setObjectName(f"{prefix}_{key}")
        group.addButton(button)
        buttons[key] = button
        hint = QLabel(text)
        hint.setWordWrap(True)
        hint.setContentsMargins(24, 0, 0, spacing)
        layout.addWidget(button)
        layout.addWidget(hint)
    return buttons
