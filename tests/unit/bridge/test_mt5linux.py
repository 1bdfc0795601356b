"""An MT5-bridge account on an mt5linux server: a real rpyc classic server in this process, whose
``MetaTrader5`` module is a simulated terminal, reached by the copier's mt5linux client; the
loopback rule for the password; and what the copier's own bridge client says when it reaches one."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

import numpy as np
import pytest
import rpyc
from rpyc.utils.server import ThreadedServer

from copier_gui.bridge import MT5Bridge, NotABridge
from copier_gui.bridge.handshake import BridgeError
from copier_gui.bridge.mt5linux import MT5LinuxBridge, is_loopback
from copier_gui.bridge.server import make_server, to_plain
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.ports import ConnectorError
from copier_gui.runtime import RuntimeSetupError, terminal_api
from copier_gui.settings import AccountSettings
from copier_gui.sim import new_terminal, structs

PASSWORD = "Cl4ssic-Passw0rd"
LOGIN, SERVER = 801, "MeridianMarkets-Demo"


def _run(server) -> threading.Thread:
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.active:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    return thread


class QuietServer(ThreadedServer):
    """rpyc's threaded server, whose threads end quietly when a client goes away mid-request (the
    copier's TLS attempt, a dropped connection): the server logs it, as mt5linux's would."""

    def _authenticate_and_serve_client(self, sock):
        with contextlib.suppress(EOFError, OSError):
            super()._authenticate_and_serve_client(sock)


@contextlib.contextmanager
def classic_server(service=rpyc.ClassicService, port: int = 0, host: str = "127.0.0.1"):
    """An rpyc classic server on loopback, as mt5linux's server is (without Wine)."""
    server = QuietServer(service, hostname=host, port=port, ipv6=":" in host)
    thread = _run(server)
    try:
        yield server
    finally:
        server.close()
        thread.join(5)


@pytest.fixture
def terminal(monkeypatch):
    # The classic server imports ``MetaTrader5`` in this process: make it the simulated terminal.
    sim = new_terminal("meridian_ecn", seed=4, clock=SYSTEM_CLOCK, login=LOGIN, password=PASSWORD)
    monkeypatch.setitem(sys.modules, "MetaTrader5", sim)
    return sim


# rpyc 6's ``rpyc_classic`` (what mt5linux's mt5server.exe runs) serves SlaveService; ClassicService
# is two-way and asks the client for its own modules on connect.
@pytest.fixture(params=[rpyc.SlaveService, rpyc.ClassicService], ids=["slave", "classic"])
def mt5(terminal, request):
    with classic_server(request.param) as server:
        client = MT5LinuxBridge("127.0.0.1", server.port)
        yield client
        client.close()


# ----------------------------------------------------------------------------- the option

def test_the_module_api_reaches_the_terminal_behind_an_mt5linux_server(mt5, terminal):
    assert mt5.initialize(login=LOGIN, password=PASSWORD, server=SERVER), mt5.last_error()
    account = mt5.account_info()
    assert type(account).__name__ == "AccountInfo" and account.login == LOGIN
    assert account == terminal.account_info()
    assert mt5.symbol_select("BTCUSD", True) is True
    tick = mt5.symbol_info_tick("BTCUSD")
    assert type(tick).__name__ == "Tick" and tick.ask > tick.bid > 0
    result = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "BTCUSD", "volume": np.float64(0.1),
                             "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "type_filling": mt5.ORDER_FILLING_IOC,
                             "magic": np.int64(9), "comment": "mt5linux"})
    assert type(result).__name__ == "OrderSendResult" and result.retcode == 10009, result
    assert type(result.request).__name__ == "TradeRequest" and result.request.volume == 0.1
    (position,) = mt5.positions_get(ticket=result.order)
    assert type(position).__name__ == "TradePosition"
    assert (position.symbol, position.magic, position.comment) == ("BTCUSD", 9, "mt5linux")
    assert [p.ticket for p in terminal.positions_get()] == [result.order]
    rates = mt5.copy_rates_from_pos("BTCUSD", mt5.TIMEFRAME_M1, 0, 3)
    assert rates.dtype.names[:2] == ("time", "open") and len(rates) >= 1
    assert mt5.order_send({"action": 1, "symbol": "BTCUSD", "volume": 1, "type": 0}) is None
    assert mt5.last_error() == (-2, 'Invalid "volume" argument')


