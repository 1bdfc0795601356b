"""Linking an account, whoever asks: the checks and the connection test behind the wizard and
``copier-gui accounts link``.

Qt-free, so the window and the command line accept and refuse exactly the same accounts. Each
check returns one message naming what is wrong (empty when nothing is), in words both front ends
can show; each front end adds how to fix it in its own terms (a button, an option).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from copier_gui import secrets
from copier_gui.clock import Clock
from copier_gui.connectors.mt5 import MT5Connector, ThreadInvoker
from copier_gui.connectors.mt5.discovery import TERMINAL_EXE
from copier_gui.core.model import AccountState
from copier_gui.core.ports import ConnectorError
from copier_gui.runtime import Connection, RuntimeSetupError, open_connection, terminal_api
from copier_gui.settings import ACCOUNT_ID_PATTERN, AccountSettings, Settings, slugify
from copier_gui.sim import PROFILES
from copier_gui.sim.ctrader import CTRADER_PROFILES

__all__ = [
    "ConnectionTestFailed",
    "TestResult",
    "account_id_problem",
    "account_password_key",
    "bridge_host_problem",
    "bridge_kind_problem",
    "ctrader_fields",
    "demo_company",
    "demo_profile_problem",
    "demo_server",
    "is_ctrader_demo",
    "store_ctrader_secrets",
    "issue_demo_login",
    "login_problem",
    "master_problem",
    "open_test_connection",
    "run_connection_test",
    "server_problem",
    "suggest_id",
    "terminal_path_problem",
]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- the checks

def login_problem(text: str) -> str:
    """What is wrong with ``text`` as a MetaTrader 5 login ("" when it is one)."""
    text = text.strip()
    if not text:
        return "Enter the account's login: the number the broker gave you."
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**64:
        return f"{text} is not a MetaTrader 5 login number."
    return ""


def server_problem(server: str) -> str:
    if not server.strip():
        return ("Enter the trade server's name, exactly as the terminal shows it (for example "
                "Broker-Demo).")
    if len(server.strip()) > 253:
        return "The trade server's name is longer than 253 characters: check it."
    return ""


def terminal_path_problem(path: str, platform: str, *, check_exists: bool = True) -> str:
    """What is wrong with ``path`` as the terminal of a ``platform`` account ("" when nothing).

    Under the bridge the path is the Windows side's, which this computer cannot check; nor can
    anything be checked for a terminal on another machine (``check_exists`` False).
    """
    if not path.strip():
        return f"Choose the terminal's {TERMINAL_EXE}."
    name = Path(path.replace("\\", "/")).name
    if name.casefold() == "terminal.exe":
        return ("That is MetaTrader 4's terminal.exe. copier_gui links MetaTrader 5: choose the "
                f"{TERMINAL_EXE} of a MetaTrader 5 installation.")
    if name.casefold() != TERMINAL_EXE:
        return f"Choose the terminal's {TERMINAL_EXE}, not {name}."
    if check_exists and platform == "mt5" and not Path(path).is_file():
        return f"There is no {TERMINAL_EXE} at {path}."
    return ""


def bridge_host_problem(host: str) -> str:
    if not host.strip():
        return "Enter the bridge's host (127.0.0.1 when it runs on this computer)."
    return ""


def bridge_kind_problem(kind: str, host: str) -> str:
    """What is wrong with reaching ``kind`` of server at ``host`` ("" when nothing): an mt5linux
    server runs whatever its client sends and takes the password in clear, so one beyond this
    computer must be asked for as such (mt5linux_remote)."""
    if kind not in ("copier", "mt5linux", "mt5linux_remote"):
        return f"{kind!r} is not a bridge kind: copier, mt5linux or mt5linux_remote."
    if kind == "mt5linux":
        from copier_gui.bridge.mt5linux import is_loopback

        if not is_loopback(host):
            return (f"An mt5linux server at {host} is not on this computer: the password would cross the "
                    "network in clear, and the server runs any code sent to it. Choose \"mt5linux on another "
                    "computer\" only for a network you trust, or run the server here.")
    return ""


def demo_profile_problem(profile: str | None) -> str:
    if profile not in PROFILES and profile not in CTRADER_PROFILES:
        return (f"{profile!r} is not a demo broker; the demo brokers are "
                f"{', '.join(sorted([*PROFILES, *CTRADER_PROFILES]))}.")
    return ""


def is_ctrader_demo(profile: str | None) -> bool:
    """A simulated cTrader broker: reached over the Open API, with no password or terminal."""
    return profile in CTRADER_PROFILES


def demo_company(profile: str) -> str:
    """The company a demo broker is named after, MetaTrader 5 or cTrader."""
    if profile in CTRADER_PROFILES:
        return CTRADER_PROFILES[profile].broker_name
    return PROFILES[profile].company


def demo_server(profile: str) -> str:
    """The server name a demo broker's accounts show."""
    if profile in CTRADER_PROFILES:
        return CTRADER_PROFILES[profile].engine_profile().server
    return PROFILES[profile].server


