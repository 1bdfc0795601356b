"""WorkerConnector's outbox: the requests of one turn of the loop are written together on the next."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from copier_gui.core.model import OpenPosition, Side, Status
from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.transport import ChannelClosed
from tests.kit.workers import RecordingHost

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="spawned workers and POSIX pipes")]


def connector(account: str, host: RecordingHost) -> WorkerConnector:
    cfg = WorkerConfig(account, SimTerminal("meridian_ecn", seed=4, account={"login": 11}), heartbeat_s=0.05)
    return WorkerConnector(cfg, host=host, hello_timeout_s=30, request_timeout_s=30)


def opens_written(host: RecordingHost) -> list[str]:
    return [json.loads(data)["args"]["request"]["comment"] for direction, data in host.wire
            if direction == "to_worker" and json.loads(data).get("op") == "open"]


async def test_requests_of_one_turn_are_written_together_on_the_next_in_order():
    hosts = [RecordingHost(), RecordingHost()]
    slaves = [connector(f"w{i}", host) for i, host in enumerate(hosts)]
    try:
        for slave in slaves:
            await slave.connect()
        orders = [asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, f"cg:{i}:{k}")))
                  for k in range(2) for i, slave in enumerate(slaves)]
        await asyncio.sleep(0)  # every order has asked its connector, in this turn
        assert all(slave.in_flight() == ["open", "open"] for slave in slaves)
        assert opens_written(hosts[0]) == opens_written(hosts[1]) == []  # nothing woke a worker yet
        await asyncio.sleep(0)
        assert opens_written(hosts[0]) == ["cg:0:0", "cg:0:1"] and opens_written(hosts[1]) == ["cg:1:0", "cg:1:1"]
        assert all(r.status is Status.FILLED for r in await asyncio.gather(*orders))
    finally:
        for slave in slaves:
            await slave.aclose()


async def test_a_channel_that_closes_before_the_write_says_not_sent_and_the_rest_may_be_sent():
    host = RecordingHost()
    slave = connector("w1", host)
    try:
        await slave.connect()
        channel = slave._link.channel
        writes = []

        def send(data: bytes) -> None:
            writes.append(data)
            if len(writes) == 2:
                raise ChannelClosed("broken pipe")
            type(channel).send(channel, data)

        channel.send = send
        first = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:a")))
        second = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:b")))
        third = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:c")))
        sent, broken, after = await asyncio.gather(first, second, third)
        # The first was written: its outcome is unknown. The one the pipe broke on, and the one
        # behind it, never left: the copier knows they were not sent.
        assert sent.status is Status.UNREACHABLE and sent.extra.get("outcome") == "unknown"
        assert (broken.status, broken.extra["sent"], after.extra["sent"]) == (Status.UNREACHABLE, False, False)
        assert slave.state == "disconnected"
    finally:
        await slave.aclose()


async def test_a_shutdown_goes_after_the_requests_already_asked():
    host = RecordingHost()
    slave = connector("w1", host)
    try:
        await slave.connect()
        order = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:last")))
        await asyncio.sleep(0)
        slave.request_shutdown()
        kinds = [json.loads(data).get("op") or json.loads(data)["kind"] for d, data in host.wire if d == "to_worker"]
        assert kinds[-2:] == ["open", "shutdown"]
        await asyncio.wait_for(order, 10)
    finally:
        await slave.aclose()


async def test_a_trade_request_is_put_in_its_wire_form_when_written_not_when_handed_over(monkeypatch):
    # A fan-out hands every slave its request in one turn: what can wait for the write (the
    # request's wire form) is not done while the other slaves wait for theirs.
    from copier_gui.workers import protocol

    host = RecordingHost()
    slave = connector("w1", host)
    encoded = []
    to_wire = protocol.dataclass_to_wire

    def counting(obj):
        if isinstance(obj, OpenPosition):
            encoded.append(obj.comment)
        return to_wire(obj)

    try:
        await slave.connect()
        monkeypatch.setattr(protocol, "dataclass_to_wire", counting)
        order = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:w")))
        await asyncio.sleep(0)
        assert slave.in_flight() == ["open"] and encoded == []
        await asyncio.sleep(0)
        assert encoded == ["cg:w"] and opens_written(host) == ["cg:w"]
        assert (await order).status is Status.FILLED
    finally:
        await slave.aclose()


async def test_a_request_s_reply_clock_starts_when_it_is_written_not_when_handed_over(monkeypatch):
    # The timer is bookkeeping that can wait for the write: a fan-out's hand-overs start none.
    host = RecordingHost()
    slave = connector("w1", host)
    try:
        await slave.connect()
        loop = asyncio.get_running_loop()
        started: list[float] = []
        call_later = loop.call_later

        def counting(delay, callback, *args, **kw):
            started.append(delay)
            return call_later(delay, callback, *args, **kw)

        monkeypatch.setattr(loop, "call_later", counting)
        order = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:t")))
        await asyncio.sleep(0)
        assert slave.in_flight() == ["open"] and started == []
        await asyncio.sleep(0)
        assert started == [30] and opens_written(host) == ["cg:t"]
        assert (await order).status is Status.FILLED
    finally:
        await slave.aclose()


async def test_every_connector_s_requests_of_one_turn_are_written_by_one_callback(monkeypatch):
    from copier_gui.workers import connector as connector_module

    hosts = [RecordingHost() for _ in range(3)]
    slaves = [connector(f"w{i}", host) for i, host in enumerate(hosts)]
    try:
        for slave in slaves:
            await slave.connect()
        loop = asyncio.get_running_loop()
        scheduled = []
        call_soon = loop.call_soon

        def counting(callback, *args, **kw):
            if callback is connector_module._write_all:
                scheduled.append(args)
            return call_soon(callback, *args, **kw)

        monkeypatch.setattr(loop, "call_soon", counting)
        orders = [asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, f"cg:{i}")))
                  for i, slave in enumerate(slaves)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(scheduled) == 1
        assert [opens_written(host) for host in hosts] == [["cg:0"], ["cg:1"], ["cg:2"]]
        assert all(r.status is Status.FILLED for r in await asyncio.gather(*orders))
    finally:
        for slave in slaves:
            await slave.aclose()


async def test_a_write_that_fails_for_one_slave_still_writes_the_others_and_its_request_times_out():
    hosts = [RecordingHost(), RecordingHost()]
    cfgs = [WorkerConfig(f"w{i}", SimTerminal("meridian_ecn", seed=4, account={"login": 11}), heartbeat_s=0.05)
            for i in range(2)]
    slaves = [WorkerConnector(cfg, host=host, hello_timeout_s=30, request_timeout_s=0.5)
              for cfg, host in zip(cfgs, hosts, strict=True)]
    try:
        for slave in slaves:
            await slave.connect()
        channel = slaves[0]._link.channel

        def broken(data: bytes) -> None:
            raise RuntimeError("a bug in the write")

        channel.send = broken
        failed, written = await asyncio.gather(
            *(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, f"cg:{i}"))
              for i, slave in enumerate(slaves)))
        assert written.status is Status.FILLED and opens_written(hosts[1]) == ["cg:1"]
        # Never written, but the connector cannot be sure of that: the next snapshot decides.
        assert failed.status is Status.UNREACHABLE and failed.extra.get("outcome") == "unknown"
        del channel.send  # the channel writes again, for the shutdown
    finally:
        for slave in slaves:
            await slave.aclose()
