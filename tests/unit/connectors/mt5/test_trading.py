"""Trading round trips on every broker profile, and the rules that shape each order_send request."""

from __future__ import annotations

import pytest

from copier_gui.core.model import (
    CancelPending,
    ClosePosition,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PlacePending,
    Side,
    Status,
)
from tests.unit.connectors.mt5.brokers import (
    COMPANY,
    MIN_LOT,
    POINT,
    PROFILES,
    SERVER_OFFSET_S,
    STOPS_LEVEL,
    eurusd,
)

pytestmark = pytest.mark.asyncio

FLOAT_KEYS = ("volume", "price", "stoplimit", "sl", "tp")


def assert_typed(request: dict) -> None:
    """The module's argument rules: floats where floats are due, plain ints elsewhere."""
    for key, value in request.items():
        if key in FLOAT_KEYS:
            assert type(value) is float, (key, value)
        elif key in ("symbol", "comment"):
            assert type(value) is str and len(value.encode("utf-16-le")) // 2 <= 27, (key, value)
        else:
            assert type(value) is int, (key, value)


@pytest.mark.parametrize("profile", PROFILES)
async def test_open_partial_close_and_close(connected, deal_count, profile):
    connector, terminal = await connected(profile)
    symbol, lot = eurusd(profile), MIN_LOT[profile]
    three = round(3 * lot, 2)
    tick = terminal.symbol_info_tick(symbol)
    opened = await connector.open(OpenPosition(symbol, Side.SELL, three, 0.0, 0.0, 77, "copy 1"))
    assert opened.status is Status.FILLED, opened.message
    assert opened.retcode == 10009
    assert opened.message == (f"filled by {COMPANY[profile]} (10009 Request executed): sold "
                              f"{three:.10g} lots of {symbol} at {tick.bid:.10g}")
    assert (opened.volume, opened.price, opened.bid, opened.ask) == (three, tick.bid, tick.bid, tick.ask)
    assert opened.order > 0 and opened.deal > 0
    assert opened.received_at >= opened.sent_at > 0
    assert_typed(opened.extra["request"])
    (position,) = (await connector.snapshot()).positions
    assert (position.ticket, position.side, position.volume) == (opened.order, Side.SELL, three)
    assert (position.magic, position.comment) == (77, "copy 1")

    partial = await connector.close(ClosePosition(position.ticket, symbol, Side.SELL, lot, 77, "part"))
    assert partial.status is Status.FILLED, partial.message
    request = partial.extra["request"]
    assert_typed(request)
    assert (request["position"], request["symbol"], request["type"]) == (position.ticket, symbol, 0)
    assert request["price"] == tick.ask  # a sell closes by buying at the ask
    (rest,) = (await connector.snapshot()).positions
    assert rest.ticket == position.ticket
    assert rest.volume == pytest.approx(2 * lot)

    closed = await connector.close(ClosePosition(position.ticket, symbol, Side.SELL, rest.volume, 77, ""))
    assert closed.status is Status.FILLED, closed.message
    assert (await connector.snapshot()).positions == ()
    assert deal_count(terminal) == 3


@pytest.mark.parametrize("profile", PROFILES)
async def test_modify_stops(connected, profile):
    connector, terminal = await connected(profile)
    symbol = eurusd(profile)
    opened = await connector.open(OpenPosition(symbol, Side.BUY, MIN_LOT[profile], 0.0, 0.0, 5, ""))
    bid = terminal.symbol_info_tick(symbol).bid
    sl, tp = bid - 500 * POINT, bid + 500 * POINT  # unrounded: the connector rounds to digits
    report = await connector.modify(ModifyStops(opened.order, symbol, sl, tp))
    assert report.status is Status.PLACED, report.message
    assert report.message == f"accepted by {COMPANY[profile]} (10009 Request executed)"
    request = report.extra["request"]
    assert_typed(request)
    assert (request["action"], request["position"], request["symbol"]) == (6, opened.order, symbol)
    (position,) = (await connector.snapshot()).positions
    assert (position.sl, position.tp) == (round(sl, 5), round(tp, 5))
    assert "adjusted" not in report.extra


