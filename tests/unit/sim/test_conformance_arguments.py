"""Argument parsing and validation, as the real C extension does it.

Fact sheet section 2 (method flags, error-state rules, string limits, request key types, call
forms, dates, ``*_get`` filters) and section 3 (call forms per function); checklist item 5.
"""

from __future__ import annotations

import collections
import decimal
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SUCCESS = (1, "Success")

FLOAT_FIELDS = ("volume", "price", "stoplimit", "sl", "tp")
INT_FIELDS = (
    "action", "magic", "order", "deviation", "type", "type_filling", "type_time", "expiration",
    "position", "position_by",
)  # fmt: skip

# For "bool is accepted": a bool value that keeps the request otherwise valid on meridian_ecn.
BOOL_VALUE = {
    "action": True,  # 1 = TRADE_ACTION_DEAL
    "magic": True,
    "order": False,
    "deviation": True,
    "type": False,  # ORDER_TYPE_BUY
    "type_filling": False,  # ORDER_FILLING_FOK, allowed on meridian_ecn
    "type_time": False,  # ORDER_TIME_GTC
    "expiration": False,
    "position": False,
    "position_by": False,
}

NOARGS = (
    "shutdown", "version", "terminal_info", "account_info", "positions_total", "orders_total",
    "symbols_total", "last_error",
)  # fmt: skip

# METH_VARARGS-only functions with valid positional arguments (keywords must raise TypeError).
_NOW = int(datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp())
VARARGS_ONLY = {
    "copy_rates_from": ("EURUSD", 1, _NOW, 10),
    "copy_rates_from_pos": ("EURUSD", 1, 0, 10),
    "copy_rates_range": ("EURUSD", 1, _NOW - 3600, _NOW),
    "copy_ticks_from": ("EURUSD", _NOW - 600, 10, -1),
    "copy_ticks_range": ("EURUSD", _NOW - 600, _NOW, -1),
    "history_orders_total": (_NOW - 86400, _NOW + 86400),
    "history_deals_total": (_NOW - 86400, _NOW + 86400),
    "order_calc_margin": (0, "EURUSD", 0.01, 1.1),
    "order_calc_profit": (0, "EURUSD", 0.01, 1.1, 1.2),
    "symbol_info": ("EURUSD",),
    "symbol_info_tick": ("EURUSD",),
    "symbol_select": ("EURUSD", True),
    "market_book_add": ("EURUSD",),
    "market_book_get": ("EURUSD",),
    "market_book_release": ("EURUSD",),
}

HYP = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def t(terminal):
    return terminal("meridian_ecn")


@pytest.fixture
def req(t, h):
    """A valid request for meridian_ecn; order_check must accept it with retcode 0."""
    return h.market_request(t, "EURUSD", h.BUY, 0.01)


def _rejected(t, fn_name, request, field):
    result = getattr(t, fn_name)(request)
    assert result is None
    assert t.last_error() == (-2, f'Invalid "{field}" argument')


def _accepted(t, fn_name, request):
    result = getattr(t, fn_name)(request)
    assert result is not None, t.last_error()
    assert t.last_error() == SUCCESS
    return result


def test_valid_request_is_accepted(t, req):
    result = _accepted(t, "order_check", req)
    assert result.retcode == 0


# --- float-only fields -----------------------------------------------------------------------


@pytest.mark.parametrize("fn_name", ["order_check", "order_send"])
@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_int_zero_rejected_for_float_field(t, req, fn_name, field):
    req[field] = 0
    _rejected(t, fn_name, req, field)
    assert t.positions_get() == ()


def test_sl_int_zero_gives_exact_field_report(t, req):
    req["sl"] = 0
    assert t.order_send(req) is None
    assert t.last_error() == (-2, 'Invalid "sl" argument')


@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_numpy_float64_accepted_for_float_field(t, req, field):
    req[field] = np.float64(req.get(field, 0.0))
    result = _accepted(t, "order_check", req)
    assert result.retcode == 0


def test_float_subclass_accepted_for_volume(t, req):
    class MyFloat(float):
        pass

    req["volume"] = MyFloat(0.01)
    assert _accepted(t, "order_check", req).retcode == 0


def test_numpy_float64_volume_fills_on_send(t, req):
    req["volume"] = np.float64(0.01)
    req["price"] = np.float64(req["price"])
    result = _accepted(t, "order_send", req)
    assert result.retcode == 10009


