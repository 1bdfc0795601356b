"""The copier with every terminal behind a worker process: crashes mid-order, secrets, the demo.

The simulated broker runs in its own process behind the RPyC bridge, as terminal64.exe does in
production, so a worker killed mid-order leaves the order to complete at the broker.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import sys

import keyring.core
import pytest
from keyrings.alt.file import PlaintextKeyring

from copier_gui.bridge import MT5Bridge
from copier_gui.bridge.simulated import BrokerProcess
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import tags
from copier_gui.core.copier import Copier, LinkState, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.model import OpenPosition, Side
from copier_gui.core.ports import ConnectorError
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.demo.rig import build_demo_runtime
from copier_gui.paths import user_paths
from copier_gui.secrets import password_key, store_password
from copier_gui.sim.ctrader import CTRADER_PROFILES
from copier_gui.workers.config import BridgeTerminal, SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from tests.kit.workers import RecordingHost

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="kills workers with POSIX signals")]

@pytest.fixture(autouse=True)
def _collect_on_the_main_thread():
    # These tests start threads; leftovers of earlier Qt tests are collected here, on the main
    # thread, so a collection triggered on another thread never finalizes a Qt object.
    gc.collect()


RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))


async def eventually(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def worker(account_id: str, port: int, *, idle: float = 0.02, **kw) -> WorkerConnector:
    config = WorkerConfig(account_id, BridgeTerminal(port=port, terminal=account_id), poll_idle_s=idle,
                          heartbeat_s=0.05, **kw)
    # Short limits: a test that cannot start its workers must fail, not wait for minutes.
    return WorkerConnector(config, hello_timeout_s=30, request_timeout_s=30)


async def start(copier: Copier) -> None:
    # Copier.start retries a master that does not connect for ever; a test must not.
    await asyncio.wait_for(copier.start(), 60)


def buy(trader: MT5Bridge, symbol: str = "BTCUSD", volume: float = 0.1) -> int:
    assert trader.symbol_select(symbol, True)
    result = trader.order_send({"action": 1, "symbol": symbol, "volume": volume, "type": 0,
                                "price": trader.symbol_info_tick(symbol).ask, "type_filling": 1})
    assert result is not None and result.retcode == 10009, (result, trader.last_error())
    return result.order


def close(trader: MT5Bridge, ticket: int) -> None:
    (position,) = trader.positions_get(ticket=ticket)
    result = trader.order_send({"action": 1, "symbol": position.symbol, "volume": position.volume, "type": 1,
                                "position": ticket, "price": trader.symbol_info_tick(position.symbol).bid,
                                "type_filling": 1})
    assert result.retcode == 10009, result


async def test_a_slave_worker_killed_mid_order_leaves_no_duplicate_and_no_orphan():
    specs = {"master": SimTerminal("meridian_ecn", seed=5, account={"login": 100}),
             "s1": SimTerminal("harbor_fx", seed=5, account={"login": 101}),
             "s2": SimTerminal("apex_prop", seed=5, account={"login": 102})}
    with BrokerProcess(specs) as broker:
        # s1's broker takes 400 ms per order: long enough to kill its worker while one is out.
        broker.control("s1", "trade_latency_ms", 400)
        master = worker("master", broker.port, idle=0.005)
        slaves = {sid: worker(sid, broker.port) for sid in ("s1", "s2")}
        journal = Journal(None, SYSTEM_CLOCK)
        copier = Copier(master, [SlaveLink(sid, c, RULES) for sid, c in slaves.items()], journal=journal,
                        clock=SYSTEM_CLOCK, copybook=CopyBook(None), poll_interval_s=0.005,
                        reconcile_interval_s=0.3, backoff_s=(0.1, 0.2, 0.5))
        trader = MT5Bridge(port=broker.port, terminal="master")
        inspectors = {sid: MT5Bridge(port=broker.port, terminal=sid) for sid in slaves}

        def copies(sid: str, ticket: int) -> int:
            held = inspectors[sid].positions_get() or ()
            return sum(1 for p in held if tags.master_ticket_of(p.comment) == ticket)

        try:
            assert trader.initialize()
            await start(copier)
            victim = slaves["s1"].pid
            ticket = buy(trader)
            await eventually(lambda: "open" in slaves["s1"].in_flight(), 5.0, "s1's copy order to go out")
            os.kill(victim, signal.SIGKILL)
            await eventually(lambda: copier.slaves["s1"].state is LinkState.DISCONNECTED, 5.0, "s1 disconnected")
            await eventually(lambda: copier.slaves["s1"].state is LinkState.CONNECTED, 15.0, "s1 reconnected")
            assert slaves["s1"].pid not in (None, victim) and slaves["s1"].restarts == 1
            await eventually(lambda: copies("s1", ticket) == 1 and copies("s2", ticket) == 1, 10.0, "one copy each")
            await asyncio.sleep(1.0)  # several reconcile passes: still exactly one copy each
            assert (copies("s1", ticket), copies("s2", ticket)) == (1, 1)
            # And s1 holds the order sent before the kill: the copier never sent a second one.
            orders = inspectors["s1"].history_orders_get(0, int(SYSTEM_CLOCK.time()) + 2 * 86400) or ()
            assert sum(1 for o in orders if tags.master_ticket_of(o.comment) == ticket) == 1

            close(trader, ticket)
            await eventually(lambda: copies("s1", ticket) == 0 and copies("s2", ticket) == 0, 10.0, "no orphan")
            states = [e.message for e in journal.entries(kind="state", account="s1")]
            assert any("disconnected" in s and "stopped during open" in s for s in states), states
        finally:
            copier.abandon()
            for connector in (master, *slaves.values()):
                await connector.aclose()
            for client in (trader, *inspectors.values()):
                client.close()
            journal.close()


async def test_a_copy_s_deals_come_with_its_fill_not_from_a_read_of_its_own():
    # After every fill the copier journals the position's deals as the broker booked them. A worker
    # reads them with the trade and its reply carries them: no request and reply per copy more.
    specs = {"master": SimTerminal("meridian_ecn", seed=5, account={"login": 100}),
             "hedging": SimTerminal("harbor_fx", seed=5, account={"login": 101}),
             "netting": SimTerminal("summit_netting", seed=5, account={"login": 102})}
    with BrokerProcess(specs) as broker:
        master = worker("master", broker.port, idle=0.005)
        hosts = {sid: RecordingHost() for sid in ("hedging", "netting")}
        slaves = {sid: WorkerConnector(WorkerConfig(sid, BridgeTerminal(port=broker.port, terminal=sid),
                                                    poll_idle_s=0.02, heartbeat_s=0.05),
                                       host=hosts[sid], hello_timeout_s=30, request_timeout_s=30)
                  for sid in hosts}
        journal = Journal(None, SYSTEM_CLOCK)
        copier = Copier(master, [SlaveLink(sid, c, RULES) for sid, c in slaves.items()], journal=journal,
                        clock=SYSTEM_CLOCK, copybook=CopyBook(None), poll_interval_s=0.005,
                        reconcile_interval_s=3600)
        trader = MT5Bridge(port=broker.port, terminal="master")
        inspectors = {sid: MT5Bridge(port=broker.port, terminal=sid) for sid in slaves}

        def booked(sid: str) -> list:
            return [e for e in journal.entries(kind="deals", account=sid)]

        try:
            assert trader.initialize()
            await start(copier)
            ticket = buy(trader)
            await eventually(lambda: all(booked(sid) for sid in slaves), 10.0, "each copy's deals journaled")
            for sid, host in hosts.items():
                reads = [data for direction, data in host.wire
                         if direction == "to_worker" and b'"op":"position_deals"' in data]
                assert reads == [], (sid, reads)
                (entry,) = booked(sid)
                (deal,) = [d for d in inspectors[sid].history_deals_get(0, int(SYSTEM_CLOCK.time()) + 2 * 86400)
                           if tags.master_ticket_of(d.comment) == ticket]
                assert entry.data["master_ticket"] == ticket and entry.data["position"] == deal.position_id
                assert entry.data["deals"] == [["buy", deal.volume, deal.price, deal.commission + deal.fee,
                                                deal.swap, deal.profit]]
        finally:
            copier.abandon()
            for connector in (master, *slaves.values()):
                await connector.aclose()
            for client in (trader, *inspectors.values()):
                client.close()
            journal.close()


async def test_the_password_never_crosses_the_worker_channel_nor_reaches_a_log(caplog, capfd):
    secret = "Pa55-w0rd-7f3e91"
    wrong = "Wr0ng-pa55-c41d07"
    specs = {"acct": SimTerminal("meridian_ecn", seed=6, account={"login": 600, "password": secret})}
    # The worker is another process: it finds the keyring through the environment the test home
    # set, so store where a fresh backend looks.
    keyring.core.set_keyring(PlaintextKeyring())
    key = password_key(login=600, server="MeridianMarkets-Demo", account_id="acct")
    store_password(key, secret)
    store_password("acct-wrong", wrong)
    caplog.set_level(logging.DEBUG)
    with BrokerProcess(specs) as broker:
        host = RecordingHost()
        good = WorkerConfig("acct", BridgeTerminal(port=broker.port, terminal="acct"), login=600,
                            server="MeridianMarkets-Demo", password_key=key, log_level=logging.DEBUG,
                            heartbeat_s=0.05)
        bad = WorkerConfig("acct", BridgeTerminal(port=broker.port, terminal="acct"), login=600,
                           server="MeridianMarkets-Demo", password_key="acct-wrong", log_level=logging.DEBUG)
        assert secret.encode() not in pickle.dumps(good)  # what spawn hands the new process
        connector = WorkerConnector(good, host=host, hello_timeout_s=30, request_timeout_s=30)
        refused = WorkerConnector(bad, host=host, hello_timeout_s=30, request_timeout_s=30)
        try:
            account = await connector.connect()  # only the right password logs in
            assert account.login == 600
            report = await connector.open(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1"))
            assert report.status.ok, report.message
            await connector.snapshot()
            await connector.close_session()
            await connector.connect()
            with pytest.raises(ConnectorError, match="login failed for account 600"):
                await refused.connect()
        finally:
            await connector.aclose()
            await refused.aclose()
    wire = host.all_bytes()
    assert len(wire) > 1000 and b"acct" in wire  # the recording did see the traffic
    for password in (secret, wrong):
        assert password.encode() not in wire
        assert password.encode("utf-16-le") not in wire
        for record in caplog.records:
            assert password not in record.getMessage()
            assert password not in str(record.exc_text or "")
        out, err = capfd.readouterr()
        assert password not in out and password not in err
    assert any("connected to account 600" in r.getMessage() for r in caplog.records)  # worker logs arrived


async def test_the_demo_copies_through_worker_processes(tmp_path):
    runtime, rig = build_demo_runtime(3, user_paths(tmp_path / "home"), seed=3, workers=True, strategy_interval_s=0.15)
    copier = runtime.copier
    notices = []
    copier.subscribe(notices.append)
    # MT5 terminals live in workers; the cTrader slave's connector is network code on the loop.
    mt5 = [a for a in [rig.master, *rig.slaves] if a.profile not in CTRADER_PROFILES]
    ctrader = [a for a in rig.slaves if a.profile in CTRADER_PROFILES]
    try:
        assert all(isinstance(a.connector, WorkerConnector) for a in mt5) and len(mt5) == 3
        assert [type(a.connector).__name__ for a in ctrader] == ["CTraderConnector"]
        await asyncio.wait_for(runtime.start(), timeout=30)
        pids = {a.connector.pid for a in mt5}
        assert len(pids) == 3 and os.getpid() not in pids
        copied = lambda sid: sum(1 for n in notices if n.kind == "copy" and n.account == sid)  # noqa: E731
        await eventually(lambda: all(copied(f"slave-{i}") >= 2 for i in (1, 2, 3)), 20.0, "copies at every slave")
    finally:
        await runtime.aclose()
    assert all(a.connector.pid is None for a in mt5)
