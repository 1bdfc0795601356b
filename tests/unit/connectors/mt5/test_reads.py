"""Reads: snapshots converted to the model, the server-offset estimate, symbols and filling modes."""

from __future__ import annotations

import pytest

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.model import (
    Execution,
    Filling,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PlacePending,
    Side,
    TradeMode,
)
from copier_gui.core.ports import ConnectorError
from tests.unit.connectors.mt5.brokers import (
    MIN_LOT,
    POINT,
    PROFILES,
    SERVER_OFFSET_S,
    STOPS_LEVEL,
    SUFFIX,
    eurusd,
)

pytestmark = pytest.mark.asyncio

FILLINGS = {
    "meridian_ecn": {Filling.FOK, Filling.IOC, Filling.RETURN},
    "harbor_fx": {Filling.FOK},
    "summit_netting": {Filling.IOC, Filling.RETURN},
    "apex_prop": {Filling.RETURN},
}
EXECUTION = {"meridian_ecn": Execution.MARKET, "harbor_fx": Execution.INSTANT,
             "summit_netting": Execution.MARKET, "apex_prop": Execution.MARKET}


async def test_snapshot_converts_positions_and_orders(connected, weekday_clock):
    connector, terminal = await connected("meridian_ecn")
    empty = await connector.snapshot()
    assert (empty.positions, empty.orders, empty.server_offset_s) == ((), (), None)
    await connector.open(OpenPosition("EURUSD", Side.BUY, 0.02, 1.07, 1.10, 11, "copy-a"))
    await connector.open(OpenPosition("XAUUSD", Side.SELL, 0.05, 0.0, 0.0, 12, "copy-b"))
    tick = terminal.symbol_info_tick("EURUSD")
    placed = await connector.place_pending(PlacePending(
        "EURUSD", PendingKind.BUY_LIMIT, 0.03, round(tick.ask - 0.002, 5), 0.0, 0.0, 0.0, 0, 13, "copy-c"))
    weekday_clock.advance(3.0)
    snapshot = await connector.snapshot()
    assert snapshot.taken_at == 3.0  # the clock's monotonic seconds
    raw = {p.ticket: p for p in terminal.positions_get()}
    assert set(snapshot.positions_by_ticket()) == set(raw)
    for position in snapshot.positions:
        p = raw[position.ticket]
        assert position.identifier == p.identifier
        assert position.symbol == p.symbol
        assert position.side is (Side.BUY if p.type == 0 else Side.SELL)
        assert (position.volume, position.price_open, position.sl, position.tp) == (
            p.volume, p.price_open, p.sl, p.tp)
        assert (position.magic, position.comment, position.time_msc) == (p.magic, p.comment, p.time_msc)
        assert (position.price_current, position.profit) == (p.price_current, p.profit)
    gold = next(p for p in snapshot.positions if p.symbol == "XAUUSD")
    assert gold.side is Side.SELL and gold.magic == 12 and gold.comment == "copy-b"
    (order,) = snapshot.orders
    o = terminal.orders_get()[0]
    assert order.ticket == placed.order == o.ticket
    assert order.kind is PendingKind.BUY_LIMIT
    assert (order.volume, order.price, order.stoplimit, order.expiration) == (0.03, o.price_open, 0.0, 0)
    assert (order.magic, order.comment, order.time_setup_msc) == (13, "copy-c", o.time_setup_msc)


@pytest.mark.parametrize("profile", PROFILES)
async def test_server_offset_is_estimated_from_a_new_record(connected, weekday_clock, profile):
    connector, _ = await connected(profile)
    assert (await connector.snapshot()).server_offset_s is None
    await connector.open(OpenPosition(eurusd(profile), Side.BUY, MIN_LOT[profile], 0.0, 0.0, 1, ""))
    weekday_clock.advance(240)
    assert (await connector.snapshot()).server_offset_s == SERVER_OFFSET_S[profile]
    # An hour later the record looks like a fresh one from a server an hour to the west; it is not
    # new, so the estimate stands.
    weekday_clock.advance(3600)
    assert (await connector.snapshot()).server_offset_s == SERVER_OFFSET_S[profile]


async def test_old_records_give_no_offset_until_something_changes(make_terminal, weekday_clock):
    terminal = make_terminal("apex_prop")
    first = MT5Connector("first", terminal, invoker=InlineInvoker(), clock=weekday_clock)
    await first.connect()
    opened = await first.open(OpenPosition("EURUSD.raw", Side.BUY, 0.1, 0.0, 0.0, 1, ""))
    weekday_clock.advance(3600 + 120)
    later = MT5Connector("later", terminal, invoker=InlineInvoker(), clock=weekday_clock)
    await later.connect()
    assert (await later.snapshot()).server_offset_s is None
    weekday_clock.advance(5)
    assert (await later.snapshot()).server_offset_s is None
    bid = terminal.symbol_info_tick("EURUSD.raw").bid
    await later.modify(ModifyStops(opened.order, "EURUSD.raw", round(bid - 0.01, 5), 0.0))
    weekday_clock.advance(1)
    assert (await later.snapshot()).server_offset_s == SERVER_OFFSET_S["apex_prop"]