NON_FLOATS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.decimals(allow_nan=False, allow_infinity=False).map(decimal.Decimal),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(np.float32),
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(np.int64),
    st.lists(st.floats(allow_nan=False), max_size=2),
    st.tuples(st.floats(allow_nan=False)),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
)


@HYP
@given(field=st.sampled_from(FLOAT_FIELDS), value=NON_FLOATS)
def test_any_non_float_rejected_for_float_fields(t, req, field, value):
    request = dict(req, **{field: value})
    _rejected(t, "order_check", request, field)


@pytest.mark.parametrize("field", FLOAT_FIELDS)
@pytest.mark.parametrize(
    "bad", [np.float32(0.01), decimal.Decimal("0.01"), "0.01", None, True], ids=repr
)
def test_named_non_floats_rejected(t, req, field, bad):
    req[field] = bad
    _rejected(t, "order_check", req, field)


# --- int-only fields -------------------------------------------------------------------------


@pytest.mark.parametrize("field", INT_FIELDS)
def test_float_rejected_for_int_field(t, req, field):
    req[field] = 1.0
    _rejected(t, "order_check", req, field)


@pytest.mark.parametrize("field", INT_FIELDS)
def test_numpy_int64_rejected_for_int_field(t, req, field):
    req[field] = np.int64(BOOL_VALUE[field])
    _rejected(t, "order_check", req, field)


@pytest.mark.parametrize("field", INT_FIELDS)
def test_bool_accepted_for_int_field(t, req, field):
    req[field] = BOOL_VALUE[field]
    _accepted(t, "order_check", req)


@HYP
@given(
    field=st.sampled_from(INT_FIELDS),
    value=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=3),
        st.none(),
        st.integers(min_value=0, max_value=2**31).map(np.int64),
        st.integers(min_value=0, max_value=2**31).map(np.uint32),
    ),
)
def test_any_non_int_rejected_for_int_fields(t, req, field, value):
    request = dict(req, **{field: value})
    _rejected(t, "order_check", request, field)


def test_expiration_rejects_datetime(t, req):
    req["expiration"] = datetime(2026, 12, 1, tzinfo=UTC)
    _rejected(t, "order_check", req, "expiration")


# --- strings ---------------------------------------------------------------------------------


def test_comment_of_29_chars_accepted_and_fills(t, req):
    req["comment"] = "c" * 29
    assert _accepted(t, "order_check", req).retcode == 0
    assert _accepted(t, "order_send", req).retcode == 10009


@pytest.mark.parametrize("fn_name", ["order_check", "order_send"])
@pytest.mark.parametrize("length", [30, 31, 64])
def test_comment_of_30_or_more_rejected(t, req, fn_name, length):
    req["comment"] = "c" * length
    _rejected(t, fn_name, req, "comment")
    assert t.positions_get() == ()


def test_comment_limit_counts_utf16_code_units(t, req):
    emoji = "\U0001f600"  # outside the BMP: two UTF-16 code units on Windows
    req["comment"] = "c" * 27 + emoji  # 29 units
    _accepted(t, "order_check", req)
    req["comment"] = "c" * 28 + emoji  # 30 units, though only 29 Python characters
    _rejected(t, "order_check", req, "comment")


@pytest.mark.parametrize("bad", [5, b"abc", 1.5, ["x"]], ids=repr)
def test_comment_must_be_str(t, req, bad):
    req["comment"] = bad
    _rejected(t, "order_check", req, "comment")


def test_symbol_of_30_chars_rejected(t, req):
    req["symbol"] = "S" * 30
    _rejected(t, "order_check", req, "symbol")
    _rejected(t, "order_send", req, "symbol")


def test_symbol_of_29_chars_passes_argument_check(t, req):
    req["symbol"] = "S" * 29
    t.order_check(req)
    # Not a local argument error; what the terminal says about the unknown symbol is open.
    assert t.last_error() != (-2, 'Invalid "symbol" argument')
    assert t.last_error()[1] not in ("Invalid arguments", 'Invalid "symbol" argument')


@pytest.mark.parametrize("bad", [5, b"EURUSD", None], ids=repr)
def test_symbol_must_be_str(t, req, bad):
    req["symbol"] = bad
    _rejected(t, "order_check", req, "symbol")


# --- request container and call forms -------------------------------------------------------


@pytest.mark.parametrize("fn_name", ["order_check", "order_send"])
@pytest.mark.parametrize("make", [list, tuple, lambda r: None, lambda r: "request"], ids=["list", "tuple", "None", "str"])  # fmt: skip
def test_request_must_be_a_dict(t, req, fn_name, make):
    value = make(req.items()) if make in (list, tuple) else make(req)
    assert getattr(t, fn_name)(value) is None
    assert t.last_error() == (-2, "Invalid arguments")


