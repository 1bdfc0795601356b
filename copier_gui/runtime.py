"""From a linked account to a connection: its terminal, an invoker and a connector.

Qt-free, so the window, headless mode, the wizard's connection test and the tests all reach
terminals the same way; ``copier_gui.assembly`` turns the connections into a copier. Passwords
stay in the keyring until a terminal asks for one.
"""

from __future__ import annotations

import importlib
import secrets
import socket
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from copier_gui import secrets as _secrets
from copier_gui.clock import Clock
from copier_gui.connectors.mt5 import MT5Connector, ThreadInvoker
from copier_gui.core import tags
from copier_gui.core.copybook import CopyBook
from copier_gui.settings import AccountSettings

__all__ = ["DEMO_SEED", "Connection", "LinkedTerminals", "RuntimeSetupError", "copier_instance",
           "ctrader_app_key", "open_connection", "open_ctrader_connection", "open_demo_ctrader_connection",
           "nats_host", "open_worker_connection", "terminal_api", "worker_config"]

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
    owned: object | None = None  # something closed after the connector (a NatsHost of its own)

    def request_close(self) -> None:
        """Ask a worker process to wind down without waiting, so several stop in parallel."""
        if self.invoker is None and hasattr(self.connector, "request_shutdown"):
            self.connector.request_shutdown()

    def close(self) -> None:
        if self.invoker is not None:
            self.invoker.close()
        elif hasattr(self.connector, "wait_closed"):
            self.connector.request_shutdown()
            self.connector.wait_closed()
        elif hasattr(self.connector, "shutdown"):
            self.connector.shutdown()
        if self.owned is not None:
            self.owned.close()
        # A connector on the loop (cTrader) has nothing here to release: the copier closed its
        # session on the loop when it stopped, and this runs on a thread after that.


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

        if account.bridge_kind != "copier":
            return _mt5linux_bridge(account)
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


def worker_config(account: AccountSettings, *, poll_s: float, check: bool = True):
    """The WorkerConfig of ``account``'s worker: its terminal, keyring key and polling pace, as the
    core starts it here and as ``copier-gui worker-host`` starts it for a core elsewhere.
    ``check`` refuses, with RuntimeSetupError naming the account, a terminal this computer cannot
    reach (no MetaTrader5 package, an mt5linux server it must not use); a core whose worker runs
    on a worker host does not check, since the host's terminal is not this computer's."""
    from copier_gui.workers.config import BridgeTerminal, RealTerminal, WorkerConfig

    if account.platform == "mt5":
        if check:
            _metatrader5_module(account)  # fail here, clearly, rather than in a worker
        terminal = RealTerminal()
    else:
        if check and account.bridge_kind != "copier":
            _mt5linux_bridge(account)  # refused here, as terminal_api does, not at each connect in the worker
        terminal = BridgeTerminal(account.bridge_host, account.bridge_port, server_kind=account.bridge_kind)
    master = account.role == "master"
    return WorkerConfig(account.id, terminal, login=account.login, server=account.server,
                        path=account.terminal_path, password_key=_key(account),
                        # The master is watched for new trades: poll at the copier's pace.
                        poll_idle_s=poll_s if master else 0.1, poll_rest_s=None if master else 1.0,
                        log_level=worker_log_level())


def nats_host(account: AccountSettings):
    """A NatsHost for ``account``'s bus, not yet connected; RuntimeSetupError naming the account when
    its NATS settings cannot make a safe connection."""
    from copier_gui.workers.nats_transport import NatsHost, NatsSetupError

    try:
        return NatsHost(account.nats.options())
    except NatsSetupError as exc:
        raise RuntimeSetupError(f"account {account.id}: {exc}") from None


def open_worker_connection(account: AccountSettings, clock: Clock, *, poll_s: float,
                           host: object | None = None) -> Connection:
    """A connector whose terminal lives in a worker process of its own (one terminal per process,
    as the MetaTrader5 package requires). The worker reads the password from the keyring itself.

    An account whose ``worker_host`` is ``nats`` has its worker on a worker host reached over the
    bus: ``host`` is the NatsHost to share (LinkedTerminals keeps one per bus); without one, the
    connection gets a NatsHost of its own and closes it with itself."""
    from copier_gui.workers.connector import WorkerConnector

    if account.worker_host != "nats":
        config = worker_config(account, poll_s=poll_s)
        return Connection(account, None, None, WorkerConnector(config, host=host, clock=clock))
    owned = None
    if host is None:
        host = owned = nats_host(account)
    config = worker_config(account, poll_s=poll_s, check=False)
    return Connection(account, None, None, WorkerConnector(config, host=host, clock=clock), owned=owned)


def _mt5linux_bridge(account: AccountSettings):
    """The client of the account's mt5linux server (it connects only when used); RuntimeSetupError
    naming the account for one it must not use (a server off this computer, not allowed)."""
    from copier_gui.bridge import BridgeError
    from copier_gui.bridge.mt5linux import MT5LinuxBridge

    try:
        return MT5LinuxBridge(account.bridge_host, account.bridge_port,
                              allow_remote=account.bridge_kind == "mt5linux_remote")
    except BridgeError as exc:
        raise RuntimeSetupError(f"account {account.id}: {exc}") from None


