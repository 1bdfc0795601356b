"""Settings to a running copier over NATS: accounts whose ``worker_host`` is ``nats`` are built by
``build_runtime`` through ``LinkedTerminals`` into workers on a ``copier-gui worker-host`` process,
against a real nats-server (TLS, user, keyring-held password); a copy goes through, and a stopped
worker host is reported in its own words."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from copier_gui.assembly import build_runtime
from copier_gui.bridge import MT5Bridge
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import tags
from copier_gui.core.copier import LinkState
from copier_gui.paths import user_paths
from copier_gui.runtime import LinkedTerminals
from copier_gui.settings import AccountSettings, Settings
from copier_gui.workers.nats_transport import NatsHost
from tests.integration import test_nats_workers as shared
from tests.kit.nats_server import NATS_USER

# The transport's tests' fixtures and helpers: its nats-server, broker, keyring-held password and
# worker-host processes.
nats_server, broker, options, host_factory = shared.nats_server, shared.broker, shared.options, shared.host_factory
_collect_on_the_main_thread = shared._collect_on_the_main_thread
RULES, connect, eventually = shared.RULES, shared.connect, shared.eventually

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="stops worker hosts with POSIX signals")]


def _settings(options) -> Settings:
    # What `accounts link --worker-host nats` writes: the bus, its user and the CA; the password is
    # in the keyring as nats:USER.
    bus = {"url": options.url, "user": NATS_USER, "ca": options.ca}
    return Settings(accounts=[
        AccountSettings(id="master", role="master", platform="mt5_bridge", worker_host="nats", nats=bus),
        AccountSettings(id="s1", role="slave", platform="mt5_bridge", worker_host="nats", nats=bus, rules=RULES),
    ], poll_interval_ms=5)


async def test_accounts_served_over_nats_in_the_settings_copy_through_a_worker_host(options, broker, host_factory,
                                                                                   tmp_path):
    host = host_factory(["master", "s1"])
    terminals = LinkedTerminals(SYSTEM_CLOCK, poll_s=0.005)
    runtime = build_runtime(_settings(options), user_paths(tmp_path / "home"), SYSTEM_CLOCK, terminals=terminals)
    connectors = {account: c.connector for account, c in runtime.connections.items()}
    trader = MT5Bridge(port=broker.port, terminal="master")
    inspector = MT5Bridge(port=broker.port, terminal="s1")

    def copies(ticket: int) -> int:
        return sum(1 for p in inspector.positions_get() or () if tags.master_ticket_of(p.comment) == ticket)

    details: list[str] = []
    connectors["s1"].subscribe(lambda account, state, detail: details.append(detail))
    try:
        # One bus, one connection: both accounts' workers are reached through the same NatsHost.
        buses = {id(c._host) for c in connectors.values()}
        assert len(buses) == 1 and isinstance(connectors["s1"]._host, NatsHost)
        for connector in connectors.values():
            await connect(connector)  # the host may not have subscribed yet
        await asyncio.wait_for(runtime.copier.start(), 60)
        assert runtime.copier.slaves["s1"].state is LinkState.CONNECTED
        # The bus's client runs on the copier's own loop, not on a thread of its own.
        bus = connectors["s1"]._host
        assert bus.runner.loop is asyncio.get_running_loop() and getattr(bus.runner, "shared", False)
        assert not any(t.name == "nats-core" for t in threading.enumerate())
        assert os.getpid() not in {c.pid for c in connectors.values()}, "the workers run on the worker host"
        assert trader.initialize() and trader.symbol_select("BTCUSD", True)
        result = trader.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": 0,
                                    "price": trader.symbol_info_tick("BTCUSD").ask, "type_filling": 1})
        assert result.retcode == 10009, result
        await eventually(lambda: copies(result.order) == 1, 15.0, "the copy on the slave")
        await asyncio.sleep(0.5)
        assert copies(result.order) == 1
        # Stopped as a service is, the host tells the core, which says so rather than "process exited".
        assert await asyncio.get_running_loop().run_in_executor(None, host.stop) == 0
        gone = "the worker process stopped: the worker host stopped"
        await eventually(lambda: gone in details, 10.0, "the core to see the host go, in its words")
        assert not any("its process exited" in d for d in details), details
    finally:
        await runtime.aclose()
        trader.close()
        inspector.close()
    assert all(host.nc is None for host in {c._host for c in connectors.values()}), "the bus is closed"
