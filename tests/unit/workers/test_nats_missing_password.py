"""A copier whose account is served over NATS but whose keyring lacks the NATS password says which
keyring entry is missing and how to fill it, before reaching the bus."""

from __future__ import annotations

import pytest

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.runtime import open_worker_connection
from copier_gui.settings import AccountSettings
from copier_gui.workers.connector import WorkerDown

pytestmark = pytest.mark.asyncio


async def test_a_missing_nats_password_names_its_keyring_entry_and_how_to_store_it():
    account = AccountSettings(id="vps", role="slave", platform="mt5", login=5, server="X-Live", worker_host="nats",
                              nats={"url": "tls://hub.example:4222", "user": "desk"})
    connection = open_worker_connection(account, SYSTEM_CLOCK, poll_s=0.01)
    try:
        with pytest.raises(WorkerDown) as caught:
            await connection.connector.connect()
        message = str(caught.value)
        assert "no NATS password in the keyring under 'nats:desk'" in message, message
        assert "--worker-host nats" in message and "--store-nats-password" in message, message
    finally:
        connection.close()
