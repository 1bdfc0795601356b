"""Shared fixtures for the conformance suite of the simulated MetaTrader 5 terminal.

The suite checks the simulator against what the real ``MetaTrader5`` package does (the project's
MT5 fact sheet). Expected values are written out here and in the test modules, never read back from
the simulator, so a mistake in the simulator cannot hide behind the same mistake in the tests.

The simulator is imported lazily inside fixtures so that the suite always collects; while the
simulator cannot be imported every test errors instead of the whole run aborting.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

DATA_DIR = Path(__file__).parent / "data"

# A Wednesday at noon UTC: forex, metals and indices are all open.
WEDNESDAY_NOON_UTC = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
# A Saturday at noon UTC: forex, metals and indices are closed; crypto trades.
SATURDAY_NOON_UTC = datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp()
# A Wednesday at 21:30 UTC: forex open, metals and indices in their daily break.
WEDNESDAY_2130_UTC = datetime(2026, 11, 25, 21, 30, tzinfo=UTC).timestamp()

# Values from the real package, written out (not taken from the simulator).
TRADE_ACTION_DEAL = 1
TRADE_ACTION_PENDING = 5
TRADE_ACTION_REMOVE = 8
ORDER_TYPE_BUY = 0
ORDER_TYPE_SELL = 1
ORDER_TYPE_BUY_LIMIT = 2
ORDER_FILLING_FOK = 0
ORDER_FILLING_IOC = 1
ORDER_FILLING_RETURN = 2
ORDER_TIME_GTC = 0

# SymbolInfo.filling_mode bits (MQL5 values; the Python package does not export them).
FILLING_BIT_FOK = 1
FILLING_BIT_IOC = 2

# Broker symbol names per profile, as the profiles are specified.
SUFFIX = {
    "meridian_ecn": "",
    "harbor_fx": ".m",
    "summit_netting": "-ECN",
    "apex_prop": ".raw",
}
GOLD = {
    "meridian_ecn": "XAUUSD",
    "harbor_fx": "GOLD.m",
    "summit_netting": "XAUUSD-ECN",
    "apex_prop": "XAUUSD.raw",
}
INDEX = {
    "meridian_ecn": "US30",
    "harbor_fx": "US30.m",
    "summit_netting": "DJ30.cash",
    "apex_prop": "US30.raw",
}
MIN_VOLUME = {
    "meridian_ecn": 0.01,
    "harbor_fx": 0.01,
    "summit_netting": 0.01,
    "apex_prop": 0.1,
}
PROFILE_NAMES = tuple(SUFFIX)


def load_real_constants() -> dict[str, int]:
    with open(DATA_DIR / "mt5_constants.json", encoding="utf-8") as fh:
        return dict(json.load(fh)["constants"])


def fx(profile: str, base: str = "EURUSD") -> str:
    """The broker's name for a forex pair."""
    return base + SUFFIX[profile]


def filling_for(t, symbol: str) -> int:
    """Pick a filling type the way careful client code does (FOK, else IOC, else RETURN)."""
    info = t.symbol_info(symbol)
    assert info is not None, (symbol, t.last_error())
    if info.filling_mode & FILLING_BIT_FOK:
        return ORDER_FILLING_FOK
    if info.filling_mode & FILLING_BIT_IOC:
        return ORDER_FILLING_IOC
    return ORDER_FILLING_RETURN


def market_request(t, symbol: str, side: int, volume: float, **extra) -> dict:
    """A complete TRADE_ACTION_DEAL request at the current price with a supported filling."""
    tick = t.symbol_info_tick(symbol)
    assert tick is not None, (symbol, t.last_error())
    request = {
        "action": TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": float(volume),
        "type": side,
        "price": float(tick.ask if side == ORDER_TYPE_BUY else tick.bid),
        "deviation": 20,
        "magic": 0,
        "comment": "",
        "type_time": ORDER_TIME_GTC,
        "type_filling": filling_for(t, symbol),
    }
    request.update(extra)
    return request


def send(t, request: dict):
    """order_send that must produce a result object (not a local error)."""
    result = t.order_send(request)
    assert result is not None, t.last_error()
    return result


def open_market(t, symbol: str, side: int, volume: float, **extra):
    """Send a market order that must fill; return the OrderSendResult."""
    result = send(t, market_request(t, symbol, side, volume, **extra))
    assert result.retcode == 10009, result
    return result


@pytest.fixture
def clock():
    from copier_gui.clock import VirtualClock

    return VirtualClock(WEDNESDAY_NOON_UTC)


@pytest.fixture
def terminal(clock):
    """Factory: ``terminal(profile="meridian_ecn", initialize=True, **kw)`` -> a fresh terminal.

    By default the terminal is initialize()d and shares the test's weekday VirtualClock.
    """
    made = []

    def make(profile: str = "meridian_ecn", *, initialize: bool = True, **kw):
        from copier_gui.sim import new_terminal

        kw.setdefault("clock", clock)
        kw.setdefault("seed", 0)
        t = new_terminal(profile, **kw)
        made.append(t)
        if initialize:
            assert t.initialize() is True, t.last_error()
        return t

    yield make
    for t in made:
        # Teardown must not mask the test's own outcome.
        with contextlib.suppress(Exception):
            t.shutdown()


@pytest.fixture
def h():
    """Helper functions and known values, for tests to call as ``h.open_market(...)`` etc."""
    return SimpleNamespace(
        fx=fx,
        gold=GOLD,
        index=INDEX,
        min_volume=MIN_VOLUME,
        filling_for=filling_for,
        market_request=market_request,
        send=send,
        open_market=open_market,
        real_constants=load_real_constants,
        BUY=ORDER_TYPE_BUY,
        SELL=ORDER_TYPE_SELL,
        DEAL=TRADE_ACTION_DEAL,
    )
