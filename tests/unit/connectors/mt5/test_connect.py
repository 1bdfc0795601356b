"""Connecting: initialize() arguments, trader-readable connection errors, and password hygiene."""

from __future__ import annotations

import logging

import pytest

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.capabilities import EventDelivery, OrderType, PositionModel
from copier_gui.core.model import (
    AccountState,
    ClosePosition,
    Filling,
    OpenPosition,
    Side,
    VolumeUnit,
)
from copier_gui.core.ports import Connector, ConnectorError
from copier_gui.sim import new_terminal
from tests.unit.connectors.mt5.brokers import COMPANY

pytestmark = pytest.mark.asyncio

MERIDIAN_PATH = r"C:\Program Files\Meridian Markets MetaTrader 5\terminal64.exe"
MERIDIAN_SERVER = "MeridianMarkets-Demo"
LOGIN = 5_550_123
PASSWORD = "Pa55-w0rd!unique"


@pytest.fixture
def fresh_terminal(weekday_clock):
    """A terminal not yet initialized, for an account with a known login and password."""

    def make(profile: str = "meridian_ecn"):
        return new_terminal(profile, seed=7, clock=weekday_clock, login=LOGIN, password=PASSWORD)

    return make


def _connector(api, clock, **kw) -> MT5Connector:
    return MT5Connector("acct", api, invoker=InlineInvoker(), clock=clock, **kw)


class Recorder:
    """Wraps a terminal and records the keyword arguments of initialize()."""

    def __init__(self, terminal) -> None:
        self._terminal = terminal
        self.initialize_kwargs: list[dict] = []

    def initialize(self, *args, **kwargs):
        self.initialize_kwargs.append(dict(kwargs))
        return self._terminal.initialize(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._terminal, name)


class FailingInitialize:
    """A terminal whose initialize() fails with the given last_error()."""

    def __init__(self, code: int, text: str) -> None:
        self._error = (code, text)

    def initialize(self, *args, **kwargs):
        return False

    def last_error(self):
        return self._error


async def test_bare_connect_initializes_and_returns_the_account(fresh_terminal, weekday_clock):
    api = Recorder(fresh_terminal())
    connector = _connector(api, weekday_clock)
    assert isinstance(connector, Connector)
    state = await connector.connect()
    assert api.initialize_kwargs == [{}]
    assert isinstance(state, AccountState)
    assert state.login == LOGIN
    assert state.server == MERIDIAN_SERVER
    assert state.company == COMPANY["meridian_ecn"]
    assert state.currency == "USD"
    assert state.balance == state.equity == 10_000.0
    assert state.leverage == 500
    assert state.hedging is True
    assert state.trade_allowed is True
    caps = connector.capabilities
    assert caps.platform == "mt5"
    assert caps.hedging is True and caps.position_model is PositionModel.HEDGING
    assert caps.max_comment_length == 27
    assert [(f.name, f.numeric) for f in caps.tag_fields] == [("magic", True), ("comment", False)]
    assert caps.order_types == frozenset(OrderType) and caps.fillings == frozenset(Filling)
    assert (caps.volume_unit, caps.events) == (VolumeUnit.LOTS, EventDelivery.POLLED)


async def test_connect_passes_path_login_password_and_server(fresh_terminal, weekday_clock):
    api = Recorder(fresh_terminal())
    asked = []

    def provider():
        asked.append(1)
        return PASSWORD

    connector = _connector(api, weekday_clock, login=LOGIN, server=MERIDIAN_SERVER, path=MERIDIAN_PATH,
                           password_provider=provider)
    assert asked == []  # asked when connecting, not when built
    state = await connector.connect()
    assert asked == [1]
    assert api.initialize_kwargs == [
        {"path": MERIDIAN_PATH, "login": LOGIN, "password": PASSWORD, "server": MERIDIAN_SERVER}]
    assert state.login == LOGIN


async def test_a_netting_account_is_not_hedging(make_terminal, weekday_clock):
    connector = _connector(make_terminal("summit_netting"), weekday_clock)
    state = await connector.connect()
    assert state.hedging is False
    assert state.currency == "JPY"
    assert connector.capabilities.hedging is False
    assert connector.capabilities.position_model is PositionModel.NETTING


async def test_terminal_not_found(fresh_terminal, weekday_clock):
    path = r"C:\Program Files\Nowhere\terminal64.exe"
    connector = _connector(fresh_terminal(), weekday_clock, path=path)
    with pytest.raises(ConnectorError) as caught:
        await connector.connect()
    assert caught.value.code == -10003
    assert caught.value.message == (
        rf"MetaTrader 5 terminal not found at {path}: install MetaTrader 5 (64-bit) or choose its "
        "terminal64.exe")


async def test_terminal_not_found_at_the_default_location(weekday_clock):
    connector = _connector(FailingInitialize(-10003, "IPC initialize failed, MetaTrader 5 x64 not found"),
                           weekday_clock)
    with pytest.raises(ConnectorError, match="not found at the default location: install MetaTrader 5"):
        await connector.connect()


async def test_a_path_that_is_not_a_terminal(fresh_terminal, weekday_clock):
    connector = _connector(fresh_terminal(), weekday_clock, path=r"C:\Users\trader\notes.txt")
    with pytest.raises(ConnectorError) as caught:
        await connector.connect()
    assert caught.value.code == -10003
    assert "Process create failed" in caught.value.message
    assert "choose the terminal64.exe" in caught.value.message


