"""Module shape: the 223 constants, the 33 functions, the 11 types and the package helpers.

Fact sheet sections 1, 7 and checklist items 1-2 of section 11.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

with open(Path(__file__).parent / "data" / "mt5_constants.json", encoding="utf-8") as _fh:
    REAL_CONSTANTS: dict[str, int] = dict(json.load(_fh)["constants"])

PROFILE_NAMES = ("meridian_ecn", "harbor_fx", "summit_netting", "apex_prop")

FUNCTIONS = (
    "initialize", "login", "shutdown", "version", "last_error", "account_info", "terminal_info",
    "symbols_total", "symbols_get", "symbol_info", "symbol_info_tick", "symbol_select",
    "market_book_add", "market_book_get", "market_book_release",
    "copy_rates_from", "copy_rates_from_pos", "copy_rates_range", "copy_ticks_from",
    "copy_ticks_range", "orders_total", "orders_get", "positions_total", "positions_get",
    "history_orders_total", "history_orders_get", "history_deals_total", "history_deals_get",
    "order_calc_margin", "order_calc_profit", "order_check", "order_send",
)  # fmt: skip

STRUCT_TYPES = (
    "TradePosition", "TradeOrder", "TradeDeal", "TradeRequest", "OrderSendResult",
    "OrderCheckResult", "Tick", "TerminalInfo", "SymbolInfo", "AccountInfo", "BookInfo",
)  # fmt: skip

# MQL5 names that the Python package does NOT define; code relying on them breaks on Windows.
FORBIDDEN_NAMES = (
    "SYMBOL_FILLING_FOK", "SYMBOL_FILLING_IOC", "SYMBOL_FILLING_BOC", "SYMBOL_FILLING_RETURN",
    "SYMBOL_EXPIRATION_GTC", "SYMBOL_EXPIRATION_DAY", "SYMBOL_EXPIRATION_SPECIFIED",
    "SYMBOL_EXPIRATION_SPECIFIED_DAY",
    "SYMBOL_ORDER_MARKET", "SYMBOL_ORDER_LIMIT", "SYMBOL_ORDER_STOP", "SYMBOL_ORDER_STOP_LIMIT",
    "SYMBOL_ORDER_SL", "SYMBOL_ORDER_TP", "SYMBOL_ORDER_CLOSEBY",
    "TRADE_RETCODE_HEDGE_PROHIBITED",
)  # fmt: skip
FORBIDDEN_PREFIXES = ("SYMBOL_FILLING_", "SYMBOL_EXPIRATION_", "SYMBOL_ORDER_")

CONSTANT_LIKE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@pytest.fixture
def t(terminal):
    return terminal("meridian_ecn")


def test_every_real_constant_present_with_exact_value(t):
    assert len(REAL_CONSTANTS) == 223  # guards the reference data
    missing = sorted(n for n in REAL_CONSTANTS if not hasattr(t, n))
    wrong = {
        n: getattr(t, n)
        for n in REAL_CONSTANTS
        if hasattr(t, n) and getattr(t, n) != REAL_CONSTANTS[n]
    }
    assert missing == []
    assert wrong == {}


def test_constants_are_plain_ints(t):
    # The package's constants are plain ints (not IntEnum members, not bools).
    not_plain = sorted(n for n in REAL_CONSTANTS if type(getattr(t, n, None)) is not int)
    assert not_plain == []


def test_no_extra_constant_like_attributes(t):
    extra = sorted(
        name
        for name in dir(t)
        if CONSTANT_LIKE.match(name)
        and isinstance(getattr(t, name, None), int)
        and name not in REAL_CONSTANTS
    )
    assert extra == []


@pytest.mark.parametrize("name", FORBIDDEN_NAMES)
def test_mql5_only_names_are_absent(t, name):
    assert not hasattr(t, name)


def test_no_attribute_with_forbidden_prefix(t):
    # SYMBOL_ORDERS_GTC etc. are real; SYMBOL_ORDER_* (singular) is MQL5-only.
    bad = sorted(n for n in dir(t) if n.startswith(FORBIDDEN_PREFIXES))
    assert bad == []


def test_all_api_functions_callable(t):
    # The fact sheet says 33 functions but its own tables (sections 2 and 3) name these 32.
    assert len(FUNCTIONS) == 32
    not_callable = [n for n in FUNCTIONS if not callable(getattr(t, n, None))]
    assert not_callable == []


@pytest.mark.parametrize("name", STRUCT_TYPES)
def test_struct_types_exposed_as_tuple_subclasses(t, name):
    cls = getattr(t, name)
    assert isinstance(cls, type)
    assert issubclass(cls, tuple)
    assert cls.__name__ == name
    # Bare tp_name: the real types live in builtins, not in a package module.
    assert cls.__module__ == "builtins"


def test_version_and_author(t):
    assert isinstance(t.__version__, str)
    assert re.fullmatch(r"5\.0\.\d+", t.__version__)
    assert t.__author__ == "MetaQuotes Ltd."


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Buy", [("symbol", "POSITIONAL_OR_KEYWORD"), ("volume", "POSITIONAL_OR_KEYWORD"),
                 ("price", "POSITIONAL_OR_KEYWORD"), ("comment", "KEYWORD_ONLY"),
                 ("ticket", "KEYWORD_ONLY")]),
        ("Sell", [("symbol", "POSITIONAL_OR_KEYWORD"), ("volume", "POSITIONAL_OR_KEYWORD"),
                  ("price", "POSITIONAL_OR_KEYWORD"), ("comment", "KEYWORD_ONLY"),
                  ("ticket", "KEYWORD_ONLY")]),
        ("Close", [("symbol", "POSITIONAL_OR_KEYWORD"), ("comment", "KEYWORD_ONLY"),
                   ("ticket", "KEYWORD_ONLY")]),
    ],
)  # fmt: skip
def test_helper_signatures(t, name, expected):
    fn = getattr(t, name)
    assert callable(fn)
    params = [(p.name, p.kind.name) for p in inspect.signature(fn).parameters.values()]
    assert params == expected
    defaults = {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.default is not inspect.Parameter.empty
    }
    assert all(v is None for v in defaults.values())
    assert set(defaults) == {n for n, _ in expected if n not in ("symbol", "volume")}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_each_profile_builds_a_working_terminal(terminal, profile):
    from copier_gui.sim import PROFILES

    assert profile in PROFILES
    t = terminal(profile)
    assert t.account_info() is not None
    assert t.last_error() == (1, "Success")


def test_terminals_are_independent(terminal, h):
    a = terminal("meridian_ecn")
    b = terminal("meridian_ecn")
    h.open_market(a, "EURUSD", h.BUY, 0.01)
    assert len(a.positions_get()) == 1
    assert b.positions_get() == ()
