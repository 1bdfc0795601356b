"""Text for numbers, money, durations and times as the window shows them.

Qt-free, so models, status bar and tests agree: prices at the symbol's digits, latency in ms.
"""

from __future__ import annotations

import datetime as dt

DASH = "—"

# Currencies whose amounts have no minor unit in practice (ISO 4217 exponent 0).
_NO_DECIMALS = {"JPY", "KRW", "HUF", "CLP", "ISK", "VND"}


def price(value: float | None, digits: int) -> str:
    if value is None or value == 0.0:
        return DASH
    return f"{value:,.{max(0, digits)}f}"


def volume(value: float | None, *, units: bool = False) -> str:
    """Lots as they are ("0.5"); units (cTrader) with a "u", whole ones grouped ("50,000 u")."""
    if value is None or value == 0.0:
        return DASH
    if units:
        whole = abs(value - round(value)) < 1e-9
        return (f"{value:,.0f}" if whole else f"{value:,.3f}".rstrip("0").rstrip(".")) + " u"
    # Lot steps go down to 0.001 at some brokers; more digits than that is float noise.
    return f"{value:.3f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.2f}"


def volume_tip(value: float | None, symbol: str, *, units: bool) -> str | None:
    """Spelled out where a volume counts units: "50,000 units of EUR/USD"."""
    if not units or not value:
        return None
    return f"{volume(value, units=True).removesuffix(' u')} units of {symbol}"


def money(value: float | None, currency: str = "") -> str:
    if value is None:
        return DASH
    decimals = 0 if currency.upper() in _NO_DECIMALS else 2
    return f"{value:,.{decimals}f}"


def money_signed(value: float | None, currency: str = "") -> str:
    """Money with its sign, as a gain or a cost: +2.58, -1,970."""
    if value is None:
        return DASH
    decimals = 0 if currency.upper() in _NO_DECIMALS else 2
    return f"{value:+,.{decimals}f}"


def latency_ms(value: float | None) -> str:
    return DASH if value is None else f"{value:,.1f}"


def points(value: float | None, *, signed: bool = True) -> str:
    if value is None:
        return DASH
    # Past a thousand points (crypto, indices) a tenth of a point is noise that costs width.
    decimals = 0 if abs(value) >= 1000 else 1
    return f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def clock_time(wall: float) -> str:
    """Local time of day with milliseconds, the resolution copies happen at."""
    return dt.datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]


def login(value: int) -> str:
    return str(value) if value else DASH
