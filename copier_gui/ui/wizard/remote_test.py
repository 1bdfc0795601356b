"""The connection test of an account served by a worker host: through the NATS server to the
worker host's worker, as the runtime reaches it (``runtime.open_worker_connection``), never the
terminal on this computer.

Qt-free. Its failures are one line for the trader: the server that cannot be reached, the worker
host that does not serve the account, what the worker host's terminal said.
"""

from __future__ import annotations

import re

from copier_gui import account_setup
from copier_gui.clock import Clock
from copier_gui.runtime import Connection, RuntimeSetupError, open_worker_connection
from copier_gui.settings import AccountSettings

__all__ = ["open_remote_test", "run_remote_test"]

# What the transport adds when the server itself said why it refused the login.
_REFUSED = re.compile(r"the server refused user (\S+)'s password")
# The pace the account's worker polls at during the test: it only connects and reads once.
_POLL_S = 0.25


def open_remote_test(account: AccountSettings, clock: Clock) -> Connection:
    """The connection the test makes, nothing contacted yet; ConnectionTestFailed for settings
    that cannot make a safe connection."""
    try:
        return open_worker_connection(account, clock, poll_s=_POLL_S)
    except RuntimeSetupError as exc:
        raise account_setup.ConnectionTestFailed(exc.message) from None


async def run_remote_test(connection: Connection) -> account_setup.TestResult:
    """Connect through the worker host, read the account and its symbols, close the session; the
    connection (its NATS client among it) is closed off the loop either way."""
    account = connection.account
    url = account.nats.url if account.nats is not None else "?"
    return await account_setup.run_connection_test(
        connection, describe=lambda message: _one_line(message, account.id, url), close_off_loop=True)


def _one_line(message: str, account_id: str, url: str) -> str:
    """The connector's reason, said as where it failed: the server, the worker host, the terminal."""
    text = " ".join(message.split())
    lowered = text.lower()
    if "no worker host serves" in lowered:
        return (f"No worker host serves account {account_id} on {url}: on the worker host, run "
                f"`copier-gui worker-host --nats {url} --account {account_id}`.")
    refused = _REFUSED.search(text)
    if refused:
        return (f"The NATS server at {url} refused the password of NATS user {refused.group(1)}: enter the one "
                "the server's settings give that user.")
    if "could not start the worker" in lowered:
        # nats-py reports a refused password as no server available, after its last attempt: the
        # line names every cause the trader can check.
        return (f"The NATS server at {url} cannot be reached ({_reason(text)}): check its address, that it runs, "
                "its CA file, and the NATS user and password.")
    return text


def _reason(text: str) -> str:
    """The innermost cause of a wrapped error: "could not start ... (ConnectionError: could not reach
    ... (NoServersError: nats: no servers available for connection))" says the last part."""
    head, sep, inner = text.rpartition("Error: ")
    return inner.rstrip(").") if sep else text
