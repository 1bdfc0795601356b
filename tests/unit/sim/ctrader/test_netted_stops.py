"""What a fill does to a netted position's stop loss and take profit on the simulated cTrader
server, and that the fill event says so: the order that opens or turns over the position brings
its relative stops, one that reduces it leaves the position's, and one that adds to it replaces
them or leaves them as ``netted_stops_policy`` says (real servers' rule is undocumented). The
position in every fill event is the one Reconcile then returns."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from tests.unit.sim.ctrader.rig import Events, connected, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio

EURUSD = 101  # at the netted broker


def _market(account, side, cents, *, rel_sl=0, rel_tp=0):
    message = M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=EURUSD, orderType=MM.MARKET,
                                   tradeSide=side, volume=cents)
    if rel_sl:
        message.relativeStopLoss = rel_sl
    if rel_tp:
        message.relativeTakeProfit = rel_tp
    return message


async def _trade(link, events, request):
    accepted = await link.request(request)
    return await events.wait_for(lambda e: isinstance(e, M.ProtoOAExecutionEvent)
                                 and e.executionType == MM.ORDER_FILLED and e.order.orderId == accepted.order.orderId)


async def _held(link, account):
    (position,) = (await link.request(M.ProtoOAReconcileReq(ctidTraderAccountId=account.account_id))).position
    return position


def _stops(position):
    return (position.stopLoss if position.HasField("stopLoss") else 0.0,
            position.takeProfit if position.HasField("takeProfit") else 0.0)


async def test_an_order_reducing_a_netted_position_leaves_its_stops_and_its_fill_shows_them():
    async with running_server() as server:
        account = server.netted
        link = await connected(server, account)
        events = Events(link)
        opened = await _trade(link, events, _market(account, MM.BUY, 5_000_000, rel_sl=300))
        before = _stops(opened.position)
        assert before[0] == pytest.approx(opened.deal.executionPrice - 0.003, abs=1e-9)
        # A sell's protection (a stop above the market) cannot sit on the buy it only reduces.
        reduced = await _trade(link, events, _market(account, MM.SELL, 1_000_000, rel_sl=290, rel_tp=200))
        held = await _held(link, account)
        assert held.tradeData.tradeSide == MM.BUY and held.tradeData.volume == 4_000_000
        assert _stops(held) == _stops(reduced.position) == before
        await link.close()


@pytest.mark.parametrize(("policy", "replaced"), [("replace", True), ("keep", False)])
async def test_an_order_adding_to_a_netted_position_replaces_or_keeps_its_stops_as_the_policy_says(policy, replaced):
    async with running_server() as server:
        account = server.netted
        account.netted_stops_policy = policy
        link = await connected(server, account)
        events = Events(link)
        opened = await _trade(link, events, _market(account, MM.BUY, 2_000_000, rel_sl=300))
        added = await _trade(link, events, _market(account, MM.BUY, 1_000_000, rel_sl=150, rel_tp=250))
        held = await _held(link, account)
        assert _stops(held) == _stops(added.position)
        if replaced:
            price = added.deal.executionPrice
            assert _stops(held) == pytest.approx((price - 0.0015, price + 0.0025), abs=1e-9)
        else:
            assert _stops(held) == _stops(opened.position)
        await link.close()


@pytest.mark.parametrize("policy", ["replace", "keep"])
async def test_an_order_turning_a_netted_position_over_brings_its_own_stops(policy):
    async with running_server() as server:
        account = server.netted
        account.netted_stops_policy = policy
        link = await connected(server, account)
        events = Events(link)
        await _trade(link, events, _market(account, MM.BUY, 2_000_000, rel_sl=300))
        turned = await _trade(link, events, _market(account, MM.SELL, 3_000_000, rel_sl=200))
        held = await _held(link, account)
        assert held.tradeData.tradeSide == MM.SELL
        assert _stops(held) == _stops(turned.position) == pytest.approx((turned.deal.executionPrice + 0.002, 0.0),
                                                                         abs=1e-9)
        await link.close()
