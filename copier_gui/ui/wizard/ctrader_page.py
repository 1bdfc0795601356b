"""The wizard's "cTrader account" page: the Open API application, the trader's sign-in (in the
browser, or tokens pasted from the playground), and the account chosen from those it lists.

The sign-in and the listing run as tasks on the qasync loop (``copier_gui.ctrader_auth``); the
page shows their progress, a Cancel for the wait on the browser, and each failure in words. The
application secret and the tokens stay in the draft (out of its repr) until Finish stores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from copier_gui import ctrader_auth
from copier_gui.connectors.ctrader import AppCredentials, TokenPair
from copier_gui.ui.wizard.common import ROLE_PAGE, WizardHost, error_label, show_error

__all__ = ["CTraderPage"]

log = logging.getLogger(__name__)

_COLUMNS = ("Login", "Broker", "Live or demo", "Positions", "Balance")


class CTraderPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self.task: asyncio.Task | None = None
        self.flow: ctrader_auth.BrowserAuthorization | None = None
        self.setTitle("cTrader account")
        self.setSubTitle("Sign in with your cTrader ID to let copier_gui use one of your accounts, then "
                         "choose the account.")
        layout = QVBoxLayout(self)

        form = QFormLayout()
        self.client_id = QLineEdit()
        self.client_id.setObjectName("ctrader_client_id")
        self.client_id.setPlaceholderText("e.g. 12345_AbCdEf… (openapi.ctrader.com > Applications)")
        self.secret = QLineEdit()
        self.secret.setObjectName("ctrader_secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("the application's secret; it goes to the system keyring")
        self.port = QSpinBox()
        self.port.setObjectName("ctrader_redirect_port")
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("any free port")
        self.port.setMaximumWidth(180)
        self.port.setToolTip("The browser returns to http://127.0.0.1:PORT/callback: choose the port of a "
                             "redirect URI registered for the application, if it needs one.")
        form.addRow("Application id:", self.client_id)
        form.addRow("Application secret:", self.secret)
        form.addRow("Browser returns to port:", self.port)
        layout.addLayout(form)

        row = QHBoxLayout()
        self.sign_in = QPushButton("Sign in with cTrader in the browser…")
        self.sign_in.setObjectName("ctrader_sign_in")
        self.sign_in.clicked.connect(self.start_browser)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("ctrader_cancel")
        self.cancel.clicked.connect(self.stop)
        self.cancel.hide()
        row.addWidget(self.sign_in)
        row.addWidget(self.cancel)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("ctrader_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

        self.paste_box = QGroupBox("Or paste tokens from Spotware's playground")
        self.paste_box.setObjectName("ctrader_paste")
        self.paste_box.setCheckable(True)
        self.paste_box.setChecked(False)
        # The fields sit in a panel of their own, shown only while the box is ticked.
        box_layout = QVBoxLayout(self.paste_box)
        self.paste_fields = QWidget()
        box_layout.addWidget(self.paste_fields)
        paste = QFormLayout(self.paste_fields)
        paste.setContentsMargins(0, 0, 0, 0)
        self.access_token = QLineEdit()
        self.access_token.setObjectName("ctrader_access_token")
        self.refresh_token = QLineEdit()
        self.refresh_token.setObjectName("ctrader_refresh_token")
        for edit in (self.access_token, self.refresh_token):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setValidator(QRegularExpressionValidator(r"\S*", edit))
        self.use_tokens = QPushButton("Use these tokens")
        self.use_tokens.setObjectName("ctrader_use_tokens")
        self.use_tokens.clicked.connect(self.start_pasted)
        paste.addRow("Access token:", self.access_token)
        paste.addRow("Refresh token:", self.refresh_token)
        paste.addRow(self.use_tokens)
        self.paste_box.toggled.connect(self._on_paste_toggled)
        self._on_paste_toggled(False)
        layout.addWidget(self.paste_box)

        self.accounts = QTreeWidget()
        self.accounts.setObjectName("ctrader_accounts")
        self.accounts.setRootIsDecorated(False)
        self.accounts.setHeaderLabels(list(_COLUMNS))
        self.accounts.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.accounts.header().setStretchLastSection(True)
        self.accounts.currentItemChanged.connect(lambda *_: self._on_chosen())
        layout.addWidget(self.accounts, 1)
        self.error = error_label()
        self.error.setObjectName("ctrader_error")
        layout.addWidget(self.error)

        for edit in (self.client_id, self.secret):
            edit.textEdited.connect(self._on_credentials_edited)

    # ------------------------------------------------------------------ the page
    def initializePage(self) -> None:
        draft = self._wizard.draft
        if not self.client_id.text():
            self.client_id.setText(draft.ctrader_client_id)
        show_error(self.error, "")

    def cleanupPage(self) -> None:
        self.stop()
        show_error(self.error, "")

    def nextId(self) -> int:
        return ROLE_PAGE

    def isComplete(self) -> bool:
        return self.chosen() is not None and not self.running

    def validatePage(self) -> bool:
        draft = self._wizard.draft
        chosen = self.chosen()
        if chosen is None:
            return False
        draft.ctrader_account = chosen
        draft.login = str(chosen.login)
        draft.server = chosen.broker
        draft.slave_symbols = list(chosen.symbols)
        draft.account = None
        problems = draft.ctrader_problems()
        if problems:
            show_error(self.error, next(iter(problems.values())))
            return False
        return True

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def chosen(self) -> ctrader_auth.LinkableAccount | None:
        item = self.accounts.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    # ------------------------------------------------------------------ sign-in
    def start_browser(self) -> None:
        """Open cTrader's sign-in in the browser and wait for its answer, as a task; returns at once."""
        credentials = self._credentials()
        if credentials is None:
            return
        wizard = self._wizard
        self.flow = ctrader_auth.BrowserAuthorization(
            credentials, endpoints=wizard.ctrader_endpoints, opener=wizard.open_browser, port=self.port.value())
        self._begin("Opening cTrader's sign-in in your browser…", self._browser(credentials, self.flow), waiting=True)

    def start_pasted(self) -> None:
        """List the accounts of the pasted tokens, as a task."""
        credentials = self._credentials()
        if credentials is None:
            return
        try:
            tokens = ctrader_auth.pasted_tokens(self.access_token.text(), self.refresh_token.text(),
                                                clock=self._wizard.clock)
        except ctrader_auth.AuthFailed as exc:
            show_error(self.error, exc.message)
            return
        self.access_token.clear()
        self.refresh_token.clear()
        self._begin("Listing the accounts of these tokens…", self._list(credentials, tokens), waiting=False)

    def stop(self) -> None:
        """Cancel a sign-in or a listing in progress (the browser's answer is then ignored)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            self.status.setText("Cancelled. Sign in again when you are ready.")
        self.task = None
        self._set_busy(False)

    def _credentials(self) -> AppCredentials | None:
        draft = self._wizard.draft
        draft.ctrader_client_id = self.client_id.text().strip()
        draft.ctrader_secret = self.secret.text().strip()
        for problem in (ctrader_auth.client_id_problem(draft.ctrader_client_id),
                        ctrader_auth.client_secret_problem(draft.ctrader_secret)):
            if problem:
                show_error(self.error, problem)
                return None
        show_error(self.error, "")
        return AppCredentials(draft.ctrader_client_id, draft.ctrader_secret)

    def _begin(self, text: str, coro, *, waiting: bool) -> None:
        self.stop()
        self._forget_sign_in()
        self.status.setText(text)
        self._set_busy(True, waiting=waiting)
        # A reference is kept: the loop holds tasks only weakly, and Back, Cancel or closing cancels it.
        self.task = asyncio.ensure_future(self._guarded(coro))

    async def _guarded(self, coro) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failure nobody foresaw still gets an answer on the page
            log.exception("the cTrader sign-in failed")
            self._fail(f"The sign-in failed unexpectedly ({type(exc).__name__}); please report it.")

    async def _browser(self, credentials: AppCredentials, flow: ctrader_auth.BrowserAuthorization) -> None:
        run = asyncio.ensure_future(flow.run())
        try:
            waiting = asyncio.ensure_future(flow.waiting.wait())
            await asyncio.wait({run, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if flow.url is not None and not run.done():
                opened = ("Waiting for the browser… Sign in with your cTrader ID and allow access, then come "
                          "back here." if flow.browser_opened else "No browser could be opened.")
                self.status.setText(f"{opened} If the page did not open, open this address in a browser on this "
                                    f"computer:\n{flow.url}")
            tokens = await run
        except ctrader_auth.AuthFailed as exc:
            self._fail(exc.message)
            return
        finally:
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await run
        await self._list(credentials, tokens)

    async def _list(self, credentials: AppCredentials, tokens: TokenPair) -> None:
        self.status.setText("Signed in. Listing your accounts…")
        self.cancel.show()
        try:
            accounts = await ctrader_auth.list_accounts(credentials, tokens, endpoints=self._wizard.ctrader_endpoints)
        except ctrader_auth.AuthFailed as exc:
            self._fail(exc.message)
            return
        draft = self._wizard.draft
        draft.ctrader_tokens = tokens
        draft.ctrader_accounts = accounts
        self._show(accounts)
        self._set_busy(False)
        if accounts:
            self.status.setText(f"Signed in: {len(accounts)} account{'s' if len(accounts) != 1 else ''}. "
                                "Choose the one to link.")
        else:
            self._fail("The sign-in gives access to no account: sign in again and tick the accounts to link "
                       "on cTrader's consent page.")

    def _fail(self, message: str) -> None:
        self._set_busy(False)
        self.status.setText("Not signed in.")
        show_error(self.error, message)
        self.completeChanged.emit()

    def _show(self, accounts: list[ctrader_auth.LinkableAccount]) -> None:
        self.accounts.clear()
        for account in accounts:
            balance = f"{account.balance:,.2f}" if account.balance is not None else ""
            item = QTreeWidgetItem([str(account.login), account.broker_name or account.broker, account.kind,
                                    account.account_type or "unknown", balance])
            item.setData(0, Qt.ItemDataRole.UserRole, account)
            item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if account.problem:
                for column in range(len(_COLUMNS)):
                    item.setToolTip(column, account.problem)
            self.accounts.addTopLevelItem(item)
        if len(accounts) == 1:
            self.accounts.setCurrentItem(self.accounts.topLevelItem(0))
        self.completeChanged.emit()

    def _on_chosen(self) -> None:
        show_error(self.error, "")
        self.completeChanged.emit()

    def _on_credentials_edited(self, *_) -> None:
        # Tokens belong to the application that asked for them: another application signs in again.
        if self._wizard.draft.ctrader_tokens is not None and not self.running:
            self._forget_sign_in()
            self.status.setText("The application changed: sign in again.")

    def _forget_sign_in(self) -> None:
        draft = self._wizard.draft
        draft.ctrader_tokens = None
        draft.ctrader_accounts = []
        draft.ctrader_account = None
        self.accounts.clear()
        show_error(self.error, "")
        self.completeChanged.emit()

    def _on_paste_toggled(self, on: bool) -> None:
        self.paste_fields.setVisible(on)

    def _set_busy(self, busy: bool, *, waiting: bool = False) -> None:
        self.sign_in.setEnabled(not busy)
        self.use_tokens.setEnabled(not busy)
        self.cancel.setVisible(busy)
        self.cancel.setText("Cancel" if not waiting else "Cancel sign-in")
        self.completeChanged.emit()
