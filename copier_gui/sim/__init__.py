"""A simulated MetaTrader 5 terminal, faithful to the ``MetaTrader5`` package's API.

The demo, the tests and replay drive the same MT5 connector code a real terminal drives; only the
object underneath differs. ``new_terminal`` builds one account's terminal at a simulated broker;
``PROFILES`` lists the brokers, which differ the way real ones do.
"""

from __future__ import annotations

import zlib

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.sim import constants as _mt5
from copier_gui.sim.account import AccountSettings
from copier_gui.sim.faults import NO_FAULTS, Faults, Latency
from copier_gui.sim.market import Market, shared_market
from copier_gui.sim.profiles import PROFILES, BrokerProfile, SymbolSpec
from copier_gui.sim.terminal import SimulatedTerminal

__all__ = [
    "PROFILES",
    "BrokerProfile",
    "Faults",
    "Latency",
    "Market",
    "SimulatedTerminal",
    "SymbolSpec",
    "new_terminal",
]

_CURRENCY_DIGITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
_MARGIN_MODES = (
    _mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
    _mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
)
_ACCOUNT_KEYS = ("login", "password", "name", "balance", "currency", "margin_mode", "leverage", "trade_mode")


def new_terminal(
    profile: str | BrokerProfile,
    *,
    seed: int = 0,
    clock: Clock | None = None,
    market: Market | None = None,
    faults: Faults | None = None,
    **account_overrides,
) -> SimulatedTerminal:
    """A fresh terminal for one account at the broker ``profile``: a name from ``PROFILES``, or a
    ``BrokerProfile`` of one's own (for instance a listed one changed with ``dataclasses.replace``).

    ``account_overrides`` may set ``login``, ``password``, ``name``, ``balance``, ``currency``
    (USD, EUR, GBP or JPY), ``margin_mode`` (0 netting, 2 hedging), ``leverage`` and
    ``trade_mode``. Terminals built with the same ``seed`` and ``clock`` share one market, so an
    instrument moves together at every broker. ``faults`` is off unless given.
    """
    if isinstance(profile, BrokerProfile):
        broker = profile
    elif profile in PROFILES:
        broker = PROFILES[profile]
    else:
        raise ValueError(f"unknown broker profile {profile!r}; known profiles: {', '.join(sorted(PROFILES))}")
    unknown = sorted(set(account_overrides) - set(_ACCOUNT_KEYS))
    if unknown:
        raise TypeError(f"unknown account setting(s) {', '.join(unknown)}; allowed: {', '.join(_ACCOUNT_KEYS)}")
    clock = clock or SYSTEM_CLOCK
    if market is None:
        market = shared_market(seed, clock)
    elif market.clock is not clock and clock is not SYSTEM_CLOCK:
        raise ValueError("the market and the terminal must run on the same clock")
    settings = _account_settings(broker, seed, account_overrides)
    return SimulatedTerminal(broker, settings, market, market.clock, seed=seed, faults=faults or NO_FAULTS)


def _account_settings(broker: BrokerProfile, seed: int, overrides: dict) -> AccountSettings:
    currency = overrides.get("currency", broker.currency)
    if currency not in _CURRENCY_DIGITS:
        raise ValueError(f"unsupported account currency {currency!r}; use one of {', '.join(_CURRENCY_DIGITS)}")
    margin_mode = overrides.get("margin_mode", broker.margin_mode)
    if margin_mode not in _MARGIN_MODES:
        raise ValueError(f"margin_mode must be 0 (netting) or 2 (hedging), not {margin_mode!r}")
    balance = float(overrides.get("balance", broker.default_balance))
    if balance < 0:
        raise ValueError(f"balance must not be negative, got {balance}")
    leverage = int(overrides.get("leverage", broker.leverage))
    if leverage <= 0:
        raise ValueError(f"leverage must be positive, got {leverage}")
    default_login = 5_000_000 + zlib.crc32(f"{broker.name}:{seed}".encode()) % 4_000_000
    return AccountSettings(
        login=int(overrides.get("login", default_login)),
        password=str(overrides.get("password", "demo-password")),
        name=str(overrides.get("name", "Demo Trader")),
        balance=balance,
        currency=currency,
        margin_mode=margin_mode,
        leverage=leverage,
        trade_mode=int(overrides.get("trade_mode", _mt5.ACCOUNT_TRADE_MODE_DEMO)),
        currency_digits=_CURRENCY_DIGITS[currency],
    )
