"""The simulated Open API server's wire format and session rules, checked with hand-made frames."""

from __future__ import annotations

import asyncio
import struct

import pytest

from copier_gui import ctrader_messages as cm
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET, RawClient, running_server

M = cm.messages

pytestmark = pytest.mark.asyncio


async def _app(client: RawClient) -> None:
    _, reply = await client.ask(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
    assert isinstance(reply, M.ProtoOAApplicationAuthRes)


async def test_replies_echo_the_client_msg_id_over_tls():
    async with running_server() as server:
        client = await RawClient.connect(server)
        envelope, reply = await client.ask(
            M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET), "abc-7")
        assert envelope.payloadType == 2101 and envelope.clientMsgId == "abc-7"
        await client.close()


async def test_requests_before_application_auth_are_refused():
    async with running_server() as server:
        client = await RawClient.connect(server)
        _, reply = await client.ask(M.ProtoOATraderReq(ctidTraderAccountId=server.hedged.account_id))
        assert isinstance(reply, M.ProtoOAErrorRes) and reply.errorCode == "CH_CLIENT_NOT_AUTHENTICATED"
        _, reply = await client.ask(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret="wrong"))
        assert reply.errorCode == "CH_CLIENT_AUTH_FAILURE"
        await _app(client)
        _, reply = await client.ask(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
        assert reply.errorCode == "CH_CLIENT_ALREADY_AUTHENTICATED"
        await client.close()


async def test_an_unknown_payload_type_is_unsupported_and_the_link_stays_up():
    async with running_server() as server:
        client = await RawClient.connect(server)
        client.send_bytes(cm.ProtoMessage(payloadType=2999, payload=b"", clientMsgId="u-1").SerializeToString())
        envelope = await client.receive()
        reply = cm.unwrap(envelope)
        assert isinstance(reply, cm.common.ProtoErrorRes) and reply.errorCode == "UNSUPPORTED_MESSAGE"
        assert envelope.clientMsgId == "u-1"
        await _app(client)
        await client.close()


async def test_a_request_missing_a_required_field_is_invalid():
    async with running_server() as server:
        client = await RawClient.connect(server)
        client.send_bytes(cm.ProtoMessage(payloadType=2100, payload=b"", clientMsgId="r-1").SerializeToString())
        reply = cm.unwrap(await client.receive())
        assert reply.errorCode == "INVALID_REQUEST" and "clientSecret" in reply.description
        await client.close()


async def test_a_frame_over_the_limit_is_refused_and_the_link_closed():
    async with running_server(max_frame=1000) as server:
        client = await RawClient.connect(server)
        client.writer.write(struct.pack(">I", 5000) + b"\0" * 5000)
        reply = cm.unwrap(await client.receive())
        assert reply.errorCode == "FRAME_TOO_LONG"
        assert await client.reader.read() == b""  # closed
        await client.close()


async def test_accounts_need_their_own_authorization_and_the_right_environment():
    async with running_server() as server:
        live = server.add_account("lumen_ctrader", is_live=True)
        grant = server.grant(server.hedged.account_id, live.account_id)
        client = await RawClient.connect(server)
        await _app(client)
        _, reply = await client.ask(M.ProtoOATraderReq(ctidTraderAccountId=server.hedged.account_id))
        assert reply.errorCode == "ACCOUNT_NOT_AUTHORIZED"
        _, reply = await client.ask(M.ProtoOAAccountAuthReq(ctidTraderAccountId=live.account_id,
                                                            accessToken=grant.access_token))
        assert reply.errorCode == "CANT_ROUTE_REQUEST"
        _, reply = await client.ask(M.ProtoOAAccountAuthReq(ctidTraderAccountId=server.netted.account_id,
                                                            accessToken=grant.access_token))
        assert reply.errorCode == "CH_CTID_TRADER_ACCOUNT_NOT_FOUND"  # not in this grant
        auth = M.ProtoOAAccountAuthReq(ctidTraderAccountId=server.hedged.account_id, accessToken=grant.access_token)
        _, reply = await client.ask(auth)
        assert isinstance(reply, M.ProtoOAAccountAuthRes)
        _, reply = await client.ask(auth)
        assert reply.errorCode == "ALREADY_LOGGED_IN"
        _, reply = await client.ask(M.ProtoOAAccountAuthReq(ctidTraderAccountId=server.hedged.account_id,
                                                            accessToken="forged"))
        assert reply.errorCode == "CH_ACCESS_TOKEN_INVALID"
        await client.close()


async def test_the_server_sends_heartbeats_and_drops_idle_links():
    async with running_server(heartbeat_interval=0.05, idle_timeout=0.4) as server:
        client = await RawClient.connect(server)
        envelope = await client.receive(skip_heartbeats=False)
        assert envelope.payloadType == 51 and not envelope.HasField("clientMsgId")
        async with asyncio.timeout(3):
            while await client.reader.read(4096):
                pass  # heartbeats until the server gives up on a client that never speaks
        assert server.links == []
        await client.close()
