"""A worker host on a leaf node, against real nats-servers: a hub running JetStream in domain ``hub``
(the core's server, holding the request stream and the buckets) and a leaf node with a JetStream
of its own (domain ``leaf``) whose link to the hub runs through a proxy that can cut it. The worker
host connects to the leaf only and names the hub's domain in its URL (``?domain=hub``); the core
connects to the hub. Copies pass; the leaf's link dropping while the master trades and coming back
loses nothing and duplicates nothing, judged from the simulated broker's own tagged positions.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from copier_gui.bridge import MT5Bridge
from copier_gui.bridge.simulated import BrokerProcess
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import tags
from copier_gui.core.copier import Copier, LinkState, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.workers.config import BridgeTerminal, SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.nats_transport import NatsHost, NatsOptions
from tests.kit.tcp_cut import TcpCut

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="as the transport's tests, POSIX only")]

BEAT_S = 0.2
RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
SYMBOL, BUY = "BTCUSD", 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConfiguredServer:
    """A nats-server run from a configuration file written here."""

    def __init__(self, folder: Path, name: str, config: str) -> None:
        self.folder, self.name = folder, name
        self.path = folder / f"{name}.conf"
        self.path.write_text(config)
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> ConfiguredServer:
        binary = shutil.which("nats-server")
        if binary is None:
            raise RuntimeError("nats-server is not installed (Debian: apt-get install nats-server)")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([binary, "-c", str(self.path)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while b"Server is ready" not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server {self.name} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class LeafTopology:
    """The hub, the proxy on the leaf's link to it, and the leaf."""

    def __init__(self, folder: Path) -> None:
        self.hub_port, leaf_listen, self.leaf_port = _free_port(), _free_port(), _free_port()
        self.link = TcpCut("127.0.0.1", leaf_listen)
        # The hub tells a leaf the addresses to reconnect to: the proxy's, so a leaf never goes
        # round it when its link is cut.
        self.hub = ConfiguredServer(folder, "hub", f"""
listen: "127.0.0.1:{self.hub_port}"
server_name: hub
jetstream {{ store_dir: "{folder / 'hub-store'}", domain: hub }}
leafnodes {{ listen: "127.0.0.1:{leaf_listen}", advertise: "127.0.0.1:{self.link.port}" }}
""").start()
        self.link.start()
        self.leaf = ConfiguredServer(folder, "leaf", f"""
listen: "127.0.0.1:{self.leaf_port}"
server_name: leaf
jetstream {{ store_dir: "{folder / 'leaf-store'}", domain: leaf }}
leafnodes {{ remotes: [ {{ url: "nats://127.0.0.1:{self.link.port}" }} ], reconnect: 1 }}
""").start()

    def linked(self) -> bool:
        return b"Leafnode connection created" in self.leaf.log.read_bytes()

    def close(self) -> None:
        self.leaf.stop()
        self.link.close()
        self.hub.stop()


@pytest.fixture
def topology(tmp_path):
    topology = LeafTopology(tmp_path)
    try:
        yield topology
    finally:
        topology.close()


@pytest.fixture
def broker():
    specs = {"master": SimTerminal("meridian_ecn", seed=5, account={"login": 100}),
             "s1": SimTerminal("meridian_ecn", seed=5, account={"login": 101})}
    with BrokerProcess(specs) as process:
        yield process


