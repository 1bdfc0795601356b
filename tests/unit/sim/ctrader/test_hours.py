"""When the simulated server trades: each symbol's weekly schedule and holidays as the symbol
reports them, a closed market and a holiday refused, and server maintenance and dropped sessions."""

from __future__ import annotations

import datetime as dt

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.connection import OpenApiConnection
from copier_gui.connectors.ctrader.errors import ConnectionLost, OpenApiError
from copier_gui.sim.ctrader.profiles import Holiday
from copier_gui.sim.ctrader.schedule import open_at
from copier_gui.sim.instruments import INSTRUMENTS, session_open
from tests.kit import WEEKDAY_NOON_UTC
from tests.unit.sim.ctrader.rig import (
    CLIENT_ID,
    CLIENT_SECRET,
    Events,
    SteppingClock,
    connected,
    running_server,
)

M = cm.messages
MM = cm.model

SATURDAY_NOON_UTC = WEEKDAY_NOON_UTC + 3 * 86_400


def _market(account, symbol_id, side=MM.BUY, cents=100_000):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=symbol_id, orderType=MM.MARKET,
                                tradeSide=side, volume=cents)


def test_the_weekly_schedule_is_the_markets_own_session():
    for key in ("EURUSD", "XAUUSD", "US30", "BTCUSD"):
        for hour in range(0, 7 * 24 * 4):
            moment = WEEKDAY_NOON_UTC + hour * 900
            assert open_at(key, moment) == session_open(INSTRUMENTS[key].session, moment), (key, hour)


@pytest.mark.asyncio
async def test_symbols_report_their_schedule_time_zone_and_holidays():
    async with running_server() as server:
        link = await connected(server, server.netted)
        reply = await link.request(M.ProtoOASymbolByIdReq(ctidTraderAccountId=server.netted.account_id,
                                                          symbolId=[101, 131, 301]))
        eur, gold, btc = reply.symbol
        assert [(i.startSecond, i.endSecond) for i in eur.schedule] == [(22 * 3600, 5 * 86_400 + 21 * 3600)]
        assert len(gold.schedule) == 5 and gold.schedule[0].endSecond == 86_400 + 21 * 3600
        assert [(i.startSecond, i.endSecond) for i in btc.schedule] == [(0, 7 * 86_400)]
        assert eur.scheduleTimeZone == "UTC"
        (christmas,) = eur.holiday
        assert christmas.isRecurring and christmas.holidayDate * 86_400 == dt.datetime(
            2026, 12, 25, tzinfo=dt.UTC).timestamp()
        assert list(btc.holiday) == []
        await link.close()


@pytest.mark.asyncio
async def test_a_closed_market_and_a_holiday_refuse_trades_and_crypto_trades_on():
    async with running_server(clock=SteppingClock(SATURDAY_NOON_UTC)) as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        with pytest.raises(OpenApiError) as caught:
            await link.request(_market(account, 1))
        assert caught.value.code == "MARKET_CLOSED"
        accepted = await link.request(_market(account, 22395, cents=100))  # BTCUSD, 0.01
        filled = await events.wait_for(lambda e: getattr(e, "executionType", 0) == MM.ORDER_FILLED)
        assert filled.order.orderId == accepted.order.orderId
        today = dt.datetime.fromtimestamp(server.clock.time(), dt.UTC).date()
        account.add_holiday(Holiday(7, "Exchange holiday", today), 22395)
        with pytest.raises(OpenApiError) as caught:
            await link.request(_market(account, 22395, cents=100))
        assert caught.value.code == "SYMBOL_HAS_HOLIDAY" and "Exchange holiday" in caught.value.description
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                         positionId=filled.position.positionId, volume=100))
        assert caught.value.code == "SYMBOL_HAS_HOLIDAY"
        await link.close()


@pytest.mark.asyncio
async def test_maintenance_cuts_the_links_and_refuses_requests_until_its_end():
    async with running_server() as server:
        link = await connected(server, server.hedged)
        until = server.clock.time() + 600
        server.start_maintenance(until)
        await link.closed.wait()
        with pytest.raises(ConnectionLost):
            await link.request(M.ProtoOATraderReq(ctidTraderAccountId=server.hedged.account_id))
        again = await OpenApiConnection.open(server.host, server.port, ssl_context=server.client_ssl_context())
        with pytest.raises(OpenApiError) as caught:
            await again.request(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
        assert caught.value.code == "SERVER_IS_UNDER_MAINTENANCE"
        assert caught.value.message.maintenanceEndTimestamp == int(until)  # seconds, as ProtoOAErrorRes says
        server.clock.advance(601)
        await again.request(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
        await again.close()


@pytest.mark.asyncio
async def test_sessions_dropped_at_the_weekend_keep_the_link_and_need_a_new_authorization():
    async with running_server() as server:
        link = await connected(server, server.hedged, server.netted)
        events = Events(link)
        server.end_sessions(server.hedged.account_id)
        dropped = await events.wait_for(lambda e: isinstance(e, M.ProtoOAAccountDisconnectEvent))
        assert dropped.ctidTraderAccountId == server.hedged.account_id
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOATraderReq(ctidTraderAccountId=server.hedged.account_id))
        assert caught.value.code == "ACCOUNT_NOT_AUTHORIZED"
        await link.request(M.ProtoOATraderReq(ctidTraderAccountId=server.netted.account_id))
        await link.request(M.ProtoOAAccountAuthReq(ctidTraderAccountId=server.hedged.account_id,
                                                   accessToken=server.grant_pair.access_token))
        await link.request(M.ProtoOATraderReq(ctidTraderAccountId=server.hedged.account_id))
        await link.close()
