"""A prop-firm profile's trading day: it starts at a reset time of day in the firm's time zone.

The risk gate asks which day a wall-clock instant (UTC seconds) falls in, when that day began and
when the next reset is; the answer moves with daylight saving time ("17:00 America/New_York" is
21:00 UTC in summer, 22:00 in winter). Pure functions of the instant, the time and the zone.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["TradingDay", "reset_instant", "trading_day"]

_EPOCH = _dt.date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One trading day. ``id`` is the local date of the reset that started it, as days since
    1970-01-01: with a midnight reset it is the calendar date, with 17:00 New York Monday's
    evening session is Monday's day. ``start`` and ``next_reset`` are UTC seconds."""

    id: int
    start: float
    next_reset: float


def reset_instant(day_id: int, at: _dt.time, zone: _dt.tzinfo) -> float:
    """UTC seconds of the reset that starts day ``day_id``: the first instant whose local time is at
    or after ``at`` on that date.

    That rule settles the two days a year when the local time is odd: a reset in the repeated
    autumn hour is its first occurrence, and one in the skipped spring hour is the jump itself.
    """
    wall = _dt.datetime.combine(_EPOCH + _dt.timedelta(days=day_id), at)
    first = wall.replace(tzinfo=zone, fold=0).timestamp()
    second = wall.replace(tzinfo=zone, fold=1).timestamp()
    if second >= first:  # an ordinary time (equal) or the repeated hour (fold 0 is the earlier)
        return first
    # A skipped time: fold 1 reads it with the later offset (an instant before the jump whose local
    # time is earlier), fold 0 with the earlier one (after the jump). The jump lies between: find
    # the first whole second whose local time has reached ``at``.
    lo, hi = int(second), int(first)
    while lo < hi:
        mid = (lo + hi) // 2
        if _local(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid + 1
    return float(lo)


def trading_day(now: float, at: _dt.time, zone: _dt.tzinfo) -> TradingDay:
    """The trading day that instant ``now`` (UTC seconds) is in; an instant exactly at a reset
    belongs to the day that reset starts."""
    day_id = (_local(now, zone).date() - _EPOCH).days
    start = reset_instant(day_id, at, zone)
    # The local date is at most one day off the answer; the loops also cover odd zones' jumps.
    while now < start:
        day_id -= 1
        start = reset_instant(day_id, at, zone)
    following = reset_instant(day_id + 1, at, zone)
    while now >= following:
        day_id, start = day_id + 1, following
        following = reset_instant(day_id + 1, at, zone)
    return TradingDay(day_id, start, following)


def _local(seconds: float, zone: _dt.tzinfo) -> _dt.datetime:
    """Local wall time (naive) of a UTC instant."""
    return _dt.datetime.fromtimestamp(seconds, zone).replace(tzinfo=None)
