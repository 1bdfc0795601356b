"""The cTrader connector's copy of one account's open positions and pending orders, kept by the
execution events the server pushes, so a snapshot costs no round trip.

Every execution event carries the whole state of the position and order it touches, so applying
them in arrival order leaves the newest state of each. Two exceptions need care: a request's own
answer is read after events that may already be newer (it leaves alone whatever such an event
touched), and a reconcile answer is followed by the events that arrived while it travelled
(replayed on top of it). A netted position also keeps its deals, each with the tags of the order
that made it, so each master position's share of it is the broker's record.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader import reasons
from copier_gui.connectors.ctrader.translate import (
    PENDING_TYPES,
    magic_of,
    to_pending_order,
    to_position,
    units,
)
from copier_gui.core.model import DealShare, PendingOrder, Position

M = cm.messages
MM = cm.model

ORDER_LOG = 512  # recent orders whose events are kept for a request waiting on them
FILL_LOG = 4096  # positions whose fills are kept (a closed position's deals are read after its close)
_TOUCHED_LOG = 8192  # what recent events touched, for answers still travelling
FINAL = frozenset({reasons.ORDER_CANCELLED, reasons.ORDER_EXPIRED, reasons.ORDER_REJECTED})
_ENDED = frozenset({MM.ORDER_STATUS_FILLED, MM.ORDER_STATUS_CANCELLED, MM.ORDER_STATUS_EXPIRED,
                    MM.ORDER_STATUS_REJECTED})


class Track:
    """The execution events of one order, for a request waiting on its end."""

    __slots__ = ("changed", "events")

    def __init__(self) -> None:
        self.events: list[M.ProtoOAExecutionEvent] = []
        self.changed = asyncio.Event()


def signed_share(deal: MM.ProtoOADeal, label: str, comment: str) -> DealShare:
    return DealShare(magic_of(label), comment, units(deal.filledVolume) * (1 if deal.tradeSide == MM.BUY else -1))


def pending_ticket(order: MM.ProtoOAOrder) -> int:
    """The ticket the core knows a pending order by: the id of the position made for it, which
    the position keeps when the order fills (the core links an order to its position by ticket);
    the order's own id where the server names no position."""
    return int(order.positionId) if order.HasField("positionId") and order.positionId else int(order.orderId)


