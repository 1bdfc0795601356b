"""The account-linking wizard: platform, terminal, login, a live connection test, role and rules.

Its product is one AccountSettings, emitted as ``accountLinked`` for the window to save. The
password goes straight to the keyring; the connection test runs as a task on the qasync loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from copier_gui import account_setup, secrets
from copier_gui.bridge import pairing
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5.discovery import TERMINAL_EXE, DiscoveredTerminal, discover_terminals
from copier_gui.core.model import AccountState
from copier_gui.core.rules import CopyRules, Sizing, SizingMode, SymbolMapping
from copier_gui.core.symbols import SymbolMap
from copier_gui.runtime import Connection
from copier_gui.settings import AccountSettings
from copier_gui.sim import PROFILES

__all__ = ["LinkAccountWizard"]

log = logging.getLogger(__name__)

PLATFORMS = (
    ("mt5", "MetaTrader 5 terminal",
     "A MetaTrader 5 (64-bit) terminal installed on this Windows computer."),
    ("mt5_bridge", "MetaTrader 5 through the Linux bridge",
     "A terminal running under Wine on this Linux computer, reached over a local bridge."),
    ("demo", "Demo broker",
     "A simulated broker: try copying with no broker account and no terminal."),
)
_SIZING_LABELS = {
    SizingMode.LOT_MULTIPLIER: "Master's lots × multiplier",
    SizingMode.BALANCE_RATIO: "In proportion to balances × multiplier",
    SizingMode.FIXED_LOT: "A fixed number of lots",
}
_ID_VALIDATOR = QRegularExpression(r"[a-z0-9][a-z0-9_-]{0,39}")
_LOGIN_VALIDATOR = QRegularExpression(r"\d{1,20}")
_ERROR_STYLE = "color: #c62828;"
# The id the connection test runs under; the account's real id is chosen on the role page.
_TEST_ID = "link-test"


@dataclass
class _Draft:
    """What the pages have gathered so far; never holds the password."""

    # A terminal needs Windows (or, later, the bridge); elsewhere the demo is what works today.
    platform: str = field(default_factory=lambda: "mt5" if sys.platform == "win32" else "demo")
    terminal_path: str | None = None
    bridge_host: str = "127.0.0.1"
    bridge_port: int = 18812
    bridge_secret_key: str | None = None  # the keyring name of the bridge's secret, once paired
    demo_profile: str | None = None
    demo_login: int | None = None
    login: int | None = None
    server: str | None = None
    secret_key: str | None = None
    account: AccountState | None = None
    slave_symbols: list[str] = field(default_factory=list)
    role: str = "slave"
    account_id: str = ""
    label: str = ""
    rules: CopyRules | None = None


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(_ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _show_error(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _money(value: float, currency: str) -> str:
    digits = 0 if currency in ("JPY", "KRW", "HUF") else 2
    return f"{value:,.{digits}f} {currency}"


# ---------------------------------------------------------------------------- 1. platform

class PlatformPage(QWizardPage):
    def __init__(self, wizard: LinkAccountWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Platform")
        self.setSubTitle("Where does the account you want to link trade?")
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, title, text in PLATFORMS:
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

    def isComplete(self) -> bool:
        return self.selected() is not None

    def validatePage(self) -> bool:
        platform = self.selected()
        if platform is None:
            return False
        self._wizard.draft.platform = platform
        return True


# ---------------------------------------------------------------------------- 2. terminal

class TerminalPage(QWizardPage):
    def __init__(self, wizard: LinkAccountWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self._dialog: QFileDialog | None = None
        self.found: list[DiscoveredTerminal] = []
        self.setTitle("Terminal")
        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self.error = _error_label()
        layout.addWidget(self.error)

        # The terminal panel: discovered installs, a path, Browse; the bridge's address too.
        panel = QWidget()
        terminal_layout = QVBoxLayout(panel)
        terminal_layout.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        terminal_layout.addWidget(self.status)
        self.terminal_list = QListWidget()
        self.terminal_list.setObjectName("terminal_list")
        self.terminal_list.currentItemChanged.connect(self._on_terminal_chosen)
        terminal_layout.addWidget(self.terminal_list, 1)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setObjectName("terminal_path")
        self.path.setPlaceholderText(rf"C:\Program Files\MetaTrader 5\{TERMINAL_EXE}")
        self.path.textChanged.connect(self._on_path_edited)
        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("browse")
        self.browse.clicked.connect(self._browse)
        row.addWidget(QLabel("Terminal:"))
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        terminal_layout.addLayout(row)
        self.bridge_box = QGroupBox("Bridge address")
        bridge_form = QFormLayout(self.bridge_box)
        self.bridge_host = QLineEdit(wizard.draft.bridge_host)
        self.bridge_port = QSpinBox()
        self.bridge_port.setRange(1, 65535)
        self.bridge_port.setValue(wizard.draft.bridge_port)
        self.bridge_secret = QLineEdit()
        self.bridge_secret.setObjectName("bridge_secret")
        self.bridge_secret.setEchoMode(QLineEdit.EchoMode.Password)
        bridge_form.addRow("Host:", self.bridge_host)
        bridge_form.addRow("Port:", self.bridge_port)
        bridge_form.addRow("Shared secret:", self.bridge_secret)
        self.bridge_hint = QLabel(
            "The bridge server prints its shared secret at its first start; run it with "
            "--show-pairing to see it again. The secret goes straight into the system keyring.")
        self.bridge_hint.setWordWrap(True)
        bridge_form.addRow(self.bridge_hint)
        self.bridge_host.textChanged.connect(self._show_pairing_state)
        self.bridge_port.valueChanged.connect(self._show_pairing_state)
        self.bridge_secret.textChanged.connect(lambda *_: _show_error(self.error, ""))
        terminal_layout.addWidget(self.bridge_box)
        self.stack.addWidget(panel)

        # The demo panel: one entry per simulated broker.
        self.profiles = QListWidget()
        self.profiles.setObjectName("demo_profiles")
        for name, profile in sorted(PROFILES.items()):
            mode = "hedging" if profile.margin_mode == 2 else "netting"
            sample = ", ".join(s.name for s in profile.symbols[:2])
            item = QListWidgetItem(f"{profile.company}\n    server {profile.server} · {profile.currency} "
                                   f"account · {mode} · symbols like {sample}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.profiles.addItem(item)
        self.profiles.currentItemChanged.connect(lambda *_: self.completeChanged.emit())
        self.stack.addWidget(self.profiles)

    @property
    def demo(self) -> bool:
        return self._wizard.draft.platform == "demo"

    def initializePage(self) -> None:
        _show_error(self.error, "")
        if self.demo:
            self.setSubTitle("Choose a simulated broker. It opens a demo account for you; the brokers "
                             "differ like real ones (symbol names, lot sizes, currencies).")
            self.stack.setCurrentIndex(1)
            if self.profiles.currentRow() < 0:
                self.profiles.setCurrentRow(0)
            return
        bridge = self._wizard.draft.platform == "mt5_bridge"
        self.setSubTitle("Choose the account's MetaTrader 5 terminal (terminal64.exe)"
                         + (" as the Windows side under Wine sees it." if bridge else "."))
        self.stack.setCurrentIndex(0)
        self.bridge_box.setVisible(bridge)
        self.bridge_secret.clear()
        if bridge:
            self._show_pairing_state()
        self.status.setText("Looking for installed MetaTrader 5 terminals…")
        # After the page is on screen, so the search never delays showing it.
        QTimer.singleShot(0, self, self._discover)

    def _discover(self) -> None:
        try:
            found = list(self._wizard.discover())
        except Exception as exc:  # a broken folder must not stop linking: Browse still works
            log.warning("terminal discovery failed: %s", exc)
            found = []
        self.found = found
        current = self.path.text()
        self.terminal_list.blockSignals(True)
        self.terminal_list.clear()
        for terminal in found:
            item = QListWidgetItem(f"{terminal.name}\n    {terminal.path}")
            item.setData(Qt.ItemDataRole.UserRole, str(terminal.path))
            self.terminal_list.addItem(item)
            if str(terminal.path) == current:
                self.terminal_list.setCurrentItem(item)
        self.terminal_list.blockSignals(False)
        if found:
            self.status.setText(f"Found {len(found)} MetaTrader 5 terminal{'s' if len(found) != 1 else ''}. "
                                "Choose one, or browse for another terminal64.exe.")
        else:
            self.status.setText("No installed MetaTrader 5 terminal was found. Browse for its "
                                "terminal64.exe, or type its path.")

    def _on_terminal_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.path.setText(item.data(Qt.ItemDataRole.UserRole))

    def _on_path_edited(self, _text: str) -> None:
        _show_error(self.error, "")
        self.completeChanged.emit()

    def _browse(self) -> None:
        # open(), not exec(): a nested event loop would stall the copier running on this loop.
        dialog = QFileDialog(self, "Choose the MetaTrader 5 terminal")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([f"MetaTrader 5 terminal ({TERMINAL_EXE})", "Programs (*.exe)", "All files (*)"])
        current = self.path.text().strip()
        if current:
            dialog.setDirectory(str(Path(current).parent))
        dialog.fileSelected.connect(self.use_browsed)
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()

    def use_browsed(self, path: str) -> None:
        if path:
            self.terminal_list.clearSelection()
            self.path.setText(path)

    def isComplete(self) -> bool:
        if self.demo:
            return self.profiles.currentItem() is not None
        return bool(self.path.text().strip())

    def validatePage(self) -> bool:
        draft = self._wizard.draft
        if self.demo:
            item = self.profiles.currentItem()
            if item is None:
                return False
            profile = item.data(Qt.ItemDataRole.UserRole)
            if draft.demo_profile != profile or draft.demo_login is None:
                draft.demo_profile = profile
                draft.demo_login = self._wizard.issue_demo_login(profile)
            draft.terminal_path = None
            return True
        path = self.path.text().strip()
        problem = self._path_problem(path)
        if problem:
            _show_error(self.error, problem)
            return False
        draft.demo_profile = None
        draft.demo_login = None
        draft.terminal_path = path
        if draft.platform == "mt5_bridge":
            host = self.bridge_host.text().strip()
            problem = account_setup.bridge_host_problem(host)
            if problem:
                _show_error(self.error, problem)
                return False
            if not self._pair_bridge(host, self.bridge_port.value()):
                return False
            draft.bridge_host = host
            draft.bridge_port = self.bridge_port.value()
        return True

    def _path_problem(self, path: str) -> str:
        return account_setup.terminal_path_problem(path, self._wizard.draft.platform)

    def _paired(self, host: str, port: int) -> bool:
        try:
            return pairing.bridge_secret(host, port) is not None
        except secrets.SecretsUnavailable:
            return False  # said when the secret is stored, where the trader can act on it

    def _show_pairing_state(self, *_) -> None:
        paired = self._paired(self.bridge_host.text().strip(), self.bridge_port.value())
        self.bridge_secret.setPlaceholderText(
            "paired: kept in the system keyring; paste to replace it" if paired
            else "paste the secret the bridge server printed")

    def _pair_bridge(self, host: str, port: int) -> bool:
        """Store a pasted secret in the keyring (the field forgets it), or check one is there."""
        typed = self.bridge_secret.text()
        try:
            if not typed.strip():
                if pairing.bridge_secret(host, port) is not None:  # paired before: kept
                    self._wizard.bridge_secret_stored(pairing.bridge_secret_key(host, port), created=False)
                    return True
                _show_error(self.error, pairing.secret_problem(typed))
                return False
            problem = pairing.secret_problem(typed)
            if problem:
                _show_error(self.error, problem)
                return False
            existed = pairing.bridge_secret(host, port) is not None
            pairing.store_bridge_secret(host, port, typed)
        except secrets.SecretsUnavailable as exc:
            _show_error(self.error, exc.message)
            return False
        self.bridge_secret.clear()
        del typed
        self._wizard.bridge_secret_stored(pairing.bridge_secret_key(host, port), created=not existed)
        self._show_pairing_state()
        return True


# ---------------------------------------------------------------------------- 3. login

class LoginPage(QWizardPage):
    def __init__(self, wizard: LinkAccountWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self._prefilled_for: tuple | None = None
        self.setTitle("Login")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.login = QLineEdit()
        self.login.setObjectName("login")
        self.login.setValidator(QRegularExpressionValidator(_LOGIN_VALIDATOR, self.login))
        self.login.setPlaceholderText("the account number, e.g. 51234567")
        self.server = QLineEdit()
        self.server.setObjectName("server")
        self.server.setPlaceholderText("as the terminal shows it, e.g. Broker-Demo")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Login:", self.login)
        form.addRow("Server:", self.server)
        form.addRow("Password:", self.password)
        layout.addLayout(form)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.hide()
        layout.addWidget(self.warning)
        self.error = _error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)
        for edit in (self.login, self.server, self.password):
            edit.textChanged.connect(lambda *_: _show_error(self.error, ""))

    def initializePage(self) -> None:
        draft = self._wizard.draft
        demo = draft.platform == "demo"
        prefill = (draft.platform, draft.demo_profile, draft.demo_login)
        if demo and self._prefilled_for != prefill:
            # The simulated broker has just opened this account; its login and server are given.
            self.login.setText(str(draft.demo_login))
            self.server.setText(PROFILES[draft.demo_profile].server)
            self._prefilled_for = prefill
        elif not demo and self._prefilled_for is not None and self._prefilled_for[0] == "demo":
            self.login.clear()
            self.server.clear()
            self._prefilled_for = None
        self.server.setReadOnly(demo)
        self.password.clear()
        saved = draft.secret_key is not None
        self.password.setPlaceholderText("saved in the system keyring; type to replace it" if saved else "")
        if demo:
            self.setSubTitle("The demo broker opened this account for you. Choose its password: the "
                             "simulated broker checks it like a real one.")
        else:
            self.setSubTitle("The account's login, trade server and password.")
        self.hint.setText(
            "The password goes straight into the system keyring; copier_gui never writes it to a "
            "file and never shows it again."
            + ("" if demo else " Leave it empty to use the password saved in the terminal."))
        warning = secrets.keyring_warning()
        self.warning.setText(warning or "")
        self.warning.setVisible(bool(warning))
        _show_error(self.error, "")

    def cleanupPage(self) -> None:
        # Going back: a typed password is not kept in the widget for later.
        self.password.clear()
        _show_error(self.error, "")

    def validatePage(self) -> bool:
        draft = self._wizard.draft
        login_text = self.login.text().strip()
        server = self.server.text().strip()
        # The same checks as `copier-gui accounts link`.
        problem = account_setup.login_problem(login_text) or account_setup.server_problem(server)
        if problem:
            _show_error(self.error, problem)
            return False
        login = int(login_text)
        key = secrets.password_key(login=login, server=server, account_id="")
        password = self.password.text()
        if password:
            try:
                existed = secrets.get_password(key) is not None
                secrets.store_password(key, password)
            except secrets.SecretsUnavailable as exc:
                _show_error(self.error, exc.message)
                return False
            # Stored: the field forgets it, and the wizard never shows or holds it again.
            self.password.clear()
            del password
            self._wizard.password_stored(key, created=not existed)
        elif draft.secret_key != key:
            if draft.platform == "demo":
                _show_error(self.error, "Choose a password for the demo account.")
                return False
            self._wizard.password_stored(None, created=False)
        draft.login = login
        draft.server = server
        return True


# ---------------------------------------------------------------------------- 4. connection test

class TestPage(QWizardPage):
    def __init__(self, wizard: LinkAccountWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self._ok = False
        self.task: asyncio.Task | None = None
        self.setTitle("Test connection")
        self.setSubTitle("copier_gui connects to the account, reads it, and disconnects.")
        layout = QVBoxLayout(self)
        self.status = QLabel()
        self.status.setObjectName("test_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.details = QWidget()
        form = QFormLayout(self.details)
        form.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, QLabel] = {}
        for key, title in (("account", "Account"), ("name", "Name"), ("company", "Company"),
                           ("server", "Server"), ("currency", "Currency"), ("balance", "Balance"),
                           ("margin_mode", "Margin mode"), ("trading", "Trading")):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = value
            form.addRow(f"{title}:", value)
        self.details.hide()
        layout.addWidget(self.details)
        self.error = _error_label()
        self.error.setObjectName("test_error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        self.retry = QPushButton("Retry")
        self.retry.setObjectName("retry")
        self.retry.clicked.connect(self.start)
        self.retry.setEnabled(False)
        row.addWidget(self.retry)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def initializePage(self) -> None:
        self.start()

    def cleanupPage(self) -> None:
        self.stop()
        self._set_ok(False)

    def isComplete(self) -> bool:
        return self._ok

    def start(self) -> None:
        """Begin (or retry) the test as a task on the running loop; returns at once."""
        self.stop()
        self._set_ok(False)
        self.details.hide()
        _show_error(self.error, "")
        self.retry.setEnabled(False)
        draft = self._wizard.draft
        try:
            connection = account_setup.open_test_connection(self._wizard.test_account(), self._wizard.clock,
                                                            demo_login=draft.demo_login)
        except (account_setup.ConnectionTestFailed, ValidationError) as exc:
            self._fail(getattr(exc, "message", None) or str(exc))
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            connection.close()
            self._fail("The connection test needs the application's event loop, which is not "
                       "running; this is a copier_gui bug, please report it.")
            return
        where = (f"the demo broker {PROFILES[draft.demo_profile].company}" if draft.platform == "demo"
                 else f"the terminal {draft.terminal_path}")
        self.status.setText(f"Connecting to account {draft.login} at {draft.server} through {where}…")
        # A reference is kept: the loop holds tasks only weakly, and Back or Cancel cancels it.
        self.task = asyncio.ensure_future(self._run(connection))

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None

    async def _run(self, connection: Connection) -> None:
        try:
            result = await account_setup.run_connection_test(connection)
        except account_setup.ConnectionTestFailed as exc:
            self._fail(exc.message)
            return
        self._succeed(result.state, result.symbols)

    def _succeed(self, state: AccountState, symbols: list[str]) -> None:
        draft = self._wizard.draft
        draft.account = state
        draft.slave_symbols = symbols
        self.fields["account"].setText(str(state.login))
        self.fields["name"].setText(state.name)
        self.fields["company"].setText(state.company)
        self.fields["server"].setText(state.server)
        self.fields["currency"].setText(state.currency)
        self.fields["balance"].setText(_money(state.balance, state.currency))
        self.fields["margin_mode"].setText("hedging (several positions per symbol)" if state.hedging
                                           else "netting (one position per symbol)")
        self.fields["trading"].setText(
            "allowed" if state.trade_allowed else
            "not allowed from Python: press 'Algo Trading' in the terminal's toolbar, and check "
            "Tools > Options > Expert Advisors")
        self.details.show()
        self.status.setText(f"Connected to account {state.login} at {state.company}.")
        self.retry.setEnabled(True)
        self._set_ok(True)

    def _fail(self, message: str) -> None:
        self.status.setText("The connection test failed.")
        _show_error(self.error, message)
        self.retry.setEnabled(True)
        self._set_ok(False)

    def _set_ok(self, ok: bool) -> None:
        if ok != self._ok:
            self._ok = ok
            self.completeChanged.emit()


# ---------------------------------------------------------------------------- 5. role and rules

class _SymbolDelegate(QStyledItemDelegate):
    """Edits a slave symbol with a list of the slave's symbols, and free text for the rest."""

    def __init__(self, symbols: Callable[[], Sequence[str]], parent=None) -> None:
        super().__init__(parent)
        self._symbols = symbols

    def createEditor(self, parent, option, index):
        editor = QComboBox(parent)
        editor.setEditable(True)
        editor.addItems(list(self._symbols()))
        return editor

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole) or "")

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentText().strip(), Qt.ItemDataRole.EditRole)


