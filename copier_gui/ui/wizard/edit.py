"""Editing a linked account, while the copier may run: label, terminal, login and password.

Built from the wizard's parts (the terminal panel, the login form, the connection test) over the
same draft. The account id and role stay as they are ("Set as master" in the accounts menu changes
the master); the rules are edited in the rules editor, which ``rulesRequested`` asks for. A typed
password replaces the keyring's only when the edit is saved, so Cancel leaves everything as it
was; ``accountEdited`` says whether it did, and never carries it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from copier_gui import account_setup, secrets
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5.discovery import DiscoveredTerminal, discover_terminals
from copier_gui.core.rules import CopyRules
from copier_gui.settings import AccountSettings
from copier_gui.ui.wizard import remote_test
from copier_gui.ui.wizard.common import error_label, show_error
from copier_gui.ui.wizard.connection_page import ConnectionTestPanel, where
from copier_gui.ui.wizard.draft import (
    CTRADER_PLATFORM,
    PLATFORMS,
    AccountDraft,
    DraftInvalid,
    sizing_text,
)
from copier_gui.ui.wizard.keyring_cleanup import KeyringCleanup
from copier_gui.ui.wizard.login_page import LoginForm
from copier_gui.ui.wizard.terminal_page import TerminalPanel

__all__ = ["EditAccountDialog"]

log = logging.getLogger(__name__)


class EditAccountDialog(QDialog):
    """Edits ``account``. Open it with ``open()`` (it never blocks the window).

    ``accounts`` are the linked accounts (the edited one may be among them): a demo account moved
    to another broker gets a login none of them has, and a keyring entry none of them uses is
    removed once the account no longer needs it. Signals:

    - ``accountEdited(AccountSettings, bool)``: saved; the bool is True when a new password was
      typed (it is already in the keyring). The id never changes. The rules, ``copy_enabled`` and
      ``magic`` are the account's as opened (or as given to ``set_rules``).
    - ``rulesRequested(str)``: the trader asked to edit this account's rules (its id).
    """

    accountEdited = Signal(object, bool)
    rulesRequested = Signal(str)

    def __init__(self, account: AccountSettings, parent: QWidget | None = None, *,
                 accounts: Iterable[AccountSettings] = (), clock: Clock | None = None,
                 discover: Callable[[], Iterable[DiscoveredTerminal]] = discover_terminals) -> None:
        super().__init__(parent)
        self.original = account
        self.accounts = list(accounts)
        self.clock = clock or SYSTEM_CLOCK
        self.draft = AccountDraft.from_settings(account, self.accounts)
        self.edited: AccountSettings | None = None
        self._keyring = KeyringCleanup()
        self._issued: dict[str, int] = {}  # demo logins issued per broker while the dialog is open
        self._shown_platform = account.platform
        self.setWindowTitle(f"Edit account {account.id}")
        self.setObjectName("edit_account")

        # -- left: the account and its terminal
        account_box = QGroupBox("Account")
        account_form = QFormLayout(account_box)
        self.account_id = QLineEdit(account.id)
        self.account_id.setObjectName("account_id")
        self.account_id.setReadOnly(True)
        self.account_id.setToolTip("An account's id stays as it is: the journal and its copies' tags use it.")
        self.role = QLabel("Master: its trades are copied" if account.role == "master"
                           else "Slave: copies the master")
        # The role is changed where the master is changed, for every account at once.
        self.role_note = QLabel('To make this account the master, choose "Set as master" on it in '
                                "the accounts menu." if account.role == "slave" else
                                'To copy from another account, choose "Set as master" on it in the '
                                "accounts menu.")
        self.role_note.setWordWrap(True)
        self.label = QLineEdit(account.label)
        self.label.setObjectName("label")
        account_form.addRow("Account id:", self.account_id)
        account_form.addRow("Role:", self.role)
        account_form.addRow("", self.role_note)
        account_form.addRow("Label:", self.label)

        terminal_box = QGroupBox("Terminal")
        terminal_layout = QVBoxLayout(terminal_box)
        platform_row = QFormLayout()
        self.platform = QComboBox()
        self.platform.setObjectName("platform")
        for key, title, _text in PLATFORMS if account.platform != "ctrader" else (CTRADER_PLATFORM,):
            self.platform.addItem(title, key)
        platform_row.addRow("Platform:", self.platform)
        terminal_layout.addLayout(platform_row)
        self.terminal = TerminalPanel(discover, bridge_host=account.bridge_host, bridge_port=account.bridge_port,
                                      bridge_kind=account.bridge_kind)
        self.terminal.terminal_list.setMaximumHeight(110)
        self.terminal.path.setText(account.terminal_path or "")
        self.terminal.select_profile(account.demo_profile)
        terminal_layout.addWidget(self.terminal, 1)
        # A cTrader account was chosen from what a sign-in listed: it is shown here, and a trader who
        # wants another account (or to sign in again) unlinks it and links it again.
        self.ctrader_info = QLabel()
        self.ctrader_info.setObjectName("ctrader_info")
        self.ctrader_info.setWordWrap(True)
        self.ctrader_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        terminal_layout.addWidget(self.ctrader_info)
        self.ctrader_info.hide()

        left = QVBoxLayout()
        left.addWidget(account_box)
        left.addWidget(terminal_box, 1)

        # -- right: login, rules, the connection test
        login_box = QGroupBox("Login")
        login_layout = QVBoxLayout(login_box)
        self.login_form = LoginForm()
        self.login_form.login.setText("" if account.login is None else str(account.login))
        self.login_form.server.setText(account.server or "")
        login_layout.addWidget(self.login_form)

        self.rules_box = QGroupBox("Copy rules")
        rules_layout = QVBoxLayout(self.rules_box)
        self.rules_summary = QLabel()
        self.rules_summary.setObjectName("rules_summary")
        self.rules_summary.setWordWrap(True)
        self.rules_button = QPushButton("Edit copy rules…")
        self.rules_button.setObjectName("edit_rules")
        self.rules_button.setToolTip("Opens the rules editor; rules saved there apply while copying.")
        self.rules_button.clicked.connect(lambda: self.rulesRequested.emit(account.id))
        rules_layout.addWidget(self.rules_summary)
        rules_row = QHBoxLayout()
        rules_row.addWidget(self.rules_button)
        rules_row.addStretch(1)
        rules_layout.addLayout(rules_row)
        self.rules_box.setVisible(account.role == "slave")

        test_box = QGroupBox("Connection test")
        test_layout = QVBoxLayout(test_box)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("test_connection")
        self.test_button.setToolTip("Connects with what is entered here, reads the account, and "
                                    "disconnects; nothing is saved.")
        self.test_button.clicked.connect(self.start_test)
        self.test = ConnectionTestPanel()
        self.test.retry.hide()  # the button above runs it again, with what is entered then
        self.test.status.setText("Not tested. Saving does not need a test: the copier reconnects "
                                 "the account and says if it cannot.")
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        test_layout.addLayout(test_row)
        test_layout.addWidget(self.test)

        right = QVBoxLayout()
        right.addWidget(login_box)
        right.addWidget(self.rules_box)
        right.addWidget(test_box)
        if account.platform == "ctrader":
            self._show_ctrader(account, (login_box, test_box))
        elif self.draft.remote:
            self._show_worker_host(account)
        right.addStretch(1)

        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        self.error = error_label()
        self.error.setObjectName("edit_error")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self._show_rules()
        self.platform.setCurrentIndex(self.platform.findData(account.platform))
        if account.platform != "ctrader":
            self.terminal.show_platform(account.platform)
        self._explain_login()
        self.platform.currentIndexChanged.connect(lambda *_: self._on_platform())
        self.terminal.profiles.currentItemChanged.connect(lambda *_: self._on_profile())
        for edit in (self.label, self.login_form.login, self.login_form.server, self.terminal.path):
            edit.textChanged.connect(lambda *_: show_error(self.error, ""))
        self._fit()

    # ------------------------------------------------------------------ opening
    def open(self) -> None:
        """Show without blocking anything: QDialog.open() would make the dialog window-modal, and
        the window's global switch must stay in reach while an account is edited."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.show()
        self.raise_()
        self.activateWindow()

    def _fit(self) -> None:
        # Roomy where there is room, never past the screen (a 1366x768 laptop included).
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        width, height = 960, 640
        if available is not None:
            width = min(width, available.width() - 40)
            height = min(height, available.height() - 60)
        self.resize(width, height)

    def _show_ctrader(self, account: AccountSettings, hidden: tuple[QWidget, ...]) -> None:
        self.platform.setEnabled(False)
        self.terminal.hide()
        for widget in hidden:
            widget.hide()
        kind = ("live" if account.ctrader_host.startswith("live.") else "demo"
                if account.ctrader_host.startswith("demo.") else "")
        self.ctrader_info.setText(
            f"Account {account.login} at {account.server or 'its broker'}{f' ({kind})' if kind else ''}\n"
            f"ctidTraderAccountId {account.ctrader_account_id} on {account.ctrader_host}:{account.ctrader_port}\n"
            f"Open API application {account.ctrader_client_id}; its secret and the cTrader tokens are in the "
            "system keyring.\n\nTo use another account or sign in again, unlink this one and link it again.")
        self.ctrader_info.show()

    def _show_worker_host(self, account: AccountSettings) -> None:
        # The terminal is the worker host's (its own settings say where): nothing of it to edit here,
        # and where the worker runs is set with `accounts link`, as account_changes keeps it.
        self.platform.setEnabled(False)
        self.terminal.hide()
        options = account.nats.options()
        user = f", NATS user {options.user} (password in the system keyring)" if options.user else ""
        self.ctrader_info.setText(
            f"The terminal runs on a worker host, reached through the NATS server {options.url} "
            f"(instance {options.instance}{user}). Its path and the account's password are that computer's.")
        self.ctrader_info.show()
        self.ctrader_info.parentWidget().layout().addStretch(1)  # under the platform, not mid-box

    def set_rules(self, rules: CopyRules) -> None:
        """The account's rules were saved in the rules editor: show them, and save them with it."""
        self.draft.keep_rules(rules)
        self._show_rules()

    def _show_rules(self) -> None:
        if self.original.role != "slave":
            return
        rules = self.draft.base_rules
        aliases = rules.symbols.aliases
        corrections = (", ".join(f"{m} -> {s}" for m, s in aliases.items()) if aliases
                       else "none (detected automatically)")
        self.rules_summary.setText(f"Sizing: {sizing_text(rules)}\nSymbol corrections: {corrections}\n"
                                   f"Copy trades open at start: {'yes' if rules.copy_existing else 'no'}")

    # ------------------------------------------------------------------ following the fields
    def _on_platform(self) -> None:
        platform = self.platform.currentData()
        previous, self._shown_platform = self._shown_platform, platform
        self.terminal.show_platform(platform)
        if platform == "demo":
            self._on_profile()
        elif previous == "demo":
            # A demo broker's login means nothing to a terminal: start from the account's own.
            original = self.original if self.original.platform != "demo" else None
            self.login_form.login.setText(str(original.login) if original and original.login else "")
            self.login_form.server.setText(original.server if original and original.server else "")
        self._explain_login()
        show_error(self.error, "")

    def _on_profile(self) -> None:
        profile = self.terminal.selected_profile()
        if self.platform.currentData() != "demo" or profile is None:
            return
        if self.original.platform == "demo" and profile == self.original.demo_profile:
            login = self.original.login
        else:
            # Another simulated broker opens a new account there, as it does in the wizard.
            if profile not in self._issued:
                taken = [a.login for a in self.accounts if a.demo_profile == profile and a.login is not None]
                self._issued[profile] = account_setup.issue_demo_login(profile, self.clock, taken)
            login = self._issued[profile]
        self.login_form.login.setText("" if login is None else str(login))
        self.login_form.server.setText(account_setup.demo_server(profile))

    def _explain_login(self) -> None:
        try:
            saved = secrets.get_password(account_setup.account_password_key(self.original)) is not None
        except secrets.SecretsUnavailable:
            saved = False
        if self.draft.remote:
            self.login_form.explain(demo=False, saved=False, worker_host=self.original.id,
                                    platform=self.original.platform, nats_url=self.draft.nats_url)
            return
        self.login_form.explain(demo=self.platform.currentData() == "demo", saved=saved)

    def _collect(self) -> AccountDraft:
        """The draft, with what the fields say now."""
        draft = self.draft
        draft.label = self.label.text().strip()
        if self.original.platform == "ctrader":
            return draft  # nothing else of a cTrader account is edited here
        draft.platform = self.platform.currentData()
        draft.terminal_path = self.terminal.path.text().strip()
        draft.bridge_host = self.terminal.bridge_host.text().strip()
        draft.bridge_port = self.terminal.bridge_port.value()
        if draft.platform == "mt5_bridge":
            draft.bridge_kind = self.terminal.selected_bridge_kind()
        draft.demo_profile = self.terminal.selected_profile() if draft.demo else None
        draft.login = self.login_form.login.text().strip()
        draft.server = self.login_form.server.text().strip()
        return draft

    def _field_widget(self, name: str) -> QWidget | None:
        return {"label": self.label, "platform": self.platform, "terminal_path": self.terminal.path,
                "bridge_host": self.terminal.bridge_host, "bridge_port": self.terminal.bridge_port,
                "bridge_kind": self.terminal.bridge_kind,
                "demo_profile": self.terminal.profiles, "login": self.login_form.login,
                "server": self.login_form.server, "password": self.login_form.password,
                }.get(name, self.rules_button)

    def _refuse(self, problems: dict[str, str]) -> None:
        name, text = next(iter(problems.items()))
        show_error(self.error, text)
        widget = self._field_widget(name)
        if widget is not None and widget.isVisible():
            widget.setFocus()

    def _pair_bridge(self, draft: AccountDraft) -> bool:
        """For the bridge, a pasted secret goes to the keyring, or one must be there already."""
        if draft.platform != "mt5_bridge" or draft.bridge_kind != "copier":
            return True  # an mt5linux server has no shared secret
        paired = self.terminal.pair_bridge(draft.bridge_host, draft.bridge_port)
        if paired is None:
            return False
        key, created = paired
        self._keyring.stored(key, created=created, replacing=self.draft.bridge_secret_key)
        self.draft.bridge_secret_key = key
        return True

    # ------------------------------------------------------------------ the connection test
    def start_test(self) -> None:
        """Test what is entered now, typed password included, without saving anything."""
        show_error(self.error, "")
        draft = self._collect()
        if draft.ctrader_demo:
            self.test.status.setText("A simulated cTrader broker is not tested here: the copier connects to it "
                                     "when it starts, and says if it cannot.")
            return
        problems = {**draft.terminal_problems(), **draft.login_problems()}
        if problems:
            self._refuse(problems)
            return
        if draft.remote:
            # As the runtime reaches it: through the NATS server to the worker host's worker.
            self.test.start(lambda: remote_test.open_remote_test(draft.test_settings(), self.clock),
                            f"account {draft.login} at {draft.server} through {where(draft)}",
                            remote_test.run_remote_test)
            return
        if not self._pair_bridge(draft):
            return
        try:
            password = self._password_for(draft)
        except secrets.SecretsUnavailable as exc:
            show_error(self.error, exc.message)
            return
        self.test.start(
            lambda: account_setup.open_test_connection(draft.test_settings(), self.clock, password=password),
            f"account {draft.login} at {draft.server} through {where(draft)}")

    def _password_for(self, draft: AccountDraft) -> str | None:
        """The password a test sends: the one typed, else the one saved (under the account's key
        as it was, when the login or server changed), else None for the terminal's own."""
        typed = self.login_form.password.text()
        if typed:
            return typed
        key = account_setup.account_password_key(draft.test_settings())
        return secrets.get_password(key) or secrets.get_password(
            account_setup.account_password_key(self.original))

    # ------------------------------------------------------------------ saving and closing
    def save(self) -> None:
        show_error(self.error, "")
        draft = self._collect()
        try:
            account = draft.to_settings()
        except DraftInvalid as exc:
            self._refuse(exc.problems)
            return
        if not draft.remote and not self._pair_bridge(draft):
            return
        if account.platform == "ctrader" or draft.ctrader_demo or draft.remote:
            # No password: a cTrader account's secrets stay as the sign-in left them, and a worker
            # host's account has its password in that computer's keyring.
            self.edited = account
            self.accountEdited.emit(account, False)
            self.accept()
            return
        old_key = account_setup.account_password_key(self.original)
        new_key = account_setup.account_password_key(account)
        typed = self.login_form.password.text()
        try:
            if typed:
                secrets.store_password(new_key, typed)
            elif new_key != old_key and secrets.get_password(new_key) is None:
                # Left empty keeps the saved password, under the login and server it now has.
                kept = secrets.get_password(old_key)
                if kept is not None:
                    secrets.store_password(new_key, kept)
                del kept
            if draft.demo and not typed and secrets.get_password(new_key) is None:
                self._refuse({"password": "Choose a password for the demo account: the simulated "
                                          "broker checks it like a real one."})
                return
        except secrets.SecretsUnavailable as exc:
            show_error(self.error, exc.message)
            return
        password_changed = bool(typed)
        self.login_form.password.clear()
        del typed
        self.edited = account
        self._keyring.keep(self.draft.bridge_secret_key)
        self.accountEdited.emit(account, password_changed)
        if new_key != old_key:
            self._forget_unused(old_key)
        self.accept()

    def _forget_unused(self, key: str) -> None:
        """The account no longer reads ``key``: remove it unless another linked account does."""
        others = {account_setup.account_password_key(a) for a in self.accounts if a.id != self.original.id}
        if key in others:
            return
        try:
            secrets.delete_password(key)
        except secrets.SecretsUnavailable as exc:
            log.warning("could not remove an unused password from the keyring: %s", exc.message)

    def done(self, result: int) -> None:
        self.test.stop()
        self.login_form.password.clear()
        self._keyring.forget_all()  # a bridge secret added for an edit that was not saved
        super().done(result)
