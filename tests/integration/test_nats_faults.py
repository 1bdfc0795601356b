"""A worker host cut off from the NATS server for ten seconds, against a real nats-server: the host
reaches the server through a proxy that resets its link and refuses it while cut, so the host
process and its worker keep running, as on a VPS whose network went down; the core reaches the
server directly. The copier runs throughout, with a second slave on a host that is not cut.

What the copier did is judged from the simulated brokers' own tagged state and deal history, an
oracle apart from its bookkeeping: one copy per slave of each master position open at the end,
none of a closed one, each copy tag filled once; and from its journal: the link seen down while
cut and back after, a reconcile once back, and a reason for every change missed meanwhile.
Requests the core sent as the link went are never executed late, whether the link was reset,
held silent (a route that blackholes, which neither end notices) or the host frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import AsyncIterator

import pytest

from copier_gui.bridge import MT5Bridge
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import tags
from copier_gui.core.copier import Copier, LinkState, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.model import OpenPosition, Side, Status
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.nats_transport import NatsHost
from tests.integration import test_nats_workers as shared
from tests.kit.tcp_cut import TcpCut

# The transport's tests' fixtures and helpers: its nats-server, broker, keyring-held password and
# worker-host processes.
nats_server, broker, options, host_factory = shared.nats_server, shared.broker, shared.options, shared.host_factory
_collect_on_the_main_thread = shared._collect_on_the_main_thread
RULES, connect, eventually, remote, local = shared.RULES, shared.connect, shared.eventually, shared.remote, shared.local

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="freezes a worker host with POSIX signals")]

CUT_S = 10.0
SYMBOL = "BTCUSD"
BUY, SELL = 0, 1


@pytest.fixture
def link(nats_server):
    """The cut-off host's road to the server."""
    with TcpCut("127.0.0.1", nats_server.port) as proxy:
        yield proxy


@pytest.fixture
def cut_host(options, broker, link, tmp_path):
    """A worker host for ``accounts`` that reaches the server only through ``link``."""
    hosts: list[shared.HostProcess] = []
    through = dataclasses.replace(options, url=f"tls://127.0.0.1:{link.port}")

    def make(accounts: list[str]) -> shared.HostProcess:
        host = shared.HostProcess(through, broker.port, accounts, tmp_path / f"cut-host{len(hosts)}.log").start()
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.stop()


class Master:
    """The master's trader, through the broker's bridge as a person at the terminal would."""

    def __init__(self, port: int) -> None:
        self.mt5 = MT5Bridge(port=port, terminal="master")
        assert self.mt5.initialize() and self.mt5.symbol_select(SYMBOL, True)

    def open(self, volume: float) -> int:
        result = self.mt5.order_send({"action": 1, "symbol": SYMBOL, "volume": volume, "type": BUY,
                                      "price": self.mt5.symbol_info_tick(SYMBOL).ask, "type_filling": 1})
        assert result.retcode == 10009, result
        return result.order

    def close(self, ticket: int, volume: float | None = None) -> None:
        (position,) = self.mt5.positions_get(ticket=ticket)
        result = self.mt5.order_send({"action": 1, "symbol": SYMBOL, "volume": volume or position.volume,
                                      "type": SELL, "position": ticket, "type_filling": 1,
                                      "price": self.mt5.symbol_info_tick(SYMBOL).bid})
        assert result.retcode == 10009, result

    def held(self) -> dict[int, float]:
        return {p.ticket: p.volume for p in self.mt5.positions_get() or ()}