async def eventually(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def copies(inspector: MT5Bridge) -> dict[int, int]:
    """The slave's copies by master ticket, from its broker's own positions."""
    held: dict[int, int] = {}
    for p in inspector.positions_get() or ():
        ticket = tags.master_ticket_of(p.comment)
        if ticket is not None:
            held[ticket] = held.get(ticket, 0) + 1
    return held


def open_master(trader: MT5Bridge) -> int:
    result = trader.order_send({"action": 1, "symbol": SYMBOL, "volume": 0.1, "type": BUY,
                                "price": trader.symbol_info_tick(SYMBOL).ask, "type_filling": 1})
    assert result.retcode == 10009, result
    return result.order


def close_master(trader: MT5Bridge, ticket: int) -> None:
    result = trader.order_send({"action": 1, "symbol": SYMBOL, "volume": 0.1, "type": 1, "position": ticket,
                                "price": trader.symbol_info_tick(SYMBOL).bid, "type_filling": 1})
    assert result.retcode == 10009, result


async def test_a_worker_host_on_a_leaf_node_copies_and_its_link_dropping_loses_and_duplicates_nothing(
        topology, broker, tmp_path):
    await eventually(topology.linked, 10.0, "the leaf to link to the hub")
    # The core on the hub; the worker host on the leaf, naming the hub's domain in its URL.
    host_log = open(tmp_path / "host.log", "ab")  # noqa: SIM115 - the process keeps it
    host = subprocess.Popen([sys.executable, "-m", "copier_gui", "worker-host",
                             "--nats", f"nats://127.0.0.1:{topology.leaf_port}?domain=hub",
                             "--sim-bridge", f"127.0.0.1:{broker.port}", "--account", "s1",
                             "--heartbeat-s", str(BEAT_S)], stdout=host_log, stderr=host_log)
    host_log.close()
    nats = NatsHost(NatsOptions(f"nats://127.0.0.1:{topology.hub_port}", jetstream_domain="hub",
                                lease_ttl_s=2.0, lease_beat_s=0.25))
    master = WorkerConnector(WorkerConfig("master", BridgeTerminal(port=broker.port, terminal="master"),
                                          poll_idle_s=0.005, heartbeat_s=0.05), hello_timeout_s=30)
    slave = WorkerConnector(WorkerConfig("s1", BridgeTerminal(port=broker.port, terminal="s1"), heartbeat_s=BEAT_S),
                            host=nats, hello_timeout_s=30, request_timeout_s=30, restart_backoff_s=(0.0, 0.2, 0.5))
    journal = Journal(None, SYSTEM_CLOCK)
    copier = Copier(master, [SlaveLink("s1", slave, RULES)], journal=journal, clock=SYSTEM_CLOCK,
                    copybook=CopyBook(None), poll_interval_s=0.005, reconcile_interval_s=0.3,
                    backoff_s=(0.1, 0.2, 0.5))
    trader = MT5Bridge(port=broker.port, terminal="master")
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    try:
        deadline = time.monotonic() + 30
        while True:  # the host may not have subscribed yet
            try:
                await slave.connect()
                break
            except Exception:
                assert time.monotonic() < deadline, (tmp_path / "host.log").read_text()[-3000:]
                await asyncio.sleep(0.2)
        await asyncio.wait_for(copier.start(), 60)
        assert trader.initialize() and trader.symbol_select(SYMBOL, True)
        kept, closed = open_master(trader), open_master(trader)
        await eventually(lambda: copies(inspector) == {kept: 1, closed: 1}, 15.0, "a copy of each over the leaf")

        # The leaf's link to the hub drops: the host keeps its connection to the leaf, so only its
        # lease renewals going unanswered tell it; the core stops hearing its worker.
        topology.link.cut()
        await eventually(lambda: copier.slaves["s1"].state is LinkState.DISCONNECTED, 10.0,
                         "the core to see s1 gone")
        during = open_master(trader)
        close_master(trader, closed)
        await asyncio.sleep(2.0)
        assert copies(inspector) == {kept: 1, closed: 1}, "nothing reaches s1 while its link is down"
        topology.link.restore()

        # Back: a fresh worker, and the core's reconcile makes s1 match the master, once each.
        await eventually(lambda: copier.slaves["s1"].state is LinkState.CONNECTED, 30.0, "s1 back")
        await eventually(lambda: copies(inspector) == {kept: 1, during: 1}, 15.0, "s1 reconciled")
        after = open_master(trader)
        await eventually(lambda: copies(inspector) == {kept: 1, during: 1, after: 1}, 15.0, "a copy after")
        await asyncio.sleep(2.0)  # redeliveries and reconcile passes: still one each
        assert copies(inspector) == {kept: 1, during: 1, after: 1}
        assert topology.link.accepted >= 2  # the leaf's link really went through the proxy, twice
    finally:
        copier.abandon()
        for connector in (master, slave):
            await connector.aclose()
        nats.close()
        for client in (trader, inspector):
            client.close()
        journal.close()
        host.terminate()
        try:
            host.wait(15)
        except subprocess.TimeoutExpired:
            host.kill()
            host.wait(5)