async def test_a_record_seen_after_a_long_gap_is_not_trusted(connected, weekday_clock):
    connector, _ = await connected("summit_netting")
    await connector.snapshot()
    weekday_clock.advance(15 * 60)
    await connector.open(OpenPosition("EURUSD-ECN", Side.BUY, 0.01, 0.0, 0.0, 1, ""))
    assert (await connector.snapshot()).server_offset_s is None


@pytest.mark.parametrize(("magic_filter", "expected"), [
    (None, {1, 2, 3}),
    (2, {2}),
    ({1, 3}, {1, 3}),
    (lambda magic: magic >= 2, {2, 3}),
])
async def test_magic_filter(connected, magic_filter, expected):
    connector, _ = await connected("meridian_ecn", magic_filter=magic_filter)
    for magic in (1, 2, 3):
        await connector.open(OpenPosition("EURUSD", Side.BUY, 0.01, 0.0, 0.0, magic, ""))
    snapshot = await connector.snapshot()
    assert {p.magic for p in snapshot.positions} == expected


async def test_snapshot_of_an_unreachable_terminal_raises(connected):
    connector, terminal = await connected("meridian_ecn")
    terminal.sim.disconnect(5.0)
    with pytest.raises(ConnectorError) as caught:
        await connector.snapshot()
    assert caught.value.code == -10004
    assert caught.value.message.startswith("could not read open positions from the MetaTrader 5 terminal")
    assert "No IPC connection" in caught.value.message
    assert "connect again" in caught.value.message


@pytest.mark.parametrize("profile", PROFILES)
async def test_symbols_and_filling_modes(connected, profile):
    connector, _ = await connected(profile)
    specs = await connector.symbols()
    name = eurusd(profile)
    assert name in specs and len(specs) == {"meridian_ecn": 13, "harbor_fx": 11, "summit_netting": 10, "apex_prop": 9}[profile]
    spec = specs[name]
    assert spec.fillings == FILLINGS[profile]
    assert spec.execution is EXECUTION[profile]
    assert (spec.digits, spec.point, spec.contract_size) == (5, pytest.approx(POINT), 100_000.0)
    assert spec.volume_min == spec.volume_step == MIN_LOT[profile]
    assert spec.volume_max == (50.0 if profile == "apex_prop" else 500.0)
    assert spec.stops_level == STOPS_LEVEL[profile]
    assert spec.trade_mode is TradeMode.FULL
    assert (spec.currency_base, spec.currency_profit) == ("EUR", "USD")
    assert spec.tick_size == pytest.approx(POINT)
    assert spec.tick_value > 0
    assert 0 < spec.bid < spec.ask
    assert specs["EURJPY" + SUFFIX[profile]].bid == 0.0  # not in Market Watch: no live quote


@pytest.mark.parametrize(("profile", "chosen"), [
    ("meridian_ecn", 0), ("harbor_fx", 0), ("summit_netting", 1), ("apex_prop", 2)])
async def test_market_orders_use_the_preferred_allowed_filling(connected, profile, chosen):
    connector, _ = await connected(profile)
    report = await connector.open(OpenPosition(eurusd(profile), Side.BUY, MIN_LOT[profile], 0.0, 0.0, 1, ""))
    assert report.status.ok, report.message
    assert report.extra["request"]["type_filling"] == chosen


async def test_symbol_selects_a_symbol_outside_market_watch(connected):
    connector, terminal = await connected("harbor_fx")
    assert terminal.symbol_info("EURJPY.m").visible is False
    spec = await connector.symbol("EURJPY.m")
    assert spec is not None
    assert spec.name == "EURJPY.m" and spec.digits == 3
    assert 0 < spec.bid < spec.ask
    assert terminal.symbol_info("EURJPY.m").visible is True
    tick = terminal.symbol_info_tick("EURJPY.m")
    assert (spec.bid, spec.ask) == (tick.bid, tick.ask)


async def test_symbol_unknown_and_unreachable(connected):
    connector, terminal = await connected("meridian_ecn")
    assert await connector.symbol("NOSUCH") is None
    assert await connector.symbol("X" * 40) is None
    terminal.sim.disconnect(5.0)
    with pytest.raises(ConnectorError) as caught:
        await connector.symbol("EURUSD")
    assert caught.value.code == -10004
    with pytest.raises(ConnectorError):
        await connector.symbols()


class SkewedClock:
    """This machine's clock, ``skew`` seconds off the true time the trade server keeps."""

    def __init__(self, clock, skew: float) -> None:
        self._clock, self._skew = clock, skew

    def time(self) -> float:
        return self._clock.time() + self._skew

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)


@pytest.mark.parametrize(("skew", "expected"), [(-180, 10800), (0, 10800), (200, 10800), (600, None)])
async def test_server_offset_with_a_clock_that_is_off(make_terminal, weekday_clock, skew, expected):
    terminal = make_terminal("apex_prop")
    connector = MT5Connector("skewed", terminal, invoker=InlineInvoker(), clock=SkewedClock(weekday_clock, skew))
    await connector.connect()
    await connector.snapshot()
    await connector.open(OpenPosition("EURUSD.raw", Side.BUY, 0.1, 0.0, 0.0, 1, ""))
    weekday_clock.advance(2)
    # Ten minutes off is not trusted at all rather than trusted wrongly.
    assert (await connector.snapshot()).server_offset_s == expected
