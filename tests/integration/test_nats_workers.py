"""Workers on another host over NATS JetStream, against a real nats-server (TLS, user and password):
a worker host as a process of its own serving a slave whose simulated broker runs behind the
bridge, the core reaching it over the bus, copies going through exactly once across a repeated
request, a killed worker host and a restarted server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from copier_gui.bridge import MT5Bridge
from copier_gui.bridge.simulated import BrokerProcess
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import tags
from copier_gui.core.copier import Copier, LinkState, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.model import OpenPosition, Side, Status
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.secrets import store_secret
from copier_gui.workers import protocol
from copier_gui.workers.config import BridgeTerminal, SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.nats_transport import (
    GIVEN_UP,
    NatsHost,
    NatsOptions,
    message_id,
    started_key,
)
from tests.kit.nats_server import (
    NATS_PASSWORD,
    NATS_USER,
    NatsServer,
    running_nats_server,
    self_signed,
)

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="kills worker hosts with POSIX signals")]

RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
BEAT_S = 0.2


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread():
    gc.collect()


async def eventually(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.fixture
def nats_server(tmp_path_factory):
    yield from running_nats_server(tmp_path_factory)


@pytest.fixture
def broker():
    specs = {"master": SimTerminal("meridian_ecn", seed=5, account={"login": 100}),
             "s1": SimTerminal("meridian_ecn", seed=5, account={"login": 101}),
             "s2": SimTerminal("harbor_fx", seed=5, account={"login": 102})}
    with BrokerProcess(specs) as process:
        yield process


@pytest.fixture
def options(nats_server: NatsServer) -> NatsOptions:
    # The password lives in the keyring the worker host reads too (the test's own keyring file).
    store_secret(f"nats:{NATS_USER}", NATS_PASSWORD, what="NATS password")
    return NatsOptions(nats_server.url, user=NATS_USER, password_key=f"nats:{NATS_USER}", ca=str(nats_server.ca),
                       lease_ttl_s=2.0, lease_beat_s=0.25, ack_wait_s=5.0)


class HostProcess:
    """``copier-gui worker-host`` as its own process, serving ``accounts`` of the bridge's broker."""

    def __init__(self, options: NatsOptions, bridge_port: int, accounts: list[str], log_path) -> None:
        self.argv = [sys.executable, "-m", "copier_gui", "worker-host", "--nats", options.url,
                     "--nats-user", NATS_USER, "--nats-ca", options.ca, "--sim-bridge", f"127.0.0.1:{bridge_port}",
                     "--heartbeat-s", str(BEAT_S)]
        for account in accounts:
            self.argv += ["--account", account]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> HostProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=log)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it; its exit code (None: it had to be killed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                return None
        return self.process.returncode if self.process is not None else None


@pytest.fixture
def host_factory(options, broker, tmp_path):
    hosts: list[HostProcess] = []

    def make(accounts: list[str]) -> HostProcess:
        host = HostProcess(options, broker.port, accounts, tmp_path / f"host{len(hosts)}.log").start()
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.stop()


def remote(account: str, nats: NatsHost, bridge_port: int) -> WorkerConnector:
    # The core's config names the account; the host's own settings say how to reach its terminal.
    config = WorkerConfig(account, BridgeTerminal(port=bridge_port, terminal=account), heartbeat_s=BEAT_S)
    return WorkerConnector(config, host=nats, hello_timeout_s=30, request_timeout_s=30,
                           restart_backoff_s=(0.0, 0.2, 0.5))


def local(account: str, bridge_port: int) -> WorkerConnector:
    config = WorkerConfig(account, BridgeTerminal(port=bridge_port, terminal=account), poll_idle_s=0.005,
                          heartbeat_s=0.05)
    return WorkerConnector(config, hello_timeout_s=30, request_timeout_s=30)


async def connect(connector: WorkerConnector, timeout: float = 30.0):
    """connect(), retried: a worker host that has just started may not have subscribed yet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await connector.connect()
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _sniff(nats: NatsHost) -> list[bytes]:
    seen: list[bytes] = []

    async def keep(msg) -> None:
        seen.append(msg.subject.encode() + b" " + msg.data)

    await nats.nc.subscribe("copier.>", cb=keep)
    await nats.nc.flush()
    return seen


def copies_of(inspector: MT5Bridge, comment: str) -> int:
    return sum(1 for p in inspector.positions_get() or () if p.comment == comment)


@pytest.mark.parametrize("on_copiers_loop", [False, True], ids=["bus-thread", "copiers-loop"])
async def test_copies_reach_slaves_on_two_worker_hosts_over_nats(options, broker, host_factory, on_copiers_loop):
    host_factory(["s1"])
    host_factory(["s2"])
    # On the copier's own loop (the default: the host adopts the loop of the first connector that
    # starts a worker), the bus's client needs no thread of its own and no hop to reach it.
    nats = NatsHost(options) if on_copiers_loop else NatsHost(options, own_thread=True)
    master = local("master", broker.port)
    slaves = {sid: remote(sid, nats, broker.port) for sid in ("s1", "s2")}
    journal = Journal(None, SYSTEM_CLOCK)
    copier = Copier(master, [SlaveLink(sid, c, RULES) for sid, c in slaves.items()], journal=journal,
                    clock=SYSTEM_CLOCK, copybook=CopyBook(None), poll_interval_s=0.005, reconcile_interval_s=0.3,
                    backoff_s=(0.1, 0.2, 0.5))
    trader = MT5Bridge(port=broker.port, terminal="master")
    inspectors = {sid: MT5Bridge(port=broker.port, terminal=sid) for sid in slaves}

    def copies(sid: str, ticket: int) -> int:
        held = inspectors[sid].positions_get() or ()
        return sum(1 for p in held if tags.master_ticket_of(p.comment) == ticket)

    try:
        for connector in slaves.values():
            await connect(connector)  # the hosts are up before the copier starts
        await asyncio.wait_for(copier.start(), 60)
        assert trader.initialize() and trader.symbol_select("BTCUSD", True)
        result = trader.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": 0,
                                    "price": trader.symbol_info_tick("BTCUSD").ask, "type_filling": 1})
        assert result.retcode == 10009, result
        await eventually(lambda: copies("s1", result.order) == 1 and copies("s2", result.order) == 1, 15.0,
                         "a copy on each remote slave")
        await asyncio.sleep(1.0)  # reconcile passes over the bus: still one each
        assert (copies("s1", result.order), copies("s2", result.order)) == (1, 1)
        assert all(copier.slaves[sid].state is LinkState.CONNECTED for sid in slaves)
        # Each slave's worker runs on its own host, not in this process.
        assert len({c.pid for c in slaves.values()} | {os.getpid()}) == 3
        assert any(t.name == "nats-core" for t in threading.enumerate()) is not on_copiers_loop
        # On the copier's loop each message is handed to its connector as it comes, with no queue.
        assert all(c._link.delivered for c in slaves.values()) is on_copiers_loop
    finally:
        copier.abandon()
        for connector in (master, *slaves.values()):
            await connector.aclose()
        connection = nats.nc
        nats.close()  # from the loop itself when it is the bus's: it must not wait on itself
        if on_copiers_loop:
            await eventually(lambda: connection.is_closed, 10.0, "the bus's connection closed")
        for client in (trader, *inspectors.values()):
            client.close()
        journal.close()


async def test_a_worker_host_renews_one_lease_for_all_its_workers(options, broker, host_factory):
    # At rest a lease per account was a key-value write a second for each, and each was pushed to
    # the core's watcher: for 200 remote accounts, 400 messages a second on the bus. One lease per
    # host names every worker it runs, by generation; the core follows it for each.
    host_factory(["s1", "s2"])
    nats = NatsHost(options)
    slaves = [remote(sid, nats, broker.port) for sid in ("s1", "s2")]
    writes: list[tuple[str, dict]] = []
    try:
        for slave in slaves:
            await connect(slave)

        async def keep(msg) -> None:
            if msg.data:
                writes.append((msg.subject[len(prefix):], json.loads(msg.data)))

        prefix = f"$KV.{options.lease_bucket}."
        await nats.nc.subscribe(prefix + ">", cb=keep)
        beat = NatsOptions(options.url).lease_beat_s  # the host's own: the command's default
        await asyncio.sleep(4 * beat)
        keys = {key for key, _ in writes}
        assert len(keys) == 1 and next(iter(keys)).startswith("host."), keys
        # One write a beat, not one per account and beat.
        assert 3 <= len(writes) <= 5, writes
        generations = {c.account_id: c._link.channel.generation for c in slaves}
        assert writes[-1][1]["accounts"] == generations
        # The core still sees each worker as up: the host's lease names it.
        await asyncio.sleep(4 * options.lease_beat_s)
        assert all(c.state == "connected" for c in slaves)
    finally:
        for slave in slaves:
            await slave.aclose()
        nats.close()


async def test_a_host_lease_that_no_longer_names_the_worker_gives_it_up(options, broker, host_factory):
    host_factory(["s1", "s2"])
    nats = NatsHost(options)
    slaves = {sid: remote(sid, nats, broker.port) for sid in ("s1", "s2")}
    try:
        for slave in slaves.values():
            await connect(slave)
        key = slaves["s1"]._link.channel.lease_key
        kept = {"s2": slaves["s2"]._link.channel.generation}
        # As the host writes it once s1's worker is gone (its notice lost on the way).
        await nats.leases.put(key, json.dumps({"host": "elsewhere", "accounts": kept}).encode())
        await eventually(lambda: slaves["s1"].state == "disconnected", 5.0, "s1 given up")
        assert "no longer runs this worker" in slaves["s1"].state_detail
        assert slaves["s2"].state == "connected"
    finally:
        for slave in slaves.values():
            await slave.aclose()
        nats.close()


async def test_the_same_entry_sent_twice_is_executed_once(options, broker, host_factory):
    host = host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:dup:1")
    try:
        await connect(slave)
        seen = await _sniff(nats)  # the bus's client runs on this loop
        first = await slave.open(entry)
        assert first.status is Status.FILLED, first
        again = await slave.open(entry)
        assert again.status is Status.UNREACHABLE and "duplicate window" in again.message, again
        assert again.extra.get("outcome") == "unknown"
        assert copies_of(inspector, "cg:dup:1") == 1
        # A different entry (another tag) still goes.
        other = await slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:dup:2"))
        assert other.status is Status.FILLED, other
        assert copies_of(inspector, "cg:dup:1") == 1 and copies_of(inspector, "cg:dup:2") == 1
        # Everything that crossed the bus: requests, replies, pushes; never a password or secret.
        wire = b"".join(seen)
        assert b'"op":"open"' in wire and b'"kind":"snapshot"' in wire
        assert NATS_PASSWORD.encode() not in wire and broker._secret.encode() not in wire
        # Stopped as a service is, the host ends its worker and exits promptly and cleanly.
        stopped = await asyncio.get_running_loop().run_in_executor(None, host.stop)
        assert stopped == 0
        await eventually(lambda: slave.state == "disconnected", 5.0, "the core to see the worker go")
    finally:
        await slave.aclose()
        nats.close()
        inspector.close()


async def test_a_killed_worker_host_is_seen_and_nothing_is_duplicated(options, broker, host_factory):
    host = host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    states: list[tuple[str, str]] = []
    slave.subscribe(lambda account, state, detail: states.append((state, detail)))
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:kill:1")
    try:
        await connect(slave)
        assert (await slave.open(entry)).status is Status.FILLED
        host.kill()
        await eventually(lambda: slave.state == "disconnected", 5.0, "the core to see the host gone")
        assert slave.pid is None
        not_sent = await slave.open(entry)
        assert not_sent.status is Status.UNREACHABLE and not not_sent.sent
        host_factory(["s1"])  # a host comes back for the account
        await connect(slave)
        assert slave.restarts == 1
        snapshot = await slave.snapshot()
        assert [p.comment for p in snapshot.positions].count("cg:kill:1") == 1
        assert copies_of(inspector, "cg:kill:1") == 1
        assert any(state == "disconnected" for state, _ in states), states
    finally:
        await slave.aclose()
        nats.close()
        inspector.close()


async def test_a_worker_host_cut_off_for_a_while_is_given_up_then_served_again_without_a_duplicate(
        options, broker, host_factory):
    host = host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    try:
        await connect(slave)
        assert (await slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:cut:1"))).status is Status.FILLED
        first = slave.pid
        os.kill(host.process.pid, signal.SIGSTOP)  # frozen: no heartbeat, no lease renewal, no answer
        try:
            await eventually(lambda: slave.state == "disconnected", 5.0, "the core to give the host up")
            await asyncio.sleep(1.0)
        finally:
            os.kill(host.process.pid, signal.SIGCONT)
        await connect(slave)  # the host is back: a fresh worker, whatever the old one still said
        assert slave.pid != first
        after = await slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:cut:2"))
        assert after.status is Status.FILLED, after
        held = [p.comment for p in (await slave.snapshot()).positions]
        assert (held.count("cg:cut:1"), held.count("cg:cut:2")) == (1, 1)
        assert copies_of(inspector, "cg:cut:1") == 1 and copies_of(inspector, "cg:cut:2") == 1
    finally:
        await slave.aclose()
        nats.close()
        inspector.close()


async def test_an_entry_written_off_while_its_host_was_frozen_is_made_once_when_it_is_back(options, broker,
                                                                                          host_factory):
    # The entry reached the stream but not the frozen host; the core gave the worker up and wrote
    # the entry off. The copier sends the same entry again once the worker is back: it must be made
    # (once), not dropped as a repeat for the bus's whole duplicate window (found by the random
    # fault test: the slave flapped between connected and disconnected for two minutes).
    host = host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:off:1")
    try:
        await connect(slave)
        os.kill(host.process.pid, signal.SIGSTOP)
        try:
            lost = await slave.open(entry)
            assert lost.status is Status.UNREACHABLE, lost
            await eventually(lambda: slave.state == "disconnected", 5.0, "the core to give the host up")
            # Written off before the host wakes: it must find the marker and refuse the entry.
            # (Woken first, it would run it, as the core's reconcile then sees: that is the other case.)
            key = started_key(message_id("s1", "open", {"request": protocol.dataclass_to_wire(entry)}))
            for _ in range(100):
                with contextlib.suppress(Exception):
                    if (await nats.started.get(key)).value == GIVEN_UP:
                        break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the core did not write the entry off")
        finally:
            os.kill(host.process.pid, signal.SIGCONT)
        await connect(slave)
        again = await slave.open(entry)
        assert again.status is Status.FILLED, again.message
        await asyncio.sleep(1.0)  # the first, still in the stream, reaches the host: refused
        assert copies_of(inspector, "cg:off:1") == 1
    finally:
        await slave.aclose()
        nats.close()
        inspector.close()


async def test_a_nats_server_restarted_mid_copy_loses_and_duplicates_nothing(options, broker, host_factory,
                                                                            nats_server):
    host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    try:
        await connect(slave)
        broker.control("s1", "trade_latency_ms", 500)
        order = asyncio.ensure_future(slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:rs:1")))
        await eventually(lambda: "open" in slave.in_flight(), 5.0, "the order out")
        await asyncio.sleep(0.15)  # at the broker now
        await asyncio.get_running_loop().run_in_executor(None, nats_server.restart)
        report = await order
        # Its reply may be lost with the server; the broker holds the copy either way, once.
        assert report.status in (Status.FILLED, Status.UNREACHABLE), report
        await eventually(lambda: copies_of(inspector, "cg:rs:1") == 1, 10.0, "the copy at the broker")
        await connect(slave)
        after = await slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:rs:2"))
        assert after.status is Status.FILLED, after
        await asyncio.sleep(0.5)
        assert copies_of(inspector, "cg:rs:1") == 1 and copies_of(inspector, "cg:rs:2") == 1
    finally:
        await slave.aclose()
        nats.close()
        inspector.close()


async def test_a_request_meant_for_an_earlier_worker_is_never_executed(options, broker, host_factory):
    host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    inspector = MT5Bridge(port=broker.port, terminal="s1")
    try:
        await connect(slave)
        # Left in the stream by a core that is gone (another channel): stale intent, not executed.
        stale = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:stale:1")
        payload = protocol.encode("request", id=1, op="open", args={"request": protocol.dataclass_to_wire(stale)},
                                  ch="an-earlier-core")
        await nats.js.publish(options.subject("s1", "req"), payload)
        fresh = await slave.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:stale:2"))
        assert fresh.status is Status.FILLED, fresh
        assert copies_of(inspector, "cg:stale:1") == 0 and copies_of(inspector, "cg:stale:2") == 1
    finally:
        await slave.aclose()
        nats.close()
        inspector.close()


async def test_a_worker_host_with_a_wrong_password_says_so_in_one_line(options, broker, tmp_path):
    store_secret(f"nats:{NATS_USER}", "not-the-password", what="NATS password")
    host = HostProcess(options, broker.port, ["s1"], tmp_path / "host.log").start()
    code = await asyncio.get_running_loop().run_in_executor(None, host.process.wait, 30)
    text = (tmp_path / "host.log").read_text()
    assert code == 1, text
    assert "could not reach the NATS server" in text and "Traceback" not in text, text
    # The server's own reason, which nats-py only hands to its error callback.
    assert f"the server refused user {NATS_USER}'s password" in text, text
    assert "not-the-password" not in text


async def test_a_worker_host_that_cannot_verify_the_hub_s_certificate_says_so_and_stops(options, broker, tmp_path):
    # Waiting cannot cure a certificate that does not verify (unlike a hub out of reach, which a
    # worker host waits for): it ends at once, in one line.
    other, _ = self_signed(tmp_path)
    host = HostProcess(dataclasses.replace(options, ca=str(other)), broker.port, ["s1"], tmp_path / "host.log").start()
    code = await asyncio.get_running_loop().run_in_executor(None, host.process.wait, 30)
    text = (tmp_path / "host.log").read_text()
    assert code == 1, text
    assert "certificate did not verify" in text and "trying again" not in text and "Traceback" not in text, text


async def test_a_worker_host_whose_terminal_closes_stops_in_order(options, broker, host_factory):
    # A closed SSH session sends SIGHUP (on Windows, a closed console or Ctrl-Break): the host ends
    # its workers and exits cleanly rather than dying mid-order.
    host = host_factory(["s1"])
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    try:
        await connect(slave)
        os.kill(host.process.pid, signal.SIGHUP)
        code = await asyncio.get_running_loop().run_in_executor(None, host.process.wait, 15)
        assert code == 0
        await eventually(lambda: slave.state == "disconnected", 5.0, "the core to see the worker go")
    finally:
        await slave.aclose()
        nats.close()
