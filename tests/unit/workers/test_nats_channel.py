"""The core's end of a remote worker, without a server: what goes on core NATS and what through the
stream, the channel token spliced into a message, and the wake-up pipe the connector watches."""

from __future__ import annotations

import asyncio
import json
import os
import select
import sys
from types import SimpleNamespace

import pytest

from copier_gui.workers import protocol
from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.nats_host import WorkerHostServer
from copier_gui.workers.nats_transport import (
    READ_OPS,
    TRADE_OPS,
    NatsChannel,
    NatsOptions,
    SharedLoop,
    tag_prefix,
    tagged,
)
from copier_gui.workers.transport import ChannelClosed


def test_only_reads_skip_the_stream():
    assert set(READ_OPS) <= set(protocol.OPS)
    assert not set(READ_OPS) & set(TRADE_OPS)
    # connect, close_session and the simulator's levers keep the stream's order with the trades.
    assert not set(READ_OPS) & {"connect", "close_session", "sim"}


def test_the_channel_token_is_spliced_in_first_and_the_message_stays_the_same():
    data = protocol.encode("request", id=7, op="open", args={"request": {"comment": "c"}})
    spliced = tagged("tok123", data)
    assert spliced.startswith(tag_prefix("tok123"))
    assert json.loads(spliced) == {"ch": "tok123", **json.loads(data)}
    assert protocol.decode(spliced)["id"] == 7


@pytest.mark.skipif(sys.platform == "win32", reason="the wake-up pipe is POSIX only; Windows reads on a thread")
def test_the_wake_up_pipe_is_readable_exactly_while_messages_wait():
    channel = NatsChannel(SimpleNamespace(), "acc1")
    fd = channel.fileno()
    assert fd is not None

    def readable() -> bool:
        return bool(select.select([fd], [], [], 0)[0])

    assert not readable() and channel.recv(0) is None
    channel._put(b'{"a":1}')
    channel._put(b'{"a":2}')
    assert readable()
    assert channel.recv(0) == b'{"a":1}'
    assert channel.recv(0) == b'{"a":2}'
    assert channel.recv(0) is None
    assert not readable()  # drained once the queue is empty: the selector sleeps
    for n in range(100):
        channel._put(b'{"n":%d}' % n)
    assert readable()
    assert [channel.recv(0) for _ in range(100)] == [b'{"n":%d}' % n for n in range(100)]
    assert channel.recv(0) is None and not readable()
    channel._close_from_bus("the host said so")
    assert readable()
    with pytest.raises(ChannelClosed, match="the host said so"):
        channel.recv(0)
    channel._host = SimpleNamespace(runner=SimpleNamespace(loop=SimpleNamespace(is_running=lambda: False)))
    channel.close()
    assert channel.fileno() is None
    with pytest.raises(OSError):
        os.fstat(fd)  # closed, not leaked


def test_a_reader_on_the_bus_s_own_loop_is_handed_each_message_in_order_with_no_wake_up():
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        channel = NatsChannel(SimpleNamespace(runner=SharedLoop(loop)), "acc1")
        got: list[bytes] = []
        closed: list[str] = []
        channel._put(b'{"n":0}')  # before the reader came: handed over first
        other = asyncio.new_event_loop()
        try:
            assert not channel.deliver_to(other, got.append, lambda: closed.append("x"))
        finally:
            other.close()
        assert channel.deliver_to(loop, got.append, lambda: closed.append(channel.reason))
        assert got == [b'{"n":0}']
        for n in range(1, 50):
            channel._put(b'{"n":%d}' % n)
        assert got == [b'{"n":%d}' % n for n in range(50)]
        if channel.fileno() is not None:
            assert not select.select([channel.fileno()], [], [], 0)[0]  # no wake-up was written
        channel._close_from_bus("the host said so")
        assert closed == ["the host said so"]
        channel._put(b'{"late":1}')  # after the close: the reader hears nothing more
        assert len(got) == 50 and closed == ["the host said so"]
        channel.stop_delivering()

    asyncio.run(scenario())


def _event(data: bytes) -> SimpleNamespace:
    return SimpleNamespace(data=data)


def test_every_kind_of_message_from_another_worker_start_is_dropped():
    # After a restart the subject carries the earlier worker's last words too: a snapshot push it
    # numbered, a heartbeat, a reply. Only what the host tagged with this channel's token is kept.
    channel = NatsChannel(SimpleNamespace(), "acc1")
    other = NatsChannel(SimpleNamespace(), "acc1")
    push = protocol.encode("snapshot", seq=7, full=False, positions=[], orders=[], removed=[], removed_orders=[])
    reply = protocol.encode("reply", id=1, ok=True, result={})
    for stale in (tagged(other.token, push), push, tagged(other.token, reply), reply, b"not json", b"[1]"):
        asyncio.run(channel._on_event(_event(stale)))
        assert channel.recv(0) is None, stale
    asyncio.run(channel._on_event(_event(tagged(channel.token, push))))
    assert channel.recv(0) == tagged(channel.token, push)
    # The token need not come first: a reply that names it elsewhere is still ours.
    late = protocol.encode("reply", id=2, ok=False, error=protocol.error_to_wire("transport", "x"), ch=channel.token)
    asyncio.run(channel._on_event(_event(late)))
    assert channel.recv(0) == late


def test_the_host_tags_every_event_it_forwards_with_its_channel_token():
    published: list[bytes] = []

    class Bus:
        async def publish(self, subject: str, data: bytes) -> None:
            published.append(data)

    async def forward() -> None:
        server = WorkerHostServer(NatsOptions("nats://127.0.0.1:4222"), [WorkerConfig("acc1", SimTerminal("x"))],
                                  spawn=lambda config: None)
        server.nc = Bus()
        served = server.accounts["acc1"]
        served.generation, served.channel, served.token = 3, object(), "tok3"
        push = protocol.encode("heartbeat", seq=1, state="ready")
        server._forward(served, 3, push)
        server._forward(served, 2, push)  # a replaced worker's: not forwarded at all
        server._replied(served, 3, protocol.encode("reply", id=5, ok=True, result={}))
        await asyncio.sleep(0)

    asyncio.run(forward())
    assert len(published) == 2
    assert all(data.startswith(tag_prefix("tok3")) for data in published)