class Oracle:
    """One slave's account as its broker holds it: copies by master ticket, and its deal history."""

    def __init__(self, port: int, account: str) -> None:
        self.account = account
        self.mt5 = MT5Bridge(port=port, terminal=account)

    def copies(self) -> dict[int, list[float]]:
        held: dict[int, list[float]] = {}
        for p in self.mt5.positions_get() or ():
            ticket = tags.master_ticket_of(p.comment)
            if ticket is not None:
                held.setdefault(ticket, []).append(p.volume)
        return held

    def count(self, ticket: int) -> int:
        return len(self.copies().get(ticket, ()))

    def entries(self) -> dict[int, int]:
        """How many times each copy tag was filled: entry deals per master ticket."""
        filled: dict[int, int] = {}
        for deal in self.mt5.history_deals_get(0, 2**31 - 1) or ():
            ticket = tags.master_ticket_of(deal.comment)
            if deal.entry == 0 and ticket is not None:
                filled[ticket] = filled.get(ticket, 0) + 1
        return filled

    def exits(self, ticket: int) -> list[float]:
        """The volumes of the exit deals of this slave's copies of master ``ticket``."""
        deals = self.mt5.history_deals_get(0, 2**31 - 1) or ()
        positions = {d.position_id for d in deals if d.entry == 0 and tags.master_ticket_of(d.comment) == ticket}
        return [d.volume for d in deals if d.entry == 1 and d.position_id in positions]

    def close(self) -> None:
        self.mt5.close()


def assert_exact(oracle: Oracle, master_open: set[int], master_closed: set[int]) -> None:
    copies = oracle.copies()
    assert {t: len(v) for t, v in copies.items() if t in master_open} == dict.fromkeys(master_open, 1), \
        f"{oracle.account}: one copy of each open master position, got {copies}"
    assert not set(copies) & master_closed, f"{oracle.account}: copies of closed master positions remain: {copies}"
    filled = oracle.entries()
    assert all(n == 1 for n in filled.values()), f"{oracle.account}: a copy tag filled more than once: {filled}"


class StateLog:
    """The core's view of one slave, sampled all along: the copier's link state and the connector's."""

    def __init__(self, copier: Copier, account: str, connector) -> None:
        self.samples: list[tuple[float, LinkState, str]] = []
        self._copier, self._account, self._connector = copier, account, connector
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), self._copier.slaves[self._account].state, self._connector.state))
            await asyncio.sleep(0.05)

    def between(self, start: float, end: float) -> set[tuple[LinkState, str]]:
        return {(s, c) for t, s, c in self.samples if start <= t <= end}

    def stop(self) -> None:
        self._task.cancel()


@dataclasses.dataclass
class Rig:
    """A copier from a local master to s1 (on the host that is cut off) and s2 (on one that is not)."""

    copier: Copier
    slaves: dict[str, WorkerConnector]
    journal: Journal
    trader: Master
    oracles: dict[str, Oracle]
    link: TcpCut
    host: shared.HostProcess  # s1's

    def cut(self, how: str) -> None:
        """Take s1's host off the bus: its link reset or held silent, or the host itself frozen."""
        if how == "frozen":
            os.kill(self.host.process.pid, signal.SIGSTOP)
        else:
            self.link.cut(hold=how == "held")

    def restore(self, how: str) -> None:
        if how == "frozen":
            os.kill(self.host.process.pid, signal.SIGCONT)
        else:
            self.link.restore()

    def in_master(self, ticket: int) -> bool:
        return any(p.ticket == ticket for p in self.copier.master_snapshot.positions)

    def s1_idle(self) -> bool:
        """s1 has no pass running and nothing in flight: the copy at its broker is known to the core
        too, so what is in flight after this is the next request, not a reply still on its way."""
        lock = self.copier.slaves["s1"].lock
        return not self.slaves["s1"].in_flight() and lock is not None and not lock.locked()

    def s1_state(self) -> LinkState:
        return self.copier.slaves["s1"].state

    def since(self, mono: float) -> list:
        return [e for e in self.journal.entries(account="s1", newest_first=False) if e.mono >= mono]


@contextlib.asynccontextmanager
async def copying(options, broker, host_factory, cut_host, link) -> AsyncIterator[Rig]:
    host = cut_host(["s1"])
    host_factory(["s2"])
    nats = NatsHost(options)
    master = local("master", broker.port)
    slaves = {sid: remote(sid, nats, broker.port) for sid in ("s1", "s2")}
    journal = Journal(None, SYSTEM_CLOCK)
    copier = Copier(master, [SlaveLink(sid, c, RULES) for sid, c in slaves.items()], journal=journal,
                    clock=SYSTEM_CLOCK, copybook=CopyBook(None), poll_interval_s=0.005, reconcile_interval_s=0.3,
                    backoff_s=(0.1, 0.2, 0.5))
    trader = Master(broker.port)
    oracles = {sid: Oracle(broker.port, sid) for sid in slaves}
    try:
        for connector in slaves.values():
            await connect(connector)
        await asyncio.wait_for(copier.start(), 60)
        yield Rig(copier, slaves, journal, trader, oracles, link, host)
    finally:
        copier.abandon()
        for connector in (master, *slaves.values()):
            await connector.aclose()
        nats.close()
        trader.mt5.close()
        for oracle in oracles.values():
            oracle.close()
        journal.close()