class RolePage(QWizardPage):
    MASTER_COL, SLAVE_COL, HOW_COL = range(3)

    def __init__(self, wizard: LinkAccountWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self._auto: dict[str, str | None] = {}
        self._suggested_id = ""
        self.setTitle("Role and copy rules")
        self.setSubTitle("The master is copied from; each slave copies it under its own rules.")
        layout = QVBoxLayout(self)

        roles = QHBoxLayout()
        self.master = QRadioButton("Master: its trades are copied")
        self.master.setObjectName("role_master")
        self.slave = QRadioButton("Slave: copies the master")
        self.slave.setObjectName("role_slave")
        self.role_group = QButtonGroup(self)
        self.role_group.addButton(self.master)
        self.role_group.addButton(self.slave)
        roles.addWidget(self.master)
        roles.addWidget(self.slave)
        roles.addStretch(1)
        layout.addLayout(roles)

        form = QFormLayout()
        self.account_id = QLineEdit()
        self.account_id.setObjectName("account_id")
        self.account_id.setValidator(QRegularExpressionValidator(_ID_VALIDATOR, self.account_id))
        self.label = QLineEdit()
        self.label.setObjectName("label")
        form.addRow("Account id:", self.account_id)
        form.addRow("Label:", self.label)
        layout.addLayout(form)

        self.rules_box = QGroupBox("Copy rules")
        rules = QVBoxLayout(self.rules_box)
        sizing = QFormLayout()
        self.sizing_mode = QComboBox()
        self.sizing_mode.setObjectName("sizing_mode")
        for mode, text in _SIZING_LABELS.items():
            self.sizing_mode.addItem(text, mode)
        self.multiplier = QDoubleSpinBox()
        self.multiplier.setObjectName("multiplier")
        self.multiplier.setRange(0.01, 1000.0)
        self.multiplier.setDecimals(2)
        self.multiplier.setSingleStep(0.1)
        self.multiplier.setValue(1.0)
        self.lots = QDoubleSpinBox()
        self.lots.setObjectName("lots")
        self.lots.setRange(0.01, 10_000.0)
        self.lots.setDecimals(2)
        self.lots.setValue(0.01)
        sizing.addRow("Sizing:", self.sizing_mode)
        sizing.addRow("Multiplier:", self.multiplier)
        sizing.addRow("Lots:", self.lots)
        rules.addLayout(sizing)
        self.symbols_note = QLabel()
        self.symbols_note.setWordWrap(True)
        rules.addWidget(self.symbols_note)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("symbol_table")
        self.table.setHorizontalHeaderLabels(["Master symbol", "Slave symbol", "How"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        self.table.setItemDelegateForColumn(self.SLAVE_COL,
                                            _SymbolDelegate(lambda: wizard.draft.slave_symbols, self.table))
        self.table.itemChanged.connect(self._on_item_changed)
        rules.addWidget(self.table, 1)
        layout.addWidget(self.rules_box, 1)
        self.error = _error_label()
        layout.addWidget(self.error)

        self.role_group.buttonToggled.connect(lambda *_: self._on_role())
        self.sizing_mode.currentIndexChanged.connect(lambda *_: self._on_sizing())
        self.account_id.textChanged.connect(lambda *_: _show_error(self.error, ""))
        self._on_sizing()

    def initializePage(self) -> None:
        wizard, draft = self._wizard, self._wizard.draft
        if self.role_group.checkedButton() is None:
            has_master = wizard.existing_master is not None or wizard.master_symbols is not None
            (self.slave if has_master else self.master).setChecked(True)
        state = draft.account
        suggested = wizard.suggest_id(draft.server or "account", draft.login)
        # Follow the account when the user has not typed an id of their own.
        if not self.account_id.text() or self.account_id.text() == self._suggested_id:
            self.account_id.setText(suggested)
        self._suggested_id = suggested
        if not self.label.text() and state is not None:
            self.label.setText(f"{state.company} {state.login}")
        self._fill_symbols()
        self._on_role()
        _show_error(self.error, "")

    def role(self) -> str:
        return "master" if self.master.isChecked() else "slave"

    def _on_role(self) -> None:
        self.rules_box.setVisible(self.role() == "slave")
        _show_error(self.error, "")

    def _on_sizing(self) -> None:
        fixed = self.sizing_mode.currentData() == SizingMode.FIXED_LOT
        self.multiplier.setEnabled(not fixed)
        self.lots.setEnabled(fixed)

    # -- the symbol preview
    def _fill_symbols(self) -> None:
        master = self._wizard.master_symbols
        slave = self._wizard.draft.slave_symbols
        kept = self.aliases(valid_only=False)
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self._auto.clear()
        if master is None:
            self.symbols_note.setText("Link the master first to preview how its symbols map to this "
                                      "account's; until then the map is detected when copying starts.")
        else:
            symbol_map = SymbolMap(slave, SymbolMapping())
            self.symbols_note.setText(
                f"This broker's symbols {_affix_text(symbol_map.prefix, symbol_map.suffix)}. "
                "Double-click a slave symbol to correct the map.")
            for name in master:
                resolution = symbol_map.resolve(name)
                self._auto[name] = resolution.slave_symbol
                row = self.table.rowCount()
                self.table.insertRow(row)
                master_item = QTableWidgetItem(name)
                master_item.setFlags(master_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                slave_item = QTableWidgetItem(kept.get(name, resolution.slave_symbol or ""))
                how_item = QTableWidgetItem()
                how_item.setFlags(how_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, self.MASTER_COL, master_item)
                self.table.setItem(row, self.SLAVE_COL, slave_item)
                self.table.setItem(row, self.HOW_COL, how_item)
                self._describe(row, resolution.how, resolution.candidates)
        self.table.blockSignals(False)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == self.SLAVE_COL:
            self._describe(item.row())
            _show_error(self.error, "")

    def _describe(self, row: int, how: str | None = None, candidates: Iterable[str] = ()) -> None:
        master = self.table.item(row, self.MASTER_COL).text()
        chosen = self.table.item(row, self.SLAVE_COL).text().strip()
        auto = self._auto.get(master)
        slave_symbols = set(self._wizard.draft.slave_symbols)
        if chosen and chosen != auto:
            text = "your choice" if chosen in slave_symbols else "not a symbol at this broker"
        elif auto is not None:
            text = {"exact": "same name", "affix": "broker's suffix/prefix",
                    "known alias": "known alias"}.get(how or "", "detected")
        else:
            hint = f"; closest: {', '.join(candidates)}" if candidates else ""
            text = f"no match: not copied unless you choose one{hint}"
        # Restores the caller's blocking: _fill_symbols describes rows while signals are blocked.
        was_blocked = self.table.blockSignals(True)
        self.table.item(row, self.HOW_COL).setText(text)
        self.table.blockSignals(was_blocked)

    def aliases(self, *, valid_only: bool = True) -> dict[str, str]:
        """The user's corrections: master symbol -> slave symbol where it differs from the detected."""
        slave_symbols = set(self._wizard.draft.slave_symbols)
        chosen = {}
        for row in range(self.table.rowCount()):
            master = self.table.item(row, self.MASTER_COL).text()
            slave = self.table.item(row, self.SLAVE_COL).text().strip()
            if slave and slave != self._auto.get(master) and (slave in slave_symbols or not valid_only):
                chosen[master] = slave
        return chosen

    def _unknown_symbols(self) -> list[str]:
        slave_symbols = set(self._wizard.draft.slave_symbols)
        return [f"{m} -> {s}" for m, s in self.aliases(valid_only=False).items() if s not in slave_symbols]

    def validatePage(self) -> bool:
        wizard, draft = self._wizard, self._wizard.draft
        account_id = self.account_id.text().strip()
        problem = account_setup.account_id_problem(account_id, wizard.existing_ids)
        if problem:
            _show_error(self.error, problem)
            return False
        role = self.role()
        problem = account_setup.master_problem(role, wizard.existing_master)
        if problem:
            _show_error(self.error, f"{problem}, or unlink that master first.")
            return False
        rules = None
        if role == "slave":
            unknown = self._unknown_symbols()
            if unknown:
                _show_error(self.error, "These slave symbols are not at this broker: "
                                        f"{', '.join(unknown)}. Choose one from the list.")
                return False
            mode = self.sizing_mode.currentData()
            try:
                rules = CopyRules(sizing=Sizing(mode=mode, multiplier=self.multiplier.value(),
                                                lots=self.lots.value()),
                                  symbols=SymbolMapping(aliases=self.aliases()))
            except ValidationError as exc:
                _show_error(self.error, "; ".join(e["msg"] for e in exc.errors(include_url=False)))
                return False
        draft.role = role
        draft.account_id = account_id
        draft.label = self.label.text().strip()
        draft.rules = rules
        return True


def _affix_text(prefix: str, suffix: str) -> str:
    if prefix and suffix:
        return f"start with '{prefix}' and end with '{suffix}'"
    if suffix:
        return f"end with '{suffix}'"
    if prefix:
        return f"start with '{prefix}'"
    return "use plain names"


# ---------------------------------------------------------------------------- 6. finish

class FinishPage(QWizardPage):
    def __init__(self, wizard: LinkAccountWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Finish")
        self.setSubTitle("Check the account, then press Finish to link it.")
        self.setFinalPage(True)
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.error = _error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.settings: AccountSettings | None = None

    def initializePage(self) -> None:
        _show_error(self.error, "")
        try:
            self.settings = self._wizard.build_settings()
        except ValidationError as exc:
            self.settings = None
            _show_error(self.error, "; ".join(e["msg"] for e in exc.errors(include_url=False)))
            self.summary.setText("")
        else:
            self.summary.setText(_summary(self.settings, self._wizard.draft))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.settings is not None


def _summary(account: AccountSettings, draft: _Draft) -> str:
    platform = dict((key, title) for key, title, _ in PLATFORMS)[account.platform]
    lines = [f"Account id: {account.id}", f"Role: {account.role}", f"Platform: {platform}"]
    if account.platform == "demo":
        lines.append(f"Demo broker: {PROFILES[account.demo_profile].company}")
    else:
        lines.append(f"Terminal: {account.terminal_path}")
    if account.platform == "mt5_bridge":
        lines.append(f"Bridge: {account.bridge_host}:{account.bridge_port}")
    lines.append(f"Login: {account.login} at {account.server}")
    if draft.account is not None:
        lines.append(f"Company: {draft.account.company}; {draft.account.currency}; "
                     f"{'hedging' if draft.account.hedging else 'netting'}")
    lines.append("Password: " + ("kept in the system keyring" if draft.secret_key
                                 else "the one saved in the terminal"))
    if account.rules is not None:
        sizing = account.rules.sizing
        how = (f"{sizing.lots:g} lots per copy" if sizing.mode == SizingMode.FIXED_LOT
               else f"{_SIZING_LABELS[sizing.mode].lower().replace('multiplier', f'{sizing.multiplier:g}')}")
        lines.append(f"Sizing: {how}")
        aliases = account.rules.symbols.aliases
        lines.append("Symbol corrections: " + (", ".join(f"{m} -> {s}" for m, s in aliases.items())
                                               if aliases else "none (detected automatically)"))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the wizard

class LinkAccountWizard(QWizard):
    """Links one account. Open it with ``open()``; ``accountLinked`` carries the result.

    ``master_symbols`` (the master's symbol names) enables the symbol preview for a slave;
    ``existing_ids`` are ids already taken; ``existing_master`` is the linked master's id, if any.
    Cancelling removes any password this wizard put in the keyring for an account it did not link.
    """

    accountLinked = Signal(object)  # AccountSettings

    PLATFORM_PAGE, TERMINAL_PAGE, LOGIN_PAGE, TEST_PAGE, ROLE_PAGE, FINISH_PAGE = range(6)

    def __init__(self, parent: QWidget | None = None, *, master_symbols: Sequence[str] | None = None,
                 existing_ids: Iterable[str] = (), clock: Clock | None = None,
                 discover: Callable[[], Iterable[DiscoveredTerminal]] = discover_terminals,
                 existing_master: str | None = None) -> None:
        super().__init__(parent)
        self.master_symbols = list(master_symbols) if master_symbols is not None else None
        self.existing_ids = frozenset(existing_ids)
        self.existing_master = existing_master
        self.clock = clock or SYSTEM_CLOCK
        self.discover = discover
        self.draft = _Draft()
        self.linked: AccountSettings | None = None
        # Keys this wizard stored a password under that had none before: removed again unless
        # they end up belonging to the linked account.
        self._created_keys: set[str] = set()
        self.setWindowTitle("Link an account")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setMinimumSize(640, 520)
        self.platform_page = PlatformPage(self)
        self.terminal_page = TerminalPage(self)
        self.login_page = LoginPage(self)
        self.test_page = TestPage(self)
        self.role_page = RolePage(self)
        self.finish_page = FinishPage(self)
        for page_id, page in enumerate((self.platform_page, self.terminal_page, self.login_page,
                                        self.test_page, self.role_page, self.finish_page)):
            self.setPage(page_id, page)
        self.setStartId(self.PLATFORM_PAGE)

    # -- used by the pages
    def issue_demo_login(self, profile: str) -> int:
        """The login a demo broker gives a new account: in the same range real brokers use."""
        return account_setup.issue_demo_login(profile, self.clock)

    def suggest_id(self, server: str, login: int | None) -> str:
        return account_setup.suggest_id(server, login, self.existing_ids)

    def password_stored(self, key: str | None, *, created: bool) -> None:
        previous = self.draft.secret_key
        if created and key is not None:
            self._created_keys.add(key)
        if previous is not None and previous != key:
            self._forget(previous)
        self.draft.secret_key = key

    def bridge_secret_stored(self, key: str, *, created: bool) -> None:
        """The bridge's secret is in the keyring under ``key``; one this wizard added is removed
        again unless the account is linked."""
        previous = self.draft.bridge_secret_key
        if created:
            self._created_keys.add(key)
        if previous is not None and previous != key:
            self._forget(previous)
        self.draft.bridge_secret_key = key

    def test_account(self) -> AccountSettings:
        """The account as known before its role: what the connection test connects."""
        draft = self.draft
        return AccountSettings(
            id=_TEST_ID, role="slave", platform=draft.platform, terminal_path=draft.terminal_path,
            login=draft.login, server=draft.server, bridge_host=draft.bridge_host,
            bridge_port=draft.bridge_port, demo_profile=draft.demo_profile)

    def build_settings(self) -> AccountSettings:
        draft = self.draft
        return AccountSettings(
            id=draft.account_id, role=draft.role, platform=draft.platform,
            terminal_path=draft.terminal_path, login=draft.login, server=draft.server,
            bridge_host=draft.bridge_host, bridge_port=draft.bridge_port,
            demo_profile=draft.demo_profile, label=draft.label, rules=draft.rules)

    # -- closing
    def accept(self) -> None:
        settings = self.finish_page.settings
        if settings is None:
            return
        self.linked = settings
        self._created_keys.discard(self.draft.secret_key or "")
        if settings.platform == "mt5_bridge":
            self._created_keys.discard(self.draft.bridge_secret_key or "")
        self.accountLinked.emit(settings)
        super().accept()

    def done(self, result: int) -> None:
        self.test_page.stop()
        if self.linked is None:
            # Cancelled: a password stored for an account that was never linked is removed again.
            self.draft.secret_key = None
            self.draft.bridge_secret_key = None
        for key in list(self._created_keys):
            self._forget(key)
        super().done(result)

    def _forget(self, key: str) -> None:
        if key not in self._created_keys:
            return  # it was there before this wizard: it belongs to an account already linked
        self._created_keys.discard(key)
        try:
            secrets.delete_password(key)
        except secrets.SecretsUnavailable as exc:
            log.warning("could not remove an unused password from the keyring: %s", exc.message)