@pytest.mark.parametrize(("login", "password", "server"), [
    (LOGIN, "wrong-password-xyz", MERIDIAN_SERVER),
    (LOGIN, PASSWORD, "MeridianMarkets-Live"),
    (LOGIN + 1, PASSWORD, MERIDIAN_SERVER),
])
async def test_login_failed(fresh_terminal, weekday_clock, login, password, server):
    connector = _connector(fresh_terminal(), weekday_clock, login=login, server=server,
                           password_provider=lambda: password)
    with pytest.raises(ConnectorError) as caught:
        await connector.connect()
    assert caught.value.code == -6
    assert caught.value.message == (
        f"login failed for account {login} on {server}: check the password and server")
    assert password not in str(caught.value)


@pytest.mark.parametrize(("code", "text", "expected"), [
    (-10005, "IPC timeout", "did not answer in time (-10005 IPC timeout)"),
    (-10004, "No IPC connection", "not connected to the MetaTrader 5 terminal at C:"),
    (-7, "Unsupported authorization mode, OTP or certificate password needed", "one-time password"),
    (-2, 'Invalid "login" argument', "connection settings were refused"),
])
async def test_other_connect_failures_are_explained(weekday_clock, code, text, expected):
    connector = _connector(FailingInitialize(code, text), weekday_clock, path=MERIDIAN_PATH, login=LOGIN)
    with pytest.raises(ConnectorError) as caught:
        await connector.connect()
    assert caught.value.code == code
    assert expected in caught.value.message


async def test_a_terminal_logged_in_to_another_account_is_refused(make_terminal, weekday_clock):
    terminal = make_terminal("meridian_ecn")
    other = terminal.account_info().login + 1

    class IgnoresLogin(Recorder):
        def initialize(self, *args, **kwargs):
            return self._terminal.initialize()

    connector = _connector(IgnoresLogin(terminal), weekday_clock, login=other)
    with pytest.raises(ConnectorError, match=f"logged in to account {terminal.account_info().login}, "
                                             f"not {other}"):
        await connector.connect()


@pytest.mark.parametrize("lever", ["algo_trading", "tradeapi"])
async def test_connects_but_reports_trading_off(make_terminal, weekday_clock, caplog, lever):
    terminal = make_terminal("meridian_ecn")
    if lever == "algo_trading":
        terminal.sim.set_algo_trading(False)
    else:
        terminal.sim.set_tradeapi_disabled(True)
    connector = _connector(terminal, weekday_clock)
    with caplog.at_level(logging.WARNING):
        state = await connector.connect()
    assert state.trade_allowed is False
    expected = "'Algo Trading' button is off" if lever == "algo_trading" else "external Python API"
    assert expected in caplog.text


async def test_account_reads_the_current_state(connected):
    connector, terminal = await connected("harbor_fx")
    await connector.open(OpenPosition("EURUSD.m", Side.BUY, 0.5, 0.0, 0.0, 1, ""))
    state = await connector.account()
    info = terminal.account_info()
    assert (state.balance, state.equity, state.margin, state.margin_free) == (
        info.balance, info.equity, info.margin, info.margin_free)
    assert state.margin > 0
    terminal.sim.set_algo_trading(False)
    assert (await connector.account()).trade_allowed is False


async def test_account_and_close_session_when_the_terminal_is_gone(connected):
    connector, terminal = await connected("meridian_ecn")
    await connector.close_session()
    with pytest.raises(ConnectorError) as caught:
        await connector.account()
    assert caught.value.code == -10004
    assert "not connected" in caught.value.message
    await connector.connect()  # and a new session works
    assert (await connector.account()).login == terminal.account_info().login


async def test_the_password_never_leaks(fresh_terminal, weekday_clock, caplog):
    terminal = fresh_terminal()
    seen = []
    caplog.set_level(logging.DEBUG)

    def check(*texts) -> None:
        for text in texts:
            seen.append(text)
            assert PASSWORD not in str(text)

    good = _connector(terminal, weekday_clock, login=LOGIN, server=MERIDIAN_SERVER, path=MERIDIAN_PATH,
                      password_provider=lambda: PASSWORD)
    await good.connect()
    check(repr(good), vars(good), good.capabilities)
    opened = await good.open(OpenPosition("EURUSD", Side.BUY, 0.01, 0.0, 0.0, 9, "leak test"))
    check(opened, opened.extra)
    ticket = opened.order
    terminal.sim.force_retcodes(10019)
    refused = await good.close(ClosePosition(ticket, "EURUSD", Side.BUY, 0.01, 9, ""))
    check(refused)
    terminal.sim.disconnect(5.0)
    with pytest.raises(ConnectorError) as lost:
        await good.snapshot()
    check(lost.value, lost.value.message)

    # The password also reaches messages from failed logins: as the wrong one, and scrubbed if quoted.
    class QuotesArguments(FailingInitialize):
        def initialize(self, *args, **kwargs):
            raise ConnectionError(f"remote call mt5.initialize(**{kwargs!r}) failed")

    for api in (fresh_terminal(), QuotesArguments(0, "")):
        bad = _connector(api, weekday_clock, login=LOGIN + 1, password_provider=lambda: PASSWORD)
        with pytest.raises(ConnectorError) as failed:
            await bad.connect()
        check(failed.value, failed.value.message, repr(failed.value.__cause__),
              repr(failed.value.__context__))
        assert failed.value.__context__ is None
    check(*(record.getMessage() for record in caplog.records), *(record.args for record in caplog.records))
    assert any("connecting to the MetaTrader 5 terminal" in record.getMessage() for record in caplog.records)
    assert len(seen) > 8


async def test_a_failing_password_provider_is_a_connection_error(fresh_terminal, weekday_clock):
    def provider():
        raise RuntimeError("keyring locked")

    connector = _connector(fresh_terminal(), weekday_clock, login=LOGIN, password_provider=provider)
    with pytest.raises(ConnectorError, match=f"could not get the password for account {LOGIN} "
                                             r"\(RuntimeError: keyring locked\)"):
        await connector.connect()