async def test_a_worker_host_cut_off_for_ten_seconds_loses_and_duplicates_nothing(options, broker, host_factory,
                                                                                 cut_host, link):
    async with copying(options, broker, host_factory, cut_host, link) as rig:
        copier, trader, s1, s2 = rig.copier, rig.trader, rig.oracles["s1"], rig.oracles["s2"]
        states = StateLog(copier, "s1", rig.slaves["s1"])
        try:
            held_long = trader.open(0.1)  # closed while cut
            halved = trader.open(0.2)  # half closed while cut
            await eventually(lambda: all(o.count(held_long) == 1 and o.count(halved) == 1 for o in (s1, s2)),
                             15.0, "the first copies on both slaves")
            await eventually(rig.s1_idle, 5.0, "s1's copies known to the core")
            before_half, before_long = s1.copies()[halved][0], s1.copies()[held_long][0]

            # An entry at s1's broker when the link goes: its reply is lost with it.
            broker.control("s1", "trade_latency_ms", 600)
            in_flight = trader.open(0.1)
            await eventually(lambda: "open" in rig.slaves["s1"].in_flight(), 5.0, "s1's copy in flight")
            await asyncio.sleep(0.15)
            cut_at = time.monotonic()
            link.cut()
            await eventually(lambda: rig.s1_state() is LinkState.DISCONNECTED, 8.0, "the copier to see s1 gone")
            seen_down = time.monotonic()
            broker.control("s1", "trade_latency_ms", 0)

            # The master goes on trading while s1 is cut off; s2 follows at once.
            trader.close(held_long)
            trader.close(halved, 0.1)
            missed_entry = trader.open(0.1)
            round_trip = trader.open(0.1)
            await eventually(lambda: rig.in_master(round_trip), 5.0, "the copier to see the round trip open")
            trader.close(round_trip)
            await eventually(lambda: not rig.in_master(round_trip) and not rig.in_master(held_long), 5.0,
                             "the copier to see the closes")
            await eventually(lambda: s2.count(missed_entry) == 1 and s2.count(held_long) == 0, 10.0,
                             "s2, not cut off, to follow meanwhile")
            assert s1.count(held_long) == 1 and s1.count(missed_entry) == 0, "s1 followed while cut off?"

            await asyncio.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))
            assert link.refused > 0, "the host did not try to come back while cut"
            link.restore()
            restored = time.monotonic()

            open_now, closed = {missed_entry, halved, in_flight}, {held_long, round_trip}
            assert set(trader.held()) == open_now

            def converged() -> bool:
                copies = s1.copies()
                return (rig.s1_state() is LinkState.CONNECTED and set(copies) == open_now
                        and all(len(v) == 1 for v in copies.values())
                        and abs(copies[halved][0] - before_half / 2) < 1e-9)

            await eventually(converged, 20.0, "s1 reconciled with the master after the cut")
            await asyncio.sleep(1.5)  # reconcile passes and redeliveries: still exactly one each
            for oracle in (s1, s2):
                assert_exact(oracle, open_now, closed)
            assert s1.exits(held_long) == [pytest.approx(before_long)], "the closed position's copy left once"
            assert s1.exits(halved) == [pytest.approx(before_half / 2)], "the partial close went once"
            assert round_trip not in s1.entries(), "a round trip made while cut off was copied"

            # The core's view: down while cut, connected once back.
            while_cut = states.between(seen_down, restored)
            assert {s for s, _ in while_cut} == {LinkState.DISCONNECTED}, while_cut
            assert {c for _, c in while_cut} <= {"disconnected", "connecting"}, while_cut
            assert rig.slaves["s1"].state == "connected" and copier.slaves["s2"].state is LinkState.CONNECTED
            assert all(s is LinkState.CONNECTED for t, s, _ in states.samples if t < cut_at), "s1 down before the cut"
        finally:
            states.stop()

        # The journal: down, back, reconciled, and a reason for each change missed while cut.
        after_cut = rig.since(cut_at)
        texts = [e.message for e in after_cut]
        down, up = went_down_and_back(after_cut)
        assert any(e.kind == "plan" and "(reconnect)" in e.message for e in after_cut[up:]), texts
        reasons = reasons_by_ticket(after_cut, down, up)
        for ticket in (held_long, halved, missed_entry, round_trip):
            assert any(r.startswith("cut: ") for r in reasons.get(ticket, ())), \
                f"no reason journaled while cut for master #{ticket}: {texts}"
        assert any("not copied yet: s1 is disconnected" in r for r in reasons[missed_entry]), reasons
        assert any("not followed yet: s1 is disconnected" in r for r in reasons[held_long]), reasons
        assert any("not followed yet: s1 is disconnected" in r for r in reasons[halved]), reasons
        assert any(r.startswith("back: not copied: ") and "opened and closed at the master while s1 was "
                   "disconnected" in r for r in reasons[round_trip]), reasons


