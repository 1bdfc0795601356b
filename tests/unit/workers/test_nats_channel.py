"""The core's end of a remote worker, without a server: what goes on core NATS and what through the
stream, the channel token spliced into a message, and the wake-up pipe the connector watches."""

from __future__ import annotations

import json
import os
import select
import sys
from types import SimpleNamespace

import pytest

from copier_gui.workers import protocol
from copier_gui.workers.nats_transport import READ_OPS, TRADE_OPS, NatsChannel, tag_prefix, tagged
from copier_gui.workers.transport import ChannelClosed


def test_only_reads_skip_the_stream():
    assert set(READ_OPS) <= {*protocol.OPS, "position_deals"}
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
