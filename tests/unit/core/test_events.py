"""Snapshot diffs become master events, closes first."""

from __future__ import annotations

from copier_gui.core.events import EventKind, diff
from copier_gui.core.model import PendingKind, PendingOrder, Position, Side, Snapshot


def pos(ticket, volume=1.0, sl=0.0, tp=0.0, symbol="EURUSD"):
    return Position(ticket, ticket, symbol, Side.BUY, volume, 1.1, sl, tp, 0, "", 1_000_000)


def order(ticket, price=1.2):
    return PendingOrder(ticket, "EURUSD", PendingKind.BUY_STOP, 0.5, price, 0.0, 0.0, 0.0, 0, 0, "", 1_000)


def snap(positions=(), orders=()):
    return Snapshot(0.0, tuple(positions), tuple(orders))


def kinds(a, b):
    return [(e.kind, e.ticket) for e in diff(a, b, wall=100.0, mono=5.0)]


def test_open_close_partial_modify():
    assert kinds(snap(), snap([pos(1)])) == [(EventKind.OPENED, 1)]
    assert kinds(snap([pos(1)]), snap()) == [(EventKind.CLOSED, 1)]
    assert kinds(snap([pos(1)]), snap([pos(1, volume=0.4)])) == [(EventKind.PARTIALLY_CLOSED, 1)]
    assert kinds(snap([pos(1)]), snap([pos(1, sl=1.0)])) == [(EventKind.STOPS_MODIFIED, 1)]
    assert kinds(snap([pos(1)]), snap([pos(1, volume=2.0)])) == [(EventKind.INCREASED, 1)]


def test_a_position_that_takes_the_other_side_under_its_id_is_reversed_whatever_its_volume():
    # cTrader netting: one deal closes the old side and opens the rest the other way, same id.
    def sell(volume):
        return Position(1, 1, "EURUSD", Side.SELL, volume, 1.2, 0.0, 0.0, 0, "", 1_000_000)

    for volume in (0.5, 1.0, 2.0):
        (event,) = diff(snap([pos(1)]), snap([sell(volume)]), wall=100.0, mono=5.0)
        assert (event.kind, event.ticket, event.previous_volume) == (EventKind.REVERSED, 1, 1.0)
        assert event.describe() == f"master #1 reversed: EURUSD buy 1 -> sell {volume:g} @ 1.2"
    (event,) = diff(snap([pos(1)]), snap([sell(0.5)]), wall=100.0, mono=5.0)
    assert event.describe(units=True) == "master #1 reversed: EURUSD buy 1 units -> sell 0.5 units @ 1.2"


def test_pending_lifecycle_and_trigger():
    assert kinds(snap(), snap(orders=[order(7)])) == [(EventKind.PENDING_PLACED, 7)]
    assert kinds(snap(orders=[order(7)]), snap(orders=[order(7, 1.3)])) == [(EventKind.PENDING_MODIFIED, 7)]
    assert kinds(snap(orders=[order(7)]), snap()) == [(EventKind.PENDING_CANCELLED, 7)]
    assert kinds(snap(orders=[order(7)]), snap([pos(7)])) == [(EventKind.PENDING_TRIGGERED, 7)]


def test_closes_come_before_opens_and_carry_timestamps():
    events = diff(snap([pos(1)]), snap([pos(2)]), wall=100.0, mono=5.0)
    assert [e.kind for e in events] == [EventKind.CLOSED, EventKind.OPENED]
    assert all(e.detected_wall == 100.0 and e.detected_mono == 5.0 for e in events)
    assert events[1].master_time_msc == 1_000_000


def test_no_change_no_event():
    assert kinds(snap([pos(1)], [order(2)]), snap([pos(1)], [order(2)])) == []


def test_a_master_in_units_says_so():
    opened = diff(snap(), snap([pos(1, volume=50_000)]), wall=100.0, mono=5.0)[0]
    assert opened.describe(units=True) == "master #1 opened: buy 50000 units EURUSD @ 1.1"
    assert opened.describe() == "master #1 opened: buy 50000 EURUSD @ 1.1"
    reduced = diff(snap([pos(1, volume=50_000)]), snap([pos(1, volume=20_000)]), wall=100.0, mono=5.0)[0]
    assert reduced.describe(units=True) == "master #1 partially_closed: EURUSD reduced 50000 -> 20000 units"
