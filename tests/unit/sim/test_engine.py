"""The simulated trade server's rules beyond the argument checks: broker differences, money,
sessions, pending order types, close-by, expiry and stop-out."""

from __future__ import annotations

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.sim import PROFILES, new_terminal
from tests.kit import WEEKDAY_NOON_UTC


def deal(t, symbol, order_type, volume, **extra):
    tick = t.symbol_info_tick(symbol)
    info = t.symbol_info(symbol)
    filling = t.ORDER_FILLING_FOK if info.filling_mode & 1 else (
        t.ORDER_FILLING_IOC if info.filling_mode & 2 else t.ORDER_FILLING_RETURN)
    request = {"action": t.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": order_type,
               "price": tick.ask if order_type == t.ORDER_TYPE_BUY else tick.bid, "deviation": 30,
               "type_filling": filling}
    request.update(extra)
    return t.order_send(request)


def test_at_least_four_profiles_that_differ_like_real_brokers():
    assert len(PROFILES) >= 4
    suffixes = {p.symbols[0].name.removeprefix("EURUSD") for p in PROFILES.values()}
    assert suffixes == {"", ".m", "-ECN", ".raw"}
    names = {s.name for p in PROFILES.values() for s in p.symbols}
    assert {"XAUUSD", "GOLD.m", "US30", "DJ30.cash"} <= names
    index_contracts = {s.contract_size for p in PROFILES.values() for s in p.symbols if s.instrument == "US30"}
    assert {1.0, 10.0, 100.0} <= index_contracts
    gold_contracts = {s.contract_size for p in PROFILES.values() for s in p.symbols if s.instrument == "XAUUSD"}
    assert {100.0, 10.0} <= gold_contracts
    # Brokers carry different instruments: some only at some brokers.
    carried = {p.name: {s.instrument for s in p.symbols} for p in PROFILES.values()}
    assert len({frozenset(c) for c in carried.values()}) == len(PROFILES)
    assert {name for name, c in carried.items() if "ETHUSD" in c} == {"meridian_ecn", "harbor_fx"}
    assert {name for name, c in carried.items() if "GBPJPY" in c} == {"meridian_ecn", "summit_netting"}
    assert {name for name, c in carried.items() if "USDZAR" in c} == {"harbor_fx"}
    volume_rules = {(s.volume_min, s.volume_step, s.volume_max) for p in PROFILES.values() for s in p.symbols}
    assert {(0.01, 0.01, 500.0), (0.1, 0.1, 50.0)} <= volume_rules
    assert {p.filling_mode for p in PROFILES.values()} == {0, 1, 2, 3}
    assert {p.currency for p in PROFILES.values()} >= {"USD", "EUR", "JPY"}
    assert {p.margin_mode for p in PROFILES.values()} == {0, 2}
    assert {p.execution for p in PROFILES.values()} == {1, 2}


def test_unknown_profile_and_account_setting_are_named():
    with pytest.raises(ValueError, match="no_such_broker.*apex_prop"):
        new_terminal("no_such_broker")
    with pytest.raises(TypeError, match="colour"):
        new_terminal("meridian_ecn", colour="blue")
    with pytest.raises(ValueError, match="currency"):
        new_terminal("meridian_ecn", currency="XYZ")


def test_index_contract_size_scales_profit_and_margin(make_terminal):
    per_lot = {}
    for profile, symbol in (("meridian_ecn", "US30"), ("harbor_fx", "US30.m"), ("summit_netting", "DJ30.cash")):
        t = make_terminal(profile, currency="USD", leverage=100)
        tick = t.symbol_info_tick(symbol)
        per_lot[profile] = t.order_calc_profit(t.ORDER_TYPE_BUY, symbol, 1.0, tick.ask, tick.ask + 100.0)
        assert t.symbol_info(symbol).trade_contract_size * 100.0 == pytest.approx(per_lot[profile])
    assert per_lot == {"meridian_ecn": 100.0, "harbor_fx": 1000.0, "summit_netting": 10000.0}