def account_id_problem(account_id: str, existing_ids: Collection[str]) -> str:
    if not account_id:
        return "Give the account an id (lower-case letters, digits, '-' or '_')."
    if not ACCOUNT_ID_PATTERN.match(account_id):
        return (f"'{account_id}' cannot be an id: use lower-case letters, digits, '-' or '_', "
                "starting and ending with a letter or digit.")
    if account_id in existing_ids:
        return f"An account with the id '{account_id}' is already linked: choose another id."
    return ""


def master_problem(role: str, existing_master: str | None) -> str:
    """Refuses a second master: the copier copies from one account."""
    if role == "master" and existing_master is not None:
        return (f"'{existing_master}' is already the master, and there is only one: link this "
                "account as a slave")
    return ""


# ---------------------------------------------------------------------------- what a new account gets

def issue_demo_login(profile: str, clock: Clock, taken: Iterable[int] = ()) -> int:
    """The login a demo broker gives a new account: in the range real brokers use, and not one an
    account already linked at that broker has (they would share a keyring entry)."""
    taken = set(taken)
    salt = 0
    while True:
        login = 5_000_000 + zlib.crc32(f"{profile}:{clock.time():.6f}:{salt}".encode()) % 4_000_000
        if login not in taken:
            return login
        salt += 1


def suggest_id(server: str, login: int | None, existing_ids: Collection[str]) -> str:
    base = slugify(f"{server}-{login}" if login is not None else server)[:36].strip("-_") or "account"
    candidate, n = base, 2
    while candidate in existing_ids:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def account_password_key(account: AccountSettings) -> str:
    """The keyring entry the copier reads ``account``'s password from."""
    return secrets.password_key(login=account.login, server=account.server, account_id=account.id)


def forget_secrets(account: AccountSettings, remaining: Settings) -> list[str]:
    """Delete what the keyring holds for an unlinked ``account``: its password, unless an account
    still linked (``remaining``) reads the same entry, and its bridge's shared secret with the last
    account that reaches that bridge. Returns what was done, in sentences; SecretsUnavailable when
    the keyring cannot be reached."""
    from copier_gui.bridge import pairing

    said: list[str] = []
    if account.platform == "ctrader":
        return _forget_ctrader(account, remaining)
    key = account_password_key(account)
    sharing = [a.id for a in remaining.accounts if account_password_key(a) == key]
    if sharing:
        said.append(f"its password stays in the keyring ({key}): {', '.join(sharing)} uses it too")
    else:
        secrets.delete_password(key)
        said.append(f"its password was deleted from the keyring ({key})")
    # Only our bridge has a shared secret; an mt5linux server has none, and must not take ours away.
    if account.platform == "mt5_bridge" and account.bridge_kind == "copier":
        address = (account.bridge_host, account.bridge_port)
        if not any(a.platform == "mt5_bridge" and a.bridge_kind == "copier" and (a.bridge_host, a.bridge_port) == address
                   for a in remaining.accounts):
            pairing.delete_bridge_secret(*address)
            said.append(f"the shared secret of the bridge at {address[0]}:{address[1]} was deleted from the keyring")
    return said


def _forget_ctrader(account: AccountSettings, remaining: Settings) -> list[str]:
    """A cTrader account's tokens go with the last account authorized by them, and the Open API
    application's secret with the last account that uses the application."""
    from copier_gui import ctrader_auth

    said = []
    key = account.ctrader_token_key
    sharing = [a.id for a in remaining.accounts if a.platform == "ctrader" and a.ctrader_token_key == key]
    if sharing:
        said.append(f"its cTrader tokens stay in the keyring ({key}): {', '.join(sharing)} uses them too")
    elif key:
        secrets.delete_secret(key, what="cTrader tokens")
        said.append(f"its cTrader tokens were deleted from the keyring ({key})")
    app_key = ctrader_auth.app_secret_key(account.ctrader_client_id or "")
    if not any(a.platform == "ctrader" and a.ctrader_client_id == account.ctrader_client_id
               for a in remaining.accounts):
        secrets.delete_secret(app_key, what="cTrader application secret")
        said.append(f"the Open API application's secret was deleted from the keyring ({app_key})")
    return said


