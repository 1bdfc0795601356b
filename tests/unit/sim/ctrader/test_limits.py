"""Rate limits of the simulated server, per link: 50 requests a second, 5 for historical ones,
refused the way real servers refuse them."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.errors import OpenApiError
from tests.unit.sim.ctrader.rig import connected, running_server

M = cm.messages

pytestmark = pytest.mark.asyncio


async def _burst(link, make, count):
    """Send ``count`` requests at once; the answers and the refusals, in order."""
    return await asyncio.gather(*(link.request(make()) for _ in range(count)), return_exceptions=True)


async def test_historical_requests_are_limited_to_five_a_second_per_link():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        other = await connected(server, account)
        replies = await _burst(link, lambda: M.ProtoOADealListReq(ctidTraderAccountId=account.account_id), 7)
        refused = [r for r in replies if isinstance(r, OpenApiError)]
        assert len(refused) == 2 and all(isinstance(r, M.ProtoOADealListRes) for r in replies[:5])
        assert refused[0].code == "REQUEST_FREQUENCY_EXCEEDED"
        assert refused[0].message.ctidTraderAccountId == 0  # as seen from real servers
        # Another link has its own allowance, and other requests are not historical.
        assert isinstance(await other.request(M.ProtoOAOrderListReq(ctidTraderAccountId=account.account_id)),
                          M.ProtoOAOrderListRes)
        assert isinstance(await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id)),
                          M.ProtoOATraderRes)
        await asyncio.sleep(1.05)
        assert isinstance(await link.request(M.ProtoOADealListReq(ctidTraderAccountId=account.account_id)),
                          M.ProtoOADealListRes)
        await link.close()
        await other.close()


async def test_other_requests_are_limited_to_fifty_a_second_and_may_say_when_to_retry():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        await asyncio.sleep(1.05)  # the authorizations count too
        replies = await _burst(link, lambda: M.ProtoOATraderReq(ctidTraderAccountId=account.account_id), 52)
        assert sum(isinstance(r, OpenApiError) for r in replies) == 2
        server.rate_limit_code = "BLOCKED_PAYLOAD_TYPE"
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))
        assert caught.value.code == "BLOCKED_PAYLOAD_TYPE" and caught.value.message.retryAfter >= 1
        await link.close()
