"""How a report writes money and times: cents with thousands apart, signs on changes, UTC."""

from __future__ import annotations

import datetime as dt

CENT = 0.005  # below half a cent an amount rounds to 0.00: a report shows it as nothing


def utc(wall: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).strftime(fmt)


def money(value: float) -> str:
    """1234.5 -> "1,234.50": cents, thousands apart, minus for a loss."""
    return f"{_zero(value):,.2f}"


def signed(value: float) -> str:
    """A change: "+1,234.50", "-3.00", "0.00"."""
    value = _zero(value)
    return f"{value:+,.2f}" if value else "0.00"


def _zero(value: float) -> float:
    # -0.001 would print as "-0.00": a sign on nothing reads like a loss
    return 0.0 if abs(value) < CENT else value