async def test_exits_sent_as_the_link_goes_are_made_once_after_it_is_back(options, broker, host_factory, cut_host,
                                                                         link):
    async with copying(options, broker, host_factory, cut_host, link) as rig:
        trader, s1 = rig.trader, rig.oracles["s1"]
        halved = trader.open(0.2)
        await eventually(lambda: s1.count(halved) == 1, 15.0, "the copy on s1")
        await eventually(rig.s1_idle, 5.0, "s1's copy known to the core")
        before = s1.copies()[halved][0]
        cut_at = time.monotonic()
        link.cut()
        # At once, before the core can know: the copier acts on the partial close, and what it sends
        # (the close, or a read of s1's positions first when the last one pushed is too old) goes
        # to the bus, where the cut-off host cannot take it. An entry follows once s1 is known gone.
        trader.close(halved, 0.1)
        await eventually(lambda: rig.s1_state() is LinkState.DISCONNECTED, 8.0, "the copier to see s1 gone")
        entered = trader.open(0.1)
        await asyncio.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))
        assert s1.copies()[halved] == [before], "s1 followed while cut off?"
        link.restore()

        def converged() -> bool:
            copies = s1.copies()
            return (rig.s1_state() is LinkState.CONNECTED and copies.get(halved) == [pytest.approx(before / 2)]
                    and len(copies.get(entered, ())) == 1)

        await eventually(converged, 20.0, "s1 reconciled with the master after the cut")
        await asyncio.sleep(2.0)  # the bus's redeliveries, the host's restart, reconcile passes
        assert_exact(s1, {halved, entered}, set())
        assert s1.copies()[halved] == [pytest.approx(before / 2)]
        assert s1.exits(halved) == [pytest.approx(before / 2)], "the partial close was made more than once"
        after_cut = rig.since(cut_at)
        down, up = went_down_and_back(after_cut)
        reasons = reasons_by_ticket(after_cut, down, up)
        assert any(r.startswith("cut: not followed yet: s1 is disconnected") for r in reasons.get(halved, ())), \
            reasons
        assert any(r.startswith("cut: not copied yet: s1 is disconnected") for r in reasons.get(entered, ())), \
            reasons
        # The exit was made by the core's reconcile once s1 was back, not by the request it gave up on.
        closes = [e for e in after_cut[up:] if e.kind == "request" and e.message.startswith("close ")]
        assert len(closes) == 1 and "master position reduced" in closes[0].message, [e.message for e in after_cut]