def test_profit_converts_into_the_account_currency(make_terminal):
    usd = make_terminal("meridian_ecn")
    eur = make_terminal("meridian_ecn", currency="EUR")
    jpy = make_terminal("meridian_ecn", currency="JPY")
    eurusd = usd.symbol_info_tick("EURUSD")
    usdjpy = usd.symbol_info_tick("USDJPY")
    in_usd = usd.order_calc_profit(0, "XAUUSD", 1.0, 2600.0, 2601.0)
    assert in_usd == pytest.approx(100.0)
    assert eur.order_calc_profit(0, "XAUUSD", 1.0, 2600.0, 2601.0) == pytest.approx(100.0 / eurusd.bid, rel=2e-4)
    assert jpy.order_calc_profit(0, "XAUUSD", 1.0, 2600.0, 2601.0) == pytest.approx(100.0 * usdjpy.bid, rel=2e-4)
    assert jpy.account_info().currency_digits == 0


def test_same_instrument_moves_together_across_brokers(weekday_clock):
    terminals = [new_terminal(p, seed=3, clock=weekday_clock) for p in ("meridian_ecn", "harbor_fx", "apex_prop")]
    for t in terminals:
        assert t.initialize()
    names = ("EURUSD", "EURUSD.m", "EURUSD.raw")
    for _ in range(20):
        weekday_clock.advance(30.0)
        mids = [(t.symbol_info_tick(n).bid + t.symbol_info_tick(n).ask) / 2 for t, n in zip(terminals, names, strict=True)]
        # Brokers quote the same market, a few points apart (offsets and spreads differ).
        assert max(mids) - min(mids) < 0.0010


def test_the_same_seed_gives_the_same_prices_and_tickets():
    def run(seed):
        clock = VirtualClock(WEEKDAY_NOON_UTC)
        t = new_terminal("harbor_fx", seed=seed, clock=clock)
        assert t.initialize()
        out = []
        for _ in range(10):
            clock.advance(7.0)
            tick = t.symbol_info_tick("GOLD.m")
            result = deal(t, "GOLD.m", t.ORDER_TYPE_BUY, 0.01)
            out.append((tick.bid, tick.ask, result.retcode, result.order, result.price))
        return out

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_market_closed_at_the_weekend_but_crypto_trades():
    saturday = VirtualClock(WEEKDAY_NOON_UTC + 3 * 86400)
    t = new_terminal("meridian_ecn", seed=1, clock=saturday)
    assert t.initialize()
    assert deal(t, "EURUSD", t.ORDER_TYPE_BUY, 0.01).retcode == t.TRADE_RETCODE_MARKET_CLOSED
    assert deal(t, "BTCUSD", t.ORDER_TYPE_BUY, 0.01).retcode == t.TRADE_RETCODE_DONE


def test_daily_break_closes_the_index(weekday_clock):
    t = new_terminal("meridian_ecn", seed=1, clock=weekday_clock)
    assert t.initialize()
    weekday_clock.advance(9 * 3600 + 600)  # 21:10 UTC
    assert deal(t, "US30", t.ORDER_TYPE_BUY, 0.01).retcode == t.TRADE_RETCODE_MARKET_CLOSED
    assert deal(t, "EURUSD", t.ORDER_TYPE_BUY, 0.01).retcode == t.TRADE_RETCODE_DONE


def test_instant_execution_requotes_a_stale_price(make_terminal, weekday_clock):
    t = make_terminal("harbor_fx")
    stale = t.symbol_info_tick("EURUSD.m")
    while t.symbol_info_tick("EURUSD.m").ask == stale.ask:
        weekday_clock.advance(0.5)
    fresh = t.symbol_info_tick("EURUSD.m")
    result = t.order_send({"action": 1, "symbol": "EURUSD.m", "volume": 0.01, "type": 0, "price": stale.ask,
                           "deviation": 0, "type_filling": t.ORDER_FILLING_FOK})
    assert result.retcode == t.TRADE_RETCODE_REQUOTE
    assert (result.bid, result.ask) == (fresh.bid, fresh.ask)
    assert t.positions_total() == 0
    accepted = t.order_send({"action": 1, "symbol": "EURUSD.m", "volume": 0.01, "type": 0, "price": fresh.ask,
                             "deviation": 0, "type_filling": t.ORDER_FILLING_FOK})
    assert accepted.retcode == t.TRADE_RETCODE_DONE and accepted.price == fresh.ask


