"""The levers a scenario pulls on a simulated cTrader account: refusals forced by the trade
server's return codes, an account taken off the network for a while, and slow answers."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.errors import ConnectionLost, OpenApiError
from copier_gui.sim import constants as mt5
from tests.unit.sim.ctrader.rig import connected, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


def _buy(account, cents=100_000):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=1, orderType=MM.MARKET,
                                tradeSide=MM.BUY, volume=cents)


async def test_forced_refusals_answer_the_next_trades_with_the_matching_open_api_codes():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        account.force_refusals(mt5.TRADE_RETCODE_NO_MONEY, mt5.TRADE_RETCODE_REQUOTE, mt5.TRADE_RETCODE_TIMEOUT)
        codes = []
        for _ in range(3):
            with pytest.raises(OpenApiError) as caught:
                await link.request(_buy(account))
            codes.append(caught.value.code)
        assert codes == ["NOT_ENOUGH_MONEY", "NO_QUOTES", "TIMEOUT_ERROR"]
        assert not account.engine.positions
        accepted = await link.request(_buy(account))
        assert accepted.executionType == MM.ORDER_ACCEPTED
        await link.close()


async def test_an_account_taken_offline_drops_its_links_and_cannot_be_reached_until_back():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        server.take_offline(account.account_id, 30)
        async with asyncio.timeout(2):
            await link.closed.wait()
        with pytest.raises(ConnectionLost):
            await connected(server, account)  # the account's authorization never gets through
        server.clock.advance(31)
        again = await connected(server, account)
        await again.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        server.take_offline(account.account_id)  # until brought back
        server.clock.advance(3600)
        with pytest.raises(ConnectionLost):
            await connected(server, account)
        server.bring_online(account.account_id)
        await (await connected(server, account)).close()


async def test_answers_about_a_slow_account_take_about_the_latency_set():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        loop = asyncio.get_running_loop()
        server.set_latency(account.account_id, 0.3)
        started = loop.time()
        await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        slow = loop.time() - started
        server.set_latency(account.account_id, 0.0)
        started = loop.time()
        await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        assert slow > 0.1 and loop.time() - started < 0.1
        await link.close()
