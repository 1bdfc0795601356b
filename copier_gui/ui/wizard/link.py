"""The account-linking wizard: platform, terminal, login, a live connection test, role and rules;
or, for a cTrader account, the sign-in and the account chosen in place of terminal, login and test.

Its product is one AccountSettings, emitted as ``accountLinked`` for the window to save. It may
be opened while the copier runs, beside a master and slaves already linked. The password goes
straight to the keyring (a cTrader application's secret and tokens at Finish); the connection test
and the cTrader sign-in run as tasks on the qasync loop.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget, QWizard

from copier_gui import account_setup
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5.discovery import DiscoveredTerminal, discover_terminals
from copier_gui.ctrader_auth import DEFAULT_ENDPOINTS, Endpoints
from copier_gui.settings import AccountSettings
from copier_gui.ui.wizard import common
from copier_gui.ui.wizard.connection_page import ConnectionTestPage
from copier_gui.ui.wizard.ctrader_page import CTraderPage
from copier_gui.ui.wizard.draft import AccountDraft
from copier_gui.ui.wizard.finish_page import FinishPage
from copier_gui.ui.wizard.keyring_cleanup import KeyringCleanup
from copier_gui.ui.wizard.login_page import LoginPage
from copier_gui.ui.wizard.platform_page import PlatformPage
from copier_gui.ui.wizard.role_page import RolePage
from copier_gui.ui.wizard.terminal_page import TerminalPage
from copier_gui.ui.wizard.worker_host_page import WorkerHostPage

__all__ = ["LinkAccountWizard"]


class LinkAccountWizard(QWizard):
    """Links one account. Open it with ``open()``; ``accountLinked`` carries the result.

    ``accounts`` are the accounts already linked (their ids are taken, their master is the master,
    their demo logins are not issued again); ``existing_ids`` and ``existing_master`` add to them.
    ``master_symbols`` (the master's symbol names, when it is connected) enables the symbol
    preview for a slave. Cancelling removes any password this wizard put in the keyring for an
    account it did not link. ``ctrader_endpoints`` says where cTrader's sign-in and Open API are
    (Spotware's by default; the demo and tests give simulated ones) and ``open_browser`` opens the
    sign-in page (``webbrowser.open`` by default).
    """

    accountLinked = Signal(object)  # AccountSettings

    PLATFORM_PAGE, TERMINAL_PAGE, LOGIN_PAGE, TEST_PAGE, ROLE_PAGE, FINISH_PAGE, CTRADER_PAGE = (
        common.PLATFORM_PAGE, common.TERMINAL_PAGE, common.LOGIN_PAGE, common.TEST_PAGE, common.ROLE_PAGE,
        common.FINISH_PAGE, common.CTRADER_PAGE)
    WORKER_HOST_PAGE = common.WORKER_HOST_PAGE

    def __init__(self, parent: QWidget | None = None, *, accounts: Iterable[AccountSettings] = (),
                 master_symbols: Sequence[str] | None = None, existing_ids: Iterable[str] = (),
                 clock: Clock | None = None,
                 discover: Callable[[], Iterable[DiscoveredTerminal]] = discover_terminals,
                 existing_master: str | None = None, ctrader_endpoints: Endpoints = DEFAULT_ENDPOINTS,
                 open_browser: Callable[[str], bool] | None = None) -> None:
        super().__init__(parent)
        self.ctrader_endpoints = ctrader_endpoints
        self._open_browser = open_browser
        self.accounts = list(accounts)
        self.master_symbols = list(master_symbols) if master_symbols is not None else None
        self.clock = clock or SYSTEM_CLOCK
        self.discover = discover
        self.draft = AccountDraft.for_new_account(self.accounts, taken_ids=existing_ids,
                                                  master_id=existing_master)
        self.linked: AccountSettings | None = None
        self._keyring = KeyringCleanup()
        self.setWindowTitle("Link an account")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setMinimumSize(640, 520)
        self.platform_page = PlatformPage(self)
        self.terminal_page = TerminalPage(self)
        self.login_page = LoginPage(self)
        self.test_page = ConnectionTestPage(self)
        self.role_page = RolePage(self)
        self.finish_page = FinishPage(self)
        self.ctrader_page = CTraderPage(self)
        self.worker_host_page = WorkerHostPage(self)
        self._nats_password_key: str | None = None
        for page_id, page in enumerate((self.platform_page, self.terminal_page, self.login_page,
                                        self.test_page, self.role_page, self.finish_page, self.ctrader_page,
                                        self.worker_host_page)):
            self.setPage(page_id, page)
        self.setStartId(self.PLATFORM_PAGE)

    @property
    def existing_ids(self) -> frozenset[str]:
        return self.draft.taken_ids

    @property
    def existing_master(self) -> str | None:
        return self.draft.master_id

    def open(self) -> None:
        """Show without blocking anything: QDialog.open() would make the wizard window-modal, and
        the window's global switch must stay in reach while an account is linked beside copying."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.show()
        self.raise_()
        self.activateWindow()

    # -- used by the pages
    def open_browser(self, url: str) -> bool:
        """Open ``url`` in the trader's browser (called off the loop: launchers may wait)."""
        if self._open_browser is not None:
            return self._open_browser(url)
        return webbrowser.open(url)

    def issue_demo_login(self, profile: str) -> int:
        """The login a demo broker gives a new account: in the range real brokers use, and not one
        an account linked at that broker already has."""
        taken = [a.login for a in self.accounts if a.demo_profile == profile and a.login is not None]
        return account_setup.issue_demo_login(profile, self.clock, taken)

    def suggest_id(self, server: str, login: int | None) -> str:
        return account_setup.suggest_id(server, login, self.existing_ids)

    def password_stored(self, key: str | None, *, created: bool) -> None:
        self._keyring.stored(key, created=created, replacing=self.draft.secret_key)
        self.draft.secret_key = key

    def bridge_secret_stored(self, key: str, created: bool) -> None:
        """The bridge's secret is in the keyring under ``key``; one this wizard added is removed
        again unless the account is linked."""
        self._keyring.stored(key, created=created, replacing=self.draft.bridge_secret_key)
        self.draft.bridge_secret_key = key

    def nats_password_stored(self, key: str, created: bool) -> None:
        """The NATS user's password is in the keyring under ``key``; one this wizard added is removed
        again unless the account is linked."""
        self._keyring.stored(key, created=created, replacing=self._nats_password_key)
        self._nats_password_key = key

    def test_account(self) -> AccountSettings:
        """The account as known before its role: what the connection test connects."""
        return self.draft.test_settings()

    def build_settings(self) -> AccountSettings:
        return self.draft.to_settings()

    # -- closing
    def accept(self) -> None:
        settings = self.finish_page.settings
        if settings is None or not self.finish_page.store_secrets():
            return
        self.linked = settings
        self._keyring.keep(self.draft.secret_key)
        if settings.platform == "mt5_bridge":
            self._keyring.keep(self.draft.bridge_secret_key)
        if settings.worker_host == "nats":
            self._keyring.keep(self._nats_password_key)
        self.accountLinked.emit(settings)
        super().accept()

    def done(self, result: int) -> None:
        self.test_page.stop()
        self.ctrader_page.stop()
        if self.linked is None:
            # Cancelled: a password stored for an account that was never linked is removed again.
            self.draft.secret_key = None
            self.draft.bridge_secret_key = None
        self._keyring.forget_all()
        super().done(result)
