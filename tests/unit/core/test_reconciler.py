"""Reconciliation: the steps that converge a slave, exits first, exits never gated."""

from __future__ import annotations

from copier_gui.core import tags
from copier_gui.core.model import (
    Execution,
    Filling,
    PendingKind,
    PendingOrder,
    Position,
    Side,
    SymbolSpec,
    TradeMode,
)
from copier_gui.core.planner import DesiredOrder, DesiredPosition, Refusal, SlavePlan
from copier_gui.core.reconciler import (
    AmendStep,
    CancelStep,
    ModifyStep,
    NetStep,
    OpenStep,
    PlaceStep,
    ReduceStep,
    reconcile,
)

MAGIC = 99
SPEC = SymbolSpec("EURUSD.m", "", 5, 1e-5, 100_000.0, 0.01, 0.01, 500.0, 0, 0, frozenset({Filling.FOK}),
                  Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1.0)
SYMBOLS = {"EURUSD.m": SPEC}


def desired(ticket, volume=1.0, side=Side.BUY, sl=0.0, tp=0.0):
    return DesiredPosition(ticket, "EURUSD.m", side, volume, volume, sl, tp, 1.1, 0, volume)


def held(slave_ticket, master_ticket, volume=1.0, side=Side.BUY, sl=0.0, tp=0.0, magic=MAGIC, time_msc=0):
    return Position(slave_ticket, slave_ticket, "EURUSD.m", side, volume, 1.1, sl, tp, magic,
                    tags.comment_for(master_ticket), time_msc)


def run(plan, positions=(), orders=(), *, hedging=True, entries=True, master=None, only=None):
    master_tickets = set(plan.positions) | set(plan.orders) if master is None else master
    return reconcile(plan, tuple(positions), tuple(orders), magic=MAGIC, hedging=hedging, symbols=SYMBOLS,
                     entries_allowed=entries, master_tickets=master_tickets, only=only)


def test_missing_copy_is_opened():
    steps = run(SlavePlan(positions={1: desired(1)}))
    assert steps == [OpenStep(desired(1), 1.0)]


def test_existing_copy_is_left_alone():
    assert run(SlavePlan(positions={1: desired(1)}), [held(50, 1)]) == []


def test_orphan_is_closed_even_with_entries_off():
    steps = run(SlavePlan(), [held(50, 1)], entries=False)
    assert steps == [ReduceStep(1, held(50, 1), 1.0, "master position closed")]


def test_positions_without_our_tag_are_never_touched():
    foreign = Position(60, 60, "EURUSD.m", Side.BUY, 1.0, 1.1, 0, 0, MAGIC, "manual", 0)
    other_magic = held(61, 1, magic=5)
    assert run(SlavePlan(), [foreign, other_magic]) == []


def test_partial_close_reduces_newest_first():
    older, newer = held(50, 1, volume=0.6, time_msc=1), held(51, 1, volume=0.4, time_msc=2)
    steps = run(SlavePlan(positions={1: desired(1, volume=0.5)}), [older, newer])
    assert steps == [ReduceStep(1, newer, 0.4, "master position reduced"),
                     ReduceStep(1, older, 0.1, "master position reduced")]


def test_shortfall_is_topped_up_only_when_entries_allowed():
    plan = SlavePlan(positions={1: desired(1, volume=1.0)})
    assert run(plan, [held(50, 1, volume=0.6)]) == [OpenStep(desired(1), 0.4, top_up=True)]
    assert run(plan, [held(50, 1, volume=0.6)], entries=False) == []


def test_stops_are_corrected():
    steps = run(SlavePlan(positions={1: desired(1, sl=1.09, tp=1.2)}), [held(50, 1)])
    assert steps == [ModifyStep(1, held(50, 1), 1.09, 1.2)]


def test_uncopyable_master_position_closes_the_copy():
    plan = SlavePlan(refusals={1: Refusal(1, "skipped: volume 0.004 is below the minimum 0.01")})
    (step,) = run(plan, [held(50, 1)], master={1})
    assert isinstance(step, ReduceStep) and "no longer copyable" in step.reason


def test_exits_come_before_entries():
    plan = SlavePlan(positions={2: desired(2)})
    steps = run(plan, [held(50, 1)], master={2})
    assert [type(s) for s in steps] == [ReduceStep, OpenStep]


def test_only_limits_the_pass_to_named_tickets():
    plan = SlavePlan(positions={1: desired(1), 2: desired(2)})
    assert run(plan, only={2}) == [OpenStep(desired(2), 1.0)]


def order(ticket, master_ticket, price=1.2):
    return PendingOrder(ticket, "EURUSD.m", PendingKind.BUY_STOP, 0.5, price, 0.0, 0.0, 0.0, 0, MAGIC,
                        tags.comment_for(master_ticket), 0)


def want_order(ticket, price=1.2):
    return DesiredOrder(ticket, "EURUSD.m", PendingKind.BUY_STOP, 0.5, price, 0.0, 0.0, 0.0, 0)


def test_pending_orders_place_amend_cancel():
    assert run(SlavePlan(orders={7: want_order(7)})) == [PlaceStep(want_order(7))]
    assert run(SlavePlan(orders={7: want_order(7, 1.3)}), orders=[order(70, 7)]) == [
        AmendStep(order(70, 7), want_order(7, 1.3))]
    assert run(SlavePlan(), orders=[order(70, 7)]) == [CancelStep(7, order(70, 7), "master order no longer pending")]


def test_copying_off_cancels_copied_pending_orders():
    steps = run(SlavePlan(orders={7: want_order(7)}), orders=[order(70, 7)], entries=False)
    assert steps == [CancelStep(7, order(70, 7), "copying is off for this slave")]


def test_netting_converges_the_net_volume():
    plan = SlavePlan(positions={1: desired(1, volume=1.0), 2: desired(2, volume=0.5)})
    (step,) = run(plan, hedging=False)
    assert isinstance(step, NetStep) and step.side is Side.BUY and step.volume == 1.5 and not step.is_exit
    plan = SlavePlan(positions={1: desired(1, volume=1.0)})
    net = Position(80, 80, "EURUSD.m", Side.BUY, 1.5, 1.1, 0, 0, MAGIC, tags.comment_for(1), 0)
    (step,) = run(plan, [net], hedging=False, entries=False)
    assert isinstance(step, NetStep) and step.is_exit and step.side is Side.SELL and step.volume == 0.5
    (step,) = run(SlavePlan(), [net], hedging=False, entries=False, master=set())
    assert step.is_exit and step.volume == 1.5 and step.reason == "master position closed"