@pytest.mark.parametrize("how", ["reset", "held", "frozen"])
async def test_an_entry_sent_as_the_link_goes_is_not_opened_after_the_master_closed_it(options, broker, host_factory,
                                                                                      cut_host, link, how):
    async with copying(options, broker, host_factory, cut_host, link) as rig:
        trader, s1, s2 = rig.trader, rig.oracles["s1"], rig.oracles["s2"]
        kept = trader.open(0.1)
        await eventually(lambda: s1.count(kept) == 1, 15.0, "the copy on s1")
        await eventually(rig.s1_idle, 5.0, "s1's copy known to the core")
        cut_at = time.monotonic()
        rig.cut(how)
        # At once, before the core can know: the copy's entry goes to the bus, where the cut-off
        # host cannot take it. The master closes the position while the host is cut off.
        gone = trader.open(0.1)
        await eventually(lambda: "open" in rig.slaves["s1"].in_flight(), 5.0, "s1's entry sent")
        await eventually(lambda: rig.s1_state() is LinkState.DISCONNECTED, 8.0, "the copier to see s1 gone")
        await eventually(lambda: s2.count(gone) == 1, 5.0, "s2's copy")
        trader.close(gone)
        await eventually(lambda: not rig.in_master(gone) and s2.count(gone) == 0, 5.0, "s2 to follow the exit")
        await asyncio.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))
        rig.restore(how)
        await eventually(lambda: rig.s1_state() is LinkState.CONNECTED, 20.0, "s1 back")
        await asyncio.sleep(2.0)  # the bus's redeliveries, the host's restart, reconcile passes
        # The copier journaled the position as never copied; the slave never traded it.
        assert gone not in s1.entries(), "a request the core gave up on was executed after the cut"
        assert_exact(s1, {kept}, {gone})
        after_cut = rig.since(cut_at)
        reasons = reasons_by_ticket(after_cut, 0, len(after_cut))
        assert any("opened and closed at the master while s1 was disconnected" in r for r in reasons.get(gone, ())), \
            [f"{e.mono - cut_at:.2f} {e.kind} {e.message}" for e in after_cut]


def went_down_and_back(entries: list) -> tuple[int, int]:
    """Where in ``entries`` s1's link was journaled down, and then connected again."""
    texts = [e.message for e in entries]
    down = next((i for i, e in enumerate(entries) if e.kind == "state" and e.message.startswith("s1 disconnected")),
                None)
    assert down is not None, f"s1 never journaled disconnected: {texts}"
    up = next((i for i, e in enumerate(entries[down:], start=down) if e.kind == "state"
               and e.message == "s1 connected"), None)
    assert up is not None, f"s1 never journaled connected again: {texts}"
    return down, up


def reasons_by_ticket(entries: list, down: int, up: int) -> dict[int, list[str]]:
    """The refusals journaled from ``down`` on, by master ticket, each marked cut: or back:."""
    reasons: dict[int, list[str]] = {}
    for i, e in enumerate(entries[down:], start=down):
        if e.kind == "refusal":
            reasons.setdefault(e.data.get("master_ticket"), []).append(("cut: " if i < up else "back: ") + e.message)
    return reasons


async def test_a_worker_host_started_while_the_hub_is_out_of_reach_waits_for_it(options, broker, cut_host, link,
                                                                               tmp_path):
    # A VPS rebooting starts its worker host before its network is up, or while the hub restarts.
    # It used to give up after a few attempts and exit, and the account stayed down until someone
    # (or a service manager's restart) started it again. It waits for the hub instead, saying so.
    link.cut()
    host = cut_host(["s1"])
    await asyncio.sleep(4.0)
    log = (tmp_path / "cut-host0.log").read_text()
    assert host.process.poll() is None, f"the worker host gave up: {log}"
    assert "could not reach the NATS server" in log and "trying again" in log and "Traceback" not in log, log
    link.restore()
    nats = NatsHost(options)
    slave = remote("s1", nats, broker.port)
    oracle = Oracle(broker.port, "s1")
    try:
        await connect(slave, timeout=60.0)
        report = await slave.open(OpenPosition(SYMBOL, Side.BUY, 0.1, 0.0, 0.0, 5, "cg:late:1"))
        assert report.status is Status.FILLED, report.message
        assert sum(1 for p in oracle.mt5.positions_get() or () if p.comment == "cg:late:1") == 1
    finally:
        await slave.aclose()
        nats.close()
        oracle.close()