def test_stop_limit_becomes_a_limit_then_fills(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    stop = round(tick.ask + 0.0003, 5)
    limit = round(stop - 0.0001, 5)
    placed = t.order_send({"action": t.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                           "type": t.ORDER_TYPE_BUY_STOP_LIMIT, "price": stop, "stoplimit": limit,
                           "type_filling": t.ORDER_FILLING_RETURN})
    assert placed.retcode == t.TRADE_RETCODE_DONE, placed
    seen = set()
    for _ in range(200_000):
        orders = t.orders_get()
        if not orders:
            break
        seen.add(orders[0].type)
        weekday_clock.advance(0.1)
    assert t.ORDER_TYPE_BUY_LIMIT in seen
    (position,) = t.positions_get()
    assert position.ticket == placed.order and position.price_open <= limit


def test_specified_expiration_expires_the_order(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    server_now = t.history_deals_get(0, 2**31 - 1)[0].time  # the opening balance deal, server time
    placed = t.order_send({"action": t.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                           "type": t.ORDER_TYPE_BUY_LIMIT, "price": round(tick.bid - 0.05, 5),
                           "type_filling": t.ORDER_FILLING_RETURN, "type_time": t.ORDER_TIME_SPECIFIED,
                           "expiration": server_now + 60})
    assert placed.retcode == t.TRADE_RETCODE_DONE, placed
    past = t.order_send({"action": t.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                         "type": t.ORDER_TYPE_BUY_LIMIT, "price": round(tick.bid - 0.05, 5),
                         "type_filling": t.ORDER_FILLING_RETURN, "type_time": t.ORDER_TIME_SPECIFIED,
                         "expiration": server_now - 60})
    assert past.retcode == t.TRADE_RETCODE_INVALID_EXPIRATION
    weekday_clock.advance(61.0)
    assert t.orders_get() == ()
    (expired,) = t.history_orders_get(ticket=placed.order)
    assert expired.state == t.ORDER_STATE_EXPIRED


def test_modify_and_remove_a_pending_order(make_terminal):
    t = make_terminal("meridian_ecn")
    tick = t.symbol_info_tick("EURUSD")
    placed = t.order_send({"action": t.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                           "type": t.ORDER_TYPE_SELL_LIMIT, "price": round(tick.ask + 0.002, 5),
                           "type_filling": t.ORDER_FILLING_RETURN})
    assert placed.retcode == t.TRADE_RETCODE_DONE
    new_price = round(tick.ask + 0.003, 5)
    modified = t.order_send({"action": t.TRADE_ACTION_MODIFY, "order": placed.order, "price": new_price,
                             "sl": round(new_price + 0.001, 5), "tp": 0.0})
    assert modified.retcode == t.TRADE_RETCODE_DONE, modified
    (order,) = t.orders_get(ticket=placed.order)
    assert order.price_open == new_price
    unchanged = t.order_send({"action": t.TRADE_ACTION_MODIFY, "order": placed.order, "price": new_price,
                              "sl": order.sl, "tp": 0.0})
    assert unchanged.retcode == t.TRADE_RETCODE_NO_CHANGES
    wrong_side = t.order_send({"action": t.TRADE_ACTION_MODIFY, "order": placed.order,
                               "price": round(tick.bid - 0.003, 5), "sl": 0.0, "tp": 0.0})
    assert wrong_side.retcode == t.TRADE_RETCODE_INVALID_PRICE
    removed = t.order_send({"action": t.TRADE_ACTION_REMOVE, "order": placed.order})
    assert removed.retcode == t.TRADE_RETCODE_DONE
    assert t.orders_total() == 0
    (cancelled,) = t.history_orders_get(ticket=placed.order)
    assert cancelled.state == t.ORDER_STATE_CANCELED


def test_close_by_closes_two_opposite_positions(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    start = t.account_info().balance
    long = deal(t, "EURUSD", t.ORDER_TYPE_BUY, 0.3)
    weekday_clock.advance(60.0)
    short = deal(t, "EURUSD", t.ORDER_TYPE_SELL, 0.2)
    assert t.positions_total() == 2
    result = t.order_send({"action": t.TRADE_ACTION_CLOSE_BY, "position": long.order, "position_by": short.order})
    assert result.retcode == t.TRADE_RETCODE_DONE, result
    (rest,) = t.positions_get()
    assert rest.ticket == long.order and rest.volume == pytest.approx(0.1)
    out_by = [d for d in t.history_deals_get(0, 2**31 - 1) if d.entry == t.DEAL_ENTRY_OUT_BY]
    assert {d.position_id for d in out_by} == {long.order, short.order}
    expected = round((short.price - long.price) * 0.2 * 100_000, 2)
    assert round(sum(d.profit for d in out_by), 2) == expected
    trading = [d for d in t.history_deals_get(0, 2**31 - 1) if d.type in (0, 1)]
    assert round(t.account_info().balance - start, 2) == round(sum(d.profit + d.commission + d.swap for d in trading), 2)


def test_netting_rejects_close_by(make_terminal):
    t = make_terminal("summit_netting")
    assert t.order_send({"action": t.TRADE_ACTION_CLOSE_BY, "position": 1, "position_by": 2}).retcode == t.TRADE_RETCODE_INVALID


def test_stop_out_closes_the_worst_position(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn", balance=300.0)
    opened = deal(t, "BTCUSD", t.ORDER_TYPE_BUY, 0.5)  # ~ 47,500 USD at 1:500: margin ~95
    assert opened.retcode == t.TRADE_RETCODE_DONE
    for _ in range(100_000):
        if not t.positions_total():
            break
        weekday_clock.advance(5.0)
    else:
        pytest.fail("the position was never stopped out")
    out = t.history_deals_get(position=opened.order)[-1]
    assert out.reason == t.DEAL_REASON_SO and out.comment.startswith("[so ")


def test_no_money_for_a_position_beyond_the_margin(make_terminal):
    t = make_terminal("summit_netting", balance=10_000.0)
    result = deal(t, "XAUUSD-ECN", t.ORDER_TYPE_BUY, 1.0)
    assert result.retcode == t.TRADE_RETCODE_NO_MONEY
    check = t.order_check({"action": 1, "symbol": "XAUUSD-ECN", "volume": 1.0, "type": 0, "price": 0.0,
                           "type_filling": t.ORDER_FILLING_IOC})
    assert check.retcode == t.TRADE_RETCODE_NO_MONEY


def test_margin_on_hedged_pairs_uses_the_larger_leg(make_terminal):
    t = make_terminal("meridian_ecn")
    deal(t, "EURUSD", t.ORDER_TYPE_BUY, 1.0)
    one_leg = t.account_info().margin
    deal(t, "EURUSD", t.ORDER_TYPE_SELL, 0.5)
    assert t.account_info().margin == pytest.approx(one_leg, rel=1e-3)
    assert one_leg == pytest.approx(t.order_calc_margin(t.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.0), rel=1e-3)


def test_equity_is_balance_plus_floating_profit(make_terminal, weekday_clock):
    t = make_terminal("harbor_fx")
    deal(t, "GOLD.m", t.ORDER_TYPE_BUY, 0.1)
    weekday_clock.advance(600.0)
    info = t.account_info()
    floating = sum(p.profit + p.swap for p in t.positions_get())
    assert info.profit == pytest.approx(floating, abs=0.02)
    assert info.equity == pytest.approx(info.balance + floating, abs=0.02)
    assert info.margin_free == pytest.approx(info.equity - info.margin, abs=0.01)