class Mirror:
    """Positions and pending orders by id, with ``version`` bumped on every change."""

    def __init__(self, *, on_open_symbol: Callable[[int], None] | None = None) -> None:
        self.hedging = False
        self.positions: dict[int, MM.ProtoOAPosition] = {}
        self.orders: dict[int, MM.ProtoOAOrder] = {}
        self.closed: set[int] = set()
        self.ledger: dict[int, dict[int, tuple[int, DealShare]]] = {}  # netted: position -> deal -> share
        self.complete: set[int] = set()  # netted positions whose ledger holds every deal
        # position -> deal -> (deal, comment), oldest position first
        self.fills: OrderedDict[int, dict[int, tuple[MM.ProtoOADeal, str]]] = OrderedDict()
        self.order_tags: OrderedDict[int, tuple[str, str]] = OrderedDict()  # order -> (label, comment)
        self.tracks: OrderedDict[int, Track] = OrderedDict()
        self.pnl: dict[int, float] = {}
        self.version = 0
        self._seq = 0
        self._touched: dict[tuple[str, int], int] = {}
        self._on_open_symbol = on_open_symbol

    @property
    def seq(self) -> int:
        """How many events were applied; a request notes it when it leaves."""
        return self._seq

    # ------------------------------------------------------------------ events
    def apply(self, event: M.ProtoOAExecutionEvent, *, reply_since: int | None = None) -> None:
        """Bring the mirror up to one execution event. A request's own answer (``reply_since``
        the sequence when it left) leaves alone what a later-dispatched event already touched."""
        if reply_since is None:
            self._seq += 1
            if len(self._touched) > _TOUCHED_LOG:
                # An answer is read within a request's deadline, long before this many events pass.
                horizon = self._seq - _TOUCHED_LOG // 2
                self._touched = {key: seq for key, seq in self._touched.items() if seq >= horizon}

        def fresh(kind: str, key: int) -> bool:
            return reply_since is None or self._touched.get((kind, key), -1) <= reply_since

        order = event.order if event.HasField("order") else None
        if order is not None:
            self._remember_order(order)
            track = self.track(order.orderId)
            track.events.append(event)
            track.changed.set()
        if event.HasField("deal") and event.deal.dealStatus in (MM.FILLED, MM.PARTIALLY_FILLED):
            self._record_deal(event.deal, order, event.position if event.HasField("position") else None)
        if event.HasField("position") and fresh("position", event.position.positionId):
            self._apply_position(event.position)
            if reply_since is None:
                self._touched[("position", event.position.positionId)] = self._seq
        if order is not None and fresh("order", order.orderId):
            self._apply_order(event, order)
            if reply_since is None:
                self._touched[("order", order.orderId)] = self._seq
        self.version += 1

    def _remember_order(self, order: MM.ProtoOAOrder) -> None:
        self.order_tags[order.orderId] = (order.tradeData.label, order.tradeData.comment)
        self.order_tags.move_to_end(order.orderId)
        while len(self.order_tags) > 4 * ORDER_LOG:
            self.order_tags.popitem(last=False)

    def track(self, order_id: int) -> Track:
        track = self.tracks.get(order_id)
        if track is None:
            track = self.tracks[order_id] = Track()
            while len(self.tracks) > ORDER_LOG:
                self.tracks.popitem(last=False)
        return track

    def wake_all(self) -> None:
        """Requests waiting on an order look again (the link went down)."""
        for track in self.tracks.values():
            track.changed.set()

    def _apply_position(self, p: MM.ProtoOAPosition) -> None:
        pid = p.positionId
        if p.positionStatus == MM.POSITION_STATUS_OPEN:
            if pid in self.closed:
                return
            self.positions[pid] = p
            if self._on_open_symbol is not None:
                self._on_open_symbol(p.tradeData.symbolId)
        elif p.positionStatus in (MM.POSITION_STATUS_CLOSED, MM.POSITION_STATUS_ERROR):
            self.positions.pop(pid, None)
            self.closed.add(pid)
            self.ledger.pop(pid, None)
            self.complete.discard(pid)
            self.pnl.pop(pid, None)

    def _apply_order(self, event: M.ProtoOAExecutionEvent, o: MM.ProtoOAOrder) -> None:
        if o.orderType not in PENDING_TYPES or o.closingOrder:
            return
        if o.orderStatus == MM.ORDER_STATUS_ACCEPTED and event.executionType not in FINAL:
            self.orders[o.orderId] = o
        else:
            self.orders.pop(o.orderId, None)

    def _record_deal(self, deal: MM.ProtoOADeal, order: MM.ProtoOAOrder | None, position) -> None:
        pid = deal.positionId
        if order is not None:
            label, comment = order.tradeData.label, order.tradeData.comment
        else:
            label, comment = self.order_tags.get(deal.orderId, ("", ""))
        self.fills.setdefault(pid, {})[deal.dealId] = (deal, comment)
        self.fills.move_to_end(pid)
        while len(self.fills) > FILL_LOG:
            self.fills.popitem(last=False)
        if self.hedging:
            return
        ledger = self.ledger.setdefault(pid, {})
        if pid not in self.positions and not ledger and position is not None and \
                position.positionStatus == MM.POSITION_STATUS_OPEN and position.tradeData.volume == deal.filledVolume:
            # This deal opened the position: its ledger starts complete.
            self.complete.add(pid)
        ledger[deal.dealId] = (int(deal.executionTimestamp), signed_share(deal, label, comment))

    # ------------------------------------------------------------------ reconcile
    def reset(self, reply: M.ProtoOAReconcileRes, since: Iterable) -> None:
        """The server's open positions and pending orders, then the events that came after the
        request left (each entity's newest state wins either way)."""
        kept = {pid: self.ledger[pid] for pid in self.complete if pid in self.ledger}
        self.positions = {p.positionId: p for p in reply.position if p.positionStatus == MM.POSITION_STATUS_OPEN}
        self.orders = {o.orderId: o for o in reply.order if o.orderType in PENDING_TYPES}
        for o in reply.order:
            self._remember_order(o)
        self.closed.clear()
        self.complete = {pid for pid in kept if pid in self.positions}
        self.ledger = {pid: kept[pid] for pid in self.complete}
        for message in since:
            if isinstance(message, M.ProtoOAExecutionEvent):
                self.apply(message)
        self.version += 1

    def missing_ledgers(self) -> list[int]:
        """Netted positions whose deals this mirror has not seen from the first."""
        return [] if self.hedging else [pid for pid in self.positions if pid not in self.complete]

    def fill_ledger(self, pid: int, shares: dict[int, tuple[int, DealShare]]) -> None:
        ledger = self.ledger.setdefault(pid, {})
        for deal_id, item in shares.items():
            ledger.setdefault(deal_id, item)
        self.complete.add(pid)
        self.version += 1

    # ------------------------------------------------------------------ reads
    def symbol_ids(self) -> set[int]:
        ids = {p.tradeData.symbolId for p in self.positions.values()}
        return ids | {o.tradeData.symbolId for o in self.orders.values()}

    def build_positions(self, *, name: Callable[[int], str], digits: Callable[[int], int],
                        quote: Callable[[int], tuple[float, float]],
                        keep: Callable[[int], bool] | None) -> tuple[Position, ...]:
        out = []
        for p in sorted(self.positions.values(), key=lambda p: (p.tradeData.openTimestamp, p.positionId)):
            symbol_id = p.tradeData.symbolId
            deals = None
            if not self.hedging and p.positionId in self.complete:
                ledger = self.ledger.get(p.positionId, {})
                deals = tuple(share for _, share in sorted(ledger.values(), key=lambda item: item[0]))
            bid, ask = quote(symbol_id)
            # A position is valued at the price it would close at: the bid for a buy.
            current = bid if p.tradeData.tradeSide == MM.BUY else ask
            position = to_position(p, name=name(symbol_id), digits=digits(symbol_id), price_current=current,
                                   profit=self.pnl.get(p.positionId, 0.0), deals=deals)
            if keep is None or keep(position.magic):
                out.append(position)
        return tuple(out)

    def build_orders(self, *, name: Callable[[int], str], digits: Callable[[int], int],
                     keep: Callable[[int], bool] | None) -> tuple[PendingOrder, ...]:
        out = []
        for o in sorted(self.orders.values(), key=lambda o: o.orderId):
            symbol_id = o.tradeData.symbolId
            order = to_pending_order(o, name=name(symbol_id), digits=digits(symbol_id), ticket=pending_ticket(o))
            if order is not None and (keep is None or keep(order.magic)):
                out.append(order)
        return tuple(out)

    def pending_by_ticket(self, ticket: int) -> MM.ProtoOAOrder | None:
        """The working order the core names by ``ticket`` (see :func:`pending_ticket`)."""
        order = self.orders.get(ticket)
        if order is not None:
            return order
        return next((o for o in self.orders.values() if pending_ticket(o) == ticket), None)

    def order_deals(self, order_id: int) -> list[MM.ProtoOADeal]:
        track = self.tracks.get(order_id)
        return [e.deal for e in (track.events if track is not None else []) if e.HasField("deal")]

    async def order_end(self, order_id: int, requested: int, *, timeout: float,
                        alive: Callable[[], bool]) -> M.ProtoOAExecutionEvent | None:
        """The event that ends a market order: its last fill, or its cancellation or rejection
        (with what filled before it); None when none comes in time or the link drops."""
        track = self.track(order_id)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for event in track.events:
                        order = event.order
                        if event.executionType in FINAL or order.orderStatus in _ENDED:
                            return event
                        if event.executionType == reasons.ORDER_FILLED and order.executedVolume >= requested:
                            return event
                    if not alive():
                        return None
                    track.changed.clear()
                    await track.changed.wait()
        except TimeoutError:
            return None
