"""From saved settings to a running copier: a terminal, an invoker and a connector per account.

Qt-free, so the window, headless mode, the wizard's connection test and the tests all build
connections the same way. Passwords stay in the keyring until a terminal asks for one.
"""

from __future__ import annotations

import importlib
import secrets
import socket
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from copier_gui import secrets as _secrets
from copier_gui.clock import Clock
from copier_gui.connectors.mt5 import MT5Connector, ThreadInvoker
from copier_gui.core import tags
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook, CopyBookError
from copier_gui.core.journal import Journal, JournalError
from copier_gui.core.riskstore import RISK_FILE, RiskStore, RiskStoreError, open_risk_store
from copier_gui.paths import UserPaths
from copier_gui.settings import AccountSettings, Settings

__all__ = ["DEMO_SEED", "Connection", "Runtime", "RuntimeSetupError", "build_copier",
           "open_connection", "terminal_api"]

PasswordLookup = Callable[[str], str | None]

# Every simulated broker built with one seed and clock quotes one shared market, so the demo
# master's prices and its slaves' move together.
DEMO_SEED = 0


class RuntimeSetupError(Exception):
    """The settings cannot become a running copier; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Connection:
    """One account's terminal (real, bridged or simulated), its invoker and its connector.

    A copier's real and bridged accounts run in worker processes: ``api`` and ``invoker`` are
    then None and the connector is a WorkerConnector.
    """

    account: AccountSettings
    api: object
    invoker: ThreadInvoker | None
    connector: object

    def close(self) -> None:
        if self.invoker is not None:
            self.invoker.close()
        else:
            self.connector.shutdown()


def terminal_api(account: AccountSettings, clock: Clock, *,
                 password_lookup: PasswordLookup = _secrets.get_password,
                 demo_login: int | None = None) -> object:
    """The object with the ``MetaTrader5`` module's API that reaches ``account``'s terminal.

    For a demo account this is a fresh simulated terminal whose account is ``demo_login``
    (default: the account's own login); the wizard passes the login the demo broker issued, so a
    mistyped login fails the way it would at a real broker.
    """
    if account.platform == "mt5":
        return _metatrader5_module(account)
    if account.platform == "mt5_bridge":
        from copier_gui.bridge.client import MT5Bridge

        return MT5Bridge(account.bridge_host, account.bridge_port)
    from copier_gui.sim import new_terminal

    overrides: dict = {}
    login = demo_login if demo_login is not None else account.login
    if login is not None:
        overrides["login"] = login
    if account.label:
        overrides["name"] = account.label
    # A simulated broker has to know the account's password to check it; like the password a
    # real terminal saves, it stays in this process's memory.
    try:
        password = password_lookup(_key(account))
    except _secrets.SecretsUnavailable as exc:
        raise RuntimeSetupError(f"account {account.id}: {exc.message}") from None
    if password:
        overrides["password"] = password
    return new_terminal(account.demo_profile, seed=DEMO_SEED, clock=clock, **overrides)


def open_connection(account: AccountSettings, clock: Clock, *,
                    password_lookup: PasswordLookup = _secrets.get_password,
                    demo_login: int | None = None) -> Connection:
    """A connector for ``account`` with its own worker thread; nothing is contacted yet.

    The connector asks ``password_lookup`` for the password when it connects, so the password is
    read then and only then. The caller closes the returned Connection.
    """
    api = terminal_api(account, clock, password_lookup=password_lookup, demo_login=demo_login)
    key = _key(account)
    invoker = ThreadInvoker(name=f"mt5-{account.id}")
    connector = MT5Connector(account.id, api, invoker=invoker, clock=clock, login=account.login,
                             server=account.server, path=account.terminal_path,
                             password_provider=lambda: password_lookup(key))
    return Connection(account, api, invoker, connector)


def open_worker_connection(account: AccountSettings, clock: Clock, *, poll_s: float) -> Connection:
    """A connector whose terminal lives in a worker process of its own (one terminal per process,
    as the MetaTrader5 package requires). The worker reads the password from the keyring itself."""
    from copier_gui.workers.config import BridgeTerminal, RealTerminal, WorkerConfig
    from copier_gui.workers.connector import WorkerConnector

    if account.platform == "mt5":
        _metatrader5_module(account)  # fail here, clearly, rather than in a worker
        terminal = RealTerminal()
    else:
        terminal = BridgeTerminal(account.bridge_host, account.bridge_port)
    master = account.role == "master"
    config = WorkerConfig(account.id, terminal, login=account.login, server=account.server,
                          path=account.terminal_path, password_key=_key(account),
                          # The master is watched for new trades: poll at the copier's pace.
                          poll_idle_s=poll_s if master else 0.1, poll_rest_s=None if master else 1.0)
    return Connection(account, None, None, WorkerConnector(config, clock=clock))


@dataclass
class Runtime:
    """A built copier and everything it runs on; ``aclose`` (or ``close`` once stopped) releases it."""

    copier: Copier
    journal: Journal
    copybook: CopyBook
    connections: dict[str, Connection] = field(default_factory=dict)
    risk_store: RiskStore | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def invokers(self) -> dict[str, ThreadInvoker]:
        return {account_id: c.invoker for account_id, c in self.connections.items() if c.invoker is not None}

    async def aclose(self) -> None:
        """Stop the copier (ends its tasks and terminal sessions), then release everything."""
        if not self._closed:
            await self.copier.stop()
        self.close()

    def close(self) -> None:
        """Release invokers, the journal and the copy book; call after ``copier.stop()``."""
        if self._closed:
            return
        self._closed = True
        for connection in self.connections.values():
            connection.close()
        self.journal.close()
        self.copybook.close()
        if self.risk_store is not None:
            self.risk_store.close()


def build_copier(settings: Settings, paths: UserPaths, clock: Clock, *,
                 password_lookup: PasswordLookup = _secrets.get_password) -> Runtime:
    """A copier for the linked accounts, ready to ``await runtime.copier.start()``.

    Raises RuntimeSetupError, before anything is opened, when the accounts cannot run together:
    no master, an account whose platform is not available here, or two terminals that would have
    to share this process's one MetaTrader5 connection.
    """
    _check_accounts(settings)
    connections: dict[str, Connection] = {}
    journal: Journal | None = None
    copybook: CopyBook | None = None
    risk_store: RiskStore | None = None
    try:
        poll_s = settings.poll_interval_ms / 1000.0
        for account in settings.accounts:
            if account.platform in ("mt5", "mt5_bridge"):
                connections[account.id] = open_worker_connection(account, clock, poll_s=poll_s)
            else:
                connections[account.id] = open_connection(account, clock, password_lookup=password_lookup)
        paths.ensure()
        try:
            journal = Journal(paths.journal_file, clock, backups_dir=paths.backups_dir)
        except JournalError as exc:
            raise RuntimeSetupError(str(exc)) from None
        try:
            copybook = CopyBook(paths.root / "copies.sqlite3")
        except CopyBookError as exc:
            raise RuntimeSetupError(exc.message) from None
        try:
            # An unreadable file is moved aside and every slave starts on exits only (see there).
            risk_store = open_risk_store(paths.root / RISK_FILE, backups_dir=paths.backups_dir, clock=clock)
        except RiskStoreError as exc:
            raise RuntimeSetupError(exc.message) from None
        master = settings.master
        links = [_slave_link(account, connections[account.id]) for account in settings.slaves]
        copier = Copier(connections[master.id].connector, links, journal=journal, clock=clock,
                        copybook=copybook, risk_store=risk_store, master_id=master.id,
                        poll_interval_s=settings.poll_interval_ms / 1000.0, instance=copier_instance(copybook))
        # Set before start, so a trader who left copying off finds it off: no entry goes out.
        copier.copying = settings.copying
    except BaseException:
        for connection in connections.values():
            connection.close()
        if journal is not None:
            journal.close()
        if copybook is not None:
            copybook.close()
        if risk_store is not None:
            risk_store.close()
        raise
    return Runtime(copier, journal, copybook, connections, risk_store)


def _check_accounts(settings: Settings) -> None:
    masters = [a for a in settings.accounts if a.role == "master"]
    if not settings.accounts:
        raise RuntimeSetupError("no accounts are linked yet: link a master account and at least "
                                "one slave, or try the demo")
    if not masters:
        raise RuntimeSetupError("no account is marked master: copying needs exactly one master "
                                "to copy from; mark one of the linked accounts as the master")
    if len(masters) > 1:
        raise RuntimeSetupError(f"{len(masters)} accounts are marked master "
                                f"({', '.join(a.id for a in masters)}): copying needs exactly one")


def _slave_link(account: AccountSettings, connection: Connection) -> SlaveLink:
    broker = account.label
    if account.platform == "demo" and not broker:
        from copier_gui.sim import PROFILES

        broker = PROFILES[account.demo_profile].company
    return SlaveLink(account.id, connection.connector, account.copy_rules, broker=broker,
                     copy_enabled=account.copy_enabled, magic=account.magic)


def _metatrader5_module(account: AccountSettings) -> object:
    try:
        return importlib.import_module("MetaTrader5")
    except ImportError:
        pass
    if sys.platform == "win32":
        raise RuntimeSetupError(
            "MetaTrader 5 terminal not found: the MetaTrader5 Python package is not installed, so "
            f"account {account.id} cannot reach its terminal; install it with `pip install "
            "MetaTrader5` (or reinstall copier_gui), then start copier_gui again")
    raise RuntimeSetupError(
        "MetaTrader 5 terminal not found: the MetaTrader5 Python package is only available on "
        f"Windows, so account {account.id} cannot reach a terminal from this system; run "
        "copier_gui on Windows with MetaTrader 5 (64-bit) installed, or try a demo broker")


def _key(account: AccountSettings) -> str:
    return _secrets.password_key(login=account.login, server=account.server, account_id=account.id)


def copier_instance(copybook: CopyBook) -> str:
    """This copier's name in its tags: four base-36 characters for this user folder on this machine.

    Drawn once and kept in the copy book, then mixed with the host name, so the same folder copied
    to a VPS still names another copier there, and the two recognise each other's trades on an
    account they both link instead of taking them for their own.
    """
    drawn = copybook.fact("instance")
    if drawn is None:
        drawn = float(secrets.randbelow(36 ** 4))
        copybook.set_fact("instance", drawn)
    mixed = (int(drawn) ^ zlib.crc32(socket.gethostname().encode())) % 36 ** 4
    return tags.base36(mixed).rjust(4, "0")
