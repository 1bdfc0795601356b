"""Connection state and the last_error() contract.

Fact sheet sections 1 (one connection, -10004 before initialize), 2 (error-state rules),
3 (return values) and 4 (codes and messages); checklist items 3-4.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

SUCCESS = (1, "Success")
NO_IPC = (-10004, "No IPC connection")

_NOW = int(datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp())
_REQ = {
    "action": 1, "symbol": "EURUSD", "volume": 0.01, "type": 0, "price": 1.1, "deviation": 20,
    "type_filling": 0, "type_time": 0,
}  # fmt: skip

# Every function except initialize, shutdown and last_error, with valid arguments.
CALLS = {
    "login": ((123456,), {}),
    "version": ((), {}),
    "account_info": ((), {}),
    "terminal_info": ((), {}),
    "symbols_total": ((), {}),
    "symbols_get": ((), {}),
    "symbol_info": (("EURUSD",), {}),
    "symbol_info_tick": (("EURUSD",), {}),
    "symbol_select": (("EURUSD", True), {}),
    "market_book_add": (("EURUSD",), {}),
    "market_book_get": (("EURUSD",), {}),
    "market_book_release": (("EURUSD",), {}),
    "copy_rates_from": (("EURUSD", 1, _NOW, 10), {}),
    "copy_rates_from_pos": (("EURUSD", 1, 0, 10), {}),
    "copy_rates_range": (("EURUSD", 1, _NOW - 3600, _NOW), {}),
    "copy_ticks_from": (("EURUSD", _NOW - 600, 10, -1), {}),
    "copy_ticks_range": (("EURUSD", _NOW - 600, _NOW, -1), {}),
    "orders_total": ((), {}),
    "orders_get": ((), {}),
    "positions_total": ((), {}),
    "positions_get": ((), {}),
    "history_orders_total": ((_NOW - 86400, _NOW + 86400), {}),
    "history_orders_get": ((_NOW - 86400, _NOW + 86400), {}),
    "history_deals_total": ((_NOW - 86400, _NOW + 86400), {}),
    "history_deals_get": ((_NOW - 86400, _NOW + 86400), {}),
    "order_calc_margin": ((0, "EURUSD", 0.01, 1.1), {}),
    "order_calc_profit": ((0, "EURUSD", 0.01, 1.1, 1.2), {}),
    "order_check": ((dict(_REQ),), {}),
    "order_send": ((dict(_REQ),), {}),
}

# The fact sheet's function table gives False as the failure value of these three, while its
# general rule says failing calls return None; either is accepted, never True.
BOOL_RESULT = {"symbol_select", "market_book_add", "market_book_release"}


def _expect_no_ipc(t, name):
    args, kwargs = CALLS[name]
    result = getattr(t, name)(*args, **kwargs)
    if name == "login":
        assert result is False
    elif name in BOOL_RESULT:
        assert result is None or result is False
    else:
        assert result is None
    assert t.last_error() == NO_IPC


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_call_before_initialize_fails_with_no_ipc(terminal, name):
    # CALLS plus initialize, shutdown and last_error are the 32 functions the fact sheet names.
    assert len(CALLS) + 3 == 32
    t = terminal("meridian_ecn", initialize=False)
    _expect_no_ipc(t, name)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_call_after_shutdown_fails_with_no_ipc(terminal, name):
    t = terminal("meridian_ecn")
    assert t.account_info() is not None
    assert t.shutdown() is True
    _expect_no_ipc(t, name)


def test_initialize_returns_true_exactly(terminal):
    t = terminal("meridian_ecn", initialize=False)
    assert t.initialize() is True
    assert t.last_error() == SUCCESS


def test_initialize_twice_reconnects(terminal):
    t = terminal("meridian_ecn")
    assert t.initialize() is True
    assert t.account_info() is not None


def test_shutdown_returns_true_and_is_idempotent(terminal):
    t = terminal("meridian_ecn")
    assert t.shutdown() is True
    assert t.last_error() == SUCCESS
    assert t.shutdown() is True
    assert t.last_error() == SUCCESS


def test_shutdown_before_initialize_returns_true(terminal):
    t = terminal("meridian_ecn", initialize=False)
    assert t.shutdown() is True
    assert t.last_error() == SUCCESS


def test_reinitialize_after_shutdown(terminal, h):
    t = terminal("meridian_ecn")
    opened = h.open_market(t, "EURUSD", h.BUY, 0.01)
    assert t.shutdown() is True
    assert t.positions_get() is None
    assert t.initialize() is True
    # The account lives on the trade server: the position is still there.
    assert [p.ticket for p in t.positions_get()] == [opened.order]


# --- last_error ------------------------------------------------------------------------------


def _make_error(t):
    assert t.order_send({"sl": 0}) is None
    assert t.last_error() == (-2, 'Invalid "sl" argument')


RESETTERS = {
    "version": ((), {}),
    "account_info": ((), {}),
    "terminal_info": ((), {}),
    "symbols_total": ((), {}),
    "symbols_get": ((), {}),
    "symbol_info": (("EURUSD",), {}),
    "symbol_info_tick": (("EURUSD",), {}),
    "symbol_select": (("EURUSD", True), {}),
    "positions_total": ((), {}),
    "orders_total": ((), {}),
    "positions_get": ((), {}),
    "orders_get": ((), {}),
    "history_deals_get": ((_NOW - 86400, _NOW + 86400), {}),
    "history_orders_get": ((_NOW - 86400, _NOW + 86400), {}),
    "order_calc_margin": ((0, "EURUSD", 0.01, 1.1), {}),
    "copy_rates_from_pos": (("EURUSD", 1, 0, 10), {}),
    "shutdown": ((), {}),
    "initialize": ((), {}),
}


@pytest.mark.parametrize("name", sorted(RESETTERS))
def test_each_call_resets_last_error(terminal, name):
    t = terminal("meridian_ecn")
    _make_error(t)
    args, kwargs = RESETTERS[name]
    getattr(t, name)(*args, **kwargs)
    assert t.last_error() == SUCCESS


def test_order_check_resets_last_error(terminal, h):
    t = terminal("meridian_ecn")
    request = h.market_request(t, "EURUSD", h.BUY, 0.01)
    _make_error(t)
    assert t.order_check(request) is not None
    assert t.last_error() == SUCCESS


def test_last_error_itself_does_not_reset(terminal):
    t = terminal("meridian_ecn")
    _make_error(t)
    assert t.last_error() == (-2, 'Invalid "sl" argument')
    assert t.last_error() == (-2, 'Invalid "sl" argument')


def test_a_new_error_replaces_the_old_one(terminal):
    t = terminal("meridian_ecn")
    _make_error(t)
    assert t.order_send([]) is None
    assert t.last_error() == (-2, "Invalid arguments")


def test_last_error_shape(terminal):
    t = terminal("meridian_ecn")
    err = t.last_error()
    assert type(err) is tuple and len(err) == 2
    assert type(err[0]) is int and type(err[1]) is str


# --- return shapes ---------------------------------------------------------------------------


def test_version_shape(terminal):
    t = terminal("meridian_ecn")
    v = t.version()
    assert type(v) is tuple and len(v) == 3
    assert v[0] == 500
    assert type(v[1]) is int and v[1] > 0
    assert type(v[2]) is str and re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", v[2])
    assert t.terminal_info().build == v[1]


def test_totals_are_ints(terminal, h):
    t = terminal("meridian_ecn")
    assert type(t.positions_total()) is int and t.positions_total() == 0
    assert type(t.orders_total()) is int and t.orders_total() == 0
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    h.open_market(t, "EURUSD", h.SELL, 0.01)
    assert t.positions_total() == 2 == len(t.positions_get())
    assert type(t.symbols_total()) is int


def test_empty_results_are_empty_tuples(terminal):
    t = terminal("meridian_ecn")
    assert t.positions_get() == () and type(t.positions_get()) is tuple
    assert t.orders_get() == () and type(t.orders_get()) is tuple
    assert t.positions_get(symbol="EURUSD") == ()
    assert t.orders_get(symbol="EURUSD") == ()
    assert t.positions_get(group="*") == ()
    assert t.last_error() == SUCCESS


def test_results_are_tuples_of_structs(terminal, h):
    t = terminal("meridian_ecn")
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    got = t.positions_get()
    assert type(got) is tuple
    assert all(type(p) is t.TradePosition for p in got)
    symbols = t.symbols_get()
    assert type(symbols) is tuple
    assert all(type(s) is t.SymbolInfo for s in symbols)


def test_symbols_total_counts_symbols_outside_market_watch(terminal):
    t = terminal("meridian_ecn")
    symbols = t.symbols_get()
    assert t.symbols_total() == len(symbols)
    names = {s.name for s in symbols}
    assert {"EURUSD", "GBPUSD", "USDJPY", "EURJPY", "XAUUSD", "US30", "BTCUSD"} <= names
    assert t.symbol_info("EURJPY").select is False


def test_symbol_select_adds_to_market_watch(terminal):
    t = terminal("meridian_ecn")
    assert t.symbol_select("EURJPY", True) is True
    assert t.symbol_info("EURJPY").select is True
    assert t.symbol_select("EURJPY", False) is True
    assert t.symbol_info("EURJPY").select is False
    assert t.symbol_select("EURJPY") is True  # enable defaults to True
    assert t.symbol_info("EURJPY").select is True


@pytest.mark.parametrize("name", ["symbol_info", "symbol_info_tick"])
def test_unknown_symbol_is_none_with_an_error(terminal, name):
    t = terminal("meridian_ecn")
    assert getattr(t, name)("NOSUCHSYM") is None
    assert t.last_error()[0] != 1


def test_broker_names_only(terminal):
    # harbor_fx calls gold GOLD.m; the plain names do not exist there.
    t = terminal("harbor_fx")
    assert t.symbol_info("GOLD.m") is not None
    assert t.symbol_info("XAUUSD") is None
    assert t.symbol_info("EURUSD") is None
    assert t.symbol_info("EURUSD.m") is not None


# --- authorization ---------------------------------------------------------------------------


@pytest.fixture
def account(terminal):
    t = terminal("meridian_ecn", initialize=False, login=31337, password="s3cret")
    return t


def test_initialize_with_credentials(account):
    assert account.initialize(login=31337, password="s3cret", server="MeridianMarkets-Demo") is True
    assert account.account_info().login == 31337
    assert account.account_info().server == "MeridianMarkets-Demo"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"login": 31337, "password": "wrong", "server": "MeridianMarkets-Demo"},
        {"login": 31338, "password": "s3cret", "server": "MeridianMarkets-Demo"},
        {"login": 31337, "password": "s3cret", "server": "Other-Server"},
    ],
)
def test_initialize_with_bad_credentials(account, kwargs):
    assert account.initialize(**kwargs) is False
    assert account.last_error() == (-6, "Terminal: Authorization failed")


def test_login_keyword_and_positional_login(account):
    assert account.initialize() is True
    assert account.login(31337, password="s3cret", server="MeridianMarkets-Demo") is True
    assert account.last_error() == SUCCESS
    assert account.login(login=31337, password="s3cret") is True


def test_login_wrong_password(account):
    assert account.initialize() is True
    assert account.login(31337, password="nope", server="MeridianMarkets-Demo") is False
    assert account.last_error() == (-6, "Terminal: Authorization failed")
