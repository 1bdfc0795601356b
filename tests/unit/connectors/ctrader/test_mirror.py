"""The cTrader connector's mirror, fed execution events by hand: the order of events and answers,
reconcile with the events that came meanwhile, and a netted position's deals."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.mirror import Mirror, pending_ticket
from copier_gui.core.model import Side

M = cm.messages
MM = cm.model


def _position(pid: int, cents: int, *, status=MM.POSITION_STATUS_OPEN, side=MM.BUY, label="7", comment="CG:1",
              opened: int = 1_000) -> MM.ProtoOAPosition:
    trade = MM.ProtoOATradeData(symbolId=1, volume=cents, tradeSide=side, label=label, comment=comment,
                                openTimestamp=opened)
    return MM.ProtoOAPosition(positionId=pid, tradeData=trade, positionStatus=status, swap=0, price=1.1)


def _order(oid: int, *, kind=MM.MARKET, status=MM.ORDER_STATUS_ACCEPTED, cents=100_000, executed=0, side=MM.BUY,
           label="7", comment="CG:1", position_id: int = 0) -> MM.ProtoOAOrder:
    trade = MM.ProtoOATradeData(symbolId=1, volume=cents, tradeSide=side, label=label, comment=comment)
    order = MM.ProtoOAOrder(orderId=oid, tradeData=trade, orderType=kind, orderStatus=status, executedVolume=executed)
    if kind == MM.LIMIT:
        order.limitPrice = 1.05
    if position_id:
        order.positionId = position_id
    return order


def _fill(oid: int, pid: int, deal_id: int, filled: int, position_cents: int, *, side=MM.BUY, comment="CG:1",
          position_status=MM.POSITION_STATUS_OPEN, at: int = 2_000) -> M.ProtoOAExecutionEvent:
    deal = MM.ProtoOADeal(dealId=deal_id, orderId=oid, positionId=pid, volume=filled, filledVolume=filled, symbolId=1,
                          createTimestamp=at, executionTimestamp=at, tradeSide=side, dealStatus=MM.FILLED)
    return M.ProtoOAExecutionEvent(
        ctidTraderAccountId=1, executionType=MM.ORDER_FILLED, deal=deal,
        order=_order(oid, status=MM.ORDER_STATUS_FILLED, cents=filled, executed=filled, side=side, comment=comment),
        position=_position(pid, position_cents, status=position_status, comment=comment))


def _build(mirror: Mirror):
    return mirror.build_positions(name=lambda i: "EURUSD", digits=lambda i: 5, quote=lambda i: (1.1, 1.1002),
                                  keep=None)


def test_an_answer_read_after_a_newer_event_does_not_bring_a_closed_position_back():
    mirror = Mirror()
    mirror.hedging = True
    mirror.apply(_fill(10, 5, 100, 100_000, 100_000))
    since = mirror.seq
    # The close's fill event is dispatched before its request's answer (ORDER_ACCEPTED with the
    # position as it was) is read.
    mirror.apply(_fill(11, 5, 101, 100_000, 0, side=MM.SELL, position_status=MM.POSITION_STATUS_CLOSED))
    accepted = M.ProtoOAExecutionEvent(ctidTraderAccountId=1, executionType=MM.ORDER_ACCEPTED,
                                       order=_order(11, side=MM.SELL), position=_position(5, 100_000))
    mirror.apply(accepted, reply_since=since)
    assert mirror.positions == {} and _build(mirror) == ()


def test_an_answer_with_nothing_newer_is_applied():
    mirror = Mirror()
    mirror.hedging = True
    mirror.apply(_fill(10, 5, 100, 100_000, 100_000))
    since = mirror.seq
    replaced = M.ProtoOAExecutionEvent(ctidTraderAccountId=1, executionType=MM.ORDER_REPLACED,
                                       position=_position(5, 100_000))
    replaced.position.stopLoss = 1.09
    mirror.apply(replaced, reply_since=since)
    assert _build(mirror)[0].sl == 1.09


def test_reconcile_then_the_events_that_came_meanwhile():
    mirror = Mirror()
    mirror.hedging = True
    reply = M.ProtoOAReconcileRes(ctidTraderAccountId=1, position=[_position(5, 100_000), _position(6, 200_000)],
                                  order=[_order(20, kind=MM.LIMIT, position_id=20)])
    meanwhile = [_fill(12, 6, 102, 200_000, 0, side=MM.SELL, position_status=MM.POSITION_STATUS_CLOSED)]
    mirror.reset(reply, meanwhile)
    assert [p.ticket for p in _build(mirror)] == [5]
    (order,) = mirror.build_orders(name=lambda i: "EURUSD", digits=lambda i: 5, keep=None)
    assert (order.ticket, order.price, order.magic) == (20, 1.05, 7)


def test_a_netted_position_followed_from_its_first_fill_carries_each_deals_tag():
    mirror = Mirror()
    mirror.apply(_fill(10, 5, 100, 200_000, 200_000, comment="CG:A"))
    mirror.apply(_fill(11, 5, 101, 100_000, 300_000, comment="CG:B", at=3_000))
    mirror.apply(_fill(12, 5, 102, 100_000, 200_000, side=MM.SELL, comment="CG:B", at=4_000))
    (position,) = _build(mirror)
    assert (position.side, position.volume) == (Side.BUY, 2_000)
    assert [(d.magic, d.comment, d.volume) for d in position.deals] == [(7, "CG:A", 2_000), (7, "CG:B", 1_000),
                                                                       (7, "CG:B", -1_000)]


def test_a_netted_position_first_seen_midway_has_no_deals_until_its_history_is_read():
    mirror = Mirror()
    mirror.reset(M.ProtoOAReconcileRes(ctidTraderAccountId=1, position=[_position(5, 200_000)]), [])
    mirror.apply(_fill(11, 5, 101, 100_000, 300_000, comment="CG:B"))
    assert _build(mirror)[0].deals is None  # the core then reads the position's own tag
    assert mirror.missing_ledgers() == [5]


def test_a_pending_order_is_known_by_the_position_made_for_it():
    assert pending_ticket(_order(20, kind=MM.LIMIT, position_id=31)) == 31
    assert pending_ticket(_order(20, kind=MM.LIMIT)) == 20
    mirror = Mirror()
    mirror.apply(M.ProtoOAExecutionEvent(ctidTraderAccountId=1, executionType=MM.ORDER_ACCEPTED,
                                         order=_order(20, kind=MM.LIMIT, position_id=31)))
    assert mirror.pending_by_ticket(31).orderId == 20 and mirror.pending_by_ticket(99) is None


@pytest.mark.asyncio
async def test_a_request_waiting_on_a_market_order_sees_its_last_fill_or_gives_up():
    mirror = Mirror()
    mirror.hedging = True
    mirror.apply(_fill(10, 5, 100, 100_000, 100_000))
    end = await mirror.order_end(10, 100_000, timeout=0.5, alive=lambda: True)
    assert end.deal.dealId == 100
    assert await mirror.order_end(77, 100_000, timeout=0.05, alive=lambda: True) is None
