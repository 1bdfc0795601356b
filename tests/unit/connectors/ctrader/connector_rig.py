"""cTrader connectors on a running simulated Open API server, for the connector's tests."""

from __future__ import annotations

import asyncio
import contextlib

from copier_gui.connectors.ctrader.connector import CTraderConnector
from copier_gui.connectors.ctrader.links import LinkPool
from copier_gui.connectors.ctrader.session import AppCredentials, TokenPair
from copier_gui.connectors.ctrader.token_keyring import MemoryTokenStore
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET


def store_for(server, *, expires_at: float | None = None) -> MemoryTokenStore:
    g = server.grant_pair
    return MemoryTokenStore(TokenPair(g.access_token, g.refresh_token, g.expires_at if expires_at is None
                                      else expires_at))


def connector_for(server, account, store: MemoryTokenStore, pool: LinkPool, *, name: str = "",
                  **options) -> CTraderConnector:
    return CTraderConnector(name or f"ct-{account.account_id}", host=server.host, port=server.port,
                            app=AppCredentials(CLIENT_ID, CLIENT_SECRET), ctid_account_id=account.account_id,
                            tokens=store, clock=server.clock, ssl_context=server.client_ssl_context(), pool=pool,
                            **options)


@contextlib.asynccontextmanager
async def connected(server, *accounts, store: MemoryTokenStore | None = None, pool: LinkPool | None = None,
                    **options):
    """Connectors for ``accounts`` (default: the hedged one) sharing one store and pool."""
    store = store or store_for(server)
    pool = pool if pool is not None else LinkPool()
    connectors = [connector_for(server, a, store, pool, **options) for a in (accounts or (server.hedged,))]
    try:
        for c in connectors:
            await c.connect()
        yield connectors if len(connectors) > 1 else connectors[0]
    finally:
        for c in connectors:
            await c.close_session()


async def until(predicate, timeout: float = 3.0, step: float = 0.01):
    """Wait for ``predicate()`` (a coroutine function or plain one) to be truthy; returns its value."""
    async with asyncio.timeout(timeout):
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(step)
