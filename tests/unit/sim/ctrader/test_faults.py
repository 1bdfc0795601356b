"""The rest of what a faithful simulated cTrader server does, over the connector's own link: the
trader pushed after a close, symbols closed to trading, and the scripted faults (a client
disconnect, a refused cancel, a request rate-limited on its own, a plaintext link)."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.connection import OpenApiConnection
from copier_gui.connectors.ctrader.errors import OpenApiError
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET, Events, connected, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


def _order(account, side, cents, order_type=MM.MARKET, symbol_id=1, **fields):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=symbol_id, orderType=order_type,
                                tradeSide=side, volume=cents, **fields)


def _execution(kind, order_id):
    return lambda e: (isinstance(e, M.ProtoOAExecutionEvent) and e.executionType == kind
                      and e.order.orderId == order_id)


async def test_a_close_is_followed_by_the_trader_with_the_new_balance():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        accepted = await link.request(_order(account, MM.BUY, 100_000))
        opened = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        assert not [e for e in events.items if isinstance(e, M.ProtoOATraderUpdatedEvent)]  # an open is no close
        close = await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                             positionId=opened.position.positionId, volume=100_000))
        assert close.order.closingOrder
        closed = await events.wait_for(_execution(MM.ORDER_FILLED, close.order.orderId))
        assert closed.position.positionStatus == MM.POSITION_STATUS_CLOSED
        updated = await events.wait_for(lambda e: isinstance(e, M.ProtoOATraderUpdatedEvent))
        assert updated.trader.balance == closed.deal.closePositionDetail.balance
        assert updated.trader.balanceVersion == closed.deal.closePositionDetail.balanceVersion
        await link.close()


async def test_a_symbol_closed_to_trading_says_so_and_refuses_what_its_mode_forbids():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        accepted = await link.request(_order(account, MM.BUY, 200_000))
        opened = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        account.set_trading_mode(1, MM.CLOSE_ONLY_MODE)
        (symbol,) = (await link.request(M.ProtoOASymbolByIdReq(ctidTraderAccountId=account.account_id,
                                                                symbolId=[1]))).symbol
        assert symbol.tradingMode == MM.CLOSE_ONLY_MODE
        with pytest.raises(OpenApiError) as caught:
            await link.request(_order(account, MM.BUY, 100_000))
        assert caught.value.code == "TRADING_DISABLED"
        await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                     positionId=opened.position.positionId, volume=100_000))
        account.set_trading_mode(1, MM.DISABLED_WITHOUT_PENDINGS_EXECUTION)
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                         positionId=opened.position.positionId, volume=100_000))
        assert caught.value.code == "TRADING_DISABLED"
        account.set_trading_mode(1, MM.ENABLED)
        await link.request(_order(account, MM.BUY, 100_000))
        await link.close()


async def test_a_client_disconnect_event_ends_the_link_with_its_reason():
    async with running_server() as server:
        link = await connected(server, server.hedged)
        events = Events(link)
        server.disconnect_clients("Server restart")
        event = await events.wait_for(lambda e: isinstance(e, M.ProtoOAClientDisconnectEvent))
        assert event.reason == "Server restart"
        async with asyncio.timeout(2):
            await link.closed.wait()
        assert server.links == []


async def test_a_cancel_may_be_rejected_and_the_order_keeps_working():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        bid, _ = account.quote(account.broker.by_id[1])
        placed = await link.request(_order(account, MM.BUY, 100_000, MM.LIMIT, limitPrice=round(bid - 0.01, 5)))
        server.faults.rejected_cancels = 1
        cancel = M.ProtoOACancelOrderReq(ctidTraderAccountId=account.account_id, orderId=placed.order.orderId)
        rejected = await link.request(cancel)
        assert rejected.executionType == MM.ORDER_CANCEL_REJECTED and rejected.order.orderId == placed.order.orderId
        assert rejected.order.orderStatus == MM.ORDER_STATUS_ACCEPTED and placed.order.orderId in account.engine.orders
        cancelled = await link.request(cancel)
        assert cancelled.executionType == MM.ORDER_CANCELLED
        await link.close()


async def test_a_single_request_may_be_rate_limited():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        server.faults.rate_limited_requests = 1
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAOrderListReq(ctidTraderAccountId=account.account_id))
        assert caught.value.code == "REQUEST_FREQUENCY_EXCEEDED" and caught.value.message.ctidTraderAccountId == 0
        await link.request(M.ProtoOAOrderListReq(ctidTraderAccountId=account.account_id))
        await link.close()


async def test_the_server_may_listen_without_tls():
    async with running_server(tls=False) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        link = OpenApiConnection(reader, writer)
        await link.request(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
        await link.close()


async def test_a_refresh_ends_the_old_tokens_sessions_on_every_link_and_spends_the_refresh_token():
    async with running_server() as server:
        account = server.hedged
        first, second = await connected(server, account), await connected(server, account)
        events = Events(second)
        old = server.grant_pair
        fresh = await first.request(M.ProtoOARefreshTokenReq(refreshToken=old.refresh_token))
        assert fresh.expiresIn == 2_628_000 and fresh.refreshToken != old.refresh_token
        invalidated = await events.wait_for(lambda e: isinstance(e, M.ProtoOAAccountsTokenInvalidatedEvent))
        assert list(invalidated.ctidTraderAccountIds) == [account.account_id]
        with pytest.raises(OpenApiError) as caught:
            await second.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        assert caught.value.code == "ACCOUNT_NOT_AUTHORIZED"
        with pytest.raises(OpenApiError) as caught:
            await second.request(M.ProtoOARefreshTokenReq(refreshToken=old.refresh_token))
        assert caught.value.code == "CH_ACCESS_TOKEN_INVALID"
        await second.request(M.ProtoOAAccountAuthReq(ctidTraderAccountId=account.account_id,
                                                     accessToken=fresh.accessToken))
        await second.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        await first.close()
        await second.close()


async def test_an_order_beyond_the_margin_is_refused_and_a_stop_out_is_a_server_event():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        with pytest.raises(OpenApiError) as caught:
            await link.request(_order(account, MM.BUY, 10_000, symbol_id=22395))  # 100 BTC at 1:500
        assert caught.value.code == "NOT_ENOUGH_MONEY" and caught.value.order_id == 0
        accepted = await link.request(_order(account, MM.BUY, 10_000_000, label="doomed"))  # one lot
        opened = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        server.deposit(account.account_id, -9_910.0)  # equity (about 87) falls under half the margin (about 217)
        stopped = await events.wait_for(lambda e: isinstance(e, M.ProtoOAExecutionEvent) and e.order.isStopOut)
        assert stopped.executionType == MM.ORDER_FILLED and stopped.isServerEvent and stopped.order.closingOrder
        assert stopped.position.positionId == opened.position.positionId
        assert stopped.position.positionStatus == MM.POSITION_STATUS_CLOSED and stopped.position.tradeData.label == "doomed"
        await link.close()


async def test_an_application_over_its_connection_limit_is_refused():
    async with running_server() as server:
        server.max_links_per_application = 1
        first = await connected(server)
        second = await OpenApiConnection.open(server.host, server.port, ssl_context=server.client_ssl_context())
        with pytest.raises(OpenApiError) as caught:
            await second.request(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
        assert caught.value.code == "CONNECTIONS_LIMIT_EXCEEDED"
        await first.close()
        async with asyncio.timeout(2):
            while len(server.links) > 1:
                await asyncio.sleep(0.01)
        await second.request(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
        await second.close()


@pytest.mark.parametrize(("channel", "reply"), [("order_error", M.ProtoOAOrderErrorEvent),
                                                ("rejected", M.ProtoOAExecutionEvent),
                                                ("error_res", M.ProtoOAErrorRes)])
async def test_a_refused_trade_can_come_back_on_each_channel_real_servers_use(channel, reply):
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        server.faults.refusal_channel = channel
        with pytest.raises(OpenApiError) as caught:
            await link.request(_order(account, MM.BUY, 100_050))  # not a whole step
        assert caught.value.code == "TRADING_BAD_VOLUME" and isinstance(caught.value.message, reply)
        if channel == "rejected":
            assert caught.value.message.executionType == MM.ORDER_REJECTED
            assert caught.value.message.errorCode == "TRADING_BAD_VOLUME"
        await link.close()


async def test_a_request_may_fail_inside_the_server_with_unknown_error_and_the_link_stays_up():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        server.faults.unknown_errors = 1
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        assert caught.value.code == "UNKNOWN_ERROR"
        await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        await link.close()