@pytest.mark.parametrize("profile", PROFILES)
async def test_pending_place_modify_cancel(connected, weekday_clock, profile):
    connector, terminal = await connected(profile)
    symbol, lot = eurusd(profile), MIN_LOT[profile]
    ask = terminal.symbol_info_tick(symbol).ask
    price = round(ask - 200 * POINT, 5)
    placed = await connector.place_pending(PlacePending(
        symbol, PendingKind.BUY_LIMIT, 2 * lot, price, 0.0, price - 300 * POINT, price + 300 * POINT, 0, 21, "pend"))
    assert placed.status is Status.PLACED, placed.message
    request = placed.extra["request"]
    assert_typed(request)
    assert (request["action"], request["type"], request["type_filling"], request["type_time"]) == (5, 2, 2, 0)
    (order,) = (await connector.snapshot()).orders
    assert (order.ticket, order.kind, order.volume, order.price) == (placed.order, PendingKind.BUY_LIMIT, 2 * lot, price)
    assert (order.magic, order.comment, order.expiration) == (21, "pend", 0)

    expiration = int(weekday_clock.time()) + SERVER_OFFSET_S[profile] + 86400  # trade server time
    new_price = round(ask - 250 * POINT, 5)
    modified = await connector.modify_pending(ModifyPending(
        placed.order, symbol, new_price, 0.0, new_price - 300 * POINT, 0.0, expiration))
    assert modified.status is Status.PLACED, modified.message
    assert (modified.extra["request"]["action"], modified.extra["request"]["type_time"]) == (7, 2)
    assert_typed(modified.extra["request"])
    (order,) = (await connector.snapshot()).orders
    assert (order.price, order.sl, order.tp, order.expiration) == (
        new_price, round(new_price - 300 * POINT, 5), 0.0, expiration)

    cancelled = await connector.cancel(CancelPending(placed.order, symbol))
    assert cancelled.status is Status.PLACED, cancelled.message
    assert cancelled.extra["request"] == {"action": 8, "order": placed.order}
    assert (await connector.snapshot()).orders == ()


async def test_stop_limit_order_round_trip(connected):
    connector, terminal = await connected("meridian_ecn")
    ask = terminal.symbol_info_tick("EURUSD").ask
    price, limit = round(ask + 100 * POINT, 5), round(ask + 60 * POINT, 5)
    placed = await connector.place_pending(PlacePending(
        "EURUSD", PendingKind.BUY_STOP_LIMIT, 0.01, price, limit, limit - 0.001, limit + 0.001, 0, 3, ""))
    assert placed.status is Status.PLACED, placed.message
    (order,) = (await connector.snapshot()).orders
    assert (order.kind, order.price, order.stoplimit) == (PendingKind.BUY_STOP_LIMIT, price, limit)


async def test_instant_execution_sends_the_fresh_quote_and_deviation(connected):
    connector, terminal = await connected("harbor_fx")
    tick = terminal.symbol_info_tick("GOLD.m")
    report = await connector.open(OpenPosition("GOLD.m", Side.BUY, 0.01, 0.0, 0.0, 1, "", max_deviation_points=7))
    assert report.status is Status.FILLED, report.message
    request = report.extra["request"]
    assert (request["price"], request["deviation"], request["type_filling"]) == (tick.ask, 7, 0)
    assert report.price == tick.ask


async def test_market_execution_also_sends_the_fresh_quote(connected):
    connector, terminal = await connected("apex_prop")
    tick = terminal.symbol_info_tick("EURUSD.raw")
    report = await connector.open(OpenPosition("EURUSD.raw", Side.SELL, 0.1, 0.0, 0.0, 1, ""))
    assert report.extra["request"]["price"] == tick.bid
    assert report.extra["request"]["deviation"] == 20


@pytest.mark.parametrize(("volume", "problem"), [
    (0.15, "is not a multiple of the lot step"),
    (0.05, "is below the minimum"),
    (60.0, "is above the maximum"),
    (0.0, "is below the minimum"),
])
async def test_a_volume_the_broker_refuses_is_not_sent(connected, deal_count, volume, problem):
    connector, terminal = await connected("apex_prop")
    before = deal_count(terminal)
    report = await connector.open(OpenPosition("EURUSD.raw", Side.BUY, volume, 0.0, 0.0, 1, ""))
    assert report.status is Status.REJECTED
    assert report.retcode == 10014
    assert report.message == (f"not sent to Apex Funded Traders LLC: volume {volume:.10g} lots of EURUSD.raw "
                              f"{problem} (lot step 0.1, minimum 0.1, maximum 50)")
    assert report.extra == {"sent": False}
    assert terminal.positions_get() == ()
    assert deal_count(terminal) == before


