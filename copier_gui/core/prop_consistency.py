"""A prop-firm profile's consistency rule: no single trading day may make more than a share of the
total profit. A warning only, never a stop: firms judge it at payout, and a copier that stopped
trading on it would cost the trader the days that dilute the best one. Pure.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass

from copier_gui.core.prop_rules import ConsistencyRule, DayReset

__all__ = ["CONSISTENCY", "BestDay", "best_day", "breach_text", "day_label"]

# The limit's name in breaches and the journal.
CONSISTENCY = "prop.consistency"


@dataclass(frozen=True, slots=True)
class BestDay:
    day: int  # trading-day id (days since 1970-01-01)
    profit: float
    total: float  # the profit of all days together
    share: float  # the best day's profit in percent of the total


def best_day(day_profits: Mapping[int, float]) -> BestDay | None:
    """The best day's share of the total profit; None while there is no total profit to share
    (no day yet, or the days together lost money) or no day made any."""
    if not day_profits:
        return None
    total = sum(day_profits.values())
    day, profit = max(day_profits.items(), key=lambda item: (item[1], -item[0]))
    if total <= 0 or profit <= 0:
        return None
    return BestDay(day, profit, total, profit / total * 100)


def breach_text(rule: ConsistencyRule, best: BestDay, ccy: str, reset: DayReset | None = None) -> str:
    return (f"consistency: the best day ({day_label(best.day, reset)}) made {best.profit:,.2f} {ccy}, "
            f"{best.share:.1f}% of the total profit {best.total:,.2f} {ccy} > {rule.best_day_percent:g}%")


def day_label(day: int, reset: DayReset | None) -> str:
    """A firm's trading day in words: its date when it turns at midnight, else the span it covers
    ("2026-11-24 17:00 to 2026-11-25 17:00 America/New_York"), so a day that begins the evening
    before is not taken for the day before."""
    date = _dt.date(1970, 1, 1) + _dt.timedelta(days=day)
    if reset is None or reset.time == "00:00":
        return date.isoformat()
    return f"{date.isoformat()} {reset.time} to {(date + _dt.timedelta(days=1)).isoformat()} {reset.time} {reset.zone}"
