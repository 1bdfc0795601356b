"""What a simulated cTrader account remembers for the history requests: every deal as it was
reported, searched by time window, position or order.

Windows follow the protos: ``fromTimestamp`` >= 0 and ``toTimestamp`` <= 2147483646000, both in
ms, both ends included; a window that ends before it starts is ``INCORRECT_BOUNDARIES``. A reply
holds at most ``maxRows`` (or the server's chunk) rows and ``hasMore`` says the window held more.
Which rows a real server keeps when it cuts a list short is undocumented: the newest (a client
pages back by moving ``toTimestamp``) or the oldest, as the server is set.
"""

from __future__ import annotations

from copier_gui.ctrader_messages import model as MM

MAX_TIMESTAMP = 2_147_483_646_000
CHUNK = 1_000  # rows per reply when the request sets no maxRows (undocumented at real servers)


class BadWindow(Exception):
    """A search window the protocol refuses."""


def window(from_ms: int | None, to_ms: int | None) -> tuple[int, int]:
    start = 0 if from_ms is None else from_ms
    end = MAX_TIMESTAMP if to_ms is None else to_ms
    if start < 0 or end > MAX_TIMESTAMP or end < start:
        raise BadWindow(f"fromTimestamp {start} and toTimestamp {end} do not make a window")
    return start, end


def cut(rows: list, max_rows: int | None, *, chunk: int = CHUNK, newest: bool = True) -> tuple[list, bool]:
    """At most ``max_rows`` (and ``chunk``) of ``rows`` (oldest first), and whether some were left."""
    limit = chunk if not max_rows or max_rows <= 0 else min(max_rows, chunk)
    if len(rows) <= limit:
        return rows, False
    return (rows[-limit:] if newest else rows[:limit]), True


class DealBook:
    def __init__(self) -> None:
        self.deals: list[MM.ProtoOADeal] = []

    def record(self, deal: MM.ProtoOADeal) -> None:
        kept = MM.ProtoOADeal()
        kept.CopyFrom(deal)
        self.deals.append(kept)

    def between(self, start: int, end: int) -> list[MM.ProtoOADeal]:
        return [d for d in self.deals if start <= d.executionTimestamp <= end]

    def of_position(self, position_id: int, start: int, end: int) -> list[MM.ProtoOADeal]:
        return [d for d in self.between(start, end) if d.positionId == position_id]

    def of_order(self, order_id: int) -> list[MM.ProtoOADeal]:
        return [d for d in self.deals if d.orderId == order_id]

    def offsets(self, deal_id: int) -> tuple[list[MM.ProtoOADealOffset], list[MM.ProtoOADealOffset]] | None:
        """(the deals that closed ``deal_id``, the deals it closed), matched first in, first out
        within its position; None for an unknown deal."""
        deal = next((d for d in self.deals if d.dealId == deal_id), None)
        if deal is None:
            return None
        matches: list[tuple[MM.ProtoOADeal, MM.ProtoOADeal, int]] = []  # (opening, closing, volume)
        queue: list[list] = []  # [opening deal, volume still open]
        for d in (d for d in self.deals if d.positionId == deal.positionId):
            opened = d.filledVolume
            if d.HasField("closePositionDetail"):
                left = d.closePositionDetail.closedVolume
                opened -= left  # a netted turnover also opens what it did not close
                while left > 0 and queue:
                    head = queue[0]
                    take = min(left, head[1])
                    matches.append((head[0], d, take))
                    head[1] -= take
                    left -= take
                    if head[1] == 0:
                        queue.pop(0)
            if opened > 0:
                queue.append([d, opened])

        def row(other: MM.ProtoOADeal, volume: int) -> MM.ProtoOADealOffset:
            return MM.ProtoOADealOffset(dealId=other.dealId, volume=volume,
                                        executionTimestamp=other.executionTimestamp,
                                        executionPrice=other.executionPrice)

        offset_by = [row(closing, v) for opening, closing, v in matches if opening.dealId == deal_id]
        offsetting = [row(opening, v) for opening, closing, v in matches if closing.dealId == deal_id]
        return offset_by, offsetting