def test_results_arrive_as_values_the_server_sent_by_value(mt5, terminal):
    # Converted on the server with the bridge's own rules, so nothing arrives as a remote
    # reference (which would call back to the server at each read) and nothing is unpickled.
    mt5.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
    raw = mt5._remote()("account_info", (), ())
    assert raw == to_plain(terminal.account_info())
    assert "netref" not in repr(type(mt5.account_info()))


def test_nothing_outside_the_module_api_is_called(mt5, terminal):
    with pytest.raises(AttributeError):
        mt5.call("__import__", "os")


@pytest.mark.asyncio
async def test_the_connector_copies_through_an_mt5linux_server(mt5):
    connector = MT5Connector("a", mt5, invoker=InlineInvoker(), clock=SYSTEM_CLOCK, login=LOGIN, server=SERVER,
                             password_provider=lambda: PASSWORD)
    account = await connector.connect()
    assert account.login == LOGIN and account.hedging
    assert (await connector.snapshot()).positions == ()


def test_a_lost_server_is_a_connection_error_and_the_next_call_connects_again(terminal):
    with classic_server() as server:
        port = server.port
        client = MT5LinuxBridge("127.0.0.1", port)
        assert client.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
    with pytest.raises((EOFError, OSError)):
        client.account_info()
    with pytest.raises(ConnectionRefusedError, match=rf"nothing is listening at 127\.0\.0\.1:{port}.*mt5linux"):
        client.account_info()
    server = QuietServer(rpyc.ClassicService, hostname="127.0.0.1", port=port)
    thread = _run(server)
    try:
        # The same terminal behind a restarted server: the connector logs in again all the same.
        assert client.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
        assert client.account_info().login == LOGIN
    finally:
        client.close()
        server.close()
        thread.join(5)


def test_a_server_without_the_metatrader5_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)  # import fails, as without the package
    with classic_server(rpyc.SlaveService) as server:
        client = MT5LinuxBridge("127.0.0.1", server.port)
        with pytest.raises(BridgeError, match=rf"the mt5linux server at 127\.0\.0\.1:{server.port} cannot "
                                              r"import the MetaTrader5 package \(ModuleNotFoundError\)"):
            client.initialize()


def test_the_modules_own_errors_come_back_as_such(mt5):
    assert mt5.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
    with pytest.raises(TypeError):
        mt5.symbol_info(symbol="BTCUSD")  # positional only, as in the real module
    assert mt5.symbol_info("BTCUSD").name == "BTCUSD"  # and the connection is still good


def test_our_bridge_on_that_port_is_named(terminal):
    server = make_server({"alpha": terminal}, secret="s" * 43, port=0)
    thread = _run(server)
    try:
        client = MT5LinuxBridge("127.0.0.1", server.port, connect_timeout=1.0)
        with pytest.raises(NotABridge, match=rf"127\.0\.0\.1:{server.port} is not an mt5linux server"):
            client.initialize()
    finally:
        server.close()
        thread.join(5)


# ----------------------------------------------------------------------------- the password stays local

@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org", "localhost.example.org", ""])
def test_other_addresses_are_not_loopback(host):
    assert not is_loopback(host)


def test_an_ipv6_loopback_server(terminal):
    with classic_server(rpyc.SlaveService, host="::1") as server:
        client = MT5LinuxBridge("::1", server.port)
        assert client.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
        assert client.account_info().login == LOGIN
        client.close()
        bridge = MT5Bridge("::1", server.port, secret=lambda: "s" * 43, handshake_timeout=1.0)
        with pytest.raises(NotABridge, match=rf"an mt5linux server \(rpyc classic\) answered at ::1:{server.port}"):
            bridge.initialize()


def test_a_server_beyond_this_computer_is_refused_before_anything_is_sent():
    with pytest.raises(BridgeError, match=r"192\.168\.1\.10:18812.*in clear.*mt5linux_remote"):
        MT5LinuxBridge("192.168.1.10", 18812)
    assert MT5LinuxBridge("192.168.1.10", 18812, allow_remote=True).host == "192.168.1.10"


def _account(**changes) -> AccountSettings:
    return AccountSettings.model_validate({"id": "linux", "role": "slave", "platform": "mt5_bridge",
                                           "login": LOGIN, "server": SERVER, **changes})


