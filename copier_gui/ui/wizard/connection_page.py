"""Page 4 of the wizard, and the edit dialog's test: connect, read the account, disconnect.

The test runs as a task on the qasync loop (never blocking it); its terminal calls run on the
connection's own thread. ``ConnectionTestPanel`` shows its progress and what it read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from copier_gui import account_setup
from copier_gui.runtime import Connection
from copier_gui.ui.wizard import remote_test
from copier_gui.ui.wizard.common import WizardHost, error_label, money, show_error
from copier_gui.ui.wizard.draft import AccountDraft, DraftInvalid

# Opens the connection to test (nothing contacted yet), or raises ConnectionTestFailed, DraftInvalid.
ConnectionFactory = Callable[[], Connection]
# Runs the test on an opened connection and closes it; raises ConnectionTestFailed.
TestRunner = Callable[[Connection], Awaitable[account_setup.TestResult]]


def where(draft: AccountDraft) -> str:
    """What the test connects through, in words."""
    if draft.demo:
        known = not account_setup.demo_profile_problem(draft.demo_profile)
        return f"the demo broker {account_setup.demo_company(draft.demo_profile) if known else draft.demo_profile}"
    if draft.remote:
        return f"its worker host over NATS {draft.nats_url}"
    if draft.platform == "mt5_bridge":
        return f"the bridge at {draft.bridge_host}:{draft.bridge_port}"
    return f"the terminal {draft.terminal_path}"


class ConnectionTestPanel(QWidget):
    """Runs one connection test at a time; ``succeeded(TestResult)`` when it reads the account."""

    succeeded = Signal(object)  # account_setup.TestResult
    okChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ok = False
        self.task: asyncio.Task | None = None
        self._factory: ConnectionFactory | None = None
        self._run_test: TestRunner = account_setup.run_connection_test
        self._what = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
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
        self.error = error_label()
        self.error.setObjectName("test_error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        self.retry = QPushButton("Retry")
        self.retry.setObjectName("retry")
        self.retry.clicked.connect(self.restart)
        self.retry.setEnabled(False)
        row.addWidget(self.retry)
        row.addStretch(1)
        layout.addLayout(row)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, factory: ConnectionFactory, what: str,
              run: TestRunner = account_setup.run_connection_test) -> None:
        """Begin the test of the connection ``factory`` opens, as a task; returns at once.
        ``what`` says whose account it is and where ("account 5 at Broker through ..."); ``run``
        tests it (a worker host's connection closes differently from a terminal's)."""
        self._factory, self._what, self._run_test = factory, what, run
        self.restart()

    def restart(self) -> None:
        self.stop()
        self._set_ok(False)
        self.details.hide()
        show_error(self.error, "")
        self.retry.setEnabled(False)
        if self._factory is None:
            return
        try:
            connection = self._factory()
        except (account_setup.ConnectionTestFailed, DraftInvalid, ValidationError) as exc:
            self.fail(getattr(exc, "message", None) or str(exc))
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            connection.close()
            self.fail("The connection test needs the application's event loop, which is not "
                      "running; this is a copier_gui bug, please report it.")
            return
        self.status.setText(f"Connecting to {self._what}…")
        # A reference is kept: the loop holds tasks only weakly, and Back or Cancel cancels it.
        self.task = asyncio.ensure_future(self._run(connection))

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None

    def reset(self) -> None:
        self.stop()
        self._set_ok(False)

    async def _run(self, connection: Connection) -> None:
        try:
            result = await self._run_test(connection)
        except account_setup.ConnectionTestFailed as exc:
            self.fail(exc.message)
            return
        self._show(result)
        self.succeeded.emit(result)

    def _show(self, result: account_setup.TestResult) -> None:
        state = result.state
        self.fields["account"].setText(str(state.login))
        self.fields["name"].setText(state.name)
        self.fields["company"].setText(state.company)
        self.fields["server"].setText(state.server)
        self.fields["currency"].setText(state.currency)
        self.fields["balance"].setText(money(state.balance, state.currency))
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

    def fail(self, message: str) -> None:
        self.status.setText("The connection test failed.")
        show_error(self.error, message)
        self.retry.setEnabled(True)
        self._set_ok(False)

    def _set_ok(self, ok: bool) -> None:
        if ok != self.ok:
            self.ok = ok
            self.okChanged.emit(ok)


class ConnectionTestPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Test connection")
        self.setSubTitle("copier_gui connects to the account, reads it, and disconnects.")
        layout = QVBoxLayout(self)
        self.panel = ConnectionTestPanel()
        layout.addWidget(self.panel)
        layout.addStretch(1)
        for name in ("status", "details", "fields", "error", "retry"):
            setattr(self, name, getattr(self.panel, name))
        self.panel.okChanged.connect(lambda _ok: self.completeChanged.emit())
        self.panel.succeeded.connect(self._read)

    @property
    def task(self) -> asyncio.Task | None:
        return self.panel.task

    @property
    def running(self) -> bool:
        return self.panel.running

    def initializePage(self) -> None:
        self.start()

    def cleanupPage(self) -> None:
        self.panel.reset()

    def isComplete(self) -> bool:
        return self.panel.ok

    def start(self) -> None:
        """Begin (or retry) the test as a task on the running loop; returns at once."""
        wizard, draft = self._wizard, self._wizard.draft
        if draft.remote:
            # As the runtime reaches it: through the NATS server to the worker host's worker.
            self.panel.start(lambda: remote_test.open_remote_test(draft.test_settings(), wizard.clock),
                             f"account {draft.login} at {draft.server} through {where(draft)}",
                             remote_test.run_remote_test)
            return
        self.panel.start(
            lambda: account_setup.open_test_connection(draft.test_settings(), wizard.clock,
                                                       demo_login=draft.demo_login),
            f"account {draft.login} at {draft.server} through {where(draft)}")

    def stop(self) -> None:
        self.panel.stop()

    def _read(self, result: account_setup.TestResult) -> None:
        draft = self._wizard.draft
        draft.account = result.state
        draft.slave_symbols = list(result.symbols)
