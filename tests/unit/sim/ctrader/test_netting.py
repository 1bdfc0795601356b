"""A netted simulated cTrader account over the connector's own link: one position per symbol,
grown at its average price, reduced by an opposite order, and turned over by an oversized one
under either position-id policy (real servers' is undocumented)."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from tests.unit.sim.ctrader.rig import Events, connected, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio

EURUSD = 101  # at the netted broker


def _market(account, side, cents):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=EURUSD, orderType=MM.MARKET,
                                tradeSide=side, volume=cents)


def _fill_of(order_id):
    return lambda e: (isinstance(e, M.ProtoOAExecutionEvent) and e.executionType == MM.ORDER_FILLED
                      and e.order.orderId == order_id)


async def _trade(link, events, request):
    accepted = await link.request(request)
    return await events.wait_for(_fill_of(accepted.order.orderId))


async def _positions(link, account):
    return list((await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id))).position)


async def test_same_side_orders_grow_one_position_at_its_average_price():
    async with running_server() as server:
        account = server.netted
        link = await connected(server, account)
        events = Events(link)
        first = await _trade(link, events, _market(account, MM.BUY, 2_000_000))
        second = await _trade(link, events, _market(account, MM.BUY, 1_000_000))
        (position,) = await _positions(link, account)
        assert position.positionId == first.position.positionId == second.position.positionId
        assert position.tradeData.volume == 3_000_000 and position.tradeData.tradeSide == MM.BUY
        average = (first.deal.executionPrice * 2 + second.deal.executionPrice) / 3
        assert position.price == pytest.approx(average, abs=1e-6)
        reduced = await _trade(link, events, _market(account, MM.SELL, 1_000_000))
        assert reduced.deal.closePositionDetail.closedVolume == 1_000_000
        (position,) = await _positions(link, account)
        assert position.tradeData.volume == 2_000_000 and position.positionId == first.position.positionId
        await link.close()


async def test_a_reversal_keeps_the_position_id_by_default():
    async with running_server() as server:
        account = server.netted
        link = await connected(server, account)
        events = Events(link)
        opened = await _trade(link, events, _market(account, MM.BUY, 2_000_000))
        turned = await _trade(link, events, _market(account, MM.SELL, 3_000_000))
        assert turned.deal.closePositionDetail.closedVolume == 2_000_000
        assert turned.order.executedVolume == 3_000_000 and turned.order.orderStatus == MM.ORDER_STATUS_FILLED
        (position,) = await _positions(link, account)
        assert position.positionId == opened.position.positionId == turned.position.positionId
        assert (position.tradeData.tradeSide, position.tradeData.volume) == (MM.SELL, 1_000_000)
        await link.close()


async def test_a_reversal_may_close_the_position_and_open_a_new_id_in_two_deals():
    async with running_server() as server:
        account = server.netted
        account.reversal_policy = "new"
        link = await connected(server, account)
        events = Events(link)
        opened = await _trade(link, events, _market(account, MM.BUY, 2_000_000))
        accepted = await link.request(_market(account, MM.SELL, 3_000_000))
        closing = await events.wait_for(_fill_of(accepted.order.orderId))
        opening = await events.wait_for(_fill_of(accepted.order.orderId))
        old_id = opened.position.positionId
        assert closing.position.positionId == old_id and closing.position.positionStatus == MM.POSITION_STATUS_CLOSED
        assert closing.deal.closePositionDetail.closedVolume == 2_000_000
        assert closing.order.executedVolume == 2_000_000 and closing.order.orderStatus == MM.ORDER_STATUS_ACCEPTED
        new_id = opening.position.positionId
        assert new_id != old_id and opening.deal.orderId == accepted.order.orderId
        assert opening.order.executedVolume == 3_000_000 and opening.order.orderStatus == MM.ORDER_STATUS_FILLED
        assert not opening.deal.HasField("closePositionDetail")
        (position,) = await _positions(link, account)
        assert position.positionId == new_id
        assert (position.tradeData.tradeSide, position.tradeData.volume) == (MM.SELL, 1_000_000)
        details = await link.request(M.ProtoOAOrderDetailsReq(ctidTraderAccountId=account.account_id,
                                                              orderId=accepted.order.orderId))
        assert [d.positionId for d in details.deal] == [old_id, new_id]
        await link.close()
