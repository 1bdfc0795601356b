"""Reconciliation: the steps that converge a slave, exits first, exits never gated."""

from __future__ import annotations

from copier_gui.core import tags
from copier_gui.core.model import (
    DealShare,
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


def test_a_master_position_reversed_under_its_id_closes_the_old_side_and_opens_the_new():
    # A cTrader netting master's reversal keeps the position's id: the copy on the old side must
    # not be "topped up" with the other side (that left the slave hedged, at the wrong net).
    sell = desired(1, volume=0.42, side=Side.SELL)
    old = held(50, 1, volume=0.08)
    assert run(SlavePlan(positions={1: sell}), [old]) == [
        ReduceStep(1, old, 0.08, "master position reversed"), OpenStep(sell, 0.42)]
    # With entries off the old side still goes (exits are never held back).
    assert run(SlavePlan(positions={1: sell}), [old], entries=False) == [
        ReduceStep(1, old, 0.08, "master position reversed")]
    # A copy already on the new side is kept and topped up; the old side's goes.
    new = held(51, 1, volume=0.3, side=Side.SELL)
    assert run(SlavePlan(positions={1: sell}), [old, new]) == [
        ReduceStep(1, old, 0.08, "master position reversed"), OpenStep(sell, 0.12, top_up=True)]


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


def netting(*shares, magic=MAGIC):
    """A netting position built from deals, each (master ticket, signed volume)."""
    deals = tuple(DealShare(magic, tags.comment_for(t), v) for t, v in shares)
    net = round(sum(v for _, v in shares), 8)
    return Position(80, 80, "EURUSD.m", Side.BUY if net >= 0 else Side.SELL, abs(net), 1.1, 0, 0, magic,
                    tags.comment_for(shares[0][0]), 0, deals=deals)


def test_netting_gives_each_master_position_its_own_tagged_deal():
    """Two master buys in one poll: two deals, each tagged with its master position, so the share
    of each is exact (booked on one ticket, the second would later be topped up twice)."""
    plan = SlavePlan(positions={1: desired(1, volume=1.0), 2: desired(2, volume=0.5)})
    steps = run(plan, hedging=False)
    assert [(s.master_ticket, s.side, s.volume, s.is_exit) for s in steps] == [
        (1, Side.BUY, 1.0, False), (2, Side.BUY, 0.5, False)]
    assert run(plan, [netting((1, 1.0), (2, 0.5))], hedging=False) == []


def test_netting_exits_follow_each_master_position():
    plan = SlavePlan(positions={1: desired(1, volume=1.0)})
    (step,) = run(plan, [netting((1, 1.0), (2, 0.5))], hedging=False, entries=False)
    assert (step.master_ticket, step.side, step.volume, step.is_exit, step.reason) == (
        2, Side.SELL, 0.5, True, "master position closed")
    steps = run(SlavePlan(), [netting((1, 1.0), (2, 0.5))], hedging=False, entries=False, master=set())
    assert [(s.master_ticket, s.volume, s.is_exit) for s in steps] == [(1, 1.0, True), (2, 0.5, True)]


def test_closing_a_hedge_leg_is_an_exit_even_though_the_net_grows():
    """Master long 1.0 and short 0.3 (net +0.7); the short closes: the slave buys 0.3 back as an
    exit, never gated and with no delay limit, and nothing else moves."""
    plan = SlavePlan(positions={1: desired(1, volume=1.0)})
    (step,) = run(plan, [netting((1, 1.0), (2, -0.3))], hedging=False, entries=False)
    assert (step.master_ticket, step.side, step.volume, step.is_exit) == (2, Side.BUY, 0.3, True)


def test_opposite_master_positions_opened_together_net_exactly():
    plan = SlavePlan(positions={1: desired(1, volume=0.3), 2: desired(2, volume=0.1, side=Side.SELL)})
    steps = run(plan, hedging=False)
    assert [(s.master_ticket, s.side, s.volume) for s in steps] == [(1, Side.BUY, 0.3), (2, Side.SELL, 0.1)]
    assert run(plan, [netting((1, 0.3), (2, -0.1))], hedging=False) == []


def test_a_netting_share_that_must_flip_side_exits_then_enters():
    plan = SlavePlan(positions={1: desired(1, volume=0.2, side=Side.SELL)})
    steps = run(plan, [netting((1, 0.5))], hedging=False)
    assert [(s.side, s.volume, s.is_exit) for s in steps] == [(Side.SELL, 0.5, True), (Side.SELL, 0.2, False)]


def test_a_netting_position_without_deals_belongs_to_its_tag():
    plan = SlavePlan(positions={1: desired(1, volume=1.0)})
    net = Position(80, 80, "EURUSD.m", Side.BUY, 1.5, 1.1, 0, 0, MAGIC, tags.comment_for(1), 0)
    (step,) = run(plan, [net], hedging=False, entries=False)
    assert isinstance(step, NetStep) and step.is_exit and step.side is Side.SELL and step.volume == 0.5