async def test_a_volume_off_the_step_by_float_noise_is_sent_on_the_step(connected):
    connector, _ = await connected("apex_prop")
    report = await connector.open(OpenPosition("EURUSD.raw", Side.BUY, 0.1 + 0.2, 0.0, 0.0, 1, ""))
    assert report.status is Status.FILLED, report.message
    assert report.extra["request"]["volume"] == 0.3


async def test_close_refuses_an_off_step_volume_too(connected):
    connector, _ = await connected("apex_prop")
    opened = await connector.open(OpenPosition("EURUSD.raw", Side.BUY, 0.3, 0.0, 0.0, 1, ""))
    report = await connector.close(ClosePosition(opened.order, "EURUSD.raw", Side.BUY, 0.25, 1, ""))
    assert (report.status, report.retcode, report.extra["sent"]) == (Status.REJECTED, 10014, False)


@pytest.mark.parametrize(("comment", "sent"), [
    ("copier:master-123456:pos-987654321:leg-1", "copier:master-123456:pos-98"),
    ("\N{SLIGHTLY SMILING FACE}" * 20, "\N{SLIGHTLY SMILING FACE}" * 13),  # two UTF-16 units each
    ("short", "short"),
])
async def test_comment_is_cut_to_27_units(connected, comment, sent):
    connector, _ = await connected("meridian_ecn")
    report = await connector.open(OpenPosition("EURUSD", Side.BUY, 0.01, 0.0, 0.0, 1, comment))
    assert report.status is Status.FILLED, report.message
    assert report.extra["request"]["comment"] == sent
    (position,) = (await connector.snapshot()).positions
    assert position.comment == sent


async def test_stops_too_close_are_moved_out_and_reported(connected):
    connector, terminal = await connected("harbor_fx")  # stops level 10 points
    tick = terminal.symbol_info_tick("EURUSD.m")
    report = await connector.open(OpenPosition(
        "EURUSD.m", Side.BUY, 0.01, tick.bid - 3 * POINT, tick.bid + 200 * POINT, 1, ""))
    assert report.status is Status.FILLED, report.message
    expected_sl = round(tick.bid - 11 * POINT, 5)
    assert report.extra["adjusted"] == (
        f"stop loss moved from {tick.bid - 3 * POINT:.5f} to {expected_sl:.5f}: EURUSD.m needs stops at "
        f"least 10 points from the bid {tick.bid:.5f}")
    assert report.extra["adjusted"] in report.message
    (position,) = (await connector.snapshot()).positions
    assert (position.sl, position.tp) == (expected_sl, round(tick.bid + 200 * POINT, 5))


@pytest.mark.parametrize("profile", ["harbor_fx", "summit_netting", "apex_prop"])
async def test_stops_on_the_wrong_side_are_moved_for_a_sell(connected, profile):
    connector, terminal = await connected(profile)
    symbol, level = eurusd(profile), STOPS_LEVEL[profile]
    opened = await connector.open(OpenPosition(symbol, Side.SELL, MIN_LOT[profile], 0.0, 0.0, 1, ""))
    ask = terminal.symbol_info_tick(symbol).ask
    report = await connector.modify(ModifyStops(opened.order, symbol, ask - 2 * POINT, ask + 2 * POINT))
    assert report.status is Status.PLACED, report.message
    assert "stop loss moved" in report.extra["adjusted"] and "take profit moved" in report.extra["adjusted"]
    (position,) = (await connector.snapshot()).positions
    assert position.sl == round(ask + (level + 1) * POINT, 5)
    assert position.tp == round(ask - (level + 1) * POINT, 5)


async def test_pending_stops_are_measured_from_the_entry_price(connected):
    connector, terminal = await connected("apex_prop")  # stops level 20 points
    ask = terminal.symbol_info_tick("EURUSD.raw").ask
    entry = round(ask + 100 * POINT, 5)
    report = await connector.place_pending(PlacePending(
        "EURUSD.raw", PendingKind.BUY_STOP, 0.1, entry, 0.0, entry - 5 * POINT, 0.0, 0, 1, ""))
    assert report.status is Status.PLACED, report.message
    assert "the entry price" in report.extra["adjusted"]
    (order,) = (await connector.snapshot()).orders
    assert order.sl == round(entry - 21 * POINT, 5)


async def test_unknown_symbol_is_not_sent(connected):
    connector, _ = await connected("meridian_ecn")
    report = await connector.open(OpenPosition("EURUSD.m", Side.BUY, 0.01, 0.0, 0.0, 1, ""))
    assert (report.status, report.retcode, report.extra) == (Status.REJECTED, 10013, {"sent": False})
    assert report.message == "not sent to Meridian Markets Ltd: Meridian Markets Ltd has no symbol 'EURUSD.m' on this account"


