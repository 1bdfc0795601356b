"""A trade's whole life at each simulated broker: open, modify SL/TP, partial close, close, a pending
order that triggers, and a stop loss that triggers. The balance must move by exactly the deals'
profit, commission and swap."""

from __future__ import annotations

import pytest

from copier_gui.sim import PROFILES

PROFILE_NAMES = sorted(PROFILES)


def filling_for(t, info) -> int:
    if info.filling_mode & 1:
        return t.ORDER_FILLING_FOK
    if info.filling_mode & 2:
        return t.ORDER_FILLING_IOC
    return t.ORDER_FILLING_RETURN


def eurusd(t) -> str:
    return next(s.name for s in t.symbols_get() if s.name.startswith("EURUSD"))


def market(t, symbol, order_type, volume, **extra):
    info = t.symbol_info(symbol)
    tick = t.symbol_info_tick(symbol)
    request = {
        "action": t.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": order_type,
        "price": tick.ask if order_type == t.ORDER_TYPE_BUY else tick.bid, "deviation": 50,
        "type_filling": filling_for(t, info), "magic": 4242,
    }
    request.update(extra)
    return t.order_send(request)


def advance_until(clock, t, condition, *, step=1.0, limit=6 * 3600):
    waited = 0.0
    while not condition():
        clock.advance(step)
        waited += step
        assert waited <= limit, "condition never became true"
        t.positions_total()  # any call brings the account up to the clock


def trading_deals(t):
    return [d for d in t.history_deals_get(0, 2**31 - 1) if d.type in (t.DEAL_TYPE_BUY, t.DEAL_TYPE_SELL)]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_open_modify_partial_close_close(make_terminal, weekday_clock, profile):
    t = make_terminal(profile)
    symbol = eurusd(t)
    info = t.symbol_info(symbol)
    start_balance = t.account_info().balance
    volume = round(info.volume_min * 4, 2)

    opened = market(t, symbol, t.ORDER_TYPE_BUY, volume, comment="lifecycle")
    assert opened.retcode == t.TRADE_RETCODE_DONE, opened
    (position,) = t.positions_get(symbol=symbol)
    assert position.ticket == opened.order == position.identifier
    assert position.volume == volume and position.magic == 4242 and position.comment == "lifecycle"
    (open_deal,) = t.history_deals_get(ticket=opened.order)
    assert open_deal.entry == t.DEAL_ENTRY_IN
    assert open_deal.order == open_deal.position_id == position.ticket

    weekday_clock.advance(2.0)
    tick = t.symbol_info_tick(symbol)
    gap = (info.trade_stops_level + 50) * info.point
    sl, tp = round(tick.bid - gap, info.digits), round(tick.bid + gap, info.digits)
    modified = t.order_send({"action": t.TRADE_ACTION_SLTP, "symbol": symbol, "position": position.ticket,
                             "sl": sl, "tp": tp})
    assert modified.retcode == t.TRADE_RETCODE_DONE, modified
    (position,) = t.positions_get(ticket=position.ticket)
    assert (position.sl, position.tp) == (sl, tp)

    weekday_clock.advance(2.0)
    half = round(volume / 2, 2)
    partial = market(t, symbol, t.ORDER_TYPE_SELL, half, position=position.ticket)
    assert partial.retcode == t.TRADE_RETCODE_DONE, partial
    (position,) = t.positions_get(symbol=symbol)
    assert position.volume == pytest.approx(volume - half)
    assert position.identifier == opened.order

    weekday_clock.advance(2.0)
    closed = market(t, symbol, t.ORDER_TYPE_SELL, position.volume, position=position.ticket)
    assert closed.retcode == t.TRADE_RETCODE_DONE, closed
    assert t.positions_get(symbol=symbol) == ()

    deals = t.history_deals_get(position=opened.order)
    assert [d.entry for d in deals] == [t.DEAL_ENTRY_IN, t.DEAL_ENTRY_OUT, t.DEAL_ENTRY_OUT]
    assert sum(d.volume for d in deals if d.entry == t.DEAL_ENTRY_OUT) == pytest.approx(volume)
    digits = t.account_info().currency_digits
    moved = round(t.account_info().balance - start_balance, digits)
    assert moved == round(sum(d.profit + d.commission + d.swap for d in trading_deals(t)), digits)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_pending_order_triggers_and_stop_loss_closes(make_terminal, weekday_clock, profile):
    t = make_terminal(profile)
    symbol = eurusd(t)
    info = t.symbol_info(symbol)
    start_balance = t.account_info().balance
    tick = t.symbol_info_tick(symbol)
    distance = (info.trade_stops_level + 20) * info.point
    price = round(tick.ask + distance, info.digits)
    # Far enough that a news spike cannot stop the position out on the tick that fills it.
    sl = round(price - (info.trade_stops_level + 400) * info.point, info.digits)
    placed = t.order_send({
        "action": t.TRADE_ACTION_PENDING, "symbol": symbol, "volume": info.volume_min,
        "type": t.ORDER_TYPE_BUY_STOP, "price": price, "sl": sl, "type_filling": t.ORDER_FILLING_RETURN,
        "type_time": t.ORDER_TIME_GTC, "magic": 77, "comment": "breakout",
    })
    assert placed.retcode == t.TRADE_RETCODE_DONE and placed.deal == 0, placed
    (order,) = t.orders_get()
    assert order.ticket == placed.order and order.type == t.ORDER_TYPE_BUY_STOP

    advance_until(weekday_clock, t, lambda: t.orders_total() == 0, step=0.1)
    (position,) = t.positions_get(symbol=symbol)
    assert position.ticket == placed.order == position.identifier
    assert position.sl == sl and position.price_open >= price
    (fill,) = t.history_deals_get(ticket=placed.order)
    assert fill.entry == t.DEAL_ENTRY_IN and fill.position_id == placed.order
    (history_order,) = t.history_orders_get(ticket=placed.order)
    assert history_order.state == t.ORDER_STATE_FILLED

    # Tighten the stop to just outside the stops level so the market reaches it soon.
    tick = t.symbol_info_tick(symbol)
    sl = round(tick.bid - (info.trade_stops_level + 5) * info.point, info.digits)
    tightened = t.order_send({"action": t.TRADE_ACTION_SLTP, "symbol": symbol, "position": position.ticket,
                              "sl": sl, "tp": 0.0})
    assert tightened.retcode == t.TRADE_RETCODE_DONE, tightened
    advance_until(weekday_clock, t, lambda: t.positions_total() == 0)
    deals = t.history_deals_get(position=placed.order)
    assert [d.entry for d in deals] == [t.DEAL_ENTRY_IN, t.DEAL_ENTRY_OUT]
    stop = deals[1]
    assert stop.reason == t.DEAL_REASON_SL
    assert stop.comment.startswith("[sl ")
    assert stop.price <= sl  # a stop fills at the market, never better than the stop
    digits = t.account_info().currency_digits
    moved = round(t.account_info().balance - start_balance, digits)
    assert moved == round(sum(d.profit + d.commission + d.swap for d in trading_deals(t)), digits)
    assert moved < 0