def test_dict_subclass_accepted(t, req):
    assert _accepted(t, "order_check", collections.OrderedDict(req)).retcode == 0


def test_unknown_keys_are_ignored(t, req):
    req["no_such_key"] = object()
    req["volume_lots"] = "x"
    assert _accepted(t, "order_check", req).retcode == 0


@pytest.mark.parametrize("fn_name", ["order_check", "order_send"])
def test_positional_plus_keyword_rejected(t, req, fn_name):
    assert getattr(t, fn_name)(req, magic=1) is None
    assert t.last_error() == (-2, "Unnamed arguments not allowed")


@pytest.mark.parametrize("fn_name", ["order_check", "order_send"])
def test_two_positionals_rejected(t, req, fn_name):
    assert getattr(t, fn_name)(req, req) is None
    assert t.last_error() == (-2, "Invalid number of arguments")


@pytest.mark.parametrize("fn_name", ["order_check", "order_send"])
def test_no_arguments_rejected(t, fn_name):
    assert getattr(t, fn_name)() is None
    assert t.last_error() == (-2, "Invalid number of arguments")


def test_keyword_only_form_uses_kwargs_as_request(t, req):
    result = t.order_check(**req)
    assert result is not None, t.last_error()
    assert result.retcode == 0
    assert result.request.volume == 0.01
    assert result.request.symbol == "EURUSD"


def test_keyword_only_form_validates_like_a_dict(t, req):
    req["sl"] = 0
    assert t.order_check(**req) is None
    assert t.last_error() == (-2, 'Invalid "sl" argument')


# --- method flags ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOARGS)
def test_noargs_functions_reject_positional_argument(t, name):
    with pytest.raises(TypeError):
        getattr(t, name)(1)


@pytest.mark.parametrize("name", NOARGS)
def test_noargs_functions_reject_keyword_argument(t, name):
    with pytest.raises(TypeError):
        getattr(t, name)(x=1)


@pytest.mark.parametrize("name", sorted(VARARGS_ONLY))
def test_varargs_only_functions_reject_keywords(t, name):
    args = VARARGS_ONLY[name]
    with pytest.raises(TypeError):
        getattr(t, name)(*args[:-1], extra=args[-1])


@pytest.mark.parametrize("name", sorted(VARARGS_ONLY))
def test_varargs_only_functions_accept_their_positional_form(t, name):
    if name == "market_book_get":
        assert t.market_book_add("EURUSD") is True
    getattr(t, name)(*VARARGS_ONLY[name])
    assert t.last_error() == SUCCESS


def test_symbol_info_rejects_keyword_symbol(t):
    with pytest.raises(TypeError):
        t.symbol_info(symbol="EURUSD")


def test_copy_rates_float_timeframe_raises(t):
    # "i" format given a float: the real module surfaces a TypeError (possibly as SystemError).
    with pytest.raises((TypeError, SystemError)):
        t.copy_rates_from_pos("EURUSD", 1.5, 0, 10)


def test_order_calc_margin_accepts_ints_for_volume_and_price(t):
    value = t.order_calc_margin(0, "EURUSD", 1, 1)
    assert type(value) is float, t.last_error()
    assert value > 0.0


# --- initialize / login / symbols_get return False on argument errors ------------------------


