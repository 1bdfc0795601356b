"""What the simulated server pushes without being asked: spots, and fills it made on its own."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET, RawClient, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


async def _authorized(server) -> RawClient:
    client = await RawClient.connect(server)
    await client.ask(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
    _, reply = await client.ask(M.ProtoOAAccountAuthReq(ctidTraderAccountId=server.hedged.account_id,
                                                        accessToken=server.grant_pair.access_token))
    assert isinstance(reply, M.ProtoOAAccountAuthRes)
    return client


async def test_spots_start_with_a_snapshot_and_a_duplicate_subscription_is_refused():
    async with running_server() as server:
        client = await _authorized(server)
        account_id = server.hedged.account_id
        envelope, reply = await client.ask(M.ProtoOASubscribeSpotsReq(ctidTraderAccountId=account_id, symbolId=[1]))
        assert isinstance(reply, M.ProtoOASubscribeSpotsRes) and envelope.clientMsgId == "t-1"
        envelope = await client.receive()
        spot = cm.unwrap(envelope)
        assert isinstance(spot, M.ProtoOASpotEvent) and not envelope.HasField("clientMsgId")
        bid, ask = server.hedged.quote(server.hedged.broker.by_id[1])
        assert spot.symbolId == 1 and spot.bid == round(bid * 100_000) and spot.ask == round(ask * 100_000)
        _, reply = await client.ask(M.ProtoOASubscribeSpotsReq(ctidTraderAccountId=account_id, symbolId=[1]), "t-2")
        while isinstance(reply, M.ProtoOASpotEvent):  # ticks may come before the answer
            reply = cm.unwrap(await client.receive())
        assert reply.errorCode == "ALREADY_SUBSCRIBED"
        await client.close()


async def test_a_pending_fill_is_pushed_to_the_account_without_a_client_msg_id():
    async with running_server() as server:
        client = await _authorized(server)
        account = server.hedged
        _, ask = account.quote(account.broker.by_id[1])
        envelope, accepted = await client.ask(M.ProtoOANewOrderReq(
            ctidTraderAccountId=account.account_id, symbolId=1, orderType=MM.STOP, tradeSide=MM.BUY,
            volume=100_000, stopPrice=round(ask + 0.0002, 5)), "p-1")
        assert accepted.executionType == MM.ORDER_ACCEPTED and envelope.clientMsgId == "p-1"
        # The market reaches the stop as time runs: the fill is the server's own doing.
        for _ in range(500):
            server.clock.advance(30)
            try:
                envelope = await client.receive(timeout=0.05)
                break
            except TimeoutError:
                continue
        filled = cm.unwrap(envelope)
        assert filled.executionType == MM.ORDER_FILLED and filled.order.orderId == accepted.order.orderId
        assert not envelope.HasField("clientMsgId")
        await client.close()
