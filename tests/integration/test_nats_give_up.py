"""A core that gives up on a remote worker with a trade unanswered marks that trade as started
itself, against a real nats-server: a host that takes it from the stream later (a held link, a
frozen host) finds the marker and refuses it, rather than acting on intent the core wrote off."""

from __future__ import annotations

import json
import sys
import time
from types import SimpleNamespace

import pytest

from copier_gui.core.model import OpenPosition, Side
from copier_gui.secrets import store_secret
from copier_gui.workers import protocol
from copier_gui.workers.nats_transport import (
    NatsChannel,
    NatsHost,
    NatsOptions,
    message_id,
    started_key,
    tagged,
)
from tests.kit.nats_server import NATS_PASSWORD, NATS_USER, running_nats_server

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the transport's tests run where nats-server does")


@pytest.fixture
def nats_server(tmp_path_factory):
    yield from running_nats_server(tmp_path_factory)


def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _stream_ids(host: NatsHost, options: NatsOptions) -> list[str]:
    """The Nats-Msg-Id of every request in the stream, oldest first."""
    info = host.runner.call(host.js.stream_info(options.stream), timeout=5)
    ids = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = host.runner.call(host.js.get_msg(options.stream, seq), timeout=5)
        ids.append((msg.headers or {}).get("Nats-Msg-Id"))
    return ids


def _marker(host: NatsHost, key: str) -> bytes | None:
    """The started marker under ``key``, or None if there is none."""
    try:
        return host.runner.call(host.started.get(key), timeout=5).value
    except Exception:
        return None


def _opened(host: NatsHost, options: NatsOptions) -> NatsChannel:
    channel = NatsChannel(host, "s1")
    host.runner.call(channel.open(), timeout=10)
    return channel


@pytest.fixture
def bus(nats_server):
    store_secret(f"nats:{NATS_USER}", NATS_PASSWORD, what="NATS password")
    options = NatsOptions(nats_server.url, user=NATS_USER, password_key=f"nats:{NATS_USER}", ca=str(nats_server.ca))
    host = NatsHost(options)
    host._ensure()
    try:
        yield host, options
    finally:
        host.close()


def test_a_trade_unanswered_when_the_core_gives_up_is_marked_started_so_no_host_runs_it(bus):
    host, options = bus
    channel = _opened(host, options)
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:41")
    args = {"request": protocol.dataclass_to_wire(entry)}
    exit_args = {"request": {"ticket": 9, "symbol": "BTCUSD", "volume": 0.1}}
    channel.send(protocol.encode("request", id=1, op="open", args=args))
    channel.send(protocol.encode("request", id=2, op="close", args=exit_args))
    channel.send(protocol.encode("request", id=3, op="snapshot", args={"full": True}))
    channel.send(protocol.encode("request", id=4, op="modify", args=exit_args))

    def queued() -> int:
        return host.runner.call(host.js.stream_info(options.stream), timeout=5).state.messages

    wait_for(lambda: queued() == 3, what="the trades in the stream (no host takes them)")
    # The third was answered (its worker ran it): it is no longer the core's to give up.
    answer = tagged(channel.token, protocol.encode("reply", id=4, ok=True, result={}))
    host.runner.call(channel._on_event(SimpleNamespace(data=answer)), timeout=5)
    assert channel.recv(1.0) == answer
    markers = [started_key(message_id("s1", "open", args)), started_key(f"{channel.token}:2")]

    def marked(key: str) -> bool:
        return _marker(host, key) is not None

    assert not any(marked(key) for key in markers)
    channel.close()  # the core gives the worker up: both trades count as "outcome unknown"
    wait_for(lambda: all(marked(key) for key in markers), what="the started markers of both trades")
    # A read is not a trade: nothing marks it, and no host ever checks a marker for it.
    assert not marked(started_key(f"{channel.token}:3"))
    assert not marked(started_key(f"{channel.token}:4"))


def test_an_entry_written_off_before_any_host_took_it_goes_again_under_a_new_id(bus):
    # The core gave its worker up with the entry still in the stream (a frozen host): it marked it
    # started itself, so no host will run it. Sent again once a worker is back, the bus would drop
    # it as a repeat for its whole duplicate window, and the copy would wait two minutes with the
    # slave flapping between connected and disconnected at every pass.
    host, options = bus
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:77")
    request = protocol.encode("request", id=1, op="open", args={"request": protocol.dataclass_to_wire(entry)})
    first = _opened(host, options)
    first.send(request)
    wait_for(lambda: len(_stream_ids(host, options)) == 1, what="the entry in the stream")
    first.close()
    original = message_id("s1", "open", {"request": protocol.dataclass_to_wire(entry)})
    wait_for(lambda: _marker(host, started_key(original)) == b"given up by the core", what="the core's marker")
    second = _opened(host, options)
    second.send(request)
    wait_for(lambda: len(_stream_ids(host, options)) == 2, what="the entry sent again")
    again = _stream_ids(host, options)[1]
    assert again != original and again.startswith(original)
    # Not answered as a repeat: it is on its way to the worker.
    assert second.recv(0.5) is None
    # Written off again (the worker gone once more), the next send takes the next id.
    second.close()
    wait_for(lambda: _marker(host, started_key(again)) == b"given up by the core", what="the core's marker of the second")
    third = _opened(host, options)
    third.send(request)
    wait_for(lambda: len(_stream_ids(host, options)) == 3, what="the entry sent a third time")
    assert len(set(_stream_ids(host, options))) == 3
    third.close()


def test_an_entry_a_host_started_is_not_sent_again_within_the_window(bus):
    # A host took it (its marker names the host): it may have reached the broker, or be reaching
    # it now. Sending it again could open the copy twice; the outcome stays unknown, and the
    # broker's tagged state tells.
    host, options = bus
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:78")
    args = {"request": protocol.dataclass_to_wire(entry)}
    request = protocol.encode("request", id=1, op="open", args=args)
    first = _opened(host, options)
    first.send(request)
    wait_for(lambda: len(_stream_ids(host, options)) == 1, what="the entry in the stream")
    host.runner.call(host.started.create(started_key(message_id("s1", "open", args)), b"host-a"), timeout=5)
    first.close()
    second = _opened(host, options)
    second.send(request)
    reply = json.loads(second.recv(5.0))
    assert reply["ok"] is False and "duplicate window" in reply["error"]["message"], reply
    assert len(_stream_ids(host, options)) == 1
    second.close()
