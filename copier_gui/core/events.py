"""Master events: what changed between two snapshots of the master account.

The MetaTrader 5 API has no callbacks, so changes are found by comparing polls. Each event carries
the master's own timestamp (trade-server time, in ms) and when the copier noticed it, so detection
latency is measured, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from copier_gui.core.model import PendingOrder, Position, Snapshot


class EventKind(Enum):
    OPENED = "opened"
    CLOSED = "closed"
    PARTIALLY_CLOSED = "partially_closed"
    INCREASED = "increased"
    STOPS_MODIFIED = "stops_modified"
    PENDING_PLACED = "pending_placed"
    PENDING_MODIFIED = "pending_modified"
    PENDING_CANCELLED = "pending_cancelled"
    PENDING_TRIGGERED = "pending_triggered"
    # A netting position that took the other side under the same id (cTrader): the old side's
    # volume closed and the rest opened the other way, in one deal.
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class MasterEvent:
    kind: EventKind
    ticket: int
    symbol: str
    detected_wall: float
    detected_mono: float
    master_time_msc: int
    position: Position | None = None
    order: PendingOrder | None = None
    previous_volume: float = 0.0

    def describe(self, *, units: bool = False) -> str:
        """The event in the journal's words; ``units`` when the master's volumes count units of the
        asset (cTrader), so "buy 50000 units EURUSD" is not read as lots."""
        unit = " units" if units else ""
        if self.position is not None:
            p = self.position
            body = f"{p.side.value} {p.volume:g}{unit} {p.symbol} @ {p.price_open:g}"
            if self.kind is EventKind.PARTIALLY_CLOSED:
                body = f"{p.symbol} reduced {self.previous_volume:g} -> {p.volume:g}{unit}"
            elif self.kind is EventKind.REVERSED:
                body = (f"{p.symbol} {p.side.opposite.value} {self.previous_volume:g}{unit} -> "
                        f"{p.side.value} {p.volume:g}{unit} @ {p.price_open:g}")
            elif self.kind is EventKind.STOPS_MODIFIED:
                body = f"{p.symbol} sl {p.sl:g} tp {p.tp:g}"
        elif self.order is not None:
            o = self.order
            body = f"{o.kind.value} {o.volume:g}{unit} {o.symbol} @ {o.price:g}"
        else:
            body = self.symbol
        return f"master #{self.ticket} {self.kind.value}: {body}"


def diff(previous: Snapshot, current: Snapshot, *, wall: float, mono: float) -> list[MasterEvent]:
    """Events that turn ``previous`` into ``current``, closes first so exits go out first."""
    events: list[MasterEvent] = []
    before_pos = previous.positions_by_ticket()
    after_pos = current.positions_by_ticket()
    before_ord = previous.orders_by_ticket()
    after_ord = current.orders_by_ticket()
    server_now_msc = int(round((wall + (current.server_offset_s or 0.0)) * 1000))

    def event(kind, ticket, symbol, *, position=None, order=None, previous_volume=0.0, time_msc=None):
        events.append(MasterEvent(kind, ticket, symbol, wall, mono,
                                  server_now_msc if time_msc is None else time_msc,
                                  position, order, previous_volume))

    for ticket, old in before_pos.items():
        new = after_pos.get(ticket)
        if new is None:
            event(EventKind.CLOSED, ticket, old.symbol, position=old, previous_volume=old.volume)
        elif new.volume < old.volume - 1e-9 and new.side is old.side:
            event(EventKind.PARTIALLY_CLOSED, ticket, new.symbol, position=new, previous_volume=old.volume)
    for ticket, old in before_ord.items():
        if ticket not in after_ord:
            if ticket in after_pos and ticket not in before_pos:
                continue  # reported below as a trigger
            event(EventKind.PENDING_CANCELLED, ticket, old.symbol, order=old)
    for ticket, new in after_pos.items():
        old = before_pos.get(ticket)
        if old is None:
            kind = EventKind.PENDING_TRIGGERED if ticket in before_ord else EventKind.OPENED
            event(kind, ticket, new.symbol, position=new, time_msc=new.time_msc)
            continue
        if new.side is not old.side:
            event(EventKind.REVERSED, ticket, new.symbol, position=new, previous_volume=old.volume)
        elif new.volume > old.volume + 1e-9:
            event(EventKind.INCREASED, ticket, new.symbol, position=new, previous_volume=old.volume)
        if (new.sl, new.tp) != (old.sl, old.tp):
            event(EventKind.STOPS_MODIFIED, ticket, new.symbol, position=new)
    for ticket, new in after_ord.items():
        old = before_ord.get(ticket)
        if old is None:
            event(EventKind.PENDING_PLACED, ticket, new.symbol, order=new, time_msc=new.time_setup_msc)
        elif (old.price, old.stoplimit, old.sl, old.tp, old.expiration, old.kind) != (
                new.price, new.stoplimit, new.sl, new.tp, new.expiration, new.kind):
            event(EventKind.PENDING_MODIFIED, ticket, new.symbol, order=new)
    return events