async def test_a_symbol_outside_market_watch_is_selected_and_traded(connected):
    connector, terminal = await connected("summit_netting")
    report = await connector.open(OpenPosition("EURJPY-ECN", Side.BUY, 0.01, 0.0, 0.0, 1, ""))
    assert report.status is Status.FILLED, report.message
    assert terminal.symbol_info("EURJPY-ECN").visible is True


async def test_negative_magic_is_not_sent(connected):
    connector, terminal = await connected("meridian_ecn")
    report = await connector.open(OpenPosition("EURUSD", Side.BUY, 0.01, 0.0, 0.0, -1, ""))
    assert (report.status, report.retcode, report.extra["sent"]) == (Status.REJECTED, 10013, False)
    assert terminal.positions_get() == ()


async def test_netting_account_partial_close_keeps_the_position(connected):
    connector, terminal = await connected("summit_netting")
    opened = await connector.open(OpenPosition("XAUUSD-ECN", Side.BUY, 0.05, 0.0, 0.0, 1, ""))
    report = await connector.close(ClosePosition(opened.order, "XAUUSD-ECN", Side.BUY, 0.02, 1, ""))
    assert report.status is Status.FILLED, report.message
    (position,) = (await connector.snapshot()).positions
    assert position.volume == pytest.approx(0.03)
    assert report.extra["request"]["type_filling"] == 1  # IOC at this broker


@pytest.mark.parametrize(("side", "offset_points", "sent"), [
    (Side.BUY, 0, True),      # exactly at the worst price: acceptable
    (Side.BUY, 3, True),
    (Side.BUY, -1, False),    # the ask is already a point above the worst a buy accepts
    (Side.SELL, 0, True),
    (Side.SELL, -3, True),
    (Side.SELL, 1, False),    # the bid is already a point below the worst a sell accepts
])
async def test_worst_price_is_checked_against_the_fresh_quote(connected, deal_count, side, offset_points, sent):
    connector, terminal = await connected("harbor_fx")
    tick = terminal.symbol_info_tick("EURUSD.m")
    quote = tick.ask if side is Side.BUY else tick.bid
    worst = round(quote + offset_points * POINT, 5)
    report = await connector.open(OpenPosition("EURUSD.m", side, 0.01, 0.0, 0.0, 1, "", worst_price=worst))
    if sent:
        assert report.status is Status.FILLED, report.message
        return
    assert (report.status, report.retcode, report.extra) == (Status.REQUOTED, 10004, {"sent": False})
    assert (report.bid, report.ask) == (tick.bid, tick.ask)
    name, verb = ("ask", "buy") if side is Side.BUY else ("bid", "sell")
    assert report.message == (f"not sent to Harbor FX Europe AG: the {name} {quote:.5f} of EURUSD.m is already "
                              f"worse than the worst price {worst:.5f} accepted for this {verb}")
    assert deal_count(terminal) == 0


@pytest.mark.parametrize(("spreads", "sent"), [(0.0, False), (2.0, True), (0.5, False)])
async def test_a_spread_limit_widens_the_worst_price_with_the_fresh_spread(connected, deal_count, spreads, sent):
    """A quote one point beyond a points-only worst price passes when the limit is also that many
    of the spreads the connector reads right before sending, and the order's deviation widens too."""
    connector, terminal = await connected("harbor_fx")
    tick = terminal.symbol_info_tick("EURUSD.m")
    spread_points = round((tick.ask - tick.bid) / POINT)
    assert spread_points >= 2  # the profile spreads wider than one point, so 2 spreads reach the ask
    reference = round(tick.ask - spread_points * POINT, 5)  # the master filled one spread below the ask
    worst = round(reference + POINT, 5)
    report = await connector.open(OpenPosition("EURUSD.m", Side.BUY, 0.01, 0.0, 0.0, 1, "", worst_price=worst,
                                               max_deviation_points=1, max_deviation_spreads=spreads,
                                               reference_price=reference))
    if not sent:
        assert report.status is Status.REQUOTED and deal_count(terminal) == 0
        return
    assert report.status is Status.FILLED, report.message
    assert report.extra["request"]["deviation"] == 2 * spread_points
    assert report.extra["deviation_limit_points"] == pytest.approx(2 * spread_points)
