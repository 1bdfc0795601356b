"""Small pieces every page of the wizard and the edit dialog shares: the error line, input rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from copier_gui.clock import Clock
from copier_gui.connectors.mt5.discovery import DiscoveredTerminal
from copier_gui.ctrader_auth import Endpoints
from copier_gui.ui.wizard.draft import AccountDraft

# The wizard's pages, by id; a page that skips ahead (cTrader, a simulated cTrader broker) names
# the page it goes to. The cTrader page comes last in the numbering, not in the walk.
PLATFORM_PAGE, TERMINAL_PAGE, LOGIN_PAGE, TEST_PAGE, ROLE_PAGE, FINISH_PAGE, CTRADER_PAGE = range(7)
# A terminal on a worker host (over NATS): this page replaces the terminal page, before the login.
WORKER_HOST_PAGE = 7

ID_PATTERN = QRegularExpression(r"[a-z0-9][a-z0-9_-]{0,39}")
LOGIN_PATTERN = QRegularExpression(r"\d{1,20}")
_ERROR_STYLE = "color: #c62828;"


class WizardHost(Protocol):
    """What the pages need of the wizard they are in (the pages never import the wizard itself)."""

    draft: AccountDraft
    clock: Clock
    discover: Callable[[], Iterable[DiscoveredTerminal]]
    master_symbols: Sequence[str] | None
    ctrader_endpoints: Endpoints

    def open_browser(self, url: str) -> bool: ...
    def issue_demo_login(self, profile: str) -> int: ...
    def suggest_id(self, server: str, login: int | None) -> str: ...
    def password_stored(self, key: str | None, *, created: bool) -> None: ...
    def bridge_secret_stored(self, key: str, created: bool) -> None: ...
    def nats_password_stored(self, key: str, created: bool) -> None: ...


def error_label() -> QLabel:
    """A red, selectable line under a form, hidden while there is nothing to say."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(_ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_error(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def money(value: float, currency: str) -> str:
    digits = 0 if currency in ("JPY", "KRW", "HUF") else 2
    return f"{value:,.{digits}f} {currency}"


def open_file_dialog(parent: QWidget, title: str, filters: list[str], current: str,
                     chosen: Callable[[str], None]) -> QFileDialog:
    """A dialog choosing one existing file, opened beside ``current`` if given; ``chosen`` gets its
    path. Returned so the caller keeps it alive while it is open."""
    # open(), not exec(): a nested event loop would stall the copier running on this loop.
    dialog = QFileDialog(parent, title)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setNameFilters(filters)
    if current:
        dialog.setDirectory(str(Path(current).parent))
    dialog.fileSelected.connect(chosen)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
