"""The simulated server on a thread of its own: reachable from another loop over real TLS, on the
same market as simulated MT5 terminals of the same seed and clock, and stopped cleanly."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader import (
    AppCredentials,
    OpenApiConnection,
    OpenApiSession,
    TokenPair,
)
from copier_gui.sim import new_terminal
from copier_gui.sim.ctrader.threaded import ThreadedOpenApiServer
from tests.unit.sim.ctrader.rig import SteppingClock

M = cm.messages


class _Store:
    async def save(self, tokens: TokenPair) -> None:
        self.saved = tokens


async def _authorize(opened) -> tuple[OpenApiSession, object]:
    connection = await OpenApiConnection.open(opened.host, opened.port, ssl_context=opened.ssl_context)
    session = OpenApiSession(connection, AppCredentials(opened.client_id, opened.client_secret),
                             TokenPair(opened.access_token, opened.refresh_token, opened.expires_at), _Store())
    await session.authorize_application()
    await session.authorize_account(opened.ctid_account_id)
    trader = await connection.request(M.ProtoOATraderReq(ctidTraderAccountId=opened.ctid_account_id))
    return session, trader


def test_an_account_is_reached_from_another_loop_and_the_server_stops():
    clock = SteppingClock()
    server = ThreadedOpenApiServer(clock=clock, seed=7)
    try:
        opened = server.open_account("kestrel_netting", login=3_200_001, balance=10_000.0)
        assert opened.account is not None and opened.account.login == 3_200_001
        assert "access" not in repr(opened) and opened.client_secret not in repr(opened)

        async def visit():
            session, trader = await _authorize(opened)
            await session.close()
            return trader

        trader = asyncio.run(visit())
        assert trader.trader.traderLogin == 3_200_001
        assert trader.trader.balance == 10_000 * 10 ** trader.trader.moneyDigits
        second = server.open_account("lumen_ctrader", login=3_200_002)
        assert (second.host, second.port) == (opened.host, opened.port)  # one server for all
    finally:
        server.close()
    assert server.server is None
    server.close()  # twice is fine


def test_it_quotes_the_market_of_mt5_terminals_on_the_same_seed_and_clock():
    clock = SteppingClock()
    server = ThreadedOpenApiServer(clock=clock, seed=11)
    try:
        opened = server.open_account("lumen_ctrader", login=3_200_010)
        terminal = new_terminal("harbor_fx", seed=11, clock=clock)
        assert opened.account.engine.market is terminal.sim.engine.market
    finally:
        server.close()


def test_a_profile_that_is_not_a_ctrader_broker_is_named():
    server = ThreadedOpenApiServer(clock=SteppingClock())
    with pytest.raises(ValueError, match="'harbor_fx' is not a simulated cTrader broker"):
        server.open_account("harbor_fx", login=1)
    server.close()
