"""The Linux bridge with the real rpyc library: a broker process hosting simulated terminals on
loopback, the client object that speaks the MetaTrader5 API to it, and the value conversions."""

from __future__ import annotations

import datetime as dt
import sys

import keyring.core
import numpy as np
import pytest
from keyrings.alt.file import PlaintextKeyring

from copier_gui.bridge import MT5Bridge
from copier_gui.bridge.server import (
    TAG_DICT,
    TAG_STRUCT,
    check_loopback,
    from_plain,
    make_server,
    to_plain,
)
from copier_gui.bridge.simulated import BrokerProcess
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.ports import ConnectorError
from copier_gui.sim import structs
from copier_gui.sim.structs import STRUCT_TYPES, fields_of
from copier_gui.workers.config import SimTerminal

PASSWORD = "br1dge-Secret"
SPECS = {
    "alpha": SimTerminal("meridian_ecn", seed=2, account={"login": 501, "password": PASSWORD}),
    "beta": SimTerminal("summit_netting", seed=2, account={"login": 502}),
}


@pytest.fixture(scope="module")
def broker_process(tmp_path_factory):
    # Set up before any test's own isolation, so it brings its own: folders and a keyring in a
    # temp folder, which the broker process finds through the environment.
    root = tmp_path_factory.mktemp("broker-user")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
                     "COPIER_GUI_HOME", "APPDATA", "LOCALAPPDATA"):
            (root / name).mkdir()
            mp.setenv(name, str(root / name))
        mp.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
        backend = PlaintextKeyring()
        backend.file_path = backend.file_path
        mp.setattr(keyring.core, "_keyring_backend", None)
        keyring.core.set_keyring(backend)
        with BrokerProcess(SPECS) as running:
            yield running


@pytest.fixture
def broker(broker_process):
    # Each test has a keyring of its own: pair it with the broker, as a trader would.
    broker_process.pair()
    return broker_process


@pytest.fixture
def alpha(broker):
    client = MT5Bridge(port=broker.port, terminal="alpha")
    assert client.initialize(login=501, password=PASSWORD, server="MeridianMarkets-Demo"), client.last_error()
    yield client
    client.close()


# ----------------------------------------------------------------------------- conversions

def test_structs_dicts_and_numpy_values_become_plain_and_come_back():
    tick = structs.Tick((1, 1.1, 1.2, 0.0, 0, 1000, 6, 0.0))
    request = structs.TradeRequest(tuple(range(17)))
    result = structs.OrderSendResult((10009, 1, 2, 0.1, 1.1, 1.0, 1.2, "done", 3, 0, request))
    plain = to_plain((tick, {"volume": np.float64(0.1), "magic": np.int64(7), "ok": np.bool_(True)}, result))
    assert plain[0][0] == TAG_STRUCT and plain[1][0] == TAG_DICT
    flat = repr(plain)
    assert "np." not in flat and "numpy" not in flat
    back = from_plain(plain, STRUCT_TYPES)
    assert type(back[0]).__name__ == "Tick" and back[0].ask == 1.2
    assert back[1] == {"volume": 0.1, "magic": 7, "ok": True}
    assert type(back[1]["volume"]) is float and type(back[1]["magic"]) is int
    assert type(back[2].request).__name__ == "TradeRequest" and back[2].request.symbol == 3


def test_arrays_and_datetimes_cross_the_bridge():
    rates = np.array([(1, 1.5), (2, 2.5)], dtype=[("time", "<i8"), ("close", "<f8")])
    back = from_plain(to_plain(rates))
    assert back.dtype.names == ("time", "close") and back["close"].tolist() == [1.5, 2.5]
    when = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    assert to_plain(when) == int(when.timestamp())
    with pytest.raises(TypeError):
        to_plain(object())


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_the_server_refuses_to_listen_beyond_loopback_unless_told(host):
    with pytest.raises(ValueError, match="loopback only"):
        check_loopback(host)
    with pytest.raises(ValueError, match="--allow-remote"):
        make_server({"x": object()}, secret="s" * 43, host=host, port=0)


