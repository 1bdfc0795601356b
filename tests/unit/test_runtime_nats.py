"""The runtime for accounts whose workers run on a worker host over NATS: the account's settings
choose a NatsHost (one per bus), the worker's config is the one a local worker would get, and
nothing is contacted until the copier connects. The copy over a real bus is in
tests/integration/test_nats_runtime.py."""

from __future__ import annotations

import sys

import pytest

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.runtime import LinkedTerminals, open_worker_connection, worker_config
from copier_gui.settings import AccountSettings
from copier_gui.workers.config import BridgeTerminal, RealTerminal
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.nats_transport import NatsHost
from copier_gui.workers.transport import PipeHost

BUS = {"url": "tls://hub.example:4222", "user": "copier", "ca": "hub-ca.pem"}


def _account(account_id: str = "vps", *, platform: str = "mt5", role: str = "slave", **kw) -> AccountSettings:
    return AccountSettings(id=account_id, role=role, platform=platform, login=51234567, server="HarborFX-Live2",
                           **kw)


@pytest.fixture
def no_metatrader5(monkeypatch):
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)


def test_an_account_served_over_nats_gets_a_worker_connector_on_a_nats_host(no_metatrader5):
    # The terminal is the worker host's: a core without the MetaTrader5 package (Linux) serves it.
    connection = open_worker_connection(_account(worker_host="nats", nats=BUS), SYSTEM_CLOCK, poll_s=0.01)
    try:
        connector = connection.connector
        assert isinstance(connector, WorkerConnector) and connection.api is None
        assert isinstance(connector._host, NatsHost)
        assert connector._host.options == _account(worker_host="nats", nats=BUS).nats.options()
        assert connector._host.nc is None, "nothing is contacted before the copier connects"
        assert connection.owned is connector._host  # closed with the connection
    finally:
        connection.close()


def test_a_local_account_keeps_its_worker_on_this_computer(monkeypatch):
    monkeypatch.setitem(sys.modules, "MetaTrader5", object())
    connection = open_worker_connection(_account(), SYSTEM_CLOCK, poll_s=0.01)
    assert isinstance(connection.connector._host, PipeHost) and connection.owned is None


def test_the_worker_config_is_the_same_here_and_on_a_worker_host(monkeypatch):
    monkeypatch.setitem(sys.modules, "MetaTrader5", object())
    local = _account("m", role="master")
    remote = _account("m", role="master", worker_host="nats", nats=BUS)
    config = worker_config(local, poll_s=0.02)
    assert isinstance(config.terminal, RealTerminal)
    assert (config.account_id, config.login, config.server, config.poll_idle_s) == ("m", 51234567, "HarborFX-Live2", 0.02)
    assert config.password_key is not None
    connection = open_worker_connection(remote, SYSTEM_CLOCK, poll_s=0.02)
    try:
        assert connection.connector.config == config
    finally:
        connection.close()
    bridged = worker_config(_account(platform="mt5_bridge", bridge_host="10.0.0.5", bridge_port=18900), poll_s=0.02)
    assert bridged.terminal == BridgeTerminal("10.0.0.5", 18900, server_kind="copier")
    assert (bridged.poll_idle_s, bridged.poll_rest_s) == (0.1, 1.0)  # a slave idles slower


def test_worker_config_refuses_what_this_computer_cannot_reach(no_metatrader5):
    from copier_gui.runtime import RuntimeSetupError

    with pytest.raises(RuntimeSetupError, match="MetaTrader 5 terminal not found"):
        worker_config(_account(), poll_s=0.02)
    assert isinstance(worker_config(_account(), poll_s=0.02, check=False).terminal, RealTerminal)


def test_linked_terminals_share_one_nats_connection_per_bus_and_close_it(no_metatrader5):
    terminals = LinkedTerminals(SYSTEM_CLOCK, poll_s=0.01)
    other_bus = {**BUS, "instance": "desk-2"}
    connections = [terminals.connect(_account("a", worker_host="nats", nats=BUS)),
                   terminals.connect(_account("b", platform="mt5_bridge", worker_host="nats", nats=BUS)),
                   terminals.connect(_account("c", worker_host="nats", nats=other_bus))]
    hosts = [c.connector._host for c in connections]
    assert hosts[0] is hosts[1] and hosts[2] is not hosts[0]
    assert hosts[2].options.instance == "desk-2"
    assert all(c.owned is None for c in connections), "the terminals own the shared buses"
    closed = []
    for host in hosts[0], hosts[2]:
        host.close = lambda host=host: closed.append(host)
    for connection in connections:
        connection.close()
    terminals.close()
    assert closed == [hosts[0], hosts[2]]
