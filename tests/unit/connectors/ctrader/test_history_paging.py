"""Reading a cTrader account's deals over replies cut short: deals that share a millisecond with the
cut are read too, whichever side of the reply the server keeps."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.clock import VirtualClock
from copier_gui.connectors.ctrader.history import History
from copier_gui.sim.ctrader.history import cut

M = cm.messages
MM = cm.model


def _deal(deal_id: int, at_ms: int, position_id: int = 7) -> MM.ProtoOADeal:
    return MM.ProtoOADeal(dealId=deal_id, orderId=deal_id, positionId=position_id, volume=100, filledVolume=100,
                          symbolId=1, createTimestamp=at_ms, executionTimestamp=at_ms, dealStatus=MM.FILLED)


class _Server:
    """Answers deal lists from ``deals`` as the simulated server does: at most ``chunk`` rows a
    reply, keeping the newest or the oldest when cut."""

    def __init__(self, deals: list, chunk: int, newest: bool) -> None:
        self.deals, self.chunk, self.newest = sorted(deals, key=lambda d: (d.executionTimestamp, d.dealId)), chunk, newest
        self.asked = 0

    async def ask(self, request):
        self.asked += 1
        rows = [d for d in self.deals if request.fromTimestamp <= d.executionTimestamp <= request.toTimestamp
                and (not hasattr(request, "positionId") or d.positionId == request.positionId)]
        kept, more = cut(rows, None, chunk=self.chunk, newest=self.newest)
        reply = M.ProtoOADealListRes(ctidTraderAccountId=1, hasMore=more)
        reply.deal.extend(kept)
        return reply


# An open and its close in one millisecond, two fills of one order in another, and deals alone: no
# more in one millisecond than a reply holds.
DEALS = [_deal(1, 1_000), _deal(2, 2_000), _deal(3, 2_000), _deal(4, 3_000), _deal(5, 3_000), _deal(6, 4_000),
         _deal(7, 5_000), _deal(8, 5_000), _deal(9, 6_000)]


@pytest.mark.parametrize("newest", [True, False])
@pytest.mark.parametrize("chunk", [2, 3, 4])
def test_deals_in_the_millisecond_of_a_cut_are_all_read(newest, chunk):
    server = _Server(DEALS, chunk, newest)
    history = History(1, server.ask, VirtualClock(10.0), {})
    since = asyncio.run(history.deals_since(0))
    assert [d.dealId for d in since] == [d.dealId for d in DEALS], (chunk, newest)
    of_position = asyncio.run(history.deals(7))
    assert [d.dealId for d in of_position] == [d.dealId for d in DEALS], (chunk, newest)
    later = asyncio.run(history.deals_since(3_000))
    assert [d.dealId for d in later] == [4, 5, 6, 7, 8, 9]
    assert server.asked < 40


def test_more_deals_in_one_millisecond_than_a_reply_holds_ends_the_read_rather_than_loop():
    crowded = [_deal(i, 2_000) for i in range(1, 6)] + [_deal(6, 3_000)]
    server = _Server(crowded, 2, True)
    found = asyncio.run(History(1, server.ask, VirtualClock(10.0), {}).deals_since(0))
    assert {d.dealId for d in found} >= {4, 5, 6} and server.asked < 10
