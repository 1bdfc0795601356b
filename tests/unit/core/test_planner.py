"""Planning pending orders for slaves whose brokers accept fewer order types."""

from __future__ import annotations

from copier_gui.core.copybook import CopyBook
from copier_gui.core.model import (
    Execution,
    Filling,
    PendingKind,
    PendingOrder,
    SymbolSpec,
    TradeMode,
)
from copier_gui.core.planner import DesiredOrder, MasterContext, Refusal, SlaveContext, plan_order
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
