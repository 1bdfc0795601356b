"""The instruments the simulated market quotes, independent of any broker.

A broker profile lists which of these it offers, under which name and with which contract terms;
the market moves each instrument once, so the same instrument moves together at every broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SessionKind(Enum):
    """When an instrument trades, in UTC.

    FOREX: Sunday 22:00 to Friday 21:00. METAL and INDEX: the same week, with a daily break from
    21:00 to 22:00 (the usual one-hour maintenance window). CRYPTO: always.
    """

    FOREX = "forex"
    METAL = "metal"
    INDEX = "index"
    CRYPTO = "crypto"


@dataclass(frozen=True, slots=True)
class Instrument:
    key: str
    description: str
    category: str
    base: str
    profit: str
    digits: int
    start_price: float
    annual_volatility: float
    spread_points: int
    session: SessionKind
    forex: bool

    @property
    def point(self) -> float:
        return 10.0**-self.digits


INSTRUMENTS: dict[str, Instrument] = {
    i.key: i
    for i in (
        Instrument("EURUSD", "Euro vs US Dollar", "Forex", "EUR", "USD", 5, 1.08500, 0.07, 8, SessionKind.FOREX, True),
        Instrument("GBPUSD", "Great Britain Pound vs US Dollar", "Forex", "GBP", "USD", 5, 1.27000, 0.08, 11, SessionKind.FOREX, True),
        Instrument("USDJPY", "US Dollar vs Japanese Yen", "Forex", "USD", "JPY", 3, 151.500, 0.09, 10, SessionKind.FOREX, True),
        Instrument("EURJPY", "Euro vs Japanese Yen", "Forex", "EUR", "JPY", 3, 164.400, 0.09, 16, SessionKind.FOREX, True),
        Instrument("XAUUSD", "Gold vs US Dollar", "Metals", "XAU", "USD", 2, 2650.00, 0.15, 25, SessionKind.METAL, False),
        Instrument("US30", "Dow Jones Industrial Average cash CFD", "Indices", "USD", "USD", 1, 43000.0, 0.16, 30, SessionKind.INDEX, False),
        Instrument("BTCUSD", "Bitcoin vs US Dollar", "Crypto", "BTC", "USD", 2, 95000.00, 0.55, 3000, SessionKind.CRYPTO, False),
        # Carried by some brokers only.
        Instrument("GBPJPY", "Great Britain Pound vs Japanese Yen", "Forex", "GBP", "JPY", 3, 192.300, 0.10, 25, SessionKind.FOREX, True),
        Instrument("EURGBP", "Euro vs Great Britain Pound", "Forex", "EUR", "GBP", 5, 0.85400, 0.06, 12, SessionKind.FOREX, True),
        Instrument("USDZAR", "US Dollar vs South African Rand", "Forex", "USD", "ZAR", 5, 18.10000, 0.15, 1200, SessionKind.FOREX, True),
        Instrument("XAGUSD", "Silver vs US Dollar", "Metals", "XAG", "USD", 3, 31.000, 0.25, 30, SessionKind.METAL, False),
        Instrument("US500", "S&P 500 cash CFD", "Indices", "USD", "USD", 2, 5900.00, 0.15, 50, SessionKind.INDEX, False),
        Instrument("JP225", "Nikkei 225 cash CFD", "Indices", "JPY", "JPY", 0, 38500, 0.20, 8, SessionKind.INDEX, False),
        Instrument("ETHUSD", "Ethereum vs US Dollar", "Crypto", "ETH", "USD", 2, 3400.00, 0.70, 250, SessionKind.CRYPTO, False),
    )
}


def session_open(kind: SessionKind, utc_epoch: float) -> bool:
    """True when an instrument of this session kind can be traded at the given UTC time."""
    if kind is SessionKind.CRYPTO:
        return True
    # 1970-01-01 was a Thursday; shift so that day 0 is a Sunday.
    seconds_into_week = (int(utc_epoch) + 4 * 86400) % (7 * 86400)
    day, seconds_into_day = divmod(seconds_into_week, 86400)
    hour = seconds_into_day // 3600
    if day == 6:  # Saturday
        return False
    if day == 0:  # Sunday opens at 22:00
        return hour >= 22
    if day == 5 and hour >= 21:  # Friday closes at 21:00
        return False
    # Metals and indices pause for the daily maintenance hour.
    return not (kind in (SessionKind.METAL, SessionKind.INDEX) and hour == 21)