def test_the_account_chooses_the_kind_of_bridge():
    assert _account().bridge_kind == "copier"
    assert isinstance(terminal_api(_account(), SYSTEM_CLOCK), MT5Bridge)
    api = terminal_api(_account(bridge_kind="mt5linux", bridge_port=18813), SYSTEM_CLOCK)
    assert isinstance(api, MT5LinuxBridge) and (api.host, api.port) == ("127.0.0.1", 18813)
    with pytest.raises(RuntimeSetupError, match=r"account linux: .*10\.0\.0\.5:18812.*in clear"):
        terminal_api(_account(bridge_kind="mt5linux", bridge_host="10.0.0.5"), SYSTEM_CLOCK)
    remote = terminal_api(_account(bridge_kind="mt5linux_remote", bridge_host="10.0.0.5"), SYSTEM_CLOCK)
    assert isinstance(remote, MT5LinuxBridge) and remote.host == "10.0.0.5"
    with pytest.raises(ValueError, match="bridge_kind"):
        _account(bridge_kind="zmq")


def test_an_older_settings_file_without_the_field_reads_as_the_copiers_bridge():
    dumped = _account().model_dump(mode="json")
    dumped.pop("bridge_kind")
    assert AccountSettings.model_validate(dumped).bridge_kind == "copier"


# ----------------------------------------------------------------------------- the copier's own client

def test_the_copiers_bridge_client_names_an_mt5linux_server():
    with classic_server(rpyc.SlaveService) as server:
        bridge = MT5Bridge(port=server.port, secret=lambda: "s" * 43, handshake_timeout=1.0)
        with pytest.raises(NotABridge) as failure:
            bridge.initialize()
    message = str(failure.value)
    assert message.startswith(f"an mt5linux server (rpyc classic) answered at 127.0.0.1:{server.port}, "
                              "not a copier_gui bridge: set this account's bridge to mt5linux to use it")
    assert "runs any code" in message and "bridge-mt5linux" in message


def test_an_unencrypted_copier_bridge_and_other_rpyc_services_are_named():
    class MT5Service(rpyc.Service):
        pass

    with classic_server(MT5Service) as server:
        bridge = MT5Bridge(port=server.port, secret=lambda: "s" * 43, handshake_timeout=1.0)
        with pytest.raises(NotABridge, match=rf"an rpyc server of another kind \(service MT5\) answered at "
                                             rf"127\.0\.0\.1:{server.port}"):
            bridge.initialize()


@pytest.mark.asyncio
async def test_the_connector_reports_what_answered_on_the_bridge_port():
    with classic_server() as server:
        bridge = MT5Bridge(port=server.port, secret=lambda: "s" * 43, handshake_timeout=1.0)
        connector = MT5Connector("a", bridge, invoker=InlineInvoker(), clock=SYSTEM_CLOCK, login=LOGIN,
                                 password_provider=lambda: PASSWORD)
        with pytest.raises(ConnectorError) as failure:
            await connector.connect()
    assert f"an mt5linux server (rpyc classic) answered at 127.0.0.1:{server.port}" in failure.value.message
    assert PASSWORD not in failure.value.message


def test_the_servers_conversions_are_the_bridges(monkeypatch):
    # The function defined on an mt5linux server mirrors server.to_plain: same values out.
    from copier_gui.bridge import mt5linux

    namespace: dict = {}
    exec(mt5linux._REMOTE_SOURCE, namespace)  # what the classic server does with it
    request = structs.TradeRequest(tuple(range(17)))
    rates = np.array([(1, 1.5), (2, 2.5)], dtype=[("time", "<i8"), ("close", "<f8")])
    values = (structs.Tick((1, 1.1, 1.2, 0.0, 0, 1000, 6, 0.0)), {"volume": np.float64(0.1), "ok": np.bool_(True)},
              structs.OrderSendResult((10009, 1, 2, 0.1, 1.1, 1.0, 1.2, "done", 3, 0, request)), rates,
              np.arange(3.0), [np.int64(4), None, b"x"])
    for value in values:
        assert repr(namespace["_copier_gui_plain"](value)) == repr(to_plain(value))
    assert namespace["_copier_gui_unplain"](to_plain(({"a": (1, {"b": 2})},))) == ({"a": (1, {"b": 2})},)
