"""The first-run page: link a real account, or try the demo on simulated brokers.

It only emits the choice; the application opens the wizard (with open()) or starts the demo.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from copier_gui.ui import palette


class WelcomePage(QWidget):
    linkRequested = Signal()
    demoRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        card = QFrame(self)
        card.setObjectName("card")
        card.setMaximumWidth(620)

        icon = QLabel(card)
        icon.setPixmap(palette.app_icon().pixmap(72, 72))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Welcome to copier_gui", card)
        title.setObjectName("appTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Mirror one master MetaTrader 5 account to your other accounts, and see exactly how "
            "each copy drifted: latency, slippage and size, per slave.<br><br>"
            "Link your master account first, then each slave. Passwords go to your system's "
            "keyring, never to a file. Or watch it work on simulated brokers first.", card)
        text.setObjectName("cardHint")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.link_button = QPushButton("Link an account", card)
        self.link_button.setObjectName("primary")
        self.link_button.clicked.connect(self.linkRequested)
        self.demo_button = QPushButton("Try the demo", card)
        self.demo_button.setObjectName("secondary")
        self.demo_button.setToolTip("Simulated brokers and an automated master: nothing real is traded")
        self.demo_button.clicked.connect(self.demoRequested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.link_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)

        self.message = QLabel("", card)
        self.message.setObjectName("cardHint")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.hide()

        inner = QVBoxLayout(card)
        inner.setContentsMargins(40, 36, 40, 36)
        inner.setSpacing(14)
        for widget in (icon, title, text):
            inner.addWidget(widget)
        inner.addSpacing(8)
        inner.addLayout(buttons)
        inner.addWidget(self.message)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