def test_initialize_two_positionals_returns_false(terminal):
    t = terminal("meridian_ecn", initialize=False)
    assert t.initialize("a", "b") is False
    assert t.last_error() == (-2, "Invalid number of arguments")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"login": "12345"}, "login"),
        ({"login": 1.5}, "login"),
        ({"password": 12345}, "password"),
        ({"server": 7}, "server"),
        ({"timeout": "60000"}, "timeout"),
        ({"server": "s" * 254}, "server"),
        ({"password": "p" * 254}, "password"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_initialize_bad_keyword_returns_false(terminal, kwargs, field):
    t = terminal("meridian_ecn", initialize=False)
    assert t.initialize(**kwargs) is False
    assert t.last_error() == (-2, f'Invalid "{field}" argument')


def test_initialize_path_must_be_str(terminal):
    t = terminal("meridian_ecn", initialize=False)
    assert t.initialize(path=5) is False
    assert t.last_error()[0] == -2


def test_login_bad_login_returns_false(t):
    assert t.login("12345") is False
    assert t.last_error()[0] == -2


def test_login_bad_password_type_returns_false(t):
    login = t.account_info().login
    assert t.login(login, password=123) is False
    assert t.last_error() == (-2, 'Invalid "password" argument')


def test_symbols_get_two_positionals_returns_false(t):
    assert t.symbols_get("*", "*") is False
    assert t.last_error()[0] == -2


def test_symbols_get_non_str_group_returns_false(t):
    assert t.symbols_get(group=5) is False
    assert t.last_error()[0] == -2


def test_symbols_get_group_positional_or_keyword(t):
    by_kw = t.symbols_get(group="*JPY*")
    by_pos = t.symbols_get("*JPY*")
    assert by_kw == by_pos
    assert sorted(s.name for s in by_kw) == ["EURJPY", "GBPJPY", "USDJPY"]


# --- positions_get / orders_get filters ------------------------------------------------------


@pytest.mark.parametrize("fn_name", ["positions_get", "orders_get"])
def test_get_rejects_positional(t, fn_name):
    assert getattr(t, fn_name)("EURUSD") is None
    assert t.last_error() == (-2, "Unnamed arguments not allowed")


@pytest.mark.parametrize("fn_name", ["positions_get", "orders_get"])
def test_get_missing_ticket_is_empty_success(t, fn_name):
    assert getattr(t, fn_name)(ticket=987654321) == ()
    assert t.last_error() == SUCCESS


@pytest.mark.parametrize("fn_name", ["positions_get", "orders_get"])
def test_get_symbol_too_long(t, fn_name):
    assert getattr(t, fn_name)(symbol="S" * 30) is None
    assert t.last_error() == (-2, "Invalid arguments")
    assert getattr(t, fn_name)(symbol="S" * 29) == ()
    assert t.last_error() == SUCCESS


def test_positions_get_ticket_wins_over_symbol_and_group(t, h):
    eur = h.open_market(t, "EURUSD", h.BUY, 0.01)
    h.open_market(t, "GBPUSD", h.BUY, 0.01)
    for kwargs in ({"symbol": "GBPUSD"}, {"group": "*GBP*"}, {"symbol": "GBPUSD", "group": "!*"}):
        got = t.positions_get(ticket=eur.order, **kwargs)
        assert [p.ticket for p in got] == [eur.order], kwargs
    assert t.positions_get(ticket=987654321, symbol="EURUSD") == ()
    assert t.last_error() == SUCCESS


def test_positions_get_symbol_and_group_filters(t, h):
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    h.open_market(t, "GBPUSD", h.SELL, 0.01)
    h.open_market(t, "USDJPY", h.BUY, 0.01)
    assert [p.symbol for p in t.positions_get(symbol="GBPUSD")] == ["GBPUSD"]
    assert sorted(p.symbol for p in t.positions_get(group="*USD*")) == [
        "EURUSD", "GBPUSD", "USDJPY"
    ]  # fmt: skip
    assert sorted(p.symbol for p in t.positions_get(group="*,!*JPY*")) == ["EURUSD", "GBPUSD"]
    assert sorted(p.symbol for p in t.positions_get(group="*,!EUR*,!GBP*")) == ["USDJPY"]
    assert t.positions_get(symbol="XAUUSD") == ()
    assert t.last_error() == SUCCESS


def test_orders_get_ticket_wins_over_symbol(t, h):
    tick = t.symbol_info_tick("EURUSD")
    result = h.send(
        t,
        {
            "action": 5,  # TRADE_ACTION_PENDING
            "symbol": "EURUSD",
            "volume": 0.01,
            "type": 2,  # ORDER_TYPE_BUY_LIMIT
            "price": round(tick.ask - 0.01, 5),
            "type_filling": 2,  # ORDER_FILLING_RETURN
            "type_time": 0,
        },
    )
    assert result.retcode in (10008, 10009), result
    got = t.orders_get(ticket=result.order, symbol="GBPUSD")
    assert [o.ticket for o in got] == [result.order]
    assert t.orders_get(symbol="GBPUSD") == ()


# --- history_*_get call forms ----------------------------------------------------------------


@pytest.mark.parametrize("fn_name", ["history_deals_get", "history_orders_get"])
def test_history_get_without_arguments_is_invalid(t, fn_name):
    assert getattr(t, fn_name)() is None
    assert t.last_error() == (-2, "Invalid arguments")


@pytest.mark.parametrize("fn_name", ["history_deals_get", "history_orders_get"])
def test_history_get_positional_plus_ticket_rejected(t, fn_name):
    assert getattr(t, fn_name)(_NOW - 86400, _NOW + 86400, ticket=1) is None
    assert t.last_error() == (-2, "Unnamed arguments not allowed")


@pytest.mark.parametrize("fn_name", ["history_deals_get", "history_orders_get"])
def test_history_dates_accept_int_float_and_datetime(t, h, clock, fn_name):
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    now = datetime.fromtimestamp(clock.time(), tz=UTC)
    lo, hi = now - timedelta(days=3), now + timedelta(days=3)
    fn = getattr(t, fn_name)
    by_dt = fn(lo, hi)
    by_int = fn(int(lo.timestamp()), int(hi.timestamp()))
    by_float = fn(lo.timestamp() + 0.9, hi.timestamp() + 0.9)
    assert isinstance(by_dt, tuple) and len(by_dt) >= 1, t.last_error()
    assert by_int == by_dt
    assert by_float == by_dt


def test_history_totals_match_gets(t, h, clock):
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    lo, hi = int(clock.time()) - 3 * 86400, int(clock.time()) + 3 * 86400
    deals_total = t.history_deals_total(lo, hi)
    orders_total = t.history_orders_total(lo, hi)
    assert type(deals_total) is int and type(orders_total) is int
    assert deals_total == len(t.history_deals_get(lo, hi))
    assert orders_total == len(t.history_orders_get(lo, hi))


def test_history_group_filter(t, h, clock):
    h.open_market(t, "EURUSD", h.BUY, 0.01)
    h.open_market(t, "USDJPY", h.BUY, 0.01)
    lo, hi = int(clock.time()) - 3 * 86400, int(clock.time()) + 3 * 86400
    got = t.history_deals_get(lo, hi, group="*JPY*")
    assert got and {d.symbol for d in got} == {"USDJPY"}


# --- more string and integer limits ----------------------------------------------------------


def test_symbol_select_symbol_too_long(t):
    result = t.symbol_select("S" * 30, True)
    assert result is None or result is False
    assert t.last_error() == (-2, "Invalid arguments")


def test_symbols_get_group_length_limit(t):
    assert t.symbols_get(group="*" * 1998) is False
    assert t.last_error()[0] == -2
    got = t.symbols_get(group="*" * 1997)
    assert isinstance(got, tuple) and len(got) == t.symbols_total()


def test_negative_unsigned_field_is_refused(t, req):
    req["magic"] = -1
    try:
        result = t.order_check(req)
    except (OverflowError, SystemError):
        return  # the real module leaks the pending OverflowError
    assert result is None
    assert t.last_error() == (-2, 'Invalid "magic" argument')


def test_initialize_with_own_path_positional_or_keyword(terminal):
    t = terminal("meridian_ecn", initialize=False)
    probe = terminal("meridian_ecn")
    exe = probe.terminal_info().path + "\\terminal64.exe"
    assert t.initialize(exe) is True
    assert t.initialize(path=exe) is True
    assert t.account_info() is not None


# --- positional-only functions: wrong counts and types ---------------------------------------


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("symbol_info", ()),
        ("symbol_info", ("EURUSD", "GBPUSD")),
        ("symbol_info", (5,)),
        ("symbol_info", ("S" * 30,)),
        ("symbol_info_tick", ()),
        ("symbol_info_tick", (None,)),
        ("copy_rates_from_pos", ("EURUSD", 1, 0)),
        ("copy_ticks_range", ("EURUSD", _NOW - 600, _NOW)),
        ("history_deals_total", (_NOW,)),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_positional_only_bad_arguments_give_invalid_arguments(t, name, args):
    assert getattr(t, name)(*args) is None
    assert t.last_error() == (-2, "Invalid arguments")


@pytest.mark.parametrize("fn_name", ["positions_get", "orders_get"])
def test_get_ticket_and_group_types(t, fn_name):
    fn = getattr(t, fn_name)
    assert fn(ticket="1") is None
    assert t.last_error() == (-2, 'Invalid "ticket" argument')
    assert fn(ticket=1.0) is None
    assert t.last_error() == (-2, 'Invalid "ticket" argument')
    assert fn(group=5) is None
    assert t.last_error() == (-2, 'Invalid "group" argument')


@pytest.mark.parametrize("fn_name", ["history_deals_get", "history_orders_get"])
def test_history_ticket_type(t, fn_name):
    assert getattr(t, fn_name)(ticket="1") is None
    assert t.last_error() == (-2, 'Invalid "ticket" argument')
