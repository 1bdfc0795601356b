"""The simulated cTrader server and a client over real TLS on 127.0.0.1, for the tests of both sides.

``RawClient`` frames by hand, independently of the connector, so the server's wire format is
checked by code that does not share the connector's mistakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time

from copier_gui import ctrader_messages as cm
from copier_gui.sim.ctrader import SimulatedOpenApiServer
from tests.kit import WEEKDAY_NOON_UTC

M = cm.messages
MM = cm.model
CLIENT_ID = "1234_copier"
CLIENT_SECRET = "s3cret-app"


class SteppingClock:
    """Real time from a weekday noon (markets open), or from ``start``, which a test may also jump
    forward."""

    def __init__(self, start: float = WEEKDAY_NOON_UTC) -> None:
        self._start = start
        self._t0 = time.monotonic()
        self._jump = 0.0

    def time(self) -> float:
        return self._start + (time.monotonic() - self._t0) + self._jump

    def monotonic(self) -> float:
        return time.monotonic() + self._jump

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0))

    def advance(self, seconds: float) -> None:
        self._jump += seconds


@contextlib.asynccontextmanager
async def running_server(**options):
    """A started server with the copier's application, a hedged and a netted account, and a grant."""
    clock = options.pop("clock", None) or SteppingClock()
    server = SimulatedOpenApiServer(clock=clock, poll_interval=0.02, **options)
    server.add_application(CLIENT_ID, CLIENT_SECRET)
    server.hedged = server.add_account("lumen_ctrader")
    server.netted = server.add_account("kestrel_netting")
    server.grant_pair = server.grant(server.hedged.account_id, server.netted.account_id)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class RawClient:
    """Frames written and read by hand."""

    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: SimulatedOpenApiServer) -> RawClient:
        reader, writer = await asyncio.open_connection(
            server.host, server.port, ssl=server.client_ssl_context(), server_hostname=server.host)
        return cls(reader, writer)

    def send_bytes(self, body: bytes) -> None:
        self.writer.write(struct.pack(">I", len(body)) + body)

    def send(self, message, client_msg_id: str | None = None) -> None:
        self.send_bytes(cm.wrap(message, client_msg_id).SerializeToString())

    async def receive(self, timeout: float = 2.0, *, skip_heartbeats: bool = True) -> cm.ProtoMessage:
        while True:
            async with asyncio.timeout(timeout):
                (length,) = struct.unpack(">I", await self.reader.readexactly(4))
                envelope = cm.ProtoMessage.FromString(await self.reader.readexactly(length))
            if not (skip_heartbeats and envelope.payloadType == 51):
                return envelope

    async def ask(self, message, client_msg_id: str = "t-1"):
        self.send(message, client_msg_id)
        envelope = await self.receive()
        return envelope, cm.unwrap(envelope)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def connected(server: SimulatedOpenApiServer, *accounts, **options):
    """The connector's own link to ``server``, with the application and ``accounts`` authorized."""
    from copier_gui.connectors.ctrader.connection import OpenApiConnection

    link = await OpenApiConnection.open(server.host, server.port, ssl_context=server.client_ssl_context(),
                                        request_timeout=options.pop("request_timeout", 5.0), **options)
    await link.request(M.ProtoOAApplicationAuthReq(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET))
    for account in accounts:
        await link.request(M.ProtoOAAccountAuthReq(ctidTraderAccountId=account.account_id,
                                                   accessToken=server.grant_pair.access_token))
    return link


class Events:
    """Every event a link receives, kept for a test to wait on."""

    def __init__(self, link) -> None:
        self.items: list = []
        self._arrived = asyncio.Event()
        link.add_listener(self._on)

    def _on(self, message, client_msg_id) -> None:
        self.items.append(message)
        self._arrived.set()

    async def wait_for(self, predicate, timeout: float = 3.0):
        async with asyncio.timeout(timeout):
            while True:
                for item in self.items:
                    if predicate(item):
                        self.items.remove(item)
                        return item
                self._arrived.clear()
                await self._arrived.wait()
