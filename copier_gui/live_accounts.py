"""Account changes while copying: a running copier takes a linked, edited, reconnected or removed
slave without a restart.

Whatever holds a Runtime (the window) calls these on the copier's loop, then saves
``runtime.settings``. Opening a terminal's connection can block (it may start a worker process),
and so can closing one, so both run on a thread; the copier itself changes only on its loop. A new
master is not made here: the session is restarted with it, and the core leaves the old master's
copies alone (see core.lineage).
"""

from __future__ import annotations

import asyncio
import logging

from copier_gui.assembly import Runtime, broker_name
from copier_gui.core.copier import SlaveLink
from copier_gui.runtime import Connection
from copier_gui.settings import AccountSettings

__all__ = ["CONNECTION_FIELDS", "LiveChangeError", "add_account", "reconnect", "remove_account", "update_account"]

log = logging.getLogger(__name__)

# The fields that say which terminal and account a connection reaches: a change of any of them
# needs a new connection (a password change too, which the settings cannot show).
CONNECTION_FIELDS = ("platform", "terminal_path", "login", "server", "bridge_host", "bridge_port", "demo_profile")


class LiveChangeError(Exception):
    """An account change the running copier cannot take; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _link(account: AccountSettings, connection: Connection) -> SlaveLink:
    return SlaveLink(account.id, connection.connector, account.copy_rules, broker=broker_name(account),
                     magic=account.magic, mode=account.mode)


def _close(connection: Connection) -> None:
    try:
        connection.request_close()
        connection.close()
    except Exception as exc:  # the account is gone from the copier either way
        log.warning("the connection of %s did not close cleanly: %s", connection.account.id, exc)


def _slave(runtime: Runtime, account_id: str) -> AccountSettings:
    account = runtime.settings.account(account_id)
    if account is None:
        raise LiveChangeError(f"no linked account has the id {account_id!r}")
    if account.role == "master":
        raise LiveChangeError(f"{account_id} is the master: make another account the master first (the session "
                              "restarts with it)")
    return account


async def add_account(runtime: Runtime, account: AccountSettings, *, by: str = "the window") -> str:
    """Link a slave while copying: its connection opens (off the loop), then the copier connects it,
    reconciles it and copies to it under its ``copy_existing`` rule. Returns the journal's text.

    Raises LiveChangeError for a master or an id already linked, RuntimeSetupError when its
    terminal cannot be reached at all (the message says why).
    """
    if account.role != "slave":
        raise LiveChangeError(f"{account.id} is a master: link it as a slave, then set it as the master (the "
                              "session restarts with it)")
    if runtime.settings.account(account.id) is not None:
        raise LiveChangeError(f"an account with the id {account.id!r} is already linked")
    settings = runtime.settings.with_account(account)  # checked before anything is opened
    connection = await asyncio.to_thread(runtime.terminals.connect, account)
    runtime.connections[account.id] = connection  # closed with the runtime from now on
    try:
        text = await runtime.copier.add_slave(_link(account, connection), by=by)
    except BaseException:
        runtime.connections.pop(account.id, None)
        await asyncio.to_thread(_close, connection)
        raise
    runtime.settings = settings
    return text


async def remove_account(runtime: Runtime, account_id: str, *, flatten: bool, by: str = "the window") -> str:
    """Unlink a slave while copying, closing its copies first when ``flatten`` (else they stay open,
    no longer managed, journaled with their tickets), then its connection. Returns the journal's text."""
    _slave(runtime, account_id)
    text = await runtime.copier.remove_slave(account_id, flatten=flatten, by=by)
    connection = runtime.connections.pop(account_id, None)
    if connection is not None:
        await asyncio.to_thread(_close, connection)
    runtime.settings = runtime.settings.without_account(account_id)
    return text


async def update_account(runtime: Runtime, account: AccountSettings, *, new_password: bool = False,
                         by: str = "the window") -> str:
    """Apply an edited slave: new rules and mode at once; a new terminal, login, server (or, with
    ``new_password``, password) through a new connection the copier moves to, the old one closed
    after. Returns what the journal says, one sentence per change."""
    before = _slave(runtime, account.id)
    if account.role != before.role:
        raise LiveChangeError(f"{account.id}: set another account as the master with \"Set as master\", not by "
                              "editing its role")
    if account.magic != before.magic:
        raise LiveChangeError(f"{account.id}: the magic number cannot change while copying: the copies it holds "
                              "carry the old one and would no longer be recognised")
    settings = runtime.settings.with_account(account)
    copier = runtime.copier
    texts: list[str] = []
    if new_password or any(getattr(account, f) != getattr(before, f) for f in CONNECTION_FIELDS):
        connection = await asyncio.to_thread(runtime.terminals.connect, account)
        old = runtime.connections.get(account.id)
        runtime.connections[account.id] = connection
        texts.append(await copier.replace_connector(account.id, connection.connector, by=by))
        if old is not None:
            await asyncio.to_thread(_close, old)
    if account.copy_rules != before.copy_rules:
        copier.set_rules(account.id, account.copy_rules)
        texts.append(f"rules changed for {account.id}")
    if account.mode != before.mode:
        texts.append(copier.set_mode(account.id, account.mode, by=by))
    copier.slaves[account.id].broker = broker_name(account)
    runtime.settings = settings
    return "; ".join(texts) or f"{account.id} saved; nothing the copier uses changed"


async def reconnect(runtime: Runtime, account_id: str, *, by: str = "the window") -> str:
    """Drop a slave's session and open it again now (its connection stays). Journaled."""
    _slave(runtime, account_id)
    return await runtime.copier.reconnect(account_id, by=by)
