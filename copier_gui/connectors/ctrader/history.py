"""A cTrader position's deals from the server's history, each with the tags of the order that
made it (a deal has no label or comment of its own). Deal and order lists are the Open API's
"historical" requests, limited to 5 a second per link; the link paces them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping

from google.protobuf.message import Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import Clock
from copier_gui.connectors.ctrader.errors import OpenApiError

M = cm.messages
MM = cm.model

Ask = Callable[[Message], Awaitable[Message]]

_PAGES = 50  # a position with more deals than fifty pages hold is read no further
_AHEAD_MS = 60_000  # the window ends a minute ahead, in case this machine's clock is behind the server's
_WEEK_MS = 604_800_000  # ProtoOACashFlowHistoryListReq spans a week at most


class Unsupported(Exception):
    """The server does not answer this kind of request."""


class History:
    def __init__(self, ctid: int, ask: Ask, clock: Clock, order_tags: MutableMapping[int, tuple[str, str]]) -> None:
        self._ctid = ctid
        self._ask = ask
        self._clock = clock
        self._order_tags = order_tags  # shared with the mirror: tags seen in events need no request
        self.unsupported: set[str] = set()

    async def deals(self, position_id: int) -> list[MM.ProtoOADeal]:
        """The filled deals of a position, oldest first; Unsupported when the server lists none."""
        if "deals" in self.unsupported:
            raise Unsupported
        async def ask(start: int, end: int) -> Message:
            try:
                return await self._ask(M.ProtoOADealListByPositionIdReq(
                    ctidTraderAccountId=self._ctid, positionId=position_id, fromTimestamp=start, toTimestamp=end))
            except OpenApiError as exc:
                if exc.code == "UNSUPPORTED_MESSAGE":
                    self.unsupported.add("deals")
                    raise Unsupported from None
                raise

        return _filled(await _read_whole(ask, 0, int(self._clock.time() * 1000) + _AHEAD_MS))

    async def deals_since(self, from_ms: int) -> list[MM.ProtoOADeal]:
        """The account's filled deals from ``from_ms`` on, oldest first. A reply cut short (``hasMore``)
        is read again over what it left out, on whichever side that was."""
        def ask(start: int, end: int) -> Awaitable[Message]:
            return self._ask(M.ProtoOADealListReq(ctidTraderAccountId=self._ctid, fromTimestamp=start,
                                                  toTimestamp=end))

        return _filled(await _read_whole(ask, from_ms, max(int(self._clock.time() * 1000), from_ms) + _AHEAD_MS))

    async def cash_flows(self) -> list[MM.ProtoOADepositWithdraw]:
        """The deposits and withdrawals of the last week (the most one request may span), oldest first."""
        to_ms = int(self._clock.time() * 1000) + _AHEAD_MS
        reply = await self._ask(M.ProtoOACashFlowHistoryListReq(
            ctidTraderAccountId=self._ctid, fromTimestamp=to_ms - _WEEK_MS, toTimestamp=to_ms))
        return sorted(reply.depositWithdraw, key=lambda f: (f.changeBalanceTimestamp, f.balanceHistoryId))

    async def order_tags(self, position_id: int, order_ids: set[int]) -> dict[int, tuple[str, str]]:
        """(label, comment) of each order, from what was seen, the position's order list, or
        each order's details."""
        tags = {oid: self._order_tags[oid] for oid in order_ids if oid in self._order_tags}
        if set(tags) >= order_ids:
            return tags
        if "orders" not in self.unsupported:
            try:
                reply = await self._ask(M.ProtoOAOrderListByPositionIdReq(
                    ctidTraderAccountId=self._ctid, positionId=position_id, fromTimestamp=0,
                    toTimestamp=int(self._clock.time() * 1000) + _AHEAD_MS))
                for o in reply.order:
                    tags[o.orderId] = self._order_tags[o.orderId] = (o.tradeData.label, o.tradeData.comment)
            except OpenApiError as exc:
                if exc.code != "UNSUPPORTED_MESSAGE":
                    raise
                self.unsupported.add("orders")
        for oid in sorted(order_ids - set(tags)):
            order, _ = await self.order_details(oid)
            tags[oid] = self._order_tags[oid] = (order.tradeData.label, order.tradeData.comment)
        return tags

    async def order_details(self, order_id: int) -> tuple[MM.ProtoOAOrder, list[MM.ProtoOADeal]]:
        if "details" in self.unsupported:
            raise Unsupported
        try:
            reply = await self._ask(M.ProtoOAOrderDetailsReq(ctidTraderAccountId=self._ctid, orderId=order_id))
        except OpenApiError as exc:
            if exc.code == "UNSUPPORTED_MESSAGE":
                self.unsupported.add("details")
                raise Unsupported from None
            raise
        return reply.order, list(reply.deal)


async def _read_whole(ask: Callable[[int, int], Awaitable[Message]], start: int, end: int) -> dict[int, MM.ProtoOADeal]:
    """Every deal from ``start`` to ``end`` (ms, inclusive), by id, over replies cut short
    (``hasMore``) on either side: what a reply left out is read again, window by window.

    Deals share a millisecond often enough (an open and its close by a robot, the fills of one
    order), and a cut can fall between two of them: a window read again includes the boundary's
    millisecond, and the ids already held are kept once. It steps past that millisecond when the
    window would not shrink, or when a read brought nothing new: more deals in one millisecond than
    a reply holds cannot be told apart by time, and reading on there would never end."""
    deals: dict[int, MM.ProtoOADeal] = {}
    windows = [(start, end)]
    for _ in range(_PAGES):
        if not windows:
            break
        low, high = windows.pop()
        reply = await ask(low, high)
        new = [deal for deal in reply.deal if deal.dealId not in deals]
        for deal in reply.deal:
            deals[deal.dealId] = deal
        if reply.hasMore and reply.deal:
            first = min(d.executionTimestamp for d in reply.deal)
            last = max(d.executionTimestamp for d in reply.deal)
            older, newer = (low, first), (last, high)
            if not new or older == (low, high):
                older = (low, first - 1)
            if not new or newer == (low, high):
                newer = (last + 1, high)
            windows += [w for w in (older, newer) if w[0] <= w[1]]
    return deals


def _filled(deals: dict[int, MM.ProtoOADeal]) -> list[MM.ProtoOADeal]:
    return sorted((d for d in deals.values() if d.dealStatus in (MM.FILLED, MM.PARTIALLY_FILLED)),
                  key=lambda d: (d.executionTimestamp, d.dealId))