def worker_log_level() -> int:
    """The level this process logs at (``--log-level``), so a worker sends what the file keeps."""
    import logging

    return logging.getLogger("copier_gui").getEffectiveLevel()


def ctrader_app_key(client_id: str) -> str:
    """The keyring name of a cTrader Open API application's secret."""
    return f"ctrader-app:{client_id}"


def open_ctrader_connection(account: AccountSettings, clock: Clock, *,
                            secret_lookup: Callable[[str], str | None] | None = None) -> Connection:
    """A cTrader account's connector: the Open API over TLS, on the copier's own loop (network code
    needs no worker process). The application's secret and the trader's tokens are read from the
    keyring now and kept in memory only; RuntimeSetupError names what is missing."""
    from copier_gui.connectors.ctrader.connector import CTraderConnector
    from copier_gui.connectors.ctrader.session import AppCredentials
    from copier_gui.connectors.ctrader.token_keyring import KeyringTokenStore

    lookup = secret_lookup or (lambda key: _secrets.get_secret(key, what="cTrader application secret"))
    try:
        secret = lookup(ctrader_app_key(account.ctrader_client_id))
    except _secrets.SecretsUnavailable as exc:
        raise RuntimeSetupError(f"account {account.id}: {exc.message}") from None
    if not secret:
        raise RuntimeSetupError(f"account {account.id}: the secret of the cTrader application "
                                f"{account.ctrader_client_id} is not in the keyring; link the account "
                                "again to enter it")
    connector = CTraderConnector(account.id, host=account.ctrader_host, port=account.ctrader_port,
                                 app=AppCredentials(account.ctrader_client_id, secret),
                                 ctid_account_id=account.ctrader_account_id,
                                 tokens=KeyringTokenStore(account.ctrader_token_key), clock=clock)
    return Connection(account, None, None, connector)


def open_demo_ctrader_connection(account: AccountSettings, server, clock: Clock, *, login: int,
                                 balance: float | None = None) -> Connection:
    """A new account at ``server`` (a ThreadedOpenApiServer), behind the same cTrader connector a
    real account uses; its tokens stay in memory. The connection's ``api`` is the broker's side."""
    from copier_gui.connectors.ctrader.connector import CTraderConnector
    from copier_gui.connectors.ctrader.session import AppCredentials, TokenPair
    from copier_gui.connectors.ctrader.token_keyring import MemoryTokenStore

    opened = server.open_account(account.demo_profile, login=login, balance=balance)
    tokens = MemoryTokenStore(TokenPair(opened.access_token, opened.refresh_token, opened.expires_at))
    connector = CTraderConnector(account.id, host=opened.host, port=opened.port,
                                 app=AppCredentials(opened.client_id, opened.client_secret),
                                 ctid_account_id=opened.ctid_account_id, tokens=tokens, clock=clock,
                                 ssl_context=opened.ssl_context)
    return Connection(account, opened.account, None, connector)


class LinkedTerminals:
    """The trader's linked accounts: real and bridged terminals each in a worker process of its
    own (here, or on a worker host over NATS), cTrader accounts on the loop, simulated brokers (the wizard's demo accounts) on a worker
    thread, or at the demo's simulated cTrader server."""

    def __init__(self, clock: Clock, *, poll_s: float, password_lookup: PasswordLookup = _secrets.get_password) -> None:
        self.clock = clock
        self.poll_s = poll_s
        self.password_lookup = password_lookup
        self._ctrader_demo = None
        self._buses: dict = {}  # NatsOptions -> NatsHost: one connection per bus, whatever the accounts

    def connect(self, account: AccountSettings) -> Connection:
        if account.platform in ("mt5", "mt5_bridge"):
            host = None
            if account.worker_host == "nats":
                options = account.nats.options()
                host = self._buses.get(options)
                if host is None:
                    host = self._buses[options] = nats_host(account)
            return open_worker_connection(account, self.clock, poll_s=self.poll_s, host=host)
        if account.platform == "ctrader":
            return open_ctrader_connection(account, self.clock)
        if account.demo_platform == "ctrader":
            return self._demo_ctrader(account)
        return open_connection(account, self.clock, password_lookup=self.password_lookup)

    def _demo_ctrader(self, account: AccountSettings) -> Connection:
        from copier_gui.sim.ctrader.threaded import ThreadedOpenApiServer

        if self._ctrader_demo is None:
            self._ctrader_demo = ThreadedOpenApiServer(clock=self.clock, seed=DEMO_SEED)
        return open_demo_ctrader_connection(account, self._ctrader_demo, self.clock,
                                            login=account.login or 3_100_000)

    def close(self) -> None:
        """The demo's cTrader server, if one was started, and the NATS connections (after the
        workers over them were stopped); the connections are their owner's."""
        if self._ctrader_demo is not None:
            self._ctrader_demo.close()
        buses, self._buses = list(self._buses.values()), {}
        for host in buses:
            host.close()


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