def ctrader_fields(account, *, client_id: str, token_key: str) -> dict:
    """The AccountSettings fields of a cTrader account chosen from the list a token gave
    (``account`` a ``ctrader_auth.LinkableAccount``); ``server`` holds the broker's short name."""
    return {"platform": "ctrader", "login": account.login, "server": account.broker or None,
            "ctrader_host": account.host, "ctrader_port": account.port, "ctrader_client_id": client_id,
            "ctrader_account_id": account.account_id, "ctrader_token_key": token_key}


def store_ctrader_secrets(client_id: str, client_secret: str, token_key: str, tokens) -> None:
    """Keep the application's secret and the trader's token pair (``tokens``, a TokenPair) in the
    keyring; SecretsUnavailable when it cannot be reached."""
    from copier_gui import ctrader_auth

    secrets.store_secret(ctrader_auth.app_secret_key(client_id), client_secret, what="cTrader application secret")
    secrets.store_secret(token_key, ctrader_auth.tokens_to_json(tokens), what="cTrader tokens")


# ---------------------------------------------------------------------------- the connection test

class ConnectionTestFailed(Exception):
    """The account could not be reached or logged in to; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TestResult:
    """What the test read: the account, and the names of the symbols its broker offers."""

    __test__ = False  # not a pytest test class, despite its name

    state: AccountState
    symbols: list[str]


def open_test_connection(account: AccountSettings, clock: Clock, *, demo_login: int | None = None,
                         broker_password: str | None = None, password: str | None = None) -> Connection:
    """A connection to ``account`` for the test, in this process; nothing is contacted yet.

    The connector reads the password from the keyring, as the copier will, unless ``password``
    is given: a password typed to replace a linked account's is tested before it replaces the
    one in the keyring, so a cancelled edit leaves the keyring as it was. ``demo_login`` is the
    login a demo broker issued (see ``terminal_api``). ``broker_password`` is what a simulated
    broker holds for an account it opened before; by default it holds the keyring's, as for an
    account it opens now.
    """
    try:
        if password is not None:
            return open_connection(account, clock, password_lookup=lambda _key: password,
                                   demo_login=demo_login)
        if broker_password is None:
            return open_connection(account, clock, password_lookup=secrets.get_password,
                                   demo_login=demo_login)
        # The broker knows the old password and the connector sends the new one, so a password
        # typed for an account that exists is checked, as a real broker would check it.
        api = terminal_api(account, clock, password_lookup=lambda _key: broker_password,
                           demo_login=demo_login)
        key = account_password_key(account)
        invoker = ThreadInvoker(name=f"mt5-{account.id}")
        connector = MT5Connector(account.id, api, invoker=invoker, clock=clock, login=account.login,
                                 server=account.server, path=account.terminal_path,
                                 password_provider=lambda: secrets.get_password(key))
        return Connection(account, api, invoker, connector)
    except (RuntimeSetupError, ValidationError, ValueError) as exc:
        raise ConnectionTestFailed(getattr(exc, "message", None) or str(exc)) from None


async def run_connection_test(connection: Connection, *, describe: Callable[[str], str] | None = None,
                              close_off_loop: bool = False) -> TestResult:
    """Connect, read the account and its symbols, disconnect; closes ``connection`` either way.

    Raises ConnectionTestFailed with the connector's message, as ``describe`` words it if given.
    ``close_off_loop``: closing waits on something slow (a worker host's answer and the NATS
    client), so it runs on a thread, not on the loop.
    """
    cancelled = False
    try:
        state = await connection.connector.connect()
        symbols = await connection.connector.symbols()
    except asyncio.CancelledError:
        cancelled = True
        raise
    except ConnectorError as exc:
        raise ConnectionTestFailed(describe(exc.message) if describe else exc.message) from None
    except Exception as exc:  # a terminal or bridge failing in a new way still gets an answer
        log.exception("connection test failed")
        raise ConnectionTestFailed(f"The connection test failed unexpectedly ({type(exc).__name__}: "
                                   f"{exc}).") from None
    finally:
        if not cancelled:
            with contextlib.suppress(Exception):
                await connection.connector.close_session()
        if close_off_loop:
            closing = asyncio.get_running_loop().run_in_executor(None, connection.close)
            if not cancelled:
                with contextlib.suppress(Exception):
                    await closing
        else:
            # Not waiting for a terminal call still running after a cancel: its thread ends alone.
            connection.close()
    return TestResult(state, sorted(symbols))
