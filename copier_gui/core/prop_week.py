"""A prop-firm profile's weekend: from a weekly close ("Fri 16:45 America/New_York") to the reopen
("Sun 17:05 America/New_York"), each a local time in its own zone, right across daylight saving
changes (the instants come from core.prop_day's reset_instant, which settles the skipped and the
repeated hour). Pure functions of the instant.
"""

from __future__ import annotations

import datetime as _dt

from copier_gui.core.prop_day import reset_instant
from copier_gui.core.prop_rules import WeeklyTime

__all__ = ["WEEKEND", "last_at_or_before", "next_after", "weekend_window"]

# The limit's name in breaches and the journal.
WEEKEND = "prop.weekend"

_EPOCH_WEEKDAY = _dt.date(1970, 1, 1).weekday()  # a Thursday: day id 0


def _local_day(now: float, zone: _dt.tzinfo) -> int:
    return (_dt.datetime.fromtimestamp(now, zone).date() - _dt.date(1970, 1, 1)).days


def _on_weekday(day_id: int, weekday: int) -> int:
    """The last day id at or before ``day_id`` that falls on ``weekday``."""
    return day_id - (day_id + _EPOCH_WEEKDAY - weekday) % 7


def last_at_or_before(now: float, when: WeeklyTime) -> float:
    """The latest instant (UTC seconds) at or before ``now`` at which the weekly time fell."""
    zone, clock = when.tz, when.clock
    day = _on_weekday(_local_day(now, zone) + 7, when.weekday)
    at = reset_instant(day, clock, zone)
    while at > now:  # a few steps at most: the local day is within a day of the answer
        day -= 7
        at = reset_instant(day, clock, zone)
    return at


def next_after(after: float, when: WeeklyTime) -> float:
    """The first instant strictly after ``after`` at which the weekly time falls."""
    zone, clock = when.tz, when.clock
    day = _on_weekday(_local_day(after, zone) - 7, when.weekday)
    at = reset_instant(day, clock, zone)
    while at <= after:
        day += 7
        at = reset_instant(day, clock, zone)
    return at


def weekend_window(now: float, close: WeeklyTime, reopen: WeeklyTime) -> tuple[float, float] | None:
    """(close, reopen) in UTC seconds if ``now`` is in the weekend, else None: the weekend runs from
    the last close to the first reopen after it; an instant at the reopen is already outside."""
    start = last_at_or_before(now, close)
    end = next_after(start, reopen)
    return (start, end) if now < end else None