def test_take_profit_triggers_on_a_sell(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    tick = t.symbol_info_tick("XAUUSD")
    tp = round(tick.ask - 1.0, 2)
    opened = market(t, "XAUUSD", t.ORDER_TYPE_SELL, 0.01, tp=tp)
    assert opened.retcode == t.TRADE_RETCODE_DONE, opened
    advance_until(weekday_clock, t, lambda: t.positions_total() == 0)
    out = t.history_deals_get(position=opened.order)[-1]
    assert out.reason == t.DEAL_REASON_TP and out.entry == t.DEAL_ENTRY_OUT and out.profit > 0


def test_swap_accrues_overnight_and_is_booked_on_close(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    start = t.account_info().balance
    opened = market(t, "EURUSD", t.ORDER_TYPE_BUY, 1.0)
    assert opened.retcode == t.TRADE_RETCODE_DONE
    weekday_clock.advance(14 * 3600)  # past midnight server time (UTC+2), market open again
    (position,) = t.positions_get()
    assert position.swap < 0  # swap_long is negative at this broker
    closed = market(t, "EURUSD", t.ORDER_TYPE_SELL, 1.0, position=position.ticket)
    assert closed.retcode == t.TRADE_RETCODE_DONE, closed
    out = t.history_deals_get(position=opened.order)[-1]
    assert out.swap == position.swap
    moved = round(t.account_info().balance - start, 2)
    assert moved == round(sum(d.profit + d.commission + d.swap for d in trading_deals(t)), 2)
