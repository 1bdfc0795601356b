"""Trade requests through the connector's protocol layer against the simulated server over TLS:
replies versus pushed events, reconcile, closes, netting, refusals, deadlines and heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader import (
    AppCredentials,
    ConnectionLost,
    OpenApiConnection,
    OpenApiSession,
    OrderError,
    RequestTimeout,
    TokenPair,
)
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


class _NoStore:
    async def save(self, tokens: TokenPair) -> None:
        raise AssertionError("no refresh in these tests")


class Trader:
    """An authorized link to both simulated accounts, with every pushed event recorded."""

    def __init__(self, server, session: OpenApiSession) -> None:
        self.server = server
        self.session = session
        self.events: list[tuple[object, str | None]] = []
        self._arrived = asyncio.Event()
        session.add_listener(self._on_event)

    def _on_event(self, message, client_msg_id) -> None:
        self.events.append((message, client_msg_id))
        self._arrived.set()

    async def ask(self, message, **kw):
        return await self.session.connection.request(message, **kw)

    async def next_execution(self, timeout: float = 3.0) -> M.ProtoOAExecutionEvent:
        async with asyncio.timeout(timeout):
            while True:
                for i, (message, _) in enumerate(self.events):
                    if isinstance(message, M.ProtoOAExecutionEvent):
                        del self.events[i]
                        return message
                self._arrived.clear()
                await self._arrived.wait()

    async def market(self, account, symbol_id: int, side: int, cents: int, **fields):
        accepted = await self.ask(M.ProtoOANewOrderReq(
            ctidTraderAccountId=account.account_id, symbolId=symbol_id, orderType=MM.MARKET, tradeSide=side,
            volume=cents, **fields))
        return accepted, await self.next_execution()


@contextlib.asynccontextmanager
async def trader_on(server, **connection_options):
    g = server.grant_pair
    connection = await OpenApiConnection.open(server.host, server.port, ssl_context=server.client_ssl_context(),
                                              **connection_options)
    session = OpenApiSession(connection, AppCredentials(CLIENT_ID, CLIENT_SECRET),
                             TokenPair(g.access_token, g.refresh_token, g.expires_at), _NoStore())
    trader = Trader(server, session)
    try:
        await session.authorize_application()
        await session.authorize_account(server.hedged.account_id)
        await session.authorize_account(server.netted.account_id)
        yield trader
    finally:
        await session.close()


async def test_a_market_order_is_accepted_as_the_reply_then_filled_as_an_event_and_reconciled():
    async with running_server() as server, trader_on(server) as t:
        accepted, filled = await t.market(server.hedged, 1, MM.BUY, 2_000_000, label="cg:m1:p7", comment="copy of 7",
                                          clientOrderId="cg-m1-p7-s1")
        assert accepted.executionType == MM.ORDER_ACCEPTED and not accepted.HasField("position")
        assert accepted.order.clientOrderId == "cg-m1-p7-s1" and accepted.order.executedVolume == 0
        assert filled.executionType == MM.ORDER_FILLED
        assert filled.order.executedVolume == filled.order.tradeData.volume == 2_000_000  # 20 000 units
        assert filled.deal.filledVolume == 2_000_000 and filled.deal.orderId == accepted.order.orderId
        assert filled.deal.commission == -60  # 3 USD a lot a side on 0.2 lot, in cents
        position = filled.position
        assert position.positionStatus == MM.POSITION_STATUS_OPEN and position.moneyDigits == 2
        reconciled = await t.ask(M.ProtoOAReconcileReq(ctidTraderAccountId=server.hedged.account_id))
        assert [p.positionId for p in reconciled.position] == [position.positionId]
        held = reconciled.position[0]
        assert (held.tradeData.symbolId, held.tradeData.volume, held.tradeData.tradeSide) == (1, 2_000_000, MM.BUY)
        assert (held.tradeData.label, held.tradeData.comment) == ("cg:m1:p7", "copy of 7")
        assert held.price == filled.deal.executionPrice


async def test_a_partial_then_full_close_carries_the_close_details():
    async with running_server() as server, trader_on(server) as t:
        _, opened = await t.market(server.hedged, 41, MM.SELL, 1000, label="gold")  # 10 oz of gold
        position_id = opened.position.positionId
        accepted = await t.ask(M.ProtoOAClosePositionReq(
            ctidTraderAccountId=server.hedged.account_id, positionId=position_id, volume=400))
        assert accepted.order.closingOrder and accepted.order.positionId == position_id
        partial = await t.next_execution()
        detail = partial.deal.closePositionDetail
        assert detail.closedVolume == 400 and detail.entryPrice == opened.position.price
        assert detail.moneyDigits == 2 and detail.balance == server.hedged.money(server.hedged.engine.balance)
        assert partial.position.positionStatus == MM.POSITION_STATUS_OPEN
        assert partial.position.tradeData.volume == 600 and partial.position.tradeData.label == "gold"
        await t.ask(M.ProtoOAClosePositionReq(
            ctidTraderAccountId=server.hedged.account_id, positionId=position_id, volume=600))
        closed = await t.next_execution()
        assert closed.deal.closePositionDetail.closedVolume == 600
        assert closed.position.positionStatus == MM.POSITION_STATUS_CLOSED
        reconciled = await t.ask(M.ProtoOAReconcileReq(ctidTraderAccountId=server.hedged.account_id))
        assert list(reconciled.position) == []


async def test_a_netted_account_reverses_one_position_per_symbol():
    async with running_server() as server, trader_on(server) as t:
        account = server.netted
        _, first = await t.market(account, 101, MM.BUY, 1_000_000)  # 10 000 units of EUR/USD
        _, more = await t.market(account, 101, MM.BUY, 1_000_000)
        assert more.position.positionId == first.position.positionId
        assert more.position.tradeData.volume == 2_000_000
        vwap = (first.deal.executionPrice + more.deal.executionPrice) / 2
        assert more.position.price == pytest.approx(vwap, abs=1e-7)
        _, reversed_ = await t.market(account, 101, MM.SELL, 4_500_000)
        position = reversed_.position
        assert position.positionId == first.position.positionId  # the simulator keeps the id
        assert (position.tradeData.tradeSide, position.tradeData.volume) == (MM.SELL, 2_500_000)
        assert reversed_.deal.closePositionDetail.closedVolume == 2_000_000
        reconciled = await t.ask(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id))
        assert [(p.tradeData.tradeSide, p.tradeData.volume) for p in reconciled.position] == [(MM.SELL, 2_500_000)]


async def test_a_broker_volume_step_is_refused_by_an_order_error_correlated_by_client_msg_id():
    async with running_server() as server, trader_on(server) as t:
        # 5 000 units: fine at Lumen, under Kestrel's 10 000-unit minimum.
        with pytest.raises(OrderError) as caught:
            await t.ask(M.ProtoOANewOrderReq(ctidTraderAccountId=server.netted.account_id, symbolId=101,
                                             orderType=MM.MARKET, tradeSide=MM.BUY, volume=500_000))
        assert caught.value.code == "TRADING_BAD_VOLUME" and "min 10000" in caught.value.description
        assert t.events == []  # the error answered the request; nothing was left over as an event


async def test_an_order_error_with_ids_zero_is_still_the_answer_to_its_request():
    async with running_server() as server, trader_on(server) as t:
        with pytest.raises(OrderError) as caught:
            await t.ask(M.ProtoOAClosePositionReq(
                ctidTraderAccountId=server.hedged.account_id, positionId=2416447, volume=100))
        error = caught.value
        assert (error.code, error.order_id, error.position_id) == ("POSITION_NOT_FOUND", 0, 0)
        assert error.description == "Position not found with id 2416447"
        _, opened = await t.market(server.hedged, 1, MM.BUY, 100_000)
        bid = server.hedged.quote(server.hedged.broker.by_id[1])[0]
        with pytest.raises(OrderError) as caught:
            await t.ask(M.ProtoOAAmendPositionSLTPReq(
                ctidTraderAccountId=server.hedged.account_id, positionId=opened.position.positionId,
                takeProfit=round(bid - 0.001, 5)))
        assert caught.value.code == "TRADING_BAD_STOPS"
        assert caught.value.description.startswith("New TP for BUY position should be >= current BID price.")


async def test_amending_sl_and_tp_is_reported_with_the_position():
    async with running_server() as server, trader_on(server) as t:
        _, opened = await t.market(server.hedged, 1, MM.BUY, 100_000)
        bid = server.hedged.quote(server.hedged.broker.by_id[1])[0]
        replaced = await t.ask(M.ProtoOAAmendPositionSLTPReq(
            ctidTraderAccountId=server.hedged.account_id, positionId=opened.position.positionId,
            stopLoss=round(bid - 0.01, 5), takeProfit=round(bid + 0.01, 5)))
        assert replaced.executionType == MM.ORDER_REPLACED
        assert replaced.position.stopLoss == round(bid - 0.01, 5)
        assert replaced.position.takeProfit == round(bid + 0.01, 5)


async def test_an_order_the_server_never_answers_times_out_and_reconcile_finds_it():
    async with running_server() as server, trader_on(server) as t:
        server.faults.unanswered_orders = 1
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as caught:
            await t.ask(M.ProtoOANewOrderReq(ctidTraderAccountId=server.hedged.account_id, symbolId=1,
                                             orderType=MM.MARKET, tradeSide=MM.BUY, volume=100_000,
                                             label="cg:lost"), timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 2
        assert caught.value.code == "REQUEST_TIMEOUT" and t.session.connection.pending == 0
        reconciled = await t.ask(M.ProtoOAReconcileReq(ctidTraderAccountId=server.hedged.account_id))
        assert [p.tradeData.label for p in reconciled.position] == ["cg:lost"]


async def test_a_dropped_link_fails_a_waiting_request_at_once_not_at_its_deadline():
    async with running_server() as server, trader_on(server) as t:
        server.faults.unanswered_orders = 1
        request = asyncio.ensure_future(t.ask(M.ProtoOANewOrderReq(
            ctidTraderAccountId=server.hedged.account_id, symbolId=1, orderType=MM.MARKET, tradeSide=MM.BUY,
            volume=100_000), timeout=30))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        server.drop_connections()
        with pytest.raises(ConnectionLost):
            await request
        assert time.monotonic() - started < 2
        with pytest.raises(ConnectionLost):
            await t.ask(M.ProtoOAVersionReq())


async def test_heartbeats_go_both_ways_and_a_silent_server_is_taken_as_gone():
    async with running_server(heartbeat_interval=0.05) as server, trader_on(server, heartbeat_interval=0.05) as t:
        await asyncio.sleep(0.4)
        connection = t.session.connection
        assert connection.heartbeats_sent >= 3 and connection.heartbeats_received >= 3
        assert server.links[0].heartbeats_received >= 3
        assert t.events == []  # heartbeats are not events
    async with running_server(heartbeat_interval=3600) as server, \
            trader_on(server, heartbeat_interval=0.05, idle_timeout=0.3) as t:
        connection = t.session.connection
        async with asyncio.timeout(3):
            await connection.closed.wait()
        assert "no message from the server" in connection.close_reason


async def test_a_fill_whose_reply_is_lost_with_the_link_is_found_by_reconcile_on_a_new_link():
    async with running_server() as server:
        async with trader_on(server) as t:
            server.faults.drop_after_fill = 1
            with pytest.raises(ConnectionLost):
                await t.ask(M.ProtoOANewOrderReq(ctidTraderAccountId=server.hedged.account_id, symbolId=1,
                                                 orderType=MM.MARKET, tradeSide=MM.BUY, volume=100_000,
                                                 clientOrderId="cg-dropped"), timeout=5)
        async with trader_on(server) as again:
            reconciled = await again.ask(M.ProtoOAReconcileReq(ctidTraderAccountId=server.hedged.account_id))
            assert [p.tradeData.volume for p in reconciled.position] == [100_000]
