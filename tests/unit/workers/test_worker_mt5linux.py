"""A running copier's bridge account on an mt5linux server: the worker process the copier drives
the account from speaks rpyc classic to the server (not the copier's bridge protocol), the loopback
rule holds before any worker starts, and a worker config from before the option still reads."""

from __future__ import annotations

import asyncio
import pickle
import sys

import pytest
import rpyc

from copier_gui import secrets
from copier_gui.bridge.mt5linux import MT5LinuxBridge
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.runtime import RuntimeSetupError, open_worker_connection
from copier_gui.settings import AccountSettings
from copier_gui.workers.config import BridgeTerminal
from copier_gui.workers.worker import build_api
from tests.unit.bridge.test_mt5linux import LOGIN, PASSWORD, SERVER, classic_server, terminal  # noqa: F401

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the classic server runs the simulated "
                                                                 "terminal in this process")


def _account(port: int, kind: str = "mt5linux", host: str = "127.0.0.1") -> AccountSettings:
    return AccountSettings(id="wine", role="slave", platform="mt5_bridge", login=LOGIN, server=SERVER,
                           bridge_host=host, bridge_port=port, bridge_kind=kind)


def test_a_worker_process_reads_the_account_through_an_mt5linux_server(terminal):  # noqa: F811
    # The worker is a spawned process: it reaches this process's classic server over TCP, whose
    # MetaTrader5 module is the simulated terminal, and reads the password from the keyring.
    secrets.store_password(secrets.password_key(login=LOGIN, server=SERVER, account_id="wine"), PASSWORD)
    with classic_server(rpyc.SlaveService) as server:
        connection = open_worker_connection(_account(server.port), SYSTEM_CLOCK, poll_s=0.05)
        try:
            info = asyncio.run(asyncio.wait_for(connection.connector.connect(), timeout=60))
            # The worker logged the terminal behind the server in with the keyring's password.
            assert info.login == LOGIN == terminal.account_info().login
        finally:
            connection.close()


def test_the_worker_builds_the_mt5linux_client_its_spec_names():
    api = build_api(BridgeTerminal("127.0.0.1", 18999, timeout_s=7.0, server_kind="mt5linux"))
    assert isinstance(api, MT5LinuxBridge) and (api.port, api.timeout) == (18999, 7.0)
    remote = build_api(BridgeTerminal("192.0.2.7", 18999, server_kind="mt5linux_remote"))
    assert isinstance(remote, MT5LinuxBridge) and remote.host == "192.0.2.7"


def test_a_server_beyond_this_computer_is_refused_before_a_worker_starts():
    with pytest.raises(RuntimeSetupError, match=r"account wine: the mt5linux server at 192\.0\.2\.7:18812 is not "
                                                r"on this computer.*mt5linux_remote"):
        open_worker_connection(_account(18812, host="192.0.2.7"), SYSTEM_CLOCK, poll_s=0.05)
    connection = open_worker_connection(_account(18812, "mt5linux_remote", host="192.0.2.7"), SYSTEM_CLOCK,
                                        poll_s=0.05)
    assert connection.connector.config.terminal.server_kind == "mt5linux_remote"


def test_a_copier_bridge_account_keeps_the_copier_protocol():
    connection = open_worker_connection(_account(18812, "copier"), SYSTEM_CLOCK, poll_s=0.05)
    assert connection.connector.config.terminal == BridgeTerminal("127.0.0.1", 18812)


def test_a_spec_pickled_before_the_option_reads_as_the_copier_bridge():
    spec = BridgeTerminal("127.0.0.1", 18812, terminal="only")
    assert pickle.loads(pickle.dumps(spec)) == spec
    # What an earlier copier pickled: the values of the five fields it had, without server_kind.
    restored = object.__new__(BridgeTerminal)
    restored.__setstate__(("127.0.0.1", 18812, "only", 300.0, None))
    assert restored == spec and restored.server_kind == "copier"