# ----------------------------------------------------------------------------- round trips

def test_round_trip_with_real_field_names(alpha):
    account = alpha.account_info()
    assert type(account).__name__ == "AccountInfo" and account.login == 501
    assert list(account._asdict()) == list(fields_of(structs.AccountInfo))
    assert alpha.positions_get() == ()
    assert alpha.last_error() == (1, "Success")
    assert alpha.symbol_select("BTCUSD", True) is True
    tick = alpha.symbol_info_tick("BTCUSD")
    # numpy float64 arguments, as pandas-based strategies pass them.
    result = alpha.order_send({"action": alpha.TRADE_ACTION_DEAL, "symbol": "BTCUSD", "volume": np.float64(0.1),
                               "type": alpha.ORDER_TYPE_BUY, "price": np.float64(tick.ask),
                               "type_filling": alpha.ORDER_FILLING_IOC, "magic": np.int64(9), "comment": "bridge"})
    assert type(result).__name__ == "OrderSendResult" and result.retcode == 10009, result
    assert type(result.request).__name__ == "TradeRequest" and result.request.volume == 0.1
    (position,) = alpha.positions_get(ticket=result.order)
    assert type(position).__name__ == "TradePosition"
    assert (position.symbol, position.magic, position.comment) == ("BTCUSD", 9, "bridge")
    assert list(position._asdict()) == list(fields_of(structs.TradePosition))
    rates = alpha.copy_rates_from_pos("BTCUSD", alpha.TIMEFRAME_M1, 0, 3)
    assert rates.dtype.names[:2] == ("time", "open")


def test_argument_rules_and_errors_are_the_modules(alpha):
    assert alpha.order_send({"action": 1, "symbol": "BTCUSD", "volume": 1, "type": 0}) is None
    assert alpha.last_error() == (-2, 'Invalid "volume" argument')
    with pytest.raises(TypeError):
        alpha.symbol_info(symbol="BTCUSD")  # positional only, as in the real module
    with pytest.raises(AttributeError):
        alpha.call("__import__", "os")  # nothing outside the API is served


def test_each_connection_talks_to_its_own_terminal(broker):
    beta = MT5Bridge(port=broker.port, terminal="beta")
    try:
        assert beta.initialize()
        assert beta.account_info().login == 502 and beta.account_info().margin_mode == 0
    finally:
        beta.close()
    nobody = MT5Bridge(port=broker.port, terminal="gamma")
    with pytest.raises(ConnectionRefusedError, match="no terminal 'gamma'"):
        nobody.account_info()


def test_simulator_levers_reach_the_hosted_terminal(broker, alpha):
    broker.control("alpha", "set_algo_trading", False)
    try:
        assert alpha.terminal_info().trade_allowed is False
    finally:
        broker.control("alpha", "set_algo_trading", True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the socket table from /proc")
def test_the_broker_listens_on_loopback_only(broker):
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port = local.rsplit(":", 1)
                if state == "0A" and int(port, 16) == broker.port:
                    listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing on any other address


@pytest.mark.asyncio
async def test_the_mt5_connector_runs_unchanged_over_the_bridge():
    with BrokerProcess({"alpha": SPECS["alpha"]}) as broker:
        bridge = MT5Bridge(port=broker.port, terminal="alpha")
        wrong = MT5Connector("a", bridge, invoker=InlineInvoker(), clock=SYSTEM_CLOCK, login=501,
                             password_provider=lambda: "not-it")
        with pytest.raises(ConnectorError, match="login failed for account 501"):
            await wrong.connect()
        connector = MT5Connector("a", bridge, invoker=InlineInvoker(), clock=SYSTEM_CLOCK, login=501,
                                 password_provider=lambda: PASSWORD)
        account = await connector.connect()
        assert account.login == 501 and account.hedging
        assert (await connector.snapshot()).positions == ()
    # The broker is gone: the connector says so instead of crashing.
    with pytest.raises(ConnectorError, match="could not read"):
        await connector.snapshot()
    bridge.close()
