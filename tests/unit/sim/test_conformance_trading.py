"""The trade engine: order_check, order_send results, hedging and netting, filters, helpers.

Fact sheet sections 3 (filter semantics), 5 (real samples), 8.1-8.4 (result semantics, netting
vs hedging, magic and comment, deviation and filling) and checklist item 6.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copier_gui.clock import VirtualClock  # already part of the project

# Values of the real package, written out.
DONE = 10009
REQUOTE = 10004
INVALID_VOLUME = 10014
INVALID_STOPS = 10016
MARKET_CLOSED = 10018
INVALID_FILL = 10030
DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY = 0, 1, 2, 3
NO_MONEY = 10019
INVALID_CLOSE_VOLUME = 10038
DEAL_TYPE_BUY, DEAL_TYPE_SELL = 0, 1
POSITION_TYPE_BUY, POSITION_TYPE_SELL = 0, 1
ORDER_STATE_PLACED, ORDER_STATE_CANCELED, ORDER_STATE_FILLED = 1, 2, 4
FOK, IOC, RETURN = 0, 1, 2
SUCCESS = (1, "Success")

TIMES = {
    "saturday": datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp(),
    "wednesday_2130": datetime(2026, 11, 25, 21, 30, tzinfo=UTC).timestamp(),
}

SERVER_UTC_OFFSET_HOURS = {"meridian_ecn": 2, "harbor_fx": 2, "summit_netting": 0, "apex_prop": 3}


def _trade_deals(t, lo, hi):
    return [d for d in t.history_deals_get(lo, hi) if d.type in (DEAL_TYPE_BUY, DEAL_TYPE_SELL)]


def _window(clock):
    now = int(clock.time())
    return now - 3 * 86400, now + 3 * 86400


# --- order_check -----------------------------------------------------------------------------


def test_order_check_success_is_retcode_0_done(terminal, h):
    t = terminal("meridian_ecn")
    request = h.market_request(t, "EURUSD", h.BUY, 0.01)
    result = t.order_check(request)
    assert result is not None, t.last_error()
    assert type(result) is t.OrderCheckResult
    assert result.retcode == 0
    assert result.comment == "Done"
    account = t.account_info()
    assert result.balance == account.balance
    margin = t.order_calc_margin(h.BUY, "EURUSD", 0.01, request["price"])
    assert result.margin == pytest.approx(margin, rel=1e-6)
    assert result.margin_free == pytest.approx(result.equity - result.margin, abs=0.01)
    assert result.request.symbol == "EURUSD" and result.request.volume == 0.01


def test_order_check_sends_nothing(terminal, h, clock):
    t = terminal("meridian_ecn")
    before = t.history_deals_get(*_window(clock))
    t.order_check(h.market_request(t, "EURUSD", h.BUY, 0.01))
    assert t.positions_get() == ()
    assert t.orders_get() == ()
    assert t.history_deals_get(*_window(clock)) == before


# --- filling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "filling", "retcode"),
    [
        ("meridian_ecn", FOK, DONE),
        ("meridian_ecn", IOC, DONE),
        ("harbor_fx", FOK, DONE),
        ("harbor_fx", IOC, INVALID_FILL),
        ("harbor_fx", RETURN, INVALID_FILL),  # RETURN is not valid for instant execution
        ("summit_netting", IOC, DONE),
        ("summit_netting", FOK, INVALID_FILL),
        ("apex_prop", RETURN, DONE),
        ("apex_prop", FOK, INVALID_FILL),
        ("apex_prop", IOC, INVALID_FILL),
    ],
)
def test_filling_mode_enforced(terminal, h, profile, filling, retcode):
    t = terminal(profile)
    symbol = h.fx(profile)
    result = h.send(
        t, h.market_request(t, symbol, h.BUY, h.min_volume[profile], type_filling=filling)
    )
    assert result.retcode == retcode, result
    if retcode == INVALID_FILL:
        assert result.comment == "Unsupported filling mode"
        assert (result.deal, result.order) == (0, 0)
        assert t.positions_get() == ()
    else:
        assert len(t.positions_get()) == 1


@pytest.mark.parametrize(("profile", "retcode"), [("harbor_fx", 0), ("apex_prop", INVALID_FILL)])
def test_order_check_checks_filling_too(terminal, h, profile, retcode):
    # Missing type_filling means 0 = FOK (zeroed C struct): fine on harbor_fx, not on apex_prop.
    t = terminal(profile)
    request = h.market_request(t, h.fx(profile), h.BUY, h.min_volume[profile])
    del request["type_filling"]
    assert t.order_check(request).retcode == retcode


def test_missing_type_filling_is_fok(terminal, h):
    t = terminal("summit_netting")
    request = h.market_request(t, "EURUSD-ECN", h.BUY, 0.01)
    del request["type_filling"]
    result = h.send(t, request)
    assert result.retcode == INVALID_FILL
    assert result.request.type_filling == FOK


# --- volume ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "volume"),
    [
        ("meridian_ecn", 0.015),  # off the 0.01 step
        ("meridian_ecn", 0.0),
        ("meridian_ecn", 0.001),
        ("apex_prop", 0.05),  # below the 0.1 minimum
        ("apex_prop", 0.15),  # off the 0.1 step
        ("apex_prop", 50.1),  # above the 50 maximum
    ],
)
def test_invalid_volume(terminal, h, profile, volume):
    t = terminal(profile)
    request = h.market_request(t, h.fx(profile), h.BUY, volume)
    assert h.send(t, request).retcode == INVALID_VOLUME
    assert t.order_check(request).retcode == INVALID_VOLUME
    assert t.positions_get() == ()


@pytest.mark.parametrize(
    ("profile", "volume"), [("apex_prop", 0.1), ("apex_prop", 0.2), ("meridian_ecn", 0.03)]
)
def test_volume_on_step_fills(terminal, h, profile, volume):
    t = terminal(profile)
    result = h.send(t, h.market_request(t, h.fx(profile), h.BUY, volume))
    assert result.retcode == DONE
    assert result.volume == volume


# --- stops -----------------------------------------------------------------------------------


def _stops_request(t, h, side, sl_points=None, tp_points=None):
    symbol = "EURUSD.raw"
    tick = t.symbol_info_tick(symbol)
    point = t.symbol_info(symbol).point
    sign = 1 if side == h.BUY else -1
    ref = tick.bid if side == h.BUY else tick.ask
    extra = {}
    if sl_points is not None:
        extra["sl"] = round(ref - sign * sl_points * point, 5)
    if tp_points is not None:
        extra["tp"] = round(ref + sign * tp_points * point, 5)
    return h.market_request(t, symbol, side, 0.1, **extra)


@pytest.mark.parametrize("side", [0, 1])
@pytest.mark.parametrize(("sl_points", "tp_points"), [(5, None), (None, 5), (5, 300)])
def test_stops_inside_stops_level_rejected(terminal, h, side, sl_points, tp_points):
    t = terminal("apex_prop")  # trade_stops_level 20 points
    request = _stops_request(t, h, side, sl_points, tp_points)
    result = h.send(t, request)
    assert result.retcode == INVALID_STOPS, result
    assert result.comment == "Invalid stops"
    assert t.positions_get() == ()
    assert t.order_check(request).retcode == INVALID_STOPS


@pytest.mark.parametrize("side", [0, 1])
def test_stops_outside_stops_level_accepted(terminal, h, side):
    t = terminal("apex_prop")
    request = _stops_request(t, h, side, 300, 300)
    result = h.send(t, request)
    assert result.retcode == DONE, result
    (position,) = t.positions_get()
    assert position.sl == request["sl"]
    assert position.tp == request["tp"]


# --- a successful market order ---------------------------------------------------------------


def test_market_buy_result_position_and_deal(terminal, h, clock):
    t = terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    result = h.open_market(t, "EURUSD", h.BUY, 0.01, magic=123456, comment="copier test")
    assert result.retcode == DONE
    assert result.comment == "Request executed"
    assert result.deal > 0 and result.order > 0 and result.deal != result.order
    assert result.volume == 0.01
    assert result.price == tick.ask
    assert result.retcode_external == 0

    (position,) = t.positions_get()
    assert position.ticket == result.order
    assert position.identifier == position.ticket
    assert position.type == POSITION_TYPE_BUY
    assert position.volume == 0.01
    assert position.price_open == result.price
    assert position.symbol == "EURUSD"
    assert position.magic == 123456
    assert position.comment == "copier test"

    (deal,) = t.history_deals_get(ticket=result.order)
    assert deal.ticket == result.deal
    assert deal.entry == DEAL_ENTRY_IN
    assert deal.type == DEAL_TYPE_BUY
    assert deal.order == deal.position_id == position.ticket
    assert deal.volume == 0.01 and deal.price == result.price
    assert deal.magic == 123456 and deal.comment == "copier test" and deal.symbol == "EURUSD"

    (order,) = t.history_orders_get(ticket=result.order)
    assert order.ticket == result.order
    assert order.state == ORDER_STATE_FILLED
    assert order.position_id == position.ticket
    assert order.volume_initial == 0.01 and order.volume_current == 0.0
    assert order.magic == 123456 and order.comment == "copier test"


def test_request_id_counts_requests(terminal, h):
    t = terminal("meridian_ecn")
    first = h.open_market(t, "EURUSD", h.BUY, 0.01)
    second = h.open_market(t, "EURUSD", h.BUY, 0.01)
    assert type(first.request_id) is int and first.request_id > 0
    assert second.request_id > first.request_id
    assert first.retcode_external == second.retcode_external == 0


def test_account_reflects_open_position(terminal, h, clock):
    t = terminal("meridian_ecn")
    balance = t.account_info().balance
    h.open_market(t, "EURUSD", h.BUY, 0.1)
    clock.advance(600)
    (position,) = t.positions_get()
    a = t.account_info()
    assert a.balance == pytest.approx(
        balance + sum(d.commission + d.fee for d in t.history_deals_get(ticket=position.ticket)),
        abs=0.005,
    )
    assert a.profit == pytest.approx(position.profit, abs=0.005)
    assert a.equity == pytest.approx(
        a.balance + a.credit + position.profit + position.swap, abs=0.01
    )
    expected_margin = t.order_calc_margin(h.BUY, "EURUSD", 0.1, position.price_open)
    assert a.margin == pytest.approx(expected_margin, rel=0.02)
    assert a.margin_free == pytest.approx(a.equity - a.margin, abs=0.01)
    assert a.margin_level == pytest.approx(a.equity / a.margin * 100.0, rel=1e-3)


def test_market_sell_fills_at_bid(terminal, h):
    t = terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    result = h.open_market(t, "EURUSD", h.SELL, 0.01)
    assert result.price == tick.bid
    (position,) = t.positions_get()
    assert position.type == POSITION_TYPE_SELL


def test_trade_times_are_server_time(terminal, h, clock):
    t = terminal("meridian_ecn")
    result = h.open_market(t, "EURUSD", h.BUY, 0.01)
    server_now = int(clock.time()) + SERVER_UTC_OFFSET_HOURS["meridian_ecn"] * 3600
    (position,) = t.positions_get()
    (deal,) = t.history_deals_get(ticket=result.order)
    assert deal.time == server_now
    assert position.time == server_now
    assert deal.time_msc // 1000 == deal.time
    assert position.time_msc // 1000 == position.time


def test_market_execution_ignores_requested_price(terminal, h):
    # Market execution: price and deviation have no effect (fact sheet 8.4).
    t = terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    result = h.send(t, h.market_request(t, "EURUSD", h.BUY, 0.01, price=1.0, deviation=0))
    assert result.retcode == DONE
    assert result.price == tick.ask
    result = h.send(t, h.market_request(t, "EURUSD", h.BUY, 0.01, price=0.0))
    assert result.retcode == DONE


def test_position_tracks_the_market(terminal, h, clock):
    t = terminal("meridian_ecn")
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    clock.advance(3600)
    tick = t.symbol_info_tick("EURUSD")
    (position,) = t.positions_get()
    assert position.price_current == tick.bid
    expected = t.order_calc_profit(h.BUY, "EURUSD", 0.01, position.price_open, tick.bid)
    assert position.profit == pytest.approx(expected, abs=0.01)


def test_prices_move_when_the_clock_advances(terminal, clock):
    t = terminal("meridian_ecn")
    first = t.symbol_info_tick("EURUSD")
    seen = set()
    for _ in range(20):
        clock.advance(60)
        tick = t.symbol_info_tick("EURUSD")
        seen.add(tick.bid)
        assert tick.bid < tick.ask
    assert len(seen - {first.bid}) > 1
    assert t.symbol_info_tick("EURUSD").time > first.time


# --- hedging ---------------------------------------------------------------------------------


def test_hedging_opposite_deal_without_position_opens_second(terminal, h):
    t = terminal("meridian_ecn")
    buy = h.open_market(t, "EURUSD", h.BUY, 0.01)
    sell = h.open_market(t, "EURUSD", h.SELL, 0.01)
    positions = sorted(t.positions_get(), key=lambda p: p.ticket)
    assert [p.ticket for p in positions] == sorted([buy.order, sell.order])
    assert {p.type for p in positions} == {POSITION_TYPE_BUY, POSITION_TYPE_SELL}
    (sell_deal,) = t.history_deals_get(ticket=sell.order)
    assert sell_deal.entry == DEAL_ENTRY_IN
    assert sell_deal.position_id == sell.order


def test_hedging_close_with_position(terminal, h, clock):
    t = terminal("meridian_ecn")
    buy = h.open_market(t, "EURUSD", h.BUY, 0.01, magic=9)
    other = h.open_market(t, "EURUSD", h.BUY, 0.01)
    close = h.open_market(t, "EURUSD", h.SELL, 0.01, position=buy.order)
    assert close.order != buy.order
    assert [p.ticket for p in t.positions_get()] == [other.order]
    assert t.positions_get(ticket=buy.order) == ()

    (out,) = t.history_deals_get(ticket=close.order)
    assert out.ticket == close.deal
    assert out.entry == DEAL_ENTRY_OUT
    assert out.type == DEAL_TYPE_SELL
    assert out.position_id == buy.order
    assert out.magic == 0  # the closing request's magic, not the position's

    deals = t.history_deals_get(position=buy.order)
    assert sorted((d.entry, d.ticket) for d in deals) == [
        (DEAL_ENTRY_IN, buy.deal),
        (DEAL_ENTRY_OUT, close.deal),
    ]
    assert all(d.position_id == buy.order for d in deals)
    orders = t.history_orders_get(position=buy.order)
    assert sorted(o.ticket for o in orders) == sorted([buy.order, close.order])


def test_hedging_partial_close_keeps_ticket(terminal, h):
    t = terminal("meridian_ecn")
    buy = h.open_market(t, "EURUSD", h.BUY, 0.03)
    h.open_market(t, "EURUSD", h.SELL, 0.01, position=buy.order)
    (position,) = t.positions_get()
    assert position.ticket == buy.order
    assert position.volume == pytest.approx(0.02)


def test_round_trip_books_profit_to_balance(terminal, h, clock):
    t = terminal("meridian_ecn")
    balance = t.account_info().balance
    buy = h.open_market(t, "EURUSD", h.BUY, 0.1)
    clock.advance(1800)
    h.open_market(t, "EURUSD", h.SELL, 0.1, position=buy.order)
    deals = t.history_deals_get(position=buy.order)
    booked = sum(d.profit + d.commission + d.swap + d.fee for d in deals)
    assert t.account_info().balance == pytest.approx(balance + booked, abs=0.005)
    assert t.positions_get() == ()


def test_deals_by_order_ticket_not_deal_ticket(terminal, h):
    t = terminal("meridian_ecn")
    result = h.open_market(t, "EURUSD", h.BUY, 0.01)
    assert [d.ticket for d in t.history_deals_get(ticket=result.order)] == [result.deal]
    assert all(d.order == result.deal for d in t.history_deals_get(ticket=result.deal))


def test_hedging_close_by(terminal, h):
    t = terminal("meridian_ecn")
    buy = h.open_market(t, "EURUSD", h.BUY, 0.01)
    sell = h.open_market(t, "EURUSD", h.SELL, 0.01)
    result = h.send(
        t,
        {"action": 10, "symbol": "EURUSD", "position": buy.order, "position_by": sell.order},
    )  # TRADE_ACTION_CLOSE_BY
    assert result.retcode == DONE, result
    assert t.positions_get() == ()
    for ticket in (buy.order, sell.order):
        entries = sorted(d.entry for d in t.history_deals_get(position=ticket))
        assert entries == [DEAL_ENTRY_IN, DEAL_ENTRY_OUT_BY]


def test_hedging_close_more_than_position_volume(terminal, h):
    t = terminal("meridian_ecn")
    buy = h.open_market(t, "EURUSD", h.BUY, 0.01)
    result = h.send(t, h.market_request(t, "EURUSD", h.SELL, 0.02, position=buy.order))
    assert result.retcode == INVALID_CLOSE_VOLUME
    (position,) = t.positions_get()
    assert position.volume == 0.01


def test_modify_sl_tp_of_position(terminal, h):
    t = terminal("apex_prop")
    buy = h.open_market(t, "EURUSD.raw", h.BUY, 0.1)
    bid = t.symbol_info_tick("EURUSD.raw").bid
    sl, tp = round(bid - 0.0050, 5), round(bid + 0.0050, 5)
    result = h.send(
        t, {"action": 6, "symbol": "EURUSD.raw", "position": buy.order, "sl": sl, "tp": tp}
    )
    assert result.retcode == DONE, result
    (position,) = t.positions_get()
    assert (position.sl, position.tp) == (sl, tp)
    too_close = round(bid - 0.00005, 5)  # 5 points, inside the 20-point stops level
    result = h.send(
        t, {"action": 6, "symbol": "EURUSD.raw", "position": buy.order, "sl": too_close, "tp": tp}
    )
    assert result.retcode == INVALID_STOPS
    assert t.positions_get()[0].sl == sl


def test_not_enough_money(terminal, h):
    t = terminal("harbor_fx")  # 10 000 EUR at 1:30; 10 lots of EURUSD needs ~33 000 EUR
    request = h.market_request(t, "EURUSD.m", h.BUY, 10.0)
    assert t.order_check(request).retcode == NO_MONEY
    result = h.send(t, request)
    assert result.retcode == NO_MONEY
    assert result.comment == "No money"
    assert t.positions_get() == ()


def test_sell_helper_with_ticket_closes_that_position(terminal, h):
    t = terminal("meridian_ecn")
    buy = t.Buy("EURUSD", 0.01)
    close = t.Sell("EURUSD", 0.01, ticket=buy.order)
    assert close.retcode == DONE
    assert close.request.position == buy.order
    assert t.positions_get() == ()


# --- netting ---------------------------------------------------------------------------------


def test_netting_account_mode(terminal):
    assert terminal("summit_netting").account_info().margin_mode == 0
    assert terminal("meridian_ecn").account_info().margin_mode == 2


def test_netting_same_direction_adds_to_one_position(terminal, h):
    t = terminal("summit_netting")
    first = h.open_market(t, "EURUSD-ECN", h.BUY, 0.01)
    second = h.open_market(t, "EURUSD-ECN", h.BUY, 0.02)
    (position,) = t.positions_get()
    assert position.identifier == first.order
    assert position.ticket == first.order
    assert position.volume == pytest.approx(0.03)
    (deal,) = t.history_deals_get(ticket=second.order)
    assert deal.entry == DEAL_ENTRY_IN
    assert deal.position_id == first.order


def test_netting_opposite_reduces(terminal, h):
    t = terminal("summit_netting")
    first = h.open_market(t, "EURUSD-ECN", h.BUY, 0.03)
    reduce_ = h.open_market(t, "EURUSD-ECN", h.SELL, 0.01)
    (position,) = t.positions_get()
    assert position.type == POSITION_TYPE_BUY
    assert position.volume == pytest.approx(0.02)
    assert position.identifier == first.order
    (deal,) = t.history_deals_get(ticket=reduce_.order)
    assert deal.entry == DEAL_ENTRY_OUT
    assert deal.position_id == first.order


def test_netting_opposite_closes(terminal, h):
    t = terminal("summit_netting")
    first = h.open_market(t, "EURUSD-ECN", h.BUY, 0.02)
    close = h.open_market(t, "EURUSD-ECN", h.SELL, 0.02)  # no `position` needed on netting
    assert t.positions_get() == ()
    (deal,) = t.history_deals_get(ticket=close.order)
    assert deal.entry == DEAL_ENTRY_OUT
    assert deal.position_id == first.order


def test_netting_larger_opposite_reverses(terminal, h):
    t = terminal("summit_netting")
    first = h.open_market(t, "EURUSD-ECN", h.BUY, 0.01)
    flip = h.open_market(t, "EURUSD-ECN", h.SELL, 0.03)
    (position,) = t.positions_get()
    assert position.type == POSITION_TYPE_SELL
    assert position.volume == pytest.approx(0.02)
    assert position.identifier == first.order
    assert position.ticket == flip.order  # the ticket changes to the reversing order's
    (deal,) = t.history_deals_get(ticket=flip.order)
    assert deal.entry == DEAL_ENTRY_INOUT
    assert deal.type == DEAL_TYPE_SELL
    assert deal.volume == pytest.approx(0.03)
    assert deal.position_id == first.order
    deals = t.history_deals_get(position=first.order)
    assert sorted(d.entry for d in deals) == [DEAL_ENTRY_IN, DEAL_ENTRY_INOUT]


def test_netting_one_position_per_symbol(terminal, h):
    t = terminal("summit_netting")
    h.open_market(t, "EURUSD-ECN", h.BUY, 0.01)
    h.open_market(t, "USDJPY-ECN", h.SELL, 0.01)
    h.open_market(t, "EURUSD-ECN", h.BUY, 0.01)
    assert sorted(p.symbol for p in t.positions_get()) == ["EURUSD-ECN", "USDJPY-ECN"]


# --- instant execution and requotes (harbor_fx) ----------------------------------------------


def test_instant_execution_requote_beyond_deviation(terminal, h):
    t = terminal("harbor_fx")
    point = t.symbol_info("EURUSD.m").point
    request = h.market_request(t, "EURUSD.m", h.BUY, 0.01, deviation=10)
    request["price"] = round(request["price"] - 1000 * point, 5)  # a stale price
    result = h.send(t, request)
    tick = t.symbol_info_tick("EURUSD.m")
    assert result.retcode == REQUOTE
    assert result.comment == "Requote"
    assert (result.deal, result.order, result.volume, result.price) == (0, 0, 0.0, 0.0)
    assert result.bid == tick.bid and result.ask == tick.ask
    assert t.positions_get() == ()


def test_instant_execution_within_deviation_fills(terminal, h):
    t = terminal("harbor_fx")
    point = t.symbol_info("EURUSD.m").point
    request = h.market_request(t, "EURUSD.m", h.BUY, 0.01, deviation=10)
    assert h.send(t, request).retcode == DONE
    request["price"] = round(request["price"] - 3 * point, 5)
    assert h.send(t, request).retcode == DONE
    assert t.positions_total() == 2


def test_instant_execution_fills_at_the_market_not_the_requested_price(terminal, h):
    # Deviation is the slippage the trader accepts (fact sheet 8.4): the broker deals at its own
    # price of the moment, so a request a few points off is filled at the ask, not at its price.
    t = terminal("harbor_fx")
    point = t.symbol_info("EURUSD.m").point
    tick = t.symbol_info_tick("EURUSD.m")
    request = h.market_request(t, "EURUSD.m", h.BUY, 0.01, deviation=10)
    request["price"] = round(tick.ask - 3 * point, 5)
    result = h.send(t, request)
    assert result.retcode == DONE
    assert result.price == tick.ask
    request = h.market_request(t, "EURUSD.m", h.SELL, 0.01, deviation=10)
    request["price"] = round(tick.bid + 4 * point, 5)
    result = h.send(t, request)
    assert result.retcode == DONE
    assert result.price == tick.bid


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_instant_execution_slips_to_the_moved_market_within_deviation(terminal, h, clock, side):
    t = terminal("harbor_fx")
    order_type = h.BUY if side == "buy" else h.SELL
    quote = (lambda tk: tk.ask) if side == "buy" else (lambda tk: tk.bid)
    stale = quote(t.symbol_info_tick("EURUSD.m"))
    while quote(t.symbol_info_tick("EURUSD.m")) == stale:
        clock.advance(0.5)
    fresh = quote(t.symbol_info_tick("EURUSD.m"))
    request = h.market_request(t, "EURUSD.m", order_type, 0.01, price=stale, deviation=100_000)
    result = h.send(t, request)
    assert result.retcode == DONE
    assert result.price == fresh != stale
    (deal,) = t.history_deals_get(ticket=result.order)
    (position,) = t.positions_get()
    assert deal.price == position.price_open == fresh


def test_instant_execution_deviation_is_measured_from_the_requested_price(terminal, h):
    t = terminal("harbor_fx")
    point = t.symbol_info("EURUSD.m").point
    ask = t.symbol_info_tick("EURUSD.m").ask
    at_limit = h.market_request(t, "EURUSD.m", h.BUY, 0.01, price=round(ask - 10 * point, 5), deviation=10)
    assert h.send(t, at_limit).retcode == DONE
    beyond = h.market_request(t, "EURUSD.m", h.BUY, 0.01, price=round(ask - 11 * point, 5), deviation=10)
    result = h.send(t, beyond)
    assert result.retcode == REQUOTE
    assert (result.price, result.ask) == (0.0, ask)


def test_request_execution_deals_at_the_brokers_price_or_requotes(terminal, h, clock):
    # Request execution (trade_exemode 0) also takes price and deviation (fact sheet 8.4).
    import dataclasses

    from copier_gui.sim import PROFILES

    profile = dataclasses.replace(PROFILES["harbor_fx"], name="harbor_request", execution=0)
    t = terminal(profile)
    assert t.symbol_info("EURUSD.m").trade_exemode == 0
    point = t.symbol_info("EURUSD.m").point
    tick = t.symbol_info_tick("EURUSD.m")
    request = h.market_request(t, "EURUSD.m", h.BUY, 0.01, price=round(tick.ask - 2 * point, 5), deviation=5)
    result = h.send(t, request)
    assert (result.retcode, result.price) == (DONE, tick.ask)
    request = h.market_request(t, "EURUSD.m", h.BUY, 0.01, price=round(tick.ask - 6 * point, 5), deviation=5)
    assert h.send(t, request).retcode == REQUOTE
    assert h.send(t, h.market_request(t, "EURUSD.m", h.BUY, 0.01, price=0.0)).retcode != DONE


def test_instant_execution_needs_a_price(terminal, h):
    t = terminal("harbor_fx")
    request = h.market_request(t, "EURUSD.m", h.BUY, 0.01, price=0.0)
    result = h.send(t, request)
    assert result.retcode != DONE
    assert t.positions_get() == ()


# --- market hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "symbol", "retcode"),
    [
        ("saturday", "EURUSD", MARKET_CLOSED),
        ("saturday", "XAUUSD", MARKET_CLOSED),
        ("saturday", "BTCUSD", DONE),
        ("wednesday_2130", "XAUUSD", MARKET_CLOSED),
        ("wednesday_2130", "US30", MARKET_CLOSED),
        ("wednesday_2130", "EURUSD", DONE),
    ],
)
def test_market_hours(terminal, h, when, symbol, retcode):
    t = terminal("meridian_ecn", clock=VirtualClock(TIMES[when]))
    request = h.market_request(t, symbol, h.BUY, 0.01)
    result = h.send(t, request)
    assert result.retcode == retcode, result
    assert t.positions_total() == (1 if retcode == DONE else 0)


# --- pending orders --------------------------------------------------------------------------


def test_pending_order_lifecycle(terminal, h):
    t = terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    price = round(tick.ask - 0.0100, 5)
    placed = h.send(
        t,
        {
            "action": 5,  # TRADE_ACTION_PENDING
            "symbol": "EURUSD",
            "volume": 0.01,
            "type": 2,  # ORDER_TYPE_BUY_LIMIT
            "price": price,
            "type_filling": FOK,
            "type_time": 0,
            "magic": 5,
            "comment": "limit",
        },
    )
    assert placed.retcode in (10008, DONE), placed
    assert placed.order > 0 and placed.deal == 0
    assert t.orders_total() == 1
    (order,) = t.orders_get()
    assert type(order) is t.TradeOrder
    assert order.ticket == placed.order
    assert order.type == 2 and order.state == ORDER_STATE_PLACED
    assert order.price_open == price
    assert order.volume_initial == 0.01 and order.volume_current == 0.01
    assert order.magic == 5 and order.comment == "limit" and order.symbol == "EURUSD"
    assert t.positions_get() == ()

    removed = h.send(t, {"action": 8, "order": placed.order})  # TRADE_ACTION_REMOVE
    assert removed.retcode == DONE, removed
    assert t.orders_get() == () and t.orders_total() == 0
    (gone,) = t.history_orders_get(ticket=placed.order)
    assert gone.state == ORDER_STATE_CANCELED


# --- keyword-only order_send and the package helpers -----------------------------------------


def test_order_send_keyword_only_form(terminal, h):
    t = terminal("meridian_ecn")
    request = h.market_request(t, "EURUSD", h.BUY, 0.01, comment="kw form")
    result = t.order_send(**request)
    assert result is not None, t.last_error()
    assert result.retcode == DONE
    (position,) = t.positions_get()
    assert position.ticket == result.order and position.comment == "kw form"


def test_buy_helper(terminal, h):
    t = terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    result = t.Buy("EURUSD", 0.01, comment="helper")
    assert type(result) is t.OrderSendResult
    assert result.retcode == DONE
    r = result.request
    assert (r.action, r.type, r.deviation, r.type_filling) == (1, 0, 10, 0)
    assert r.price == tick.ask and r.comment == "helper" and r.position == 0
    (position,) = t.positions_get()
    assert position.type == POSITION_TYPE_BUY and position.comment == "helper"


def test_sell_helper_with_explicit_price(terminal, h):
    t = terminal("meridian_ecn")
    bid = t.symbol_info_tick("EURUSD").bid
    result = t.Sell("EURUSD", 0.02, bid)
    assert result.retcode == DONE
    assert result.request.price == bid and result.request.type == 1
    (position,) = t.positions_get()
    assert position.type == POSITION_TYPE_SELL and position.volume == 0.02


def test_close_helper_closes_by_symbol(terminal, h):
    t = terminal("meridian_ecn")
    t.Buy("EURUSD", 0.01)
    t.Sell("EURUSD", 0.01)
    t.Buy("GBPUSD", 0.01)
    assert t.Close("EURUSD") is True
    assert [p.symbol for p in t.positions_get()] == ["GBPUSD"]
    assert t.Close("EURUSD") is False  # nothing left to close


def test_close_helper_closes_one_ticket(terminal, h):
    t = terminal("meridian_ecn")
    keep = t.Buy("EURUSD", 0.01)
    drop = t.Buy("EURUSD", 0.01)
    assert t.Close("EURUSD", ticket=drop.order) is True
    assert [p.ticket for p in t.positions_get()] == [keep.order]
    (out,) = [d for d in t.history_deals_get(position=drop.order) if d.entry == DEAL_ENTRY_OUT]
    assert out.type == DEAL_TYPE_SELL


def test_buy_helper_sends_no_filling_so_ioc_only_broker_rejects(terminal):
    t = terminal("summit_netting")
    result = t.Buy("EURUSD-ECN", 0.01)
    assert result.retcode == INVALID_FILL
    assert t.positions_get() == ()


def test_buy_helper_with_stale_price_is_requoted(terminal):
    t = terminal("harbor_fx")
    ask = t.symbol_info_tick("EURUSD.m").ask
    result = t.Buy("EURUSD.m", 0.01, round(ask - 0.01, 5))
    assert result.retcode == REQUOTE
    assert t.Buy("EURUSD.m", 0.01).retcode == DONE  # without a price it re-reads the tick
