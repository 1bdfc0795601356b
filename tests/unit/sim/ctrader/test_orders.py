"""Order handling of the simulated server beyond plain market and pending orders, over the
connector's own link: amending a pending order, STOP_LIMIT and MARKET_RANGE orders, fills in
several deals and IOC partial fills, and protection orders in Reconcile."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.errors import OpenApiError
from tests.unit.sim.ctrader.rig import Events, connected, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


def _order(account, side, cents, order_type=MM.MARKET, symbol_id=1, **fields):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=symbol_id, orderType=order_type,
                                tradeSide=side, volume=cents, **fields)


def _execution(kind, order_id=None):
    return lambda e: (isinstance(e, M.ProtoOAExecutionEvent) and e.executionType == kind
                      and (order_id is None or e.order.orderId == order_id))


async def test_a_pending_order_is_amended_in_price_volume_stops_and_expiry():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        bid, ask = account.quote(account.broker.by_id[1])
        placed = await link.request(_order(account, MM.BUY, 100_000, MM.LIMIT, limitPrice=round(bid - 0.01, 5),
                                           stopLoss=round(bid - 0.02, 5), label="amend-me"))
        order_id = placed.order.orderId
        expiry = int((server.clock.time() + 3600) * 1000)
        amend = M.ProtoOAAmendOrderReq(ctidTraderAccountId=account.account_id, orderId=order_id, volume=300_000,
                                       limitPrice=round(bid - 0.005, 5), takeProfit=round(bid + 0.01, 5),
                                       expirationTimestamp=expiry)
        replaced = await link.request(amend)
        assert replaced.executionType == MM.ORDER_REPLACED and replaced.order.orderId == order_id
        order = replaced.order
        assert (order.tradeData.volume, order.limitPrice, order.expirationTimestamp) == (
            300_000, round(bid - 0.005, 5), expiry)
        assert order.takeProfit == round(bid + 0.01, 5) and not order.HasField("stopLoss")  # left out: removed
        assert order.timeInForce == MM.GOOD_TILL_DATE and order.tradeData.label == "amend-me"
        engine_order = account.engine.orders[order_id]
        assert (engine_order.volume_current, engine_order.price_open, engine_order.sl) == (0.03, round(bid - 0.005, 5), 0.0)
        reconciled = await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id))
        assert [(o.orderId, o.tradeData.volume) for o in reconciled.order] == [(order_id, 300_000)]
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAAmendOrderReq(ctidTraderAccountId=account.account_id, orderId=order_id,
                                                      limitPrice=round(ask + 0.01, 5)))
        assert caught.value.code == "TRADING_BAD_PRICES"
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAAmendOrderReq(ctidTraderAccountId=account.account_id, orderId=order_id,
                                                      volume=100_050))
        assert caught.value.code == "TRADING_BAD_VOLUME"
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAAmendOrderReq(ctidTraderAccountId=account.account_id, orderId=777))
        assert caught.value.code == "ORDER_NOT_FOUND" and caught.value.order_id == 777
        await link.close()


async def test_a_stop_limit_order_waits_for_its_stop_and_keeps_its_slippage():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        _, ask = account.quote(account.broker.by_id[1])
        with pytest.raises(OpenApiError) as caught:
            await link.request(_order(account, MM.BUY, 100_000, MM.STOP_LIMIT, stopPrice=round(ask - 0.001, 5),
                                      slippageInPoints=5))
        assert caught.value.code == "TRADING_BAD_PRICES"
        placed = await link.request(_order(account, MM.BUY, 100_000, MM.STOP_LIMIT, stopPrice=round(ask + 0.0002, 5),
                                           slippageInPoints=50))
        assert placed.executionType == MM.ORDER_ACCEPTED
        assert placed.order.orderType == MM.STOP_LIMIT and placed.order.slippageInPoints == 50
        assert placed.order.stopPrice == round(ask + 0.0002, 5)
        assert placed.position.positionStatus == MM.POSITION_STATUS_CREATED
        for _ in range(400):
            server.clock.advance(30)
            try:
                filled = await events.wait_for(_execution(MM.ORDER_FILLED, placed.order.orderId), timeout=0.05)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the stop was never reached")
        assert filled.order.orderType == MM.STOP_LIMIT and filled.position.positionStatus == MM.POSITION_STATUS_OPEN
        await link.close()


async def test_a_market_range_order_fills_only_within_its_range():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        _, ask = account.quote(account.broker.by_id[1])
        far = await link.request(_order(account, MM.BUY, 100_000, MM.MARKET_RANGE, baseSlippagePrice=round(ask - 0.01, 5),
                                        slippageInPoints=10))
        assert far.executionType == MM.ORDER_ACCEPTED
        cancelled = await events.wait_for(_execution(MM.ORDER_CANCELLED, far.order.orderId))
        assert cancelled.order.executedVolume == 0 and cancelled.order.orderStatus == MM.ORDER_STATUS_CANCELLED
        assert not account.engine.positions
        near = await link.request(_order(account, MM.BUY, 100_000, MM.MARKET_RANGE, baseSlippagePrice=ask,
                                         slippageInPoints=500))
        filled = await events.wait_for(_execution(MM.ORDER_FILLED, near.order.orderId))
        assert filled.order.orderType == MM.MARKET_RANGE and filled.order.baseSlippagePrice == ask
        assert filled.deal.executionPrice <= ask + 0.005
        with pytest.raises(OpenApiError) as caught:
            await link.request(_order(account, MM.BUY, 100_000, MM.MARKET_RANGE))
        assert caught.value.code == "INVALID_REQUEST"
        await link.close()


async def test_an_ioc_order_partly_filled_is_cancelled_with_its_executed_volume():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        server.faults.split_fills = 1
        accepted = await link.request(_order(account, MM.BUY, 1_000_000, timeInForce=MM.IMMEDIATE_OR_CANCEL))
        assert accepted.executionType == MM.ORDER_ACCEPTED and accepted.order.executedVolume == 0
        cancelled = await events.wait_for(_execution(MM.ORDER_CANCELLED, accepted.order.orderId))
        executed = cancelled.order.executedVolume
        assert 0 < executed < 1_000_000 and cancelled.order.orderStatus == MM.ORDER_STATUS_CANCELLED
        assert cancelled.deal.filledVolume == executed and cancelled.position.tradeData.volume == executed
        assert server.faults.split_fills == 0
        await link.close()


async def test_an_order_filled_in_several_deals_reports_each_as_filled_until_complete():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        server.faults.split_fills = 1
        accepted = await link.request(_order(account, MM.BUY, 1_000_000, clientOrderId="multi"))
        first = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        assert 0 < first.order.executedVolume < 1_000_000 and first.order.orderStatus == MM.ORDER_STATUS_ACCEPTED
        second = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        assert second.order.executedVolume == 1_000_000 and second.order.orderStatus == MM.ORDER_STATUS_FILLED
        assert second.position.positionId == first.position.positionId
        assert second.position.tradeData.volume == 1_000_000 and second.deal.dealId != first.deal.dealId
        assert second.order.clientOrderId == "multi"
        reconciled = await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id))
        assert len(reconciled.position) == 1 and list(reconciled.order) == []
        await link.close()


async def test_reconcile_returns_protection_orders_separately_when_asked():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        accepted = await link.request(_order(account, MM.BUY, 100_000, label="guarded"))
        filled = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        position_id = filled.position.positionId
        bid, _ = account.quote(account.broker.by_id[1])
        sl, tp = round(bid - 0.01, 5), round(bid + 0.01, 5)
        await link.request(M.ProtoOAAmendPositionSLTPReq(ctidTraderAccountId=account.account_id,
                                                         positionId=position_id, stopLoss=sl, takeProfit=tp))
        plain = await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id))
        assert list(plain.order) == [] and (plain.position[0].stopLoss, plain.position[0].takeProfit) == (sl, tp)
        guarded = await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id,
                                                           returnProtectionOrders=True))
        (protection,) = guarded.order
        assert protection.orderType == MM.STOP_LOSS_TAKE_PROFIT and protection.closingOrder
        assert (protection.positionId, protection.stopLoss, protection.takeProfit) == (position_id, sl, tp)
        assert protection.tradeData.tradeSide == MM.SELL and protection.tradeData.volume == 100_000
        again = await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id,
                                                         returnProtectionOrders=True))
        assert again.order[0].orderId == protection.orderId  # the same order, not a new one each time
        await link.close()


async def test_an_ioc_order_that_partly_reduces_a_netted_position_is_cancelled_before_the_trader_update():
    async with running_server() as server:
        account = server.netted
        link = await connected(server, account)
        events = Events(link)
        opened = await link.request(_order(account, MM.BUY, 5_000_000, symbol_id=101))
        await events.wait_for(_execution(MM.ORDER_FILLED, opened.order.orderId))
        server.faults.split_fills = 1
        accepted = await link.request(_order(account, MM.SELL, 3_000_000, symbol_id=101,
                                             timeInForce=MM.IMMEDIATE_OR_CANCEL))
        cancelled = await events.wait_for(_execution(MM.ORDER_CANCELLED, accepted.order.orderId))
        assert 0 < cancelled.order.executedVolume < 3_000_000 and cancelled.deal.HasField("closePositionDetail")
        await events.wait_for(lambda e: isinstance(e, M.ProtoOATraderUpdatedEvent))
        await link.close()


async def test_relative_stops_are_set_from_the_fill_price_and_shown_on_the_filled_position():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        accepted = await link.request(_order(account, MM.BUY, 100_000, relativeStopLoss=500, relativeTakeProfit=900))
        filled = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        price = filled.deal.executionPrice
        assert filled.position.stopLoss == round(price - 0.005, 5)
        assert filled.position.takeProfit == round(price + 0.009, 5)
        _, ask = account.quote(account.broker.by_id[1])
        placed = await link.request(_order(account, MM.SELL, 100_000, MM.LIMIT, limitPrice=round(ask + 0.0003, 5),
                                           relativeStopLoss=700))
        assert placed.order.relativeStopLoss == 700
        for _ in range(400):
            server.clock.advance(30)
            try:
                triggered = await events.wait_for(_execution(MM.ORDER_FILLED, placed.order.orderId), timeout=0.05)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the limit was never reached")
        assert triggered.position.stopLoss == round(triggered.deal.executionPrice + 0.007, 5)
        assert not triggered.position.HasField("takeProfit")
        await link.close()


async def test_a_position_amended_to_trail_its_stop_says_so():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        accepted = await link.request(_order(account, MM.BUY, 100_000))
        filled = await events.wait_for(_execution(MM.ORDER_FILLED, accepted.order.orderId))
        bid, _ = account.quote(account.broker.by_id[1])
        replaced = await link.request(M.ProtoOAAmendPositionSLTPReq(
            ctidTraderAccountId=account.account_id, positionId=filled.position.positionId,
            stopLoss=round(bid - 0.002, 5), trailingStopLoss=True))
        assert replaced.position.trailingStopLoss and replaced.position.stopLoss == round(bid - 0.002, 5)
        await link.close()
