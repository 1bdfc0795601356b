"""A simulated cTrader account on the shared engine, on virtual time: reference data, pending
orders, server-side closes and trades from elsewhere, in the Open API's terms."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.clock import VirtualClock
from copier_gui.sim import constants as mt5
from copier_gui.sim.ctrader import CTRADER_PROFILES, SimCTraderAccount, TradeRefusal
from copier_gui.sim.market import Market
from copier_gui.sim.structs import TradeRequest
from tests.kit import WEEKDAY_NOON_UTC

M = cm.messages
MM = cm.model


@pytest.fixture
def clock():
    return VirtualClock(WEEKDAY_NOON_UTC)


def _account(clock, profile="lumen_ctrader", **kw) -> SimCTraderAccount:
    return SimCTraderAccount(44_000_001, 3_100_001, CTRADER_PROFILES[profile], Market(7, clock), clock, **kw)


def _order(account, symbol_id, side, cents, order_type=MM.MARKET, **fields):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=symbol_id, orderType=order_type,
                                tradeSide=side, volume=cents, **fields)


def _until(clock, account, predicate, *, step=5.0, limit=20_000):
    """Run virtual time until the account reports an event that satisfies ``predicate``."""
    for _ in range(limit):
        clock.advance(step)
        for event in account.poll():
            if isinstance(event, M.ProtoOAExecutionEvent) and predicate(event):
                return event
    raise AssertionError("the market never got there")


def test_two_brokers_name_number_and_size_the_same_instrument_their_own_way(clock):
    lumen, kestrel = _account(clock), _account(clock, "kestrel_netting")
    gold_l = next(s for s in lumen.broker.symbols if s.instrument == "XAUUSD")
    gold_k = next(s for s in kestrel.broker.symbols if s.instrument == "XAUUSD")
    assert (gold_l.symbol_id, gold_l.name) == (41, "XAUUSD") and (gold_k.symbol_id, gold_k.name) == (131, "GOLD")
    full_l, full_k = lumen.symbol_full(gold_l), kestrel.symbol_full(gold_k)
    assert full_l.lotSize == full_k.lotSize == 10_000  # 100 oz, in cents
    assert (full_l.minVolume, full_l.stepVolume) == (100, 100)  # 1 oz
    assert (full_k.minVolume, full_k.stepVolume) == (1_000, 100)  # 10 oz, then 1 oz
    eur = lumen.symbol_full(lumen.broker.by_id[1])
    assert (eur.digits, eur.pipPosition, eur.lotSize, eur.minVolume) == (5, 4, 10_000_000, 100_000)
    assert lumen.trader().accountType == MM.HEDGED and kestrel.trader().accountType == MM.NETTED
    assert kestrel.trader().moneyDigits == 2 and kestrel.trader().leverageInCents == 3000


def test_commission_per_lot_a_side_in_the_deposit_currency(clock):
    lumen, kestrel = _account(clock), _account(clock, "kestrel_netting")
    fill = lumen.new_order(_order(lumen, 1, MM.BUY, 10_000_000))[1]  # one lot
    assert fill.deal.commission == -300
    fill = kestrel.new_order(_order(kestrel, 101, MM.BUY, 10_000_000))[1]
    assert fill.deal.commission == -250


def test_a_market_order_with_absolute_stops_is_refused_and_relative_stops_are_set(clock):
    account = _account(clock)
    with pytest.raises(TradeRefusal, match="absolute values"):
        account.new_order(_order(account, 1, MM.BUY, 100_000, stopLoss=1.0))
    fill = account.new_order(_order(account, 1, MM.BUY, 100_000, relativeStopLoss=500, relativeTakeProfit=1000))[1]
    positions, _ = account.reconcile()
    price = fill.deal.executionPrice
    assert positions[0].stopLoss == pytest.approx(price - 0.005) and positions[0].takeProfit == pytest.approx(price + 0.01)


def test_tags_longer_than_the_protocol_allows_are_refused(clock):
    account = _account(clock)
    with pytest.raises(TradeRefusal) as caught:
        account.new_order(_order(account, 1, MM.BUY, 100_000, clientOrderId="x" * 51))
    assert caught.value.code == "INVALID_REQUEST" and caught.value.as_error_res


def test_a_pending_order_has_a_created_position_then_fills_on_the_market(clock):
    account = _account(clock)
    bid, ask = account.quote(account.broker.by_id[1])
    (accepted,) = account.new_order(_order(account, 1, MM.BUY, 100_000, MM.STOP, stopPrice=round(ask + 0.0003, 5),
                                           label="pending", clientOrderId="cg-p1"))
    order_id = accepted.order.orderId
    assert accepted.position.positionStatus == MM.POSITION_STATUS_CREATED
    assert accepted.order.positionId == accepted.position.positionId == order_id
    _, orders = account.reconcile()
    assert [(o.orderId, o.clientOrderId, o.orderStatus) for o in orders] == [(order_id, "cg-p1", MM.ORDER_STATUS_ACCEPTED)]
    filled = _until(clock, account, lambda e: e.executionType == MM.ORDER_FILLED)
    assert filled.order.orderId == order_id and filled.order.orderStatus == MM.ORDER_STATUS_FILLED
    assert filled.position.positionId == order_id and filled.position.tradeData.label == "pending"
    assert account.reconcile()[1] == []


def test_a_pending_order_can_be_cancelled_or_expire(clock):
    account = _account(clock)
    bid, _ = account.quote(account.broker.by_id[1])
    (placed,) = account.new_order(_order(account, 1, MM.BUY, 100_000, MM.LIMIT, limitPrice=round(bid - 0.05, 5)))
    (cancelled,) = account.cancel_order(M.ProtoOACancelOrderReq(ctidTraderAccountId=account.account_id,
                                                                 orderId=placed.order.orderId))
    assert cancelled.executionType == MM.ORDER_CANCELLED
    with pytest.raises(TradeRefusal) as caught:
        account.cancel_order(M.ProtoOACancelOrderReq(ctidTraderAccountId=account.account_id,
                                                     orderId=placed.order.orderId))
    assert (caught.value.code, caught.value.order_id) == ("ORDER_NOT_FOUND", placed.order.orderId)
    expiry = int((clock.time() + 60) * 1000)
    account.new_order(_order(account, 1, MM.BUY, 100_000, MM.LIMIT, limitPrice=round(bid - 0.05, 5),
                             timeInForce=MM.GOOD_TILL_DATE, expirationTimestamp=expiry))
    expired = _until(clock, account, lambda e: e.executionType == MM.ORDER_EXPIRED, step=10)
    assert expired.order.orderStatus == MM.ORDER_STATUS_EXPIRED and expired.order.expirationTimestamp == expiry


def test_a_stop_loss_closes_on_the_server_with_a_protection_order(clock):
    account = _account(clock)
    fill = account.new_order(_order(account, 1, MM.BUY, 100_000, label="stopped"))[1]
    bid, _ = account.quote(account.broker.by_id[1])
    account.amend_position(M.ProtoOAAmendPositionSLTPReq(ctidTraderAccountId=account.account_id,
                                                         positionId=fill.position.positionId,
                                                         stopLoss=round(bid - 0.0002, 5)))
    closed = _until(clock, account, lambda e: e.executionType == MM.ORDER_FILLED)
    assert closed.isServerEvent and closed.order.orderType == MM.STOP_LOSS_TAKE_PROFIT and closed.order.closingOrder
    assert closed.position.positionStatus == MM.POSITION_STATUS_CLOSED and closed.position.tradeData.label == "stopped"
    assert closed.deal.closePositionDetail.entryPrice == fill.deal.executionPrice


def test_a_trade_made_elsewhere_on_the_account_is_reported(clock):
    account = _account(clock)
    spec = account.engine.symbol("EURUSD")
    account.engine.send(TradeRequest((mt5.TRADE_ACTION_DEAL, 0, 0, spec.name, 0.05, 0.0, 0.0, 0.0, 0.0, 0,
                                      mt5.ORDER_TYPE_SELL, mt5.ORDER_FILLING_FOK, 0, 0, "", 0, 0)))
    (event,) = account.poll()
    assert event.executionType == MM.ORDER_FILLED and not event.isServerEvent
    assert (event.position.tradeData.tradeSide, event.position.tradeData.volume) == (MM.SELL, 500_000)


def test_read_only_access_refuses_new_trades(clock):
    account = _account(clock)
    account.access_rights = MM.CLOSE_ONLY
    with pytest.raises(TradeRefusal) as caught:
        account.new_order(_order(account, 1, MM.BUY, 100_000))
    assert caught.value.code == "TRADING_NOT_ALLOWED"


@pytest.mark.parametrize("side", [MM.BUY, MM.SELL])
def test_a_triggered_stop_limit_fills_only_within_its_slippage_of_the_stop_price(clock, side):
    account = _account(clock)
    eurusd = account.broker.by_id[1]
    bid, ask = account.quote(eurusd)
    stop = round(ask + 0.0003, 5) if side == MM.BUY else round(bid - 0.0003, 5)
    (placed,) = account.new_order(_order(account, 1, side, 100_000, MM.STOP_LIMIT, stopPrice=stop,
                                         slippageInPoints=2))
    filled = _until(clock, account, lambda e: e.executionType == MM.ORDER_FILLED, step=1.0)
    assert filled.order.orderId == placed.order.orderId and filled.order.orderType == MM.STOP_LIMIT
    price = filled.deal.executionPrice
    assert price <= stop + 0.00002 + 1e-9 if side == MM.BUY else price >= stop - 0.00002 - 1e-9


def test_a_stop_limit_is_amended_in_stop_price_and_slippage(clock):
    account = _account(clock)
    _, ask = account.quote(account.broker.by_id[1])
    (placed,) = account.new_order(_order(account, 1, MM.BUY, 100_000, MM.STOP_LIMIT, stopPrice=round(ask + 0.001, 5),
                                         slippageInPoints=3))
    order_id = placed.order.orderId
    (replaced,) = account.amend_order(M.ProtoOAAmendOrderReq(ctidTraderAccountId=account.account_id, orderId=order_id,
                                                             stopPrice=round(ask + 0.002, 5), slippageInPoints=10))
    assert replaced.executionType == MM.ORDER_REPLACED
    assert (replaced.order.stopPrice, replaced.order.slippageInPoints) == (round(ask + 0.002, 5), 10)
    engine_order = account.engine.orders[order_id]
    assert (engine_order.price_open, engine_order.price_stoplimit) == (round(ask + 0.002, 5), round(ask + 0.0021, 5))


def test_a_trailing_stop_follows_the_market_and_each_move_is_announced(clock):
    account = _account(clock)
    fill = account.new_order(_order(account, 1, MM.BUY, 100_000, relativeStopLoss=300, trailingStopLoss=True))[1]
    position_id = fill.position.positionId
    assert fill.position.trailingStopLoss and fill.position.stopLoss == round(fill.deal.executionPrice - 0.003, 5)
    first_sl = fill.position.stopLoss
    moved = None
    for _ in range(20_000):
        clock.advance(5.0)
        events = account.poll()
        moved = next((e for e in events if isinstance(e, M.ProtoOATrailingSLChangedEvent)), None)
        if moved is not None or any(isinstance(e, M.ProtoOAExecutionEvent) for e in events):
            break
    assert moved is not None, "the stop was hit before the market rose"
    assert moved.positionId == position_id and moved.stopPrice > first_sl
    bid, _ = account.quote(account.broker.by_id[1])
    assert moved.stopPrice == pytest.approx(bid - 0.003, abs=1e-5)
    (position,), _ = account.reconcile()
    assert position.stopLoss == moved.stopPrice and position.trailingStopLoss
    # Amending without the flag ends the trailing.
    (replaced,) = account.amend_position(M.ProtoOAAmendPositionSLTPReq(
        ctidTraderAccountId=account.account_id, positionId=position_id, stopLoss=moved.stopPrice))
    assert not replaced.position.trailingStopLoss


def test_relative_stops_on_a_closing_order_leave_the_reduced_position_alone(clock):
    account = _account(clock)
    fill = account.new_order(_order(account, 1, MM.BUY, 200_000))[1]
    account.new_order(_order(account, 1, MM.SELL, 100_000, positionId=fill.position.positionId,
                             relativeStopLoss=500))
    (position,), _ = account.reconcile()
    assert position.tradeData.volume == 100_000 and not position.HasField("stopLoss")
