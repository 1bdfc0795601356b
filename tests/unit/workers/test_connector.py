"""WorkerConnector against real spawned worker processes: lifecycle, death, hangs and bad messages."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time

import pytest

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core.journal import Journal
from copier_gui.core.model import OpenPosition, Side, Status
from copier_gui.core.ports import Connector, ConnectorError
from copier_gui.sim import Faults, Latency
from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from tests.kit.workers import RecordingHost, garbage_worker, silent_worker

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="kills workers with POSIX signals")]

BUY = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1")


def config(account_id: str = "w1", **kw) -> WorkerConfig:
    terminal = kw.pop("terminal", None) or SimTerminal("meridian_ecn", seed=4, account={"login": 11})
    return WorkerConfig(account_id, terminal, heartbeat_s=0.05, **kw)


def connector_for(cfg: WorkerConfig, **kw) -> WorkerConnector:
    # Short limits: a worker that cannot start must fail the test, not stall it for minutes.
    kw.setdefault("hello_timeout_s", 30)
    kw.setdefault("request_timeout_s", 30)
    return WorkerConnector(cfg, **kw)


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def requests_sent(host: RecordingHost, op: str) -> int:
    return sum(1 for direction, data in host.wire
               if direction == "to_worker" and json.loads(data).get("op") == op)


async def test_lifecycle_start_hello_connect_push_request_shutdown():
    host = RecordingHost()
    connector = connector_for(config(), host=host)
    states = []
    connector.subscribe(lambda account, state, detail: states.append(state))
    assert isinstance(connector, Connector)
    try:
        account = await connector.connect()
        assert account.login == 11 and connector.capabilities.hedging
        assert connector.pid not in (None, os.getpid())
        assert connector.state == "connected"
        # Served from the pushed snapshot: no request goes out for it.
        empty = await connector.snapshot()
        assert empty.positions == () and requests_sent(host, "snapshot") == 0
        symbols = await connector.symbols()
        assert "BTCUSD" in symbols and (await connector.symbol("BTCUSD")).bid > 0
        assert await connector.symbol("NOPE") is None
        report = await connector.open(BUY)
        assert report.status is Status.FILLED, report.message
        held = await connector.snapshot()
        assert [p.ticket for p in held.positions] == [report.order]
        assert requests_sent(host, "snapshot") == 0
        assert (await connector.account()).login == 11
        # The position's deals, read in the worker from its history: meridian_ecn charges
        # commission per lot on each deal.
        deals = await connector.position_deals(held.positions[0].identifier)
        assert [(d.side, d.volume, d.price, d.comment) for d in deals] == [(Side.BUY, 0.1, report.price, "cg:1")]
        assert deals[0].commission < 0 and deals[0].position_id == held.positions[0].identifier
        # Named by the order that traded it, as a netting account's fill is.
        assert await connector.position_deals(order=report.order) == deals
        assert await connector.position_deals(987654321) == ()
        # Balance operations, read in the worker: the account's opening deposit.
        (opening,) = await connector.cash_flows()
        assert opening.amount > 0 and opening.id > 0
        # The account's recent deals, read in the worker: the one buy so far.
        assert await connector.deals_since(0) == deals
        assert await connector.ping() < 0.5
        pid = connector.pid
    finally:
        await connector.aclose()
    assert connector.pid is None and connector.state == "disconnected"
    distinct = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert distinct == ["connecting", "connected", "disconnected"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_killed_worker_fails_its_requests_and_is_restarted_on_connect():
    slow = SimTerminal("meridian_ecn", seed=4, account={"login": 11},
                       faults=Faults(trade_latency=Latency(median_ms=3000, sigma=0.0)))
    connector = connector_for(config(terminal=slow))
    try:
        await connector.connect()
        first = connector.pid
        order = asyncio.ensure_future(connector.open(BUY))
        await wait_for(lambda: connector.in_flight() == ["open"])
        os.kill(first, signal.SIGKILL)
        report = await asyncio.wait_for(order, 5)
        assert report.status is Status.UNREACHABLE
        assert "may or may not have reached the broker" in report.message
        assert connector.state == "disconnected" and "signal 9" in connector.state_detail
        with pytest.raises(ConnectorError, match="not running"):
            await connector.snapshot()
        not_sent = await connector.open(BUY)
        assert not_sent.status is Status.UNREACHABLE and not_sent.extra["sent"] is False
        await connector.connect()
        assert connector.pid not in (None, first) and connector.restarts == 1
        assert connector.state == "connected"
    finally:
        await connector.aclose()


async def test_malformed_messages_are_dropped_logged_and_journaled_not_fatal(caplog):
    caplog.set_level(logging.WARNING)
    journal = Journal(None, SYSTEM_CLOCK)
    connector = connector_for(config("junk"), host=RecordingHost(garbage_worker), journal=journal)
    try:
        await connector._ensure_worker()
        assert await connector.ping() < 1.0
        assert await connector.ping() < 1.0  # the worker's junk came and went; both answers arrived
        await wait_for(lambda: connector.dropped >= 16)
        assert connector.pid is not None and connector.state != "disconnected"
    finally:
        await connector.aclose()
    await asyncio.sleep(0)
    assert "dropped a message from worker" in caplog.text
    assert "not JSON" in caplog.text and "unknown message kind" in caplog.text
    dropped = [e for e in journal.entries(kind="error") if "dropped a malformed message" in e.message]
    journal.close()
    assert len(dropped) >= 16


async def test_a_hung_worker_is_stopped_and_restarted_only_after_backoff():
    connector = connector_for(config("hung"), host=RecordingHost(silent_worker), heartbeat_timeout_s=0.4,
                                restart_backoff_s=(30.0,))
    try:
        await connector._ensure_worker()
        pid = connector.pid
        await wait_for(lambda: connector.state == "disconnected", timeout=5.0)
        assert "no heartbeat" in connector.state_detail
        await asyncio.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped
        with pytest.raises(ConnectorError, match="restarting it in"):
            await connector.connect()
    finally:
        await connector.aclose()


class SlowHost(RecordingHost):
    """Starting a process takes 300 ms here, as on a loaded machine or under a virus scanner."""

    began = ended = 0.0

    def start(self, config):
        self.began = time.perf_counter()
        time.sleep(0.3)
        self.ended = time.perf_counter()
        return super().start(config)


async def test_a_slow_worker_start_never_holds_the_loop():
    host = SlowHost()
    connector = connector_for(config(), host=host)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    probe = asyncio.ensure_future(tick())
    try:
        await connector.connect()
    finally:
        probe.cancel()
        await connector.aclose()
    during = [b - a for a, b in zip(ticks, ticks[1:], strict=False) if b > host.began and a < host.ended]
    assert len(during) > 20 and max(during) < 0.05, f"the loop stalled {max(during) * 1000:.0f} ms"


class CountingHost(RecordingHost):
    """Notes, each time one more worker starts, how many started before it have not greeted yet."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0
        self.booting_at_start: list[int] = []

    def start(self, config):
        greeted = sum(1 for direction, data in list(self.wire)
                      if direction == "to_core" and json.loads(data).get("kind") == "hello")
        self.booting_at_start.append(self.started - greeted)
        self.started += 1
        return super().start(config)


async def test_workers_boot_a_few_at_a_time(monkeypatch):
    # A new worker imports the copier on a full core; twenty at once left the window's process
    # half a core. A few at a time boot as fast overall, and the core's process keeps its share.
    from copier_gui.workers import connector as connector_module

    monkeypatch.setattr(connector_module, "BOOTING_AT_ONCE", 2)
    host = CountingHost()
    connectors = [connector_for(config(f"w{i}"), host=host) for i in range(4)]
    try:
        accounts = await asyncio.gather(*(c.connect() for c in connectors))
    finally:
        await asyncio.gather(*(c.aclose() for c in connectors))
    assert [a.login for a in accounts] == [11] * 4
    assert len(host.booting_at_start) == 4 and max(host.booting_at_start) <= 1
