"""Planning for slaves whose brokers accept fewer order types or count volumes in other units."""

from __future__ import annotations

from dataclasses import replace

from copier_gui.core.copybook import CopyBook
from copier_gui.core.model import (
    Execution,
    Filling,
    PendingKind,
    PendingOrder,
    Position,
    Side,
    SymbolSpec,
    TradeMode,
    VolumeUnit,
)
from copier_gui.core.planner import (
    DesiredOrder,
    DesiredPosition,
    MasterContext,
    Refusal,
    SlaveContext,
    plan_order,
    plan_position,
)
from copier_gui.core.rules import CopyRules, SymbolMapping
from copier_gui.core.symbols import SymbolMap


def spec(kinds=frozenset(PendingKind), expiry=True):
    return SymbolSpec("EURUSD.raw", "", 5, 1e-5, 100_000.0, 0.01, 0.01, 50.0, 0, 0, frozenset({Filling.RETURN}),
                      Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1.0, 1.08, 1.0801, kinds, expiry)


def contexts(s):
    master = MasterContext("m", 10_000, {}, "USD", 7200, 1_000_000.0)
    slave = SlaveContext("s", "Apex", CopyRules(), {s.name: s}, SymbolMap([s.name], SymbolMapping()), 10_000,
                         "USD", 10800)
    return master, slave


def order(kind=PendingKind.BUY_STOP_LIMIT, expiration=0):
    return PendingOrder(9, "EURUSD", kind, 0.5, 1.0850, 1.0840, 0.0, 0.0, expiration, 0, "", 0)


def test_a_stop_limit_at_a_broker_without_them_is_refused_with_a_reason():
    master, slave = contexts(spec(kinds=frozenset(PendingKind) - {PendingKind.BUY_STOP_LIMIT,
                                                                  PendingKind.SELL_STOP_LIMIT}))
    result = plan_order(order(), master, slave)
    assert isinstance(result, Refusal) and "takes no buy_stop_limit orders" in result.reason
    CopyBook(None).close()


def test_expiry_moves_between_server_time_zones_or_becomes_gtc():
    master, slave = contexts(spec())
    expiring = order(PendingKind.BUY_STOP, expiration=1_000_000 + 7200 + 3600)
    moved = plan_order(expiring, master, slave)
    assert isinstance(moved, DesiredOrder) and moved.expiration == 1_000_000 + 10800 + 3600
    master, slave = contexts(spec(expiry=False))
    gtc = plan_order(expiring, master, slave)
    assert isinstance(gtc, DesiredOrder) and gtc.expiration == 0


def units(name="EURUSD"):
    """The symbol at a platform counting units of the base asset (a lot is 100,000 of them)."""
    return SymbolSpec(name, "", 5, 1e-5, 100_000.0, 1_000.0, 1_000.0, 10_000_000.0, 0, 0, frozenset({Filling.IOC}),
                      Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1e-5, 1.08, 1.0801,
                      volume_unit=VolumeUnit.UNITS)


def cross_contexts(master_spec, slave_spec):
    master = MasterContext("m", 10_000, {"EURUSD": master_spec}, "USD", 7200, 1_000_000.0)
    slave = SlaveContext("s", "Other", CopyRules(), {slave_spec.name: slave_spec},
                         SymbolMap([slave_spec.name], SymbolMapping()), 10_000, "USD", 10800)
    return master, slave


def position(volume):
    return Position(5, 5, "EURUSD", Side.BUY, volume, 1.08, 0.0, 0.0, 0, "", 0)


def test_a_master_in_lots_sizes_a_slave_in_units_and_the_other_way_round():
    book = CopyBook(None)
    master, slave = cross_contexts(replace(spec(), name="EURUSD"), units())
    there = plan_position(position(0.37), master, slave, book)
    assert isinstance(there, DesiredPosition) and (there.symbol, there.volume) == ("EURUSD", 37_000.0)
    pending = plan_order(replace(order(PendingKind.BUY_STOP), volume=0.5), master, slave)
    assert isinstance(pending, DesiredOrder) and pending.volume == 50_000.0

    master, slave = cross_contexts(units(), spec())
    back = plan_position(position(25_000.0), master, slave, book)
    assert isinstance(back, DesiredPosition) and (back.symbol, back.volume) == ("EURUSD.raw", 0.25)
    book.close()


def test_balances_are_priced_only_for_a_rule_that_sizes_by_them(monkeypatch):
    # A lot multiplier never reads the balances: pricing them in the master's currency (a look
    # through the slave's symbols) is left out of every slave's pass of a fan-out.
    from copier_gui.core import planner
    from copier_gui.core.rules import Sizing, SizingMode

    priced = []
    real = planner.convert
    monkeypatch.setattr(planner, "convert", lambda *a: priced.append(a) or real(*a))
    s = spec()
    master, slave = contexts(s)
    slave = replace(slave, currency="EUR")
    pos = Position(5, 5, "EURUSD", Side.BUY, 0.5, 1.08, 0.0, 0.0, 0, "", 0)
    book = CopyBook(None)
    by_lots = plan_position(pos, master, slave, book)
    assert isinstance(by_lots, DesiredPosition) and by_lots.volume == 0.5 and priced == []
    by_balance = replace(slave, rules=CopyRules(sizing=Sizing(mode=SizingMode.BALANCE_RATIO)))
    assert isinstance(plan_position(pos, master, by_balance, book), DesiredPosition) and priced
    book.close()


def test_a_position_that_reversed_in_place_is_sized_afresh_on_its_new_side():
    # The copy was entered as a sell of 0.03 for the master's 0.13 (a quarter, rounded down). The
    # master reversed to a buy of 0.2 under the same id: that is a new entry, sized by the rules
    # (0.05), not scaled from the old side's (0.03 x 0.2 / 0.13 = 0.046, rounded down to 0.04).
    from copier_gui.core.rules import Sizing, SizingMode

    s = spec()
    master, slave = contexts(s)
    slave = replace(slave, rules=CopyRules(sizing=Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=0.25),
                                           copy_partial_closes=False))
    book = CopyBook(None)
    book.remember("s", 5, 0.13, 0.03, Side.SELL)
    reversed_ = plan_position(Position(5, 5, "EURUSD", Side.BUY, 0.2, 1.08, 0.0, 0.0, 0, "", 0), master, slave, book)
    assert isinstance(reversed_, DesiredPosition) and (reversed_.side, reversed_.volume) == (Side.BUY, 0.05)
    # On the side it was entered on, the copy keeps its entry's proportion (partial closes not copied).
    held = plan_position(Position(5, 5, "EURUSD", Side.SELL, 0.07, 1.08, 0.0, 0.0, 0, "", 0), master, slave, book)
    assert isinstance(held, DesiredPosition) and held.volume == 0.03
    book.remember("s", 6, 0.13, 0.03)  # an entry from before sides were kept: proportional, as it was
    legacy = plan_position(Position(6, 6, "EURUSD", Side.BUY, 0.2, 1.08, 0.0, 0.0, 0, "", 0), master, slave, book)
    assert isinstance(legacy, DesiredPosition) and legacy.volume == 0.04
    book.close()
