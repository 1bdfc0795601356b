"""The shared simulated market: prices depend on the seed alone, never on who reads them or when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copier_gui.clock import VirtualClock

WEDNESDAY_NOON_UTC = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
FRIDAY_2000_UTC = datetime(2026, 11, 27, 20, 0, tzinfo=UTC).timestamp()


def _market(seed: int = 4):
    from copier_gui.sim import Market

    clock = VirtualClock(WEDNESDAY_NOON_UTC)
    return Market(seed, clock), clock


@pytest.mark.parametrize("key", ["GBPJPY", "XAUUSD", "ETHUSD"])
def test_an_instrument_read_late_has_the_ticks_of_one_read_all_along(key):
    early, early_clock = _market()
    late, late_clock = _market()
    for _ in range(40):
        early_clock.advance(45.0)
        late_clock.advance(45.0)
        early.sync()
        early.quote(key)
        late.sync()
        late.quote("EURUSD")  # another instrument ticks all along; this one is never read
    window = (WEDNESDAY_NOON_UTC, late_clock.time())
    assert late.quote(key) == early.quote(key)
    assert late.ticks_between(key, *window) == early.ticks_between(key, *window)
    assert len(early.ticks_between(key, *window)) > 100


def test_every_currency_an_instrument_is_priced_in_converts_to_dollars():
    from copier_gui.sim.instruments import INSTRUMENTS

    market, _ = _market()
    for inst in INSTRUMENTS.values():
        for currency in (inst.base, inst.profit):
            assert market.usd_value(currency) > 0, (inst.key, currency)
    assert market.usd_value("JPY") == pytest.approx(1.0 / market.mid("USDJPY"))
    assert market.usd_value("XAU") == pytest.approx(market.mid("XAUUSD"))
    with pytest.raises(KeyError, match="XYZ"):
        market.usd_value("XYZ")


def test_swap_is_charged_at_the_rollover_while_the_market_is_closed(h):
    from copier_gui.sim import new_terminal

    clock = VirtualClock(FRIDAY_2000_UTC)  # an hour before the forex week closes
    t = new_terminal("meridian_ecn", seed=5, clock=clock)
    assert t.initialize()
    h.open_market(t, "EURUSD", h.BUY, 1.0)
    assert t.positions_get()[0].swap == 0.0
    # The server (UTC+2) rolls over at 22:00 UTC; EURUSD has not ticked since 21:00.
    clock.advance(2.5 * 3600)
    (position,) = t.positions_get()
    assert position.swap < 0


def test_a_jump_moves_the_price_at_once_as_a_tick_every_reader_sees():
    market, clock = _market()
    market.quote("EURUSD")
    clock.advance(30.0)
    market.sync()
    before = market.quote("EURUSD")
    seen = market.last_seq("EURUSD")
    after = market.jump("EURUSD", -0.0045)
    assert after.mid == pytest.approx(before.mid - 0.0045)
    (tick,) = market.ticks_since("EURUSD", seen)[-1:]
    assert tick.mid == after.mid and tick.time == clock.time()
    # The walk goes on from the new level.
    clock.advance(5.0)
    market.sync()
    assert abs(market.mid("EURUSD") - after.mid) < 0.001


def test_a_jump_to_a_price_at_or_below_zero_is_refused_and_moves_nothing():
    market, clock = _market()
    mid = market.mid("EURUSD")
    with pytest.raises(ValueError, match="EURUSD cannot move -2 .* the price would be"):
        market.jump("EURUSD", -2.0)
    assert market.mid("EURUSD") == mid
